"""Kernel source the dsl refuses on purpose, or used to mishandle: each case raises a dsl.DSLError subclass at
the offending node of *this* file (see README "What we refuse, and why"), never a raw Python error, an MLIR
binding dump or an abort of the process."""
import os

import numpy as np
import pytest

import dsl
from dsl import Fixed, float32, int8, int32

from .decorating import logged
from .markers import line_of
from .test_lang_errors import assert_clean

HERE = os.path.abspath(__file__)
with open(HERE) as _f:
    SOURCE = _f.read().splitlines()
N = 4
TABLE = np.arange(N, dtype=np.int32)


def helper(x: int32) -> int32:
    return x + 1


def fill_table(T: int32[N]):
    for i in range(N):
        T[i] = 0


def read_table(T: int32[N]) -> int32:
    return T[1]


# -- §2: refusals where Python and the hardware would disagree ----------------------------------------
def shadowed_loop(A: int32[N]) -> int32[N]:
    B: int32[N] = 0
    for i in range(N):
        for i in range(2):  # ERR:shadow
            B[i] += 1
        B[i] += 10
    return B


def loop_var_hides_local(A: int32[N]) -> int32[N]:
    x: int32 = 5
    for x in range(N):  # ERR:hides_local
        A[x] = 0
    return A


def meta_for_hides_loop(A: int32[N]) -> int32[N]:
    for i in range(N):
        with dsl.meta_for(2) as i:  # ERR:meta_shadow
            A[i] += 1
        A[i] += 10
    return A


def write_constant(A: int32[N]) -> int32[N]:
    TABLE[0] = 99  # ERR:const_store
    for i in range(N):
        A[i] = TABLE[i]
    return A


def augment_constant(A: int32[N]) -> int32[N]:
    TABLE[1] += 1  # ERR:const_aug
    return A


def constant_to_writer(A: int32[N]) -> int32[N]:
    fill_table(TABLE)  # ERR:const_call
    return A


def assign_to_argument(A: int32[N]):
    A = 3  # ERR:arg_assign


def copy_over_argument(A: int32[N], B: int32[N]):
    A = B  # ERR:arg_copy


def negative_shift(x: int32) -> int32:
    return x << -1  # ERR:neg_shift


# -- §3: sizes that reach MLIR -------------------------------------------------------------------------
def huge_local(A: int32[N]) -> int32[N]:
    B: int32[2**32, 2**32] = 0  # ERR:huge_local
    return A


def huge_count(A: int32[N]) -> int32[N]:
    B: int8[65536, 65536] = 0  # ERR:huge_count
    return A


def huge_arg(A: "int32[2**31]") -> int32:  # ERR:huge_arg
    return A[0]


def huge_range(A: int32[N]) -> int32[N]:
    for i in range(10**30):  # ERR:huge_range
        A[0] += 1
    return A


def huge_index(A: int32[N]) -> int32:
    for i in range(N):
        A[i] = A[i + 1000000000000000000000000000000]  # ERR:huge_index
    return A[0]


def huge_literal(x: int32) -> int32:
    return x + 2**5000  # ERR:huge_literal


# -- §4: Python's own errors inside kernel source -------------------------------------------------------
def int_zero_div(A: int32[N]) -> int32[N]:
    A[0] = 1 // 0  # ERR:int_zero_div
    return A


def float_zero_div(A: float32[N]) -> float32[N]:
    A[0] = 1.0 / 0.0  # ERR:float_zero_div
    return A


def bad_fixed(A: int32[N]) -> int32[N]:
    A[0] = Fixed(8, 10)(1)  # ERR:bad_fixed
    return A


def bad_fixed_annotation(A: "Fixed(8, 10)[N]") -> int32:  # ERR:bad_fixed_annotation
    return 0


def meta_zero_step(A: int32[N]) -> int32[N]:
    with dsl.meta_for(0, N, 0) as p:  # ERR:meta_step
        A[p] = 0
    return A


def int_runtime_power(x: int32, n: int32) -> int32:
    return x ** n  # ERR:runtime_pow


def int_negative_power(x: int32) -> int32:
    return x ** -1  # ERR:neg_pow


def fixed_big_power(x: Fixed(8, 4)) -> Fixed(8, 4):
    return x ** 17  # ERR:big_pow


def divide_by_zero_constant(x: int32) -> int32:
    return x // 0  # ERR:var_zero_div


def fixed_divide_by_zero(x: Fixed(8, 4)) -> Fixed(8, 4):
    return x / 0  # ERR:fixed_zero_div


def int_of_infinity(x: int32) -> int32:
    return x + int(float("inf"))  # ERR:int_inf


async def async_kernel(x: int32) -> int32:  # ERR:async
    return x


# -- §5: messages ----------------------------------------------------------------------------------------
def python_list(A: int32[N]) -> int32[N]:
    L = [1, 2, 3]
    A[0] = L[1]  # ERR:python_list
    return A


def two_for_one(A: int32[N]) -> int32[N]:
    return A, A  # ERR:two_for_one


def empty_slice(x: int32) -> int32:
    return x[5:2]  # ERR:empty_slice


def cast_string(x: int32) -> int32:
    return int8("a")  # ERR:cast_string


def loop_var_after_loop(A: int32[N]) -> int32:
    for i in range(N):
        A[i] = 0
    return i  # ERR:after_loop


def local_after_branch(A: int32[N]) -> int32:
    if A[0] > 0:
        t = A[1]
    return t  # ERR:after_branch


CASES = [
    # (kernel, exception class, marker, anchor text, message fragments)
    (shadowed_loop, dsl.DSLNameError, "shadow", "i in range(2)", ["loop variable 'i'", "enclosing loop"]),
    (loop_var_hides_local, dsl.DSLNameError, "hides_local", "x in", ["loop variable 'x'", "variable of the kernel"]),
    (meta_for_hides_loop, dsl.DSLNameError, "meta_shadow", "i:", ["dsl.meta_for index 'i'", "enclosing loop"]),
    (write_constant, dsl.DSLTypeError, "const_store", "TABLE[0]", ["'TABLE' is a module-level numpy constant",
                                                                   "T: int32[4] = TABLE"]),
    (augment_constant, dsl.DSLTypeError, "const_aug", "TABLE[1]", ["'TABLE'", "never write them"]),
    (constant_to_writer, dsl.DSLTypeError, "const_call", "TABLE)", ["'TABLE'", "never write them"]),
    (assign_to_argument, dsl.DSLTypeError, "arg_assign", "A = 3", ["caller's array 'A'", "A[i] = ..."]),
    (copy_over_argument, dsl.DSLTypeError, "arg_copy", "A = B", ["caller's array 'A'"]),
    (negative_shift, dsl.DSLTypeError, "neg_shift", "x << -1", ["negative shift count -1", "x >> k"]),
    (huge_local, dsl.ShapeError, "huge_local", "int32[2**32", ["exceeds 2147483647", "'B'"]),
    (huge_count, dsl.ShapeError, "huge_count", "int8[65536", ["4294967296 elements"]),
    (huge_arg, dsl.ShapeError, "huge_arg", '"int32[2**31]"', ["argument 'A'", "exceeds 2147483647"]),
    (huge_range, dsl.ShapeError, "huge_range", "10**30", ["loop bound of 1000000000000000000000000000000",
                                                         "32 bits"]),
    (huge_index, dsl.ShapeError, "huge_index", "A[i + 1000", ["does not fit in 32 bits"]),
    (huge_literal, dsl.DSLTypeError, "huge_literal", "x + 2**5000", ["needs 5002 bits", "Int(4096)"]),
    (int_zero_div, dsl.DSLTypeError, "int_zero_div", "1 // 0", ["'1 // 0' cannot be computed", "by zero"]),
    (float_zero_div, dsl.DSLTypeError, "float_zero_div", "1.0 / 0.0", ["'1.0 / 0.0' cannot be computed"]),
    (bad_fixed, dsl.DSLTypeError, "bad_fixed", "Fixed(8, 10)", ["Fixed(8, 10)", "fraction bits", "0..8"]),
    (bad_fixed_annotation, dsl.DSLTypeError, "bad_fixed_annotation", '"Fixed(8, 10)[N]"',
     ["invalid type annotation", "fraction bits"]),
    (meta_zero_step, dsl.DSLSyntaxError, "meta_step", "0) as", ["step of dsl.meta_for must not be zero"]),
    (int_runtime_power, dsl.DSLTypeError, "runtime_pow", "x ** n", ["constant exponent in 0..16",
                                                                    "run-time exponent", "float(x) ** n"]),
    (int_negative_power, dsl.DSLTypeError, "neg_pow", "x ** -1", ["the exponent -1"]),
    (fixed_big_power, dsl.DSLTypeError, "big_pow", "x ** 17", ["power of Fixed(8, 4)", "the exponent 17"]),
    (divide_by_zero_constant, dsl.DSLTypeError, "var_zero_div", "x // 0", ["divides by the constant 0"]),
    (fixed_divide_by_zero, dsl.DSLTypeError, "fixed_zero_div", "x / 0", ["divides by the constant 0"]),
    (int_of_infinity, dsl.DSLTypeError, "int_inf", "int(", ["cannot be computed", "infinity"]),
    (async_kernel, dsl.DSLSyntaxError, "async", "async def", ["'async def'", "plain 'def'"]),
    (python_list, dsl.DSLTypeError, "python_list", "L[1]", ["lists and tuples cannot be indexed", "numpy array"]),
    (two_for_one, dsl.DSLTypeError, "two_for_one", "return", ["returns 2 values", "declares one (int32[4])"]),
    (empty_slice, dsl.DSLTypeError, "empty_slice", "x[5:2]", ["[5:2] is empty", "bits 2..4 are x[2:5]"]),
    (cast_string, dsl.DSLTypeError, "cast_string", 'int8("a")', ["cannot cast Python object 'a' to int8"]),
    (loop_var_after_loop, dsl.DSLNameError, "after_loop", "i  #", ["name 'i' is not defined",
                                                                  "variable of the loop at line",
                                                                  "declared before the loop"]),
    (local_after_branch, dsl.DSLNameError, "after_branch", "t  #", ["name 't' is not defined",
                                                                   "inside the if statement at line",
                                                                   "`t: int32 = 0`"]),
]


def assert_at_marker(exc, marker, anchor):
    line = line_of(HERE, f"# ERR:{marker}")
    text = SOURCE[line - 1]
    col = text.index(anchor) + 1
    message = str(exc)
    assert message.startswith(f"{HERE}:{line}:{col}: error: "), message
    assert f"\n    {' ' * (col - 1)}^" in message, message
    assert "TupleValue" not in message and "PyObject" not in message and "incompatible function" not in message
    assert_clean(exc)
    return message


@pytest.mark.parametrize("kernel,exc_type,marker,anchor,fragments", CASES, ids=[c[2] for c in CASES])
def test_refused_at_the_line(kernel, exc_type, marker, anchor, fragments):
    with pytest.raises(exc_type) as info:
        dsl.customize(kernel)
    message = assert_at_marker(info.value, marker, anchor)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


# -- what stays allowed next to each refusal ---------------------------------------------------------------
def read_constant(A: int32[N]) -> int32[N]:
    T: int32[N] = TABLE
    T[0] = 99
    for i in range(N):
        A[i] = T[i] + read_table(TABLE)
    return A


def sequential_loops(A: int32[N]) -> int32[N]:
    for i in range(N):
        A[i] += 1
    for i in range(N):
        A[i] *= 2
    return A


def fill_local(A: int32[N]) -> int32[N]:
    B: int32[N] = 0
    B = 7
    for i in range(N):
        A[i] += B[i]
    return A


def alias_helper(A: int32[N]) -> int32[N]:
    f = helper
    A[0] = f(A[0])
    return A


def test_what_stays_allowed():
    a = np.arange(N, dtype=np.int32)
    assert list(dsl.customize(read_constant).build()(a.copy())) == [100, 2, 3, 4]
    assert list(TABLE) == [0, 1, 2, 3]  # the module's constant is untouched
    assert list(dsl.customize(sequential_loops).build()(a.copy())) == [2, 4, 6, 8]
    assert list(dsl.customize(fill_local).build()(a.copy())) == [7, 8, 9, 10]
    assert list(dsl.customize(alias_helper).build()(a.copy())) == [1, 1, 2, 3]


# -- decorated kernels: follow __wrapped__ ----------------------------------------------------------------
@logged
def decorated(A: int32[N]) -> int32[N]:
    B: int32[N] = 0
    for i in range(N):
        B[i] = helper(A[i]) * 2
    return B


@logged
def decorated_mistake(A: int32[N]) -> int32[N]:
    return A + undefined_thing  # ERR:decorated  # noqa: F821


def calls_decorated(A: int32[N]) -> int32[N]:
    return decorated(A)


def test_decorated_kernel_compiles_and_errors_point_at_its_line():
    a = np.arange(N, dtype=np.int32)
    assert list(dsl.customize(decorated).build()(a)) == [2, 4, 6, 8]
    assert list(dsl.customize(calls_decorated).build()(a)) == [2, 4, 6, 8]
    with pytest.raises(dsl.DSLNameError) as info:
        dsl.customize(decorated_mistake)
    assert_at_marker(info.value, "decorated", "undefined_thing")


def test_an_impossible_type_is_a_dsl_error_outside_kernels_too():
    with pytest.raises(dsl.DSLTypeError, match="fraction bits"):
        Fixed(8, 10)
    with pytest.raises(dsl.DSLTypeError, match="width"):
        dsl.Int(0)


# -- a template instantiated with arguments its signature cannot take ------------------------------------
@dsl.template("T", "M")
def add_rows(A: "T[M]", B: "T[M]") -> "T[M]":  # ERR:template_sig
    return A + B


def instantiates_badly(A: int32[N], B: int32[N]) -> int32[N]:
    return add_rows[int32, -N](A, B)  # ERR:template_use


def test_error_in_an_instance_names_where_it_is_instantiated():
    with pytest.raises(dsl.DSLTypeError) as info:
        dsl.customize(instantiates_badly)
    message = assert_at_marker(info.value, "template_sig", '"T[M]"')
    use = line_of(HERE, "# ERR:template_use")
    assert "got -4" in message
    assert f"in add_rows[int32, -4], instantiated at {HERE}:{use}:" in message, message


# -- a misspelt decorator in a region -------------------------------------------------------------------
def test_misspelt_kernel_decorator_in_a_region():
    @dsl.region()
    def design(A: int32[N], B: int32[N]):
        pipe: dsl.Stream[int32, 2]

        @dsl.kernal(mapping=[1])  # ERR:kernal  # noqa: F821 - the misspelling under test
        def producer(A: int32[N]):
            for i in range(N):
                pipe.put(A[i])

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[N]):
            for i in range(N):
                B[i] = pipe.get()

    with pytest.raises(dsl.DSLSyntaxError) as info:
        dsl.build(design, target="sim")
    message = assert_at_marker(info.value, "kernal", "dsl.kernal")
    assert "'@dsl.kernal(mapping=[1])'" in message and "has no attribute 'kernal'" in message
    assert "@dsl.kernel(mapping=[...])" in message
