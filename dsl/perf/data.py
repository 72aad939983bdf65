"""Plain data of the performance model: devices, Transformer models, designs and calibration.

Device and model descriptions are YAML files shipped in ``devices/`` and ``models/``; a user may pass a
path to their own file wherever a name is accepted. Everything here is a frozen dataclass so that the
model's functions take and return plain values.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import PerfModelError

_HERE = Path(__file__).resolve().parent
DEVICE_DIR = _HERE / "devices"
MODEL_DIR = _HERE / "models"
DESIGN_DIR = _HERE / "designs"

# The linear operators of one Transformer layer: projections q, k, v, attention scores a1 = Q·Kᵀ,
# attention output a2 = softmax(a1)·V, output projection p, FFN f1 and f2.
LINEAR_OPS = ("q", "k", "v", "a1", "a2", "p", "f1", "f2")
WEIGHT_OPS = ("q", "k", "v", "p", "f1", "f2")
ATTENTION_OPS = ("a1", "a2")

# quantisation name -> (weight bits b_W, activation bits b_A)
QUANTS = {
    "w4a4": (4, 4),
    "w4a8": (4, 8),
    "w8a8": (8, 8),
    "w4a16": (4, 16),
    "w8a16": (8, 16),
    "w16a16": (16, 16),
}


def quant_bits(quant: str) -> tuple[int, int]:
    """(b_W, b_A) of a quantisation name such as ``w4a8``."""
    try:
        return QUANTS[quant.lower()]
    except KeyError:
        raise PerfModelError(f"unknown quantisation {quant!r}; known: {', '.join(QUANTS)}") from None


@dataclass(frozen=True)
class ComputeUnit:
    """One kind of multiplier resource (DSP slice, AI tensor block, AI Engine tile)."""

    name: str
    count: int
    macs_per_cycle: dict  # quant -> MACs one unit performs per cycle (DSP packing included)
    clock_mhz: float | None = None  # own clock when it differs from the fabric clock (AI Engines)


@dataclass(frozen=True)
class MemoryKind:
    """One kind of on-chip memory block; ``shapes`` lists its legal (port width, depth) configurations."""

    name: str
    count: int
    shapes: tuple  # ((width_bits, depth_words), ...)

    @property
    def bits(self) -> int:
        return max(w * d for w, d in self.shapes)

    @property
    def max_width(self) -> int:
        return max(w for w, _ in self.shapes)


@dataclass(frozen=True)
class OffChipMemory:
    kind: str
    capacity_gb: float
    bandwidth_gbs: float
    channels: int

    @property
    def channel_gbs(self) -> float:
        return self.bandwidth_gbs / self.channels


@dataclass(frozen=True)
class FpgaDevice:
    name: str
    title: str
    source: str
    compute: tuple
    memories: tuple
    offchip: tuple  # first entry is the memory weights are streamed from
    typical_clock_mhz: float
    slrs: int
    tdp_w: float
    links: dict = field(default_factory=lambda: {"count": 0, "gbps": 0})
    host_link_gbs: float = 12.0
    peak_tops: dict = field(default_factory=dict)
    notes: str = ""
    aliases: tuple = ()
    kind: str = "fpga"

    @property
    def weight_memory(self) -> OffChipMemory:
        return self.offchip[0]

    @property
    def onchip_bits(self) -> int:
        return sum(m.count * m.bits for m in self.memories)

    @property
    def link_gbps(self) -> float:
        return self.links["count"] * self.links["gbps"]


@dataclass(frozen=True)
class GpuDevice:
    name: str
    title: str
    source: str
    peak_tflops: dict
    memory_gb: float
    bandwidth_gbs: float
    onchip_mb: float
    tdp_w: float
    sms: int = 0
    notes: str = ""
    aliases: tuple = ()
    kind: str = "gpu"


@dataclass(frozen=True)
class TransformerModel:
    """Symbols: N = layers, d = hidden, h = heads, d_FFN = ffn; kv_heads < heads for grouped-query attention."""

    name: str
    title: str
    kind: str  # "encoder" (no decode phase) or "decoder"
    layers: int
    hidden: int
    heads: int
    ffn: int
    max_seq: int
    kv_heads: int = 0  # 0: same as heads
    gated_ffn: bool = False  # SwiGLU-style FFN: gate and up projections together form f1
    source: str = ""
    aliases: tuple = ()

    @property
    def kv_hidden(self) -> int:
        """Width of K and V: d · kv_heads / h."""
        return self.hidden * (self.kv_heads or self.heads) // self.heads

    @property
    def is_decoder(self) -> bool:
        return self.kind == "decoder"


@dataclass(frozen=True)
class Design:
    """A concrete accelerator: what ``--design FILE.yaml`` describes and what the search produces.

    macs_per_cycle: M_i per linear operator; layers_per_device: C; channels_per_loader: off-chip channels
    given to each streaming operator's loader; weight_reuse: rows of each array sharing one loaded weight
    (r_i in prefill); weight_tile_depth: cycles of weights one tile holds (it is double-buffered);
    kv_on_chip: whether a decoder keeps the KV cache of all its layers on chip or streams it from off chip
    (only matters when fewer layers are unfolded than the device runs).
    """

    macs_per_cycle: dict
    clock_mhz: float
    weight_bits: int
    act_bits: int
    layers_per_device: int = 1
    channels_per_loader: dict = field(default_factory=dict)  # op -> channels (may be fractional: shared)
    weight_reuse: int = 8
    memory_packing: bool = True
    weight_tile_depth: int = 256
    weights_on_chip: bool = False
    kv_on_chip: bool = True  # a decoder's whole KV cache resident on chip (else streamed per layer)
    name: str = "searched"
    model: str = ""
    device: str = ""
    notes: str = ""

    def replace(self, **changes) -> "Design":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ParameterRange:
    """Valid values of one calibration parameter: a number (or integer) ≥ low (> low when ``low_open``),
    ≤ high when given."""

    integer: bool
    low: float
    low_open: bool = False
    high: float | None = None

    def describe(self) -> str:
        what = "an integer" if self.integer else "a number"
        if self.high is not None:
            return f"{what} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return f"{what} {'>' if self.low_open else '≥'} {self.low:g}"

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.integer and value != int(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)


FRACTION = ParameterRange(integer=False, low=0, low_open=True, high=1)
NON_NEGATIVE_TIME = ParameterRange(integer=False, low=0)

# Valid range of every calibration parameter (checked by Calibration itself, whatever the source of the
# value: Python, --calibration FILE.yaml or --set NAME=VALUE).
CALIBRATION_RANGES = {
    "achieved_clock_fraction": FRACTION,
    "compute_usable_fraction": FRACTION,
    "onchip_usable_fraction": FRACTION,
    "offchip_channel_efficiency": FRACTION,
    "link_efficiency": FRACTION,
    "link_latency_us": NON_NEGATIVE_TIME,
    "operator_startup_cycles": ParameterRange(integer=True, low=0),
    "fpga_power_fraction": FRACTION,
    "gpu_power_fraction": FRACTION,
    "gpu_compute_efficiency": FRACTION,
    "gpu_memory_efficiency": FRACTION,
    "gpu_kernel_launch_us": NON_NEGATIVE_TIME,
    "gpu_kernels_per_layer": ParameterRange(integer=True, low=9),  # 8 matmuls and the softmax at least
}


@dataclass(frozen=True)
class Calibration:
    """The model's free parameters. Each is a physical quantity; none is fitted to a particular result.
    Valid ranges: ``CALIBRATION_RANGES`` (fractions in (0, 1], times ≥ 0); a value outside raises
    PerfModelError.

    achieved_clock_fraction: fabric clock a large searched design closes at, as a fraction of the device's
        typical kernel clock (routing congestion across SLRs lowers it).
    compute_usable_fraction: share of multiplier units left to the linear operators after the
        floating-point softmax / LayerNorm / GeLU units and address logic take theirs.
    onchip_usable_fraction: share of block memories a design can use (the platform shell takes some).
    offchip_channel_efficiency: achieved fraction of an off-chip channel's peak bandwidth for long bursts.
    link_efficiency: alpha, achieved fraction of the network links' line rate for all-reduce traffic.
    link_latency_us: one-way latency of an inter-device message (MAC, switch-less cable, PHY).
    operator_startup_cycles: cycles from an operator's first input to its first output (array fill and
        drain, loop pipeline depth, FIFO hops, the row-wise non-linear unit in between); it adds once per
        operator on the critical chain of every layer and matters in decode, where stages are short.
    fpga_power_fraction / gpu_power_fraction: average board power while running, as a fraction of TDP.
    gpu_compute_efficiency / gpu_memory_efficiency: achieved fraction of peak tensor throughput and of
        peak DRAM bandwidth by the framework's kernels.
    gpu_kernel_launch_us: host-side dispatch time per kernel of an eager framework; a kernel takes at
        least this long because launches do not overlap when kernels are short.
    gpu_kernels_per_layer: kernels one Transformer layer launches (8 matmuls plus norms, softmax,
        activation, residual adds, KV-cache appends and layout copies).
    """

    achieved_clock_fraction: float = 0.85
    compute_usable_fraction: float = 0.9
    onchip_usable_fraction: float = 0.9
    offchip_channel_efficiency: float = 0.85
    link_efficiency: float = 0.8
    link_latency_us: float = 1.0
    operator_startup_cycles: int = 128
    fpga_power_fraction: float = 0.5
    gpu_power_fraction: float = 0.6
    gpu_compute_efficiency: float = 0.6
    gpu_memory_efficiency: float = 0.8
    gpu_kernel_launch_us: float = 8.0
    gpu_kernels_per_layer: int = 16

    def __post_init__(self):
        for name, valid in CALIBRATION_RANGES.items():
            value = getattr(self, name)
            if not valid.contains(value):
                raise PerfModelError(f"{name} must be {valid.describe()}, got {value!r}")
            if valid.integer:
                object.__setattr__(self, name, int(value))

    def replace(self, **changes) -> "Calibration":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise PerfModelError(f"unknown calibration parameter(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict:
    return dict(_read_yaml_cached(Path(path).resolve()))


@functools.lru_cache(maxsize=None)
def _read_yaml_cached(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PerfModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise PerfModelError(f"{path} must hold a YAML mapping")
    return data


def normal_name(text) -> str:
    """Catalogue key of a name: lower case without spaces, hyphens, underscores or dots, so that
    "Stratix 10 NX 2100", "stratix10-nx-2100" and "STRATIX10NX2100" are one name."""
    return re.sub(r"[\s\-_.]+", "", str(text).lower())


@functools.lru_cache(maxsize=None)
def _catalogue(directory: Path) -> dict[str, Path]:
    """Normalised name and alias (from each file's ``aliases``) -> file; two files may not share a key."""
    table = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        for key in map(normal_name, [data.get("name", path.stem), *data.get("aliases", [])]):
            if table.get(key, path) != path:
                raise PerfModelError(f"{path.name} and {table[key].name} both claim the name {key!r}")
            table[key] = path
    return table


def _resolve(name_or_path, directory: Path, what: str) -> dict:
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        return _read_yaml(Path(text))
    table = _catalogue(directory)
    path = table.get(normal_name(text))
    if path is None:
        names = sorted({p.stem for p in table.values()})
        raise PerfModelError(f"unknown {what} {text!r}; known: {', '.join(names)} (or a path to a .yaml file)")
    return _read_yaml(path)


def _build(cls, data: dict, what: str):
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: (tuple(v) if k == "aliases" else v) for k, v in data.items() if k in names})
    except TypeError as exc:
        raise PerfModelError(f"incomplete {what} description {data.get('name', '?')!r}: {exc}") from None


def _fpga_from(data: dict) -> FpgaDevice:
    data = dict(data)
    data["compute"] = tuple(_build(ComputeUnit, c, "compute unit") for c in data.get("compute", []))
    data["memories"] = tuple(
        MemoryKind(m["name"], int(m["count"]), tuple(tuple(s) for s in m["shapes"])) for m in data.get("memories", [])
    )
    data["offchip"] = tuple(_build(OffChipMemory, m, "off-chip memory") for m in data.get("offchip", []))
    if not data["compute"] or not data["memories"] or not data["offchip"]:
        raise PerfModelError(f"FPGA {data.get('name', '?')!r} needs compute, memories and offchip entries")
    return _build(FpgaDevice, data, "device")


def load_device(name_or_path) -> FpgaDevice | GpuDevice:
    """A device by name or alias (``u280``, ``a100``, ...) or from a YAML file path."""
    data = _resolve(name_or_path, DEVICE_DIR, "device")
    if data.get("kind") == "gpu":
        return _build(GpuDevice, data, "device")
    return _fpga_from(data)


POSITIVE_INT = ParameterRange(integer=True, low=1)
NON_NEGATIVE_INT = ParameterRange(integer=True, low=0)
POSITIVE = ParameterRange(integer=False, low=0, low_open=True)
# Valid values of the numeric fields of model and design files (what a file may hold, checked on loading).
MODEL_RANGES = {"layers": POSITIVE_INT, "hidden": POSITIVE_INT, "heads": POSITIVE_INT, "ffn": POSITIVE_INT,
                "max_seq": POSITIVE_INT, "kv_heads": NON_NEGATIVE_INT}
DESIGN_RANGES = {"clock_mhz": POSITIVE, "weight_bits": POSITIVE_INT, "act_bits": POSITIVE_INT,
                 "layers_per_device": POSITIVE_INT, "weight_reuse": POSITIVE_INT, "weight_tile_depth": POSITIVE_INT}


def _check_fields(obj, ranges: dict, what: str):
    for name, valid in ranges.items():
        value = getattr(obj, name)
        if not valid.contains(value):
            raise PerfModelError(f"{what}: {name} must be {valid.describe()}, got {value!r}")
        if valid.integer:
            object.__setattr__(obj, name, int(value))


def load_model(name_or_path) -> TransformerModel:
    """A Transformer by name or alias (``gpt2-medium``, ``vicuna-13b``, ...) or from a YAML file path."""
    model = _build(TransformerModel, _resolve(name_or_path, MODEL_DIR, "model"), "model")
    if model.kind not in ("encoder", "decoder"):
        raise PerfModelError(f"model {model.name!r}: kind must be 'encoder' or 'decoder', not {model.kind!r}")
    _check_fields(model, MODEL_RANGES, f"model {model.name!r}")
    return model


def load_design(path) -> Design:
    """A design file (see ``designs/``): MACs/cycle per operator, clock, precision, channels, C."""
    data = _read_yaml(Path(path)) if Path(str(path)).exists() else _resolve(path, DESIGN_DIR, "design")
    if "quant" in data:
        data["weight_bits"], data["act_bits"] = quant_bits(data.pop("quant"))
    macs = data.get("macs_per_cycle")
    if isinstance(macs, (int, float)):  # one figure for every linear operator
        data["macs_per_cycle"] = {op: macs for op in LINEAR_OPS}
    elif not isinstance(macs, dict) or set(macs) != set(LINEAR_OPS):
        raise PerfModelError(f"design {path}: macs_per_cycle must be a number or give each of {', '.join(LINEAR_OPS)}")
    loaders = data.get("channels_per_loader", {})
    if not isinstance(loaders, dict):  # one number for every loader
        loaders = data["channels_per_loader"] = {"*": loaders}
    for op, channels in loaders.items():
        if op != "*" and op not in LINEAR_OPS or not POSITIVE.contains(channels):
            raise PerfModelError(f"design {path}: channels_per_loader must be a positive number (for every loader) "
                                 f"or map operators ({', '.join(LINEAR_OPS)}) to positive numbers, got "
                                 f"{data['channels_per_loader'] if '*' not in loaders else loaders['*']!r}")
    design = _build(Design, data, "design")
    if any(not POSITIVE.contains(m) for m in design.macs_per_cycle.values()):
        raise PerfModelError(f"design {design.name!r}: MACs/cycle must be positive numbers, got "
                             f"{design.macs_per_cycle}")
    _check_fields(design, DESIGN_RANGES, f"design {design.name!r}")
    return design


def known_devices(kind: str | None = None) -> list[str]:
    names = sorted({p.stem for p in _catalogue(DEVICE_DIR).values()})
    return [n for n in names if kind is None or load_device(n).kind == kind]


def known_models() -> list[str]:
    return sorted({p.stem for p in _catalogue(MODEL_DIR).values()})
