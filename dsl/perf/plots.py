"""Two plots of a result: latency against sequence length (FPGA and GPU), and latency against M with the
largest M each constraint allows. matplotlib with the Agg backend (files only, no display)."""
from __future__ import annotations

from pathlib import Path

from . import equations as eq
from .constraints import Parallel, Workload, assign_channels
from .data import Calibration, FpgaDevice, GpuDevice, TransformerModel
from .gpu import phase_seconds
from .latency import phase_latency
from .report import PerfResult
from .search import CONSTRAINT_NAMES, balanced_design, scan
from .sweep import Sweep, sweep
from ..errors import PerfModelError

CURVE_POINTS = 12


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_log_axes(ax) -> None:
    """Plain number tick labels (cheaper to draw than typeset powers). The x axis (lengths at powers of 2,
    or a linear M) labels its major ticks; the log y axis uses matplotlib's LogFormatter, which labels the
    minor ticks too when the data spans less than a decade (there may be no power of ten in view: a flat
    decode curve at 1.1 ms/token)."""
    from matplotlib.ticker import FuncFormatter, LogFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def _lengths(model: TransformerModel) -> list[int]:
    """Sequence lengths from 16 (or fewer) to the model's maximum, doubling."""
    lengths, l = [], min(16, model.max_seq)
    while l < model.max_seq:
        lengths.append(l)
        l *= 2
    return lengths + [model.max_seq]


def _gpu_ms(model, gpu, calib, phase: str, l: int, batch: int) -> float:
    if phase == "prefill":
        seconds, _ = phase_seconds(model, gpu, calib, l, l, batch, eq.prefill_macs(model, l))
    else:
        seconds, _ = phase_seconds(model, gpu, calib, 1, l, batch, eq.decode_macs(model, l - 1))
    return seconds * 1e3


def sequence_sweep(model, device: FpgaDevice, result: PerfResult, calib: Calibration, lengths) -> Sweep:
    """The FPGA curve: the result's own design when it was given, else one design searched for the
    longest length (the result's design is sized for its own request only). When no design serves the
    longest length, the curve stops at the longest one a design serves."""
    given = None if result.constraint_limits else result.design_spec
    for count in range(len(lengths), 0, -1):
        try:
            return sweep(model, device, lengths[:count], quant=result.quant, gen=result.gen, batch=result.batch,
                         design=given, tp=result.tp, pp=result.pp, calibration=calib,
                         memory_packing=result.design_spec.memory_packing)
        except PerfModelError:
            if count == 1:
                raise
    raise AssertionError("unreachable")


def plot_sequence(path, model, device: FpgaDevice, gpu: GpuDevice | None, result: PerfResult, calib) -> None:
    """Prefill latency and decode ms/token against sequence (context) length, FPGA design and GPU."""
    fig = sequence_figure(model, device, gpu, result, calib)
    fig.savefig(path, dpi=72)
    _pyplot().close(fig)


def sequence_figure(model, device: FpgaDevice, gpu: GpuDevice | None, result: PerfResult, calib):
    """The figure ``plot_sequence`` writes: one axes per phase (prefill, and decode for a decoder)."""
    plt = _pyplot()
    lengths = _lengths(model)
    study = sequence_sweep(model, device, result, calib, lengths)
    served = [p.length for p in study.points]
    fpga = {"prefill": [p.prefill_ms for p in study.points], "decode": [p.decode_ms_per_token for p in study.points]}
    phases = ["prefill"] + (["decode"] if model.is_decoder else [])
    fig, axes = plt.subplots(1, len(phases), figsize=(4.5 * len(phases), 3.4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        ax.plot(served, fpga[phase], "o-", label=f"FPGA {device.name} (one design, l <= {served[-1]})")
        if gpu:
            ax.plot(lengths, [_gpu_ms(model, gpu, calib, phase, l, result.batch) for l in lengths], "s--",
                    label=f"GPU {gpu.name}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("prompt length" if phase == "prefill" else "context length")
        ax.set_ylabel("prefill ms" if phase == "prefill" else "decode ms/token")
        _plain_log_axes(ax)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{model.name}, {result.quant.upper()}, batch {result.batch}", fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.88, wspace=0.3)
    return fig


def plot_parallelism(path, model, device: FpgaDevice, result: PerfResult, calib: Calibration) -> None:
    """Prefill (and decode) latency of the work-balanced design against M, with each constraint's limit."""
    plt = _pyplot()
    work = Workload(result.prompt, result.gen, result.batch)
    par = Parallel(result.tp, result.pp)
    template = result.design_spec.replace(channels_per_loader={})
    ratios = eq.balanced_ratios(model, result.prompt)
    _, limits, grid = scan(model, device, template, ratios, work, par, calib)
    points = grid[:: max(1, len(grid) // CURVE_POINTS)]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    phases = ["prefill"] + (["decode"] if work.gen else [])
    for phase in phases:
        ms = []
        for m in points:
            design = balanced_design(template, ratios, m)
            channels = assign_channels(model, device, design, work, par)
            context = result.prompt if phase == "prefill" else result.prompt + result.gen - 1
            ms.append(phase_latency(model, device, design, work, par, calib, channels, phase, context).seconds * 1e3)
        ax.plot(points, ms, "o-" if phase == "prefill" else "s--", label=f"{phase} ms" + (
            "/token" if phase == "decode" else ""))
    for i, (name, m) in enumerate(limits.items()):
        if m is not None:
            ax.axvline(m, color=f"C{i + 2}", linestyle=":", label=f"{CONSTRAINT_NAMES[name]} (M<={m})")
    ax.set_xlabel("global parallelism M (MACs/cycle of q)")
    ax.set_ylabel("latency ms")
    ax.set_yscale("log")
    _plain_log_axes(ax)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{model.name} on {device.name}, {result.layers_per_device} layer(s) unfolded", fontsize=10)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.14, top=0.9)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def plot_paths(path) -> tuple[Path, Path]:
    """out.png -> (out.png, out_m.png)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise PerfModelError(f"--plot needs a .png, .pdf or .svg file name, got {str(path)!r}")
    return path, path.with_name(f"{path.stem}_m{path.suffix}")


def write_plots(path, model, device, gpu, result: PerfResult, calib: Calibration) -> tuple[Path, Path]:
    """Both plots; returns the two files written."""
    first, second = plot_paths(path)
    if not first.parent.exists():
        raise PerfModelError(f"cannot write {first}: folder {first.parent} does not exist")
    plot_sequence(first, model, device, gpu, result, calib)
    plot_parallelism(second, model, device, result, calib)
    return first, second
