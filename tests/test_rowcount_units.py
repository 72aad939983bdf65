"""The units over a run-time number of rows (``dsl.library.units.rowcount``, ``models.dual_units``) compute
what the fixed-R units compute: a chain of them at m = 1, 8 and 16 rows (of at most 16) against the same
chain of fixed-R units at R = m, bit for bit, on the simulator (and one in csim)."""
import numpy as np
import pytest

import dsl
from dsl import UInt, float32, int4, int8, int32
from dsl.library.units import gemm, memory, rowcount, rowwise, schedule_units
from dsl.library.units.tokens import chunk
from models import dual_units, units
from models.dual_units import smooth_quantize_rows_n  # noqa: F401

RNG = np.random.default_rng(7)
D, N, R = 64, 128, 16
NW = N // 16 * (D // 8)
EPS = 1e-5


def _chain_n():
    """load -> fork -> LayerNorm -> GeLU -> + bypass -> quantise -> shared array -> dequantise -> store."""
    @dsl.region()
    def chain_n(X: float32[R, D], g: float32[D], b: float32[D], S: UInt(512)[D // 16], W: UInt(512)[NW],
                Dq: float32[2, N], Y: float32[R, N], m: int32):
        x: dsl.Stream[float32[16], 2]
        x1: dsl.Stream[float32[16], 2]
        x2: dsl.Stream[float32[16], 32]
        n1: dsl.Stream[float32[16], 2]
        g1: dsl.Stream[float32[16], 2]
        h: dsl.Stream[float32[16], 2]
        x8: dsl.Stream[int8[64], 2]
        sc: dsl.Stream[float32, 40]
        ws: dsl.Stream[int4[8, 16], 2]
        acc: dsl.Stream[int32[16], 2]
        y: dsl.Stream[float32[16], 2]
        rowcount.load_rows_n[float32, R, D](X, x, m)
        rowcount.fork_rows_n[float32, R, D](x, x1, x2, m)
        rowcount.layer_norm_rows_n[float32, R, D](x1, g, b, n1, EPS, m)
        rowcount.gelu_tanh_rows_n[float32, R, D](n1, g1, m)
        rowcount.residual_add_n[float32, R, D](g1, x2, h, m)
        dual_units.smooth_quantize_rows_n[R, D, 0](h, S, 1.0, x8, sc, m)
        rowcount.load_weights_n[int4, N, D, 16, 8](W, ws, m)
        gemm.aw_gemm_shared[int8, int4, int32, R, D, N, 8, 16, 1](x8, ws, acc, m)
        dual_units.dequantize_bias_rows_n[R, N](acc, sc, Dq, y, m)
        rowcount.store_rows_n[float32, R, N](y, Y, m)

    return chain_n


def _chain(rows):
    mt = 1 if rows == 1 else 8

    @dsl.region()
    def chain(X: float32[rows, D], g: float32[D], b: float32[D], S: float32[D], W: UInt(512)[NW],
              Dq: float32[2, N], Y: float32[rows, N]):
        x: dsl.Stream[float32[16], 2]
        x1: dsl.Stream[float32[16], 2]
        x2: dsl.Stream[float32[16], 32]
        n1: dsl.Stream[float32[16], 2]
        g1: dsl.Stream[float32[16], 2]
        h: dsl.Stream[float32[16], 2]
        x8: dsl.Stream[int8[64], 2]
        sc: dsl.Stream[float32, 40]
        ws: dsl.Stream[int4[8, 16], 2]
        acc: dsl.Stream[int32[16], 2]
        y: dsl.Stream[float32[16], 2]
        memory.load_rows[float32, rows, D](X, x)
        rowwise.fork_rows[float32, rows, D](x, x1, x2)
        rowwise.layer_norm_rows[float32, rows, D](x1, g, b, n1, EPS)
        rowwise.gelu_tanh_rows[float32, rows, D](n1, g1)
        rowwise.residual_add[float32, rows, D](g1, x2, h)
        units.smooth_quantize_rows[rows, D, 0](h, S, 1.0, x8, sc)
        memory.load_weights[int4, N, D, 16, rows // mt](W, ws)
        gemm.aw_gemm[int8, int4, int32, rows, D, N, mt, 16, 1](x8, ws, acc)
        units.dequantize_bias_rows[rows, N](acc, sc, Dq, y)
        memory.store_rows[float32, rows, N](y, Y)

    return chain


def _inputs(rows):
    X = RNG.standard_normal((R, D)).astype(np.float32)
    g, b = (RNG.standard_normal(D).astype(np.float32) for _ in range(2))
    S = (0.5 + RNG.random(D)).astype(np.float32)
    W = RNG.integers(-8, 8, (N, D))
    Dq = np.stack([RNG.random(N) * 0.01, RNG.standard_normal(N)]).astype(np.float32)
    return X, g, b, S, memory.pack_weight_tiles(W, 4, 16), Dq


def _build(design, target):
    s = dsl.customize(design)
    if target == "csim":
        schedule_units(s)
        units.schedule_model_units(s)
    return dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")


@pytest.mark.parametrize("rows,target", [(1, "sim"), (8, "sim"), (16, "sim"), (1, "csim"), (16, "csim")])
def test_run_time_row_units_match_the_fixed_row_units(rows, target):
    X, g, b, S, W, Dq = _inputs(rows)
    Y = np.full((R, N), 7.0, np.float32)  # rows beyond m are not written
    from models.dual import _as_words

    # the shared-array quantiser takes its smoothing factors as 512-bit words of 16 floats
    _build(_chain_n(), target)(X, g, b, _as_words(S, "ints"), W, Dq, Y, np.int32(rows))
    want = np.zeros((rows, N), np.float32)
    _build(_chain(rows), "sim")(X[:rows].copy(), g, b, S, W, Dq, want)
    np.testing.assert_array_equal(Y[:rows], want)
    assert (Y[rows:] == 7.0).all()
