"""CPU-only: a transposing copy into a local buffer moves square blocks through vector registers.

The PE-array kernels load their operand tiles transposed (``Bt[k, j] = W[n0 + j, k]``, ``linalg.linear_tiles``
per output tile). Even with the copy's loops swapped (``cpu_copies``) one of the two sides is strided, and
LLVM vectorises it with scatters or element by element: the copy of a 768 x 16 tile cost as much as the
register-blocked multiply-adds that use it (``cpu_regblock``). Here the nest becomes, per B x B block (B
32-bit values fill one vector register: 16 with AVX-512, 8 with AVX2, so that the block's rows and their
shuffles stay in the 32 or 16 registers), B vector loads along the source's contiguous rows, the shuffles
of ``transpose`` (64 for 16 x 16, 24 for 8 x 8) and B vector stores along the buffer's rows (16 x 16
blocks on AVX2 were legalised into pairs of registers and spilled to the stack). A copy moves values
without arithmetic, so results are the same bits; only the JIT's private copy of the module changes.

Applies to a nest of two loops (constant trips from 0, divisible by BLOCK) whose body is one load and one
store of its value, of a 32-bit type, where one loop variable runs along the last (contiguous) subscript of
the load and the other along the last subscript of the store, each with coefficient 1, and each also in
another subscript of the other access (so every iteration has its own element); the store goes to a
``memref.alloc`` that the load does not read (``cpu_copies``' conditions for a pure copy).
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, vector

from ..frontend.narrow import walk_ops
from .cpu_regblock import VECTOR_BITS
from .cpu_rolled import KEEP

BLOCK = VECTOR_BITS // 32                # a block's row is one vector register of 32-bit values
MARK = "dsl.cpu_transpose"


def vectorize_transposes(module: ir.Module) -> int:
    """Rewrite every qualifying copy nest; returns how many."""
    nests = [p for p in (_plan(op.opview) for op in walk_ops(module.operation) if op.name == "affine.for") if p]
    for p in nests:
        _rewrite(*p)
    return len(nests)


def _plan(outer):
    from .cpu_regblock import _body, _contiguous_last, _trip

    inner_ops = _body(outer)
    if len(inner_ops) != 1 or inner_ops[0].operation.name != "affine.for" or outer.results:
        return None
    inner = inner_ops[0]
    ops = _body(inner)
    if len(ops) != 2 or [op.operation.name for op in ops] != ["affine.load", "affine.store"] or inner.results:
        return None
    load, store = ops
    if store.operands[0] != load.results[0] or str(load.results[0].type) not in ("f32", "i32"):
        return None
    trips = (_trip(outer), _trip(inner))
    if None in trips or any(t % BLOCK for t in trips):
        return None
    if not (_contiguous_last(load.operands[0]) and _contiguous_last(store.operands[1])):
        return None
    if not _is_local_buffer(store.operands[1]) or _root_op(load.operands[0]) == _root_op(store.operands[1]):
        return None
    ivs = [loop.regions[0].blocks[0].arguments[0] for loop in (outer, inner)]
    lsub, ssub = _subscripts(load, ivs, outer), _subscripts(store, ivs, outer)
    if lsub is None or ssub is None:
        return None
    a = _lane_var(lsub)   # 0 or 1: the loop along the load's rows
    b = _lane_var(ssub)
    if a is None or b is None or a == b or not any(s.get(b) for s in lsub[:-1]) \
            or not any(s.get(a) for s in ssub[:-1]):
        return None
    return outer, load, store, ivs, a, trips


def _subscripts(op, ivs, outer):
    """{0 or 1 (the loop): coefficient} per subscript; None if an operand is neither a loop variable of
    the nest nor fixed outside it, or a subscript is not linear."""
    from .cpu_deps import _defined_outside, _linear, _map_operands

    names = []
    for v in _map_operands(op):
        if v == ivs[0] or v == ivs[1]:
            names.append(0 if v == ivs[0] else 1)
        elif _defined_outside(v, outer):
            names.append("fixed")
        else:
            return None
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    result = []
    for e in amap.results:
        form = _linear(e, amap.n_dims)
        if form is None:
            return None
        result.append({names[p]: c for p, c in form.items() if p is not None and c and names[p] != "fixed"})
    return result


def _lane_var(subs):
    """The loop that moves the access one element along its last subscript (and appears in no other)."""
    last = subs[-1]
    if len(last) != 1:
        return None
    (var, coefficient), = last.items()
    return var if coefficient == 1 and not any(s.get(var) for s in subs[:-1]) else None


def _root_op(value):
    from .cpu_copies import _VIEWS

    while True:
        owner = value.owner
        if isinstance(owner, ir.Block):
            return ("arg", owner.owner, value.arg_number)
        op = owner.operation if hasattr(owner, "operation") else owner
        if op.name not in _VIEWS:
            return op
        value = op.operands[0]


def _is_local_buffer(value) -> bool:
    op = _root_op(value)
    return not isinstance(op, tuple) and op.name == "memref.alloc"


def _rewrite(outer, load, store, ivs, a, trips) -> None:
    """for A0, B0 in blocks: BLOCK rows loaded along a, transposed, stored as BLOCK rows along b."""
    b = 1 - a
    etype = load.results[0].type
    with outer.location, ir.InsertionPoint(outer):
        row_t = ir.VectorType.get([BLOCK], etype)
        loops = [affine.AffineForOp(0, trips[n] // BLOCK, 1) for n in (0,)]
        with ir.InsertionPoint(loops[0].body):
            loops.append(affine.AffineForOp(0, trips[1] // BLOCK, 1))
            affine.AffineYieldOp([])
        loops[0].attributes[MARK] = ir.StringAttr.get(f"{BLOCK}x{BLOCK}")
        for loop in loops:
            loop.attributes[KEEP] = ir.UnitAttr.get()
        with ir.InsertionPoint(loops[1].body):
            starts = [loop.induction_variable for loop in loops]   # block numbers of loop 0 and loop 1
            rows = []
            for r in range(BLOCK):
                at = {a: _offset(starts[a], 0), b: _offset(starts[b], r)}
                rows.append(affine.vector_load(row_t, load.operands[0], _operands(load, ivs, at),
                                               load.attributes["map"]))
            for c, col in enumerate(transpose(rows)):
                at = {a: _offset(starts[a], c), b: _offset(starts[b], 0)}
                affine.vector_store(col, store.operands[1], _operands(store, ivs, at), store.attributes["map"])
            affine.AffineYieldOp([])
    outer.operation.erase()


def _lanes(a: int, b: int, lanes_a, lanes_b, width: int = 4, n: int = BLOCK):
    """A shuffle mask taking 128-bit lanes ``lanes_a`` of ``a`` then ``lanes_b`` of ``b`` (four 32-bit
    values per lane; the second source's elements are numbered after the first's ``n``)."""
    return [n * src + width * lane + e for src, lanes in ((a, lanes_a), (b, lanes_b)) for lane in lanes
            for e in range(width)]


def _within_lanes(picks, n: int):
    """A mask doing ``picks`` (four (source, element) pairs) in each 128-bit lane of ``n``-value vectors."""
    return [n * src + 4 * lane + e for lane in range(n // 4) for src, e in picks]


def transpose(rows):
    """The columns of the square block whose rows are ``rows`` (8 or 16 vectors of as many 32-bit
    values), by the shuffle network x86 does with unpcklps/unpckhps, unpcklpd/unpckhpd (within 128-bit
    lanes), then whole 128-bit lanes (vperm2f128 for 8, two rounds of shuff64x2 for 16). Written as
    ``vector.shuffle``s rather than one ``vector.transpose``: canonicalisation folds a transpose of
    inserted rows into extracts of single elements, which LLVM then rebuilds with several times the
    shuffles."""
    n = len(rows)
    shuffle = vector.shuffle
    lo_ps, hi_ps = (_within_lanes(p, n) for p in ([(0, 0), (1, 0), (0, 1), (1, 1)], [(0, 2), (1, 2), (0, 3), (1, 3)]))
    lo_pd, hi_pd = (_within_lanes(p, n) for p in ([(0, 0), (0, 1), (1, 0), (1, 1)], [(0, 2), (0, 3), (1, 2), (1, 3)]))
    t = []
    for r in range(0, n, 2):          # t[2q], t[2q+1]: rows 2q, 2q+1 interleaved
        t += [shuffle(rows[r], rows[r + 1], lo_ps), shuffle(rows[r], rows[r + 1], hi_ps)]
    u = [None] * n                    # u[4g + m], 128-bit lane l: rows 4g..4g+3 of column 4l + m
    for g in range(n // 4):
        t0, t1, t2, t3 = t[4 * g:4 * g + 4]
        u[4 * g:4 * g + 4] = [shuffle(t0, t2, lo_pd), shuffle(t0, t2, hi_pd), shuffle(t1, t3, lo_pd),
                              shuffle(t1, t3, hi_pd)]
    return _whole_lanes(u, n)


def _whole_lanes(u, n: int):
    """The last stage: column 4l + m gathers 128-bit lane l of u[m], u[m + 4], ... (rows 4g..4g+3)."""
    shuffle = vector.shuffle
    cols = [None] * n
    if n == 8:
        for m in range(4):
            for l in range(2):
                cols[4 * l + m] = shuffle(u[m], u[m + 4], _lanes(0, 1, (l,), (l,), n=n))
        return cols
    for m in range(4):
        p = [shuffle(u[m + 8 * h], u[m + 8 * h + 4], _lanes(0, 1, (0, 2), (0, 2), n=n)) for h in (0, 1)]
        q = [shuffle(u[m + 8 * h], u[m + 8 * h + 4], _lanes(0, 1, (1, 3), (1, 3), n=n)) for h in (0, 1)]
        for l, (src, lanes) in enumerate(((p, (0, 2)), (q, (0, 2)), (p, (1, 3)), (q, (1, 3)))):
            cols[4 * l + m] = shuffle(src[0], src[1], _lanes(0, 1, lanes, lanes, n=n))
    return cols


def _offset(block_iv, extra: int):
    """``block_iv * BLOCK + extra`` as an index."""
    amap = ir.AffineMap.get(1, 0, [ir.AffineExpr.get_dim(0) * BLOCK + extra])
    return affine.apply(amap, [block_iv])


def _operands(op, ivs, at):
    from .cpu_deps import _map_operands

    return [at[0] if v == ivs[0] else at[1] if v == ivs[1] else v for v in _map_operands(op)]
