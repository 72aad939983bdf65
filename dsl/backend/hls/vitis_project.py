"""``VitisProject``: a written Vitis project, its data files, and running its XRT host through the Makefile."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import BuildError, ToolNotFoundError, user_facing
from ..interface import check_args, from_storage, write_back_changed
from . import words
from .csim import read_testbench_outputs, write_testbench_inputs
from .hostdata import load_interface, read_storage, write_storage

DATA_DIR = "data"  # the Makefile's default DATA_DIR: the host program's <arg>.bin files
TB_DIR = "data/tb"  # the testbench's a<k>.bin files, for vitis_hls csim/cosim (run.tcl's default)
# The HLS tool that runs run.tcl: vitis-run from Vitis 2024.2, where `vitis_hls -f` is deprecated (UG1399,
# "vitis, v++, and vitis-run Commands"), else vitis_hls. vitis-run gets run.tcl's arguments from the
# environment (DSL_HLS_MODE, DSL_HLS_DATA), vitis_hls after -tclargs.
HLS_TOOLS = ("vitis-run", "vitis_hls")
HLS_MODES = ("csyn", "cosim")
# mode -> (tools that must be on PATH, whether XRT must be installed); the HLS modes need one of HLS_TOOLS
VENDOR_MODES = {
    "csyn": (HLS_TOOLS, False),
    "cosim": (HLS_TOOLS, False),
    "sw_emu": (("v++", "make", "g++"), True),
    "hw_emu": (("v++", "make", "g++"), True),
    "hw": (("v++", "make", "g++"), True),
}
# modes whose project can be called: the host program (`make run`) or the RTL co-simulation runs the
# kernel on the inputs
CALLABLE_MODES = ("cosim", "sw_emu", "hw_emu", "hw")


@dataclass(frozen=True)
class Command:
    """A command run in the project folder: its argv and the environment variables it adds."""

    argv: tuple
    env: tuple = ()  # (name, value) pairs

    def words(self) -> list:
        """As a shell runs it: the variable assignments, then argv."""
        return [f"{k}={v}" for k, v in self.env] + list(self.argv)

    def shell(self) -> str:
        return " ".join(self.words())

    def __iter__(self):  # a command used to be its argv list: " ".join(project.command) still reads right
        return iter(self.words())


def hls_tool() -> str | None:
    return next((tool for tool in HLS_TOOLS if shutil.which(tool)), None)


def hls_command(tool: str, step: str, data: str | None = None) -> Command:
    """run.tcl's ``step`` (csim, csyn, cosim, export) with ``tool``."""
    if tool == "vitis-run":
        env = (("DSL_HLS_MODE", step),) + ((("DSL_HLS_DATA", data),) if data else ())
        return Command(("vitis-run", "--mode", "hls", "--tcl", "run.tcl"), env)
    return Command(("vitis_hls", "-f", "run.tcl", "-tclargs", step) + ((data,) if data else ()))


def _hls_step(mode: str, building: bool) -> tuple:
    return ("csyn", None) if building or mode == "csyn" else ("cosim", TB_DIR)


def build_command(mode: str, platform: str, tool: str | None = None) -> Command:
    """What building the project runs (cosim synthesises then, and co-simulates when the project is called)."""
    if mode in HLS_MODES:
        return hls_command(tool or hls_tool() or "vitis_hls", *_hls_step(mode, True))
    target = "build" if mode == "hw" else "run"
    return Command(("make", target, f"TARGET={mode}", f"PLATFORM={platform}"))


def run_command(mode: str, platform: str, tool: str | None = None) -> Command:
    if mode == "cosim":
        return hls_command(tool or hls_tool() or "vitis_hls", "cosim", TB_DIR)
    return Command(("make", "run", f"TARGET={mode}", f"PLATFORM={platform}"))


def missing_tool(mode: str) -> str | None:
    """The first tool ``mode`` needs that this machine lacks, as the error names it; None if all present."""
    tools, needs_xrt = VENDOR_MODES[mode]
    if tools == HLS_TOOLS:
        return None if hls_tool() else "'vitis-run' (Vitis 2024.2 and later) or 'vitis_hls' on PATH"
    for name in tools:
        if shutil.which(name) is None:
            return f"'{name}' on PATH"
    xrt = os.environ.get("XILINX_XRT")
    if needs_xrt and not (xrt and Path(xrt, "include", "xrt").is_dir()):
        return "XRT (XILINX_XRT set to an XRT install: source /opt/xilinx/xrt/setup.sh)"
    return None


def _either_tool(folder, command_for) -> str:
    """The command for both HLS tools, as the message to run it elsewhere gives it."""
    new, old = (command_for(tool).shell() for tool in HLS_TOOLS)
    return f"cd {folder} && {new} (Vitis 2024.2 and later; before: {old})"


def require_tools(mode: str, command: Command, folder: Path, platform: str = "") -> None:
    tool = missing_tool(mode)
    if tool is None:
        return
    if mode in HLS_MODES:  # the same step (synthesis, or the co-simulation a call runs) with either tool
        same = run_command if "cosim" in command.shell() else build_command
        how = _either_tool(folder, lambda t: same(mode, platform, t))
    else:
        how = f"cd {folder} && {command.shell()}"
    then = ""
    if mode == "cosim" and "csyn" in command.shell():  # the build step synthesises; co-simulation needs inputs
        then = (f"; then write the inputs (VitisProject('{folder}', 'cosim').write_inputs(...)) and run: "
                f"{_either_tool(folder, lambda t: run_command('cosim', platform, t))}, or call the project")
    raise ToolNotFoundError(f"mode {mode!r} needs {tool} (the project is in {folder}); on a machine with "
                            f"Vitis and XRT installed run: {how}{then}")


def run_in(folder: Path, command) -> str:
    command = command if isinstance(command, Command) else Command(tuple(command))
    proc = subprocess.run(list(command.argv), cwd=folder, capture_output=True, text=True,
                          env={**os.environ, **dict(command.env)})
    if proc.returncode != 0:
        raise BuildError(f"'{command.shell()}' failed in {folder} (exit {proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


class VitisProject:
    """A Vitis project folder written by ``dsl.build(..., target="vitis_hls")``.

    ``VitisProject(path, mode)`` opens an existing project (it reads ``interface.json``). ``write_inputs``
    writes the ``data/<arg>.bin`` files that ``make run`` feeds to the host program and the testbench's
    ``data/tb/a<k>.bin`` that vitis_hls csim/cosim read; ``read_outputs`` reads the results of the mode
    back (``data/<arg>.out.bin``, or ``data/tb/a<k>.out`` for cosim), and calling the project does both
    around ``make run TARGET=<mode>`` (or the co-simulation): numpy in, numpy out, with the conventions of
    the CPU module.
    """

    def __init__(self, path, mode: str = "hw_emu", files: list | None = None, log: str = ""):
        if mode not in VENDOR_MODES:
            raise BuildError(f"unknown vitis_hls mode {mode!r}; valid modes: {', '.join(VENDOR_MODES)}")
        self.path, self.mode, self.log = Path(path), mode, log
        self.interface = load_interface(self.path)
        self.files = files if files is not None else sorted(f.name for f in self.path.iterdir() if f.is_file())

    @property
    def hls_code(self) -> str:
        """The project's kernel.cpp (Allo's ``mod.hls_code``)."""
        return (self.path / "kernel.cpp").read_text()

    def __repr__(self):
        return f"<dsl.VitisProject {self.mode} at {self.path}>"

    @property
    def data_dir(self) -> Path:
        return self.path / DATA_DIR

    @property
    def command(self) -> Command:
        """What a call runs in the project folder."""
        return run_command(self.mode, self.interface.platform)

    @property
    def testbench_dir(self) -> Path:
        return self.path / TB_DIR

    @user_facing
    def write_inputs(self, *arrays) -> list:
        """Write the kernel's inputs (numpy arrays / scalars, as for the CPU module) as ``data/<arg>.bin``
        for the host program and ``data/tb/a<k>.bin`` for the testbench; returns the host files."""
        return self._write(check_args(self.interface.sig, arrays))

    def _write(self, storage):
        written = write_storage(self.data_dir, self.interface, storage)
        self.testbench_dir.mkdir(parents=True, exist_ok=True)
        write_testbench_inputs(self.testbench_dir, self.interface.sig, storage)
        return written

    @user_facing
    def read_outputs(self, *arrays):
        """Read ``data/<arg>.out.bin`` and return what a call returns. Pass the input arrays to also have the
        kernel's in-place updates copied into them."""
        before = check_args(self.interface.sig, arrays) if arrays else []
        return self._results(arrays, before)

    @user_facing
    def __call__(self, *arrays):
        if self.mode not in CALLABLE_MODES:
            raise BuildError(f"a {self.mode!r} project does not run the kernel on data; calling needs one of "
                             f"the modes {', '.join(CALLABLE_MODES)}")
        require_tools(self.mode, self.command, self.path, self.interface.platform)
        storage = check_args(self.interface.sig, arrays)
        before = [np.copy(a) for a in storage]
        self._write(storage)
        for stale in [*self.data_dir.glob("*.out.bin"), *self.testbench_dir.glob("*.out")]:
            stale.unlink()
        self.log = run_in(self.path, self.command)
        return self._results(arrays, before)

    def _results(self, arrays, before):
        sig = self.interface.sig
        if self.mode == "cosim":
            back, results = read_testbench_outputs(self.testbench_dir, sig)
        else:
            back, results = read_storage(self.data_dir, self.interface)
        if arrays:
            write_back_changed(sig, arrays, before, back[:len(before)])
        returned = [from_storage(spec, b) for spec, b in zip(sig.args, back) if spec.is_output]
        return sig.returned(returned, [words.scalar(t, r) for t, r in zip(sig.results, results)])
