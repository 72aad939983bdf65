"""Narrow wrap-around integer arithmetic to the width its result is stored in.

The typing rules widen every intermediate (``int32 * int32`` is ``Int(64)``, adding an ``int32`` gives
``Int(65)``) and the store truncates back. For ``+ - *`` and bitwise operators the low ``w`` bits of the
result depend only on the low ``w`` bits of the operands, so ``trunc_w(a op b) == trunc_w(a) op_w
trunc_w(b)`` exactly. Rewriting with that identity keeps every result bit-identical while the CPU does
native-width arithmetic and the HLS code declares ``int32_t`` accumulators instead of ``ap_int<65>``.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from .builder import attr_int

WRAP_SAFE = {
    "arith.addi": arith.addi, "arith.subi": arith.subi, "arith.muli": arith.muli,
    "arith.andi": arith.andi, "arith.ori": arith.ori, "arith.xori": arith.xori,
}
_EXTENDS = {"arith.extsi": arith.extsi, "arith.extui": arith.extui}


def narrow_module(module: ir.Module) -> None:
    """Rewrite every ``trunci`` of a single-use wrap-safe op into arithmetic at the truncated width."""
    with module.context:
        while True:
            candidates = [op for op in walk_ops(module.operation) if _narrowable(op)]
            if not candidates:
                return
            for trunc in candidates:
                _narrow_trunc(trunc)


def walk_ops(op):
    """Every operation nested in ``op`` (pre-order), as ``ir.Operation``."""
    for region in op.regions:
        for block in region:
            for child in block.operations:
                yield child.operation
                yield from walk_ops(child.operation)


def _defining(value):
    owner = value.owner
    return owner.operation if isinstance(owner, (ir.Operation, ir.OpView)) else None


def _single_use(value) -> bool:
    uses = list(value.uses)
    return len(uses) == 1


def _narrowable(op) -> bool:
    if op.name != "arith.trunci":
        return False
    src = _defining(op.operands[0])
    return src is not None and src.name in WRAP_SAFE and _single_use(op.operands[0])


def _width(value) -> int:
    return ir.IntegerType(value.type).width


def _narrow_trunc(trunc):
    width = _width(trunc.results[0])
    with ir.InsertionPoint(trunc), trunc.location:
        narrowed = _narrow_value(trunc.operands[0], width)
    trunc.results[0].replace_all_uses_with(narrowed)
    src = _defining(trunc.operands[0])
    trunc.erase()
    _erase_if_dead(src)


def _narrow_value(value, width: int):
    """``value`` truncated to ``width`` bits, rebuilt at the current insertion point."""
    op = _defining(value)
    target = ir.IntegerType.get_signless(width)
    if op is not None and op.name in _EXTENDS:
        source = op.operands[0]
        source_width = _width(source)
        if source_width == width:
            return source
        if source_width < width:
            return _EXTENDS[op.name](target, source)
        return arith.trunci(target, source)
    if op is not None and op.name == "arith.constant":
        raw = attr_int(op.attributes["value"]) & ((1 << width) - 1)
        if width > 1 and raw >> (width - 1):
            raw -= 1 << width
        if width > 64:
            return arith.constant(target, ir.Attribute.parse(f"{raw} : {target}"))
        return arith.constant(target, ir.IntegerAttr.get(target, -raw if width == 1 and raw else raw))
    if op is not None and op.name in WRAP_SAFE and _single_use(value):
        lhs = _narrow_value(op.operands[0], width)
        rhs = _narrow_value(op.operands[1], width)
        return WRAP_SAFE[op.name](lhs, rhs)
    return arith.trunci(target, value)


def _erase_if_dead(op):
    """Erase ``op`` and then any of its operand producers left without uses (pure arith ops only)."""
    if op is None or any(list(r.uses) for r in op.results):
        return
    producers = [_defining(v) for v in op.operands]
    op.erase()
    for producer in producers:
        if producer is not None and (producer.name in WRAP_SAFE or producer.name in _EXTENDS
                                     or producer.name == "arith.constant"):
            _erase_if_dead(producer)
