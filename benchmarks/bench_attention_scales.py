"""The int8 attention's Q/K/V scales: one per row across all heads (the design's and ``quant.int8_attention``'s
choice) against one per row and head, each against the float32 attention, on random Q/K/V whose heads differ
in magnitude by a factor up to ``spread``.

    python benchmarks/bench_attention_scales.py
"""
import numpy as np
from dsl.library import ref, rows
from models.quant import int8_attention, int_linear
F = np.float32

def per_head_attention(q, k, v, H):
    """``int8_attention``'s arithmetic with Q, K and V quantised per row of each head (causal)."""
    L, d = q.shape; dh = d // H; out = np.empty((L, d), F)
    kept = np.arange(L) + 1
    for h in range(H):
        c = slice(h * dh, (h + 1) * dh)
        q8, sq = ref.quantize_per_token(q[:, c], 8); k8, ks = ref.quantize_per_token(k[:, c], 8)
        v8, vs = ref.quantize_per_token(v[:, c], 8)
        x = (int_linear(q8, k8).astype(F) * sq[:, None]) * ks[None, :]
        p = rows.softmax_rows_ref(x, kept, F(1 / np.sqrt(dh)))
        p8, sp = ref.quantize_per_token((p * vs[None, :]).astype(F), 8)
        out[:, c] = int_linear(p8, v8.T).astype(F) * sp[:, None]
    return out

def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))

rng = np.random.default_rng(0)
L, d, H = 32, 768, 12
for spread in (1.0, 4.0, 16.0):
    errs = []
    for trial in range(5):
        gain = np.repeat(spread ** rng.uniform(-1, 1, H), d // H).astype(F)  # per-head magnitudes differ
        q, k, v = (rng.standard_normal((L, d)).astype(F) * gain for _ in range(3))
        exact = ref.scaled_dot_product_attention(q, k, v, H, 0)
        k8, ks = ref.quantize_per_token(k, 8); v8, vs = ref.quantize_per_token(v, 8)
        row = int8_attention(q, k8, ks, v8, vs, H, 0)
        errs.append((rel(row, exact), rel(per_head_attention(q, k, v, H), exact)))
    e = np.mean(errs, 0)
    print(f"head magnitudes within x{spread:g}^(+-1): relative error per-row {e[0]:.4f}, per-head {e[1]:.4f}")
