"""Padded memory for integers of odd widths on the CPU path (applied to the JIT's private copy of a module).

Upstream MLIR and LLVM handle memory of ``iN`` well only when N is a whole power-of-two number of bytes:

* below 8 bits (``bool``, ``Int(3)``) the memref lowering stores whole bytes only;
* between 8 and 64 bits (``Int(17)``, ``Int(33)``) a load reads the type's store size and leaves the
  upper bits of the result undefined when memory holds the sign-extended numpy carrier;
* above 64 bits (``Int(68)``, ``Int(96)``, ``Int(200)``) MLIR sizes an allocation with its default data
  layout (4-byte alignment) while the JIT's x86-64 code strides by the target's (16-byte alignment):
  ``memref.alloc`` of ``i68`` gets 12 bytes per element and the kernel writes 16, corrupting the heap.

So every memref of such an element is retyped to its *storage* integer (``types.storage_bytes``: 8, 16,
32, 64 bits, then a multiple of 128), the same layout the calling convention already uses: loads read the
storage integer and truncate, stores zero-extend. Entry functions (the functions Python calls) also take
their odd-width scalar arguments as the storage integer and truncate on entry, so a scalar read from its
numpy carrier never has undefined upper bits. Outputs are wrapped to their declared width when read back
(``llvm._view_back``), so the padding bits never matter.
"""
from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import affine, arith, memref

from ..types import storage_bytes
from .dense import dense_ints

_LOADS = ("affine.load", "memref.load")
_STORES = ("affine.store", "memref.store")


def storage_type(t: ir.Type):
    """The storage integer of an integer type whose width needs padding, else None."""
    if not isinstance(t, ir.IntegerType):
        return None
    width = ir.IntegerType(t).width
    padded = storage_bytes(width) * 8
    return ir.IntegerType.get_signless(padded) if padded != width else None


def _padded_memref(t: ir.Type):
    t = t.maybe_downcast() if hasattr(t, "maybe_downcast") else t
    if not isinstance(t, ir.MemRefType):
        return None
    return t if storage_type(t.element_type) is not None else None


def _padded(t: ir.Type) -> ir.Type:
    m = _padded_memref(t)
    if m is None:
        return t
    return ir.MemRefType.get(list(m.shape), storage_type(m.element_type), m.layout, m.memory_space)


def _all_ops(op):
    for region in op.regions:
        for block in region:
            for child in block.operations:
                yield child.operation
                yield from _all_ops(child.operation)


def pad_storage(module: ir.Module, entries=()) -> None:
    """Retype every memref of an odd-width integer to its storage integer; ``entries`` names the
    functions called from Python, whose odd-width scalar arguments are widened too."""
    with ir.Location.unknown():
        _pad(module, set(entries))


def widen_narrow_memrefs(module: ir.Module, entries=()) -> None:
    """The former name of ``pad_storage``."""
    pad_storage(module, entries)


def _pad(module, entries):
    ops = list(_all_ops(module.operation))
    accesses = [op for op in ops if op.name in _LOADS + _STORES and _padded_memref(_memref_of(op).type)]
    for op in ops:
        _retype_values(op)
        if op.name == "func.func":
            _retype_func(op, ir.StringAttr(op.attributes["sym_name"]).value in entries)
        elif op.name == "memref.global":
            _retype_global(op)
    for op in accesses:
        (_rewrite_load if op.name in _LOADS else _rewrite_store)(op)


def _memref_of(op):
    return op.operands[0] if op.name in _LOADS else op.operands[1]


def _retype_values(op):
    for region in op.regions:
        for block in region:
            for arg in block.arguments:
                arg.set_type(_padded(arg.type))
    for res in op.results:
        res.set_type(_padded(res.type))


def _retype_func(op, is_entry: bool):
    ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
    inputs = [_padded(t) for t in ftype.inputs]
    if is_entry and op.regions[0].blocks:
        inputs = [_entry_scalar(op, k, t) for k, t in enumerate(inputs)]
    op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, list(ftype.results)))


def _entry_scalar(fop, k: int, t: ir.Type) -> ir.Type:
    """Argument ``k`` of an entry function arrives as its storage integer and is truncated on entry."""
    wide = storage_type(t)
    if wide is None:
        return t
    block = fop.regions[0].blocks[0]
    arg = block.arguments[k]
    uses = [(use.owner, use.operand_number) for use in arg.uses]
    arg.set_type(wide)
    with ir.InsertionPoint.at_block_begin(block):
        narrow = arith.trunci(t, arg)
    for owner, number in uses:
        owner.operands[number] = narrow
    return wide


def _retype_global(op):
    old = ir.TypeAttr(op.attributes["type"]).value
    if _padded_memref(old) is None:
        return
    new = _padded(old)
    op.attributes["type"] = ir.TypeAttr.get(new)
    init = op.attributes["initial_value"] if "initial_value" in op.attributes else None
    if isinstance(init, ir.DenseIntElementsAttr):
        # numpy constants are 8..64-bit or bool; stateful tables may have any width (a Fixed(12, 4) is i12)
        dense, element = init, ir.MemRefType(new).element_type
        mask = (1 << ir.IntegerType(ir.MemRefType(old).element_type).width) - 1
        values = np.array([int(v) & mask for v in dense_ints(dense)], dtype=np.int64).astype(
            np.dtype(f"i{ir.IntegerType(element).width // 8}"))
        shape = list(ir.MemRefType(old).shape)
        op.attributes["initial_value"] = ir.DenseElementsAttr.get(
            values.reshape(shape) if shape else values.reshape(()), type=element, shape=shape)


def _rewrite_load(op):
    narrow = op.results[0].type
    wide_type = storage_type(narrow)
    with op.location, ir.InsertionPoint(op):
        if op.name == "affine.load":
            wide = affine.AffineLoadOp(wide_type, op.operands[0], list(op.operands[1:]), op.attributes["map"]).result
        else:
            wide = memref.load(op.operands[0], list(op.operands[1:]))
        value = arith.trunci(narrow, wide)
    op.results[0].replace_all_uses_with(value)
    op.erase()


def _rewrite_store(op):
    with op.location, ir.InsertionPoint(op):
        op.operands[0] = arith.extui(storage_type(op.operands[0].type), op.operands[0])
