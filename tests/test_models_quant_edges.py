"""The models' quantising units give the reference's bits on rows whose absmax is zero or so small that the
scale m / 127 would be subnormal (FPGA float cores flush subnormals): scale 1, an all-zero row."""
import numpy as np
import pytest

import dsl
from dsl import UInt, float32, int8
from dsl.library import ref
from dsl.library.quant import MIN_ABSMAX
from dsl.library.units import memory
from models import dual_units, units
from models.dual import _as_words

R, D = 6, 64


def store_scales(ss: dsl.Stream[float32, 2], S: float32[R]):
    for r in range(R):
        S[r] = ss.get()


@dsl.region()
def quantise(X: float32[R, D], Sm: float32[D], Q: int8[R, D], S: float32[R]):
    x: dsl.Stream[float32[16], 2]
    q: dsl.Stream[int8[64], 2]
    sc: dsl.Stream[float32, 8]
    memory.load_rows[float32, R, D](X, x)
    units.smooth_quantize_rows[R, D, 0](x, Sm, 1.0, q, sc)
    memory.store_rows[int8, R, D](q, Q)
    store_scales(sc, S)


@dsl.region()
def quantise_n(X: float32[R, D], Sm: UInt(512)[D // 16], Q: int8[R, D], S: float32[R], m: dsl.int32):
    x: dsl.Stream[float32[16], 2]
    q: dsl.Stream[int8[64], 2]
    sc: dsl.Stream[float32, 8]
    memory.load_rows[float32, R, D](X, x)
    dual_units.smooth_quantize_rows_n[R, D, 0](x, Sm, 1.0, q, sc, m)
    memory.store_rows[int8, R, D](q, Q)
    store_scales(sc, S)


def _rows():
    edge = np.float32(MIN_ABSMAX[int8])
    X = np.random.default_rng(3).standard_normal((R, D)).astype(np.float32)
    X[1] = 0.0                                    # all zeros
    X[2] = 0.0
    X[2, :2] = 1e-43, -5e-44                      # a subnormal absmax
    X[3] = 0.0
    X[3, 5] = np.nextafter(edge, np.float32(0))   # normal, but m / 127 would be subnormal
    X[4] = 0.0
    X[4, 7] = -edge                               # the smallest absmax with a normal scale
    return X


@pytest.mark.parametrize("shared", [False, True], ids=["units", "dual_units"])
def test_tiny_rows_quantise_as_the_reference(shared):
    X = _rows()
    Sm = np.ones(D, np.float32)
    Q, S = np.zeros((R, D), np.int8), np.zeros(R, np.float32)
    mod = dsl.build(dsl.customize(quantise_n if shared else quantise), target="sim")
    if shared:  # the shared-array quantiser takes its smoothing factors as 512-bit words of 16 floats
        mod(X, _as_words(Sm, "ints"), Q, S, R)
    else:
        mod(X, Sm, Q, S)
    q, s = ref.quantize_per_token(X)
    assert (s[1:4] == 1.0).all() and not q[1:4].any() and s[4] == np.float32(2.0 ** -126)
    np.testing.assert_array_equal(S, s)
    np.testing.assert_array_equal(Q, q)
