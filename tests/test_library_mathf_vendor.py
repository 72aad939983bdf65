"""The MATH = mathf.VENDOR option of the float row units: the vendor's exp / erf / tanh cores in the emitted
HLS (hls::exp, hls::erf, hls::tanh), the C library on the CPU and in csim, within the tolerance mathf states
(not bit-exact: UG1399 gives the hls:: functions as 1-4 ulp from the C library); and the estimator's figures
for those cores (dsl/qor/tables: fexp, ferf, ftanh), checked by hand."""
import math

import numpy as np
import pytest

import dsl
from dsl import float32, int32
from dsl.library import mathf, rows
from dsl.library.mathf import VENDOR
from dsl.library.units import memory, rowwise, schedule_units
from dsl.library.units.tokens import chunk

RNG = np.random.default_rng(11)
GELU_EXACT = {"erf": lambda x: 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0))),
              "tanh": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))}
GELU_UNIT = {"erf": rowwise.gelu_rows_math, "tanh": rowwise.gelu_tanh_rows_math}


def _gelu_tolerance(got, x, exact):
    """mathf's stated bound for the vendor GeLU forms: |err| <= 1e-6 * max(1, |x|)."""
    err = np.abs(got.astype(np.float64) - exact)
    assert np.all(err <= 1e-6 * np.maximum(1.0, np.abs(x))), float(np.max(err))


def _gelu_design(L, D, form):
    c = chunk(float32, D)
    unit = GELU_UNIT[form]

    @dsl.region()
    def vgelu(X: float32[L, D], Z: float32[L, D]):
        xs: dsl.Stream[float32[c], 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, L, D](X, xs)
        unit[float32, L, D, VENDOR](xs, zs)
        memory.store_rows[float32, L, D](zs, Z)

    return vgelu


def _softmax_design(L, D):
    c = chunk(float32, D)

    @dsl.region()
    def vsoftmax(X: float32[L, D], Z: float32[L, D]):
        xs: dsl.Stream[float32[c], 2]
        ns: dsl.Stream[int32, 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, L, D](X, xs)
        rowwise.causal_mask[L, D, 1, 1, 1](ns, D)  # past >= D - 1: every row keeps all D entries
        rowwise.softmax_rows_math[float32, L, D, VENDOR](xs, ns, zs, 1.0)
        memory.store_rows[float32, L, D](zs, Z)

    return vsoftmax


def _run(design, args, target):
    s = dsl.customize(design)
    schedule_units(s)
    mod = dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")
    mod(*args)
    return args


# -- the scalar forms on the CPU ----------------------------------------------------------------------
def _scalar(fn):
    def k(x: float32[256], z: float32[256]):
        for i in range(256):
            z[i] = fn(x[i])
    k.__name__ = f"apply_{fn.__name__}"
    return dsl.build(dsl.customize(k))


def test_vendor_exp_is_within_its_tolerance():
    x = np.linspace(-80.0, 80.0, 256).astype(np.float32)
    z = np.zeros_like(x)
    _scalar(mathf.vendor_exp)(x, z)
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(z - exact) / exact) <= 1e-6
    np.testing.assert_allclose(z, mathf.vendor_exp_ref(x), rtol=1e-6)


@pytest.mark.parametrize("form", ["erf", "tanh"])
def test_vendor_gelu_forms_are_within_their_tolerance(form):
    x = np.concatenate([np.linspace(-9.0, 9.0, 192), RNG.standard_normal(64) * 3]).astype(np.float32)
    z = np.zeros_like(x)
    _scalar({"erf": mathf.vendor_gelu_erf, "tanh": mathf.vendor_gelu_tanh}[form])(x, z)
    exact = GELU_EXACT[form](x.astype(np.float64))
    _gelu_tolerance(z, x, exact)
    _gelu_tolerance(mathf.GELU_FORMS_REF[VENDOR][form](x), x, exact)


# -- the units -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["sim", "csim"])
def test_vendor_gelu_unit_matches_float64(target):
    L, D = 4, 64
    X = (RNG.standard_normal((L, D)) * 4).astype(np.float32)
    out = _run(_gelu_design(L, D, "erf"), [X, np.zeros_like(X)], target)
    _gelu_tolerance(out[1], X, GELU_EXACT["erf"](X.astype(np.float64)))


def test_vendor_gelu_tanh_unit_matches_float64():
    L, D = 4, 64
    X = (RNG.standard_normal((L, D)) * 4).astype(np.float32)
    out = _run(_gelu_design(L, D, "tanh"), [X, np.zeros_like(X)], "sim")
    _gelu_tolerance(out[1], X, GELU_EXACT["tanh"](X.astype(np.float64)))


def test_vendor_softmax_unit_matches_its_reference():
    L, D = 4, 64
    X = (RNG.standard_normal((L, D)) * 3).astype(np.float32)
    out = _run(_softmax_design(L, D), [X, np.zeros_like(X)], "sim")
    x64 = X.astype(np.float64)
    exact = np.exp(x64 - x64.max(1, keepdims=True))
    exact /= exact.sum(1, keepdims=True)
    assert np.max(np.abs(out[1] - exact)) / np.max(exact) <= 2e-6  # the library softmax's bound
    np.testing.assert_allclose(out[1], rows.softmax_rows_ref(X, math=VENDOR), rtol=1e-6, atol=1e-9)


def test_the_emitted_hls_calls_the_vendor_cores():
    hls = {form: str(dsl.build(dsl.customize(_gelu_design(4, 64, form)), target="vhls")) for form in GELU_UNIT}
    assert "hls::erf(" in hls["erf"] and "hls::tanh(" in hls["tanh"]
    assert "POW2" not in hls["erf"]  # not the library's polynomial exp (its power-of-two table)
    assert "hls::exp(" in str(dsl.build(dsl.customize(_softmax_design(4, 64)), target="vhls"))


def test_a_math_option_that_is_neither_is_refused():
    with pytest.raises(dsl.DSLError, match="MATH = 2 must be mathf.LIBRARY"):
        dsl.customize(rowwise.gelu_rows_math, instantiate=[float32, 4, 64, 2])


# -- the estimator's figures for the cores (dsl/qor/tables/ultrascale_plus.yaml) --------------------------
def _one(fn):
    def k(x: float32[64], z: float32[64]):
        for i in range(64, name="i"):
            z[i] = fn(x[i])
    return k


def test_core_dsps_are_the_tables_by_hand():
    # one copy of each core in a pipelined loop at II=1: its DSPs are the table's entry. hls::erf<float>:
    # 3 faddfsub + 39 fadd (2 DSPs each), 48 fmul (3), 6 fdiv (0), 2 fexp (7): 84 + 144 + 14 = 242.
    # hls::tanh<float>: 5 fadd/fsub (10), 1 fmul (3), 1 dadd (3), exp_generic<double>'s integer multiplies
    # 13x71, 43x36, 49x44, 50x50 and a 16x15 multiply-add (3 + 6 + 6 + 6 + 1 = 22): 38. hls::exp: fexp, 7.
    for fn, dsp in ((dsl.erf, 42 * 2 + 48 * 3 + 2 * 7), (dsl.tanh, 10 + 3 + 3 + 22), (dsl.exp, 7)):
        s = dsl.customize(_one(fn))
        s.pipeline("i")
        assert dsl.estimate(s, clock_mhz=300).resources["DSP"].used == dsp, fn


def _loop(fn, clock=300):
    s = dsl.customize(_one(fn))
    s.pipeline("i")
    r = dsl.estimate(s, clock_mhz=clock)
    return r.loops["i:i"], r.notes


def test_core_latencies_are_the_tables_by_hand():
    # the same loop around each core: m_axi read (64) + the core + the write; the cores differ by their
    # tables' latencies at 300 MHz: hls::tanh<float> 73 (its Vitis output's cores are the 350 MHz band's),
    # fexp 9; hls::erf<float> 75 is the <= 150 MHz band's (its output's 4-stage fadd, 8-stage fexp): at
    # 300 MHz the estimate takes it and says so
    tanh, _ = _loop(dsl.tanh)
    exp, _ = _loop(dsl.exp)
    erf, notes = _loop(dsl.erf)
    assert (tanh.ii, exp.ii, erf.ii) == (1, 1, 1)
    assert tanh.depth - exp.depth == 73 - 9 and erf.depth - exp.depth == 75 - 9
    assert tanh.latency == 63 + tanh.depth
    assert any("ferf latency table" in n for n in notes)
