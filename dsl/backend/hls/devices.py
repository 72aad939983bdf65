"""Device presets (``devices.yaml``) merged with the user's ``configs``."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ...errors import BuildError

DEFAULT_DEVICE = "u280"
DEFAULT_FREQUENCY_MHZ = 300
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
    mapping: dict = field(default_factory=dict)  # argument name -> bank index


@lru_cache(maxsize=1)
def presets() -> dict:
    return yaml.safe_load((Path(__file__).parent / "devices.yaml").read_text())


def resolve(configs: dict) -> Device:
    unknown = set(configs) - CONFIG_KEYS
    if unknown:
        raise BuildError(f"unknown vitis_hls config key(s) {sorted(unknown)}; valid keys: {sorted(CONFIG_KEYS)}")
    name = configs.get("device", DEFAULT_DEVICE)
    if name not in presets():
        raise BuildError(f"unknown device {name!r}; presets: {', '.join(sorted(presets()))} "
                         "(or give 'part' and 'platform' in configs)")
    base = dict(presets()[name])
    for key in ("part", "platform", "memory", "banks", "sp"):
        base[key] = configs.get(key, base[key])
    mapping = dict(configs.get("hbm") or configs.get("ddr") or {})
    frequency = configs.get("frequency", DEFAULT_FREQUENCY_MHZ)
    if not isinstance(frequency, (int, float)) or frequency <= 0:
        raise BuildError(f"frequency must be a positive number of MHz, got {frequency!r}")
    for arg, bank in mapping.items():
        if not isinstance(bank, int) or not 0 <= bank < base["banks"]:
            raise BuildError(f"{base['memory']} bank {bank!r} for '{arg}' is out of range 0..{base['banks'] - 1} "
                             f"on {name}")
    return Device(name, base["part"], base["platform"], base["memory"], base["banks"], base["sp"], int(frequency),
                  mapping)
