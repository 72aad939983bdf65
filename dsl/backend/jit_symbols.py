"""Resolving a JIT-compiled entry point, with unresolved symbols reported as a ``BuildError``.

MLIR's ExecutionEngine compiles lazily: the first lookup links the object, and a symbol that no loaded
library defines only prints ``JIT session error: Symbols not found: [...]`` on the process's stderr (from C++)
and makes the lookup return 0. Here the lookup happens at build time with stderr captured, so the user gets
an error that names the missing symbols instead of ``RuntimeError: Unknown function``.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading

from ..errors import BuildError

_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _captured_fd2():
    """Capture what native code writes to file descriptor 2; yields a list that receives the text."""
    out: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile(mode="w+b") as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode(errors="replace"))


def resolve(engine, function: str, what: str) -> int:
    """Address of ``function``'s C interface in ``engine``; BuildError naming any unresolved symbol."""
    with _captured_fd2() as text:
        address = engine.raw_lookup("_mlir_ciface_" + function)
    message = text[0] if text else ""
    if address:
        if message:
            sys.stderr.write(message)  # not ours to swallow
        return address
    missing = re.findall(r"Symbols not found: \[([^\]]*)\]", message)
    if missing:
        names = ", ".join(sorted({n.strip() for group in missing for n in group.split(",") if n.strip()}))
        raise BuildError(f"{what}: the JIT could not resolve {names}, which the compiled code calls and no "
                         "loaded library defines (a compiler-runtime helper missing from this system); "
                         "please report the kernel that needs it")
    raise BuildError(f"{what}: the JIT could not link {function!r}" + (f": {message.strip()}" if message else ""))
