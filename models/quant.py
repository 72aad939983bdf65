"""Quantisation as the paper (W4A8, W8A8) and the quantised reference built from dsl.library's numpy references.

Every linear operator (q, k, v, p, f1, f2) computes, for its input rows x [l, K] (float32):
    x' = x / sm                       SmoothQuant smoothing per input channel (sm = 1 without it: exact)
    per token:  s[i] = max|x'[i]| / 127, xq = round(x' / s[i]) clamped to +-127 (ties to even)
    per tensor: s[i] = s_t (calibrated), the same rounding
    acc = xq Wq^T                      int8 x int4/int8 -> int32, exact
    y   = (float(acc) * s[i]) * sw[j] + b[j]          float32
with Wq = round((W * sm) / sw[j]) per output channel j, sw[j] = max_k |W * sm|[j, k] / QMAX (7 or 127).
Attention is int8 as the paper's (``int8_attention``): Q, K and V rows quantised per token (K and V are cached
as int8 rows with their scales), Q K^T and score x V on int8 operands with int32 accumulators, the softmax in
float32. Softmax, LayerNorm, GeLU and the residual adds stay float32, computed as the library's row kernels
compute them, so the reference below (``ref.*``, ``rows.*``, ``mathf.*``) is bit-exact against the design.

Calibration (per-tensor scales, SmoothQuant's activation maxima) runs the float32 model on calibration tokens
(seeded random tokens unless given) and records each operator's input.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsl.library import mathf, ref, rows

from . import reference as R
from .errors import ModelError
from .weights import BIAS_KEY, LINEARS, WEIGHT_KEY, Weights

F = np.float32
ACT_MODES = ("per-token", "per-tensor")
QUANTS = {"w4a8": 4, "w8a8": 8}
SHARED_INPUT = {"q": "qkv", "k": "qkv", "v": "qkv", "p": "p", "f1": "f1", "f2": "f2"}  # ops that see one input


@dataclass(frozen=True)
class QuantConfig:
    weight_bits: int = 4
    act: str = "per-token"
    smooth: float | None = None  # SmoothQuant alpha (0.5 in its paper); None: no smoothing
    calib_tokens: int = 32
    calib_seed: int = 1234

    @property
    def name(self) -> str:
        return f"w{self.weight_bits}a8"

    @property
    def qmax_w(self) -> int:
        return (1 << (self.weight_bits - 1)) - 1


def parse_quant(text: str, act: str = "per-token", smooth: float | None = None) -> QuantConfig:
    key = str(text).lower()
    if key not in QUANTS:
        raise ModelError(f"quantisation {text!r} is not one the design can do; choose {', '.join(QUANTS)} "
                         "(int4 or int8 weights, int8 activations, float32 softmax/LayerNorm/GeLU)")
    if act not in ACT_MODES:
        raise ModelError(f"activation quantisation {act!r}: choose {', '.join(ACT_MODES)}")
    if smooth is not None and not 0.0 < smooth < 1.0:
        raise ModelError(f"SmoothQuant alpha must be in (0, 1), got {smooth}")
    return QuantConfig(QUANTS[key], act, smooth)


@dataclass
class QLinear:
    """One quantised operator: int weights Wq [N, K] (values in +-QMAX), per-channel scales sw [N], bias b [N],
    smoothing sm [K], and the per-tensor activation scale st (1.0, unused, per token)."""
    Wq: np.ndarray
    sw: np.ndarray
    b: np.ndarray
    sm: np.ndarray
    st: float = 1.0
    packed: dict = field(default_factory=dict, repr=False)  # (Nt) -> weight words, filled by the design


@dataclass
class QuantModel:
    weights: Weights
    qcfg: QuantConfig
    layers: list  # per layer: {op: QLinear}

    @property
    def config(self):
        return self.weights.config


# -- calibration ----------------------------------------------------------------------------------------
def _gpt2_inputs(cfg, lw, h):
    """(inputs of each operator, next h) of one float32 GPT2 layer on a causal prompt."""
    a = R.layer_norm(h, lw["ln1_g"], lw["ln1_b"], cfg.eps)
    q, k, v = (R.linear(a, lw[f"W{o}"], lw[f"b{o}"]) for o in "qkv")
    o = R.attention(q, k, v, cfg.heads, causal_past=0)
    h = h + R.linear(o, lw["Wp"], lw["bp"])
    m = R.layer_norm(h, lw["ln2_g"], lw["ln2_b"], cfg.eps)
    g = R.gelu_tanh(R.linear(m, lw["W1"], lw["b1"]))
    return {"qkv": a, "p": o, "f1": m, "f2": g}, (h + R.linear(g, lw["W2"], lw["b2"])).astype(F)


def _bert_inputs(cfg, lw, h):
    q, k, v = (R.linear(h, lw[f"W{o}"], lw[f"b{o}"]) for o in "qkv")
    o = R.attention(q, k, v, cfg.heads)
    a = R.layer_norm(h + R.linear(o, lw["Wp"], lw["bp"]), lw["ln1_g"], lw["ln1_b"], cfg.eps)
    g = R.gelu_erf(R.linear(a, lw["W1"], lw["b1"]))
    return {"qkv": h, "p": o, "f1": a, "f2": g}, R.layer_norm(a + R.linear(g, lw["W2"], lw["b2"]), lw["ln2_g"],
                                                              lw["ln2_b"], cfg.eps)


def calibrate(w: Weights, ids) -> list:
    """Per layer: {input name: float32 activations} of the float model on ``ids``."""
    cfg = w.config
    h = R.gpt2_embed(w, ids, 0) if cfg.kind == "gpt2" else R.bert_embed(w, ids)
    step = _gpt2_inputs if cfg.kind == "gpt2" else _bert_inputs
    out = []
    for lw in w.layers:
        inputs, h = step(cfg, lw, h)
        out.append(inputs)
    return out


def quantize_model(w: Weights, qcfg: QuantConfig, calib_ids=None) -> QuantModel:
    cfg = w.config
    need_calib = qcfg.act == "per-tensor" or qcfg.smooth is not None
    stats = None
    if need_calib:
        if calib_ids is None:
            n = min(qcfg.calib_tokens, cfg.max_positions)
            calib_ids = np.random.default_rng(qcfg.calib_seed).integers(0, cfg.vocab, n)
        stats = calibrate(w, calib_ids)
    layers = []
    for i, lw in enumerate(w.layers):
        ql = {}
        for op in LINEARS:
            W, b = lw[WEIGHT_KEY[op]], lw[BIAS_KEY[op]]
            x = stats[i][SHARED_INPUT[op]] if stats else None
            ql[op] = _quantize_linear(W, b, x, qcfg, _smooth_group(lw, op) if qcfg.smooth is not None else None)
        layers.append(ql)
    return QuantModel(w, qcfg, layers)


def _smooth_group(lw, op):
    """Weights sharing the operator's input (q, k and v share one smoothing)."""
    ops = ("q", "k", "v") if SHARED_INPUT[op] == "qkv" else (op,)
    return np.concatenate([lw[WEIGHT_KEY[o]] for o in ops])


def _quantize_linear(W, b, x, qcfg: QuantConfig, group) -> QLinear:
    K = W.shape[1]
    sm = np.ones(K, F)
    if group is not None:
        sm = ref.smoothing_scales(np.abs(x).max(axis=0), np.abs(group).max(axis=0), qcfg.smooth)
    Ws = ref.smooth_weight(W, sm)
    m = np.abs(Ws).max(axis=1)
    sw = ref.absmax_scales(m, qcfg.weight_bits)
    Wq = ref.quantize_rows(Ws, sw, qcfg.weight_bits).astype(np.int8)
    st = 1.0
    if qcfg.act == "per-tensor":
        a = float(np.abs(ref.smooth(x, sm)).max())
        st = float(ref.absmax_scales(a, 8))
    return QLinear(Wq, sw, np.asarray(b, F), sm, st)


# -- the quantised reference (what the design computes, to the bit) ------------------------------------
@dataclass
class KVCache:
    """One layer's K/V cache as the design keeps it: int8 rows [LMAX, d] and one float32 scale per row."""
    k: np.ndarray
    ks: np.ndarray
    v: np.ndarray
    vs: np.ndarray

    @classmethod
    def empty(cls, lmax: int, d: int) -> "KVCache":
        return cls(np.zeros((lmax, d), np.int8), np.zeros(lmax, F), np.zeros((lmax, d), np.int8), np.zeros(lmax, F))

    def equals(self, other: "KVCache") -> bool:
        return all(np.array_equal(a, b) for a, b in zip(self.arrays(), other.arrays()))

    def arrays(self) -> tuple:
        return self.k, self.ks, self.v, self.vs

def int_linear(xq, Wq):
    """``ref.systolic_linear`` (int8 x int4/int8 -> int32, X W^T) through float64 BLAS: every product and
    partial sum is an integer below 2^53 in magnitude (|acc| <= 127 * 127 * K), so the result is exact; the
    library's int64 matmul gives the same numbers (tested) at a fraction of the speed."""
    K = np.shape(xq)[1]
    if 127 * 127 * K >= 1 << 53:
        return ref.systolic_linear(xq, Wq)
    acc = (np.asarray(xq, np.float64) @ np.asarray(Wq, np.float64).T).astype(np.int64)
    return ref.wrap(acc, 32)


def qlinear(ql: QLinear, x, act: str):
    xs = ref.smooth(x, ql.sm)
    if act == "per-token":
        xq, s = ref.quantize_per_token(xs, 8)
    else:
        xq, s = ref.quantize(xs, F(ql.st), 8), np.full(len(xs), F(ql.st))
    acc = int_linear(xq, ql.Wq)
    return (ref.dequantize_rows(acc, s, ql.sw) + ql.b).astype(F)


def int8_attention(q, k8, ks, v8, vs, H: int, past: int):
    """Multi-head attention of the float32 query rows ``q`` [LQ, d] over n cached keys: int8 rows k8, v8
    [n, d] with per-row scales ks, vs [n]; query i sees keys j <= past + i. Per head h:
        q8, sq = per-token int8 of q (one scale per query row, all heads: SmoothQuant's per-token scheme,
                 the design's choice too; see models/README.md for what per-head scales would change)
        acc    = q8_h k8_h^T                                  int32, exact
        x      = (float(acc) * sq[i]) * ks[j]                 float32
        p      = softmax(x / sqrt(dh)) over the kept keys     float32 (``rows.softmax_rows_ref``)
        p8, sp = per-token int8 of p * vs[j]                  (V's row scales folded in: score x V factors)
        o_h    = float(p8 v8_h) * sp[i]                       int32 accumulators, float32 result
    """
    q8, sq = ref.quantize_per_token(q, 8)
    LQ, d = np.shape(q)
    dh, n = d // H, len(k8)
    kept = np.minimum(past + np.arange(LQ) + 1, n)
    out = np.empty((LQ, d), F)
    for h in range(H):
        cols = slice(h * dh, (h + 1) * dh)
        x = (int_linear(q8[:, cols], k8[:, cols]).astype(F) * sq[:, None]) * np.asarray(ks, F)[None, :]
        p = rows.softmax_rows_ref(x, kept, F(1.0 / np.sqrt(dh)))
        p8, sp = ref.quantize_per_token((p * np.asarray(vs, F)[None, :]).astype(F), 8)
        out[:, cols] = int_linear(p8, np.asarray(v8)[:, cols].T).astype(F) * sp[:, None]
    return out


def ln(x, g, b, eps):
    return rows.layer_norm_rows_ref(x, g, b, F(eps))


def q_gpt2_layer(qm: QuantModel, i: int, h, cache, pos: int):
    """One layer of ``len(h)`` rows at positions pos.. (prefill: pos = 0; decode: one row). ``cache`` is a
    ``KVCache``: the K and V rows (int8) and their scales are written at pos, attention sees its first
    pos + len(h) rows."""
    cfg, lw, ql, act = qm.config, qm.weights.layers[i], qm.layers[i], qm.qcfg.act
    a = ln(h, lw["ln1_g"], lw["ln1_b"], cfg.eps)
    q, k, v = (qlinear(ql[o], a, act) for o in "qkv")
    n = pos + len(h)
    for rows8, scales, x in ((cache.k, cache.ks, k), (cache.v, cache.vs, v)):
        rows8[pos:n], scales[pos:n] = ref.quantize_per_token(x, 8)
    o = int8_attention(q, cache.k[:n], cache.ks[:n], cache.v[:n], cache.vs[:n], cfg.heads, pos)
    h = ref.residual_add(qlinear(ql["p"], o, act), h)
    m = ln(h, lw["ln2_g"], lw["ln2_b"], cfg.eps)
    g = mathf.gelu_tanh_ref(qlinear(ql["f1"], m, act))
    return ref.residual_add(qlinear(ql["f2"], g, act), h)


def q_bert_layer(qm: QuantModel, i: int, h):
    cfg, lw, ql, act = qm.config, qm.weights.layers[i], qm.layers[i], qm.qcfg.act
    q, k, v = (qlinear(ql[o], h, act) for o in "qkv")
    (k8, ks), (v8, vs) = ref.quantize_per_token(k, 8), ref.quantize_per_token(v, 8)
    o = int8_attention(q, k8, ks, v8, vs, cfg.heads, len(h))
    a = ln(ref.residual_add(qlinear(ql["p"], o, act), h), lw["ln1_g"], lw["ln1_b"], cfg.eps)
    g = mathf.gelu_erf_ref(qlinear(ql["f1"], a, act))
    return ln(ref.residual_add(qlinear(ql["f2"], g, act), a), lw["ln2_g"], lw["ln2_b"], cfg.eps)
