"""One row per library kernel: its kernel, schedule, reference, sizes and test inputs.

The table drives the tests (CPU at BERT-base sizes, csim at small ones), the benchmark, the YAML schedules
under ``schedules/library/``, the README's kernel table and ``python -m dsl.library``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dsl import float32, int4, int8, int32

from . import gemv, intops, nn, quant, ref, systolic

L, D, DFF, H = 512, 768, 3072, 12   # BERT-base
F = np.float32


@dataclass(frozen=True)
class Entry:
    name: str
    kernel: Callable
    schedule: Callable
    bert_base: tuple                  # instantiation at BERT-base sizes
    small: tuple                      # instantiation for csim
    inputs: Callable                  # (instantiation, rng) -> arguments
    reference: Callable               # (instantiation, *arguments) -> expected result(s)
    numpy: Callable | None = None     # (instantiation, *arguments) -> plain numpy (float64 where it matters)
    tags: tuple = field(default=())   # "float": compare with float64 (numpy) within a tolerance
    written: int | None = None        # a kernel that writes its result into this argument (in place)


def _f(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(F)


def _ints(rng, lo, hi, *shape, dtype=np.int8):
    return rng.integers(lo, hi, shape).astype(dtype)


def _rows(inst):
    return inst[-2], inst[-1]


# -- float64 numpy versions (accuracy, and the benchmark's "numpy" column) ----------------------------------
def _np_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_layer_norm(x, g, b, eps):
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps) * g + b


def _np_attention(Q, K, V, H, past):
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    LQ, D = Q.shape
    dh = D // H
    mask = np.arange(K.shape[0])[None, :] > (past + np.arange(LQ))[:, None]
    out = np.empty_like(Q)
    for h in range(H):
        c = slice(h * dh, (h + 1) * dh)
        s = np.where(mask, -np.inf, Q[:, c] @ K[:, c].T / math.sqrt(dh))
        out[:, c] = _np_softmax(s) @ V[:, c]
    return out


KERNELS = [
    Entry("softmax", nn.softmax, nn.schedule_softmax, (float32, H * L, L), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3),), lambda i, X: ref.softmax(X),
          lambda i, X: _np_softmax(X), ("float",)),
    Entry("masked_softmax", nn.masked_softmax, nn.schedule_masked_softmax, (float32, L, L), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3), F(0.125), 0),
          lambda i, X, s, p: ref.masked_softmax(X, s, p), None, ("float",)),
    Entry("log_softmax", nn.log_softmax, nn.schedule_log_softmax, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3),), lambda i, X: ref.log_softmax(X),
          lambda i, X: np.log(_np_softmax(X)), ("float",)),
    Entry("layer_norm", nn.layer_norm, nn.schedule_layer_norm, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=2), _f(r, i[-1]), _f(r, i[-1])),
          lambda i, X, g, b: ref.layer_norm(X, g, b),
          lambda i, X, g, b: _np_layer_norm(X, g, b, nn.LAYER_NORM_EPS), ("float",)),
    Entry("layer_norm_eps", nn.layer_norm_eps, nn.schedule_layer_norm_eps, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=2), _f(r, i[-1]), _f(r, i[-1]), F(1e-12)),
          lambda i, X, g, b, e: ref.layer_norm_eps(X, g, b, e), None, ("float",)),
    Entry("rms_norm", nn.rms_norm, nn.schedule_rms_norm, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=2), _f(r, i[-1])), lambda i, X, g: ref.rms_norm(X, g),
          None, ("float",)),
    Entry("gelu", nn.gelu, nn.schedule_gelu, (float32, L, DFF), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3),), lambda i, X: ref.gelu(X), None, ("float",)),
    Entry("gelu_tanh", nn.gelu_tanh, nn.schedule_gelu_tanh, (float32, L, DFF), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3),), lambda i, X: ref.gelu_tanh(X), None, ("float",)),
    Entry("silu", nn.silu, nn.schedule_silu, (float32, L, DFF), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=3),), lambda i, X: ref.silu(X), None, ("float",)),
    Entry("relu", nn.relu, nn.schedule_relu, (float32, L, DFF), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i)),), lambda i, X: ref.relu(X), lambda i, X: np.maximum(X, 0)),
    Entry("residual_add", nn.residual_add, nn.schedule_residual_add, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i)), _f(r, *_rows(i))), lambda i, a, b: ref.residual_add(a, b),
          lambda i, a, b: a + b),
    Entry("linear2d", nn.linear2d, nn.schedule_linear2d, (float32, float32, float32, L, D, D),
          (float32, float32, float32, 6, 10, 12),
          lambda i, r: (_f(r, i[3], i[5]), _f(r, i[4], i[5], scale=0.05), _f(r, i[4])),
          lambda i, X, W, b: ref.linear2d(X, W, b), lambda i, X, W, b: X @ W.T + b, ("float",)),
    Entry("linear3d", nn.linear3d, nn.schedule_linear3d, (float32, float32, float32, 1, L, D, D),
          (float32, float32, float32, 2, 6, 10, 12),
          lambda i, r: (_f(r, i[3], i[4], i[6]), _f(r, i[5], i[6], scale=0.05), _f(r, i[5])),
          lambda i, X, W, b: ref.linear3d(X, W, b), None, ("float",)),
    Entry("matmul", nn.matmul, nn.schedule_matmul, (float32, float32, float32, L, 64, L),
          (float32, float32, float32, 6, 12, 10),
          lambda i, r: (_f(r, i[3], i[4]), _f(r, i[4], i[5])), lambda i, A, B: ref.matmul(A, B),
          lambda i, A, B: A @ B, ("float",)),
    Entry("bmm", nn.bmm, nn.schedule_bmm, (float32, float32, float32, H, L, 64, L),
          (float32, float32, float32, 2, 6, 12, 10),
          lambda i, r: (_f(r, i[3], i[4], i[5]), _f(r, i[3], i[5], i[6])), lambda i, A, B: ref.bmm(A, B),
          lambda i, A, B: A @ B, ("float",)),
    Entry("scaled_dot_product_attention", nn.scaled_dot_product_attention,
          nn.schedule_scaled_dot_product_attention, (float32, H, L, L, D), (float32, 2, 6, 8, 16),
          lambda i, r: (_f(r, i[2], i[4]), _f(r, i[3], i[4]), _f(r, i[3], i[4]), 0),
          lambda i, Q, K, V, p: ref.scaled_dot_product_attention(Q, K, V, i[1], p),
          lambda i, Q, K, V, p: _np_attention(Q, K, V, i[1], p), ("float",)),
    Entry("rope", nn.rope, nn.schedule_rope, (float32, H, L, D), (float32, 2, 6, 16),
          lambda i, r: (_f(r, i[2], i[3]), *ref.rope_tables(np.arange(i[2]), i[3] // i[1])),
          lambda i, X, c, s: ref.rope(X, c, s, i[1]), None, ("float",)),
    Entry("embedding", nn.embedding, nn.schedule_embedding, (float32, 30522, L, L, D), (float32, 50, 16, 6, 16),
          lambda i, r: (_ints(r, 0, i[1], i[3], dtype=np.int32), _f(r, i[1], i[4]), _f(r, i[2], i[4]), 0),
          lambda i, ids, t, p, s: ref.embedding(ids, t, p, s), lambda i, ids, t, p, s: t[ids] + p[s:s + len(ids)]),
    Entry("kv_append", nn.kv_append, nn.schedule_kv_append, (float32, 1024, D, L), (float32, 12, 16, 3),
          lambda i, r: (_f(r, i[1], i[2]), _f(r, i[3], i[2]), 5), lambda i, c, n, p: ref.kv_append(c, n, p),
          written=0),
    Entry("kv_read", nn.kv_read, nn.schedule_kv_read, (float32, 1024, D, L), (float32, 12, 16, 3),
          lambda i, r: (_f(r, i[1], i[2]), 2), lambda i, c, p: ref.kv_read(c, p, i[3]),
          lambda i, c, p: c[p:p + i[3]].copy()),
    Entry("quantize", quant.quantize, quant.schedule_quant, (float32, int8, L, D), (float32, int4, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=4), F(0.05)), lambda i, X, s: ref.quantize(X, s, i[1].bits)),
    Entry("quantize_rows", quant.quantize_rows, quant.schedule_quant, (float32, int8, L, D), (float32, int8, 6, 20),
          lambda i, r: (_f(r, *_rows(i), scale=4), np.abs(_f(r, i[2])) * F(0.05) + F(0.01)),
          lambda i, X, s: ref.quantize_rows(X, s, i[1].bits)),
    Entry("quantize_per_token", quant.quantize_per_token, quant.schedule_quant, (float32, int8, L, D),
          (float32, int8, 6, 20), lambda i, r: (_f(r, *_rows(i), scale=4),),
          lambda i, X: ref.quantize_per_token(X, i[1].bits)),
    Entry("dequantize", quant.dequantize, quant.schedule_quant, (int8, float32, L, D), (int8, float32, 6, 20),
          lambda i, r: (_ints(r, -127, 128, *_rows(i)), F(0.05)), lambda i, Q, s: ref.dequantize(Q, s)),
    Entry("dequantize_rows", quant.dequantize_rows, quant.schedule_quant, (int32, float32, L, D),
          (int32, float32, 6, 20),
          lambda i, r: (_ints(r, -2**20, 2**20, *_rows(i), dtype=np.int32), np.abs(_f(r, i[2])) * F(0.01),
                        np.abs(_f(r, i[3])) * F(0.01)),
          lambda i, Q, a, b: ref.dequantize_rows(Q, a, b)),
    Entry("requantize", quant.requantize, quant.schedule_quant, (int8, L, D), (int8, 6, 20),
          lambda i, r: (_ints(r, -2**24, 2**24, *_rows(i), dtype=np.int32), *quant.fixed_point_multiplier(3.1e-6)),
          lambda i, a, m, s: ref.requantize(a, m, s, i[0].bits)),
    Entry("requantize_rows", quant.requantize_rows, quant.schedule_quant, (int8, L, D), (int8, 6, 20),
          lambda i, r: (_ints(r, -2**24, 2**24, *_rows(i), dtype=np.int32),
                        *(np.array(v, dtype=np.int32) for v in zip(*[quant.fixed_point_multiplier(float(x))
                          for x in np.abs(_f(r, i[2])) * F(1e-5) + F(1e-7)]))),
          lambda i, a, m, s: ref.requantize_rows(a, m, s, i[0].bits)),
    Entry("smooth", quant.smooth, quant.schedule_quant, (float32, L, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i)), np.abs(_f(r, i[2])) + F(0.1)), lambda i, X, s: ref.smooth(X, s)),
    Entry("smooth_weight", quant.smooth_weight, quant.schedule_quant, (float32, D, D), (float32, 6, 20),
          lambda i, r: (_f(r, *_rows(i)), np.abs(_f(r, i[2])) + F(0.1)), lambda i, W, s: ref.smooth_weight(W, s)),
    Entry("gemm", systolic.gemm, systolic.schedule_gemm, (int8, int8, int32, L, D, DFF, 8, 16),
          (int8, int4, int32, 16, 24, 32, 4, 8),
          lambda i, r: (_ints(r, -128, 128, i[3], i[4]), _ints(r, *_range(i[1]), i[4], i[5])),
          lambda i, A, B: ref.gemm(A, B), lambda i, A, B: A.astype(np.int64) @ B.astype(np.int64)),
    Entry("packed_gemm", systolic.packed_gemm, systolic.schedule_packed_gemm, (int8, int4, int32, L, D, DFF, 8, 16),
          (int8, int4, int32, 16, 24, 32, 4, 8),
          lambda i, r: (_ints(r, -128, 128, i[3], i[4]), _ints(r, *_range(i[1]), i[4], i[5])),
          lambda i, A, B: ref.gemm(A, B), lambda i, A, B: A.astype(np.int64) @ B.astype(np.int64)),
    Entry("gemm_wide", systolic.gemm_wide, systolic.schedule_gemm_wide, (int8, int8, int32, L, D, DFF, 16, 16),
          (int8, int4, int32, 16, 40, 32, 4, 8), lambda i, r: _wide_inputs(i, r),
          lambda i, Ap, Bp: ref.gemm_wide(Ap, Bp, i[0].bits, i[1].bits, i[6], i[7])),
    Entry("packed_gemm_wide", systolic.packed_gemm_wide, systolic.schedule_packed_gemm_wide,
          (int8, int4, int32, L, D, DFF, 8, 32), (int8, int4, int32, 16, 40, 32, 4, 8), lambda i, r: _wide_inputs(i, r),
          lambda i, Ap, Bp: ref.gemm_wide(Ap, Bp, i[0].bits, i[1].bits, i[6], i[7])),
    Entry("systolic_linear", systolic.linear, systolic.schedule_linear, (int8, int8, int32, L, D, D, 8, 16),
          (int8, int8, int32, 16, 24, 32, 4, 8),
          lambda i, r: (_ints(r, -128, 128, i[3], i[4]), _ints(r, *_range(i[1]), i[5], i[4])),
          lambda i, X, W: ref.systolic_linear(X, W)),
    Entry("packed_linear", systolic.packed_linear, systolic.schedule_packed_linear,
          (int8, int4, int32, L, D, D, 8, 16), (int8, int8, int32, 16, 24, 32, 4, 8),
          lambda i, r: (_ints(r, -128, 128, i[3], i[4]), _ints(r, *_range(i[1]), i[5], i[4])),
          lambda i, X, W: ref.systolic_linear(X, W)),
    Entry("gemv", gemv.gemv, gemv.schedule_gemv, (int8, int4, int32, DFF, D, 128), (int8, int4, int32, 10, 64, 16),
          lambda i, r: _gemv_inputs(i, r), lambda i, x, W: ref.gemv_packed(x, _unpack(i, W))),
    # integer-only (I-BERT) kernels: inputs of scale S as integers, their constants from S (intops.*_params)
    Entry("int_gelu", intops.int_gelu, intops.schedule_int, (L, DFF), (6, 20),
          lambda i, r: (_ints(r, -400, 400, *i, dtype=np.int32), *intops.gelu_params(0.02)[:3]),
          lambda i, X, qb, qc, q1: intops.int_gelu_ref(X, qb, qc, q1)),
    Entry("int_softmax", intops.int_softmax, intops.schedule_int, (H * L, L), (6, 20),
          lambda i, r: (_ints(r, -300, 300, *i, dtype=np.int32), *intops.softmax_params(0.05, i[1])),
          lambda i, X, q_ln2, qb, qc: intops.int_softmax_ref(X, q_ln2, qb, qc)),
    Entry("int_layer_norm", intops.int_layer_norm, intops.schedule_int, (L, D), (6, 20),
          lambda i, r: (_ints(r, -3000, 3000, *i, dtype=np.int16),), lambda i, X: intops.int_layer_norm_ref(X)),
]


def _range(t):
    return -(1 << (t.bits - 1)), 1 << (t.bits - 1)


def _wide_inputs(inst, rng):
    """A in column-major tiles and B by rows, packed into words (``systolic.gemm_wide``'s layout)."""
    ta, tb, _, m, k, n, mt, nt = inst
    A, B = _ints(rng, *_range(ta), m, k), _ints(rng, *_range(tb), k, n)
    return systolic.pack_a_tiles(A, ta.bits, mt), systolic.pack_b_rows(B, tb.bits, nt)


def _gemv_inputs(inst, rng):
    _, tw, _, n, k, p = inst
    x = _ints(rng, -128, 128, k)
    w = _ints(rng, *_range(tw), n, k)
    return x, gemv.pack_words(w, tw.bits, p)


def _unpack(inst, words):
    _, tw, _, n, k, p = inst
    return gemv.unpack_words(words, tw.bits, p)


BY_NAME = {e.name: e for e in KERNELS}


def schedule_of(kernel):
    for e in KERNELS:
        if e.kernel is kernel:
            return e.schedule
    raise KeyError(f"{getattr(kernel, '__name__', kernel)!r} is not a library kernel")
