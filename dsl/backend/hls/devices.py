"""Device presets (``devices.yaml``) merged with the user's ``configs``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ...errors import BuildError

DEFAULT_DEVICE = "u280"
DEFAULT_FREQUENCY_MHZ = 300
MAX_FREQUENCY_MHZ = 1000  # a 1 ns period: beyond what any FPGA fabric clock reaches
CONFIG_KEYS = {"device", "part", "platform", "frequency", "hbm", "ddr", "memory", "banks", "sp"}


@dataclass(frozen=True)
class Device:
    name: str
    part: str
    platform: str
    memory: str  # "HBM" (pseudo-channels) or "DDR" (banks)
    banks: int
    sp: str  # connectivity memory spelling, e.g. "HBM[{bank}]"
    frequency: int = DEFAULT_FREQUENCY_MHZ
    mapping: dict = field(default_factory=dict)  # argument name -> bank index or 'lo:hi' HBM range


@lru_cache(maxsize=1)
def presets() -> dict:
    return yaml.safe_load((Path(__file__).parent / "devices.yaml").read_text())


def resolve(configs: dict) -> Device:
    if not isinstance(configs, dict):
        raise BuildError(f"configs must be a dict of settings, e.g. {{'device': 'u280'}}; got {configs!r}")
    unknown = set(configs) - CONFIG_KEYS
    if unknown:
        raise BuildError(f"unknown vitis_hls config key(s) {sorted(unknown)}; valid keys: {sorted(CONFIG_KEYS)}")
    name = configs.get("device", DEFAULT_DEVICE)
    if not isinstance(name, str) or name not in presets():
        raise BuildError(f"unknown device {name!r}; presets: {', '.join(sorted(presets()))} "
                         "(or give 'part' and 'platform' in configs)")
    base = dict(presets()[name])
    for key in ("part", "platform", "memory", "banks", "sp"):
        base[key] = configs.get(key, base[key])
        _check_setting(key, base[key])
    mapping = _memory_mapping(configs, name, base["memory"], base["banks"])
    return Device(name, base["part"], base["platform"], base["memory"], base["banks"], base["sp"],
                  _frequency(configs.get("frequency", DEFAULT_FREQUENCY_MHZ)), mapping)


def _check_setting(key: str, value):
    if key == "banks":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BuildError(f"configs['banks'] must be a positive number of memory banks, got {value!r}")
    elif not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        raise BuildError(f"configs[{key!r}] must be a name without spaces, got {value!r}")
    elif key == "sp" and "{bank}" not in value:
        raise BuildError(f"configs['sp'] spells a memory bank with '{{bank}}' in it (e.g. 'HBM[{{bank}}]'), "
                         f"got {value!r}")


def _frequency(value) -> int:
    """The kernel clock in MHz: a whole number (v++ --kernel_frequency and the Makefile's --hls.clock take
    integer MHz, UG1393) from 1 to MAX_FREQUENCY_MHZ, so nothing is rounded or truncated on the way."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_FREQUENCY_MHZ:
        raise BuildError(f"configs['frequency'] must be a whole number of MHz from 1 to {MAX_FREQUENCY_MHZ} (the "
                         f"platforms' kernel clocks run at 300 or 500 MHz at most), got {value!r}")
    return int(value)


def _memory_mapping(configs: dict, device: str, memory: str, banks: int) -> dict:
    """argument name -> bank: an int, or on HBM a "lo:hi" range of pseudo-channels (``HBM[lo:hi]``)."""
    given = [key for key in ("hbm", "ddr") if key in configs]
    if len(given) > 1:
        raise BuildError("give one of configs['hbm'] and configs['ddr'], not both")
    if not given:
        return {}
    key = given[0]
    if key.upper() != memory:
        instead = f"use configs[{memory.lower()!r}]" if memory in ("HBM", "DDR") else "leave the mapping out"
        raise BuildError(f"configs[{key!r}] maps arguments to {key.upper()}, but {device} has {memory} memory "
                         f"with {banks} bank(s): {instead} or choose another device")
    mapping = configs[key]
    if not isinstance(mapping, dict):
        raise BuildError(f"configs[{key!r}] must map argument names to banks, e.g. {{'A': 0, 'B': '1:3'}}; "
                         f"got {mapping!r}")
    return {arg: _bank(arg, bank, device, memory, banks) for arg, bank in mapping.items()}


def _bank(arg: str, bank, device: str, memory: str, banks: int):
    where = f"{memory} bank {bank!r} for '{arg}'"
    if isinstance(bank, int) and not isinstance(bank, bool):
        if 0 <= bank < banks:
            return bank
        raise BuildError(f"{where} is out of range 0..{banks - 1} on {device}")
    if isinstance(bank, str) and memory == "HBM":
        lo, sep, hi = bank.partition(":")
        if sep and lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= int(hi) < banks:
            return f"{int(lo)}:{int(hi)}"
        raise BuildError(f"{where}: a range of pseudo-channels is written 'lo:hi' with 0 <= lo <= hi <= "
                         f"{banks - 1} on {device}")
    ranges = " or a 'lo:hi' range" if memory == "HBM" else ""
    raise BuildError(f"{where}: give a bank number 0..{banks - 1}{ranges}")
