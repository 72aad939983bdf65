"""C simulation here: the emitted kernel plus a generated harness, compiled with g++ against AMD's
open-source arbitrary-precision headers (shipped in the hls4ml wheel), cached by content hash.

The harness reads each argument from ``a<k>.bin`` (raw 64-bit words, see ``shims/dsl_csim_io.h``), calls the
top function and writes every array argument and scalar result back to ``a<k>.out``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import BuildError, ToolNotFoundError, user_facing
from ...progress import Progress
from ..interface import bind_args, check_args, from_storage, signature, write_back_changed
from . import csim_streams, words
from .signature import Param, function_signature

SHIMS = Path(__file__).parent / "shims"
# -fwrapv: MLIR integer arithmetic wraps; C++ signed overflow would be undefined without it.
# -Wall -Wextra without -Werror: the emitter writes code that compiles without warnings (tests hold it to
# that: a CSimWarning is an error in the test suite), but a warning on a valid kernel never rejects it: it
# reaches the user as a CSimWarning. The warnings that mean broken generated code stay errors.
# -Wno-unused-parameter: a kernel may legitimately ignore an argument.
# -Wno-unknown-pragmas, -Wno-unused-label: HLS pragmas and loop labels are for vitis_hls, not g++.
# -Wno-(maybe-)uninitialized: ap_int's default constructor leaves its bits unset by design; once inlined
# into the kernel g++ blames the header's own code (the emitted code initialises every scalar it declares).
# -ffp-contract=off: no fused multiply-add, so float results are the IEEE operations the kernel wrote, bit for
# bit the same as the CPU backend and the library's numpy references (g++ would contract under -march=native).
CXXFLAGS = ("-std=c++14", "-O2", "-fwrapv", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror=return-type", "-Werror=narrowing",
            "-Werror=overflow", "-Werror=sequence-point", "-Werror=int-to-pointer-cast", "-Werror=address",
            "-Wno-unused-parameter", "-Wno-unknown-pragmas", "-Wno-unused-label", "-Wno-maybe-uninitialized",
            "-Wno-uninitialized",
            # Dataflow processes run as coroutines on bounded FIFOs (shims/hls_stream.h, streams.py).
            "-DDSL_CSIM")


class CSimWarning(UserWarning):
    """g++ warned about the generated C++ of a kernel (the csim binary was built all the same)."""


@lru_cache(maxsize=1)
def ap_types_dir() -> Path:
    """AMD's open-source ap_int/ap_fixed headers, as packaged by the hls4ml wheel."""
    try:
        import hls4ml
    except ImportError:
        raise BuildError("csim needs the 'hls4ml' package (it ships AMD's open-source ap_types headers)") from None
    path = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").is_file():
        raise BuildError(f"ap_types headers not found under {path}")
    return path


def cache_root() -> Path:
    """Absolute: g++ runs in a scratch folder, where a relative DSL_CACHE_DIR would name another place."""
    base = os.environ.get("DSL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "dsl")
    return Path(os.path.abspath(base)) / "csim"


def harness_source(sig_params: list, top: str) -> str:
    """main(): declare every argument, read it, call the top function, write the outputs back."""
    decls, reads, writes, call = [], [], [], []
    for k, p in enumerate(sig_params):
        ctype = p.decl.split(f" {p.name}")[0] if p.kind != "stream" else None
        if p.kind == "stream":
            raise BuildError("csim of a top function with stream arguments is not supported")
        count = int(np.prod(p.shape)) if p.shape else 1
        if p.kind == "scalar":
            decls.append(f"  static {ctype} {p.name}[1];")
            call.append(f"{p.name}[0]")
        else:
            dims = "".join(f"[{d}]" for d in p.shape) or "[1]"
            decls.append(f"  static {ctype} {p.name}{dims};")
            call.append(p.name)
            writes.append(f'  dsl_write(dsl_dir, "a{k}.out", ({ctype} *){p.name}, {count});')
        if p.kind != "result":
            reads.append(f'  dsl_read(dsl_dir, "a{k}.bin", ({ctype} *){p.name}, {count});')
    # the harness's own names start with dsl_, which no kernel argument's C++ name does (identifiers.py)
    return "\n".join([
        '#include "kernel.h"', '#include "dsl_csim_io.h"', "",
        "int main(int dsl_argc, char **dsl_argv) {",
        '  if (dsl_argc != 2) { std::fprintf(stderr, "usage: %s DATA_DIR\\n", dsl_argv[0]); return 1; }',
        "  const char *dsl_dir = dsl_argv[1];", *decls, *reads, f"  {top}({', '.join(call)});", *writes,
        "  return 0;", "}", ""])


def compile_key(files: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    for shim in sorted(SHIMS.iterdir()):
        h.update(shim.name.encode() + shim.read_bytes())
    h.update(" ".join(CXXFLAGS).encode() + str(ap_types_dir()).encode() + _compiler_version().encode())
    return h.hexdigest()[:32]


@lru_cache(maxsize=1)
def _compiler_version() -> str:
    return subprocess.run([_cxx(), "--version"], capture_output=True, text=True).stdout


def _cxx() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise ToolNotFoundError(f"csim needs a C++ compiler ('{cxx}') on PATH")
    return cxx


PCH_HEADER = """// Precompiled for csim: the ap types dominate compile time (about 1.5 s of 1.8 s per kernel).
#include <ap_fixed.h>
#include <ap_int.h>
#include <hls_stream.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
"""


def _base_flags() -> list:
    return [*CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", str(SHIMS)]


def precompiled_header_flags() -> list:
    """Flags that use a precompiled ap-types header (built once per compiler and flags); [] if unavailable."""
    shims = b"".join(f.name.encode() + f.read_bytes() for f in sorted(SHIMS.iterdir()))
    key = hashlib.sha256((PCH_HEADER + " ".join(_base_flags()) + _compiler_version()).encode() + shims).hexdigest()[:24]
    folder = cache_root() / "pch" / key
    flags = ["-I", str(folder), "-include", "dsl_pch.h"]
    if (folder / "dsl_pch.h.gch").is_file():
        return flags
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=folder.parent))
    try:
        (work / "dsl_pch.h").write_text(PCH_HEADER)
        with Progress("csim: precompiling the ap_int headers (once)"):
            proc = subprocess.run([_cxx(), *_base_flags(), "-x", "c++-header", "dsl_pch.h", "-o",
                                   "dsl_pch.h.gch"], cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            return []
        try:
            work.rename(folder)
        except OSError:  # built concurrently by another process: use theirs
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return flags


def compile_csim(files: dict) -> Path:
    """Compile (or find in the cache) the csim binary for ``files`` (name -> text)."""
    key = compile_key(files)
    binary = cache_root() / key / "csim"
    if binary.is_file():
        _warn_about(binary.parent / WARNINGS_FILE)
        return binary
    binary.parent.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=binary.parent.parent))
    try:
        for name, text in files.items():
            (work / name).write_text(text)
        # ap_int wider than 1024 bits needs AP_INT_MAX_W defined before the ap types are first included,
        # which the precompiled header (built with the default) would pre-empt
        pch = [] if "AP_INT_MAX_W" in files.get("kernel.h", "") else precompiled_header_flags()
        cmd = [_cxx(), *_base_flags(), *pch, "-I", str(work),
               "kernel.cpp", "harness.cpp", "-o", "csim"]
        with Progress("csim: compiling with g++"):
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"csim: g++ failed on the generated code:\n{proc.stderr[-6000:]}")
        if "warning:" in proc.stderr:
            (work / WARNINGS_FILE).write_text(proc.stderr)
        try:
            work.rename(binary.parent)
        except OSError:  # another process cached the same key first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _warn_about(binary.parent / WARNINGS_FILE)
    return binary


WARNINGS_FILE = "warnings.txt"  # g++'s warnings, kept with the cached binary so a cache hit repeats them


def _warn_about(path: Path):
    if path.is_file():
        import warnings

        warnings.warn(CSimWarning(f"csim: g++ warned about the generated code (the kernel runs all the same):\n"
                                  f"{path.read_text()[-4000:]}"), stacklevel=4)


def kernel_sources(module) -> dict:
    """C function name -> 'file.py:line' of the Python kernel it was generated from."""
    from ...dataflow.netlist import func_table, kernel_source
    from .emitter import c_function_name

    return {c_function_name(name): kernel_source(fop) for name, fop in func_table(module).items()
            if kernel_source(fop)}


class CSimModule:
    """The kernel compiled for C simulation; call it like the CPU module (numpy in, numpy out)."""

    env = None  # the run's environment when the kernel has stateful variables (also for subclasses' own inits)

    def __init__(self, schedule, code, timeout: float = 600.0):
        self.name = schedule.top
        self.timeout = timeout  # seconds one call may run (an endless loop in a kernel cannot hang Python)
        self.sig = signature(schedule)
        with schedule.context:
            params = function_signature(None, schedule.top_func, True).params
            self.sources = kernel_sources(schedule.module)
        self.params: list[Param] = params
        self.code = code
        self.files = {"kernel.cpp": str(code), "kernel.h": code.header, "harness.cpp": harness_source(params, code.top)}
        self.binary = compile_csim(self.files)
        self.stats: dict = {}  # per stream of a dataflow design, after a call (see csim_streams)
        self.deadlock = None  # the last call's dsl.DeadlockError (dsl.report draws it)
        self.schedule = schedule  # for the dataflow graph of notebook views and dsl.report
        self.env = None  # stateful variables: their values travel from one run to the next in a folder
        if "dsl_csim_state" in self.files["kernel.cpp"]:
            import weakref

            state = tempfile.mkdtemp(prefix="dsl-csim-state-")
            weakref.finalize(self, shutil.rmtree, state, True)
            self.env = {**os.environ, "DSL_CSIM_STATE": state}

    def __repr__(self):
        return f"<dsl.CSimModule {self.name}({', '.join(a.name for a in self.sig.inputs)})>"

    @property
    def hls_code(self) -> str:
        """The kernel's HLS C++ (Allo's name)."""
        return str(self.code)

    @property
    def module(self):
        """The MLIR module that was emitted."""
        return self.schedule.module

    def report(self):
        """Per-stream statistics of the last call of a dataflow design (a str; a table in Jupyter)."""
        from ...dataflow.report import StreamStats

        return StreamStats(self.stats, self.name)

    def _repr_html_(self) -> str:
        from ...dataflow.graph import module_html

        return module_html(self)

    @user_facing
    def __call__(self, *args, **kwargs):
        args = bind_args(self.sig, args, kwargs)
        storage = check_args(self.sig, args)
        before = [np.copy(a) for a in storage]
        self.deadlock = None
        with tempfile.TemporaryDirectory(prefix="dsl-csim-") as tmp:
            write_testbench_inputs(tmp, self.sig, storage)
            try:
                with Progress(f"csim {self.name}"):
                    proc = subprocess.run([str(self.binary), tmp], capture_output=True, text=True,
                                          timeout=self.timeout, env=self.env)
            except subprocess.TimeoutExpired:
                raise BuildError(f"csim of '{self.name}' did not finish within {self.timeout:g} s (an endless "
                                 "loop? pass timeout= to dsl.build or set module.timeout to allow more)") from None
            if proc.returncode == csim_streams.DEADLOCK_EXIT:
                self.deadlock = csim_streams.deadlock_error(self.name, proc.stderr, self.sources)
                raise self.deadlock
            if proc.returncode != 0:
                raise BuildError(f"csim of '{self.name}' failed ({_exit_reason(proc.returncode)}):\n"
                                 f"{proc.stderr[-4000:]}")
            self.stats = csim_streams.stream_stats(self.name, proc.stderr)
            back, results = read_testbench_outputs(tmp, self.sig)
        returned = [from_storage(spec, back[k]) for k, spec in enumerate(self.sig.args) if spec.is_output]
        write_back_changed(self.sig, args, before, back[:len(storage)])
        return self.sig.returned(returned, [words.scalar(t, r) for t, r in zip(self.sig.results, results)])


def _exit_reason(code: int) -> str:
    if code >= 0:
        return f"exit {code}"
    import signal

    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
    if name in ("SIGSEGV", "SIGBUS"):
        return (f"{name}: an array index out of range, or local arrays larger than a dataflow process's "
                "64 MiB stack")
    return name


# -- the testbench's data files (csim here, and vitis_hls csim/cosim on the project's csim_tb.cpp) -------

def write_testbench_inputs(folder, sig, storage: list) -> None:
    """``a<k>.bin`` for every argument (returned tensors as zeros), one 64-bit word per element."""
    values = storage + [words.zeros(a) for a in sig.outputs]
    for k, (spec, value) in enumerate(zip(sig.args, values)):
        words.encode(spec.dtype, value).tofile(os.path.join(folder, f"a{k}.bin"))


def read_testbench_outputs(folder, sig) -> tuple:
    """From the ``a<k>.out`` files: (storage of each argument, None for scalars; raw storage of each scalar
    result, for ``words.scalar``)."""
    def read(k, dtype, shape):
        path = os.path.join(folder, f"a{k}.out")
        if not os.path.isfile(path):
            raise BuildError(f"{path} not found: run the co-simulation first (DSL_HLS_MODE=cosim vitis-run --mode "
                             "hls --tcl run.tcl, or vitis_hls -f run.tcl -tclargs cosim)")
        return words.decode(dtype, np.fromfile(path, dtype=np.uint64), shape)

    back = [None if spec.shape is None else read(k, spec.dtype, spec.shape) for k, spec in enumerate(sig.args)]
    n = len(sig.args)
    return back, [read(n + k, t, (1,)) for k, t in enumerate(sig.results)]
