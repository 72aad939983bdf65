"""``VitisProject``: a written Vitis project, its data files, and running its XRT host through the Makefile."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ...errors import BuildError, ToolNotFoundError, user_facing
from ..interface import check_args, from_storage, write_back_changed
from . import words
from .csim import read_testbench_outputs, write_testbench_inputs
from .hostdata import load_interface, read_storage, write_storage

DATA_DIR = "data"  # the Makefile's default DATA_DIR: the host program's <arg>.bin files
TB_DIR = "data/tb"  # the testbench's a<k>.bin files, for vitis_hls csim/cosim (run.tcl's default)
# mode -> (tools that must be on PATH, whether XRT must be installed, command argv run in the project folder
# when the project is built; cosim synthesises then, and co-simulates when the project is called)
VENDOR_MODES = {
    "csyn": (("vitis_hls",), False, ["vitis_hls", "-f", "run.tcl", "-tclargs", "csyn"]),
    "cosim": (("vitis_hls",), False, ["vitis_hls", "-f", "run.tcl", "-tclargs", "csyn"]),
    "sw_emu": (("v++", "make", "g++"), True, ["make", "run", "TARGET=sw_emu"]),
    "hw_emu": (("v++", "make", "g++"), True, ["make", "run", "TARGET=hw_emu"]),
    "hw": (("v++", "make", "g++"), True, ["make", "build", "TARGET=hw"]),
}
# modes whose project can be called: the host program (`make run`) or the RTL co-simulation runs the
# kernel on the inputs
CALLABLE_MODES = ("cosim", "sw_emu", "hw_emu", "hw")


def build_command(mode: str, platform: str) -> list:
    argv = list(VENDOR_MODES[mode][2])
    return argv + [f"PLATFORM={platform}"] if argv[0] == "make" else argv


def run_command(mode: str, platform: str) -> list:
    if mode == "cosim":
        return ["vitis_hls", "-f", "run.tcl", "-tclargs", "cosim", TB_DIR]
    return ["make", "run", f"TARGET={mode}", f"PLATFORM={platform}"]


def missing_tool(mode: str) -> str | None:
    """The first tool ``mode`` needs that this machine lacks, as the error names it; None if all present."""
    tools, needs_xrt, _ = VENDOR_MODES[mode]
    for name in tools:
        if shutil.which(name) is None:
            return f"'{name}' on PATH"
    xrt = os.environ.get("XILINX_XRT")
    if needs_xrt and not (xrt and Path(xrt, "include", "xrt").is_dir()):
        return "XRT (XILINX_XRT set to an XRT install: source /opt/xilinx/xrt/setup.sh)"
    return None


def require_tools(mode: str, argv: list, folder: Path) -> None:
    tool = missing_tool(mode)
    if tool is None:
        return
    then = ""
    if mode == "cosim" and "cosim" not in argv:  # the build step synthesises; co-simulation needs inputs
        then = (f"; then write the inputs (VitisProject('{folder}', 'cosim').write_inputs(...)) and run: "
                f"cd {folder} && {' '.join(run_command('cosim', ''))}, or call the project")
    raise ToolNotFoundError(f"mode {mode!r} needs {tool} (the project is in {folder}); on a machine with "
                            f"Vitis and XRT installed run: cd {folder} && {' '.join(argv)}{then}")


def run_in(folder: Path, argv: list) -> str:
    proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"'{' '.join(argv)}' failed in {folder} (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
                         f"\n{proc.stderr[-3000:]}")
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

    def __repr__(self):
        return f"<dsl.VitisProject {self.mode} at {self.path}>"

    @property
    def data_dir(self) -> Path:
        return self.path / DATA_DIR

    @property
    def command(self) -> list:
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
        require_tools(self.mode, self.command, self.path)
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
        values = returned + [words.scalar(t, r) for t, r in zip(sig.results, results)]
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)
