"""Running a compiled kernel so that it can be stopped: ``timeout=`` and Ctrl-C on the CPU backend.

The call runs in a worker thread while the caller waits (``ctypes`` releases the GIL, so the wait is
interruptible). On a timeout or a ``KeyboardInterrupt`` the caller writes the worker's thread id into the
engine's stop word; the polls ``cpu_interrupt`` compiled into the kernel see it and return from every
function, the worker ends, and the call raises. The arguments are left as they were: the kernel worked
on storage copies, and nothing is written back. Starting a thread costs tens of microseconds per call.
"""
from __future__ import annotations

import ctypes
import math
import threading

from ..errors import BuildError
from .cpu_interrupt import STOP_WORD

STOP_GRACE_S = 10.0  # how long a stopped kernel may take to reach its next poll
_ABANDONED: list = []  # kernels that did not stop: what they use must outlive them


class StopWord:
    """The 64-bit word an engine's polls read: 0, or the id of the thread that must stop."""

    def __init__(self):
        self.word = ctypes.c_int64(0)
        self.lock = threading.Lock()  # one stop at a time per engine

    def register(self, engine) -> None:
        engine.raw_register_runtime(STOP_WORD, ctypes.c_void_p(ctypes.addressof(self.word)))

    def stop(self, thread: threading.Thread, keep) -> bool:
        """Ask ``thread`` to stop; whether it did within the grace time."""
        with self.lock:
            self.word.value = ctypes.c_int64(thread.ident).value
            thread.join(STOP_GRACE_S)
            if thread.is_alive():  # in an innermost loop that does not poll: let it run on, safely
                abandon(thread, keep, self)
                return False
            self.word.value = 0
            return True


def abandon(*objects) -> None:
    """Keep ``objects`` (a thread still running compiled code, its engine and buffers) alive for the rest
    of the process, even through interpreter shutdown: freeing the engine under the running thread would
    crash the process."""
    _ABANDONED.append(objects)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(objects))


def check_timeout(timeout) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise BuildError(f"timeout must be a positive number of seconds (for each call), or None for no limit; "
                         f"got {timeout!r}")


def run_stoppable(work, timeout, stop: StopWord, name: str, keep):
    """``work()`` in a worker thread, stopped after ``timeout`` seconds or on Ctrl-C; ``keep`` holds what
    the kernel uses (kept alive if it cannot be stopped)."""
    if timeout is None:
        return work()
    box = {}

    def target():
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"dsl-{name}", daemon=True)
    try:
        thread.start()  # inside the try: a Ctrl-C from here on stops the kernel
        thread.join(timeout)
    except KeyboardInterrupt:
        if thread.ident is not None:
            stop.stop(thread, keep)
        raise
    if thread.is_alive():
        stopped = stop.stop(thread, keep)
        how = ("it was stopped; the arguments are left as they were" if stopped else
               f"it could not be stopped within {STOP_GRACE_S:g} s more (an innermost loop with a huge trip count "
               "does not poll) and keeps running in the background")
        raise BuildError(f"'{name}' did not finish within {timeout:g} s (an endless loop?): {how}; pass "
                         "timeout= to dsl.build to allow more")
    if "error" in box:
        raise box["error"]
    return box["value"]
