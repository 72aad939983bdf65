"""Running a compiled kernel so that it can be stopped: ``timeout=`` and Ctrl-C on the CPU backend.

The call runs in a worker thread while the caller waits (``ctypes`` releases the GIL, so the wait is
interruptible). On a timeout or a ``KeyboardInterrupt`` the caller writes the worker's thread id into the
engine's stop word; the polls ``cpu_interrupt`` compiled into the kernel see it and return from every
function, the call ends, and the caller raises. The arguments are left as they were: the kernel worked
on storage copies of the arrays it may write (it only reads the others), and nothing is written back.

Workers are kept and reused (starting a thread costs tens to hundreds of microseconds, as much as a
memory-bound kernel at BERT-base sizes): a call takes an idle worker or starts one, and gives it back when
its kernel has returned, normally or stopped. A worker whose kernel could not be stopped is never given back.
"""
from __future__ import annotations

import ctypes
import math
import os
import queue
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

    def stop(self, worker: "_Worker", job: "_Job", keep) -> bool:
        """Ask ``worker`` to stop ``job``; whether it did within the grace time."""
        with self.lock:
            self.word.value = ctypes.c_int64(worker.thread.ident).value
            if not job.done.wait(STOP_GRACE_S):  # in an innermost loop that does not poll: let it run on, safely
                abandon(worker, job, keep, self)
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


class _Job:
    """One call of a kernel: ``work()``'s value or exception, and when it ended."""

    def __init__(self, work):
        self.work, self.done, self.value, self.error = work, threading.Event(), None, None

    def run(self):
        try:
            self.value = self.work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc
        finally:
            self.done.set()


class _Worker:
    """A daemon thread that runs the jobs it is given, one at a time."""

    def __init__(self):
        self.jobs = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="dsl-cpu-worker", daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job.run()


MAX_IDLE_WORKERS = 4  # workers kept for reuse (concurrent calls from several Python threads need several)
_IDLE: list = []
_IDLE_LOCK = threading.Lock()


def _forget_workers_after_fork():
    """A forked child has none of the parent's threads: its idle workers would never serve a job."""
    global _IDLE_LOCK
    _IDLE.clear()
    _IDLE_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_workers_after_fork)


def _take_worker() -> _Worker:
    with _IDLE_LOCK:
        if _IDLE:
            return _IDLE.pop()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    with _IDLE_LOCK:
        if len(_IDLE) < MAX_IDLE_WORKERS:
            _IDLE.append(worker)
            return
    worker.jobs.put(None)  # enough idle ones: let this thread end


def run_stoppable(work, timeout, stop: StopWord, name: str, keep):
    """``work()`` in a worker thread, stopped after ``timeout`` seconds or on Ctrl-C; ``keep`` holds what
    the kernel uses (kept alive if it cannot be stopped)."""
    if timeout is None:
        return work()
    job, worker, queued = _Job(work), _take_worker(), False
    try:
        worker.jobs.put(job)  # inside the try: a Ctrl-C from here on stops the kernel
        queued = True
        finished = job.done.wait(timeout)
    except KeyboardInterrupt:
        if not queued or stop.stop(worker, job, keep):
            _give_back(worker)
        raise
    if not finished:
        stopped = stop.stop(worker, job, keep)
        if stopped:
            _give_back(worker)
        how = ("it was stopped; the arguments are left as they were" if stopped else
               f"it could not be stopped within {STOP_GRACE_S:g} s more (an innermost loop with a huge trip count "
               "does not poll) and keeps running in the background")
        raise BuildError(f"'{name}' did not finish within {timeout:g} s (an endless loop?): {how}; pass "
                         f"timeout= to dsl.build to allow more")
    _give_back(worker)
    if job.error is not None:
        raise job.error
    return job.value
