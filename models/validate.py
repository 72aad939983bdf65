"""The seed paper's published figures next to the first-order model (``dsl.perf``) and the design-level
estimate (``dsl.estimate``) of the library's kernels built as the paper describes its designs.

Kernel rows (the paper's HLS reports at 300 MHz): the library's streaming units (``dsl.library.units``) at
BERT-base sizes, scheduled by ``dsl.dse.units`` (PE arrays that clear and drain in one cycle; the row units on
the lanes their producer's row rate needs, ``kernel_lanes``), the row units also on the vendor's exp / erf
cores (``mathf.VENDOR``), and the memory-to-memory ``systolic.gemm_wide`` with its predefined schedule
(operands from wide m_axi words, no operand tiles). Board rows: the layer accelerator of ``models.design``
(the library's units in three SLR regions,
W4A8 linear operators on 8 x 32 packed arrays = 256 MACs/cycle and 128 DSPs each, 8 x 8 attention arrays; in
decode two 1 x 128 arrays per operator, ``PAPER_DECODE``, and 1 x 64 attention arrays), estimated as one dataflow region by
``models.explore.estimate_layer`` (what ``python -m dsl.dse`` ranks by) and rolled up over the layers and the
host loop by ``dsl.qor.design`` (with the host's round trips of ``models/host.py``: ``layer_run``).

Every figure is computed; nothing is fitted. ``rows(board=...)`` returns the table; ``python -m
models.validate`` prints it (see dsl/perf/README.md, "Validation").
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import dsl
from dsl.dse.units import VENDOR_KINDS, build, producer_row_cycles, row_lanes_for, row_tripcount
from dsl.perf import evaluate
from dsl.qor.design import KernelRun, design_estimate

from .explore import VariantJob, estimate_layer


TOLERANCE = 0.10  # the acceptance: every row within 10% of the published figure


@dataclass
class Row:
    figure: str
    published: float
    first_order: float | None
    estimate: float | None

    @property
    def error(self) -> float | None:
        return None if self.estimate is None else (self.estimate - self.published) / self.published

    @property
    def reached(self) -> bool:
        if self.estimate is None:
            return False
        return abs(self.estimate - self.published) <= TOLERANCE * max(self.published, 1e-9)


def _kernel(kind, params, clock=300.0):
    trips = row_tripcount(kind, params, None) or None
    r = dsl.estimate(build(kind, *params), clock_mhz=clock, tripcount=trips)
    return r.latency_ms, r.resources["DSP"].used, r.resources["BRAM18K"].used


def _memory_gemm(clock=300.0, packed=False):
    """The library's memory-to-memory ``systolic.gemm_wide`` with its predefined schedule
    (``schedule_gemm_wide``): the paper's kernel, operands from wide m_axi words into the array's edges;
    ``packed``: ``packed_gemm_wide``, W4A8 on 8 x 32 PEs, two int4 weights per DSP."""
    from dsl import int4, int8, int32
    from dsl.library import schedules, systolic

    inst = [int8, int4, int32, 512, 768, 3072, 8, 32] if packed else [int8, int8, int32, 512, 768, 3072, 16, 16]
    s = schedules.scheduled(systolic.packed_gemm_wide if packed else systolic.gemm_wide, inst)
    r = dsl.estimate(s, clock_mhz=clock)
    return r.latency_ms, r.resources["DSP"].used, r.resources["BRAM18K"].used


# The row units at BERT-base sizes (published ms, DSP), each on the lanes its producer in the paper's BERT
# layer needs: softmax after Q·Kᵀ on an 8 x 8 array (a row of 512 scores, 64 MACs each, every 512 cycles),
# LayerNorm after the output projection p (768 x 768 on 256 MACs/cycle: 2,304 cycles a row), GeLU after f1
# (768 x 3072 on 256 MACs/cycle: 9,216 cycles a row); the softmax and GeLU also on the vendor's cores.
ROW_KERNELS = (("softmax", "softmax", (12 * 512, 512), 6.67, 38),
               ("LayerNorm", "layer_norm", (512, 768), 0.85, 80),
               ("GeLU", "gelu", (512, 3072), 0.67, 256),
               ("softmax on the vendor's cores", "softmax_vendor", (12 * 512, 512), 6.67, 38),
               ("GeLU on the vendor's cores", "gelu_vendor", (512, 3072), 0.67, 256))
PRODUCER_ROW_CYCLES = {"softmax": producer_row_cycles(64, 512, 64), "layer_norm": producer_row_cycles(768, 768, 256),
                       "gelu": producer_row_cycles(768, 3072, 256)}


def kernel_lanes(kind: str, rows: int, width: int) -> int:
    """``row_lanes_for`` at the row rate of the unit's producer in the paper's BERT-base layer."""
    return row_lanes_for(kind, rows, width, PRODUCER_ROW_CYCLES[VENDOR_KINDS.get(kind, kind)])


def kernel_rows() -> list:
    ideal = 512 * 768 * 3072 / 256 / 300e3  # ms: the first-order model's MACs / (MACs per cycle · f)
    out = []
    ms, dsp, bram = _kernel("linear", (8, 512, 768, 3072, 16, 16, 0))
    out += [Row("16x16 int8 GEMM, BERT FFN1 512x768·768x3072, ms", 15.73, ideal, ms),
            Row("16x16 GEMM: DSP", 256, 256, dsp), Row("16x16 GEMM: BRAM18K", 0, None, bram)]
    ms, dsp, bram = _memory_gemm()
    out += [Row("memory-to-memory systolic.gemm_wide 16x16, predefined schedule, ms", 15.73, ideal, ms),
            Row("systolic.gemm_wide: DSP", 256, 256, dsp), Row("systolic.gemm_wide: BRAM18K", 0, None, bram)]
    ms, dsp, _ = _kernel("linear", (4, 512, 768, 3072, 8, 32, 1))
    out += [Row("packed W4A8 8x32 GEMM (two int4 weights per DSP), ms", 15.73, ideal, ms),
            Row("packed GEMM: DSP", 128, 128, dsp)]
    ms, dsp, _ = _memory_gemm(packed=True)   # (the paper gives no BRAM figure for its packed kernel)
    out += [Row("memory-to-memory systolic.packed_gemm_wide W4A8 8x32, predefined schedule, ms", 15.73, ideal, ms),
            Row("systolic.packed_gemm_wide: DSP", 128, 128, dsp)]
    for name, kind, (rows, width), ms_pub, dsp_pub in ROW_KERNELS:
        lanes = kernel_lanes(kind, rows, width)
        ms, dsp, _ = _kernel(kind, (rows, width, lanes))
        out += [Row(f"{name}, {rows} rows of {width}, {lanes} lane(s), ms", ms_pub, None, ms),
                Row(f"{name}: DSP", dsp_pub, None, dsp)]
    return out


# The paper's decode: 256 MACs/cycle for every linear operator (its 8 x 16 DSP arrays with packing) on one
# token. The library's aw_gemm takes one 512-bit weight word per k step (Nt x 4 bits <= 512), so one token
# row reaches 128 MACs/cycle per array (1 x 128, 64 DSPs): two arrays share the output columns, 128 DSPs and
# 256 MACs/cycle together, as the paper's array; each with two loaders (a word a cycle is 16 GB/s, over one
# HBM channel's 12.2).
PAPER_DECODE = tuple((op, (("arrays", 2),)) for op in ("f1", "f2", "k", "p", "q", "v"))
# The attention arrays in decode: one query row per head (Mq = 1), so the paper's 64 PEs of an 8 x 8 array
# are 1 x 64 there (64 keys of Q·Kᵀ or 64 head channels of P·V a cycle; the same DSPs), where an 8 x 8 array
# would leave 7 of its 8 PE rows without a query.
PAPER_DECODE_ATTENTION = (("Mq", 1), ("Nk", 64))
SLR_KERNELS = 3  # the host starts the layer's three SLR kernels together (models/host.py, models/vitis.py)


def layer_estimate(model: str, variant: str, rows: int, lmax: int, clock: float, past: int = 0, linears=(),
                   attention=()):
    """``dsl.estimate`` of one layer accelerator of ``models.design`` (one dataflow region)."""
    return estimate_layer(VariantJob(model, variant, rows, lmax, past, clock, tuple(linears),
                                     attention=tuple(attention)))[2]


def layer_run(r, rows: int, hidden: int, clock: float) -> KernelRun:
    """One layer's invocation as the host runs it (``models/host.py``): its float32 rows synced to the device
    and back, the SLR kernels started together."""
    row_bytes = rows * hidden * 4
    return KernelRun("layer", r.latency, clock, started_with=SLR_KERNELS, host_in_bytes=row_bytes,
                     host_out_bytes=row_bytes)


def board_rows(prompts=(32,)) -> list:
    out = []
    bert = evaluate("bert-base", "u280", prompt=512, gen=0, gpu=None, design="bert-base-u280")
    r = layer_estimate("bert-base", "encoder", 512, 0, 245.0)
    out.append(Row("BERT-base layer, 512 tokens, 245 MHz, ms", 26.01, bert.prefill_ms / 12, r.latency_ms))
    published = {32: 81.5, 64: 163.0, 128: 326.0, 256: 652.0}
    gen = 32
    first = min(prompts)  # decode: the paper's 4.90 ms/token, here after a prompt of 32 with 32 tokens generated
    decode = layer_estimate("gpt2-medium", "decode", 1, first + gen, 250.0, past=first + gen // 2,
                            linears=PAPER_DECODE, attention=PAPER_DECODE_ATTENTION)
    d = 1024  # GPT2-medium's hidden size
    for prompt in prompts:
        fo = evaluate("gpt2-medium", "u280", prompt=prompt, gen=gen, gpu=None, design="gpt2-medium-u280")
        pre = layer_estimate("gpt2-medium", "prefill", prompt, prompt + gen, 250.0)
        est = design_estimate("paper", "gpt2-medium", "u280", prompt, gen, [layer_run(pre, prompt, d, 250.0)],
                              [layer_run(decode, 1, d, 250.0)])
        out.append(Row(f"GPT2-medium time to first token, {prompt} tokens, 250 MHz, ms", published[prompt],
                       fo.ttft_ms, est.ttft_ms))
        if prompt == first:
            out.append(Row("GPT2-medium decode, ms/token", 4.90, fo.decode_ms_per_token, est.decode_ms_per_token))
    return out


def show(rows, file=None):
    def fmt(v):
        return "-" if v is None else f"{v:,.4g}"

    def err(pub, v):
        return "-" if v is None else f"{(v - pub) / pub:+.0%}" if pub else ("0" if v == 0 else "n/a")

    print("| figure | published | first-order | err | design-level estimate | err | within 10% |", file=file)
    print("|---|---|---|---|---|---|---|", file=file)
    for r in rows:
        print(f"| {r.figure} | {fmt(r.published)} | {fmt(r.first_order)} | {err(r.published, r.first_order)} | "
              f"{fmt(r.estimate)} | {err(r.published, r.estimate)} | {'yes' if r.reached else 'no'} |", file=file)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = kernel_rows()
    if "--kernels-only" not in argv:
        rows += board_rows((32, 64, 128, 256) if "--all-prompts" in argv else (32,))
    show(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
