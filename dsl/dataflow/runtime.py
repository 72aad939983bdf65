"""The native FIFO/process runtime of the simulator (``runtime.c``), compiled once with the system C
compiler into a shared library cached under ``$DSL_CACHE_DIR`` (default ``~/.cache/dsl``)/sim."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from ..errors import BuildError, ToolNotFoundError

SOURCE = Path(__file__).with_name("runtime.c")
CFLAGS = ("-O2", "-fPIC", "-shared", "-std=gnu11")
_LOCK = threading.Lock()
_LIB: dict = {}


def cache_dir() -> Path:
    base = os.environ.get("DSL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "dsl")
    return Path(base) / "sim"


def _compiler() -> str:
    for cc in (os.environ.get("CC"), "gcc", "cc", "clang"):
        if cc and shutil.which(cc):
            return cc
    raise ToolNotFoundError("the dataflow simulator needs a C compiler (gcc, cc or clang) on PATH")


def library_path() -> Path:
    """Path of the compiled runtime (compiling it on first use)."""
    text = SOURCE.read_bytes()
    key = hashlib.sha256(text + " ".join(CFLAGS).encode()).hexdigest()[:24]
    target = cache_dir() / key / "libdslsim.so"
    if target.is_file():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=target.parent.parent))
    try:
        cmd = [_compiler(), *CFLAGS, str(SOURCE), "-o", str(work / "libdslsim.so")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"compiling the simulator runtime failed:\n{proc.stderr[-4000:]}")
        try:
            work.rename(target.parent)
        except OSError:  # another process cached it first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def load():
    """(ctypes library, path) of the runtime, loaded once per process."""
    with _LOCK:
        if "lib" not in _LIB:
            path = library_path()
            lib = ctypes.CDLL(str(path))
            _declare(lib)
            _LIB["lib"], _LIB["path"] = lib, str(path)
        return _LIB["lib"], _LIB["path"]


def _declare(lib):
    vp, i32, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
    table = {
        "dsl_sim_new": (vp, [i32, i32, i64]),
        "dsl_sim_fifo": (i64, [vp, i32, i64, i64]),
        "dsl_sim_proc": (None, [vp, i32, vp, vp, i32, ctypes.POINTER(i32)]),
        "dsl_sim_run": (i32, [vp, ctypes.c_double]),
        "dsl_sim_proc_info": (None, [vp, i32, ctypes.POINTER(i32)]),
        "dsl_sim_fifo_info": (None, [vp, i32, ctypes.POINTER(i64)]),
        "dsl_sim_current": (i32, [vp]),
        "dsl_sim_ops": (ctypes.c_uint64, [vp]),
        "dsl_sim_stop": (None, [vp]),
        "dsl_sim_oob": (i64, [vp]),
        "dsl_sim_free": (None, [vp]),
        "dsl_sim_reset": (None, [vp]),
        "dsl_sim_info_all": (None, [vp, ctypes.POINTER(i32), ctypes.POINTER(i64)]),
    }
    for name, (restype, argtypes) in table.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
