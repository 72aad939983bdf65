"""Readable text rendering of a ``PerfResult``."""
from __future__ import annotations

from .data import LINEAR_OPS
from .report import PerfResult


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _rows(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def _header(r: PerfResult) -> str:
    split = f", {r.tp}-way tensor x {r.pp}-way pipeline" if r.tp * r.pp > 1 else ""
    where = "weights on chip" if r.weights_on_chip else "weights streamed from off chip"
    return (f"{r.model} on {r.device} ({r.quant.upper()}, prompt {r.prompt}, gen {r.gen}, batch {r.batch}{split})\n"
            f"design: {r.design}, {r.clock_mhz:.0f} MHz, {r.layers_per_device} layer(s) unfolded, {where}")


def _operators(r: PerfResult) -> str:
    rows = [["operator", *LINEAR_OPS], ["MACs/cycle", *[_fmt(r.macs_per_cycle[op]) for op in LINEAR_OPS]]]
    if r.channels_per_loader:
        rows.append(["channels", *[_fmt(r.channels_per_loader.get(op)) for op in LINEAR_OPS]])
    return _rows(rows)


def _resources(r: PerfResult) -> str:
    rows = [["resource", "used", "available", "use"]]
    for kind, res in r.resources.items():
        share = f"{res['used'] / res['available']:.0%}" if res["available"] else "-"
        share += " !" if res["used"] > res["available"] + 1e-9 else "  "
        rows.append([kind, _fmt(res["used"]), _fmt(res["available"]), share])
    return _rows(rows)


def _limits(r: PerfResult) -> str:
    if not r.constraint_limits:
        return ""
    parts = [f"{name} M<={m}" if m is not None else f"{name} (not binding)" for name, m in r.constraint_limits.items()]
    return "largest M each constraint allows: " + ", ".join(parts)


def _latency(r: PerfResult) -> str:
    gpu = r.gpu
    head = ["", f"FPGA {r.device}"] + ([f"GPU {gpu.device}"] if gpu else [])
    figures = [
        ("prefill ms", r.prefill_ms, gpu and gpu.prefill_ms),
        ("time to first token ms", r.ttft_ms, gpu and gpu.ttft_ms),
        ("decode ms/token", r.decode_ms_per_token, gpu and gpu.decode_ms_per_token),
        ("decode tokens/s", r.decode_tokens_per_s, gpu and gpu.decode_tokens_per_s),
        ("energy mJ/token", r.energy_mj_per_token, gpu and gpu.energy_mj_per_token),
        ("prefill bound", r.prefill_bound, gpu and gpu.prefill_bound),
        ("decode bound", r.decode_bound, gpu and gpu.decode_bound),
    ]
    rows = [head] + [[name, _fmt(fpga), *([_fmt(g)] if gpu else [])] for name, fpga, g in figures]
    return _rows(rows)


def format_result(r: PerfResult) -> str:
    """The table the command line prints."""
    parts = [_header(r), _operators(r), _resources(r), f"bottleneck: {r.bottleneck}", _limits(r), _latency(r)]
    if r.gpu and not r.gpu.fits:
        parts.append(f"note: the model needs {r.gpu.memory_needed_gb:.1f} GB on {r.gpu.device}, more than it has")
    parts += [f"note: {n}" for n in r.notes]
    return "\n\n".join(p for p in parts if p)
