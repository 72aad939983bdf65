"""The seed paper's published figures next to the first-order model (dsl.perf) and the QoR estimate of the
exploration's operator templates (dsl.dse.templates, built as the paper describes its kernels).

    .venv/bin/python benchmarks/bench_qor_paper.py [--skip-layers]

The validation of the library's kernels is ``python -m models.validate`` (the table in dsl/perf/README.md,
"Validation"); this script shows how far the exploration's stand-in templates are from the paper's figures.
"""
from __future__ import annotations

import argparse
import math

import dsl
from dsl.dse.search import Explorer, start_choice
from dsl.dse.evaluate import LocalExecutor
from dsl.dse.templates import build
from dsl.perf import evaluate


def kernel_ms(kind, params, trips, clock=300):
    r = dsl.estimate(build(kind, *params), clock_mhz=clock, tripcount=trips)
    return r.latency_ms, int(r.resources["DSP"].used), int(r.resources["BRAM18K"].used)


def hls_rows():
    rows = []
    # BERT FFN1 GEMM 512 x 768 . 768 x 3072 on a 16 x 16 int8 array at 300 MHz: 15.73 ms, 256 DSP, 0 BRAM
    ms, dsp, bram = kernel_ms("matmul", (1, 16, 768, 16, 16, 16), {"rows:ti": 32, "cols:tj": 192})
    ideal = 512 * 768 * 3072 / 256 / 300e3
    rows.append(("16x16 int8 GEMM (FFN1), ms", 15.73, ideal, ms))
    rows.append(("  DSP", 256, 256, dsp))
    # with DSP packing (8 x 16 PEs, two int4 weights each: 256 MACs/cycle): 128 DSP
    ms, dsp, _ = kernel_ms("linear", (8, 768, 32, 8, 16), {"rows:ti": 64, "cols:tj": 96})
    rows.append(("packed W4A8 8x16 GEMM (FFN1), ms", 15.73, ideal, ms))
    rows.append(("  DSP", 128, 128, dsp))
    # softmax of 12 heads x 512 rows x 512, LayerNorm and GeLU at BERT-base sizes (lanes: 8)
    ms, dsp, _ = kernel_ms("softmax", (1, 512, 8), {"rows:r": 12 * 512, "load:c": 512, "max:c": 64, "exp:c": 64,
                                                   "norm:c": 64})
    rows.append(("softmax, ms", 6.67, None, ms))
    rows.append(("  DSP", 38, None, dsp))
    ms, dsp, _ = kernel_ms("layer_norm", (1, 768, 8), {"rows:r": 512})
    rows.append(("LayerNorm, ms", 0.85, None, ms))
    rows.append(("  DSP", 80, None, dsp))
    ms, dsp, _ = kernel_ms("gelu", (1, 3072, 8), {"gelu:r": 512})
    rows.append(("GeLU, ms", 0.67, None, ms))
    rows.append(("  DSP", 256, None, dsp))
    return rows


def board_rows():
    rows = []
    bert = evaluate("bert-base", "u280", prompt=512, gen=0, gpu=None, design="bert-base-u280")
    rows.append(("BERT-base layer, 512 tokens, 245 MHz, ms", 26.01, bert.prefill_ms / 12, None))
    ex = Explorer("gpt2-medium", "u280", 32, 32, LocalExecutor())
    try:
        choice = start_choice(ex)
        ex.prefetch([choice])
        ev = ex.evaluate(choice)
    finally:
        ex.executor.close()
    for prompt, published in ((32, 81.5), (64, 163.0), (128, 326.0), (256, 652.0)):
        fo = evaluate("gpt2-medium", "u280", prompt=prompt, gen=32, gpu=None, design="gpt2-medium-u280")
        mine = ev.estimate.ttft_ms if prompt == 32 else None
        rows.append((f"GPT2-medium TTFT {prompt} tokens, ms", published, fo.ttft_ms, mine))
    fo = evaluate("gpt2-medium", "u280", prompt=32, gen=32, gpu=None, design="gpt2-medium-u280")
    rows.append(("GPT2-medium decode, ms/token", 4.90, fo.decode_ms_per_token, ev.estimate.decode_ms_per_token))
    return rows


def show(rows):
    def fmt(v):
        return "-" if v is None else f"{v:,.4g}"

    def err(a, b):
        return "-" if a is None or b is None else f"{(b - a) / a:+.0%}"

    print(f"{'figure':<44}{'published':>10}{'first-order':>12}{'err':>7}{'templates':>11}{'err':>7}")
    for name, pub, fo, est in rows:
        print(f"{name:<44}{fmt(pub):>10}{fmt(fo):>12}{err(pub, fo):>7}{fmt(est):>11}{err(pub, est):>7}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-layers", action="store_true", help="only the HLS-report kernels")
    args = ap.parse_args()
    rows = hls_rows()
    if not args.skip_layers:
        rows += board_rows()
    show(rows)
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r[1:] if v is not None)


if __name__ == "__main__":
    main()
