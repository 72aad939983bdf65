"""The cycles of each region (SLR) of a generated layer as ``dsl.estimate`` sees the scheduled design (what
Vitis HLS would build: loop IIs and depths, FIFOs, the dataflow start/finish of every process), for one
layer pass at a given context.

Loops whose bounds are run-time values (the attention's key count ``nk``, the cached rows ``pos``, a score
row's kept length from the causal mask, the row length a row kernel is called with) get their trip counts
here, as Vitis's ``loop_tripcount`` would give them: a first estimate names every loop instance and its
caller, the rules below give each its count for this pass, and a second estimate uses them. A region's
cycles are the span of its processes (first start to last finish, relative to the layer's start).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import dsl
from dsl.library.rows import LANES, SUM_LANES  # a running max's lanes, a row sum's partial sums
from dsl.library.units import schedule_units

from .design import CLOCK_MHZ, LayerDesign
from .units import schedule_model_units

# elements per group of each row reduction
GROUP_LANES = {"row_sum": SUM_LANES, "exp_sum": SUM_LANES, "square_sum": SUM_LANES, "row_max": LANES}


@dataclass(frozen=True)
class Context:
    """What the run-time bounds are for one pass: n keys, pos cached rows before this call, cnt the mean
    kept length of a score row, d the row length of LayerNorm, the token widths of score/probability rows."""
    n: int
    pos: int
    cnt: int
    d: int
    nk_tile: int
    cs: int
    cp: int

    @classmethod
    def of(cls, design: LayerDesign, pos: int | None = None) -> "Context":
        att, L = design.attention, design.rows
        if design.variant == "decode":
            pos = design.lmax - 1 if pos is None else pos
            n = cnt = pos + 1
        else:
            pos, n = 0, L
            cnt = (L + 1) // 2 if design.variant == "prefill" else L  # causal: query i keeps i + 1 keys
        return cls(n, pos, cnt, design.config.hidden, att["Nk"], min(att["LK"], 16), min(att["LK"], 64))


def _base(label: str) -> str:
    return re.sub(r"(_\d+)?(#\d+)?$", "", label)


def _count(func: str, loop: str, caller: str, c: Context) -> int | None:
    """Trip count of loop ``loop`` (its band name) of function ``func`` called from ``caller`` (bases)."""
    if func in GROUP_LANES:
        m = c.d if caller == "layer_norm_row" else c.cnt
        lanes = GROUP_LANES[func]
        return m // lanes if loop.endswith("groups") else m % lanes
    if func in ("get_prefix", "put_prefix"):
        width = c.cs if (caller, func) in (("_qk_gemm", "put_prefix"), ("_attention_probs", "get_prefix")) else c.cp
        return -(-c.n // width)
    keys = -(-c.n // c.nk_tile)
    table = {
        ("_kv_append_q", "past"): c.pos,
        ("_qk_gemm", "first_keys"): c.n, ("_qk_gemm", "key_tiles"): keys, ("_qk_gemm", "next_keys"): 0,
        ("_pv_gemm", "first_values"): c.n, ("_pv_gemm", "transpose"): c.n, ("_pv_gemm", "split_v"): c.n,
        ("_pv_gemm", "k"): c.n, ("_pv_gemm", "next_values"): 0,
        ("_attention_probs", "kv_scales"): c.n, ("_attention_probs", "dequantize"): c.cnt,
        ("_fold_probs", "fold_groups"): c.cnt // LANES, ("_fold_probs", "fold_tail"): c.cnt % LANES,
        ("_exchange_probs", "tokens"): -(-c.n // c.cp),
    }
    return table.get((func, loop))


def _schedule(design: LayerDesign):
    s = dsl.customize(design.region)
    schedule_units(s)
    schedule_model_units(s)
    return s


def tripcounts(est, c: Context) -> tuple[dict, list]:
    """(loop key -> trip count, keys no rule covers) for the loops ``est`` could not count."""
    callers = {}
    for name, f in est.functions.items():
        for callee in f.calls:
            callers.setdefault(callee, name)
    given, left = {}, []
    for key, loop in est.loops.items():
        if loop.trip is not None:
            continue
        label, band = key.split(":")[0], key.split(":")[1]
        n = _count(_base(label), band, _base(callers.get(label, "")), c)
        if n is None:
            left.append(key)
        else:
            given[key] = max(int(n), 0)
    return given, left


def region_estimate(design: LayerDesign, pos: int | None = None, clock_mhz: float | None = None) -> dict:
    """SLR -> {"cycles", "bottleneck", "interval", "processes": {label: latency}} of one layer pass, plus
    "layer" (the region's latency) and "uncounted" (loops left at one iteration; empty when all known)."""
    clock = clock_mhz or CLOCK_MHZ[design.config.kind]
    s = _schedule(design)
    c = Context.of(design, pos)
    first = dsl.estimate(s, device="u280", clock_mhz=clock)
    given, left = tripcounts(first, c)
    est = dsl.estimate(s, device="u280", clock_mhz=clock, tripcount=given) if given else first
    region = est.regions[est.top] if est.top in est.regions else next(iter(est.regions.values()))
    lines = sorted(design.slr_of_line)
    if len(region.processes) != len(lines):
        raise ValueError(f"internal: {len(region.processes)} processes for {len(lines)} design lines")
    out = {}
    for proc, line in zip(region.processes, lines):
        slr = design.slr_of_line[line]
        r = out.setdefault(slr, {"start": proc.start, "finish": proc.finish, "processes": {}})
        r["start"], r["finish"] = min(r["start"], proc.start), max(r["finish"], proc.finish)
        r["processes"][proc.name] = proc.latency
    for r in out.values():
        r["cycles"] = r.pop("finish") - r["start"]
        r["bottleneck"] = max(r["processes"], key=lambda p: r["processes"][p] or 0)
    return {"slr": dict(sorted(out.items())), "layer": est.latency, "interval": est.interval,
            "uncounted": left, "context": c.__dict__, "clock_mhz": clock}
