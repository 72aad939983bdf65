"""numpy references of the library's kernels, under the kernels' names: ``ref.softmax(X)`` is what
``nn.softmax[float32, L, D]`` returns, to the bit.

Float references perform the kernels' float32 operations in the kernels' order (``rows`` for the lane
reductions, ``mathf`` for exp/log/erf); integer references compute exactly in int64 and wrap to the output
type. A model built from these functions is the bit-exact reference of a design built from the kernels.
"""
from __future__ import annotations

import math

import numpy as np

from . import mathf, rows
from .gemv import gemv_packed_ref as gemv_packed  # noqa: F401
from .packing import mul2_ref as packed_mul2  # noqa: F401
from .quant import fixed_point_multiplier, smoothing_scales, wrap  # noqa: F401
from .quant import dequantize_ref as dequantize, dequantize_rows_ref as dequantize_rows  # noqa: F401
from .quant import quantize_ref as quantize, quantize_rows_ref as quantize_rows  # noqa: F401
from .quant import absmax_scales_ref as absmax_scales, quantize_per_token_ref as quantize_per_token  # noqa: F401
from .quant import requantize_ref as requantize  # noqa: F401
from .quant import requantize_rows_ref as requantize_rows, smooth_ref as smooth  # noqa: F401
from .quant import smooth_weight_ref as smooth_weight  # noqa: F401
from .systolic import gemm_ref as gemm, gemm_wide_ref as gemm_wide, linear_ref as systolic_linear  # noqa: F401

F = np.float32


def _f32(*arrays):
    return [np.asarray(a, dtype=F) for a in arrays]


# -- row-wise -------------------------------------------------------------------------------------------
def softmax(X):
    return rows.softmax_rows_ref(X)


def masked_softmax(X, scale, past):
    X = np.asarray(X, dtype=F)
    L, D = X.shape
    return rows.softmax_rows_ref(X, np.minimum(past + np.arange(L) + 1, D), scale)


def log_softmax(X):
    return rows.log_softmax_rows_ref(X)


def layer_norm_eps(X, gamma, beta, eps):
    return rows.layer_norm_rows_ref(X, gamma, beta, eps)


def layer_norm(X, gamma, beta):
    from .nn import LAYER_NORM_EPS

    return rows.layer_norm_rows_ref(X, gamma, beta, LAYER_NORM_EPS)


def rms_norm_eps(X, gamma, eps):
    return rows.rms_norm_rows_ref(X, gamma, eps)


def rms_norm(X, gamma):
    from .nn import RMS_NORM_EPS

    return rows.rms_norm_rows_ref(X, gamma, RMS_NORM_EPS)


gelu = mathf.gelu_erf_ref
gelu_tanh = mathf.gelu_tanh_ref
silu = mathf.silu_ref


def relu(X):
    X = np.asarray(X)
    return np.maximum(X, X.dtype.type(0))


def residual_add(X1, X2):
    X1, X2 = np.asarray(X1), np.asarray(X2)
    if X1.dtype.kind == "f":
        return (X1.astype(F) + X2.astype(F)).astype(F)
    return wrap(X1.astype(np.int64) + X2.astype(np.int64), X1.dtype.itemsize * 8)


# -- matrix products ------------------------------------------------------------------------------------
def _float_products(A, Bt):
    """acc[i, j] = sum_k A[i, k] * Bt[j, k] in k order, each product and sum rounded to float32."""
    A, Bt = _f32(A, Bt)
    acc = np.zeros((A.shape[0], Bt.shape[0]), dtype=F)
    for k in range(A.shape[1]):
        acc = acc + A[:, k, None] * Bt[None, :, k]
    return acc


def _int_products(A, Bt, bits):
    """Exact integer products: through float64 BLAS when every partial sum stays below 2^53 (exact there),
    else in int64 (numpy's integer matmul is exact but slow)."""
    A, Bt = np.asarray(A, dtype=np.int64), np.asarray(Bt, dtype=np.int64)
    bound = int(np.abs(A).max(initial=0)) * int(np.abs(Bt).max(initial=0)) * A.shape[1]
    if bound < 2 ** 53:
        return wrap(np.rint(A.astype(np.float64) @ Bt.T.astype(np.float64)).astype(np.int64), bits)
    return wrap(A @ Bt.T, bits)


def _products(A, Bt, out_bits):
    if np.asarray(A).dtype.kind == "f":
        return _float_products(A, Bt)
    return _int_products(A, Bt, out_bits)


def linear2d(X, W, b, out_bits=32):
    acc = _products(X, W, out_bits)
    if acc.dtype == F:
        return acc + np.asarray(b, dtype=F)
    return wrap(acc.astype(np.int64) + np.asarray(b, dtype=np.int64), out_bits)


def linear3d(X, W, b, out_bits=32):
    return np.stack([linear2d(x, W, b, out_bits) for x in X])


def matmul(A, B, out_bits=32):
    return _products(A, np.asarray(B).T, out_bits)


def bmm(A, B, out_bits=32):
    return np.stack([matmul(a, b, out_bits) for a, b in zip(A, B)])


# -- attention ------------------------------------------------------------------------------------------
def scaled_dot_product_attention(Q, K, V, H, past):
    Q, K, V = _f32(Q, K, V)
    LQ, D = Q.shape
    LK = K.shape[0]
    dh = D // H
    n = np.minimum(past + np.arange(LQ) + 1, LK)
    Z = np.empty((LQ, D), dtype=F)
    for h in range(H):
        cols = slice(h * dh, (h + 1) * dh)
        S = _float_products(Q[:, cols], K[:, cols])
        P = rows.softmax_rows_ref(S, n, F(1.0 / math.sqrt(dh)))
        Z[:, cols] = _float_products(P, V[:, cols].T)
    return Z



def qk_scores(Q, K, H, Mq, out_bits=32):
    """What ``units.gemm.qk_gemm`` sends for one sequence: S_h = Q_h K_h^T, rows in the unit's order (for
    each tile of Mq query rows, for each head h, the tile's rows of S_h): [LQ * H, LK]. Integers exact and
    wrapped to ``out_bits``, float32 in k order."""
    LQ, D = np.shape(Q)
    dh = D // H
    S = [matmul(Q[:, h * dh:(h + 1) * dh], np.asarray(K)[:, h * dh:(h + 1) * dh].T, out_bits) for h in range(H)]
    return np.concatenate([S[h][m:m + Mq] for m in range(0, LQ, Mq) for h in range(H)])


def pv_output(P, V, H, Mq, out_bits=32):
    """What ``units.gemm.pv_gemm`` sends for one sequence: O[:, h] = P_h V_h, with the rows of P in
    ``qk_scores``' order; [LQ, D]."""
    P, V = np.asarray(P), np.asarray(V)
    LQ, D = P.shape[0] // H, V.shape[1]
    dh = D // H
    tiles = P.reshape(LQ // Mq, H, Mq, P.shape[1])
    heads = [matmul(tiles[:, h].reshape(LQ, P.shape[1]), V[:, h * dh:(h + 1) * dh], out_bits) for h in range(H)]
    return np.concatenate(heads, axis=1)

def rope(X, cos, sin, H):
    X, cos, sin = _f32(X, cos, sin)
    L, D = X.shape
    dh, half = D // H, D // H // 2
    Z = np.empty_like(X)
    for h in range(H):
        x1, x2 = X[:, h * dh:h * dh + half], X[:, h * dh + half:(h + 1) * dh]
        Z[:, h * dh:h * dh + half] = x1 * cos - x2 * sin
        Z[:, h * dh + half:(h + 1) * dh] = x2 * cos + x1 * sin
    return Z


def rope_tables(positions, head_dim, base=10000.0):
    """cos and sin [len(positions), head_dim/2] of the rotate-half RoPE (computed in float64)."""
    inv = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    angles = np.asarray(positions, dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(angles).astype(F), np.sin(angles).astype(F)


def embedding(ids, tok, pos, start):
    tok, pos = _f32(tok, pos)
    ids = np.asarray(ids)
    return tok[ids] + pos[start + np.arange(len(ids))]


def kv_append(cache, new, pos):
    out = np.array(cache, copy=True)
    out[pos:pos + len(new)] = new
    return out


def kv_read(cache, pos, n):
    return np.array(cache[pos:pos + n], copy=True)
