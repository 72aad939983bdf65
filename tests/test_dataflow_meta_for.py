"""``dsl.meta_for``: compile-time loops in kernels (region kernels and plain ones), and the designs it makes
possible, whose every top-level argument has one reader or writer, so that the vendor flows accept them."""
import os
import shutil

import numpy as np
import pytest

import dsl
from dsl import int32

from .dataflow_designs import systolic_1d, systolic_gemm

N, P = 6, 3


@dsl.region()
def triangle(A: int32[N, P, P], B: int32[N, P, P]):
    s: dsl.Stream[int32, 2][P, P]

    @dsl.kernel(mapping=[1])
    def load(A: int32[N, P, P]):
        for n in range(N):
            with dsl.meta_for(P) as i:
                with dsl.meta_for(i + 1) as j:  # inner bounds may use the outer index
                    s[i, j].put(A[n, i, j])

    @dsl.kernel(mapping=[P, P])
    def use(B: int32[N, P, P]):
        i, j = dsl.get_pid()
        if j <= i:
            for n in range(N):
                B[n, i, j] = s[i, j].get() * (i + 1) + j


def test_nested_meta_for_with_dependent_bounds():
    A = np.arange(N * P * P, dtype=np.int32).reshape(N, P, P)
    B = np.zeros_like(A)
    dsl.build(triangle, target="sim")(A, B)
    i, j = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    expect = np.where(j <= i, A * (i + 1) + j, 0)
    np.testing.assert_array_equal(B, expect)


def _region_with(folder, body):
    """A one-kernel region whose loader body is ``body``, written to a file (the frontend reads sources)."""
    text = f'''
import dsl
from dsl import int32
N, P = {N}, {P}
@dsl.region()
def r(A: int32[N], B: int32[N]):
    s: dsl.Stream[int32, 2][P]

    @dsl.kernel(mapping=[1])
    def load(A: int32[N]):
        n = 0
{body}

    @dsl.kernel(mapping=[P])
    def use(B: int32[N]):
        k = dsl.get_pid()
        B[k] = s[k].get()
'''
    import runpy

    path = folder / "meta_for_case.py"
    path.write_text(text)
    return runpy.run_path(str(path))["r"]


@pytest.mark.parametrize("body, message", [
    ("        for m in range(P):\n            with dsl.meta_for(m) as k:\n                s[k].put(A[k])",
     "the bounds of dsl.meta_for must be compile-time constants"),
    ("        with dsl.meta_for(P) as k:\n            k = 2\n            s[k].put(A[k])",
     "'k' is a dsl.meta_for index: it cannot be assigned"),
    ("        with dsl.meta_for(1.5) as k:\n            s[0].put(A[0])", "must be ints"),
])
def test_meta_for_misuse_points_at_the_line(tmp_path, body, message):
    from dsl.errors import DSLError

    with pytest.raises(DSLError) as err:
        dsl.customize(_region_with(tmp_path, body))
    assert message in str(err.value)
    assert err.value.loc is not None and err.value.loc.file.endswith("meta_for_case.py")
    assert str(err.value).startswith(f"{tmp_path / 'meta_for_case.py'}:{err.value.loc.line}:")
    assert "dsl/" not in str(err.value)


def test_meta_for_outside_a_kernel_is_an_error():
    with pytest.raises(dsl.StreamError, match="inside a kernel"):
        with dsl.meta_for(3):
            pass


@dsl.template("L")
def reverse_scaled(A: "int32[L]") -> "int32[L]":
    B: int32[L] = 0
    with dsl.meta_for(L) as i:  # the bound is a type parameter: unrolled per instance
        B[i] = A[L - 1 - i] * (i + 1)
    return B


@pytest.mark.parametrize("L", [3, 5])
def test_meta_for_in_a_plain_kernel_unrolls_per_instance(L):
    A = np.arange(L, dtype=np.int32) * 7 - 4
    s = dsl.customize(reverse_scaled, instantiate=[L])
    assert "affine.for" not in str(s.module).split("S_B_init")[-1]  # the copies, not a loop
    expect = A[::-1] * np.arange(1, L + 1)
    np.testing.assert_array_equal(s.build()(A), expect)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls")(A), expect)


@pytest.mark.parametrize("design", [systolic_gemm(8, 8, 4, 2, 2), systolic_1d(4, 3)], ids=["gemm", "mv"])
def test_systolic_designs_pass_the_vendor_flow_check(tmp_path, monkeypatch, design):
    import warnings

    monkeypatch.setenv("PATH", os.path.dirname(shutil.which("g++")))
    if shutil.which("v++"):
        pytest.skip("v++ is installed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about shared m_axi arguments
        code = dsl.build(design, target="vhls")
        with pytest.raises(dsl.ToolNotFoundError, match="'v\\+\\+'"):
            dsl.build(design, target="vitis_hls", mode="hw_emu", project=str(tmp_path / "p"))
    assert "NOT SYNTHESISABLE" not in code and "#pragma HLS dataflow" in code
    assert (tmp_path / "p" / "kernel.cpp").read_text() == str(code)
