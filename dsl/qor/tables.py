"""Operator, memory and device tables (YAML data in ``tables/``), and the few rules that read them.

Latencies are bands over the clock (``[[max_mhz, cycles], ...]``); DSP tiling follows the DSP48E2's 27x18
multiplier. Everything a number comes from is in the YAML file, with its source.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import DSLError

TABLE_DIR = Path(__file__).resolve().parent / "tables"


class EstimateError(DSLError):
    """Invalid input to the QoR estimator (unknown device, bad clock, unreadable table)."""


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise EstimateError(f"cannot read table {path}: {exc}") from None
    if not isinstance(data, dict):
        raise EstimateError(f"{path} must hold a YAML mapping")
    return data


def _band(bands, key: float):
    """The value of the first band whose bound is >= key (the last band above the range)."""
    if not isinstance(bands, list):
        return bands, True
    for bound, value in bands:
        if key <= bound:
            return value, True
    return bands[-1][1], False


@dataclass
class Tables:
    """One family's tables at one clock (``latency``/``delay_ns`` answer for that clock)."""

    data: dict
    clock_mhz: float
    source: str
    notes: list = field(default_factory=list)

    @property
    def period_ns(self) -> float:
        return 1e3 / self.clock_mhz

    @property
    def usable_ns(self) -> float:
        """Clock period minus the uncertainty Vitis reserves (combinational chains must fit in it)."""
        return self.period_ns * (1 - self.data.get("clock_uncertainty_fraction", 0.27))

    def op(self, kind: str) -> dict:
        try:
            return self.data["operators"][kind]
        except KeyError:
            raise EstimateError(f"operator table {self.source} has no entry {kind!r}") from None

    def latency(self, kind: str, bits: int = 32) -> int:
        entry = self.op(kind)
        if "latency_per_bit" in entry:
            return int(entry["latency_per_bit"] * bits + entry.get("latency_extra", 0))
        value, inside = _band(entry["latency"], self.clock_mhz)
        if not inside:
            self._note(f"{self.clock_mhz:g} MHz is above the {kind} latency table; its highest band is used")
        return int(value)

    def delay_ns(self, kind: str, bits: int = 32) -> float:
        value, _ = _band(self.op(kind).get("delay_ns", 0.0), bits)
        return float(value)

    def memory(self, kind: str) -> dict:
        return self.data["memories"][kind]

    def ports(self, storage: str) -> int:
        return int(self.data["storage_ports"].get(storage, self.data["storage_ports"]["auto"]))

    def control(self, key: str) -> float:
        return self.data["control"][key]

    def _note(self, text: str):
        if text not in self.notes:
            self.notes.append(text)

    # -- DSP48E2 multipliers ------------------------------------------------------------------------
    def dsp_count(self, a_bits: int, b_bits: int, result_bits: int) -> int:
        """DSP48E2 slices of an a x b two's-complement multiply keeping ``result_bits`` of the product.

        One slice multiplies 27 x 18 bits; wider operands are split into 26 x 17-bit unsigned tiles (the top
        tile keeps the sign), and a tile whose partial product starts at or above the kept result bits is
        not built. Both orientations are tried. Products of at most ``lut_multiplier_max_bits`` bits stay in
        LUTs (0 slices).
        """
        d = self.data["dsp48e2"]
        if a_bits + b_bits <= d["lut_multiplier_max_bits"]:
            return 0
        return min(_tiles(a_bits, b_bits, d["a_bits"], d["b_bits"], result_bits),
                   _tiles(b_bits, a_bits, d["a_bits"], d["b_bits"], result_bits))


def _tiles(a: int, b: int, pa: int, pb: int, keep: int) -> int:
    if a <= pa and b <= pb:
        return 1
    step_a, step_b = pa - 1, pb - 1
    na, nb = math.ceil(max(a - 1, 1) / step_a), math.ceil(max(b - 1, 1) / step_b)
    return sum(1 for i in range(na) for j in range(nb) if i * step_a + j * step_b < keep)


@functools.lru_cache(maxsize=None)
def _family(name_or_path: str) -> tuple:
    path = Path(name_or_path)
    if not path.suffix:
        path = TABLE_DIR / f"{name_or_path}.yaml"
    data = _read(path)
    for key in ("operators", "memories", "storage_ports", "control", "dsp48e2"):
        if key not in data:
            raise EstimateError(f"table {path} has no '{key}' section")
    return data, str(path)


def load_tables(family: str, clock_mhz: float) -> Tables:
    data, source = _family(str(family))
    return Tables(data, clock_mhz, source)


@dataclass(frozen=True)
class Device:
    """What the estimator checks a design against: resources per SLR and the off-chip channels."""

    name: str
    slrs: int
    totals: dict
    usable_fraction: float
    tables: str
    channels: int
    channel_gbs: float
    memory_kind: str

    def per_slr(self, kind: str) -> float:
        return self.totals[kind] / self.slrs


def known_devices() -> list[str]:
    return sorted(_read(TABLE_DIR / "devices.yaml"))


def load_device(name: str) -> Device:
    from ..perf.data import load_device as perf_device

    table = _read(TABLE_DIR / "devices.yaml")
    key = str(name).lower().replace("alveo", "").strip(" -_")
    if key not in table:
        raise EstimateError(f"unknown device {name!r} for the estimator; known: {', '.join(sorted(table))}")
    entry = table[key]
    memory = perf_device(entry["perf_device"]).weight_memory
    return Device(key, int(entry["slrs"]), dict(entry["totals"]), float(entry["usable_fraction"]),
                  entry["tables"], memory.channels, memory.channel_gbs, memory.kind)


def check_clock(clock_mhz) -> float:
    if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, (int, float)) or not 1 <= clock_mhz <= 1000:
        raise EstimateError(f"clock_mhz must be a number of MHz in 1..1000, got {clock_mhz!r}")
    return float(clock_mhz)
