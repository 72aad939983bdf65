"""Constant bit fields of wide integers read from one limb (CPU code only: the JIT's private copy).

``word[c:c + w]`` of a ``UInt(512)`` is ``trunci(shrui(word, c))`` on an i512. LLVM's x86 backend keeps
the i512 in eight registers and builds every field from them with double shifts, so unpacking a weight word
into 128 int4 fields took about 250 instructions, a third of a decode layer's time on the simulator. A field
that lies inside one 8-, 16-, 32- or 64-bit limb of the word is the same bits of that limb: bitcast the word
to a vector of limbs (element k = bits [kL, (k+1)L): LLVM's bitcast is the memory layout, little-endian on
the hosts the JIT runs on), extract the limb, shift and truncate it. LLVM then loads the limbs straight from
memory and vectorises the fields. Fields that cross a 64-bit limb keep the wide arithmetic.
"""
from __future__ import annotations

import sys

from mlir import ir
from mlir.dialects import arith, llvm

from ..frontend.narrow import walk_ops

LIMBS = (8, 16, 32, 64)


def read_fields_from_limbs(module: ir.Module) -> int:
    """Rewrite every constant field of an integer wider than 64 bits; returns how many."""
    if sys.byteorder != "little":  # the limb order below is the memory order of a little-endian host
        return 0
    done = 0
    for op in [op for op in walk_ops(module.operation) if op.name == "arith.trunci"]:
        field = _field(op)
        if field is not None:
            _rewrite(op, *field)
            done += 1
    return done


def _field(trunc):
    """(word, offset, field width, limb width) of ``trunci(shrui(word, c))`` / ``trunci(word)``, else None."""
    src = trunc.operands[0]
    if not isinstance(src.type, ir.IntegerType) or ir.IntegerType(src.type).width <= 64:
        return None
    wide, width = ir.IntegerType(src.type).width, ir.IntegerType(trunc.results[0].type).width
    word, offset = src, 0
    owner = src.owner
    if isinstance(owner, ir.Operation) or hasattr(owner, "operation"):
        owner = owner.operation if hasattr(owner, "operation") else owner
        if owner.name == "arith.shrui":
            offset = _constant(owner.operands[1])
            if offset is None:
                return None
            word = owner.operands[0]
    if offset + width > wide:
        return None
    limb = next((L for L in LIMBS if wide % L == 0 and width <= L and offset // L == (offset + width - 1) // L),
                None)
    return None if limb is None else (word, offset, width, limb)


def _constant(value):
    owner = value.owner
    owner = owner.operation if hasattr(owner, "operation") else owner
    if not isinstance(owner, ir.Operation) or owner.name != "arith.constant":
        return None
    try:
        return int(ir.IntegerAttr(owner.attributes["value"]).value)
    except (ValueError, TypeError, OverflowError):
        return None


def _rewrite(trunc, word, offset, width, limb):
    wide = ir.IntegerType(word.type).width
    limb_t, i32 = ir.IntegerType.get_signless(limb), ir.IntegerType.get_signless(32)
    with ir.InsertionPoint(trunc), trunc.location:
        limbs = llvm.BitcastOp(ir.VectorType.get([wide // limb], limb_t), word).result
        value = llvm.ExtractElementOp(limbs, arith.ConstantOp(i32, offset // limb).result).result
        if offset % limb:
            value = arith.ShRUIOp(value, arith.ConstantOp(limb_t, offset % limb).result).result
        if width < limb:
            value = arith.TruncIOp(trunc.results[0].type, value).result
    trunc.results[0].replace_all_uses_with(value)
    trunc.erase()
