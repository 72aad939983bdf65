"""``target="vitis_hls"`` modes: csim here; the vendor flows when the AMD tools are on PATH."""
from __future__ import annotations

from ...errors import BuildError
from ..interface import signature
from . import emit_hls
from .csim import CSimModule
from .design_file import design_files
from .devices import resolve
from .hostdata import host_interface
from .project import project_files, project_folder, write_files
from .signature import function_signature
from .streams import check_vendor_dataflow
from .vitis_project import VENDOR_MODES, VitisProject, build_command, require_tools, run_in

MODES = ("csim", *VENDOR_MODES)


def run_mode(schedule, mode: str, project, configs: dict, timeout: float = 600.0):
    if mode not in MODES:
        raise BuildError(f"unknown vitis_hls mode {mode!r}; valid modes: {', '.join(MODES)}")
    if project is not None:
        project_folder(project)  # a bad path fails before anything is emitted or compiled
    device = resolve(configs)
    code = emit_hls(schedule)
    with schedule.context:
        params = function_signature(None, schedule.top_func, True).params
    sig = signature(schedule)
    iface = host_interface(sig, params, device.platform)
    files = project_files(code, params, device, len(sig.outputs), iface)  # all generated before any is written
    files.update(design_files(schedule))  # the design itself, for tools that open the folder later
    if mode == "csim":
        with schedule.context:  # AMD's csim runs the processes in order: a feedback loop stops it
            check_vendor_dataflow(schedule.module, schedule.top, rules=("feedback",))
        module = CSimModule(schedule, code, timeout)
        if project is not None:
            write_files(project, files)
        return module
    with schedule.context:  # what Vitis rejects, or does not run as dataflow (streams.py, dataflow/rules.py)
        check_vendor_dataflow(schedule.module, schedule.top)
    folder = write_files(project or f"{schedule.top}.prj", files)
    command = build_command(mode, device.platform)
    require_tools(mode, command, folder, device.platform)
    log = run_in(folder, command)
    return VitisProject(folder, mode, sorted(files), log)


__all__ = ["MODES", "VitisProject", "run_mode"]
