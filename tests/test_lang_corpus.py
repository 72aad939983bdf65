"""Every kernel program of the corpus (tests/kernels) runs on the CPU backend and agrees with numpy."""
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UInt, bfloat16, bool, float32, int16, uint64
from tests.kernels import ALL_CASES


def run_case(case, **options):
    inputs = case.inputs()
    expected = case.expected(inputs)
    module = dsl.customize(case.kernel, instantiate=case.instantiate).build(**options)
    args = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]
    got = module(*args)
    if case.inplace:
        assert got is None
        got = tuple(args[k] for k in case.written)
        got = got[0] if len(got) == 1 else got
    return got, expected


def assert_agrees(got, expected, case):
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected), f"{case.name}: got {got!r}"
        for g, e in zip(got, expected):
            assert_agrees(g, e, case)
        return
    got_arr, exp_arr = np.asarray(got), np.asarray(expected)
    assert got_arr.shape == exp_arr.shape, f"{case.name}: shape {got_arr.shape} != {exp_arr.shape}"
    if case.exact:
        if got_arr.dtype == object or exp_arr.dtype == object:
            assert [int(v) for v in got_arr.reshape(-1)] == [int(v) for v in exp_arr.reshape(-1)]
        else:
            np.testing.assert_array_equal(got_arr, exp_arr, err_msg=case.name)
    else:
        np.testing.assert_allclose(got_arr.astype(np.float64), exp_arr.astype(np.float64), rtol=case.rtol,
                                   atol=0, err_msg=case.name)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_corpus_case(case):
    got, expected = run_case(case)
    assert_agrees(got, expected, case)


def test_corpus_is_large_and_unique():
    names = [c.name for c in ALL_CASES]
    assert len(names) >= 80
    assert len(set(names)) == len(names)


# -- the compiled-module cache -------------------------------------------------------------------------

def _cache_kernel(A: float32[16, 16], B: float32[16, 16]) -> float32[16, 16]:
    C: float32[16, 16] = 0.0
    for i, j in dsl.grid(16, 16):
        for k in dsl.reduction(16):
            C[i, j] += dsl.tanh(A[i, k]) * B[k, j] + 0.5
    return C


def test_second_build_hits_the_cache(monkeypatch):
    from dsl.backend import llvm

    compiled = []
    real_engine = llvm.ExecutionEngine

    def counting_engine(*args, **kwargs):
        compiled.append(1)
        return real_engine(*args, **kwargs)

    monkeypatch.setattr(llvm, "_CACHE", {})  # empty, whatever other tests built before
    monkeypatch.setattr(llvm, "ExecutionEngine", counting_engine)
    m1 = dsl.customize(_cache_kernel).build()
    m2 = dsl.customize(_cache_kernel).build()
    # the second build costs the frontend only: no lowering or JIT compilation
    assert m2.engine is m1.engine and len(compiled) == 1
    A, B = np.ones((16, 16), np.float32), np.ones((16, 16), np.float32)
    np.testing.assert_allclose(m2(A, B), m1(A, B))


# -- the calling convention ----------------------------------------------------------------------------

def _fixed_identity(A: Fixed(8, 4)[4], s: Fixed(8, 4)) -> (Fixed(8, 4)[4], Fixed(8, 4)):
    return A, s


def test_fixed_point_floats_in_and_out():
    out, s = dsl.customize(_fixed_identity).build()(np.array([0.30, -0.30, 7.99, -8.0]), -1.03)
    assert out.dtype == np.float64
    # quantised with AP_TRN (floor at 1/16) on the way in
    np.testing.assert_array_equal(out, [0.25, -0.3125, 7.9375, -8.0])
    assert s == -1.0625


def test_fixed_point_refuses_out_of_range_inputs():
    # a value the type cannot hold is refused at the call instead of wrapping (Fixed(8, 4): -8..7.9375)
    module = dsl.customize(_fixed_identity).build()
    for bad in (8.0, -8.0625, 9.5):
        with pytest.raises(dsl.CallError, match=f"argument 'A' .* holds {bad}"):
            module(np.array([0.0, bad, 0.0, 0.0]), 0.0)


def _odd_widths(A: Int(12)[3], B: UInt(5)[3], W: Int(100)[3]) -> (Int(12)[3], UInt(5)[3], Int(100)[3]):
    return A, B, W


def test_odd_and_wide_widths_carriers():
    W = np.array([2**99 - 1, -(2**99), 5], dtype=object)
    a, b, w = dsl.customize(_odd_widths).build()(np.array([2047, -2048, -1], np.int16),
                                                  np.array([31, 0, 7], np.uint8), W)
    assert a.dtype == np.int16 and b.dtype == np.uint8 and w.dtype == object  # 12 bits carried in int16
    assert a.tolist() == [2047, -2048, -1]
    assert b.tolist() == [31, 0, 7]
    assert [int(x) for x in w] == [2**99 - 1, -(2**99), 5]
    for args in ((np.array([5000, 0, 0], np.int16), np.zeros(3, np.uint8), W),
                 (np.zeros(3, np.int16), np.array([32, 0, 0], np.uint8), W),
                 (np.zeros(3, np.int16), np.zeros(3, np.uint8), np.array([2**100 + 5, 0, 0], dtype=object))):
        with pytest.raises(dsl.CallError, match="convert it explicitly"):  # refused, not wrapped
            dsl.customize(_odd_widths).build()(*args)


def _flags(A: bool[5]) -> bool[5]:
    B: bool[5] = 0
    for i in range(5):
        B[i] = not A[i]
    return B


def test_bool_arrays():
    out = dsl.customize(_flags).build()(np.array([True, False, True, True, False]))
    assert out.dtype == np.bool_
    assert out.tolist() == [False, True, False, False, True]


def _bump(A: int16[4], B: Int(12)[4], F: Fixed(12, 4)[4]):
    for i in range(4):
        A[i] += 1
        B[i] = B[i] * 2
        F[i] = F[i] + 0.5


def test_inplace_outputs_written_back():
    A = np.array([1, 2, 3, 32767], np.int16)
    B = np.array([1, -3, 1500, 2047], np.int16)
    F = np.array([0.25, -1.0, 3.0625, 127.5])
    assert dsl.customize(_bump).build()(A, B, F) is None
    assert A.tolist() == [2, 3, 4, -32768]
    assert B.tolist() == [2, -6, 3000 - 4096, -2]
    assert F.tolist() == [0.75, -0.5, 3.5625, -128.0]


def _u64(A: uint64[2]) -> uint64[2]:
    return A + 1


def test_uint64_full_range():
    out = dsl.customize(_u64).build()(np.array([2**64 - 1, 2**63], np.uint64))
    assert out.dtype == np.uint64 and out.tolist() == [0, 2**63 + 1]


def _bf16_id(A: bfloat16[3]) -> bfloat16[3]:
    return A * 1.0


def test_bfloat16_rounds_on_the_way_in():
    out = dsl.customize(_bf16_id).build()(np.array([1.0, 1.00390625, 3.1415927], np.float32))
    assert out.dtype == np.float32
    assert out.tolist() == [1.0, 1.0, 3.140625]  # nearest-even at 8 significand bits


# -- PEP 695 type parameters (Python >= 3.12) ----------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _python312():
    """An interpreter >= 3.12 that can import the project's dependencies (mlir, numpy), or None."""
    candidates = [os.environ.get("DSL_TEST_PY312", "")] + sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.1[2-9]*/bin/python"))) + [shutil.which("python3.12") or "", shutil.which("python3.13") or ""]
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys, mlir.ir, numpy, yaml; assert sys.version_info >= (3, 12)"],
                               capture_output=True, cwd=REPO)
        if probe.returncode == 0:
            return exe
    return None


def test_pep695_kernels():
    if sys.version_info >= (3, 12):  # they are in ALL_CASES and run above; check they are there
        assert {"pep695_instantiate_top", "pep695_call_site"} <= {c.name for c in ALL_CASES}
        return
    exe = _python312()
    if exe is None:
        pytest.skip("no Python >= 3.12 with mlir and numpy installed (set DSL_TEST_PY312)")
    script = ("import numpy as np, dsl\n"
              "from tests.kernels import corpus_pep695 as m\n"
              "for c in m.CASES:\n"
              "    x = c.inputs()\n"
              "    got = dsl.customize(c.kernel, instantiate=c.instantiate).build()(*x)\n"
              "    assert np.allclose(got, c.expected(x), rtol=1e-6), c.name\n"
              "    print('ok', c.name)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([exe, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ok", "pep695_instantiate_top", "ok", "pep695_call_site"]
