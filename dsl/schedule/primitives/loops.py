"""Loop primitives: split, reorder, fuse (rewrite the nest) and unroll, pipeline (directives only)."""
from __future__ import annotations

from mlir import ir

from .. import irutil as U
from .. import names as N
from . import deps
from ..irutil import same_op as _same
from ..registry import Param, primitive


def _affine_loop(ctx, path, arg="loop"):
    loop = ctx.loop(path, arg)
    if loop.name != "affine.for":
        raise ctx.error(arg, f"loop '{path}' has non-affine bounds ({loop.name}); only affine loops can be "
                             "transformed", None)
    return loop


def _single(ctx, arg, path, amap, which):
    if len(amap.results) != 1:
        raise ctx.error(arg, f"loop '{path}' has a guarded {which} bound (the min/max of {len(amap.results)} "
                             "expressions, as left by a split whose factor does not divide the extent); "
                             "split needs a single-expression bound: split the original loop by a "
                             "divisor of its extent instead")


@primitive(Param("loop", "loop"), Param("factor", "pos_int"), cleanup=True)
def split(ctx, loop, factor):
    """Tile ``loop`` into ``<loop>.outer`` (steps of ``factor``) and ``<loop>.inner`` (``factor`` iterations).

    When ``factor`` does not divide the trip count, the inner loop's upper bound is ``min(factor, rest)``
    so no iteration runs twice or out of range; such a guarded loop can be split again. Returns the (outer, inner) loop handles. Directives on
    ``loop`` are kept: ``pipeline`` and ``unroll`` move to the inner loop (it runs the original's consecutive
    iterations), ``dataflow`` stays on the outer loop, ``dsl.reduction`` marks both.

    Before::                               After ``s.split("i", 4)`` (extent 10)::

        for i in range(10):                    for i.outer in range(3):
            A[i] = B[i] + 1                        for i.inner in range(min(4, 10 - 4 * i.outer)):
                                                       A[4*i.outer + i.inner] = B[4*i.outer + i.inner] + 1
    """
    op = _affine_loop(ctx, loop)
    spec = U.spec_of(op)
    _single(ctx, "loop", loop, spec.lb_map, "lower")
    mb = U.MapBuilder()
    (lb,) = mb.import_map(spec.lb_map, spec.lb_ops)
    ubs = mb.import_map(spec.ub_map, spec.ub_ops)  # several: a guarded bound min(...) left by a split
    step, n = spec.step, len(mb.operands)
    const = lambda v: ir.AffineConstantExpr.get(v)  # noqa: E731
    # ceildiv is monotone, so ceildiv(min(u1, u2) - lb, c) = min(ceildiv(u1 - lb, c), ceildiv(u2 - lb, c))
    outer_ub = ir.AffineMap.get(n, 0, [ir.AffineExpr.get_ceil_div(ub - lb, const(step * factor)) for ub in ubs])
    count = U.trip_count(op)
    if count is not None and count % factor == 0:
        inner_ub, inner_ops = ir.AffineMap.get_constant(factor), []
    else:  # the bound guard: the last tile stops at the original extent
        shifted = [U.substitute(ir.AffineExpr.get_ceil_div(ub - lb, const(step)), [U.dim(i + 1) for i in range(n)], [])
                   for ub in ubs]
        inner_ub = ir.AffineMap.get(n + 1, 0, [const(factor)] + [t - U.dim(0) * factor for t in shifted])
        inner_ops = [("iv", 0)] + mb.operands
    name = U.str_attr(op, "loop_name") or "loop"
    outer_attrs, inner_attrs = _split_attrs(spec.attrs)
    zero = ir.AffineMap.get_constant(0)
    specs = [U.LoopSpec(zero, [], outer_ub, list(mb.operands), 1, {**outer_attrs, "loop_name": ir.StringAttr.get(f"{name}.outer")}),
             U.LoopSpec(zero, [], inner_ub, inner_ops, 1, {**inner_attrs, "loop_name": ir.StringAttr.get(f"{name}.inner")})]
    # old iv = lb + (outer * factor + inner) * step, over (outer, inner, *operands)
    lb2 = U.substitute(lb, [U.dim(i + 2) for i in range(n)], [])
    iv_map = ir.AffineMap.get(n + 2, 0, [lb2 + (U.dim(0) * factor + U.dim(1)) * step])
    new = U.replace_nest(op, op, specs, [(iv_map, mb.operands)])
    return ctx.loop_handle(new[0]), ctx.loop_handle(new[1])


# Where split puts the attributes of the loop it splits: the inner loop runs the original's consecutive
# iterations, so pipelining and unrolling (which describe consecutive iterations) move there; a dataflow
# region stays the outer loop; both halves of a reduction loop are reduction loops.
_SPLIT_ATTR_PLACE = {"dsl.reduction": ("outer", "inner"), "dsl.pipeline_ii": ("inner",), "dsl.rewind": ("inner",),
                     "dsl.unroll": ("inner",), "dsl.dataflow": ("outer",)}


def _split_attrs(attrs):
    place = lambda side: {k: v for k, v in attrs.items() if side in _SPLIT_ATTR_PLACE.get(k, ())}  # noqa: E731
    return place("outer"), place("inner")


def _chain(ctx, paths, arg):
    """The perfect chain of loops spanning ``paths``, outermost first, and the loops in depth order."""
    if len(paths) < 2:
        raise ctx.error(arg, f"needs at least two loops, got {len(paths)}", "two or more loops of one band")
    loops = [_affine_loop(ctx, p, arg) for p in paths]
    if len({id_of(lp) for lp in loops}) != len(loops):
        raise ctx.error(arg, f"a loop is named twice in {list(paths)}", "each loop once")
    by_depth = sorted(loops, key=lambda lp: len(U.enclosing_loops(lp)))
    chain = U.chain_between(by_depth[0], by_depth[-1]) if U.is_inside(by_depth[-1], by_depth[0]) else None
    if chain is None or any(id_of(lp) not in {id_of(c) for c in chain} for lp in loops):
        raise ctx.error(arg, f"loops {list(paths)} are not nested in one another (one band)",
                        ", ".join(N.qualified(lp) for lp in _band_loops(loops[0])))
    for parent, child in zip(chain, chain[1:]):
        if not _same(U.perfect_child(parent), child):
            raise ctx.error(arg, f"loop '{U.str_attr(parent, 'loop_name')}' is not perfectly nested around "
                                 f"'{U.str_attr(child, 'loop_name')}' (other statements sit between them)",
                            "loops of one perfect band")
    return chain, loops


def _band_loops(loop):
    """The perfect nest ``loop`` sits in: up through perfect parents, down through perfect children."""
    top = loop
    while U.parent_op(top) is not None and U.is_loop(U.parent_op(top)) and _same(U.perfect_child(U.parent_op(top)), top):
        top = U.parent_op(top)
    out = [top]
    while U.perfect_child(out[-1]) is not None:
        out.append(U.perfect_child(out[-1]))
    return out


def id_of(op):
    return op  # ir.Operation hashes and compares by the underlying operation


@primitive(Param("loops", "loops"), cleanup=True)
def reorder(ctx, loops):
    """Permute loops of one perfect band: the named loops take the named order, the others stay in place.
    Refused when a dependence the accesses make visible would be reversed (``B[i, j] = B[i - 1, j + 1]``
    forbids swapping ``i`` and ``j``); the test is conservative (see ``deps.py``). Integer accumulations
    (``s[0] += A[i, j]``) may be reordered: their bits do not depend on the order; float ones may not.

    Before::                               After ``s.reorder("k", "j")``::

        for i: for j: for k: C[i,j] += ...     for i: for k: for j: C[i,j] += ...
    """
    chain, named = _chain(ctx, loops, "loops")
    position = {id_of(lp): k for k, lp in enumerate(chain)}
    slots = sorted(position[id_of(lp)] for lp in named)
    order = list(range(len(chain)))  # order[new position] = old position
    for slot, lp in zip(slots, named):
        order[slot] = position[id_of(lp)]
    new_pos = {old: new for new, old in enumerate(order)}
    _check_dependences(ctx, chain, order)
    ivs = {U.iv(lp): k for k, lp in enumerate(chain)}
    specs = []
    for new, old in enumerate(order):
        spec = U.spec_of(chain[old])
        for ops in (spec.lb_ops, spec.ub_ops):
            for i, v in enumerate(ops):
                if v in ivs:
                    if new_pos[ivs[v]] >= new:
                        raise ctx.error("loops", f"the bounds of loop '{U.str_attr(chain[old], 'loop_name')}' "
                                                 f"depend on loop '{U.str_attr(chain[ivs[v]], 'loop_name')}', "
                                                 "which would move inside it",
                                        f"orders that keep '{U.str_attr(chain[ivs[v]], 'loop_name')}' outside "
                                        f"'{U.str_attr(chain[old], 'loop_name')}'")
                    ops[i] = ("iv", new_pos[ivs[v]])
        specs.append(spec)
    n = len(chain)
    maps = [(ir.AffineMap.get(n, 0, [U.dim(new_pos[k])]), []) for k in range(n)]
    U.replace_nest(chain[0], chain[-1], specs, maps)


def _check_dependences(ctx, chain, order):
    found = deps.violation(chain, order)
    if found is None:
        return
    mem, dist = found
    names = [U.str_attr(lp, "loop_name") for lp in chain]
    what = mem if isinstance(mem, str) else f"buffer '{_buffer_name(mem)}'"
    raise ctx.error("loops", f"the new order {[names[k] for k in order]} would reverse a dependence through "
                             f"{what} (iteration distance {dict(zip(names, dist))}, * = any)",
                    f"orders that keep every such distance lexicographically positive; the current order "
                    f"{names} is one")


def _buffer_name(value):
    owner = value.owner
    if hasattr(owner, "attributes") and "dsl.name" in owner.attributes:
        return U.str_attr(owner, "dsl.name")
    if hasattr(owner, "owner"):  # a block argument of the function
        func = owner.owner.operation
        if "dsl.arg_names" in func.attributes:
            return N.arg_names(func)[value.arg_number]
    return str(value.get_name())


@primitive(Param("loops", "loops"), cleanup=True)
def fuse(ctx, loops):
    """Coalesce consecutive perfectly nested loops (outermost first) into one loop named ``a_b_fused``.

    Before::                               After ``s.fuse("i", "j")``::

        for i in range(4):                     for i_j_fused in range(12):
            for j in range(3):                     A[i_j_fused // 3, i_j_fused % 3] = 0
                A[i, j] = 0
    """
    chain, named = _chain(ctx, loops, "loops")
    if [id_of(lp) for lp in chain] != [id_of(lp) for lp in named]:
        raise ctx.error("loops", f"{list(loops)} must be consecutive loops of one band, outermost first",
                        " -> ".join(U.str_attr(lp, "loop_name") for lp in _band_loops(chain[0])))
    bounds = [U.const_bounds(lp) for lp in chain]
    if any(b is None for b in bounds):
        raise ctx.error("loops", "fuse needs loops with constant bounds",
                        ", ".join(N.qualified(lp) for lp, b in zip(chain, bounds) if b) or "(none in this band)")
    trips = [U.trip_count(lp) for lp in chain]
    total = 1
    for t in trips:
        total *= t
    names = [U.str_attr(lp, "loop_name") for lp in chain]
    attrs = {"loop_name": ir.StringAttr.get("_".join(names) + "_fused")}
    if all("dsl.reduction" in lp.attributes for lp in chain):
        attrs["dsl.reduction"] = ir.UnitAttr.get()
    spec = U.LoopSpec(ir.AffineMap.get_constant(0), [], ir.AffineMap.get_constant(total), [], 1, attrs)
    maps, inner = [], 1
    for (lb, _, step), trip in reversed(list(zip(bounds, trips))):
        expr = ir.AffineExpr.get_floor_div(U.dim(0), ir.AffineConstantExpr.get(inner)) if inner > 1 else U.dim(0)
        if inner * trip < total:
            expr = expr % trip
        maps.append((ir.AffineMap.get(1, 0, [expr * step + lb]), []))
        inner *= trip
    new = U.replace_nest(chain[0], chain[-1], [spec], maps[::-1])
    return ctx.loop_handle(new[0])


@primitive(Param("loop", "loop"), Param("factor", "nat", 0))
def unroll(ctx, loop, factor):
    """Ask HLS to unroll ``loop`` by ``factor`` (0 = fully): records ``dsl.unroll``; the CPU result is unchanged.

    Before: ``for j in range(16): ...``   After ``s.unroll("j", 4)``: the same loop with ``{dsl.unroll = 4}``.
    """
    op = ctx.loop(loop)
    U.set_i32(op, "dsl.unroll", factor)


@primitive(Param("loop", "loop"), Param("initiation_interval", "pos_int", 1), Param("rewind", "bool", False))
def pipeline(ctx, loop, initiation_interval, rewind):
    """Ask HLS to pipeline ``loop`` with the given initiation interval: records ``dsl.pipeline_ii``
    (and ``dsl.rewind``); the CPU result is unchanged.

    Before: ``for j in range(16): ...``   After ``s.pipeline("j")``: the loop with ``{dsl.pipeline_ii = 1}``.
    """
    op = ctx.loop(loop)
    U.set_i32(op, "dsl.pipeline_ii", initiation_interval)
    if rewind:
        U.set_unit(op, "dsl.rewind")
    else:
        U.del_attr(op, "dsl.rewind")


@primitive(Param("loop", "loop"), Param("max", "nat"), Param("min", "nat", 0), Param("avg", "opt_nat", None))
def tripcount(ctx, loop, max, min, avg):  # noqa: A002 - Vitis's names for the three counts
    """Tell HLS how many times ``loop`` runs (for its latency report only: UG1399 loop_tripcount does not
    change the hardware): records ``dsl.tripcount = [min, max, avg]`` (avg defaults to the midpoint);
    the CPU result is unchanged. Loops with variable bounds get counts derived from their bounds without it
    (``dsl/backend/hls/tripcounts.py``); this replaces them, e.g. when the data bound a loop more tightly.

    Before: ``for i in range(n): ...``     After ``s.tripcount("i", max=64)``: the loop with
    ``{dsl.tripcount = [0, 64, 32]}``, emitted as ``#pragma HLS loop_tripcount min=0 max=64 avg=32``.
    """
    op = ctx.loop(loop)
    avg = (min + max) // 2 if avg is None else avg
    if not min <= avg <= max:
        raise ctx.error("min" if min > max else "avg", f"the counts must satisfy min <= avg <= max, got "
                        f"min={min}, max={max}, avg={avg}", "0 <= min <= avg <= max")
    U.set_i32_array(op, "dsl.tripcount", [min, max, avg])
