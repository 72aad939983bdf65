"""The ``dsl.DSLError`` hierarchy.

Errors about a kernel carry a source location (file, line, column) and render as

    gemm.py:12:9: error: cannot store float32 into int8 tensor 'C' ...
        C[i, j] = x
        ^

Tracebacks of these errors are trimmed so that no frame of the ``dsl`` package shows: the user sees their
own call and the message, never compiler internals (see ``_hide_internal_frames``).
"""
from __future__ import annotations

import linecache
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    col: int = 0  # 0-based column, as Python's ast gives it

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col + 1}"

    def snippet(self) -> str:
        text = linecache.getline(self.file, self.line).rstrip("\n")
        if not text:
            return ""
        return f"    {text}\n    {' ' * self.col}^"


class DSLError(Exception):
    """Base class of every error the dsl raises on purpose."""

    kind = "error"

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str | None = None):
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.loc}: {self.kind}: {self.message}" if self.loc else self.message
        parts = [head]
        if self.loc and self.loc.snippet():
            parts.append(self.loc.snippet())
        if self.hint:
            parts.append(f"    hint: {self.hint}")
        return "\n".join(parts)

    def at(self, loc: SourceLoc) -> "DSLError":
        """Attach a location if the error has none yet (the innermost location wins)."""
        if self.loc is None:
            self.loc = loc
            self.args = (self._render(),)
        return self

    def __str__(self):
        return self._render()


class DSLSyntaxError(DSLError):
    """Python syntax the dsl does not support inside a kernel."""


class DSLNameError(DSLError):
    """A name that is not defined in the kernel, its arguments or its Python scope."""


class DSLTypeError(DSLError):
    """A type that cannot be used or cast where it appears."""


class ShapeError(DSLError):
    """Wrong rank or shape of a tensor access or operation."""


class CallError(DSLError):
    """Wrong number, shape or type of arguments when calling a kernel or a built module."""


class ScheduleError(DSLError):
    """Misuse of a schedule primitive: names the primitive, the argument and what would be valid."""


class UnknownBufferError(ScheduleError, AttributeError):
    """``s.Z`` names no buffer. Also an AttributeError, so ``hasattr`` and ``getattr(s, name, default)``
    keep working on schedules."""


class BuildError(DSLError):
    """A backend failed to build (invalid IR, compiler errors in generated code)."""


class ToolNotFoundError(DSLError):
    """A vendor tool (vitis_hls, v++, XRT) is needed and is not on PATH."""


class DeadlockError(DSLError):
    """Every live process of a dataflow simulation is blocked on a stream."""


class StreamError(DSLError):
    """A stream is used inconsistently (producer and consumer counts differ, ...)."""


class PerfModelError(DSLError):
    """Invalid input to the analytical performance model."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _hide_internal_frames(exc: BaseException) -> BaseException:
    """Drop traceback entries inside the dsl package, keeping the user's frames."""
    tb = exc.__traceback__
    kept = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR):
            kept.append(tb)
        tb = tb.tb_next
    new_tb = None
    for entry in reversed(kept):
        entry.tb_next = new_tb
        new_tb = entry
    exc.__cause__ = None
    exc.__suppress_context__ = True
    return exc.with_traceback(new_tb)


def caller_loc() -> SourceLoc | None:
    """Where the user's code called into the dsl: the innermost stack frame outside the package."""
    import sys

    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return SourceLoc(frame.f_code.co_filename, frame.f_lineno, 0)


def user_facing(fn):
    """Decorator for public entry points: DSLErrors leave without internal frames or chained causes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DSLError as exc:
            raise _hide_internal_frames(exc) from None

    return wrapper
