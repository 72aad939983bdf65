"""Schedule files: the recorded trace as YAML, validated step by step through the registry.

Format (``version`` lets the format change later without breaking old files)::

    version: 1
    kernel: gemm
    steps:
      - split: {loop: i, factor: 8}
      - reorder: {loops: [i.outer, j, i.inner]}
      - partition: {buffer: B, kind: cyclic, dim: 2, factor: 4}
"""
from __future__ import annotations

import yaml

from ..errors import ScheduleError

VERSION = 1


def short(trace: list) -> list:
    """Steps in the file form ``{primitive: {args}}`` (composed sub-schedules too)."""
    out = []
    for step in trace:
        args = dict(step["args"])
        if isinstance(args.get("sub_schedule"), dict):
            sub = args["sub_schedule"]
            args["sub_schedule"] = {"kernel": sub["kernel"], "steps": short(sub["steps"])}
        out.append({step["primitive"]: args})
    return out


def dump(kernel: str, trace: list) -> str:
    steps = short(trace)
    return yaml.safe_dump({"version": VERSION, "kernel": kernel, "steps": steps}, sort_keys=False,
                          default_flow_style=None)


def parse(text: str, source: str = "<schedule>") -> dict:
    """YAML text -> {kernel, steps: [{primitive, args}]}; shape errors name the step number."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "steps" not in data:
        raise ScheduleError(f"{source}: a schedule file is a mapping with 'version', 'kernel' and 'steps'")
    if data.get("version", VERSION) != VERSION:
        raise ScheduleError(f"{source}: unsupported schedule version {data.get('version')!r}",
                            hint=f"this dsl reads version {VERSION}")
    steps = data["steps"] or []
    if not isinstance(steps, list):
        raise ScheduleError(f"{source}: 'steps' must be a list")
    return {"kernel": data.get("kernel"), "steps": [_step(s, i + 1, source) for i, s in enumerate(steps)]}


def _step(step, number: int, source: str) -> dict:
    if isinstance(step, dict) and set(step) == {"primitive", "args"}:
        name, args = step["primitive"], step["args"]
    elif isinstance(step, dict) and len(step) == 1:
        ((name, args),) = step.items()
    else:
        raise ScheduleError(f"{source}: step {number}: expected '- primitive: {{arg: value, ...}}', got {step!r}")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ScheduleError(f"{source}: step {number} ({name}): arguments must be a mapping, got {args!r}")
    return {"primitive": name, "args": args}
