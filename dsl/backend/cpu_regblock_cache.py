"""CPU-only: memory layouts for the register-blocked nests (``cpu_regblock``): packed B panels and
cache-line aligned local buffers. Both change where values sit, never which operations run or in which
order each accumulator sees its k steps, so results are the same bits; only the JIT's copy changes.

- Packed panels (the whole-rows form, ``acc[j] += A[i, k] * B[k, j]``, matmul and bmm): the rewrite runs
  the row blocks of one column block one after the other, each reading the block's columns of every row
  k of B. With B's rows N elements apart (2 KiB for matmul's 512 columns) those lines fall into a few sets
  of the L1 cache and evict each other, so every row block read its panel again from L2. The panel is
  copied, once per column block, into a contiguous, cache-line aligned buffer (k rows of the block's
  vectors side by side) and the k loop reads it there.
- Aligned locals: malloc returns 16-byte aligned memory, so rows of a 16-float tile read and written as
  vectors straddled two cache lines wherever the buffer happened to start.

(Splitting the PE tile's k loop into chunks that all blocks run before the next one, so that At and Bt
come from L1 rather than L2, was measured slower on linear2d: the hardware prefetcher already streams
them, and the chunks add the accumulators' stores and reloads.)
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, memref

from ..frontend.narrow import walk_ops
from .cpu_deps import _defined_outside

LINE = 64          # bytes of a cache line (x86)
PANEL = "dsl.cpu_packed_panel"   # "KxW" on the loop filling a panel (tests read it)
_STORES = ("affine.store", "affine.vector_store", "memref.store")
_BYTES = {"f32": 4, "f64": 8, "i1": 1, "i8": 1, "i16": 2, "i32": 4, "i64": 8}


def panels(p, jops, deps, anchor) -> list:
    """Positions in the j body of the loads to read from a packed panel (whole-rows form): a vector moving
    with j and k but not i, re-read by several row blocks, whose k rows are not adjacent in memory, from a
    buffer defined outside the nest that nothing in the nest writes."""
    from .cpu_regblock import _Roles, _trip

    ib, nb = p.block
    if p.outer is None or p.rows // ib == 1 or _trip(p.kloop) is None:
        return []
    roles = _Roles(p.kloop, p.prefix, p.iloop, p.jloop)
    written = [op.operands[1] for op in walk_ops(anchor.operation) if op.name in _STORES]
    chosen = []
    for n, (op, (uses_i, uses_j)) in enumerate(zip(jops, deps)):
        if op.operation.name != "affine.load" or p.reads_acc(op) or uses_i or not uses_j:
            continue
        subs = roles.coefficients(op)
        if subs is None or any(set(s) - {"j", "k", "outside"} for s in subs) or not any(s.get("k") for s in subs):
            continue
        source = op.operands[0]
        if not _defined_outside(source, anchor) or _k_stride(source, subs) == nb * p.lanes:
            continue
        mine = p.roots.of(source)
        if mine is None or any(p.roots.of(w) is None or p.roots.of(w) & mine for w in written):
            continue
        chosen.append(n)
    return chosen


def _k_stride(source, subs):
    """Elements between the rows of consecutive k (None when the layout is not known when compiling)."""
    strides, _ = ir.MemRefType(source.type).get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    if any(s.get("k") and strides[d] == dynamic for d, s in enumerate(subs)):
        return None
    return sum(s.get("k", 0) * strides[d] for d, s in enumerate(subs))


def alloc_panel(p, op):
    """The panel buffer of load ``op``: k rows of the block's columns, aligned to a cache line."""
    from .cpu_regblock import _trip

    t = ir.MemRefType.get([_trip(p.kloop), p.block[1] * p.lanes], op.results[0].type)
    return memref.alloc(t, [], [], alignment=LINE)


def fill_panel(p, op, panel, cols, vtype) -> None:
    """for k: the block's vectors of ``op``'s row k, stored side by side in row k of ``panel``."""
    from .cpu_regblock import _trip
    from .cpu_regblock_emit import _indices

    loop = affine.AffineForOp(0, _trip(p.kloop), 1)
    loop.attributes[PANEL] = ir.StringAttr.get(f"{_trip(p.kloop)}x{len(cols) * p.lanes}")
    with ir.InsertionPoint(loop.body):
        for c, col in enumerate(cols):
            v = affine.vector_load(vtype, op.operands[0], _indices(p, op, None, col, loop.induction_variable, {}),
                                   op.attributes["map"])
            affine.vector_store(v, panel, [loop.induction_variable], panel_map(c * p.lanes))
        affine.AffineYieldOp([])


def panel_map(column: int):
    """(k) -> (k, column): where a vector of the panel is."""
    return ir.AffineMapAttr.get(ir.AffineMap.get(1, 0, [ir.AffineExpr.get_dim(0), ir.AffineConstantExpr.get(column)]))


def align_local_buffers(module: ir.Module) -> int:
    """Every local buffer of a static shape and at least a cache line starts on a cache line (its
    ``alignment``; the JIT's copy only): a vector row of a tile then never straddles two lines, wherever
    malloc (16-byte alignment) would have put the buffer. Returns how many."""
    done = 0
    for op in walk_ops(module.operation):
        if op.name not in ("memref.alloc", "memref.alloca") or "alignment" in op.attributes:
            continue
        t = ir.MemRefType(op.results[0].type)
        if not t.has_static_shape or str(t.element_type) not in _BYTES:
            continue
        count = 1
        for extent in t.shape:
            count *= extent
        if count * _BYTES[str(t.element_type)] >= LINE:
            op.attributes["alignment"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), LINE)
            done += 1
    return done
