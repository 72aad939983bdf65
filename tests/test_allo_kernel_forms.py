"""Kernel forms Allo programs use: nested ``def``, ``range()`` with a run-time step, ``return None`` without an
annotation, re-declaring an annotated variable, Allo's ``customize`` options, and the handles and results
Allo code reads (``s.get_loops().C.j``, ``band.loops``, ``.hls_code``, ``.module``)."""
import numpy as np
import pytest

import dsl
from dsl import index, int32

from .markers import line_of


def test_nested_def_is_a_helper_kernel():
    def kernel(A: int32[10]) -> int32[10]:
        B: int32[10] = 0

        def inc(x: int32) -> int32:
            return x + 1

        def lookup(A_: int32[10], x: index) -> int32:
            C: int32[10] = 0
            for i in range(10):
                C[i] = A_[i] + 1
            return C[x]

        for i in range(10):
            B[i] = inc(A[i]) + lookup(A, i)
        return B

    A = np.arange(10, dtype=np.int32)
    s = dsl.customize(kernel)
    np.testing.assert_array_equal(s.build()(A), 2 * A + 2)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(A), 2 * A + 2)


def test_nested_def_cannot_read_the_enclosing_kernels_variables():
    def kernel(A: int32[4]) -> int32[4]:
        B: int32[4] = 0

        def leak(x: int32) -> int32:
            return x + B[0]  # MARK-leak

        for i in range(4):
            B[i] = leak(A[i])
        return B

    with pytest.raises(dsl.DSLNameError, match="nested kernel 'leak' reads 'B'") as err:
        dsl.customize(kernel)
    assert f":{line_of(__file__, 'MARK-leak')}:" in str(err.value) and "pass 'B'" in str(err.value)


def test_nested_def_cannot_reuse_an_argument_name():
    def kernel(A: int32[4]) -> int32[4]:
        def A(x: index) -> int32:  # noqa: F811 - the mistake under test
            return 0

        return A

    with pytest.raises(dsl.DSLNameError, match="'A' is already a name of this kernel"):
        dsl.customize(kernel)


def test_range_with_a_runtime_step_follows_python():
    def k(n: int32, step: int32, B: int32[10]):
        c: int32 = 0
        for i in range(n, -1, step):
            B[c] = i
            c += 1

    def allo_scf(A: int32[10], B: int32[10]):
        for i in range(10):
            for j in range(A[i], 10, A[i]):
                for m in range(A[i] - 1, A[i] + 2):
                    B[m] += i - j

    mod = dsl.customize(k).build()
    for n, step in ((9, -2), (8, -3), (3, 1), (0, -1), (5, 0)):
        B = np.full(10, -1, np.int32)
        mod(n, step, B)
        want = list(range(n, -1, step)) if step else []  # a zero step runs no iteration (Python: ValueError)
        assert B[:len(want)].tolist() == want and (B[len(want):] == -1).all()
    A, B = np.array([1, 2, 3, 1, 2, 3, 1, 2, 3, 1], np.int32), np.zeros(10, np.int32)
    want = np.zeros(10, np.int32)
    for i in range(10):
        for j in range(A[i], 10, A[i]):
            for m in range(A[i] - 1, A[i] + 2):
                want[m] += i - j
    s = dsl.customize(allo_scf)
    s.build()(A, B)
    np.testing.assert_array_equal(B, want)
    B = np.zeros(10, np.int32)
    dsl.build(s, target="vitis_hls", mode="csim")(A, B)
    np.testing.assert_array_equal(B, want)


def test_return_none_without_annotation():
    def k0(A: int32[4]):
        A[0] = 1
        return None

    def k1(A: int32[4]) -> None:
        A[1] = 2
        return None

    A = np.zeros(4, np.int32)
    assert dsl.customize(k0).build()(A) is None
    dsl.customize(k1).build()(A)
    assert A.tolist() == [1, 2, 0, 0]

    def bad(A: int32[4]) -> int32:
        return None

    with pytest.raises(dsl.DSLTypeError, match="returns nothing"):
        dsl.customize(bad)


def test_redeclaring_with_the_same_type_assigns():
    a = 3

    def k() -> int32:
        x: int32 = a
        x: int32 = 1
        x = x + 1
        t: int32[2, 2] = [[1, 2], [3, 4]]
        t: int32[2, 2] = [[a, 2], [3, 4]]
        return x + t[0, 0]

    assert dsl.customize(k).build()() == 5

    def other_type() -> int32:
        x: int32 = a
        x: int32[2] = [2, 2]
        return x[0]

    with pytest.raises(dsl.DSLNameError, match="already declared in this kernel as int32; it cannot be "
                                               "re-declared as int32\\[2\\]"):
        dsl.customize(other_type)


def test_allo_customize_options(capsys):
    def k(A: int32[4]) -> int32[4]:
        return A + 1

    s = dsl.customize(k, verbose=True, enable_tensor=True, lower_linalg=False)
    assert "func.func @k" in capsys.readouterr().out
    np.testing.assert_array_equal(s.build()(np.arange(4, dtype=np.int32)), np.arange(1, 5))


RNG_FORMS = np.random.default_rng(10)


def gemm(A: int32[8, 8], B: int32[8, 8]) -> int32[8, 8]:
    C: int32[8, 8] = 0
    for i, j, k in dsl.grid(8, 8, 8, name="C"):
        C[i, j] += A[i, k] * B[k, j]
    return C


def test_loop_handles_by_attribute():
    s = dsl.customize(gemm)
    s.split("i", 4)
    s.split("j", 4)
    s.reorder("i.outer", "j.outer", "i.inner", "j.inner")
    loops = s.get_loops()
    assert list(loops.C.loops.keys()) == ["i.outer", "j.outer", "i.inner", "j.inner", "k"]
    s.pipeline(loops.C.k)
    assert loops.C.k.path == loops["C"]["k"].path == "C:k"
    with pytest.raises(AttributeError, match="no band 'D'; its bands: S_C_init, C"):
        loops.D  # noqa: B018
    with pytest.raises(AttributeError, match="band 'C' has no loop 'q'"):
        loops.C.q  # noqa: B018


def nest(A: int32[6, 8], B: int32[6, 8]):
    for i in range(6, name="rows"):
        for j in range(8, name="inc"):
            A[i, j] = A[i, j] + 1
        for j in range(8, name="dbl"):
            B[i, j] = A[i, j] * 2
        for k in range(8, name="tail"):
            B[i, k] += i


def test_band_finds_every_loop_of_its_nest():
    # Allo's bands hold their whole loop nest: loops["rows"]["k"] reaches the loop of an inner band
    s = dsl.customize(nest)
    loops = s.get_loops()
    assert list(loops["rows"]) == ["i"]  # iteration: the band's own loops
    assert loops["rows"]["k"].path == loops.rows.k.path == "tail:k"
    s.pipeline(loops.rows.k)
    assert "pipeline" in s.get_loops()["tail"]["k"].info
    with pytest.raises(KeyError, match="several loops named 'j'"):
        loops["rows"]["j"]  # inc:j and dbl:j
    with pytest.raises(AttributeError, match="has no loop 'q'; its loops: i; nested in it: j, k"):
        loops.rows.q  # noqa: B018
    A, B = RNG_FORMS.integers(-50, 50, (6, 8), dtype=np.int32), np.zeros((6, 8), np.int32)
    want_a, want_b = A + 1, (A + 1) * 2 + np.arange(6, dtype=np.int32)[:, None]
    s.build()(A, B)
    np.testing.assert_array_equal(A, want_a)
    np.testing.assert_array_equal(B, want_b)
    assert str(dsl.customize(nest, schedule=s.to_yaml()).module) == str(s.module)


def test_results_expose_hls_code_and_module():
    s = dsl.customize(gemm)
    code = dsl.build(s, target="vhls")
    assert code.hls_code == str(code) and "l_C_i" in code.hls_code
    csim = dsl.build(s, target="vitis_hls", mode="csim")
    assert "void gemm(" in csim.hls_code and "func.func @gemm" in str(csim.module)
    assert "llvm.func" in str(s.build().module)


def test_ml_dtypes_bfloat16_arrays_are_taken_as_allo_users_pass_them():
    ml_dtypes = pytest.importorskip("ml_dtypes")  # a dev dependency (pyproject.toml)

    def k(A: dsl.bfloat16[6]) -> dsl.bfloat16[6]:
        B: dsl.bfloat16[6]
        for i in range(6):
            B[i] = A[i] + 1
        return B

    def twice(A: dsl.bfloat16[4]):
        for i in range(4):
            A[i] = A[i] * 2

    A = np.array([0.5, 1.25, -2.0, 3.0, 100.0, -0.125]).astype(ml_dtypes.bfloat16)
    out = dsl.customize(k).build()(A)
    np.testing.assert_array_equal(out, (A.astype(np.float32) + 1).astype(ml_dtypes.bfloat16).astype(np.float32))
    C = np.array([1.5, 2.25, -3.0, 0.5]).astype(ml_dtypes.bfloat16)
    dsl.customize(twice).build()(C)
    assert C.dtype == ml_dtypes.bfloat16 and C.astype(np.float32).tolist() == [3.0, 4.5, -6.0, 1.0]


def test_nested_def_parameter_named_like_an_outer_variable_is_its_own():
    def k(A: int32[6]) -> int32[6]:
        B: int32[6] = 0

        def helper(A: int32[6], x: dsl.index) -> int32:  # Allo refuses the name; Python's scoping is clear
            return A[x] * 3

        for i in range(6):
            B[i] = helper(A, i) + A[i]
        return B

    a = np.arange(6, dtype=np.int32) - 2
    np.testing.assert_array_equal(dsl.customize(k).build()(a), a * 4)
