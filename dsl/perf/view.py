"""A ``dsl.perf`` result as a report contribution (see ``dsl.notebook``): its figures, resource bars against
the device, the channels of each loader, and the model's two plots (drawn by ``plots``, embedded as SVG).
``PerfResult.__dsl_report__`` and its notebook view use it; ``dsl.report(..., also=[result])`` embeds it."""
from __future__ import annotations

import tempfile
from pathlib import Path


def perf_contribution(result, calibration=None, plots: bool = True) -> dict:
    """``calibration``: the one the result was evaluated with (plots redraw the curves; default: the
    default calibration, as ``dsl.perf.evaluate`` uses when given none)."""
    summary = {
        "model": result.model, "device": result.device, "precision": result.quant,
        "prompt / generated tokens": f"{result.prompt} / {result.gen}", "design": result.design,
        "clock": f"{result.clock_mhz:g} MHz", "layers on the device": result.layers_per_device,
        "prefill": f"{result.prefill_ms:.3f} ms ({result.prefill_bound})",
        "decode": (f"{result.decode_ms_per_token:.3f} ms/token ({result.decode_bound})"
                   if result.decode_ms_per_token is not None else "—"),
        "energy": f"{result.energy_mj_per_token:.3g} mJ/token", "bottleneck": result.bottleneck,
    }
    if result.gpu is not None:
        gpu = result.gpu
        summary[f"GPU {gpu.device}"] = (f"prefill {gpu.prefill_ms:.3f} ms" + (
            f", decode {gpu.decode_ms_per_token:.3f} ms/token" if gpu.decode_ms_per_token is not None else ""))
    operators = sorted(set(result.macs_per_cycle) | set(result.channels_per_loader))
    tables = [{"title": "operators: parallelism and weight loaders",
               "columns": ["operator", "MACs/cycle", "off-chip channels of its loader"],
               "rows": [[op, result.macs_per_cycle.get(op), result.channels_per_loader.get(op)]
                        for op in operators]}]
    if result.constraint_limits:
        tables.append({"title": "largest M each constraint allows", "columns": ["constraint", "M"],
                       "rows": [[k, v] for k, v in result.constraint_limits.items()]})
    return {"title": f"analytical model (dsl.perf): {result.model} on {result.device}", "summary": summary,
            "resources": dict(result.resources), "tables": tables,
            "figures": perf_figures(result, calibration) if plots else [],
            "notes": list(result.notes)}


def perf_figures(result, calibration=None) -> list:
    from .data import Calibration, load_device, load_model
    from .plots import plot_parallelism, plot_sequence
    from .report import fpga_device

    calib = calibration or Calibration()
    model, device = load_model(result.model), fpga_device(result.device)
    gpu = load_device(result.gpu.device) if result.gpu is not None else None
    with tempfile.TemporaryDirectory(prefix="dsl-report-") as tmp:
        seq, par = Path(tmp, "sequence.svg"), Path(tmp, "parallelism.svg")
        plot_sequence(seq, model, device, gpu, result, calib)
        plot_parallelism(par, model, device, result, calib)
        return [{"title": "latency against sequence length", "svg": seq.read_text()},
                {"title": "latency against the global parallelism M, with each constraint's limit",
                 "svg": par.read_text()}]
