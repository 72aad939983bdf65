"""What ``dsl.report`` can be given, turned into one ``Subject``: the design (its Schedule), what a run
measured (stream statistics, a deadlock), the memory ports, and contributions (see ``dsl.notebook``)."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DSLError
from .page import ReportWarning

_SP = re.compile(r"^sp=[^.]+\.(\w+):(\S+)$")


@dataclass
class Subject:
    kind: str  # "simulator run", "csim run", "schedule", "Vitis project"
    name: str
    schedule: object = None
    net: object = None
    stats: dict = field(default_factory=dict)  # stream label -> figures, when the design ran
    deadlock: object = None  # dsl.DeadlockError
    channels: dict = field(default_factory=dict)  # argument -> memory port ('HBM[3]')
    device: object = None  # dsl.backend.hls.devices.Device, when known
    facts: dict = field(default_factory=dict)  # shown in the header
    files: list = field(default_factory=list)
    contributions: list = field(default_factory=list)


def subject_of(obj, schedule=None, configs: dict | None = None) -> Subject:
    """The Subject of a simulator or csim module, a Schedule, a VitisProject, or an object with
    ``__dsl_report__`` whose contribution brings its ``design``."""
    for kind, test, make in ADAPTERS:
        if test(obj):
            subject = make(obj, schedule)
            break
    else:
        raise DSLError(f"dsl.report takes a simulator or csim module, a Schedule, a VitisProject or an object "
                       f"with __dsl_report__ (a QoR estimate, a models/ run); got {type(obj).__name__}")
    if configs is not None:
        if subject.schedule is None:
            raise DSLError("configs= maps arguments to memory ports of a design: give the Schedule too")
        subject.device, subject.channels = memory_ports(subject.schedule, configs)
    return subject


def contribution_of(obj) -> dict:
    """The report contribution of ``obj``: its ``__dsl_report__()``, a dsl.perf result, or a plain dict."""
    if isinstance(obj, dict):
        return obj
    hook = getattr(obj, "__dsl_report__", None)
    if hook is not None:
        c = hook()
        if not isinstance(c, dict):
            raise DSLError(f"{type(obj).__name__}.__dsl_report__() must return a dict (see dsl.notebook), got "
                           f"{type(c).__name__}")
        return c
    raise DSLError(f"cannot add a {type(obj).__name__} to a report: pass a dsl.perf result, a dict or an object "
                   "with __dsl_report__()")


# -- adapters ------------------------------------------------------------------------------------------

def _sim(obj, schedule):
    return Subject("simulator run", obj.name, obj.schedule, obj.net, _by_label(obj.stats), obj.deadlock,
                   facts={"processes": len(obj.net.processes), "streams": len(obj.net.fifos),
                          "last run": f"{obj.elapsed:.3f} s" if obj.stats else "not run yet"})


def _csim(obj, schedule):
    schedule = schedule or getattr(obj, "schedule", None)
    return Subject("csim run", obj.name, schedule, None, _by_label(obj.stats), getattr(obj, "deadlock", None),
                   facts={"binary": str(obj.binary), "last run": "done" if obj.stats else "no stream statistics"})


def _schedule(obj, schedule):
    return Subject("schedule", obj.top, obj, facts={"primitives applied": len(obj.trace)})


def _project(obj, schedule):
    from ..backend.hls.design_file import DESIGN_FILE, read_design

    schedule = schedule or getattr(obj, "schedule", None) or read_design(obj.path)
    if schedule is None:
        warnings.warn(ReportWarning(
            f"the project folder '{obj.path}' has no {DESIGN_FILE} (it was written before dsl kept the design "
            "there): the report shows its files and memory ports only; rebuild the project, or pass "
            "schedule= (the Schedule it was built from), to draw the dataflow graph"), stacklevel=4)
    subject = Subject("Vitis project", obj.interface.sig.name, schedule,
                      facts={"mode": obj.mode, "folder": str(obj.path), "platform": obj.interface.platform,
                             "run": " ".join(obj.command)}, files=list(obj.files))
    subject.channels = _connectivity(Path(obj.path) / "connectivity.cfg")
    subject.device = getattr(obj, "device", None) or _device_of_platform(obj.interface.platform)
    return subject


def _contributor(obj, schedule):
    c = contribution_of(obj)
    design = c.get("design")
    if design is None:
        subject = Subject(c.get("title", type(obj).__name__), c.get("title", ""), schedule)
    else:
        subject = subject_of(design, schedule)
    subject.contributions.append(c)
    return subject


def _is_sim(obj):
    from ..dataflow.sim import SimModule

    return isinstance(obj, SimModule)


def _is_csim(obj):
    from ..backend.hls.csim import CSimModule

    return isinstance(obj, CSimModule)


def _is_schedule(obj):
    from ..schedule import Schedule

    return isinstance(obj, Schedule)


def _is_project(obj):
    from ..backend.hls.vitis_project import VitisProject

    return isinstance(obj, VitisProject)


ADAPTERS = [
    ("sim", _is_sim, _sim),
    ("csim", _is_csim, _csim),
    ("schedule", _is_schedule, _schedule),
    ("project", _is_project, _project),
    ("contribution", lambda o: hasattr(o, "__dsl_report__"), _contributor),
]


# -- memory ports --------------------------------------------------------------------------------------

def memory_ports(schedule, configs: dict):
    """(device, argument -> port) as the Vitis project's connectivity file would bind them."""
    from ..backend.hls.devices import resolve
    from ..backend.hls.project import connectivity
    from ..backend.hls.signature import function_signature
    from ..backend.interface import signature

    device = resolve(configs)
    with schedule.context:
        params = function_signature(None, schedule.top_func, True).params
    text = connectivity(schedule.top, params, device, len(signature(schedule).outputs))
    return device, _parse_sp(text)


def _connectivity(path: Path) -> dict:
    return _parse_sp(path.read_text()) if path.is_file() else {}


def _parse_sp(text: str) -> dict:
    return {m.group(1): m.group(2) for m in map(_SP.match, text.splitlines()) if m}


def _device_of_platform(platform: str):
    from ..backend.hls.devices import presets, resolve

    for name, preset in presets().items():
        if preset["platform"] == platform:
            return resolve({"device": name})
    return None


def _by_label(stats: dict) -> dict:
    return {s.get("label", k): s for k, s in (stats or {}).items()}
