"""Constant bit fields of wide integers read without i512 arithmetic (CPU code only: the JIT's private copy).

``word[c:c + w]`` of a ``UInt(512)`` is ``trunci(shrui(word, c))`` on an i512. LLVM's x86 backend keeps
the i512 in eight registers and builds every field from them with double shifts, so unpacking a weight word
into 128 int4 fields took about 250 instructions, a third of a decode layer's time on the simulator.
* A word copied from an array element (``word = Wp[w]``, the weight loaders' form): each field is a narrow
  load of its bytes from that element (``_rewrite_from_memory``), three instructions a nibble.
* Any other word: a field inside one 8-, 16-, 32- or 64-bit limb is the same bits of that limb: bitcast the
  word to a vector of limbs (element k = bits [kL, (k+1)L): LLVM's bitcast is the memory layout,
  little-endian on the hosts the JIT runs on), extract the limb, shift and truncate it.
Fields that cross a 64-bit limb of a computed word keep the wide arithmetic. The bits are the same either
way (tests/test_sim_speed.py compares both forms with Python integers).
"""
from __future__ import annotations

import sys

from mlir import ir
from mlir.dialects import affine, arith, llvm, memref

from ..frontend.narrow import walk_ops

LIMBS = (8, 16, 32, 64)


def read_fields_from_limbs(module: ir.Module) -> int:
    """Rewrite every constant field of an integer wider than 64 bits; returns how many."""
    if sys.byteorder != "little":  # the limb order below is the memory order of a little-endian host
        return 0
    done = 0
    for op in [op for op in walk_ops(module.operation) if op.name == "arith.trunci"]:
        field = _field(op)
        if field is None:
            continue
        word, offset, width, limb = field
        source = _memory_source(word)
        if source is None or not _rewrite_from_memory(op, source, offset, width):
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


# -- fields read from the word's memory ------------------------------------------------------------------
# When the word is a load of a memref element (directly, or through a local scalar written once from such a
# load), each field is a narrow load of its bytes from that element: independent byte loads that LLVM can
# vectorise, where any SSA form of the word is folded back into wide shifts.

def _memory_source(word):
    """(memref, index values, map) of the load the word comes from, or None."""
    load = _owner(word)
    if load is None or load.name not in ("affine.load", "memref.load"):
        return None
    mem = load.operands[0]
    mt = ir.MemRefType(mem.type)
    if mt.rank == 0 and load.name == "affine.load":
        store = _single_store_before(mem, load)
        return None if store is None else _memory_source(store.operands[0])
    if not mt.has_static_shape or not _identity_layout(mt):
        return None
    amap = ir.AffineMapAttr(load.attributes["map"]).value if load.name == "affine.load" else None
    return mem, list(load.operands[1:]), amap


def _identity_layout(mt) -> bool:
    layout = mt.layout
    return isinstance(layout, ir.AffineMapAttr) and ir.AffineMapAttr(layout).value == \
        ir.AffineMap.get_identity(mt.rank)


def _owner(value):
    owner = value.owner
    owner = owner.operation if hasattr(owner, "operation") else owner
    return owner if isinstance(owner, ir.Operation) else None


def _single_store_before(scalar, load):
    """The one store into the local scalar ``scalar`` if it precedes ``load`` in its block, with nothing but
    loads, arithmetic and stores into local buffers between the two (so the memory it copied is unchanged)."""
    alloc = _owner(scalar)
    if alloc is None or alloc.name not in ("memref.alloca", "memref.alloc"):
        return None
    stores = [u.owner for u in scalar.uses if _op(u.owner).name in ("affine.store", "memref.store")]
    others = [u.owner for u in scalar.uses if _op(u.owner).name not in ("affine.store", "memref.store",
                                                                         "affine.load", "memref.load")]
    if len(stores) != 1 or others:
        return None
    store = _op(stores[0])
    source = _owner(store.operands[0])
    if source is None or source.block != load.block or store.block != load.block:
        return None
    ops, inside = [], False
    for op in load.block.operations:
        op = op.operation
        if op == source:
            inside = True
        elif op == load:
            break
        elif inside:
            ops.append(op)
    else:
        return None
    return store if inside and all(_harmless(op) for op in ops) else None


def _harmless(op) -> bool:
    name = op.name
    if name.startswith(("arith.", "llvm.", "math.")) or name in ("affine.load", "memref.load", "affine.apply",
                                                                 "memref.extract_aligned_pointer_as_index"):
        return True
    if name in ("affine.store", "memref.store"):
        target = _owner(op.operands[1])
        return target is not None and target.name in ("memref.alloca", "memref.alloc")
    return False


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def _rewrite_from_memory(trunc, source, offset, width) -> bool:
    mem, indices, amap = source
    mt = ir.MemRefType(mem.type)
    elem = ir.IntegerType(mt.element_type).width
    if elem % 8:
        return False
    nbytes = elem // 8
    span = next((L for L in LIMBS if offset % 8 + width <= L and L // 8 <= nbytes), None)
    if span is None:
        return False
    start = min(offset // 8, nbytes - span // 8)  # the load stays inside the element
    shift = offset - 8 * start
    index, i64 = ir.IndexType.get(), ir.IntegerType.get_signless(64)
    limb_t = ir.IntegerType.get_signless(span)
    with ir.InsertionPoint(trunc), trunc.location:
        coords = indices if amap is None else [
            affine.AffineApplyOp(amap.get_submap([k]), indices).result for k in range(len(amap.results))]
        linear = arith.ConstantOp(index, 0).result
        for extent, coord in zip(mt.shape, coords):
            linear = arith.AddIOp(arith.MulIOp(linear, arith.ConstantOp(index, extent).result).result,
                                  coord).result
        base = memref.ExtractAlignedPointerAsIndexOp(mem).result
        addr = arith.AddIOp(base, arith.MulIOp(linear, arith.ConstantOp(index, nbytes).result).result).result
        ptr = llvm.IntToPtrOp(ir.Type.parse("!llvm.ptr"), arith.IndexCastOp(i64, addr).result).result
        at = llvm.GEPOp(ir.Type.parse("!llvm.ptr"), ptr, [], [start], ir.IntegerType.get_signless(8), 0).result
        value = llvm.LoadOp(limb_t, at, alignment=1).result
        if shift:
            value = arith.ShRUIOp(value, arith.ConstantOp(limb_t, shift).result).result
        if width < span:
            value = arith.TruncIOp(trunc.results[0].type, value).result
    trunc.results[0].replace_all_uses_with(value)
    trunc.erase()
    return True
