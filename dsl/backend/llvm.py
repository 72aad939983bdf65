"""The CPU backend: lower the module with upstream MLIR passes and run it through MLIR's JIT.

``dsl.build(s)`` returns an ``LLVMModule``; calling it with numpy arrays runs the top kernel. Compiled
engines are cached by the text of the module, so building the same kernel twice costs nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import threading

import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from ..errors import BuildError, user_facing
from ..types import Float, Index, storage_bytes
from . import cpu_bounds, cpu_call, cpu_entry, cpu_floats, cpu_interrupt, cpu_narrow, cpu_noalias, cpu_opt, cpu_outputs, cpu_regblock, cpu_rolled
from . import cpu_hoist, cpu_regblock_cache, cpu_run, cpu_transpose, jit_symbols, wide_ints
from .interface import bind_args, check_args, copies_before, from_storage, signature_of_func, write_back_changed

# Local tensors live from their allocation to the end of its scope: allocations of a static size move out of
# the loops that hold them (one allocation instead of one per iteration), then every allocation is freed
# where its last use may be (MLIR's ownership-based deallocation; without it a tensor allocated in a loop, or a
# callee's result tensor, leaked once per iteration and per call).
FREE_LOCALS = [
    "func.func(buffer-loop-hoisting)",
    "buffer-deallocation-pipeline",
]
TO_SCF = FREE_LOCALS + [
    "expand-strided-metadata",
    "lower-affine",
]
SCF_TO_CFG = [
    "arith-expand",
    "convert-scf-to-cf",
]
TO_CFG = TO_SCF + SCF_TO_CFG
FROM_CFG = [
    "convert-vector-to-llvm",   # the vectors of cpu_regblock and cpu_transpose
    "convert-math-to-llvm",
    "convert-math-to-libm",
    "finalize-memref-to-llvm",
    "convert-arith-to-llvm",
    "convert-index-to-llvm",
    "convert-func-to-llvm",
    "convert-cf-to-llvm",
    "reconcile-unrealized-casts",
]
LOWERING = ",".join(TO_CFG + FROM_CFG)

_CACHE: dict[str, tuple] = {}
_CACHE_LOCK = threading.Lock()


def lower_to_llvm(module_text: str, top: str, context: ir.Context, extra_passes=(), checks=None):
    """Parse a copy of the module, apply CPU-only loop optimisations, and lower it to the LLVM dialect
    (with ``checks``, a ``cpu_bounds.BoundsChecks``, every memory access tests its indices first).
    Returns the module and whether a call is known to be short (``cpu_interrupt.runs_at_most``)."""
    with context:
        module = ir.Module.parse(module_text)
        for op in module.body.operations:
            if op.operation.name == "func.func":
                op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        cpu_opt.optimize_for_cpu(module)
        if checks is None:  # (a bounds check tests scalar accesses: a debugging build keeps them)
            cpu_hoist.hoist_repeated_copies(module)
            cpu_regblock.register_block(module)
            cpu_transpose.vectorize_transposes(module)
        cpu_regblock_cache.align_local_buffers(module)
        cpu_opt.inline_scheduled_functions(module)
        distinct = cpu_noalias.distinct_arguments(module)
        cpu_entry.results_to_buffers(module, top)
        cpu_narrow.pad_storage(module, entries=[top])
        quick = cpu_interrupt.runs_at_most(module, top, cpu_interrupt.CPU_BUDGET)
        cpu_interrupt.insert_polls(module, cpu_interrupt.CPU_MARKER, after_calls=True,
                                   budget=cpu_interrupt.CPU_BUDGET)
        try:
            if checks is not None:
                cpu_bounds.insert_checks(module, checks)
            cpu_floats.expand_sixteen_bit_floats(module)
            rolled = cpu_rolled.loops_to_keep_rolled(module)
            PassManager.parse(f"builtin.module({','.join(list(extra_passes) + TO_SCF)})").run(module.operation)
            cpu_rolled.annotate(module, rolled)
            PassManager.parse(f"builtin.module({','.join(SCF_TO_CFG)})").run(module.operation)
            cpu_interrupt.lower_early_returns(module)
            PassManager.parse(f"builtin.module({','.join(FROM_CFG)})").run(module.operation)
            cpu_noalias.mark(module, distinct)
        except Exception as exc:  # MLIR reports diagnostics as exceptions with its own text
            raise BuildError(f"lowering {top!r} for the CPU failed: {exc}") from None
    return module, quick


def _runtime_libs() -> tuple:
    """Libraries the JIT links against: integer division wider than 64 bits calls libgcc's helpers
    (``__divti3``, ``__divei4``, ...). The engine needs a path, so find where the loader put libgcc_s."""
    global _RUNTIME_LIBS
    if _RUNTIME_LIBS is None:
        found = []
        name = ctypes.util.find_library("gcc_s")
        if name:
            try:
                ctypes.CDLL(name)
                with open("/proc/self/maps") as maps:
                    found = sorted({line.split()[-1] for line in maps if "libgcc_s" in line and "/" in line})[:1]
            except OSError:
                found = []
        _RUNTIME_LIBS = tuple(found)
    return _RUNTIME_LIBS


_RUNTIME_LIBS = None


def compile_engine(schedule, opt_level=3, shared_libs=(), check_bounds=False):
    shared_libs = tuple(shared_libs) + _runtime_libs()
    # bounds checks name Python lines: they need the module's locations
    text = schedule.module.operation.get_asm(enable_debug_info=True) if check_bounds else str(schedule.module)
    key = hashlib.sha256(f"{opt_level}|{shared_libs}|{check_bounds}|{text}".encode()).hexdigest()
    # a module with stateful variables keeps them in the engine's memory: each build gets its own state
    cacheable = "dsl.stateful" not in text
    with _CACHE_LOCK:
        hit = _CACHE.get(key) if cacheable else None
    if hit is not None:
        return hit
    with schedule.context:
        sig = signature_of_func(schedule.top_func)
        filled = cpu_outputs.fully_written(schedule.top_func)
    checks = cpu_bounds.BoundsChecks() if check_bounds else None
    lowered, quick = lower_to_llvm(text, schedule.top, schedule.context, checks=checks)
    with schedule.context:
        engine = ExecutionEngine(lowered, opt_level=opt_level, shared_libs=list(shared_libs))
        if checks is not None:
            # the generated code calls the plain symbol (register_runtime would add the C-interface prefix)
            engine.raw_register_runtime(cpu_bounds.FAIL, ctypes.cast(checks.callback, ctypes.c_void_p))
        stop = cpu_run.StopWord()
        stop.register(engine)
        jit_symbols.resolve(engine, schedule.top, f"building {schedule.top!r} for the CPU")
    entry = (engine, sig, lowered, checks, stop, quick, filled)
    if cacheable:
        with _CACHE_LOCK:
            _CACHE[key] = entry
    return entry


OPT_LEVELS = (0, 1, 2, 3)


@user_facing
def build_llvm(schedule, opt_level: int = 3, check_bounds: bool = False, timeout: float | None = 600.0):
    """``dsl.build(s, target="llvm")``. ``opt_level``: LLVM's -O level (0..3); ``check_bounds=True`` makes
    every memory access test its indices and an out-of-range one a ``dsl.BuildError`` naming the Python line
    (slower: a debugging switch); ``timeout``: seconds one call may run before it is stopped (None: no
    limit, and the call runs in the caller's thread)."""
    check_opt_level(opt_level)
    cpu_run.check_timeout(timeout)
    engine, sig, lowered, checks, stop, quick, filled = compile_engine(schedule, int(opt_level),
                                                                       check_bounds=bool(check_bounds))
    mod = LLVMModule(engine, sig, schedule.top, checks, stop, timeout, quick, filled)
    mod.module = lowered  # the LLVM-dialect module the JIT compiled (Allo's ``mod.module``)
    return mod


def check_opt_level(opt_level) -> None:
    if isinstance(opt_level, bool) or not isinstance(opt_level, (int, np.integer)) or opt_level not in OPT_LEVELS:
        raise BuildError(f"opt_level must be one of {', '.join(map(str, OPT_LEVELS))} (LLVM's -O levels), "
                         f"got {opt_level!r}")


class LLVMModule:
    """A kernel compiled for the CPU: call it with numpy arrays (inputs only; outputs are returned).
    ``timeout`` (seconds, or None) bounds each call; change it on the module to allow more."""

    def __init__(self, engine, sig, name, checks=None, stop=None, timeout=600.0, quick=False, filled=frozenset()):
        self.engine, self.sig, self.name, self.checks = engine, sig, name, checks
        self.stop, self.timeout = stop or cpu_run.StopWord(), timeout
        self.quick = quick  # known to end within about a millisecond: runs in the caller's thread
        # outputs the kernel provably writes in full before reading (cpu_outputs): not zero-filled
        self.filled = filled
        self._entry = None  # the compiled function, looked up on the first call
        # calls in the caller's thread reuse their marshalling (cpu_call); not with bounds checks
        self._marshal = cpu_call.PerThread(lambda: cpu_call.Marshal(sig, _descriptor, _size, _scalar_value)) \
            if checks is None and cpu_call.eligible(sig) else None

    def __repr__(self):
        return f"<dsl.LLVMModule {self.name}({', '.join(a.name for a in self.sig.inputs)})>"

    @user_facing
    def __call__(self, *args, **kwargs):
        args = bind_args(self.sig, args, kwargs)
        # arrays already in storage form are passed as they are (no copy): inputs the kernel never writes,
        # and, when the call cannot stop half-way (no worker thread, no bounds checks), those it writes
        # too; otherwise a written input is a copy, so that a stopped call leaves the caller's arrays as
        # they were
        timeout = None if self.quick else self.timeout
        storage = check_args(self.sig, args, borrow=True, borrow_written=timeout is None and self.checks is None,
                             bound=True)
        before = copies_before(self.sig, storage, args)
        outputs = [_new_output(spec, spec.name in self.filled) for spec in self.sig.outputs]
        arrays = storage + outputs
        marshal = self._marshal.get() if self._marshal is not None and timeout is None else None
        if marshal is not None and cpu_call.fits(marshal, arrays):   # in this thread: reuse the marshalling
            scalars = marshal.run(self._function(), arrays)
            buffers, back = arrays, _wrap_odd_width
        else:
            keep, packed = [], []
            for spec, arr in zip(self.sig.args, arrays):
                packed.append(_pack(spec, arr, keep))
            scalars = cpu_run.run_stoppable(lambda: self._invoke(packed), timeout, self.stop, self.name,
                                            (self.engine, keep, packed))
            if self.checks is not None:
                self.checks.raise_if_hit(self.name)
            buffers, back = keep, _view_back
        # read back the outputs and the inputs the kernel may have written (others: no conversion)
        returned = [from_storage(spec, back(spec, buf)) for spec, buf in zip(self.sig.outputs, buffers[len(storage):])]
        after = [back(spec, buf) if old is not None else None for spec, buf, old in zip(self.sig.inputs, buffers, before)]
        write_back_changed(self.sig, args, before, after)
        return self.sig.returned(returned, scalars)

    def _function(self):
        if self._entry is None:  # the engine's invoke() looks the function up and makes its ctypes type each time
            self._entry = self.engine.lookup(self.name)
        return self._entry

    def _invoke(self, packed) -> list:
        """Run the kernel; return its scalar results, which come back through one-element buffers after
        the arguments (``cpu_entry.results_to_buffers``)."""
        slots = [np.zeros(max(8, _size(t)), dtype=np.uint8) for t in self.sig.results]
        buffers = [ctypes.pointer(ctypes.pointer(_descriptor(slot, (1,)))) for slot in slots]
        pointers = [*packed, *buffers]
        self._function()((ctypes.c_void_p * len(pointers))(*[ctypes.addressof(p.contents) for p in pointers]))
        return [_scalar_value(t, slot.tobytes()) for t, slot in zip(self.sig.results, slots)]


# -- marshalling --------------------------------------------------------------------------------------

def _new_output(spec, filled: bool) -> np.ndarray:
    """A returned tensor's buffer: zeros (what an element the kernel does not write reads as), or
    uninitialised when the kernel provably writes every element before reading any (``filled``)."""
    carrier = _carrier(spec)
    return np.empty(spec.shape, dtype=carrier) if filled and carrier is not object else \
        np.zeros(spec.shape, dtype=carrier)


def _carrier(spec):
    t = spec.dtype
    if isinstance(t, Float):
        return np.uint16 if t.name == "bfloat16" else t.np_dtype
    if isinstance(t, Index):
        return np.int64
    if t.bits == 1 and not t.signed and not t.is_fixed:
        return np.bool_
    if t.bits > 64:
        return object
    for width in (8, 16, 32, 64):
        if t.bits <= width:
            return np.dtype(f"{'i' if t.signed else 'u'}{width // 8}")


class _Buffer:
    """Storage as LLVM lays it out; wide integers become little-endian byte rows."""

    def __init__(self, spec, arr):
        self.spec = spec
        if arr.dtype == object:
            nbytes = storage_bytes(spec.dtype.bits)
            self.array, self.elem_bytes, self.wide = wide_ints.to_rows(arr, nbytes, spec.dtype.signed), nbytes, True
        else:
            self.array, self.elem_bytes, self.wide = np.ascontiguousarray(arr), arr.dtype.itemsize, False


@functools.lru_cache(maxsize=None)
def _descriptor_type(rank: int):
    """The ctypes struct of a rank-``rank`` memref descriptor (made once per rank: making a ctypes type
    costs more than a small kernel's whole call)."""
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_longlong)]
    if rank:
        fields += [("shape", ctypes.c_longlong * rank), ("strides", ctypes.c_longlong * rank)]
    return type("MemRefDescriptor", (ctypes.Structure,), {"_fields_": fields})


@functools.lru_cache(maxsize=None)
def _extents(shape: tuple) -> tuple:
    """The shape and row-major strides (in elements) of a descriptor, as the struct takes them."""
    strides, acc = [], 1
    for extent in reversed(shape):
        strides.append(acc)
        acc *= extent
    return tuple(shape), tuple(reversed(strides))


def _descriptor(array: np.ndarray, shape):
    ptr = array.__array_interface__["data"][0]  # (cheaper than array.ctypes.data, which builds an object)
    if not shape:
        return _descriptor_type(0)(ptr, ptr, 0)
    extents, strides = _extents(tuple(shape))
    return _descriptor_type(len(shape))(ptr, ptr, 0, extents, strides)


def _pack(spec, arr, keep):
    if spec.shape is None:
        buf = _Buffer(spec, np.asarray(arr).reshape(1))
        keep.append(buf)
        return _scalar_pointer(buf)
    buf = _Buffer(spec, arr)
    keep.append(buf)
    return ctypes.pointer(ctypes.pointer(_descriptor(buf.array, spec.shape)))


def _scalar_pointer(buf):
    ctype = ctypes.c_uint8 * buf.array.nbytes
    return ctypes.pointer(ctype.from_address(buf.array.ctypes.data))


def _view_back(spec, buf: _Buffer):
    if not buf.wide:
        return _wrap_odd_width(spec, buf.array)
    return wide_ints.from_rows(buf.array, spec.shape, spec.dtype.bits, spec.dtype.signed)


def _wrap_odd_width(spec, array):
    """Integers narrower than their carrier come back wrapped to their declared width (LLVM leaves the
    carrier's upper bits unspecified)."""
    t = spec.dtype
    if isinstance(t, (Float, Index)) or t.bits in (8, 16, 32, 64) or (t.bits == 1 and not t.signed and not t.is_fixed):
        return array
    from .interface import _wrap

    return _wrap(array, t.bits, t.signed)



def _size(t) -> int:
    """Bytes of a scalar of ``t`` in its (padded) storage."""
    if isinstance(t, (Float, Index)):
        return t.bits // 8 if isinstance(t, Float) else 8
    return storage_bytes(t.bits)


def _scalar_value(t, slot):
    raw = bytes(slot)
    if isinstance(t, Float):
        if t.name == "bfloat16":
            return np.frombuffer(raw[:2], dtype=np.uint16).astype(np.uint32).__lshift__(16).view(np.float32)[0]
        return np.frombuffer(raw[: t.bits // 8], dtype=t.np_dtype)[0]
    if isinstance(t, Index):
        return int.from_bytes(raw[:8], "little", signed=True)
    value = int.from_bytes(raw[: storage_bytes(t.bits)], "little", signed=False) & ((1 << t.bits) - 1)
    if t.signed and value >> (t.bits - 1):
        value -= 1 << t.bits
    if t.is_fixed:
        return value / (1 << t.frac)
    if t.bits == 1 and not t.signed:
        return bool(value)
    return value
