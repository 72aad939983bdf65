"""What the exploration writes: the ``dsl.perf`` design file (the first-order model's view of the chosen
accelerator, the accelerator itself as ``models.design`` overrides per variant, and its design-level figures),
one schedule file per variant (the scheduled layer region, replayable with ``dsl.customize(..., schedule=)``)
and a text report."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from ..qor.design import compare


def perf_design(explorer, ev, quant: str) -> dict:
    """The dsl.perf design of the chosen accelerator (its prefill arrays: the first-order model has one set of
    MACs/cycle per operator), with the HBM channels each operator's loaders use in decode."""
    pre = ev.variants[explorer.variant_names[0]]
    dec = ev.variants.get("decode")
    macs, channels = {}, {}
    for op, spec in pre["linears"].items():
        macs[op] = spec["Mt"] * spec["Nt"] * spec["arrays"]
        source = dec["linears"][op] if dec else spec
        channels[op] = source["loaders"] * source["arrays"]
    for op, _, _, m in pre["arrays"]:
        if op.split(":")[-1] in ("a1", "a2"):  # shared: "prefill:a1" first (the first-order model's prompt)
            macs.setdefault(op.split(":")[-1], m)
    reuse = min(s["Mt"] for s in pre["linears"].values())
    return {"name": f"{explorer.model.name}-{explorer.device.name}-explored", "model": explorer.model.name,
            "device": explorer.device.name, "quant": quant, "clock_mhz": ev.choice.clock_mhz,
            "macs_per_cycle": macs, "layers_per_device": 1, "weight_reuse": max(1, reuse), "memory_packing": True,
            "weight_tile_depth": 256, "weights_on_chip": False, "kv_on_chip": False,
            "channels_per_loader": channels,
            "notes": "written by python -m dsl.dse from the design-level estimate of the explored accelerator"}


def accelerator(explorer, ev) -> dict:
    """The accelerator as models.design builds it: per variant its linear overrides and FIFO depths."""
    variants = {}
    for v, res in ev.variants.items():
        if "phases" in res:  # the shared-array layer (models.dual): its kernels, cycles per phase
            variants[v] = {"kind": "shared arrays (models.dual)", "linears": res["linears"],
                           "attention": res["attention"], "fifo_depths": res["depths"],
                           "phases": {p: dict(runs) for p, runs in res["phases"].items()},
                           "kernels": {n: {"schedule": f"schedules/{n}.yaml", "bottleneck": k["bottleneck"],
                                           "resources": {x: round(y) for x, y in k["resources"].items()}}
                                       for n, k in res["kernels"].items()},
                           "resources": {k: round(x) for k, x in res["resources"].items()}}
            continue
        variants[v] = {"linears": res["linears"], "attention": res["attention"], "fifo_depths": res["depths"],
                       "layer_cycles": res["latency"],
                       "critical_path": res["critical"], "schedule": f"schedules/{v}.yaml",
                       "resources": {k: round(x) for k, x in res["resources"].items()}}
    return {"builder": explorer.builder, "clock_mhz": ev.choice.clock_mhz, "variants": variants,
            "placement": dict(sorted(ev.placement.items())), "slr_array_dsps": [round(x) for x in ev.slr_dsps],
            "placement_moves": list(ev.moves), "hbm_weight_channels": ev.channels_used}


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
    data = dict(design)
    data["accelerator"] = accelerator(explorer, best)
    data["design_level"] = figures(best.estimate)
    files = {f"{explorer.model.name}-{explorer.device.name}.yaml": yaml.safe_dump(data, sort_keys=False)}
    for v, res in best.variants.items():
        for name, k in res.get("kernels", {}).items():
            files[f"schedules/{name}.yaml"] = k["schedule"]
        if "schedule" in res:
            files[f"schedules/{v}.yaml"] = res["schedule"]
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


def _choice(c) -> str:
    if hasattr(c, "arrays"):  # shared arrays
        return (f"{c.clock_mhz:g} MHz, shared 8x16 arrays (prefill and decode) per operator {dict(c.arrays)}, HBM "
                f"channels per array {dict(c.loaders)}, weight FIFOs {c.weight_depth}, attention Mq x Nk arrays "
                f"{dict(c.attention)}")
    return (f"{c.clock_mhz:g} MHz, prefill arrays {dict(c.prefill)}, decode 1x128 arrays per operator "
            f"{dict(c.decode)}, HBM channels per decode array {dict(c.loaders)}, weight FIFOs {c.weight_depth}, "
            f"attention Mq x Nk arrays {dict(c.attention)}")


def _describe(ev) -> list:
    lines = [_choice(ev.choice)]
    if ev.estimate is not None:
        lines.append(str(ev.estimate))
    if ev.slr_dsps:
        lines.append("  array DSPs per SLR: " + ", ".join(f"SLR{s} {d:,.0f}" for s, d in enumerate(ev.slr_dsps)))
    for v, res in ev.variants.items():
        if "phases" in res:
            for p, runs in res["phases"].items():
                lines.append(f"  {p}: " + ", ".join(f"{n} {c:,} cycles" for n, c in runs) + " a layer")
            lines.append("  kernels together: " + ", ".join(f"{k} {x:,.0f}" for k, x in res["resources"].items()))
            continue
        lines.append(f"  {v} kernel: {res['latency']:,} cycles a layer; " +
                     ", ".join(f"{k} {x:,.0f}" for k, x in res["resources"].items()))
    if ev.moves:
        lines.append("  placement moves: " + "; ".join(ev.moves))
    if ev.violations:
        lines.append("  violates: " + "; ".join(ev.violations))
    return lines


def report(explorer, best, start, history: list) -> str:
    feasible = sum(1 for h in history if h.feasible)
    lines = [f"design-space exploration of {explorer.model.name} on {explorer.device.name}, prompt "
             f"{explorer.prompt}, gen {explorer.gen}: {explorer.evaluations} designs evaluated, {feasible} feasible, "
             f"{len(explorer.cache)} layer variants estimated; search: {getattr(explorer, 'stop_reason', '')}", ""]
    for title, ev in (("chosen design", best), ("starting point", start)):
        lines.append(f"{title}: " + "\n".join(_describe(ev)))
        lines.append("")
    return "\n".join(lines) + "\n"
