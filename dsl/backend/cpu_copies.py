"""CPU-only: transposing copies into a local buffer run with the buffer's last index innermost.

A kernel that loads a tile for a PE array reads rows of a top-level argument and writes them transposed
(``for j, k in grid(NT, K): Bt[k, j] = W[n0 + j, k]``): on the hardware that is one burst per row, but on the
CPU every store of the inner loop touches a new cache line of the tile (stride NT elements), and a tile larger
than the L1 cache is written back and forth once per row. Swapping the two loops (``for k, j``) makes the
stores contiguous and the loads walk NT rows side by side, whose cache lines stay in L1. The schedule's
module is untouched (the HLS code keeps the written order); the JIT's private copy is changed.

The swap preserves results whenever the nest is a pure copy into a buffer nothing else in it touches: the
nest's only store goes to a ``memref.alloc`` of the enclosing function, no load of the nest reads that
buffer (or a view of it), and the store's indices contain both loop variables as separate subscripts, so
every iteration writes its own element once and the order of the writes cannot matter.
"""
from __future__ import annotations

from mlir import ir

from ..frontend.narrow import walk_ops

MAX_SIDE_BY_SIDE = 64   # rows read side by side after the swap: their cache lines must stay in L1
_BODY_OPS = ("affine.load", "affine.store", "affine.apply", "affine.yield")
_VIEWS = ("memref.subview", "memref.cast", "memref.reinterpret_cast", "memref.collapse_shape",
          "memref.expand_shape", "memref.view")


def interchange_transposing_copies(module: ir.Module) -> int:
    """Swap every qualifying copy nest of ``module`` (see the module docstring); return how many."""
    from .cpu_opt import _interchange

    swapped = 0
    while True:  # a swap erases the old nest: look again from the top (a swapped nest no longer qualifies)
        nest = next((op.opview for op in walk_ops(module.operation)
                     if op.name == "affine.for" and _is_transposing_copy(op.opview)), None)
        if nest is None:
            return swapped
        _interchange(nest)
        swapped += 1


def _is_transposing_copy(outer) -> bool:
    inner = _only_child_loop(outer)
    if inner is None or _only_child_loop(inner) is not None:
        return False
    if any(_has_results_or_operands(loop) for loop in (outer, inner)):
        return False
    if _trip_count(outer) is None or _trip_count(outer) > MAX_SIDE_BY_SIDE or _trip_count(inner) is None:
        return False
    body = _ops(inner)
    if any(not (op.name in _BODY_OPS or op.name.startswith("arith.")) or op.regions for op in body):
        return False
    stores = [op for op in body if op.name == "affine.store"]
    if len(stores) != 1:
        return False
    store = stores[0]
    target = store.operands[1]
    if not _is_local_alloc(target):
        return False
    if any(_root(op.operands[0]) == target for op in body if op.name == "affine.load"):
        return False
    i_outer, i_inner = (loop.regions[0].blocks[0].arguments[0] for loop in (outer, inner))
    subscripts = _subscripts(store)
    if not subscripts or not _same(subscripts[-1], i_outer):  # a rank-0 store has none
        return False
    return any(_same(v, i_inner) for v in subscripts[:-1])


def _same(a, b) -> bool:
    """SSA value identity; None (a subscript that is not a plain value) is never the same."""
    return a is not None and b is not None and a == b


def _ops(loop):
    return [op.operation for op in loop.regions[0].blocks[0].operations]


def _only_child_loop(loop):
    body = [op for op in _ops(loop) if op.name != "affine.yield"]
    if len(body) == 1 and body[0].name == "affine.for":
        return body[0].opview
    return None


def _has_results_or_operands(loop) -> bool:
    """Loops with iteration arguments or bounds that depend on values (not constants) are left alone."""
    return bool(loop.results) or len(loop.operation.operands) > 0


def _trip_count(loop):
    attrs = loop.attributes
    lower, upper = (ir.AffineMapAttr(attrs[name]).value for name in ("lowerBoundMap", "upperBoundMap"))
    if len(lower.results) != 1 or len(upper.results) != 1:
        return None
    lo, hi = (_constant_expr(m.results[0]) for m in (lower, upper))
    step = ir.IntegerAttr(attrs["step"]).value
    if lo is None or hi is None or step <= 0:
        return None
    return max(0, -(-(hi - lo) // step))


def _constant_expr(expr):
    expr = expr.maybe_downcast()
    return expr.value if isinstance(expr, ir.AffineConstantExpr) else None


def _subscripts(store):
    """The store's indices as the SSA values they are (None where one is not a plain operand)."""
    amap = ir.AffineMapAttr(store.attributes["map"]).value
    operands = list(store.operands)[2:]
    values = []
    for expr in amap.results:
        expr = expr.maybe_downcast()
        values.append(operands[expr.position] if isinstance(expr, ir.AffineDimExpr) else None)
    plain = [v for v in values if v is not None]
    if any(a == b for n, a in enumerate(plain) for b in plain[n + 1:]):
        return None  # one value in two subscripts: not provably one element per iteration
    return values


def _is_local_alloc(value) -> bool:
    owner = value.owner
    return isinstance(owner, (ir.Operation, ir.OpView)) and owner.name in ("memref.alloc", "memref.alloca")


def _root(value):
    """The buffer a view is taken of (through subviews and casts)."""
    while True:
        owner = value.owner
        if not isinstance(owner, (ir.Operation, ir.OpView)) or owner.name not in _VIEWS:
            return value
        value = owner.operands[0]
