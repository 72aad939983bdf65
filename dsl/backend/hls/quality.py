"""What the emitted loops tell Vitis beyond the schedule's own directives, and what they cannot achieve.

* A loop pipelined at II=1 whose iterations accumulate into the same float value (a reduction over the
  pipelined loop, ``C[i, j] += ...`` with ``k`` pipelined, or ``s += ...``) cannot start an iteration
  every cycle: the floating-point adder takes several cycles and the next iteration needs its result
  (UG1393 "Eliminate Loop-Carried Dependencies"; Vitis reports HLS 200-880). ``float_recurrence``
  finds it, and the emitter says so (a ``HLSQualityWarning`` and a comment).
* The innermost loops of a region's kernels are pipelined at II=1 unless the schedule says otherwise:
  a PE should take a token per cycle, and without the pragma it depends on Vitis's automatic pipelining
  of loops (a default of the tool's configuration, ``config_compile -pipeline_loops``).
* A loop whose bounds are not constants gets ``loop_tripcount min max`` (UG1399: Vitis cannot compute the
  latency without it): from the ranges of the enclosing loops, or else from the extents of the arrays the
  loop indexes with its variable (a valid kernel indexes in range).
"""
from __future__ import annotations

import itertools

from mlir import ir

LOADS = ("affine.load", "memref.load")
STORES = ("affine.store", "memref.store")
LOOPS = ("affine.for", "scf.for")
FLOAT_OPS = ("arith.addf", "arith.subf", "arith.mulf", "arith.divf")
_ENUMERATE_LIMIT = 1 << 16  # operand boxes up to this many points are enumerated, larger ones by corners


class HLSQualityWarning(UserWarning):
    """A directive that the generated hardware cannot honour as asked (the design is still correct)."""


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def _inside(op, loop) -> bool:
    while op is not None:
        if op == loop:
            return True
        op = op.parent
    return False


def _defining(value):
    owner = value.owner
    return _op(owner) if isinstance(value, ir.OpResult) else None


def _depends_on(value, target, loop, seen=None) -> bool:
    """Whether ``value`` is computed (inside ``loop``) from ``target``."""
    if value == target:
        return True
    op = _defining(value)
    if op is None or not _inside(op, loop):
        return False
    seen = set() if seen is None else seen
    if value in seen:
        return False
    seen.add(value)
    return any(_depends_on(v, target, loop, seen) for v in op.operands)


def _float_path(value, loop, reached) -> bool:
    """Whether ``value`` is computed inside ``loop`` through a float op from a value ``reached`` accepts."""
    op = _defining(value)
    if op is None or not _inside(op, loop):
        return False
    if op.name in FLOAT_OPS and any(reached(v) or _float_path(v, loop, reached) for v in op.operands):
        return True
    return op.name.startswith("arith.") and any(_float_path(v, loop, reached) for v in op.operands)


def _indices(op) -> tuple:
    first = 2 if op.name in STORES else 1
    amap = str(op.attributes["map"]) if "map" in op.attributes else None
    return amap, [str(v.get_name()) for v in list(op.operands)[first:]]


def _buffer_name(memref) -> str:
    op = _defining(memref)
    if op is not None and "dsl.name" in op.attributes:
        return ir.StringAttr(op.attributes["dsl.name"]).value
    if isinstance(memref, ir.BlockArgument):
        fop = memref.owner.owner
        fop = _op(fop)
        if fop is not None and "dsl.arg_names" in fop.attributes:
            return ir.StringAttr(ir.ArrayAttr(fop.attributes["dsl.arg_names"])[memref.arg_number]).value
    return "a buffer"


def float_recurrence(loop):
    """(what, op) when an iteration of ``loop`` needs the float result of the previous one, else None."""
    iv = loop.regions[0].blocks[0].arguments[0]
    block = loop.regions[0].blocks[0]
    carried = list(block.arguments)[1:]
    terminator = list(block.operations)[-1] if carried else None
    for k, arg in enumerate(carried):
        if _float_path(terminator.operands[k], loop, lambda v, arg=arg: v == arg):
            return "a value carried from one iteration to the next", _op(terminator)
    found = []

    def visit(op):
        op = _op(op)
        if op.name in STORES and _is_float(op.operands[0].type):
            memref, index = op.operands[1], _indices(op)
            first = 2 if op.name in STORES else 1
            if not any(_depends_on(v, iv, loop) for v in list(op.operands)[first:]):
                def same_place(v):
                    d = _defining(v)
                    return d is not None and d.name in LOADS and d.operands[0] == memref and _indices(d) == index
                if _float_path(op.operands[0], loop, same_place) and not _cleared_first(loop, memref, index,
                                                                                          same_place):
                    found.append((f"'{_buffer_name(memref)}'", op))
        return ir.WalkResult.ADVANCE

    loop.walk(visit)
    return found[0] if found else None


def _touches(op, memref) -> bool:
    found = []

    def visit(inner):
        inner = _op(inner)
        if inner.name in LOADS + STORES and memref in list(inner.operands)[:2]:
            found.append(inner)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return bool(found)


def _cleared_first(loop, memref, index, same_place) -> bool:
    """Whether every iteration of ``loop`` first writes the place afresh (``acc = 0.0`` at the top of the
    body, before any read of it): then no value reaches one iteration from the previous."""
    for op in loop.regions[0].blocks[0].operations:
        op = _op(op)
        if not _touches(op, memref):
            continue
        return op.name in STORES and op.operands[1] == memref and _indices(op) == index \
            and not _float_path(op.operands[0], loop, same_place) and not same_place(op.operands[0])
    return False


def _is_float(t) -> bool:
    return isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


def is_innermost(loop) -> bool:
    found = []

    def visit(op):
        if _op(op) != loop and _op(op).name in LOOPS + ("scf.while",):
            found.append(op)
        return ir.WalkResult.ADVANCE

    loop.walk(visit)
    return not found


def in_region_kernel(func) -> bool:
    return "dsl.kernel" in func.attributes


# -- trip counts ----------------------------------------------------------------------------------------

def _eval(expr, dims, syms) -> int:
    e = expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr
    if isinstance(e, ir.AffineConstantExpr):
        return e.value
    if isinstance(e, ir.AffineDimExpr):
        return dims[e.position]
    if isinstance(e, ir.AffineSymbolExpr):
        return syms[e.position]
    a, b = _eval(e.lhs, dims, syms), _eval(e.rhs, dims, syms)
    if isinstance(e, ir.AffineAddExpr):
        return a + b
    if isinstance(e, ir.AffineMulExpr):
        return a * b
    if isinstance(e, ir.AffineFloorDivExpr):
        return a // b
    if isinstance(e, ir.AffineCeilDivExpr):
        return -((-a) // b)
    return a % b


def _bound_fn(loop, which: str):
    """(operands, f) where f(values of the operands) is the loop's lower or upper bound."""
    loop = loop.opview if hasattr(loop, "opview") else loop
    amap = ir.AffineMapAttr(loop.attributes[f"{which}BoundMap"]).value
    operands = list(loop.lowerBoundOperands if which == "lower" else loop.upperBoundOperands)
    pick = max if which == "lower" else min

    def f(values):
        dims, syms = values[:amap.n_dims], values[amap.n_dims:]
        return pick(_eval(e, dims, syms) for e in amap.results)
    return operands, f


def _iv_range(value):
    """[lo, hi] of an enclosing affine loop's induction variable, or of a constant; None when unknown."""
    if isinstance(value, ir.BlockArgument):
        owner = _op(value.owner.owner)
        if owner is not None and owner.name == "affine.for" and value.arg_number == 0:
            trips = affine_range(owner)
            return None if trips is None else (trips[2], trips[3])
        return None
    op = _defining(value)
    if op is not None and op.name == "arith.constant":
        v = ir.IntegerAttr(op.attributes["value"]).value
        return v, v
    return None


def affine_range(loop):
    """(min trips, max trips, min value, max value of the induction variable) of an affine loop whose
    bound operands have known ranges; None otherwise."""
    lower_ops, lower = _bound_fn(loop, "lower")
    upper_ops, upper = _bound_fn(loop, "upper")
    operands = list(dict.fromkeys([*lower_ops, *upper_ops]))
    ranges = [_iv_range(v) for v in operands]
    if any(r is None for r in ranges):
        return None
    step = ir.IntegerAttr(loop.attributes["step"]).value
    size = 1
    for lo, hi in ranges:
        size *= hi - lo + 1
    points = itertools.product(*[range(lo, hi + 1) for lo, hi in ranges]) if size <= _ENUMERATE_LIMIT else \
        itertools.product(*[sorted({lo, hi}) for lo, hi in ranges])
    trips, lows, highs = [], [], []
    for point in points:
        env = dict(zip(operands, point))
        lb, ub = lower([env[v] for v in lower_ops]), upper([env[v] for v in upper_ops])
        n = max(0, -(-(ub - lb) // step))
        trips.append(n)
        if n:
            lows.append(lb)
            highs.append(lb + (n - 1) * step)
    if not trips:
        return None
    return min(trips), max(trips), min(lows, default=0), max(highs, default=0)


def _constant_bounds(loop) -> bool:
    if loop.name == "affine.for":
        view = loop.opview if hasattr(loop, "opview") else loop
        return not list(view.lowerBoundOperands) and not list(view.upperBoundOperands)
    return all(_defining(v) is not None and _defining(v).name == "arith.constant" for v in list(loop.operands)[:3])


def _extent_bound(loop):
    """The largest trip count that keeps every access indexed by the loop variable (``B[i + c]``) in range."""
    iv = loop.regions[0].blocks[0].arguments[0]
    best = []

    def visit(op):
        op = _op(op)
        if op.name in LOADS + STORES:
            first = 2 if op.name in STORES else 1
            indices = list(op.operands)[first:]
            shape = ir.MemRefType(op.operands[first - 1].type).shape
            if "map" in op.attributes:
                amap = ir.AffineMapAttr(op.attributes["map"]).value
                for dim, e in enumerate(amap.results):
                    offset = _offset_of(e, indices, iv, amap.n_dims)
                    if offset is not None:
                        best.append(shape[dim] - offset)
            else:
                best.extend(shape[dim] for dim, v in enumerate(indices) if v == iv)
        return ir.WalkResult.ADVANCE

    loop.walk(visit)
    return min(best) if best else None


def _offset_of(expr, operands, iv, n_dims):
    """c when ``expr`` is ``iv + c`` (iv one of the map's operands), else None."""
    e = expr.maybe_downcast()
    if isinstance(e, ir.AffineDimExpr) and operands[e.position] == iv:
        return 0
    if isinstance(e, ir.AffineSymbolExpr) and operands[n_dims + e.position] == iv:
        return 0
    if isinstance(e, ir.AffineAddExpr):
        rhs = e.rhs.maybe_downcast()
        if isinstance(rhs, ir.AffineConstantExpr):
            inner = _offset_of(e.lhs, operands, iv, n_dims)
            return None if inner is None else inner + rhs.value
    return None


def tripcount_pragma(loop) -> str | None:
    """``loop_tripcount min=.. max=..`` for a loop with variable bounds (None for constant bounds, or when
    nothing bounds it)."""
    if _constant_bounds(loop):
        return None
    known = affine_range(loop) if loop.name == "affine.for" else None
    if known is not None:
        return f"loop_tripcount min={known[0]} max={known[1]}"
    bound = _extent_bound(loop)  # with a lower bound >= 0, as loop variables used as indices have
    return None if bound is None else f"loop_tripcount min=0 max={max(bound, 0)}"
