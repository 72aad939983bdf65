"""The numpy calling convention shared by every executable backend (CPU JIT, csim, simulator).

A call passes one numpy array (or Python scalar) per kernel input; outputs of kernels that return tensors
come back as new arrays; kernels without a return write into the arrays they were given. Values travel in
a *storage* form that matches the IR exactly: integers wrapped to their declared width (in the next wider
numpy integer, or Python ints beyond 64 bits), fixed point as raw integers, bfloat16 as raw 16-bit words.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from mlir import ir

from ..errors import CallError
from ..types import DSLType, Float, Index, parse_type
from . import wide_ints
from .call_values import check_dtype, check_scalar, check_values


@dataclass(frozen=True)
class ArgSpec:
    name: str
    dtype: DSLType
    shape: tuple | None  # None for scalars
    is_output: bool


@dataclass(frozen=True)
class Signature:
    name: str
    args: tuple
    results: tuple  # dsl types of scalar results
    written: frozenset = frozenset()  # names of the tensor arguments the kernel may write
    order: tuple = ()  # "out" / "ret" per returned value, in the kernel's order (empty: tensors, then scalars)

    def returned(self, tensors: list, scalars: list):
        """What a call returns: the returned tensors and scalar results in the order the kernel returns them
        (``-> (int32, int32[8])`` gives the scalar first); None when nothing is returned."""
        if self.order:
            outs, rets = iter(tensors), iter(scalars)
            values = [next(outs) if kind == "out" else next(rets) for kind in self.order]
        else:
            values = list(tensors) + list(scalars)
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    @functools.cached_property  # (a frozen dataclass still has a __dict__: computed once per signature)
    def inputs(self):
        return [a for a in self.args if not a.is_output]

    @functools.cached_property
    def outputs(self):
        return [a for a in self.args if a.is_output]


def signature_of_func(fop) -> Signature:
    attrs = fop.attributes
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(attrs["dsl.arg_names"])]
    types = [parse_type(ir.StringAttr(a).value) for a in ir.ArrayAttr(attrs["dsl.arg_types"])]
    n_out = ir.IntegerAttr(attrs["dsl.num_outputs"]).value
    results = tuple(parse_type(ir.StringAttr(a).value) for a in ir.ArrayAttr(attrs["dsl.result_types"]))
    arg_types = fop.type.inputs
    specs = []
    for k, (name, dtype, t) in enumerate(zip(names, types, arg_types)):
        shape = tuple(t.shape) if isinstance(t, ir.MemRefType) else None
        specs.append(ArgSpec(name, dtype, shape, k >= len(names) - n_out))
    written = frozenset(names[k] for k in _written_args(fop, {}) if k < len(names))
    order = tuple(ir.StringAttr(a).value for a in ir.ArrayAttr(attrs["dsl.return_kinds"])) \
        if "dsl.return_kinds" in attrs else ()
    return Signature(ir.StringAttr(attrs["sym_name"]).value, tuple(specs), results, written, order=order)


# -- which arguments a kernel may write (a read-only array is refused before the call) ---------------

_VIEWS = ("memref.subview", "memref.cast", "memref.reinterpret_cast")
_READS = ("affine.load", "memref.load", "memref.dim", "affine.vector_load", "vector.load",
          "vector.transfer_read")
_STORES_AND_COPIES = ("affine.store", "memref.store", "memref.copy")  # written only as their target


def _written_args(fop, memo: dict) -> set:
    """Positions of ``fop``'s memref arguments that a store, a copy or a callee may write (through views
    too). Conservative: a store under a branch that never runs counts."""
    name = ir.StringAttr(fop.attributes["sym_name"]).value
    if name in memo:
        return memo[name]
    memo[name] = set()  # a recursive call adds nothing new
    if not fop.regions[0].blocks:
        memo[name] = set(range(len(fop.type.inputs)))  # an external function: assume it writes
        return memo[name]
    table = _func_table(fop)
    found = set()
    for k, arg in enumerate(fop.regions[0].blocks[0].arguments):
        if isinstance(arg.type, ir.MemRefType) and _is_written(arg, table, memo):
            found.add(k)
    memo[name] = found
    return found


def _is_written(value, table, memo) -> bool:
    for use in value.uses:
        op = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if op.name in ("affine.store", "memref.store") and use.operand_number == 1:
            return True
        if op.name == "memref.copy" and use.operand_number == 1:
            return True
        if op.name in _VIEWS and _is_written(op.results[0], table, memo):
            return True
        if op.name == "func.call":
            callee = table.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
            if callee is None or use.operand_number in _written_args(callee, memo):
                return True
        elif op.name not in _READS and op.name not in _VIEWS and op.name not in _STORES_AND_COPIES:
            return True  # an op this analysis does not know (the call boundary skips unwritten inputs)
    return False


def _func_table(fop) -> dict:
    module = fop.operation.parent
    return {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.regions[0].blocks[0].operations
            if op.operation.name == "func.func"}


def signature(schedule) -> Signature:
    with schedule.context:
        return signature_of_func(schedule.top_func)


# -- storage conversions ----------------------------------------------------------------------------

def _wrap(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Wrap integers to ``bits`` (two's complement when signed), as hardware registers do."""
    if values.dtype == object or bits > 64:
        return wide_ints.wrap(values, bits, signed)
    carrier = parse_carrier(bits, signed)
    v = values.astype(np.int64) if values.dtype.kind in "iub" and values.dtype != np.uint64 else values
    if bits >= 64:
        return v.astype(carrier)
    # shift the value's bits to the top of a 64-bit word and back: no intermediate can overflow
    top = v.astype(np.uint64) << np.uint64(64 - bits)
    return ((top.view(np.int64) >> np.int64(64 - bits)) if signed else (top >> np.uint64(64 - bits))).astype(carrier)


def parse_carrier(bits: int, signed: bool) -> np.dtype:
    for width in (8, 16, 32, 64):
        if bits <= width:
            return np.dtype(f"{'i' if signed else 'u'}{width // 8}")
    return np.dtype(object)


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 raw bits, rounding to nearest even (as LLVM's fptrunc does)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    return np.where(nan, 0x7FC0, rounded).astype(np.uint16)


def _bf16_value(bits: np.ndarray) -> np.ndarray:
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


@functools.lru_cache(maxsize=None)
def storage_dtype(t) -> np.dtype | None:
    """The numpy dtype of ``t``'s storage form when a numpy array can already be in it (None for fixed
    point, bfloat16 and integers wider than 64 bits, which always need converting)."""
    if isinstance(t, Float):
        return None if t.name == "bfloat16" else np.dtype(t.np_dtype)
    if isinstance(t, Index):
        return np.dtype(np.int64)
    if t.is_fixed or t.bits > 64:
        return None
    return np.dtype(np.bool_) if t.bits == 1 and not t.signed else parse_carrier(t.bits, t.signed)


def is_storage(spec: ArgSpec, arr: np.ndarray) -> bool:
    """Whether ``arr`` (whose values ``check_values`` accepted) already is its storage form, bit for bit:
    the storage dtype, C-contiguous and aligned (an integer in range is its own wrapped value)."""
    return _in_storage_dtype(arr, spec.dtype) and arr.flags.c_contiguous and arr.flags.aligned


def _in_storage_dtype(arr: np.ndarray, t) -> bool:
    dtype = storage_dtype(t)  # (never compare a dtype with None: numpy takes None for float64)
    return dtype is not None and arr.dtype == dtype


def to_storage(spec: ArgSpec, value, kernel: str = "the kernel", borrow: bool = False) -> np.ndarray:
    """User value -> storage array (C-contiguous). Raises CallError for values the declared type cannot
    hold (see ``values.check_values``); precision is rounded by the type's own rule (floats to nearest,
    fixed point toward -inf as AP_TRN does). A new array, except with ``borrow=True`` for an array that
    already is its storage form (``is_storage``): then the array itself (for inputs the kernel never
    writes, where a copy would cost as much as a memory-bound kernel)."""
    t = spec.dtype
    arr = np.asarray(value)
    if arr.dtype == object and not (t.is_int or t.is_index):
        raise CallError(f"argument '{spec.name}' of {kernel}: cannot convert a {type(value).__name__} to {t!r}")
    check_values(spec, arr, kernel)
    if _in_storage_dtype(arr, t):  # no conversion: values in range are their own storage
        return arr if borrow and is_storage(spec, arr) else np.array(arr, order="C", copy=True)
    if arr.dtype == object and (t.is_index or t.bits <= 64):  # Python ints within range
        arr = arr.astype(np.uint64 if not t.signed and not t.is_index else np.int64)
    if isinstance(t, Float):
        if t.name == "bfloat16":
            return np.ascontiguousarray(_bf16_bits(arr.astype(np.float32)))
        return np.ascontiguousarray(arr.astype(t.np_dtype))
    if isinstance(t, Index):
        return np.ascontiguousarray(arr.astype(np.int64))
    if t.is_fixed:
        raw = np.floor(arr.astype(np.float64) * (2.0 ** t.frac))  # AP_TRN: toward -inf
        if t.bits > 64:
            raw = np.array([int(x) for x in raw.reshape(-1)], dtype=object).reshape(raw.shape)
        else:
            raw = raw.astype(np.int64) if t.bits < 64 else np.array(raw, dtype=object)
        return np.ascontiguousarray(_wrap(raw, t.bits, t.signed))
    if arr.dtype.kind == "f":
        arr = arr.astype(np.int64) if t.bits <= 64 else np.array([int(x) for x in arr.reshape(-1)], dtype=object).reshape(arr.shape)
    if t.bits == 1 and not t.signed:
        return np.ascontiguousarray(arr.astype(bool))
    if t.bits <= 64 and arr.dtype != object:  # check_values proved every value in range: its own wrapped value
        return np.array(arr, dtype=parse_carrier(t.bits, t.signed), order="C", copy=True)
    if arr.dtype == object:  # wide integers, proved in range likewise: the same objects (ints for the JIT)
        return np.array(arr, dtype=object, order="C", copy=True)
    return np.ascontiguousarray(_wrap(arr, t.bits, t.signed))


def from_storage(spec: ArgSpec, raw) -> np.ndarray:
    """Storage array -> the array the user gets back."""
    t = spec.dtype
    if isinstance(t, Float) and t.name == "bfloat16":
        return _bf16_value(raw)
    if t.is_fixed:
        values = np.asarray(raw)
        if values.dtype == object:
            return np.array([float(int(v)) / (2 ** t.frac) for v in values.reshape(-1)]).reshape(values.shape)
        return values.astype(np.float64) / (2.0 ** t.frac)
    return raw


def bind_args(sig: Signature, args, kwargs=None) -> list:
    """The call's inputs in declaration order, from positional and keyword arguments as Python binds them."""
    inputs = sig.inputs
    names = [a.name for a in inputs]
    kwargs = kwargs or {}
    if len(args) > len(inputs) or (not kwargs and len(args) != len(inputs)):
        listing = ", ".join(f"{a.name}: {a.dtype!r}{list(a.shape) if a.shape else ''}" for a in inputs)
        raise CallError(f"{sig.name}() takes {len(inputs)} argument(s) ({listing}), got {len(args)}")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            returned = any(a.name == key for a in sig.outputs)
            why = f"'{key}' is a returned tensor, not an argument" if returned else f"its arguments are {', '.join(names)}"
            raise CallError(f"{sig.name}() got an unexpected keyword argument '{key}' ({why})")
        if key in bound:
            raise CallError(f"{sig.name}() got multiple values for argument '{key}'")
        bound[key] = value
    missing = [n for n in names if n not in bound]
    if missing:
        raise CallError(f"{sig.name}() missing {len(missing)} required argument(s): "
                        f"{', '.join(repr(n) for n in missing)}")
    return [bound[n] for n in names]


def check_args(sig: Signature, args, kwargs=None, borrow: bool = False, borrow_written: bool = False,
               bound: bool = False) -> list:
    """Validate a call's arguments (count, shapes, dtypes, values) and convert them to storage arrays.
    Every check happens before the kernel runs. New arrays (the kernel may work on them as it likes), except
    with ``borrow=True``: an input the kernel never writes (``sig.written``) that already is its storage
    form is passed as the caller's array itself; with ``borrow_written=True`` too, so is an input it may
    write that overlaps no other argument (the kernel then writes the caller's array in place: only for a
    call that cannot stop half-way). ``bound``: ``args`` already come from ``bind_args``."""
    args = args if bound else bind_args(sig, args, kwargs)
    converted = []
    kernel = f"{sig.name}()"
    for k, (spec, value) in enumerate(zip(sig.inputs, args)):
        if spec.shape is None:
            check_scalar(spec, value, kernel)
        else:
            if not isinstance(value, np.ndarray):
                raise CallError(f"argument '{spec.name}' of {kernel} must be a numpy array of shape "
                                f"{list(spec.shape)}, got {type(value).__name__}")
            if tuple(value.shape) != tuple(spec.shape):
                raise CallError(f"argument '{spec.name}' of {kernel} must have shape {list(spec.shape)}, "
                                f"got {list(value.shape)}")
            check_dtype(spec, value, kernel, written=spec.name in sig.written)
        share = borrow and (spec.name not in sig.written or borrow_written and _stores_as_numpy(spec.dtype)
                            and not _overlaps(k, args))
        converted.append(to_storage(spec, value, kernel, borrow=share))
    return converted


def _stores_as_numpy(t) -> bool:
    """Whether the kernel's stores leave a value of ``t`` in its numpy carrier as numpy holds it (the CPU
    path zero-extends integers of odd widths into their carrier: those need wrapping when read back)."""
    return isinstance(t, (Float, Index)) or t.bits in (8, 16, 32, 64) or t.bits == 1 and not t.signed


def _overlaps(k: int, args) -> bool:
    """Whether argument ``k`` (an array) may share memory with another of the call's arrays (bounds only)."""
    return any(j != k and isinstance(other, np.ndarray) and np.may_share_memory(args[k], other)
               for j, other in enumerate(args))


def copies_before(sig: Signature, storage: list, args=None) -> list:
    """What ``write_back_changed`` compares against: for each input the kernel may write, its storage as
    it was before the call (None for the others, which need neither the copy nor the comparison). That is
    the caller's array itself when ``args`` are given and it already was the storage form (the kernel
    works on a copy, so it stays as it was), else a copy; None too for an input the kernel writes in place
    (its storage is the caller's array: nothing to copy back)."""
    args = args if args is not None else [None] * len(storage)
    return [None if spec.shape is None or spec.name not in sig.written or a is user else  # written in place
            user if isinstance(user, np.ndarray) and is_storage(spec, user) else np.copy(a)
            for spec, a, user in zip(sig.inputs, storage, args)]


def _same_bits(old: np.ndarray, new: np.ndarray) -> bool:
    """Whether the kernel left the storage as it was, bit for bit (NaNs included, and faster than
    ``array_equal(equal_nan=True)``); a -0.0 written over 0.0 counts as a change."""
    if old.dtype == object:
        return np.array_equal(old, new)
    if old.dtype.itemsize in (1, 2, 4, 8) and old.flags.c_contiguous and new.flags.c_contiguous \
            and old.dtype == new.dtype:
        unsigned = np.dtype(f"u{old.dtype.itemsize}")
        return np.array_equal(old.view(unsigned), new.view(unsigned))
    return np.array_equal(old, new, equal_nan=old.dtype.kind in "fc")


def write_back_changed(sig: Signature, args, before: list, after: list) -> None:
    """Kernels take tensors by reference: copy into the caller's arrays every input the kernel wrote.

    ``before`` holds the storage passed in, ``after`` the storage read back. Inputs the kernel did not
    write are left untouched, so a float array given to a Fixed argument is never replaced by its
    quantised values.
    """
    for spec, user, old, new in zip(sig.inputs, args, before, after):
        if spec.shape is None or not isinstance(user, np.ndarray) or new is None or old is None:
            continue
        if not _same_bits(old, new):
            np.copyto(user, from_storage(spec, new), casting="unsafe")
