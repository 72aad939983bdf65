"""Estimating operator candidates, in parallel through a pluggable executor.

A ``Job`` is one template build (one tile at full depth) and the variants to estimate it at (clock, trip
counts, the memories behind its arguments); ``run_job`` builds it once and estimates every variant, returning
plain data. Executors map ``run_job`` over jobs: ``LocalExecutor`` (processes on this machine, the default),
``RayExecutor`` (a Ray cluster: ``address="auto"`` or ``"ray://host:10001"``, or a local Ray instance when no
address is given), ``SerialExecutor`` (in this process, for tests and debugging).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from ..errors import DSLError


class ExplorationError(DSLError):
    """Invalid input to the design-space exploration."""


@dataclass(frozen=True)
class Variant:
    clock_mhz: float
    tripcount: tuple              # sorted (loop, trips) pairs
    memories: tuple               # per argument: ("stream", depth) | ("maxi", channels) | ("ram",) | ("rom",)


@dataclass(frozen=True)
class Job:
    kind: str
    params: tuple
    variants: tuple
    device: str = "u280"


@dataclass
class Result:
    """One variant's estimate, as plain data."""

    latency: int
    interval: int
    first: dict                   # argument position -> cycle of the first access
    last: dict
    costs: dict                   # DSP, BRAM18K, URAM, LUT, FF
    loops: list = field(default_factory=list)  # (key, ii, ii_target, reason) of pipelined loops
    notes: list = field(default_factory=list)


def _memories(func, spec: tuple) -> tuple:
    """The memories behind the top function's arguments, as ``spec`` describes them."""
    from ..qor import memory as M

    out = []
    for k, entry in enumerate(spec):
        name, bits, shape = func.arg_names[k], func.arg_bits[k], func.arg_shapes[k]
        attrs = func.arg_attrs[k]
        if entry[0] == "stream":
            out.append(M.Memory("stream", name, bits, shape, depth=entry[1]))
        elif entry[0] == "maxi":
            out.append(M.Memory("maxi", name, bits, shape, bundle=f"gmem{k}", channels=float(entry[1])))
        else:
            memory = M.Memory("rom" if entry[0] == "rom" else "ram", name, bits, shape,
                              list(attrs.get("partition", [])))
            if memory.fully_partitioned:
                memory.kind = "reg"
            out.append(memory)
    return tuple(out)


def run_job(job: Job) -> list:
    """Build ``job`` once and estimate each of its variants (runs in a worker process)."""
    from ..backend.hls.streams import prepare_streams
    from ..qor.estimate import Estimator
    from ..qor.model import read_module
    from .templates import build

    schedule = build(job.kind, *job.params)
    with schedule.context:
        prepare_streams(schedule.module)
        funcs = read_module(schedule.module)
    results = []
    for v in job.variants:
        est = Estimator(schedule, job.device, v.clock_mhz, None, None, 0.85, dict(v.tripcount), funcs=funcs)
        memories = _memories(funcs[schedule.top], v.memories)
        inst = est.function(est.top, memories)
        loops = [(l.key, l.ii, l.ii_target, l.ii_reason) for l in est.loops.values() if l.pipelined]
        results.append(Result(inst.latency or 0, inst.interval or 0, dict(inst.stream_first), dict(inst.stream_last),
                              {k: float(inst.costs.get(k, 0)) for k in ("DSP", "BRAM18K", "URAM", "LUT", "FF")},
                              loops, list(est.notes)))
    return results


def schedule_steps(kind: str, params: tuple) -> str:
    """The YAML schedule of a template build (what the exploration writes for each operator)."""
    from .templates import build

    return build(kind, *params).to_yaml()


# -- executors -------------------------------------------------------------------------------------------
class SerialExecutor:
    name = "serial"

    def map(self, fn, items) -> list:
        return [fn(item) for item in items]

    def close(self):
        pass


class LocalExecutor:
    """Worker processes on this machine (``workers``: default the CPU count).

    Workers start from a fork server, never by forking the caller: a caller with other threads (the CPU
    backend's calls, MLIR's, a progress bar's) would hand each forked child their locks in whatever state
    they were, and a child waiting on one never returns (Python 3.12+ warns of this; 3.14 makes the fork
    server Linux's default). ``fn`` and the items must be picklable, as for any process pool."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.pool = None

    def map(self, fn, items) -> list:
        items = list(items)
        if self.workers <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                            mp_context=multiprocessing.get_context("forkserver"))
        return list(self.pool.map(fn, items))

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


class RayExecutor:
    """Tasks on a Ray cluster (``address``: "auto", "ray://host:port"; None starts a local instance)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise ExplorationError("the Ray executor needs the 'ray' package (pip install ray); use the local "
                                   "executor instead (--executor local)") from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            kwargs = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
            ray.init(ignore_reinit_error=True, log_to_driver=False, **kwargs)
            self.started = True

    def map(self, fn, items) -> list:
        remote = self.ray.remote(fn)
        return self.ray.get([remote.remote(item) for item in items])

    def close(self):
        if self.started:
            self.ray.shutdown()
            self.started = False


def make_executor(spec: str | None, workers: int | None = None):
    """``local`` (default), ``local:N``, ``serial``, ``ray`` (a local Ray instance) or ``ray:ADDRESS``."""
    spec = spec or "local"
    if spec == "serial":
        return SerialExecutor()
    if spec == "local" or spec.startswith("local:"):
        count = workers
        if spec.startswith("local:"):
            try:
                count = int(spec.split(":", 1)[1])
            except ValueError:
                raise ExplorationError(f"--executor local:N takes a number of workers, got {spec!r}") from None
        return LocalExecutor(count)
    if spec == "ray" or spec.startswith("ray:"):
        address = spec.split(":", 1)[1] if ":" in spec else None
        return RayExecutor(address or None, workers)
    raise ExplorationError(f"unknown executor {spec!r}; use local, local:N, serial, ray or ray:ADDRESS")
