"""Estimating operator candidates, in parallel through a pluggable executor.

A ``Job`` is one layer variant (prefill or decode) of a candidate accelerator, built by the builder module it
names (``models.explore`` by default: the library's units as ``models.design`` composes them) and estimated by
``dsl.estimate``; ``run_job`` returns plain data. Executors map ``run_job`` over jobs: ``LocalExecutor`` (processes on this machine, the default),
``RayExecutor`` (a Ray cluster: ``address="auto"`` or ``"ray://host:10001"``, or a local Ray instance when no
address is given), ``SerialExecutor`` (in this process, for tests and debugging).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..errors import DSLError


class ExplorationError(DSLError):
    """Invalid input to the design-space exploration."""


DEFAULT_BUILDER = "models.explore"  # the layer accelerators of models.design, built from dsl.library units


@dataclass(frozen=True)
class Job:
    """One layer variant to build and estimate: ``spec`` is the builder's job (plain, picklable data);
    ``builder`` names the module whose ``run_variant(spec) -> dict`` does it (imported in the worker, so that
    ``dsl`` does not import the model library it explores)."""

    spec: object
    builder: str = DEFAULT_BUILDER


def run_job(job: Job) -> dict:
    """Build and estimate one variant (runs in a worker process or a Ray task)."""
    import importlib

    try:
        module = importlib.import_module(job.builder)
    except ImportError as exc:
        raise ExplorationError(f"the exploration's builder {job.builder!r} cannot be imported ({exc}); it must be "
                               "a module with run_variant(spec) -> dict") from None
    return module.run_variant(job.spec)


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
