"""Dependence test for reorder: is a permutation of a perfect band legal for the accesses inside it?

For each store and each other access to the same buffer inside the band, the *distance* between the
iterations that touch the same element is solved per loop of the band from the index expressions: an
integer where an index pins it (``B[i, j]`` vs ``B[i - 1, j + 1]`` gives ``(1, -1)``), ``*`` (any) where no
index constrains the loop or where the expressions are beyond this simple test (different coefficients,
``mod``/``floordiv``, several band loops in one index, values from loops inside the band). That is a
superset of the real dependences, so the test is conservative: it may refuse a legal permutation, never
accept an illegal one. A permutation is legal when every lexicographically positive distance stays
lexicographically positive with its components permuted.

One dependence is exempt: an integer accumulation ``X[f] = X[f] + e`` (or ``- e``, through the frontend's
widening and truncation) only adds terms to each element, and integer addition wraps exactly, so any order
of the updates gives the same bits. Float sums are not exempt: reassociating them changes the result.
A scalar local written at the start of every iteration before it is read, and read nowhere else, is
private to each iteration and carries no dependence at all (``_private_scalar``).
"""
from __future__ import annotations

import itertools

from mlir import ir

from .. import irutil as U

ANY = "*"
_MEMORY = ("affine.load", "affine.store", "memref.load", "memref.store")


def _exprs(op, mb):
    amap, operands = U.access_map(op)
    return mb.import_map(amap, operands)


def _solve(store, other, chain):
    """Distance vector (ints or ANY per band loop) with other's iteration = store's + d; None = no overlap."""
    ivs = [U.iv(lp) for lp in chain]
    if not (store.name.startswith("affine") and other.name.startswith("affine")):
        return [ANY] * len(chain)
    mb = U.MapBuilder()
    a, b = _exprs(store, mb), _exprs(other, mb)
    dist = [ANY] * len(chain)
    for ea, eb in zip(a, b):
        fa, fb = U.linear_form(ea, mb.operands), U.linear_form(eb, mb.operands)
        if fa is None or fb is None or fa[0] != fb[0]:
            continue  # beyond this test: no constraint (conservative)
        band = [(ivs.index(v), c) for v, c in fa[0].items() if v in ivs]
        # loops inside the band: each access has its own iteration of them, a free difference
        inner = [(c, _inner_extent(v)) for v, c in fa[0].items() if v not in ivs and U.defined_inside(v, chain[0])]
        diff = fa[1] - fb[1]  # a(x) = b(x + d): sum c * d = const_a - const_b
        if len(band) > 1 or inner:  # e.g. 8 * i.outer + i.inner after a split: mixed radix, only d = 0 is certain
            extents = [_extent(chain[k]) for k, _ in band] + [e for _, e in inner]
            if diff == 0 and _radix([c for _, c in band] + [c for c, _ in inner], extents):
                if any(dist[k] not in (ANY, 0) for k, _ in band):
                    return None
                for k, _ in band:
                    dist[k] = 0
            continue
        if not band:
            if diff != 0:
                return None
            continue
        (k, c), = band
        if diff % c:
            return None
        if dist[k] not in (ANY, diff // c):
            return None
        dist[k] = diff // c
    return dist


def _extent(loop):
    """An upper bound on the trip count of an affine.for (a constant lower bound and a constant among the
    results of its upper-bound map, e.g. ``min(4, 10 - 4 * i.outer)``), or None."""
    spec = U.spec_of(loop)
    lbs = [U._const_map(spec.lb_map)]
    ubs = [U._const_map(type(spec.ub_map).get(spec.ub_map.n_dims, spec.ub_map.n_symbols, [r]))
           for r in spec.ub_map.results]
    ubs = [u for u in ubs if u is not None]
    if lbs[0] is None or not ubs:
        return None
    return max(0, -(-(min(ubs) - lbs[0]) // spec.step))


def _inner_extent(value):
    owner = value.owner
    loop = owner.owner.operation if hasattr(owner, "arguments") else None
    return _extent(loop) if loop is not None and loop.name == "affine.for" else None


def _radix(coeffs, extents):
    """Whether sum c_k * d_k = 0 with |d_k| < extent_k forces every d_k = 0: each coefficient, by size, exceeds
    everything the smaller terms can add up to."""
    if any(e is None for e in extents):
        return False
    terms = sorted((abs(c), e) for c, e in zip(coeffs, extents))
    reach = 0
    for c, e in terms:
        if c <= reach:
            return False
        reach += c * (e - 1)
    return True


def _signs(entry):
    return (-1, 0, 1) if entry == ANY else ((entry > 0) - (entry < 0),)


def _lex_sign(vec):
    return next((x for x in vec if x), 0)


def violation(chain, order):
    """None when permuting ``chain`` (outermost first) into ``order`` (old positions) keeps every dependence;
    else (buffer value, distance vector) of one it would reverse."""
    body = chain[-1]
    ops = U.collect(body, lambda o: o.name in _MEMORY or o.name == "func.call")
    if any(o.name == "func.call" for o in ops):
        return ("a call", [ANY] * len(chain))
    stores = [o for o in ops if o.name.endswith("store")]
    for st in stores:
        mem = U.access_memref(st) if st.name.startswith("affine") else st.operands[1]
        same_buffer = [o for o in ops if _memref_of(o) == mem]
        if _private_scalar(mem, same_buffer, chain):
            continue
        exempt = _integer_accumulation(st, same_buffer)
        for other in same_buffer:
            if exempt is not None and any(U.same_op(other, e) for e in exempt):
                continue
            dist = _solve(st, other, chain)
            if dist is None:
                continue
            for signs in itertools.product(*(_signs(e) for e in dist)):
                for vec in (signs, tuple(-x for x in signs)):
                    if _lex_sign(vec) > 0 and _lex_sign([vec[k] for k in order]) < 0:
                        return mem, dist
    return None


def _private_scalar(mem, accesses, chain) -> bool:
    """A scalar local (rank-0 buffer) that every iteration of the band writes before it reads it, and that
    nothing outside the band reads: its value never flows from one iteration to another (``v: int32 = 0``
    declared in the body of the band), so no order of the band's loops can change what it holds."""
    if ir.MemRefType(mem.type).rank != 0 or isinstance(mem.owner, ir.Block):
        return False
    if mem.owner.operation.name not in ("memref.alloc", "memref.alloca"):
        return False
    body = U.body(chain[-1])
    first = next((o for o in U.collect(chain[-1], lambda o: any(U.same_op(o, a) for a in accesses))), None)
    if first is None or first.name != "affine.store" or not any(U.same_op(first, o) for o in U.block_ops(body)):
        return False  # the first access must be a store straight in the innermost body, under no if or loop
    for use in mem.uses:
        user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if not U.is_inside(user, chain[0]):
            return False
    return True


def _memref_of(op):
    if op.name == "memref.load":
        return op.operands[0]
    if op.name == "memref.store":
        return op.operands[1]
    return U.access_memref(op)


_WIDEN = ("arith.extsi", "arith.extui")


def _producer(value):
    owner = value.owner
    return owner.operation if hasattr(owner, "operation") else owner if hasattr(owner, "name") else None


def _strip(value, names):
    op = _producer(value)
    while op is not None and op.name in names:
        value = op.operands[0]
        op = _producer(value)
    return value


def _integer_accumulation(store, same_buffer):
    """(store, load) when ``store`` writes ``load + e`` (or ``load - e``) back to the element ``load`` read, on
    integers; else None. Only that pair is exempt: other accesses to the buffer are still checked."""
    if store.name != "affine.store":
        return None
    value = _strip(store.operands[0], ("arith.trunci",))
    add = _producer(value)
    if add is None or add.name not in ("arith.addi", "arith.subi"):
        return None
    sides = [add.operands[0]] if add.name == "arith.subi" else list(add.operands)
    for side in sides:
        load = _producer(_strip(side, _WIDEN))
        if load is None or load.name != "affine.load" or not any(U.same_op(load, o) for o in same_buffer):
            continue
        if U.access_map(load) == U.access_map(store) and _other_operand_free_of(add, side, load):
            return (store, load)
    return None


def _other_operand_free_of(add, side, load) -> bool:
    """The added term does not depend on the accumulator's value (``X[f] + X[f] * a`` is no plain sum)."""
    others = list(add.operands)
    others.remove(side)
    todo, seen = others, set()
    while todo:
        op = _producer(todo.pop())
        if op is None or id(op) in seen:
            continue
        if U.same_op(op, load):
            return False
        seen.add(id(op))
        todo.extend(op.operands)
    return True


def carried(loop):
    """None when no dependence crosses iterations of ``loop`` (its iterations may run at the same time);
    else (buffer value, distance) of one that does. Integer accumulations and private scalars are exempt,
    as for reorder."""
    chain = [loop]
    ops = U.collect(loop, lambda o: o.name in _MEMORY or o.name == "func.call")
    if any(o.name == "func.call" for o in ops):
        return ("a call", [ANY])
    for st in [o for o in ops if o.name.endswith("store")]:
        mem = _memref_of(st)
        same_buffer = [o for o in ops if _memref_of(o) == mem]
        if _private_scalar(mem, same_buffer, chain):
            continue
        exempt = _integer_accumulation(st, same_buffer)
        for other in same_buffer:
            if exempt is not None and any(U.same_op(other, e) for e in exempt):
                continue
            dist = _solve(st, other, chain)
            if dist is not None and dist[0] != 0:
                return mem, dist
    return None
