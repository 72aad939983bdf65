"""Latency against sequence length with one design, as a real accelerator runs: a bitstream is built once
for the longest request it must serve and is not re-synthesised per prompt.

``evaluate`` searches the best design for one request, so two prompt lengths evaluated separately may get
two designs (and the longer prompt may come out marginally faster). A sweep instead searches once, for the
longest request of the study, and evaluates that design at every length; with a fixed design every stage's
time grows with the length, so prefill and decode latency are monotonic in it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .constraints import Parallel, Workload, assign_channels
from .data import Calibration, Design, load_design, load_model, quant_bits
from .latency import phase_latency
from .report import check_offchip_fit, fpga_device, validate_workload
from .search import search
from ..errors import PerfModelError


@dataclass(frozen=True)
class SweepPoint:
    length: int
    prefill_ms: float  # a prompt of `length` tokens
    decode_ms_per_token: float | None  # the step that brings the KV cache to `length` tokens (decoders)


@dataclass(frozen=True)
class Sweep:
    design: Design  # the one design every point uses
    workload: Workload  # the request it was searched (or checked) for: the longest of the study
    points: tuple  # SweepPoint, by length


def study_workload(model, max_length: int, gen: int, batch: int) -> Workload:
    """The longest request of a study, which its design must serve: max_length tokens of context, a prompt
    of max_length − g followed by g generated tokens (g = gen, at most max_length − 1; 0 for an encoder)."""
    g = min(gen, max_length - 1) if model.is_decoder else 0
    return Workload(max_length - g, g, batch)


def sweep(model, device, lengths, quant: str = "w4a8", gen: int = 128, batch: int = 1,
          design: Design | str | None = None, tp: int = 1, pp: int = 1, calibration: Calibration | None = None,
          memory_packing: bool = True) -> Sweep:
    """Prefill and decode latency at each sequence length in ``lengths`` with one design: ``design`` when
    given, else the design searched once for ``study_workload(model, max(lengths), gen, batch)``."""
    calib = calibration or Calibration()
    model = load_model(model) if isinstance(model, str) else model
    device = fpga_device(device)
    lengths = sorted(set(lengths))
    if not lengths or lengths[0] < 1 or not all(isinstance(l, int) for l in lengths):
        raise PerfModelError(f"sweep lengths must be integers ≥ 1, got {lengths!r}")
    work, par = study_workload(model, lengths[-1], gen, batch), Parallel(tp, pp)
    validate_workload(model, work, par)
    if design is not None:
        design = load_design(design) if not isinstance(design, Design) else design
        bits = (design.weight_bits, design.act_bits)
    else:
        bits = quant_bits(quant)
    check_offchip_fit(model, device, bits, work, par)
    if design is None:
        design = search(model, device, bits, work, par, calib, memory_packing).design
    channels = assign_channels(model, device, design, work, par)
    points = tuple(_point(model, device, design, batch, par, calib, channels, l) for l in lengths)
    return Sweep(design.replace(channels_per_loader=dict(channels)), work, points)


def _point(model, device, design, batch, par, calib, channels, length: int) -> SweepPoint:
    decoder = model.is_decoder
    work = Workload(length, 1 if decoder else 0, batch)
    prefill = phase_latency(model, device, design, work, par, calib, channels, "prefill", length)
    decode = phase_latency(model, device, design, work, par, calib, channels, "decode", length - 1) if decoder else None
    return SweepPoint(length, prefill.seconds * 1e3, decode.seconds * 1e3 if decode else None)
