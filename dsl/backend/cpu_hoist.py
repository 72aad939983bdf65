"""CPU-only: a tile copy that the outer loop repeats unchanged is made once per tile, before the loops.

``linalg.linear_tiles`` loads the transposed weight tile ``Bt[k, j] = W[ni * NT + j, k]`` at every output
tile (mi, ni): the same 768 x 16 copy of W, read from L3 and transposed, is made again for every block row
mi (32 times at BERT-base sizes), and it cost about a third of linear2d's run time. Its value depends on
ni only, so here (the JIT's copy only) every ni's tile is copied once, before the mi loop, into its own
slot of a buffer of all the tiles, and iteration (mi, ni) uses slot ni where it used ``Bt``: a
``memref.view`` of the slot with Bt's own type, so the PE tile and every other use take it as they took
Bt. The tile's multiply-adds then stream it from memory, which the hardware prefetcher overlaps with
them. The values read are the same (W is not written anywhere, and the copy covers the whole tile), so
results are the same bits.

Applies to ``for o: ... for n: (copy nest) ...`` (the ``n`` loop directly in ``o``'s body, both from 0
with constant trips, ``o`` running at least once) where the copy nest is the first operation of the
``n`` loop's body, two loops of constant trips whose body is one load and one store of its value into a
local allocation ``T`` of static shape, the store's subscripts the two loop variables, one per dimension, each
running over the whole extent; the load's operands are the nest's own variables, ``n``'s, or values fixed
outside ``o``; no store of the module may write the load's buffer, no store but the copy's may write
``T``, and every other use of ``T`` is inside the ``n`` loop.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, arith, memref

from ..frontend.narrow import walk_ops
from .cpu_deps import _defined_outside, _map_operands
from .cpu_noalias import module_roots

MAX_BYTES = 64 << 20      # the buffer of all the tiles; a larger one is not worth its memory
MARK = "dsl.cpu_hoisted_copy"   # on the loop that fills it: "TxBYTES" (tests read it)
_STORES = ("affine.store", "affine.vector_store", "memref.store", "memref.copy")   # operand 1: the target
_BYTES = {"f32": 4, "f64": 8, "i8": 1, "i16": 2, "i32": 4, "i64": 8}


def hoist_repeated_copies(module: ir.Module) -> int:
    """Hoist every qualifying copy nest; returns how many."""
    done = 0
    while True:   # one at a time: a hoist changes the uses the next plan looks at
        roots = module_roots(module)
        plan = next((p for p in (_plan(op.opview, roots, module) for op in walk_ops(module.operation)
                                 if op.name == "affine.for") if p is not None), None)
        if plan is None:
            return done
        _hoist(*plan)
        done += 1


def _plan(inner, roots, module):
    from .cpu_regblock import _body, _trip

    outer = _enclosing_loop(inner)
    body = _body(inner)
    if outer is None or _trip(outer) is None or _trip(inner) is None or not body or body[0].operation.name != "affine.for":
        return None
    nest = body[0]
    copy = _copy(nest)
    if copy is None:
        return None
    load, store, ivs = copy
    tile = store.operands[1]
    owner = tile.owner
    if isinstance(owner, ir.Block) or owner.operation.name != "memref.alloc" or not _defined_outside(tile, outer):
        return None
    t = ir.MemRefType(tile.type)
    if not t.has_static_shape or t.rank != 2 or str(t.element_type) not in _BYTES or not _covers(store, ivs, t):
        return None
    n_iv = inner.regions[0].blocks[0].arguments[0]
    fixed = [v == n_iv or any(v == iv for iv in ivs) or _defined_outside(v, outer) for v in _map_operands(load)]
    if not _defined_outside(load.operands[0], outer) or not all(fixed):
        return None
    size = t.shape[0] * t.shape[1] * _BYTES[str(t.element_type)]
    if size * _trip(inner) > MAX_BYTES or not _only_writer(store, tile, load.operands[0], roots, module):
        return None
    if any(not _inside(use.owner, inner) for use in tile.uses if use.owner != store.operation):
        return None
    return outer, inner, nest, tile, size


def _enclosing_loop(op):
    """The loop whose body holds ``op`` itself (not inside an ``if``: the hoisted copy runs for every
    iteration, so the loop's must all have run it)."""
    parent = op.operation.parent
    return parent.opview if parent is not None and parent.name == "affine.for" else None


def _copy(nest):
    """(load, store, [outer iv, inner iv]) of a two-loop nest whose body copies one element."""
    from .cpu_regblock import _body, _trip

    inner = _body(nest)
    if len(inner) != 1 or inner[0].operation.name != "affine.for" or _trip(nest) is None or _trip(inner[0]) is None:
        return None
    ops = _body(inner[0])
    if [op.operation.name for op in ops] != ["affine.load", "affine.store"] or ops[1].operands[0] != ops[0].results[0]:
        return None
    return ops[0], ops[1], [loop.regions[0].blocks[0].arguments[0] for loop in (nest, inner[0])]


def _covers(store, ivs, t) -> bool:
    """The store's subscripts are the nest's two variables, each alone, over the whole extent of its
    dimension: every element of the tile is written."""
    from .cpu_regblock import _trip, subscripts_by_name

    names = ["a" if v == ivs[0] else "b" if v == ivs[1] else None for v in _map_operands(store)]
    subs = subscripts_by_name(store, names) if None not in names else None
    amap = ir.AffineMapAttr(store.attributes["map"]).value
    if subs is None or any(not isinstance(e.maybe_downcast(), ir.AffineDimExpr) for e in amap.results):
        return False
    loops = {"a": _loop_of(ivs[0]), "b": _loop_of(ivs[1])}
    if any(len(s) != 1 or set(s.values()) != {1} for s in subs) or sorted(next(iter(s)) for s in subs) != ["a", "b"]:
        return False
    return all(_trip(loops[next(iter(s))]) == extent for s, extent in zip(subs, t.shape))


def _loop_of(iv):
    op = iv.owner.owner
    return op.opview if isinstance(op, ir.Operation) else op


def _only_writer(store, tile, source, roots, module) -> bool:
    """No store of the module writes the copy's source, and none but the copy's writes the tile."""
    mine, theirs = roots.of(tile), roots.of(source)
    if not mine or not theirs:
        return False
    for op in walk_ops(module.operation):
        if op.name not in _STORES or op == store.operation:
            continue
        target = roots.of(op.operands[1])
        if target is None or target & (mine | theirs):
            return False
    return True


def _inside(op, loop) -> bool:
    op = op.operation if hasattr(op, "operation") else op
    while op is not None:
        if op == loop.operation:
            return True
        op = op.parent
    return False


def _hoist(outer, inner, nest, tile, size) -> None:
    from .cpu_regblock import _trip

    trip = _trip(inner)
    i8 = ir.IntegerType.get_signless(8)
    index = ir.IndexType.get()
    with outer.location, ir.InsertionPoint(outer):
        slots = memref.alloc(ir.MemRefType.get([trip * size], i8), [], [], alignment=64)
        fill = affine.AffineForOp(0, trip, 1)
        fill.attributes[MARK] = ir.StringAttr.get(f"{trip}x{size}")
        with ir.InsertionPoint(fill.body):
            view = _slot(slots, fill.induction_variable, size, tile.type, index)
            copy = nest.operation.clone()
            _replace_in(copy, tile, view)
            _replace_in(copy, inner.regions[0].blocks[0].arguments[0], fill.induction_variable)
            affine.AffineYieldOp([])
    with outer.location, ir.InsertionPoint(nest):
        view = _slot(slots, inner.induction_variable, size, tile.type, index)
    nest.operation.erase()
    for use in list(tile.uses):
        if _inside(use.owner, inner):
            use.owner.operands[use.operand_number] = view


def _slot(slots, iv, size, tile_type, index):
    """The tile of slot ``iv``: a view of the slots' bytes with the tile's own type."""
    shift = affine.apply(ir.AffineMap.get(1, 0, [ir.AffineExpr.get_dim(0) * size]), [iv])
    return memref.view(tile_type, slots, shift, [])


def _replace_in(op, old, new) -> None:
    for inner in walk_ops(op):
        for n, v in enumerate(inner.operands):
            if v == old:
                inner.operands[n] = new
