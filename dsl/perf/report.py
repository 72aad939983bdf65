"""``evaluate``: one model on one FPGA (searched or given design) next to a GPU, as plain data."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import PurePath

from . import equations as eq
from .constraints import Parallel, Workload, check, kv_offchip, layers_on_device
from .data import (Calibration, Design, FpgaDevice, GpuDevice, known_devices, load_design, load_device,
                   load_model, quant_bits)
from .gpu import GpuResult, gpu_latency
from .latency import device_shares, mean_decode, phase_latency
from .search import search
from ..errors import PerfModelError


@dataclass(frozen=True)
class PerfResult:
    model: str
    device: str
    quant: str
    prompt: int
    gen: int
    batch: int
    tp: int
    pp: int
    design: str
    clock_mhz: float
    layers_per_device: int
    weights_on_chip: bool
    macs_per_cycle: dict
    channels_per_loader: dict
    resources: dict  # kind -> {"used", "available"}
    bottleneck: str
    constraint_limits: dict  # constraint -> largest M it allows (searched designs)
    prefill_ms: float
    ttft_ms: float
    decode_ms_per_token: float | None
    decode_tokens_per_s: float | None
    energy_mj_per_token: float
    prefill_bound: str
    decode_bound: str | None
    gpu: GpuResult | None = None
    notes: list = field(default_factory=list)
    violated: list = field(default_factory=list)  # constraints of the device the design breaks
    design_spec: Design | None = field(default=None, repr=False)  # the evaluated design, for plots

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("design_spec")
        return data

    def __repr__(self) -> str:
        decode = f", decode {self.decode_ms_per_token:.3f} ms/token" if self.decode_ms_per_token is not None else ""
        return (f"<dsl.perf result: {self.model} on {self.device} ({self.quant}, design {self.design}): prefill "
                f"{self.prefill_ms:.3f} ms{decode}; bottleneck {self.bottleneck}>")

    def __dsl_report__(self, plots: bool = True) -> dict:
        """This result as a design-report contribution (see ``dsl.notebook``), with the model's plots."""
        from .view import perf_contribution

        return perf_contribution(self, plots=plots)

    def _repr_html_(self) -> str:
        from ..notebook import contribution_html, view

        return view(contribution_html(self.__dsl_report__(plots=False)))


def validate_workload(model, work: Workload, par: Parallel) -> None:
    for name, value, low in (("prompt", work.prompt, 1), ("gen", work.gen, 0), ("batch", work.batch, 1),
                             ("tp", par.tp, 1), ("pp", par.pp, 1)):
        if not isinstance(value, int) or value < low:
            raise PerfModelError(f"{name} must be an integer ≥ {low}, got {value!r}")
    if work.max_context > model.max_seq:
        raise PerfModelError(f"prompt + gen = {work.max_context} exceeds {model.name}'s maximum sequence "
                             f"length {model.max_seq}")


def check_offchip_fit(model, device: FpgaDevice, bits: tuple, work: Workload, par: Parallel) -> None:
    """Weights (and, for a decoder, the KV cache) of one device must fit its off-chip memory."""
    memory = device.weight_memory
    weights = eq.model_weight_bits(model, bits[0]) / par.devices
    kv = 2 * model.layers * work.max_context * model.kv_hidden * bits[1] * work.batch / par.devices
    need_gb = (weights + (kv if model.is_decoder else 0)) / 8e9
    if need_gb > memory.capacity_gb:
        raise PerfModelError(
            f"{model.name} does not fit on {device.name}: it needs {need_gb:.1f} GB of off-chip memory per "
            f"device, the {memory.kind} holds {memory.capacity_gb:g} GB; lower the precision (--quant) or "
            f"split it over more devices (--tp/--pp)")


def fpga_device(device) -> FpgaDevice:
    device = load_device(device) if isinstance(device, (str, PurePath)) else device
    if not isinstance(device, FpgaDevice):
        raise PerfModelError(f"{device.name!r} is a GPU; pass it with --gpu "
                             f"(FPGAs: {', '.join(known_devices('fpga'))})")
    return device


def _gpu(gpu) -> GpuDevice | None:
    if gpu is None:
        return None
    gpu = load_device(gpu) if isinstance(gpu, (str, PurePath)) else gpu
    if not isinstance(gpu, GpuDevice):
        raise PerfModelError(f"{gpu.name!r} is an FPGA; pass it with --device "
                             f"(GPUs: {', '.join(known_devices('gpu'))})")
    return gpu


def evaluate(model="gpt2-medium", device="u280", quant: str = "w4a8", prompt: int = 128, gen: int = 128,
             batch: int = 1, gpu="a100", design: Design | str | None = None, tp: int = 1, pp: int = 1,
             calibration: Calibration | None = None, memory_packing: bool = True) -> PerfResult:
    """Evaluate ``model`` on ``device``: search the design (or use ``design``), then its latencies and energy.

    Names or YAML paths are accepted for model, device, gpu and design. An encoder-only model has no
    decode phase: ``gen`` is ignored and the decode figures are None. ``gpu=None`` skips the GPU side.
    """
    calib = calibration or Calibration()
    model = load_model(model) if isinstance(model, str) else model
    device = fpga_device(device)
    gpu = _gpu(gpu)
    notes = []
    if not model.is_decoder and gen:
        notes.append(f"{model.name} is encoder-only: no decode phase (gen ignored)")
        gen = 0
    work, par = Workload(prompt, gen, batch), Parallel(tp, pp)
    validate_workload(model, work, par)
    if design is not None:
        design = load_design(design) if not isinstance(design, Design) else design
        bits = (design.weight_bits, design.act_bits)
        quant = f"w{bits[0]}a{bits[1]}"
    else:
        bits = quant_bits(quant)
    check_offchip_fit(model, device, bits, work, par)
    if design is None:
        found = search(model, device, bits, work, par, calib, memory_packing)
        design, limits, bottleneck = found.design, found.limits, found.binding
    else:
        limits, bottleneck = {}, None
    return _result(model, device, design, work, par, calib, quant, limits, bottleneck, gpu, notes)


def _result(model, device, design, work, par, calib, quant, limits, bottleneck, gpu, notes) -> PerfResult:
    usage = check(model, device, design, work, par, calib)
    channels = usage.channels
    notes += _violation_notes(device, design, calib, usage)
    prefill = phase_latency(model, device, design, work, par, calib, channels, "prefill", work.prompt)
    decode = mean_decode(model, device, design, work, par, calib, channels) if work.gen else None
    power = device.tdp_w * calib.fpga_power_fraction * par.devices
    host_s = work.prompt * model.hidden * design.act_bits * work.batch / (device.host_link_gbs * 8e9)
    if decode:
        energy = eq.energy_joules(power, decode.seconds) / work.batch
    else:
        energy = eq.energy_joules(power, prefill.seconds) / (work.prompt * work.batch)
    if kv_offchip(model, design, par) and work.gen:
        notes.append(f"KV cache of {layers_on_device(model, par) - design.layers_per_device} layers streams from off chip")
    resources = {k: {"used": r.used, "available": r.available} for k, r in usage.resources.items()}
    return PerfResult(
        model=model.name, device=device.name, quant=quant, prompt=work.prompt, gen=work.gen, batch=work.batch,
        tp=par.tp, pp=par.pp, design=design.name, clock_mhz=design.clock_mhz,
        layers_per_device=design.layers_per_device, weights_on_chip=design.weights_on_chip,
        macs_per_cycle=dict(design.macs_per_cycle), channels_per_loader=dict(channels), resources=resources,
        bottleneck=bottleneck or _dominant_bound(prefill, decode, work), constraint_limits=dict(limits),
        prefill_ms=prefill.seconds * 1e3, ttft_ms=(prefill.seconds + host_s) * 1e3,
        decode_ms_per_token=decode.seconds * 1e3 if decode else None,
        decode_tokens_per_s=work.batch / decode.seconds if decode else None,
        energy_mj_per_token=energy * 1e3, prefill_bound=prefill.bound,
        decode_bound=decode.bound if decode else None,
        gpu=gpu_latency(model, gpu, work, calib) if gpu else None, notes=notes, violated=list(usage.violated),
        design_spec=design.replace(channels_per_loader=dict(channels)),
    )


def _violation_notes(device, design, calib, usage) -> list[str]:
    """What a design breaks on this device and how the latency accounts for it (shared channels or
    multipliers; capacity and ports cannot be shared, so those figures assume the design could be built)."""
    if not usage.violated:
        return []
    notes = [f"VIOLATED on {device.name}: {', '.join(usage.violated)} (rows marked '!' exceed the device)"]
    channel_share, compute_share = device_shares(device, design, calib, usage.channels)
    if channel_share < 1:
        notes.append(f"the loaders ask for more {device.weight_memory.kind} channels than the device has: they "
                     f"share them, each gets {channel_share:.0%} of its channels' bandwidth (latency includes it)")
    if compute_share < 1:
        notes.append(f"the operators ask for more MACs/cycle than the device has: they share the multipliers, "
                     f"each runs at {compute_share:.0%} of its MACs/cycle (latency includes it)")
    if {"capacity", "ports"} & set(usage.violated):
        notes.append("the design does not fit on chip: its latency is what it would reach if it did")
    return notes


def _dominant_bound(prefill, decode, work: Workload) -> str:
    """For a given design: what limits the phase that takes most of the request's time."""
    if decode and work.gen * decode.seconds > prefill.seconds:
        return f"decode: {decode.bound}"
    return f"prefill: {prefill.bound}"
