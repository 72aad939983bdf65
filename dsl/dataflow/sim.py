"""``dsl.build(design, target="sim")``: the dataflow simulator.

Every process (kernel instance) of the design is JIT-compiled and runs as a coroutine of the native
runtime (``runtime.c``) with blocking gets/puts on FIFOs of the declared depths. The static check runs
first; a deadlock raises ``dsl.DeadlockError`` naming each blocked kernel, its stream and the Python line,
with the minimal depths that avoid it; tokens left in a FIFO at the end are a ``StreamWarning``;
``module.stats`` gives, per stream, the maximum occupancy reached (to size FIFOs).
"""
from __future__ import annotations

import ctypes
import math
import threading
import time
import warnings

import numpy as np
from mlir import ir

from ..backend.interface import (bind_args, check_args, copies_before, from_storage, parse_carrier, signature,
                                 write_back_changed)
from ..backend.cpu_bounds import BoundsChecks
from ..backend.cpu_run import abandon, check_timeout
from ..backend.jit_symbols import resolve
from ..backend.llvm import _Buffer, _carrier, _descriptor_type, _view_back
from ..errors import BuildError, DeadlockError, user_facing
from ..progress import Progress
from ..types import storage_bytes
from . import runtime
from .check import check_netlist, static_tokens
from .lower import build_engine, process_symbol, token_bytes
from .netlist import extract, kernel_source
from .report import StreamStats, StreamWarning, blocked_records, deadlock_message, suggest_depths
from .rules import check_streams_in_dataflow

STACK_BYTES = 1 << 19
STATES = {0: "waiting", 1: "ready", 2: "running", 3: "blocked", 4: "done"}
OK, DEADLOCK, TIMEOUT, ERROR = 0, 1, 2, 3


@user_facing
def build_sim(schedule, timeout: float = 300.0, check: bool = True, check_bounds: bool = False):
    """``check``: the static stream check first; ``check_bounds``: every buffer access tests its indices (as
    on the CPU backend, a debugging switch)."""
    check_timeout(timeout)
    lib, path = runtime.load()
    with schedule.context:
        net = extract(schedule.module, schedule.top)
        if check:
            check_netlist(net)
        check_streams_in_dataflow(schedule.module)  # hardware would hang: never simulated as if it ran
    checks = BoundsChecks() if check_bounds else None
    engine, sites = build_engine(schedule, path, checks=checks)
    return SimModule(schedule, engine, net, sites, timeout, checks)


class SimModule:
    """A dataflow design ready to simulate: call it with numpy arrays like a CPU module."""

    @property
    def module(self):
        """The MLIR module of the design (Allo's ``mod.module``)."""
        return self.schedule.module

    def __init__(self, schedule, engine, net, sites, timeout, checks=None):
        self.name = schedule.top
        # the netlist holds operations of schedule.module: keep it alive (an op of a freed module is a
        # dangling pointer in the MLIR bindings)
        self.schedule = schedule
        self.engine, self.net, self.sites, self.timeout, self.checks = engine, net, sites, timeout, checks
        self.sig = signature(schedule)
        self.depths = {f.name: f.depth for f in net.fifos}
        self.stats: dict = {}
        self.elapsed = 0.0
        self.deadlock: DeadlockError | None = None  # the last call's deadlock (dsl.report draws it)
        self._prepared, self._lock = None, threading.Lock()  # see ``run``
        counts = [static_tokens(f) for f in net.fifos]
        self.expected_tokens = None if None in counts else sum(counts)  # per run, for the progress line
        self._fn = [resolve(engine, process_symbol(p), f"building {schedule.top!r} for the simulator")
                    for p in net.processes]
        with schedule.context:
            self._buffer_types = [_buffer_spec(t) for t in net.buffers]
            self._fifo_shapes = [list(ir.MemRefType(f.mtype).shape) for f in net.fifos]
            self._token_bytes = [token_bytes(f) for f in net.fifos]
            self._arg_kinds = [isinstance(t, ir.MemRefType) for t in schedule.top_func.type.inputs]
            self.sources = [kernel_source(net.funcs[p.callee]) for p in net.processes]

    def __repr__(self):
        return f"<dsl.SimModule {self.name}: {len(self.net.processes)} processes, {len(self.net.fifos)} streams>"

    @user_facing
    def __call__(self, *args, **kwargs):
        args = bind_args(self.sig, args, kwargs)
        # an input the design never writes (sig.written), already in its storage form, is passed as the
        # caller's array (only read: no copy); a written input is a copy, compared afterwards and copied
        # back only if it changed, so a run that stops (deadlock, timeout, Ctrl-C) leaves the caller's
        # arrays as they were (what the CPU path does for a call that can stop half-way)
        storage = check_args(self.sig, args, borrow=True, bound=True)
        before = copies_before(self.sig, storage, args)
        outputs = [np.zeros(a.shape, dtype=_carrier(a)) for a in self.sig.outputs]
        # memory as the JIT lays it out (integers wider than 64 bits: little-endian byte rows)
        buffers = [_Buffer(spec, v) for spec, v in zip(self.sig.inputs + self.sig.outputs, storage + outputs)]
        raw = [b.array for b in buffers]
        start = time.perf_counter()
        result = self.run(raw, self.depths)
        self.elapsed = time.perf_counter() - start
        self.deadlock = None
        if result.status == DEADLOCK:
            suggestion = suggest_depths(self, raw[:len(storage)], raw[len(storage):], result)
            err = DeadlockError(deadlock_message(self, result, suggestion))
            err.suggested_depths = {self.net_label(n): d for n, d in suggestion.items()}
            err.design, err.blocked = self.name, blocked_records(self, result)
            err.stats = {s["label"]: s for s in result.stats.values()}
            self.deadlock, self.stats = err, result.stats
            raise err
        self.stats = result.stats
        for name, s in self.stats.items():
            if s["left"]:
                warnings.warn(StreamWarning(f"stream '{s['label']}' holds {s['left']} token(s) at the end of "
                                            f"the simulation of '{self.name}' (written {s['tokens']}, read "
                                            f"{s['tokens'] - s['left']})"), stacklevel=3)
        after = [_view_back(s, b) if old is not None else None
                 for s, b, old in zip(self.sig.inputs, buffers, before)]
        write_back_changed(self.sig, args, before, after)
        returned = [from_storage(spec, _view_back(spec, buffers[len(storage) + k]))
                    for k, spec in enumerate(self.sig.outputs)]
        if not returned:
            return None
        return returned[0] if len(returned) == 1 else tuple(returned)

    def net_label(self, name: str) -> str:
        return next(f.label for f in self.net.fifos if f.name == name)

    def report(self) -> StreamStats:
        """Per-stream statistics of the last run: depth, maximum occupancy, tokens (a str; a table in
        Jupyter)."""
        return StreamStats(self.stats, self.name)

    def _repr_html_(self) -> str:
        from .graph import module_html

        return module_html(self)

    # -- one simulation ---------------------------------------------------------------------------
    def run(self, values, depths) -> "RunResult":
        """One simulation of the design on ``values`` (its arguments in the JIT's layout) with FIFOs of
        ``depths``. At the design's own depths the simulation set up by the first call is reset and reused
        (``_Prepared``): a layer called once per token pays for its FIFOs, stacks and argument descriptors
        once. Other depths (the depth search), or a call while another thread runs it, set up their own."""
        lib, _ = runtime.load()
        if depths == self.depths and self._lock.acquire(blocking=False):
            try:
                return self._run_prepared(lib, values)
            finally:
                self._lock.release()
        return self._run_fresh(lib, values, depths)

    def _run_prepared(self, lib, values):
        prep = self._prepared
        if prep is None or prep.depths != self.depths or not prep.bind(values):
            prep = self._prepared = _Prepared(self, lib, values)
        self._prepared = None  # until the run has ended: a run abandoned under a thread is never reused
        status = _run_guarded(lib, prep.sim, self.timeout, self, (prep, values))
        self._prepared = prep
        return self._finish(lib, prep.sim, status)

    def _run_fresh(self, lib, values, depths):
        net = self.net
        sim = lib.dsl_sim_new(len(net.processes), len(net.fifos), STACK_BYTES)
        keep = []
        handles = [lib.dsl_sim_fifo(sim, f.index, depths[f.name], self._token_bytes[f.index]) for f in net.fifos]
        buffers = [np.zeros(shape + row, dtype=dt) for shape, dt, row in self._buffer_types]
        for proc in net.processes:
            packed = self._pack(proc, values, buffers, handles, keep)
            deps = (ctypes.c_int * max(1, len(proc.deps)))(*proc.deps)
            keep.append(deps)
            lib.dsl_sim_proc(sim, proc.index, self._fn[proc.index], packed, len(proc.deps), deps)
        status = _run_guarded(lib, sim, self.timeout, self, (keep, buffers, values))
        try:
            return self._finish(lib, sim, status)
        finally:
            lib.dsl_sim_free(sim)

    def _finish(self, lib, sim, status):
        result = RunResult(status, *self._info(lib, sim))
        oob = lib.dsl_sim_oob(sim)
        if self.checks is not None and oob >= 0:  # before anything else: the run went wrong there
            self.checks.hits.append(oob)
            self.checks.raise_if_hit(self.name)
        if status == TIMEOUT:
            raise BuildError(f"simulation of '{self.name}' did not finish within {self.timeout:g} s "
                             "(pass timeout= to dsl.build to allow more)")
        if status == ERROR:
            raise BuildError(f"simulation of '{self.name}': could not allocate process stacks")
        return result

    def _pack(self, proc, values, buffers, handles, keep, bind=None):
        """The argument array of one process. ``bind`` (a ``_Prepared``): arguments are only placeholders,
        recorded there to be pointed at each call's values."""
        ptrs = []
        for pos, (kind, ref) in enumerate(proc.operands):
            if kind == "arg" and bind is not None:
                ptrs.append(bind.slot(ref, self._arg_kinds[ref], self.sig.args[ref].shape, keep))
            elif kind == "arg":
                arr = values[ref]
                ptrs.append(_memref(arr, self.sig.args[ref].shape, keep) if self._arg_kinds[ref]
                            else _scalar(arr, keep))
            elif kind == "buffer":
                ptrs.append(_memref(buffers[ref], self._buffer_types[ref][0], keep))
            elif kind == "fifo":
                ptrs.append(_memref(None, self._fifo_shapes[ref.index], keep, address=handles[ref.index]))
            else:
                ptrs.append(_constant(ref, keep))
        packed = (ctypes.c_void_p * max(1, len(ptrs)))(*[ctypes.cast(p, ctypes.c_void_p) for p in ptrs])
        keep.append(packed)
        return packed

    def _info(self, lib, sim):
        """(per process: state, blocked FIFO and site, pending predecessors; per FIFO: its statistics)."""
        procs = np.zeros((max(1, len(self.net.processes)), 5), np.int32)
        fifos = np.zeros((max(1, len(self.net.fifos)), 4), np.int64)
        lib.dsl_sim_info_all(sim, procs.ctypes.data_as(ctypes.POINTER(ctypes.c_int)),
                             fifos.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
        info = [{"state": STATES[int(r[0])], "fifo": int(r[1]), "full": bool(r[2]), "site": int(r[3]),
                 "pending": int(r[4])} for r in procs[:len(self.net.processes)].tolist()]
        stats = {f.name: {"label": f.label, "depth": r[3], "max_occupancy": r[1], "tokens": r[2], "left": r[0]}
                 for f, r in zip(self.net.fifos, fifos.tolist())}
        return info, stats


class _Prepared:
    """A simulation of one design at its own depths, set up once and reset before each further run
    (``dsl_sim_reset``): FIFOs, process stacks, local buffers (zeroed each run, as a fresh set up had them)
    and argument descriptors stay; each call only points the descriptors at its arrays and copies its
    scalars in."""

    def __init__(self, module, lib, values):
        net = module.net
        self.lib, self.runs, self.depths = lib, 0, dict(module.depths)
        self.sim = lib.dsl_sim_new(len(net.processes), len(net.fifos), STACK_BYTES)
        self.keep, self.memrefs, self.scalars = [], [], []
        handles = [lib.dsl_sim_fifo(self.sim, f.index, module.depths[f.name], module._token_bytes[f.index])
                   for f in net.fifos]
        self.buffers = [np.zeros(shape + row, dtype=dt) for shape, dt, row in module._buffer_types]
        self._values = values  # for the scalars' storage form
        for proc in net.processes:
            packed = module._pack(proc, values, self.buffers, handles, self.keep, bind=self)
            deps = (ctypes.c_int * max(1, len(proc.deps)))(*proc.deps)
            self.keep.append(deps)
            lib.dsl_sim_proc(self.sim, proc.index, module._fn[proc.index], packed, len(proc.deps), deps)
        del self._values
        self.bind(values, first=True)

    def slot(self, ref, is_memref, shape, keep):
        if is_memref:
            desc_ptr = _memref(None, shape, keep, address=0)
            self.memrefs.append((desc_ptr.contents.contents, ref))
            return desc_ptr
        store = np.array(np.asarray(self._values[ref]).reshape(-1))  # the scalar's storage, rewritten per call
        self.scalars.append((store, ref))
        keep.append(store)
        return ctypes.c_void_p(store.ctypes.data)

    def bind(self, values, first=False) -> bool:
        """Point the run at ``values``; False when a scalar's storage form changed (set up anew)."""
        for store, ref in self.scalars:
            v = np.asarray(values[ref]).reshape(-1)
            if v.shape != store.shape or v.dtype != store.dtype:
                return False
        for store, ref in self.scalars:
            store[...] = np.asarray(values[ref]).reshape(-1)
        for desc, ref in self.memrefs:
            desc.allocated = desc.aligned = values[ref].ctypes.data
        if not first:
            for b in self.buffers:
                b.fill(0)
            self.lib.dsl_sim_reset(self.sim)
        self.runs += 1
        return True

    def __del__(self):
        try:
            self.lib.dsl_sim_free(self.sim)
        except Exception:  # interpreter shutdown: the library may be gone already
            pass


class RunResult:
    def __init__(self, status, procs, stats):
        self.status, self.procs, self.stats = status, procs, stats


def _run_guarded(lib, sim, timeout, module, keep):
    """Run in a helper thread (ctypes releases the GIL) so that the caller can wait interruptibly. Kernels
    poll at their loops (``cpu_interrupt``), so even one stuck without stream accesses ends at the timeout;
    ``keep`` holds what the run uses, kept alive if it cannot be stopped."""
    box = {}

    limit = math.inf if timeout is None else float(timeout)

    def target():
        box["status"] = lib.dsl_sim_run(sim, limit)

    t = threading.Thread(target=target, name=f"dsl-sim-{module.name}", daemon=True)
    deadline = time.monotonic() + limit + 5.0
    total = module.expected_tokens
    try:
        t.start()  # inside the try: a Ctrl-C from here on stops the run
        with Progress(f"sim {module.name}", total=total, unit="tok") as bar:
            while t.is_alive() and time.monotonic() < deadline:
                t.join(min(0.1, max(0.0, deadline - time.monotonic())))
                if bar.visible:
                    bar.set(lib.dsl_sim_ops(sim) // 2)  # each token is one put and one get
    except KeyboardInterrupt:
        lib.dsl_sim_stop(sim)  # the run ends at the next stream access or poll
        if t.ident is not None:  # a Ctrl-C inside t.start() may come before the thread exists
            t.join(5.0)
        if t.is_alive():
            abandon(t, module, keep)
        raise
    if t.is_alive():
        # a kernel in an innermost loop that does not poll: it must not run on freed memory
        running = module.net.processes[lib.dsl_sim_current(sim)].label
        abandon(t, module, keep)
        raise BuildError(f"simulation of '{module.name}' did not finish within {timeout:g} s: kernel "
                         f"'{running}' is computing without touching a stream (an endless loop?) and "
                         "could not be stopped")
    return box["status"]


# -- marshalling --------------------------------------------------------------------------------------

def _memref(arr, shape, keep, address=None):
    rank = len(shape)
    # one ctypes type per rank: ctypes keeps the pointer type of every new struct type for good, so a type
    # made per call grew the process by kilobytes per simulation
    desc = _descriptor_type(rank)()
    ptr = address if address is not None else arr.ctypes.data
    desc.allocated, desc.aligned, desc.offset = ptr, ptr, 0
    if rank:
        strides, acc = [], 1
        for extent in reversed(shape):
            strides.insert(0, acc)
            acc *= extent
        desc.shape[:], desc.strides[:] = list(shape), strides
    pointer = ctypes.pointer(ctypes.pointer(desc))
    keep.extend([desc, pointer])
    return pointer


def _scalar(arr, keep):
    arr = np.ascontiguousarray(np.asarray(arr).reshape(-1))  # one value (a wide integer: its bytes)
    keep.append(arr)
    return ctypes.c_void_p(arr.ctypes.data)


def _constant(attr, keep):
    if isinstance(attr, ir.FloatAttr):
        arr = np.array([ir.FloatAttr(attr).value], dtype=np.float64 if "f64" in str(attr.type) else np.float32)
    else:  # an integer in its storage bytes (at least a 64-bit word: index constants are i64)
        width = 64 if isinstance(attr.type, ir.IndexType) else ir.IntegerType(attr.type).width
        value = int(str(attr).split(":")[0])
        nbytes = max(8, storage_bytes(width))
        arr = np.frombuffer((value % (1 << 8 * nbytes)).to_bytes(nbytes, "little"), dtype=np.uint8).copy()
    return _scalar(arr, keep)


def _buffer_spec(t):
    """(shape, numpy dtype, trailing row) of a local buffer as the padded storage lays it out; integers
    wider than 64 bits are rows of little-endian bytes."""
    mt = ir.MemRefType(t)
    e = mt.element_type
    row = ()
    if isinstance(e, ir.IntegerType) and e.width > 64:
        dtype, row = np.uint8, (storage_bytes(e.width),)
    elif isinstance(e, ir.IntegerType):
        dtype = np.bool_ if e.width == 1 else parse_carrier(e.width, True)
    elif isinstance(e, ir.IndexType):
        dtype = np.int64
    else:
        dtype = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32, "f64": np.float64}[str(e)]
    return tuple(mt.shape), dtype, row
