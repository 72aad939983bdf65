"""What the exploration writes: one schedule file per operator, the ``dsl.perf`` design file (with the
accelerator it describes and its design-level figures), and a text report."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from ..qor.design import compare
from .evaluate import schedule_steps
from .layer import ARRAY_KINDS, Shape, linear_ops


def perf_design(explorer, ev, quant: str) -> dict:
    """The dsl.perf design of the chosen accelerator: MACs/cycle per linear operator (2 per PE with DSP
    packing for the int4 weights, 1 for the int8 x int8 attention arrays), clock, channels per loader."""
    choice = ev.choice
    macs, channels = {}, {}
    for op in explorer.ops:
        if op.name not in linear_ops():
            continue
        mt, nt = choice.tile(op.group)
        per_pe = 2 if op.kind == "linear" else 1
        macs[op.name] = per_pe * mt * nt * choice.split(op.group)
        if op.kind == "linear":
            channels[op.name] = 2 * choice.channel(op.group) * choice.split(op.group)  # two loaders per array
    reuse = min(choice.tile(g)[0] for g in ("qkv", "p", "f1", "f2"))
    return {"name": f"{explorer.model.name}-{explorer.device.name}-explored", "model": explorer.model.name,
            "device": explorer.device.name, "quant": quant, "clock_mhz": choice.clock_mhz,
            "macs_per_cycle": macs, "layers_per_device": 1, "weight_reuse": max(1, reuse), "memory_packing": True,
            "weight_tile_depth": 256, "weights_on_chip": False, "kv_on_chip": True,
            "channels_per_loader": channels,
            "notes": "written by python -m dsl.dse from the design-level estimate of the explored accelerator"}


def accelerator(explorer, ev) -> dict:
    choice = ev.choice
    shape = Shape(explorer.prompt, explorer.prompt)
    builds = explorer._builds(choice, shape)
    ops = []
    for op in explorer.ops:
        b = builds[op.name]
        ops.append({"name": op.name, "template": b.kind, "build": list(b.params), "tripcount": dict(b.tripcount),
                    "tile": list(choice.tile(op.group)), "arrays": choice.split(op.group) if b.kind in ARRAY_KINDS else 1,
                    "slr": ev.placement.get(op.name, op.slr), "schedule": f"schedules/{op.name}.yaml"})
    return {"clock_mhz": choice.clock_mhz, "hbm_channels_per_loader": dict(choice.channels), "operators": ops,
            "fifo_depths": dict(ev.fifo_depths), "hbm_channels_used": ev.channels_used,
            "slr_resources": [{k: round(v) for k, v in u.items()} for u in ev.slr_use]}


def figures(est) -> dict:
    return {"prefill_ms": est.prefill_ms, "ttft_ms": est.ttft_ms, "decode_ms_per_token": est.decode_ms_per_token,
            "decode_tokens_per_s": est.decode_tokens_per_s,
            "prefill_terms_ms": {k: v * 1e3 for k, v in est.prefill.terms.items()},
            "decode_terms_ms": {k: v * 1e3 for k, v in est.decode.terms.items()} if est.decode else None}


def write(out_dir, explorer, best, start, quant: str, history: list) -> dict:
    """Write everything into ``out_dir`` (all or nothing: files are written to a temporary folder first)."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    design = perf_design(explorer, best, quant)
    compare(best.estimate, _to_design(design), explorer.model, explorer.perf_device)
    compare(start.estimate, _to_design(perf_design(explorer, start, quant)), explorer.model, explorer.perf_device)
    data = dict(design)
    data["accelerator"] = accelerator(explorer, best)
    data["design_level"] = figures(best.estimate)
    files = {f"{explorer.model.name}-{explorer.device.name}.yaml": yaml.safe_dump(data, sort_keys=False)}
    builds = explorer._builds(best.choice, Shape(explorer.prompt, explorer.prompt))
    for op in explorer.ops:
        b = builds[op.name]
        files[f"schedules/{op.name}.yaml"] = schedule_steps(b.kind, b.params)
    files["report.txt"] = report(explorer, best, start, history)
    tmp = Path(tempfile.mkdtemp(prefix=".dse-", dir=out.parent))
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out.mkdir(exist_ok=True)
    for name in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, target)
    for folder in sorted((p for p in tmp.rglob("*") if p.is_dir()), reverse=True):
        folder.rmdir()
    tmp.rmdir()
    return {name: str(out / name) for name in files}


def _to_design(data: dict):
    from ..perf.data import load_design

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(data, f)
        path = f.name
    try:
        return load_design(path)
    finally:
        os.unlink(path)


def report(explorer, best, start, history: list) -> str:
    lines = [f"design-space exploration of {explorer.model.name} on {explorer.device.name}, prompt "
             f"{explorer.prompt}, gen {explorer.gen}: {explorer.evaluations} designs evaluated, "
             f"{sum(1 for h in history if h.feasible)} feasible", ""]
    for title, ev in (("chosen design", best), ("starting point (the paper's design as the templates build it)",
                                                start)):
        c = ev.choice
        lines.append(f"{title}: {c.clock_mhz:g} MHz, HBM channels per weight loader {dict(c.channels)}, "
                     f"arrays {dict(c.tiles)}, arrays per operator {dict(c.splits) or 'one each'}")
        lines.append(str(ev.estimate))
        for s, use in enumerate(ev.slr_use):
            lines.append(f"  SLR{s}: " + ", ".join(f"{k} {v:,.0f}" for k, v in use.items()))
        if ev.violations:
            lines.append("  violates: " + "; ".join(ev.violations))
        lines.append("")
    lines.append("FIFO depths (words): " + ", ".join(f"{k} {v}" for k, v in best.fifo_depths.items()))
    return "\n".join(lines) + "\n"
