"""Byte-sized memory for sub-byte integers on the CPU path (applied to the JIT's private copy of a module).

LLVM's memref lowering stores whole bytes only, so a buffer of ``i1``..``i7`` (``bool``, ``Int(3)``,
``UInt(4)``, ...) becomes a buffer of ``i8``: loads truncate back to the narrow type and stores zero-extend
into the byte. The calling convention already carries these types in one byte per element; the outputs are
wrapped to their declared width when they are read back (see ``llvm._view_back``).
"""
from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import affine, arith, memref

_LOADS = ("affine.load", "memref.load")
_STORES = ("affine.store", "memref.store")


def _narrow_memref(t: ir.Type):
    t = t.maybe_downcast() if hasattr(t, "maybe_downcast") else t
    if not isinstance(t, ir.MemRefType):
        return None
    m = t
    e = m.element_type
    if isinstance(e, ir.IntegerType) and e.width < 8:
        return m
    return None


def _widened(t: ir.Type) -> ir.Type:
    m = _narrow_memref(t)
    if m is None:
        return t
    return ir.MemRefType.get(list(m.shape), ir.IntegerType.get_signless(8), m.layout, m.memory_space)


def _all_ops(op):
    for region in op.regions:
        for block in region:
            for child in block.operations:
                yield child.operation
                yield from _all_ops(child.operation)


def widen_narrow_memrefs(module: ir.Module) -> None:
    with ir.Location.unknown():
        _widen(module)


def _widen(module):
    ops = list(_all_ops(module.operation))
    accesses = [op for op in ops if op.name in _LOADS + _STORES and _narrow_memref(_memref_of(op).type)]
    for op in ops:
        _retype_values(op)
        if op.name == "func.func":
            _retype_func(op)
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
                arg.set_type(_widened(arg.type))
    for res in op.results:
        res.set_type(_widened(res.type))


def _retype_func(op):
    ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
    new = ir.FunctionType.get([_widened(t) for t in ftype.inputs], list(ftype.results))
    op.attributes["function_type"] = ir.TypeAttr.get(new)


def _retype_global(op):
    old = ir.TypeAttr(op.attributes["type"]).value
    if _narrow_memref(old) is None:
        return
    op.attributes["type"] = ir.TypeAttr.get(_widened(old))
    init = op.attributes["initial_value"] if "initial_value" in op.attributes else None
    if isinstance(init, ir.DenseIntElementsAttr):
        dense = init
        values = np.array([int(dense[k]) & 0xFF for k in range(len(dense))], dtype=np.uint8).astype(np.int8)
        shape = list(ir.MemRefType(old).shape)
        op.attributes["initial_value"] = ir.DenseElementsAttr.get(
            values.reshape(shape) if shape else values.reshape(()), type=ir.IntegerType.get_signless(8),
            shape=shape)


def _rewrite_load(op):
    narrow = op.results[0].type
    with op.location, ir.InsertionPoint(op):
        i8 = ir.IntegerType.get_signless(8)
        if op.name == "affine.load":
            wide = affine.AffineLoadOp(i8, op.operands[0], list(op.operands[1:]), op.attributes["map"]).result
        else:
            wide = memref.load(op.operands[0], list(op.operands[1:]))
        value = arith.trunci(narrow, wide)
    op.results[0].replace_all_uses_with(value)
    op.erase()


def _rewrite_store(op):
    with op.location, ir.InsertionPoint(op):
        op.operands[0] = arith.extui(ir.IntegerType.get_signless(8), op.operands[0])
