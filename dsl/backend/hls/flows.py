"""``target="vitis_hls"`` modes: csim here; the vendor flows when the AMD tools are on PATH."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ...errors import BuildError, ToolNotFoundError
from ..interface import signature
from . import emit_hls
from .csim import CSimModule
from .devices import resolve
from .project import project_files, write_files
from .signature import function_signature

# mode -> (tool that must be on PATH, command argv run in the project folder)
VENDOR_MODES = {
    "csyn": ("vitis_hls", ["vitis_hls", "-f", "run.tcl", "-tclargs", "csyn"]),
    "cosim": ("vitis_hls", ["vitis_hls", "-f", "run.tcl", "-tclargs", "cosim", "data"]),
    "sw_emu": ("v++", ["make", "run", "TARGET=sw_emu"]),
    "hw_emu": ("v++", ["make", "run", "TARGET=hw_emu"]),
    "hw": ("v++", ["make", "build", "TARGET=hw"]),
}
MODES = ("csim", *VENDOR_MODES)


class VitisProject:
    """A written Vitis project; ``.path`` the folder, ``.files`` the generated file names."""

    def __init__(self, path: Path, files: list, mode: str, log: str = ""):
        self.path, self.files, self.mode, self.log = path, files, mode, log

    def __repr__(self):
        return f"<dsl.VitisProject {self.mode} at {self.path}>"


def run_mode(schedule, mode: str, project, configs: dict):
    if mode not in MODES:
        raise BuildError(f"unknown vitis_hls mode {mode!r}; valid modes: {', '.join(MODES)}")
    device = resolve(configs)
    code = emit_hls(schedule)
    with schedule.context:
        params = function_signature(None, schedule.top_func, True).params
    num_outputs = len(signature(schedule).outputs)
    files = project_files(code, params, device, num_outputs)  # everything generated before anything is written
    if mode == "csim":
        module = CSimModule(schedule, code)
        if project is not None:
            write_files(project, files)
        return module
    folder = write_files(project or f"{schedule.top}.prj", files)
    tool, argv = VENDOR_MODES[mode]
    argv = argv + ([f"PLATFORM={device.platform}"] if argv[0] == "make" else [])
    for name in [tool] + (["g++"] if argv[0] == "make" else []):
        if shutil.which(name) is None:
            raise ToolNotFoundError(
                f"mode {mode!r} needs '{name}' on PATH (the project was written to {folder}); on a machine with "
                f"Vitis and XRT installed run: cd {folder} && {' '.join(argv)}")
    proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"'{' '.join(argv)}' failed in {folder} (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
                         f"\n{proc.stderr[-3000:]}")
    return VitisProject(folder, sorted(files), mode, proc.stdout)
