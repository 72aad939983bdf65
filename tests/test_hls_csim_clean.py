"""Valid kernels compile cleanly in csim: the emitter writes no code g++ warns about, a warning never rejects
a kernel (it is a CSimWarning), a relative DSL_CACHE_DIR works, and sub-views survive canonicalisation
(issue 9: 7.7, 7.5, 6.7)."""
import os
import warnings

import numpy as np
import pytest

import dsl
from dsl import Int, float32, int32, uint32
from dsl.backend.hls import csim
from dsl.backend.hls.csim import CSimWarning

RNG = np.random.default_rng(17)


def unused_local(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    x: int32 = 0
    T: int32[4] = 0  # written, never read
    for i in range(4):
        x = A[i]
        T[i] = A[i]
        B[i] = A[i]
    return B


def self_compare(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        if i < i:
            B[i] = 1
        if i <= i:
            B[i] += A[i]
    return B


def one_bit_slice(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        v: int32 = A[i]
        v[3:4] = 1
        B[i] = v
    return B


def one_bit_slice_wraps(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        v: int32 = A[i]
        v[3:4] = 2  # 2 does not fit one bit: its low bit, 0, is stored
        B[i] = v
    return B


def abs_narrow(A: Int(6)[4]) -> Int(6)[4]:
    B: Int(6)[4] = 0
    for i in range(4):
        B[i] = abs(A[i])
    return B


def unsigned_below_zero(U: uint32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        if U[i] < 0:
            B[i] = 1
        if U[i] >= 0:
            B[i] += 2
    return B


def min_with_huge(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        B[i] = min(i, 1099511627779) + A[i]
    return B


INF, NAN = float("inf"), float("nan")


def infinities(A: float32[3]) -> float32[3]:
    B: float32[3] = 0.0
    B[0] = min(A[0], INF)
    B[1] = max(A[1], -INF)
    B[2] = A[2] + NAN
    return B


def _abs6(a):
    return ((np.abs(a.astype(np.int64)) + 32) % 64 - 32).astype(np.int8)


A4 = np.array([5, -7, 8, 1 << 20], dtype=np.int32)
CASES = {
    "unused_local": (unused_local, [A4], lambda a: a),
    "self_compare": (self_compare, [A4], lambda a: a),
    "one_bit_slice": (one_bit_slice, [A4], lambda a: a | 8),
    "one_bit_slice_wraps": (one_bit_slice_wraps, [A4], lambda a: a & ~8),
    "abs_narrow": (abs_narrow, [np.array([-32, -5, 0, 31], np.int8)], _abs6),
    "unsigned_below_zero": (unsigned_below_zero, [np.array([0, 1, 2**31, 2**32 - 1], np.uint32)],
                            lambda u: np.full(4, 2, np.int32)),
    "min_with_huge": (min_with_huge, [A4], lambda a: a + np.arange(4, dtype=np.int32)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_kernels_compile_without_warnings_and_compute_as_python(name):
    kernel, args, expect = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CSimWarning)
        module = dsl.build(dsl.customize(kernel), target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(module(*[np.copy(a) for a in args]), expect(*args))


def test_inf_and_nan_literals_include_cmath():
    s = dsl.customize(infinities)
    code = dsl.build(s, target="vhls")
    assert "INFINITY" in code and "NAN" in code
    assert "#include <cmath>" in code.splitlines()[:4]  # UG1399 kernels include what they use
    got = dsl.build(s, target="vitis_hls", mode="csim")(np.array([1.5, -2.0, 3.0], np.float32))
    assert got[0] == 1.5 and got[1] == -2.0 and np.isnan(got[2])


def test_a_g_plus_plus_warning_does_not_reject_a_kernel_but_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("DSL_CACHE_DIR", str(tmp_path))
    files = {"kernel.cpp": "int f() { int unused = 3; return 1; }\n",
             "harness.cpp": "int f();\nint main() { return f() - 1; }\n", "kernel.h": ""}
    with pytest.warns(CSimWarning, match=r"unused variable .unused."):
        binary = csim.compile_csim(files)
    assert binary.is_file()
    with pytest.warns(CSimWarning, match="unused variable"):  # a cache hit reports it again
        assert csim.compile_csim(files) == binary
    broken = {**files, "kernel.cpp": "int f() { }\n"}  # a missing return is an error, as it must be
    with pytest.raises(dsl.BuildError, match="return-type"):
        csim.compile_csim(broken)


def test_a_relative_cache_dir_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DSL_CACHE_DIR", "relative-cache")
    module = dsl.build(dsl.customize(unused_local), target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(module(A4), A4)
    assert os.path.isabs(module.binary) and (tmp_path / "relative-cache" / "csim").is_dir()


def _h(R: int32[4]):
    for j in range(4):
        R[j] = R[j] + 1


def split_then_subview(A: int32[8], B: int32[2, 4]):
    for i in range(8):
        A[i] = A[i] * 2
    _h(B[1])


def test_a_call_on_a_sub_view_after_an_unrelated_split():
    s = dsl.customize(split_then_subview)
    s.split("i", 4)  # canonicalisation folds the sub-view's offset to a constant behind a memref.cast
    assert "_h(B[1]);" in dsl.build(s, target="vhls")
    A, B = np.arange(8, dtype=np.int32), np.arange(8, dtype=np.int32).reshape(2, 4)
    module = dsl.build(s, target="vitis_hls", mode="csim")
    a, b = np.copy(A), np.copy(B)
    module(a, b)
    np.testing.assert_array_equal(a, A * 2)
    np.testing.assert_array_equal(b, B + np.array([[0], [1]]))
