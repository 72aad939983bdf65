"""Which ``index`` values of a function can leave the C++ ``int`` that holds index values in HLS code
(used by the HLS emitter, ``FunctionEmitter.ctype``, and by the frontend, ``as_mixed`` below).

Loop counters, subscripts and index arithmetic print as ``int`` (the HLS convention, and what keeps the
hardware narrow), while the CPU computes ``index`` in 64 bits. Where an index value can exceed 32 bits
(``i * 2147483647 * 4``, ``min(i + 2147483647, 3)``, a bound converted from an ``int64`` argument) the
emitter gives it ``int64_t`` instead, so csim computes what the CPU and plain Python compute; a value that
provably fits stays ``int``. The analysis is interval arithmetic over the SSA graph:

* constants are exact; loop variables range over their bounds; an integer converted to an index ranges
  over its type (``arith.index_cast`` signed, ``index_castui`` unsigned);
* index function arguments, index buffer elements and loop-carried index values are C++ ``int`` (what
  their declarations hold);
* arithmetic, min/max, selects and affine maps combine their operands' intervals; anything else is
  assumed to take any 64-bit value.
"""
from __future__ import annotations

from mlir import ir

INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)


def _clamp(lo, hi):
    return max(lo, INT64[0]), min(hi, INT64[1])


def _products(a, b):
    values = [x * y for x in a for y in b]
    return min(values), max(values)


def _division(a, b):
    """C's truncating ``/`` (and floor/ceil variants: the same bounds up to one): the quotient's magnitude is
    at most the dividend's."""
    m = max(abs(a[0]), abs(a[1]))
    return (0, a[1]) if a[0] >= 0 and b[0] >= 1 else (-m - 1, m + 1)


def _remainder(a, b):
    m = max(abs(b[0]), abs(b[1]))
    return (-(m - 1), m - 1) if a[0] < 0 else (0, max(m - 1, 0))


_ARITH = {  # op -> interval of the result from the operands' intervals
    "arith.addi": lambda a, b: (a[0] + b[0], a[1] + b[1]),
    "arith.subi": lambda a, b: (a[0] - b[1], a[1] - b[0]),
    "arith.muli": _products,
    "arith.divsi": _division, "arith.floordivsi": _division, "arith.ceildivsi": _division,
    "arith.remsi": _remainder,
    "arith.minsi": lambda a, b: (min(a[0], b[0]), min(a[1], b[1])),
    "arith.maxsi": lambda a, b: (max(a[0], b[0]), max(a[1], b[1])),
}
_CASTS = {"arith.index_cast": True, "arith.index_castui": False}  # op -> the integer is read as signed


def _op(x):
    return x.operation if hasattr(x, "operation") else x


class IndexRanges:
    """Intervals of the index values of one function, computed on demand and remembered."""

    def __init__(self):
        self.known = {}

    def wide(self, value) -> bool:
        """Whether ``value`` (of index type) may take a value outside a 32-bit ``int``."""
        lo, hi = self.range(value)
        return lo < INT32[0] or hi > INT32[1]

    def range(self, value):
        if value not in self.known:
            self.known[value] = INT64  # a cycle (a carried value) reads as unknown
            self.known[value] = _clamp(*self._compute(value))
        return self.known[value]

    def _compute(self, value):
        if isinstance(value, ir.BlockArgument):
            return self._block_argument(value)
        op = _op(value.owner)
        if op.name == "arith.constant":
            return (ir.IntegerAttr(op.attributes["value"]).value,) * 2
        if op.name in _CASTS:
            return self._converted(op.operands[0], _CASTS[op.name])
        if op.name in _ARITH and all(isinstance(v.type, ir.IndexType) for v in op.operands):
            return _ARITH[op.name](*(self.range(v) for v in op.operands))
        if op.name == "arith.select":
            a, b = self.range(op.operands[1]), self.range(op.operands[2])
            return min(a[0], b[0]), max(a[1], b[1])
        if op.name in ("affine.apply", "affine.min", "affine.max"):
            return self.map_range(ir.AffineMapAttr(op.attributes["map"]).value, list(op.operands))
        if op.name in ("affine.load", "memref.load"):
            return INT32  # an index buffer is an `int` array
        return INT64

    def _block_argument(self, value):
        owner = _op(value.owner.owner)
        if owner is None or value.arg_number != 0 or owner.name not in ("affine.for", "scf.for"):
            return INT32  # function arguments and carried values are declared `int`
        if owner.name == "scf.for":
            lower, upper = self.range(owner.operands[0]), self.range(owner.operands[1])
        else:
            view = owner.opview if hasattr(owner, "opview") else owner
            lower = self.map_range(ir.AffineMapAttr(owner.attributes["lowerBoundMap"]).value,
                                   list(view.lowerBoundOperands))
            upper = self.map_range(ir.AffineMapAttr(owner.attributes["upperBoundMap"]).value,
                                   list(view.upperBoundOperands))
        return lower[0], max(lower[0], upper[1] - 1)

    @staticmethod
    def _converted(source, signed: bool):
        if isinstance(source.type, ir.IndexType):
            return INT64  # index -> index never happens; to be safe
        width = ir.IntegerType(source.type).width
        if signed and width > 1:
            return -(1 << (width - 1)), (1 << (width - 1)) - 1
        return 0, (1 << width) - 1

    def map_range(self, amap, operands):
        """The hull of the results of an affine map over its operands' intervals."""
        ranges = [self.range(v) for v in operands]
        hulls = [self.expr_range(e, ranges, amap.n_dims) for e in amap.results]
        return min(h[0] for h in hulls), max(h[1] for h in hulls)

    def expr_range(self, expr, ranges, n_dims, visit=None):
        """Interval of an affine expression; ``visit(expr, interval)`` sees every sub-expression."""
        e = expr.maybe_downcast()
        if isinstance(e, ir.AffineConstantExpr):
            out = (e.value, e.value)
        elif isinstance(e, ir.AffineDimExpr):
            out = ranges[e.position]
        elif isinstance(e, ir.AffineSymbolExpr):
            out = ranges[n_dims + e.position]
        else:
            a = self.expr_range(e.lhs, ranges, n_dims, visit)
            b = self.expr_range(e.rhs, ranges, n_dims, visit)
            if isinstance(e, ir.AffineAddExpr):
                out = _ARITH["arith.addi"](a, b)
            elif isinstance(e, ir.AffineMulExpr):
                out = _products(a, b)
            elif isinstance(e, ir.AffineModExpr):
                out = (0, max(b[1] - 1, 0))  # affine mod by a positive constant
            else:
                out = _division(a, b)
        if visit is not None:
            visit(e, out)
        return out

    def map_is_wide(self, expr, operands, n_dims) -> bool:
        """Whether any sub-expression of ``expr`` leaves the 32-bit ``int`` (then it is computed in 64 bits)."""
        found = []
        self.expr_range(expr, [self.range(v) for v in operands], n_dims,
                        lambda e, r: found.append(r[0] < INT32[0] or r[1] > INT32[1]))
        return any(found)


# -- the frontend: an index value that meets an integer ------------------------------------------------
def as_mixed(a, b):
    """``(a, b)`` where an index operand meeting a non-index one (the typing rule: it then acts as ``int32``)
    is first made an ``int64`` when its value can leave 32 bits (``i * 2147483647 > 4294967293``): the
    32-bit view would drop the bits the CPU's 64-bit index holds and plain Python keeps."""
    return _widened(a, b), _widened(b, a)


def _widened(v, other):
    from mlir.dialects import arith

    from ..types import Index, int64
    from .values import Literal, Scalar

    if not (isinstance(v, Scalar) and isinstance(v.dtype, Index)):
        return v
    if isinstance(other, Scalar) and isinstance(other.dtype, Index):
        return v  # index arithmetic: stays index (64 bits on the CPU, int64_t in HLS where wide)
    if isinstance(other, Literal) and isinstance(other.value, int) and -(1 << 31) <= other.value < (1 << 31):
        return v  # a literal that fits adopts the index type
    if not IndexRanges().wide(v.value):
        return v
    return Scalar(arith.index_cast(ir.IntegerType.get_signless(64), v.value), int64)


def wrapped_for_store(value: ir.Value) -> ir.Value:
    """An index value stored into an ``index`` buffer or variable, wrapped to the C++ ``int`` that holds it
    in HLS code (the store rule: wrapped to the declared type), so that the CPU keeps the same bits."""
    from mlir.dialects import arith

    if not IndexRanges().wide(value):
        return value
    narrow = arith.trunci(ir.IntegerType.get_signless(32), arith.index_cast(ir.IntegerType.get_signless(64), value))
    return arith.index_cast(ir.IndexType.get(), narrow)
