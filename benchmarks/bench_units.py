"""The streaming units of dsl.library.units at BERT-base sizes: simulator and csim time, checked against the
numpy references of the memory-to-memory kernels (bit-exact).

    .venv/bin/python benchmarks/bench_units.py [--only gemm,gemm_w4,attention,attention_int8,rows,ffn,int_rows]
                                               [--no-csim]
                                               [--csim-rows 64] [--csim-full]

BERT-base: L = 512 tokens, D = 768, D_FFN = 3072, 12 heads. The GEMM is FFN1 (512 x 768 x 3072) on an 8 x 16
output-stationary PE array, int8 x int8 (and int8 x int4 with two PEs per DSP); attention is causal
softmax(QK^T / 8) V over 12 heads (8 x 8 PE arrays); the row block is LayerNorm(GeLU(X) + X); the FFN block
is per-token int8 quantisation, FFN1 and FFN2 on DSP-packed int8 x int4 arrays, dequantisation, GeLU, the
residual and LayerNorm (against the same chain of numpy references). csim of the
emitted HLS is slow at these sizes (ap_int arithmetic, about 1e8 multiply-accumulates a minute here): by
default it runs the same designs on the first --csim-rows tokens; --csim-full runs the full sizes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import dsl  # noqa: E402
from dsl import float32, int4, int8  # noqa: E402
from dsl.library import ref  # noqa: E402
from dsl.library.units import memory, rowwise, schedule_units  # noqa: E402
import unit_designs as U  # noqa: E402

L, D, F, H = 512, 768, 3072, 12


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def gemm_case(rows, TyW=int8, bits=8, pack=0):
    rng = np.random.default_rng(0)
    X = rng.integers(-128, 128, (rows, D)).astype(np.int8)
    W = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (F, D)).astype(np.int8)
    args = [X, memory.pack_weight_tiles(W, bits, 16), np.zeros((rows, F), np.int32)]
    return U.linear(rows, D, F, 8, 16, TyW, pack), args, 2, lambda: ref.systolic_linear(X, W), rows * D * F


def attention_case(rows):
    rng = np.random.default_rng(1)
    Q, K, V = (rng.standard_normal((rows, D)).astype(np.float32) for _ in range(3))
    return (U.attention(rows, D, H, 8, 8), [Q, K, V, np.zeros_like(Q)], 3,
            lambda: ref.scaled_dot_product_attention(Q, K, V, H, 0), 2 * rows * rows * D)


def attention_int8_case(rows):
    rng = np.random.default_rng(4)
    Q, K, V = (rng.integers(-128, 128, (rows, D)).astype(np.int8) for _ in range(3))
    mult, shift = ref.fixed_point_multiplier(1 / 4096)

    def reference():
        return ref.pv_output(ref.requantize(ref.qk_scores(Q, K, H, 8), mult, shift), V, H, 8)

    return (U.int_attention_gemms(rows, D, H, 8, 8), [Q, K, V, np.zeros((rows, D), np.int32), mult, shift], 3,
            reference, 2 * rows * rows * D)


def rows_case(rows):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((rows, D)).astype(np.float32)
    g, b = rng.standard_normal(D).astype(np.float32), rng.standard_normal(D).astype(np.float32)
    design = U.gelu_residual_norm(rows, D, 1e-12, rowwise.bypass_depth(D, float32, 1))
    return (design, [X, g, b, np.zeros_like(X)], 3,
            lambda: ref.layer_norm_eps(ref.residual_add(ref.gelu(X), X), g, b, 1e-12), 0)


def ffn_case(rows):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, D)).astype(np.float32)
    W1, W2 = rng.integers(-8, 8, (F, D)).astype(np.int8), rng.integers(-8, 8, (D, F)).astype(np.int8)
    s1, s2 = rng.uniform(0.01, 0.05, F).astype(np.float32), rng.uniform(0.01, 0.05, D).astype(np.float32)
    g, b = rng.standard_normal(D).astype(np.float32), rng.standard_normal(D).astype(np.float32)

    def reference():
        q1, r1 = ref.quantize_per_token(X)
        h = ref.gelu(ref.dequantize_rows(ref.systolic_linear(q1, W1), r1, s1))
        q2, r2 = ref.quantize_per_token(h)
        y = ref.dequantize_rows(ref.systolic_linear(q2, W2), r2, s2)
        return ref.layer_norm_eps(ref.residual_add(y, X), g, b, 1e-12)

    args = [X, memory.pack_weight_tiles(W1, 4, 16), s1, memory.pack_weight_tiles(W2, 4, 16), s2, g, b,
            np.zeros_like(X)]
    return U.ffn_block(rows, D, F, 8, 16, 1e-12), args, 7, reference, 2 * rows * D * F


def int_rows_case(rows):
    """The integer-only (I-BERT) row units side by side: GeLU of FFN rows (3072), softmax of score rows
    (12 heads x 512 keys per query token), LayerNorm of hidden rows (768)."""
    from dsl.library import intops

    rng = np.random.default_rng(5)
    XG = rng.integers(-400, 400, (rows, F)).astype(np.int32)
    XS = rng.integers(-300, 300, (rows * H, L)).astype(np.int32)
    XL = rng.integers(-3000, 3000, (rows, D)).astype(np.int16)
    gelu, soft = intops.gelu_params(0.02)[:3], intops.softmax_params(0.05, L)
    args = [XG, XS, XL, np.zeros((rows, F), np.int64), np.zeros((rows * H, L), np.int32),
            np.zeros((rows, D), np.int64), *gelu, *soft]

    def reference():
        return intops.int_gelu_ref(XG, *gelu), intops.int_softmax_ref(XS, *soft), intops.int_layer_norm_ref(XL)

    return U.integer_rows_bert(rows, H, L, D, F), args, (3, 4, 5), reference, 0


CASES = {
    "gemm": ("FFN1 GEMM int8 x int8, 8x16 PEs", lambda rows: gemm_case(rows)),
    "gemm_w4": ("FFN1 GEMM int8 x int4, DSP-packed", lambda rows: gemm_case(rows, int4, 4, 1)),
    "attention": ("causal attention, 12 heads, float32", attention_case),
    "attention_int8": ("QK^T and PV GEMMs, int8 x int8 -> int32, 12 heads, requantised between", attention_int8_case),
    "rows": ("LayerNorm(GeLU(X) + X), float32", rows_case),
    "ffn": ("W4A8 FFN block with residual and LayerNorm (14 processes)", ffn_case),
    "int_rows": ("integer-only GeLU (rows of 3072), softmax (12 x 512), LayerNorm (768): I-BERT units", int_rows_case),
}


def run(name, rows, target):
    design, args, out, reference, macs = CASES[name][1](rows)
    s, t_front = timed(lambda: dsl.customize(design))
    schedule_units(s)
    build = (lambda: dsl.build(s, target="sim")) if target == "sim" else \
        (lambda: dsl.build(s, target="vitis_hls", mode="csim", timeout=3600))
    mod, t_build = timed(build)
    _, t_run = timed(lambda: mod(*args))
    expect, t_ref = timed(reference)
    outs, expects = (out, expect) if isinstance(out, tuple) else ((out,), (expect,))
    ok = all(np.array_equal(args[k], e) for k, e in zip(outs, expects))
    rate = f", {macs / t_run / 1e6:.0f} M MAC/s" if macs else ""
    inner = f" (simulation {mod.elapsed:.2f} s)" if target == "sim" else ""
    procs = f", {len(mod.net.processes)} processes" if target == "sim" else ""
    print(f"  {target:4s} L={rows:<4d} frontend {t_front:5.2f} s, build {t_build:6.2f} s, run {t_run:7.2f} s"
          f"{inner}{rate}{procs}; numpy reference {t_ref:.2f} s; bit-exact: {ok}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--no-csim", action="store_true")
    ap.add_argument("--csim-rows", type=int, default=64)
    ap.add_argument("--csim-full", action="store_true")
    args = ap.parse_args()
    ok = True
    for name in args.only.split(","):
        print(f"{name}: {CASES[name][0]}")
        ok &= run(name, L, "sim")
        if not args.no_csim:
            ok &= run(name, L if args.csim_full else args.csim_rows, "csim")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
