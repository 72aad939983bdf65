"""float32 elementary functions of the library (issue 10, part 7): the kernels and their numpy twins agree to
the bit on the CPU and in csim, and stay within the stated error of float64."""
import math

import numpy as np
import pytest

import dsl
from dsl import float32
from dsl.library import mathf

N = 200_001
erf64 = np.vectorize(math.erf)
erfc64 = np.vectorize(math.erfc)
C = math.sqrt(2 / math.pi)

# name -> (inputs, float64 function, max relative error where |f| is in [1e-30, 1e38], measured bound)
CASES = {
    "exp": (np.linspace(-110, 95, N), np.exp, 2.4e-7),
    "log": (np.exp(np.linspace(-87, 88, N)), np.log, 2.5e-7),
    "erf": (np.linspace(-11, 11, N), erf64, 2.4e-7),
    "gelu_erf": (np.linspace(-20, 20, N), lambda x: 0.5 * x * erfc64(-x / math.sqrt(2)), 1e-6),
    # u = sqrt(2/pi)(x + 0.044715 x^3) carries float32 rounding into exp(-2u): relative error ~ 2e-7 * |2u|
    "gelu_tanh": (np.linspace(-20, 20, N), lambda x: x / (1 + np.exp(-2 * C * (x + 0.044715 * x ** 3))), 2e-5),
    "sigmoid": (np.linspace(-100, 100, N), lambda x: 1 / (1 + np.exp(-x)), 2.4e-7),
    "silu": (np.linspace(-100, 100, N), lambda x: x / (1 + np.exp(-x)), 2.4e-7),
    "relu": (np.linspace(-10, 10, N), lambda x: np.maximum(x, 0), 0.0),
}
SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-3, 0.5, 1.0, 2.0, -88.7, 88.7, 88.72, 89.0, -103.9, -104.0, -200.0,
                    mathf.ERF_SPLIT, -mathf.ERF_SPLIT, np.nextafter(np.float32(mathf.ERF_SPLIT), np.float32(0)),
                    3.4e38, -3.4e38], dtype=np.float32)


def apply(fn, n):
    @dsl.template("N")
    def kernel(X: "float32[N]") -> "float32[N]":
        Z: float32[N]
        for i in range(N):
            Z[i] = fn(X[i])
        return Z

    return dsl.customize(kernel, instantiate=[n])


def inputs(name):
    x = CASES[name][0].astype(np.float32)
    extra = SPECIAL[SPECIAL > 0] if name == "log" else SPECIAL
    return np.concatenate([x, extra])


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_and_twin_agree_to_the_bit_on_the_cpu(name):
    x = inputs(name)
    got = apply(getattr(mathf, name), x.size).build()(x)
    want = getattr(mathf, f"{name}_ref")(x)
    assert np.array_equal(got.view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("name", list(CASES))
def test_accuracy_against_float64(name):
    x, exact_fn, bound = CASES[name]
    x = x.astype(np.float32)
    got = getattr(mathf, f"{name}_ref")(x).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = exact_fn(x.astype(np.float64))
    normal = (np.abs(exact) >= 1e-30) & (np.abs(exact) <= 1e38)
    rel = np.abs(got[normal] - exact[normal]) / np.abs(exact[normal])
    assert rel.max() <= bound
    # outside that range the results are the float32 extremes: below 1e-30 in magnitude, or overflowing
    tiny = np.abs(exact) < 1e-30
    assert np.all(np.abs(got[tiny] - exact[tiny]) < 1e-30)


def test_exp_limits():
    y = mathf.exp_ref(np.array([-104.0, -200.0, 0.0, 89.0, 1000.0], dtype=np.float32))
    assert y[0] == 0 and y[1] == 0 and y[2] == 1 and np.isinf(y[3]) and np.isinf(y[4])


def test_twins_agree_in_csim():
    """One csim build applies every function to every test input (g++ on the emitted HLS C++)."""
    names = list(CASES)
    xs = [inputs(n)[::20] for n in names]
    n = max(x.size for x in xs)
    X = np.stack([np.resize(x, n) for x in xs])
    fns = tuple(getattr(mathf, k) for k in names)
    f0, f1, f2, f3, f4, f5, f6, f7 = fns

    @dsl.template("N")
    def every(X: "float32[8, N]") -> "float32[8, N]":
        Z: float32[8, N]
        for i in range(N):
            Z[0, i] = f0(X[0, i])
            Z[1, i] = f1(X[1, i])
            Z[2, i] = f2(X[2, i])
            Z[3, i] = f3(X[3, i])
            Z[4, i] = f4(X[4, i])
            Z[5, i] = f5(X[5, i])
            Z[6, i] = f6(X[6, i])
            Z[7, i] = f7(X[7, i])
        return Z

    assert len(names) == 8
    got = dsl.build(dsl.customize(every, instantiate=[n]), target="vitis_hls", mode="csim")(X)
    for k, name in enumerate(names):
        want = getattr(mathf, f"{name}_ref")(X[k])
        assert np.array_equal(got[k].view(np.int32), want.view(np.int32)), name
