"""Latency of the spatial layer pipeline in prefill and decode (paper §4.3), one device group.

  T = (1/f) · ⌈N/(C·p2)⌉ · ( max(T_k, T_v) + C · max_i T_i ) + start-up + communication

K and V must be complete before attention starts (the synchronisation term); after it every stage
streams into the next, so the slowest stage bounds the rest. T_i is a stage's compute time slowed by its
loader when the loader cannot keep up. Start-up: each operator of the chain k → a1 → a2 → p → f1 → f2
waits ``operator_startup_cycles`` for its first input; negligible in prefill, not in decode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import equations as eq
from ..errors import PerfModelError
from .constraints import Parallel, Workload, layers_on_device, loader_demand
from .data import ATTENTION_OPS, LINEAR_OPS, Calibration, Design, FpgaDevice, TransformerModel

STARTUP_CHAIN = ("k", "a1", "a2", "p", "f1", "f2")  # q, k, v start together
ALLREDUCES_PER_LAYER = 2  # after the attention projection and after the FFN (tensor parallelism)


@dataclass(frozen=True)
class PhaseLatency:
    seconds: float
    cycles: float
    stage_cycles: dict  # op -> cycles of its stage in one layer (plus "all-reduce" with tp > 1)
    bound: str  # what the slowest stage is limited by


def stage_cycles(macs: float, m_i: float, demand_bps: float, supply_bps: float) -> float:
    """T_i = (MACs_i / M_i) · max(1, B_i / B_available): compute time, stretched when the loader lags."""
    slowdown = max(1.0, demand_bps / supply_bps) if demand_bps else 1.0
    return macs / m_i * slowdown


def pipeline_cycles(stages: dict[str, float], iterations: int, unfolded: int) -> float:
    """⌈N/C⌉ · ( max(T_k, T_v) + C · max_i T_i ): K/V synchronisation, then the slowest stage bounds the rest."""
    return iterations * (max(stages["k"], stages["v"]) + unfolded * max(stages.values()))


def startup_cycles(layers: int, per_operator: int) -> float:
    """Layers · |chain| · start-up cycles: first-output latency of every operator on a layer's critical chain."""
    return layers * len(STARTUP_CHAIN) * per_operator


def phase_latency(model: TransformerModel, device: FpgaDevice, design: Design, work: Workload, par: Parallel,
                  calib: Calibration, channels: dict, phase: str, context: int) -> PhaseLatency:
    """Latency of one prefill (context = prompt length) or one decode step (context = KV-cache length)."""
    clock_hz = design.clock_mhz * 1e6
    macs = eq.prefill_macs(model, context) if phase == "prefill" else eq.decode_macs(model, context)
    memory = device.weight_memory
    shared_channels, shared_compute = device_shares(device, design, calib, channels)
    stages, slowed = {}, set()
    for op in LINEAR_OPS:
        streams = op in channels and (phase == "decode" or op not in ATTENTION_OPS)
        demand = loader_demand(model, design, work, op, phase, clock_hz) * shared_compute if streams else 0.0
        supply = eq.channel_bandwidth(memory.channel_gbs, channels.get(op, 0) * shared_channels,
                                      calib.offchip_channel_efficiency)
        m_i = design.macs_per_cycle[op] * shared_compute
        stages[op] = stage_cycles(macs[op] * work.batch / par.tp, m_i, demand, supply)
        if demand > supply:
            slowed.add(op)
    tokens = (context if phase == "prefill" else 1) * work.batch
    extra = _communication_cycles(model, device, design, par, calib, tokens, stages)
    layers = layers_on_device(model, par)
    iterations = math.ceil(layers / design.layers_per_device)
    body = pipeline_cycles(stages, iterations, design.layers_per_device)
    startup = startup_cycles(layers, calib.operator_startup_cycles)
    cycles = body + startup + extra
    return PhaseLatency(cycles / clock_hz, cycles, stages, _bound(stages, slowed, startup, body))


def device_shares(device: FpgaDevice, design: Design, calib: Calibration, channels: dict) -> tuple[float, float]:
    """(s_B, s_M): the share of its channels' bandwidth each loader gets and the share of its MACs/cycle each
    operator gets when the design asks the device for more than it has (1, 1 for a design that fits)."""
    requested = sum(channels.values()) * design.layers_per_device
    quant = f"w{design.weight_bits}a{design.act_bits}"
    budget = eq.compute_budget(device, quant, design.clock_mhz, calib.compute_usable_fraction)
    return (eq.channel_share(requested, device.weight_memory.channels),
            eq.compute_share(eq.compute_demand(design.macs_per_cycle, design.layers_per_device), budget))


def _communication_cycles(model, device, design, par, calib, tokens, stages) -> float:
    """Tensor parallelism adds an all-reduce stage (non-blocking: it streams like any stage) and, per layer,
    the link latency of its two all-reduces; pipeline parallelism adds one hop per device boundary."""
    clock_hz = design.clock_mhz * 1e6
    latency_cycles = calib.link_latency_us * 1e-6 * clock_hz
    extra = 0.0
    if par.tp > 1:
        if device.link_gbps <= 0:
            raise PerfModelError(f"device {device.name!r} has no network links for tensor parallelism")
        comm = eq.allreduce_seconds(tokens, model.hidden, design.act_bits, device.link_gbps, calib.link_efficiency)
        stages["all-reduce"] = comm * clock_hz
        extra += layers_on_device(model, par) * ALLREDUCES_PER_LAYER * latency_cycles
    if par.pp > 1:
        extra += (par.pp - 1) * latency_cycles
    return extra


def _bound(stages: dict, slowed: set, startup: float, body: float) -> str:
    slowest = max(stages, key=stages.get)
    if startup > body:
        return "operator start-up"
    if slowest == "all-reduce":
        return "network all-reduce"
    return f"off-chip bandwidth ({slowest})" if slowest in slowed else f"compute ({slowest})"


def decode_contexts(work: Workload, samples: int = 17) -> list[int]:
    """KV-cache lengths at which to evaluate decode: prompt … prompt+gen−1, evenly sampled (latency is
    piecewise linear in the context, so the sampled mean is the mean over all generated tokens)."""
    if work.gen <= samples:
        return [work.prompt + j for j in range(work.gen)]
    step = (work.gen - 1) / (samples - 1)
    return [work.prompt + round(i * step) for i in range(samples)]


def mean_decode(model, device, design, work, par, calib, channels) -> PhaseLatency:
    """Decode latency per step averaged over the generated tokens; stages and bound at the last context."""
    steps = [phase_latency(model, device, design, work, par, calib, channels, "decode", c)
             for c in decode_contexts(work)]
    seconds = sum(s.seconds for s in steps) / len(steps)
    return PhaseLatency(seconds, sum(s.cycles for s in steps) / len(steps), steps[-1].stage_cycles, steps[-1].bound)
