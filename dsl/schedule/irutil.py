"""Small helpers over the MLIR Python bindings used by the schedule primitives.

Everything here is mechanism (walk, build a loop, rewrite an affine map); the primitives hold the policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import affine, arith

LOOP_OPS = ("affine.for", "scf.for")
# Loop attributes that describe the loop itself (moved with it when a nest is rebuilt).
LOOP_ATTRS = ("loop_name", "dsl.reduction", "dsl.pipeline_ii", "dsl.rewind", "dsl.unroll", "dsl.dataflow")


# -- attributes -----------------------------------------------------------------------------------------
def str_attr(op, name: str):
    """The string value of ``op``'s attribute ``name``, or None."""
    if name not in op.attributes:
        return None
    return ir.StringAttr(op.attributes[name]).value


def set_str(op, name: str, value: str):
    op.attributes[name] = ir.StringAttr.get(value)


def set_i32(op, name: str, value: int):
    op.attributes[name] = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), value)


def set_i32_array(op, name: str, values):
    i32 = ir.IntegerType.get_signless(32)
    op.attributes[name] = ir.ArrayAttr.get([ir.IntegerAttr.get(i32, v) for v in values])


def set_unit(op, name: str):
    op.attributes[name] = ir.UnitAttr.get()


def del_attr(op, name: str):
    if name in op.attributes:
        del op.attributes[name]


# -- walking --------------------------------------------------------------------------------------------
def block_ops(block) -> list:
    return [op.operation for op in block.operations]


def walk(op, fn):
    """Pre-order walk over ``op`` and everything nested in it (``fn`` gets ``ir.Operation``)."""
    result = []

    def visit(o):
        fn(o)
        return ir.WalkResult.ADVANCE

    op.walk(visit, walk_order=ir.WalkOrder.PRE_ORDER)
    return result


def collect(op, pred) -> list:
    found = []
    walk(op, lambda o: found.append(o) if pred(o) else None)
    return found


def is_loop(op) -> bool:
    return op.name in LOOP_OPS


def body(loop) -> ir.Block:
    return loop.regions[0].blocks[0]


def iv(loop) -> ir.Value:
    return body(loop).arguments[0]


def parent_op(op):
    """The operation that contains ``op`` (None at module level)."""
    parent = op.parent
    return None if parent is None else parent.operation


def enclosing_loops(op) -> list:
    """Loops around ``op``, outermost first (stops at the function)."""
    chain = []
    cur = parent_op(op)
    while cur is not None and cur.name != "func.func":
        if is_loop(cur):
            chain.append(cur)
        cur = parent_op(cur)
    return chain[::-1]


def is_inside(op, ancestor) -> bool:
    cur = op
    while cur is not None:
        if cur == ancestor:
            return True
        cur = parent_op(cur)
    return False


def defined_inside(value: ir.Value, ancestor) -> bool:
    """Whether ``value`` is defined inside ``ancestor``'s regions (block arguments of its blocks count)."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        return is_inside(owner.owner.operation, ancestor)
    op = owner.operation
    return op != ancestor and is_inside(op, ancestor)


def body_ops(loop) -> list:
    """Operations of a loop body, without the terminator."""
    return block_ops(body(loop))[:-1]


def perfect_child(loop):
    """The single loop that forms ``loop``'s whole body, or None when the nest is imperfect there."""
    ops = body_ops(loop)
    return ops[0] if len(ops) == 1 and ops[0].name == "affine.for" else None


# -- affine.for -------------------------------------------------------------------------------------------
@dataclass
class LoopSpec:
    """Everything needed to (re)build one affine.for; operands may be ``("iv", k)`` for the k-th new loop."""

    lb_map: ir.AffineMap
    lb_ops: list
    ub_map: ir.AffineMap
    ub_ops: list
    step: int = 1
    attrs: dict = field(default_factory=dict)


def spec_of(loop) -> LoopSpec:
    view = loop.opview
    attrs = {name: loop.attributes[name] for name in LOOP_ATTRS if name in loop.attributes}
    return LoopSpec(ir.AffineMapAttr(loop.attributes["lowerBoundMap"]).value, list(view.lowerBoundOperands),
                    ir.AffineMapAttr(loop.attributes["upperBoundMap"]).value, list(view.upperBoundOperands),
                    ir.IntegerAttr(loop.attributes["step"]).value, attrs)


def const_bounds(loop):
    """(lb, ub, step) when both bounds are constants, else None."""
    spec = spec_of(loop)
    lb, ub = _const_map(spec.lb_map), _const_map(spec.ub_map)
    if lb is None or ub is None:
        return None
    return lb, ub, spec.step


def trip_count(loop):
    b = const_bounds(loop)
    if b is None:
        return None
    lb, ub, step = b
    return max(0, -(-(ub - lb) // step))


def _const_map(m: ir.AffineMap):
    if len(m.results) != 1 or not isinstance(m.results[0].maybe_downcast(), ir.AffineConstantExpr):
        return None
    return ir.AffineConstantExpr(m.results[0]).value


def build_nest(specs: list, ip, loc) -> list:
    """Create the nest described by ``specs`` (outermost first) at ``ip``; returns the new loops."""
    loops = []
    for spec in specs:
        resolve = lambda ops: [iv(loops[o[1]]) if isinstance(o, tuple) else o for o in ops]  # noqa: E731
        op = affine.AffineForOp(spec.lb_map, spec.ub_map, spec.step, lower_bound_operands=resolve(spec.lb_ops),
                                upper_bound_operands=resolve(spec.ub_ops), loc=loc, ip=ip).operation
        with ir.InsertionPoint(body(op)):
            affine.AffineYieldOp([], loc=loc)
        for name, attr in spec.attrs.items():
            op.attributes[name] = attr
        loops.append(op)
        ip = ir.InsertionPoint.at_block_begin(body(op))
    return loops


def replace_nest(outer, inner, specs: list, iv_maps: list) -> list:
    """Replace the perfect nest ``outer``..``inner`` by a new nest built from ``specs``.

    The body of ``inner`` moves into the new innermost loop; ``iv_maps[k]`` is ``(map, extra)``: the k-th
    old induction variable as an ``AffineMap`` over the new induction variables (outermost first) followed
    by the values in ``extra``. The band name (``op_name``) stays on the outermost loop.
    """
    old_chain = chain_between(outer, inner)
    loc = outer.location
    new = build_nest(specs, ir.InsertionPoint(outer), loc)
    new_body = body(new[-1])
    terminator = block_ops(new_body)[-1]
    for op in body_ops(inner):
        op.move_before(terminator)
    new_ivs = [iv(loop) for loop in new]
    if "op_name" in outer.attributes:
        new[0].attributes["op_name"] = outer.attributes["op_name"]
    for old, (amap, extra) in zip(old_chain, iv_maps):
        operands = new_ivs + list(extra)
        value = _single_dim(amap, operands)
        if value is not None:
            iv(old).replace_all_uses_with(value)
            continue
        # One affine.apply right before each user (not one at the top of the body), so that the new nest
        # stays perfect for the next primitive; the cleanup merges those of one block, and affine accesses
        # fold them into their maps.
        for use in list(iv(old).uses):
            user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            with loc:
                value = affine.AffineApplyOp(amap, operands, ip=ir.InsertionPoint(user)).result
            user.operands[use.operand_number] = value
    # Bounds of the new loops may refer to old ivs only through ("iv", k) entries, so ``outer`` is now dead.
    outer.erase()
    return new


def _single_dim(amap: ir.AffineMap, values):
    res = amap.results[0].maybe_downcast()
    if isinstance(res, ir.AffineDimExpr):
        return values[ir.AffineDimExpr(res).position]
    return None


def chain_between(outer, inner) -> list:
    chain = [inner]
    while chain[-1] != outer:
        chain.append(parent_op(chain[-1]))
    return chain[::-1]


def constant_index(value: int, ip, loc) -> ir.Value:
    with loc:
        return arith.ConstantOp(ir.IndexType.get(), value, ip=ip).result


# -- affine expressions -----------------------------------------------------------------------------------
def dim(i):
    return ir.AffineDimExpr.get(i)


_BINARY_KINDS = (
    (ir.AffineAddExpr, lambda a, b: a + b),
    (ir.AffineMulExpr, lambda a, b: a * b),
    (ir.AffineModExpr, lambda a, b: a % b),
    (ir.AffineFloorDivExpr, lambda a, b: ir.AffineExpr.get_floor_div(a, b)),
    (ir.AffineCeilDivExpr, lambda a, b: ir.AffineExpr.get_ceil_div(a, b)),
)


def _rebuild_binary(expr, lhs, rhs):
    expr = expr.maybe_downcast()
    for kind, make in _BINARY_KINDS:
        if isinstance(expr, kind):
            return make(lhs, rhs)
    raise TypeError(f"unknown affine expression {expr}")


def substitute(expr, dims: list, syms: list):
    """Replace dim i by ``dims[i]`` and symbol j by ``syms[j]`` (both lists of AffineExpr)."""
    expr = expr.maybe_downcast()
    if isinstance(expr, ir.AffineDimExpr):
        return dims[ir.AffineDimExpr(expr).position]
    if isinstance(expr, ir.AffineSymbolExpr):
        return syms[ir.AffineSymbolExpr(expr).position]
    if isinstance(expr, ir.AffineConstantExpr):
        return expr
    b = ir.AffineBinaryExpr(expr)
    return _rebuild_binary(expr, substitute(b.lhs, dims, syms), substitute(b.rhs, dims, syms))


class MapBuilder:
    """Builds one affine map over a growing operand list; every operand becomes a dim (valid for affine ops
    whose operands are ivs or index values defined at the top of a function)."""

    def __init__(self):
        self.operands: list = []

    def dim_of(self, value):
        for i, v in enumerate(self.operands):
            if v == value:
                return dim(i)
        self.operands.append(value)
        return dim(len(self.operands) - 1)

    def import_map(self, amap: ir.AffineMap, operands: list) -> list:
        """The results of ``amap`` applied to ``operands``, rewritten over this builder's operands."""
        nd = amap.n_dims
        dims = [self.dim_of(v) for v in operands[:nd]]
        syms = [self.dim_of(v) for v in operands[nd:]]
        return [substitute(r, dims, syms) for r in amap.results]

    def map(self, exprs) -> ir.AffineMap:
        return ir.AffineMap.get(len(self.operands), 0, list(exprs))


def linear_form(expr, operands: list):
    """``expr`` over ``operands`` (dims then symbols) as ({operand: coeff}, const), or None if not linear."""
    expr = expr.maybe_downcast()
    if isinstance(expr, ir.AffineConstantExpr):
        return {}, ir.AffineConstantExpr(expr).value
    if isinstance(expr, ir.AffineDimExpr):
        return {operands[ir.AffineDimExpr(expr).position]: 1}, 0
    if isinstance(expr, ir.AffineSymbolExpr):
        return None
    b = ir.AffineBinaryExpr(expr)
    lhs, rhs = linear_form(b.lhs, operands), linear_form(b.rhs, operands)
    if lhs is None or rhs is None:
        return None
    if isinstance(expr, ir.AffineAddExpr):
        terms = dict(lhs[0])
        for v, c in rhs[0].items():
            terms[v] = terms.get(v, 0) + c
        return {v: c for v, c in terms.items() if c}, lhs[1] + rhs[1]
    if isinstance(expr, ir.AffineMulExpr):
        if not rhs[0]:
            return {v: c * rhs[1] for v, c in lhs[0].items()}, lhs[1] * rhs[1]
        if not lhs[0]:
            return {v: c * lhs[1] for v, c in rhs[0].items()}, lhs[1] * rhs[1]
    return None


def access_map(op):
    """(map, index operands) of an affine.load / affine.store."""
    return ir.AffineMapAttr(op.attributes["map"]).value, access_indices(op)


def access_indices(op) -> list:
    ops = list(op.operands)
    return ops[1:] if op.name == "affine.load" else ops[2:]


def access_memref(op):
    return op.operands[0] if op.name == "affine.load" else op.operands[1]


def same_op(a, b) -> bool:
    """Operation identity that tolerates None (ir.Operation.__eq__ rejects it)."""
    return a is not None and b is not None and a == b
