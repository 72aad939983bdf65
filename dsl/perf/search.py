"""Search for the largest feasible global parallelism M (paper §4.4: a linear search over M).

For each number C of unfolded layers, M_i = round(M · ratio_i) with the work-balanced ratios, and M is
scanned on a linear grid up to twice the compute bound; the largest M meeting all four constraints is
refined to the integer. Each constraint's own limit (largest grid M it allows) is kept: the smallest is
the bottleneck, and the plot of latency against M draws them. C is chosen by the latency of the request.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import equations as eq
from .constraints import CONSTRAINTS, Parallel, Workload, assign_channels, check, layers_on_device
from .data import LINEAR_OPS, Calibration, Design, FpgaDevice, TransformerModel
from .latency import mean_decode, phase_latency
from ..errors import PerfModelError

GRID_POINTS = 64
MAX_OFFCHIP_UNFOLD = 2  # more unfolded layers split the channels too thin to pay off


@dataclass(frozen=True)
class SearchResult:
    design: Design
    m: int  # global parallelism M = M_q
    limits: dict  # constraint -> largest M on the grid it allows (None: allows the whole grid)
    binding: str  # the constraint that stops M
    grid: tuple  # the M values scanned (for plots)


def balanced_design(template: Design, ratios: dict, m: float) -> Design:
    """The design with M_i = max(1, round(M · ratio_i))."""
    return template.replace(macs_per_cycle={op: max(1, round(m * ratios[op])) for op in LINEAR_OPS})


def template_design(model, device: FpgaDevice, quant_bits: tuple, calib: Calibration,
                    option: tuple[int, bool, bool], memory_packing: bool = True) -> Design:
    unfolded, on_chip, kv_on_chip = option
    clock = device.typical_clock_mhz * calib.achieved_clock_fraction
    return Design(macs_per_cycle={}, clock_mhz=clock, weight_bits=quant_bits[0], act_bits=quant_bits[1],
                  layers_per_device=unfolded, weights_on_chip=on_chip, kv_on_chip=kv_on_chip, name="searched",
                  memory_packing=memory_packing,
                  model=model.name, device=device.name)


def unfold_candidates(model, device, quant_bits, calib, par: Parallel) -> list[tuple[int, bool, bool]]:
    """(C, weights on chip, KV cache on chip): small divisors of the layers with weights streamed and the
    KV cache resident or streamed, and all layers with weights on chip when they fit in block memory."""
    layers = layers_on_device(model, par)
    kv_options = (True, False) if model.is_decoder else (True,)
    options = [(c, False, kv) for c in range(1, min(layers, MAX_OFFCHIP_UNFOLD) + 1) if layers % c == 0
               for kv in kv_options if kv or c < layers]
    weight_bits = layers * sum(eq.layer_weights(model).values()) * quant_bits[0] / par.tp
    if weight_bits <= device.onchip_bits * calib.onchip_usable_fraction:
        options.append((layers, True, True))
    return options


def scan(model, device, template: Design, ratios, work: Workload, par: Parallel, calib: Calibration):
    """Linear scan of M: (largest feasible M or 0, per-constraint limits, grid)."""
    quant = f"w{template.weight_bits}a{template.act_bits}"
    budget = eq.compute_budget(device, quant, template.clock_mhz, calib.compute_usable_fraction)
    upper = budget / (template.layers_per_device * sum(ratios.values()))
    step = max(1, math.ceil(2 * upper / GRID_POINTS))
    grid = tuple(range(step, max(step, int(2 * upper)) + 1, step))
    limits = {c: None for c in CONSTRAINTS}
    failed, best = set(), 0
    for m in grid:
        violated = set(check(model, device, balanced_design(template, ratios, m), work, par, calib).violated)
        for name in CONSTRAINTS:
            if name in violated and name not in failed:
                failed.add(name)
                limits[name] = m - step
        if not violated and not failed:
            best = m
    best = _refine(model, device, template, ratios, work, par, calib, best, step)
    for name, m in limits.items():  # the binding constraint's limit is the refined M
        if m is not None and m <= best:
            limits[name] = best
    return best, limits, grid


def _refine(model, device, template, ratios, work, par, calib, low: int, step: int) -> int:
    """Bisection between the last feasible grid point and the next one."""
    def feasible(m):
        return m >= 1 and check(model, device, balanced_design(template, ratios, m), work, par, calib).feasible

    if low == 0:
        high, low = step, 0
        if not feasible(1):
            return 0
        low = 1
    high = low + step
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if feasible(mid) else (low, mid)
    return low


def request_seconds(model, device, design, work, par, calib) -> float:
    """Objective to choose C: prefill plus all decode steps."""
    channels = assign_channels(model, device, design, work, par)
    total = phase_latency(model, device, design, work, par, calib, channels, "prefill", work.prompt).seconds
    if model.is_decoder and work.gen > 0:
        total += work.gen * mean_decode(model, device, design, work, par, calib, channels).seconds
    return total


def search(model: TransformerModel, device: FpgaDevice, quant_bits: tuple, work: Workload, par: Parallel,
           calib: Calibration, memory_packing: bool = True) -> SearchResult:
    """The fastest design among the largest feasible M of every candidate C (``memory_packing``: whether
    several narrow weights share one memory word)."""
    ratios = eq.balanced_ratios(model, work.prompt)
    best = None
    for option in unfold_candidates(model, device, quant_bits, calib, par):
        template = template_design(model, device, quant_bits, calib, option, memory_packing)
        m, limits, grid = scan(model, device, template, ratios, work, par, calib)
        if m == 0:
            continue
        design = balanced_design(template, ratios, m)
        design = design.replace(channels_per_loader=assign_channels(model, device, design, work, par))
        seconds = request_seconds(model, device, design, work, par, calib)
        if best is None or seconds < best[0]:
            best = (seconds, SearchResult(design, m, limits, _binding(limits), grid))
    if best is None:
        raise PerfModelError(
            f"no feasible design of {model.name} on {device.name}: even M = 1 breaks a constraint "
            f"(try a shorter sequence, lower precision or more devices with --tp/--pp)")
    return best[1]


CONSTRAINT_NAMES = {
    "compute": "compute (MACs/cycle)", "capacity": "on-chip memory capacity",
    "ports": "on-chip memory ports", "bandwidth": "off-chip bandwidth",
}


def _binding(limits: dict) -> str:
    bound = {name: m for name, m in limits.items() if m is not None}
    return CONSTRAINT_NAMES[min(bound, key=bound.get)] if bound else "none within 2x the compute bound"
