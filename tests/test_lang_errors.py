"""Mistakes in kernels: each raises a dsl.DSLError subclass located at the offending node of *this* file,
quoting the line with a caret, saying what is wrong and what is allowed, with no compiler internals.

Each offending line carries a marker comment ``# ERR:<name>``; the expected column is where the anchor
text of the case starts on that line.
"""
import os
import re

import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, float32, int8, int32

HERE = os.path.abspath(__file__)
DSL_DIR = os.path.dirname(os.path.abspath(dsl.__file__))
with open(HERE) as _f:
    SOURCE = _f.read().splitlines()
MLIR_TEXT = re.compile(r"memref<|func\.func|arith\.|affine\.|scf\.|loc\(|\bi32\b|%\w+ =")

N = 8
LIMIT = 4


def helper(X: int32[N]) -> int32:
    s: int32 = 0
    for i in range(N):
        s += X[i]
    return s


def use_break(A: int32[N]) -> int32[N]:
    for i in range(N):
        break  # ERR:break
    return A


def use_continue(A: int32[N]) -> int32[N]:
    for i in range(N):
        continue  # ERR:continue
    return A


def use_try(A: int32[N]) -> int32[N]:
    try:  # ERR:try
        A[0] = 1
    except ValueError:
        pass
    return A


def use_lambda(A: int32[N]) -> int32[N]:
    f = lambda x: x + 1  # ERR:lambda
    return A


def use_nested_def(A: int32[N]) -> int32[N]:
    def inner(x: int32) -> int32:  # a nested def is a function of its own: it cannot read A
        return x + A[0]  # ERR:nested_def

    return A


def use_with(A: int32[N]) -> int32[N]:
    with open("x") as f:  # ERR:with
        pass
    return A


def undefined_name(A: int32[N]) -> int32[N]:
    for i in range(N):
        A[i] = A[i] + undefined_thing  # ERR:undefined
    return A


def wrong_rank(A: int32[N]) -> int32[N]:
    for i in range(N):
        A[i] = A[i, 0]  # ERR:rank
    return A


def out_of_bounds(A: int32[N]) -> int32:
    return A[8]  # ERR:bounds


def tensor_to_scalar(A: int32[N]) -> int32:
    x: int32 = 0
    x = A  # ERR:tensor_to_scalar
    return x


def tensor_into_element(A: int32[N], B: int32[N]) -> int32[N]:
    for i in range(N):
        A[i] = B  # ERR:tensor_into_element
    return A


def bad_annotation(A: int32[N]) -> int32[N]:
    x: 5 = 0  # ERR:annotation
    return A


def bitwise_on_float(A: float32[N]) -> float32[N]:
    for i in range(N):
        A[i] = A[i] & 1  # ERR:float_bitwise
    return A


def nonconstant_shape(A: int32[N], n: int32) -> int32[N]:
    B: int32[n] = 0  # ERR:shape_arg
    return A


def missing_annotation(A: int32[N], b) -> int32[N]:  # ERR:no_annotation
    return A


def returns_wrong_shape(A: int32[N]) -> int32[4]:
    return A  # ERR:return_shape


def returns_tensor_for_scalar(A: int32[N]) -> int32:
    return A  # ERR:return_kind


def subkernel_arg_count(A: int32[N]) -> int32:
    return helper(A, A)  # ERR:sub_count


def subkernel_arg_type(A: float32[N]) -> int32:
    return helper(A)  # ERR:sub_type


def broadcast_mismatch(A: int32[4], B: int32[3]) -> int32[4]:
    return A + B  # ERR:broadcast


def bit_slice_range(A: int32[N]) -> int32[N]:
    for i in range(N):
        x: int32 = A[i]
        A[i] = x[0:40]  # ERR:bit_slice
    return A


def float_index(A: int32[N], f: float32) -> int32:
    return A[f]  # ERR:float_index


def recursive(A: int32[N]) -> int32:
    return recursive(A)  # ERR:recursion


def iterate_tensor(A: int32[N]) -> int32:
    s: int32 = 0
    for x in A:  # ERR:iterate
        s += x
    return s


def grid_targets(A: int32[N, N]) -> int32[N, N]:
    for i in dsl.grid(N, N):  # ERR:grid_targets
        A[i, 0] = 0
    return A


def zero_step(A: int32[N]) -> int32[N]:
    for i in range(0, N, 0):  # ERR:zero_step
        A[i] = 0
    return A


def assign_loop_var(A: int32[N]) -> int32[N]:
    for i in range(N):
        i = 3  # ERR:loop_var
    return A


def python_call(A: int32[N]) -> int32[N]:
    print(A)  # ERR:python_call
    return A


def missing_return(A: int32[N]) -> int32[N]:  # ERR:missing_return
    A[0] = 1


def early_return(A: int32[N]) -> int32:
    if A[0] > 0:
        return A[0]  # ERR:early_return
    return A[1]


def fixed_modulo(A: Fixed(16, 8)[N]) -> Fixed(16, 8)[N]:
    for i in range(N):
        A[i] = A[i] % A[i]  # ERR:fixed_mod
    return A


def uncastable_arg(A: int32[N]) -> int32[N]:
    for i in range(N):
        A[i] = dsl.exp(A)[i] + helper(3)  # ERR:scalar_for_tensor
    return A


def matmul_shapes(A: float32[3, 4], B: float32[3, 4]) -> float32[3, 4]:
    return dsl.matmul(A, B)  # ERR:matmul


def bad_axis(A: float32[3, 4]) -> float32[3]:
    return dsl.sum(A, axis=2)  # ERR:axis


def bad_width(A: "Int(0)[N]") -> int32:  # ERR:bad_width
    return 0


def bit_index_range(A: int32[N]) -> int32:
    x: int32 = A[0]
    x[40] = 1  # ERR:bit_index
    return x


def matmul_scalars(A: int32[N]) -> int32:
    return A[0] @ A[1]  # ERR:matmul_scalar


def float_axis(A: int32[N]) -> int32:
    return dsl.sum(A, axis=0.5)  # ERR:float_axis


def loop_name_not_str(A: int32[N]) -> int32[N]:
    for i in range(N, name=3):  # ERR:loop_name
        A[i] = 0
    return A


ERRORS = [
    # (kernel, exception class, marker, anchor text on the line, message fragments)
    (use_break, dsl.DSLSyntaxError, "break", "break", ["'break' is not supported", "while loop"]),
    (use_continue, dsl.DSLSyntaxError, "continue", "continue", ["'continue' is not supported", "'if'"]),
    (use_try, dsl.DSLSyntaxError, "try", "try", ["'try' is not supported"]),
    (use_lambda, dsl.DSLSyntaxError, "lambda", "lambda", ["lambdas are not supported"]),
    (use_nested_def, dsl.DSLNameError, "nested_def", "A[0]", ["nested kernel 'inner' reads 'A'", "pass 'A'"]),
    (use_with, dsl.DSLSyntaxError, "with", "with", ["'with' is not supported"]),
    (undefined_name, dsl.DSLNameError, "undefined", "undefined_thing", ["'undefined_thing' is not defined"]),
    (wrong_rank, dsl.ShapeError, "rank", "A[i, 0]", ["rank 1", "2 subscript"]),
    (out_of_bounds, dsl.ShapeError, "bounds", "8]", ["index 8 is out of bounds", "size 8"]),
    (tensor_to_scalar, dsl.DSLTypeError, "tensor_to_scalar", "A  #", ["cannot assign tensor", "scalar 'x'"]),
    (tensor_into_element, dsl.DSLTypeError, "tensor_into_element", "B  #", ["cannot store tensor", "element"]),
    (bad_annotation, dsl.DSLTypeError, "annotation", "5 =", ["expected a dsl type"]),
    (bitwise_on_float, dsl.DSLTypeError, "float_bitwise", "A[i] &", ["bitwise", "integers"]),
    (nonconstant_shape, dsl.DSLTypeError, "shape_arg", "int32[n]", ["compile-time constant", "'n' is a kernel argument"]),
    (missing_annotation, dsl.DSLTypeError, "no_annotation", "b)", ["'b'", "no type annotation"]),
    (returns_wrong_shape, dsl.ShapeError, "return_shape", "return", ["shape [8]", "[4]"]),
    (returns_tensor_for_scalar, dsl.DSLTypeError, "return_kind", "return", ["returns tensor", "scalar int32"]),
    (subkernel_arg_count, dsl.CallError, "sub_count", "helper(A, A)", ["'helper' takes 1 argument", "got 2"]),
    (subkernel_arg_type, dsl.CallError, "sub_type", "A)", ["argument 'X'", "int32[8]", "float32[8]"]),
    (broadcast_mismatch, dsl.ShapeError, "broadcast", "A + B", ["[4] and [3]", "broadcast"]),
    (bit_slice_range, dsl.DSLTypeError, "bit_slice", "x[0:40]", ["[0:40]", "32 bits"]),
    (float_index, dsl.DSLTypeError, "float_index", "f]", ["index must be an integer", "float32"]),
    (recursive, dsl.DSLSyntaxError, "recursion", "recursive(A)", ["calls itself", "recursion"]),
    (iterate_tensor, dsl.DSLSyntaxError, "iterate", "A:", ["range", "dsl.grid", "dsl.reduction"]),
    (grid_targets, dsl.DSLSyntaxError, "grid_targets", "i in", ["2 extent(s)", "2 loop variable(s)", "got 1"]),
    (zero_step, dsl.DSLTypeError, "zero_step", "0)", ["step must not be zero"]),
    (assign_loop_var, dsl.DSLSyntaxError, "loop_var", "i = 3", ["loop variable 'i'"]),
    (python_call, dsl.DSLSyntaxError, "python_call", "print(A)", ["'print'", "not supported"]),
    (missing_return, dsl.DSLSyntaxError, "missing_return", "def", ["return type", "return statement"]),
    (early_return, dsl.DSLSyntaxError, "early_return", "return", ["'return' must be the last statement"]),
    (fixed_modulo, dsl.DSLTypeError, "fixed_mod", "A[i] %", ["Mod", "fixed point"]),
    (uncastable_arg, dsl.CallError, "scalar_for_tensor", "3)", ["argument 'X'", "must be a tensor"]),
    (matmul_shapes, dsl.ShapeError, "matmul", "dsl.matmul", ["(M, K) @ (K, N)", "[3, 4] and [3, 4]"]),
    (bad_axis, dsl.ShapeError, "axis", "dsl.sum", ["axis 2 is out of range", "rank 2"]),
    (bad_width, dsl.DSLTypeError, "bad_width", '"Int(0)[N]"', ["invalid type annotation", "width", "1..4096"]),
    (bit_index_range, dsl.DSLTypeError, "bit_index", "40]", ["bit 40", "32 bits", "0..31"]),
    (matmul_scalars, dsl.DSLTypeError, "matmul_scalar", "A[0] @", ["matmul needs a tensor", "scalar int32"]),
    (float_axis, dsl.DSLTypeError, "float_axis", "dsl.sum", ["integer axis", "0.5"]),
    (loop_name_not_str, dsl.DSLTypeError, "loop_name", "3)", ["name=", "string"]),
]


def _marker_line(marker):
    hits = [k for k, text in enumerate(SOURCE) if text.rstrip().endswith(f"# ERR:{marker}")]
    assert len(hits) == 1, f"marker {marker} found {len(hits)} times"
    return hits[0] + 1


def assert_located(exc, marker, anchor):
    line = _marker_line(marker)
    text = SOURCE[line - 1]
    col = text.index(anchor) + 1
    message = str(exc)
    assert message.startswith(f"{HERE}:{line}:{col}: error: "), message
    assert f"\n    {text}\n" in message, message
    assert f"\n    {' ' * (col - 1)}^" in message, message
    assert_clean(exc)
    return message


def assert_clean(exc):
    """No path of the dsl package, no MLIR text; no traceback frame of the compiler (the public entry
    point's re-raise in dsl/errors.py is the only dsl frame left)."""
    message = str(exc)
    assert DSL_DIR not in message, message
    assert not MLIR_TEXT.search(message.split("\n")[0].split(": error: ", 1)[-1]), message
    tb = exc.__traceback__
    while tb is not None:
        path = os.path.abspath(tb.tb_frame.f_code.co_filename)
        assert not path.startswith(DSL_DIR + os.sep) or path == os.path.join(DSL_DIR, "errors.py"), path
        tb = tb.tb_next
    assert exc.__cause__ is None


@pytest.mark.parametrize("kernel,exc_type,marker,anchor,fragments", ERRORS, ids=[e[2] for e in ERRORS])
def test_kernel_mistake(kernel, exc_type, marker, anchor, fragments):
    with pytest.raises(exc_type) as info:
        dsl.customize(kernel)
    message = assert_located(info.value, marker, anchor)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_at_least_twenty_distinct_mistakes():
    assert len({e[2] for e in ERRORS}) >= 20


def test_errors_are_dsl_errors_and_never_exit():
    for kernel, exc_type, *_ in ERRORS:
        assert issubclass(exc_type, dsl.DSLError)
        try:
            dsl.customize(kernel)
        except dsl.DSLError:
            pass


# -- call-time errors (not located in a kernel: the message names the argument) --------------------------

def vec_add(A: int32[N], B: int32[N]) -> int32[N]:
    C: int32[N] = 0
    for i in range(N):
        C[i] = A[i] + B[i]
    return C


def scale(A: float32[N], k: int32) -> float32[N]:
    C: float32[N] = 0.0
    for i in range(N):
        C[i] = A[i] * k
    return C


@pytest.fixture(scope="module")
def vec_mod():
    return dsl.customize(vec_add).build()


@pytest.fixture(scope="module")
def scale_mod():
    return dsl.customize(scale).build()


def _call_error(module, *args):
    with pytest.raises(dsl.CallError) as info:
        module(*args)
    assert_clean(info.value)
    return str(info.value)


def test_call_wrong_count(vec_mod):
    msg = _call_error(vec_mod, np.zeros(N, np.int32))
    assert "takes 2 argument(s)" in msg and "got 1" in msg and "A: int32[8]" in msg and "B: int32[8]" in msg


def test_call_wrong_shape(vec_mod):
    msg = _call_error(vec_mod, np.zeros(N, np.int32), np.zeros(N + 1, np.int32))
    assert "argument 'B'" in msg and "shape [8]" in msg and "[9]" in msg


def test_call_wrong_rank(vec_mod):
    msg = _call_error(vec_mod, np.zeros((2, 4), np.int32), np.zeros(N, np.int32))
    assert "argument 'A'" in msg and "[2, 4]" in msg


def test_call_float_array_for_int(vec_mod):
    msg = _call_error(vec_mod, np.zeros(N, np.float32), np.zeros(N, np.int32))
    assert "argument 'A'" in msg and "int32" in msg and "float32" in msg


def test_call_string_array(vec_mod):
    msg = _call_error(vec_mod, np.array(["a"] * N), np.zeros(N, np.int32))
    assert "argument 'A'" in msg and "cannot hold int32" in msg


def test_call_list_instead_of_array(vec_mod):
    msg = _call_error(vec_mod, [0] * N, np.zeros(N, np.int32))
    assert "argument 'A'" in msg and "numpy array" in msg


def test_call_array_for_scalar(scale_mod):
    msg = _call_error(scale_mod, np.zeros(N, np.float32), np.zeros(3, np.int32))
    assert "argument 'k'" in msg and "scalar int32" in msg


def test_call_non_integer_scalar(scale_mod):
    msg = _call_error(scale_mod, np.zeros(N, np.float32), 2.5)
    assert "argument 'k'" in msg and "int32" in msg
