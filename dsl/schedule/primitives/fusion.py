"""compute_at: fuse a producer loop nest into a consumer nest, forwarding values where the indices match."""
from __future__ import annotations

from mlir import ir

from .. import irutil as U
from .. import names as N
from ..irutil import same_op as _same
from ..registry import Param, primitive
from .access import used_positions

_PURE_PREFIXES = ("arith.", "math.", "memref.alloc", "memref.get_global")


def _chain(loop):
    return U.enclosing_loops(loop) + [loop]


def _check_bounds(ctx, pc, cc):
    if len(pc) != len(cc):
        raise ctx.error("consumer_loop", f"the producer loop is at depth {len(pc)} but the consumer loop at depth "
                                         f"{len(cc)}; compute_at fuses loops of equal depth",
                        _at_depth(cc[0], len(pc)))
    for p, c in zip(pc, cc):
        if p.name != "affine.for" or c.name != "affine.for" or U.const_bounds(p) is None \
                or U.const_bounds(p) != U.const_bounds(c):
            raise ctx.error("consumer_loop", f"incompatible bounds: producer loop '{U.str_attr(p, 'loop_name')}' "
                                             f"({_rng(p)}) vs consumer loop '{U.str_attr(c, 'loop_name')}' "
                                             f"({_rng(c)})", "loops with the same constant bounds")
    for parent, child in zip(pc, pc[1:]):
        if not _same(U.perfect_child(parent), child):
            raise ctx.error("producer_loop", f"the producer nest is not perfect above loop "
                                             f"'{U.str_attr(child, 'loop_name')}'", None)
    p0, c0 = pc[0], cc[0]
    if p0.block != c0.block:  # is_before_in_block would abort the process
        raise ctx.error("consumer_loop", "the producer and the consumer nest are in different blocks (e.g. the two "
                                         "branches of an if/else): compute_at fuses nests of one block", None)
    if not p0.is_before_in_block(c0):
        raise ctx.error("consumer_loop", "the producer nest must come before the consumer nest in the same block",
                        None)


def _at_depth(top, depth):
    """The consumer band's loop at ``depth`` (following perfectly nested loops), for error hints."""
    loop = top
    for _ in range(depth - 1):
        loop = U.perfect_child(loop) if loop is not None else None
    return f"'{N.qualified(loop)}'" if loop is not None else f"a consumer loop at depth {depth}"


def _rng(loop):
    b = U.const_bounds(loop) if loop.name == "affine.for" else None
    return f"{b[0]}..{b[1]} step {b[2]}" if b else "variable bounds"


def _memory_ops(root):
    ops = U.collect(root, lambda o: o.name in ("affine.load", "affine.store", "memref.load", "memref.store",
                                                "func.call"))
    return ops


def _check_between(ctx, p0, c0):
    ops = next(ops for region in U.parent_op(p0).regions for blk in region.blocks
               for ops in [U.block_ops(blk)] if p0 in ops)
    inside = False
    for op in ops:
        if op == p0:
            inside = True
            continue
        if op == c0:
            return
        if inside and not op.name.startswith(_PURE_PREFIXES) and _conflicts(op, p0):
            raise ctx.error("consumer_loop", f"{_describe(op)} sits between the producer and the consumer nest; "
                                             "compute_at would move the producer across it", None)


def _conflicts(between, producer) -> bool:
    """Whether moving ``producer`` after ``between`` could change a result: ``between`` writes a buffer the
    producer touches, or reads one it writes (or calls a kernel, which this test does not look into). An
    independent initialisation (``C: int32[N, N] = 0``) between two stages does neither."""
    b_ops, p_ops = _memory_ops(between), _memory_ops(producer)  # (a walk includes the op itself)
    if any(o.name == "func.call" for o in b_ops + p_ops):
        return True
    written = lambda ops: {_mem(o) for o in ops if o.name.endswith("store")}  # noqa: E731
    touched = lambda ops: {_mem(o) for o in ops}  # noqa: E731
    return bool(written(b_ops) & touched(p_ops)) or bool(touched(b_ops) & written(p_ops))


def _mem(op):
    return op.operands[1] if op.name.endswith("store") else op.operands[0]


def _check_deps(ctx, pc, cc):
    """Every buffer that one nest writes and the other touches must be indexed identically in the shared
    loops (so the fused iteration touches the same element), and not at all by them in other dimensions."""
    p_ops, c_ops = _memory_ops(pc[-1]), _memory_ops(cc[-1])
    for op in p_ops + c_ops:
        if op.name not in ("affine.load", "affine.store"):
            raise ctx.error("producer_loop" if op in p_ops else "consumer_loop",
                            f"compute_at analyses affine loads and stores only; the nest contains {op.name}", None)
    to_consumer = {U.iv(p): U.iv(c) for p, c in zip(pc, cc)}
    shared = set(to_consumer.values())
    for p in p_ops:
        for c in c_ops:
            if U.access_memref(p) != U.access_memref(c) or "affine.store" not in (p.name, c.name):
                continue
            mb = U.MapBuilder()
            pmap, pops = U.access_map(p)
            pe = mb.import_map(pmap, [to_consumer.get(v, v) for v in pops])
            cmap, cops = U.access_map(c)
            ce = mb.import_map(cmap, cops)
            for a, b in zip(pe, ce):
                a_shared = any(mb.operands[k] in shared for _, k in used_positions(a))
                b_shared = any(mb.operands[k] in shared for _, k in used_positions(b))
                if (a_shared or b_shared) and a != b:
                    raise ctx.error("consumer_loop", f"the consumer accesses {_buffer_name(p)} at {b} where "
                                                     f"the producer writes {a}; fusing would change the result",
                                    None)
            missing = [lp for lp in cc if not _pins(pe, mb.operands, U.iv(lp))]
            if missing:
                loop = U.str_attr(missing[0], "loop_name")
                raise ctx.error("consumer_loop", f"{_buffer_name(p)} is not indexed by loop '{loop}': every "
                                                 f"iteration of '{loop}' touches the same elements, so fused, the "
                                                 "consumer would see partial results (a running sum instead of "
                                                 "the total)", None)


def _describe(op) -> str:
    """An op between the two nests, as the user wrote it: its loop nest or statement, and what it accesses."""
    if U.is_loop(op):
        what = f"the loop nest '{U.str_attr(op, 'op_name') or U.str_attr(op, 'loop_name')}'"
    else:
        what = {"func.call": "a call", "scf.if": "an if statement", "scf.while": "a while loop"}.get(
            op.name, "a statement")
    accesses = [a for a in U.collect(op, lambda o: o.name in ("affine.load", "affine.store"))]
    names = sorted({_buffer_name(a) for a in accesses})
    return f"{what} (accessing {', '.join(names)})" if names else what


def _pins(exprs, operands, iv) -> bool:
    """Whether some index is ``c * iv + const`` alone: the element then fixes the iteration of ``iv``."""
    for e in exprs:
        form = U.linear_form(e, operands)
        if form is not None and list(form[0]) == [iv]:
            return True
    return False


def _buffer_name(op) -> str:
    """The user's name of the buffer an access touches (an argument, a local tensor or a scalar variable)."""
    mem = U.access_memref(op)
    owner = mem.owner
    if isinstance(owner, ir.Block):
        func = owner.owner.operation
        names = [ir.StringAttr(a).value for a in ir.ArrayAttr(func.attributes["dsl.arg_names"])] \
            if "dsl.arg_names" in func.attributes else []
        k = ir.BlockArgument(mem).arg_number
        return f"buffer '{names[k]}'" if k < len(names) else "an argument"
    name = U.str_attr(owner.operation, "dsl.name")
    kind = "variable" if ir.MemRefType(mem.type).rank == 0 else "buffer"
    return f"{kind} '{name}'" if name else f"a {kind}"


def _forward(block):
    """Loads that read what a store in the same block just wrote take the stored value instead."""
    ops = U.block_ops(block)
    erased = set()  # positions in ``ops`` (erased Python op objects cannot even be hashed)
    for k, st in enumerate(ops):
        if k in erased or st.name != "affine.store":
            continue
        mem, (smap, sops) = U.access_memref(st), U.access_map(st)
        for n in range(k + 1, len(ops)):
            ld = ops[n]
            if n in erased:
                continue
            if ld.name == "affine.store" and U.access_memref(ld) == mem or ld.regions and _touches(ld, mem):
                break
            if ld.name == "affine.load" and U.access_memref(ld) == mem and U.access_map(ld) == (smap, sops):
                ld.results[0].replace_all_uses_with(st.operands[0])
                erased.add(n)
                ld.erase()


def _touches(op, mem):
    return any(U.access_memref(o) == mem for o in U.collect(op, lambda o: o.name in ("affine.load", "affine.store")))


def _drop_dead_buffers(func):
    """Local buffers that nobody reads any more lose their stores and their allocation."""
    for alloc in U.collect(func, lambda o: o.name == "memref.alloc"):
        users = [u.owner.operation if hasattr(u.owner, "operation") else u.owner for u in alloc.results[0].uses]
        if users and all(u.name in ("affine.store", "memref.dealloc") and
                         (u.name != "affine.store" or u.operands[1] == alloc.results[0]) for u in users):
            for u in users:
                u.erase()
            alloc.erase()


@primitive(Param("producer_loop", "loop"), Param("consumer_loop", "loop"), cleanup=True)
def compute_at(ctx, producer_loop, consumer_loop):
    """Fuse the producer nest into the consumer nest at ``consumer_loop``'s depth: the loops down to that
    depth must have the same bounds; the producer's body runs at the start of the consumer's body. A value
    the producer stores and the consumer then loads at the same index is forwarded, and a local buffer
    that is no longer read is removed.

    Before::                                  After ``s.compute_at("S_i_j_1:j", "S_i_j_2:j")``::

        for i, j: B[i, j] = A[i, j] + 1           for i, j:
        for i, j: C[i, j] = B[i, j] * 2               C[i, j] = (A[i, j] + 1) * 2      # B removed
    """
    p, c = ctx.loop(producer_loop, "producer_loop"), ctx.loop(consumer_loop, "consumer_loop")
    pc, cc = _chain(p), _chain(c)
    if U.is_inside(c, pc[0]) or U.is_inside(p, cc[0]):
        raise ctx.error("consumer_loop", "producer and consumer must be separate loop nests", None)
    _check_bounds(ctx, pc, cc)
    _check_between(ctx, pc[0], cc[0])
    _check_deps(ctx, pc, cc)
    for pl, cl in zip(pc, cc):
        U.iv(pl).replace_all_uses_with(U.iv(cl))
    first = U.block_ops(U.body(c))[0]
    for op in U.body_ops(p):
        op.move_before(first)
    func = pc[0]
    while func.name != "func.func":
        func = U.parent_op(func)
    pc[0].erase()
    _forward(U.body(c))
    _drop_dead_buffers(func)
