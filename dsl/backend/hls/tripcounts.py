"""``#pragma HLS loop_tripcount min=.. max=.. avg=..`` for loops whose trip count is not a constant.

UG1399 (pragma HLS loop_tripcount): Vitis cannot compute the latency of a loop with variable bounds and
reports it as unknown ("?"); the pragma gives the minimum, maximum and average number of iterations for
that analysis only; it does not change the synthesised hardware. Where the counts come from, first found:

1. what the user gave: ``s.tripcount(loop, max, min, avg)`` or ``dsl.loop_tripcount(...)`` in the loop's
   body, recorded as ``dsl.tripcount = [min, max, avg]`` (the only source for ``while`` loops);
2. the ranges of the bound operands: enclosing loop variables (a triangle ``range(i)``), constants, and a
   scalar argument converted to an index, whose range is that of its type (``range(n)`` with ``n: uint8``
   runs at most 255 times; a negative ``int32`` gives none);
3. the extents of the arrays the loop indexes with its variable (``B[i]`` in a valid kernel is in range),
   which can only lower the maximum.

The average is the mean over the enclosing iteration space (rounded half up) when that is enumerated (a
triangle), else the
midpoint of min and max (nothing better is known; a user-given ``avg`` replaces it).
"""
from __future__ import annotations

import itertools

from mlir import ir

from .quality import LOADS, STORES, _defining, _op

_ENUMERATE_LIMIT = 1 << 16  # operand boxes up to this many points are enumerated, larger ones by corners
_PRAGMA_MAX = (1 << 31) - 1  # the pragma takes C ints: a 64-bit bound (range(n), n: int64) is capped there
_CASTS = {"arith.index_cast": True, "arith.index_castui": False}  # op -> the integer is read as signed


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


def _type_range(value, signed: bool):
    width = ir.IntegerType(value.type).width
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed and width > 1 else (0, (1 << width) - 1)


def _value_range(value):
    """[lo, hi] of an enclosing affine loop's induction variable, a constant, or an integer converted to an
    index (the range of its type); None when unknown."""
    if isinstance(value, ir.BlockArgument):
        owner = _op(value.owner.owner)
        if owner is not None and owner.name == "affine.for" and value.arg_number == 0:
            trips = _affine_counts(owner)
            return None if trips is None else (trips.lowest, trips.highest)
        return None
    op = _defining(value)
    if op is None:
        return None
    if op.name == "arith.constant":
        v = ir.IntegerAttr(op.attributes["value"]).value
        return v, v
    if op.name in _CASTS and isinstance(op.operands[0].type, ir.IntegerType):
        return _type_range(op.operands[0], _CASTS[op.name])
    return None


class _Counts:
    """Trip counts of a loop over the points of its bound operands, and its induction variable's range."""

    def __init__(self, trips, lows, highs, enumerated):
        self.low, self.high = min(trips), max(trips)
        self.avg = (2 * sum(trips) + len(trips)) // (2 * len(trips)) if enumerated else (self.low + self.high) // 2
        self.lowest, self.highest = min(lows, default=0), max(highs, default=0)


def _affine_counts(loop):
    lower_ops, lower = _bound_fn(loop, "lower")
    upper_ops, upper = _bound_fn(loop, "upper")
    step = ir.IntegerAttr(loop.attributes["step"]).value
    return _counts(list(dict.fromkeys([*lower_ops, *upper_ops])),
                   lambda env: (lower([env[v] for v in lower_ops]), upper([env[v] for v in upper_ops]), step))


def _scf_counts(loop):
    lower, upper, step = list(loop.operands)[:3]
    return _counts(list(dict.fromkeys([lower, upper, step])), lambda env: (env[lower], env[upper], env[step]))


def _counts(operands, bounds):
    """Enumerate the operands' box (or its corners, when large) through ``bounds(env) -> (lb, ub, step)``."""
    ranges = [_value_range(v) for v in operands]
    if any(r is None for r in ranges):
        return None
    size = 1
    for lo, hi in ranges:
        size *= hi - lo + 1
    enumerated = size <= _ENUMERATE_LIMIT
    points = itertools.product(*[range(lo, hi + 1) for lo, hi in ranges]) if enumerated else \
        itertools.product(*[sorted({lo, hi}) for lo, hi in ranges])
    trips, lows, highs = [], [], []
    for point in points:
        lb, ub, step = bounds(dict(zip(operands, point)))
        if step <= 0:
            return None
        n = max(0, -(-(ub - lb) // step))
        trips.append(n)
        if n:
            lows.append(lb)
            highs.append(lb + (n - 1) * step)
    return _Counts(trips, lows, highs, enumerated) if trips else None


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


def given(loop):
    """(min, max, avg) the user recorded on ``loop`` (``dsl.tripcount``), or None."""
    if "dsl.tripcount" not in loop.attributes:
        return None
    return tuple(ir.IntegerAttr(a).value for a in ir.ArrayAttr(loop.attributes["dsl.tripcount"]))


def derived(loop):
    """(min, max, avg) from the bounds and the accesses of a ``for`` loop, or None when nothing bounds it."""
    counts = (_affine_counts if loop.name == "affine.for" else _scf_counts)(loop)
    extent = _extent_bound(loop)  # with a lower bound >= 0, as loop variables used as indices have
    if counts is None and extent is None:
        return None
    if counts is None:
        high = max(extent, 0)
        return 0, high, high // 2
    if extent is None or extent >= counts.high:
        return counts.low, counts.high, counts.avg
    high = max(extent, 0)
    low = min(counts.low, high)
    return low, high, (low + high) // 2


def tripcount_pragma(loop) -> str | None:
    """The pragma for a loop (``affine.for``, ``scf.for``, ``scf.while``), None for a ``for`` loop with
    constant bounds (Vitis counts those itself) or one nothing bounds."""
    counts = given(loop)
    if counts is None and loop.name != "scf.while" and not _constant_bounds(loop):
        counts = derived(loop)
    if counts is None:
        return None
    low, high, avg = (min(c, _PRAGMA_MAX) for c in counts)
    return f"loop_tripcount min={low} max={high} avg={avg}"
