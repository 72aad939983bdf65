"""CPU-only: short innermost loops that walk memory at unit stride stay loops, so LLVM vectorises along them.

LLVM's -O3 pipeline fully unrolls a short loop of constant trip count (the 16 columns of a PE tile row:
``for j in range(16): C[i, j] += a[i] * b[j]``) before its loop vectoriser runs. The vectoriser then sees
only the enclosing loop (the PE rows ``i``), whose accesses are 16 elements apart, and vectorises that one
with gathers and scatters: the float PE tile ran at about 1 multiply-add per ns. Kept as a loop, the
column loop becomes a few contiguous vector operations. This changes only how LLVM unrolls (an
``llvm.loop`` unroll-disable hint on the loop's back edge), never which operations run or in which order,
so results are the same bits; the schedule's module and the HLS code are untouched (the JIT lowers its
own copy).

A loop is kept rolled when it is innermost (no loop or call inside), has a constant trip count in
[MIN_TRIP, MAX_TRIP] and step 1, every memory access in it either ignores its variable or has it, with
coefficient 1, in the last subscript only (unit stride), at least one access being of the second kind, and
unrolling it would make its parent the loop LLVM vectorises (``_parent_would_gather``).
"""
from __future__ import annotations

from mlir import ir

from ..frontend.narrow import walk_ops

MIN_TRIP = 16    # one AVX-512 vector of float32 (shorter loops: LLVM's unrolling and SLP vectoriser do well)
MAX_TRIP = 64    # longer loops are not fully unrolled by LLVM anyway
ROLLED = "#llvm.loop_annotation<unroll = <disable = true>>"
_LOOPS = ("affine.for", "scf.for")
KEEP = "dsl.cpu_keep_rolled"

_ACCESSES = ("affine.load", "affine.store", "affine.vector_load", "affine.vector_store")


def loops_to_keep_rolled(module: ir.Module) -> tuple[int, list[int]]:
    """How many for-loops the module has (affine and scf, in walk order) and the positions of those to keep
    rolled. Call before ``lower-affine``; ``annotate`` after it."""
    loops = [op for op in walk_ops(module.operation) if op.name in _LOOPS]
    return len(loops), [n for n, op in enumerate(loops) if op.name == "affine.for" and _keep_rolled(op.opview)]


def annotate(module: ir.Module, plan: tuple[int, list[int]]) -> int:
    """Put the unroll-disable hint on the planned loops (now ``scf.for``, in the same walk order: lowering
    turns each affine.for into one scf.for in its place). If the count differs, nothing is annotated:
    the hint is an optimisation only. Returns how many loops were annotated."""
    count, keep = plan
    loops = [op for op in walk_ops(module.operation) if op.name in _LOOPS]
    if len(loops) != count or any(op.name != "scf.for" for op in loops):
        return 0
    hint = ir.Attribute.parse(ROLLED)
    for n in keep:
        # convert-scf-to-cf moves LLVM-dialect attributes of an scf.for onto its back-edge branch
        loops[n].attributes["loop_annotation"] = hint
    return len(keep)


def _keep_rolled(loop) -> bool:
    if KEEP in loop.attributes:  # a loop a CPU pass built already vectorised (cpu_transpose)
        return True
    if loop.results or _trip_count(loop) is None or not MIN_TRIP <= _trip_count(loop) <= MAX_TRIP:
        return False
    inner = list(walk_ops(loop.operation))
    if any(op.name in _LOOPS + ("scf.while", "func.call", "affine.parallel", "scf.parallel") for op in inner):
        return False
    iv = loop.regions[0].blocks[0].arguments[0]
    strides = [_stride(op, iv) for op in inner if op.name in _ACCESSES]
    if any(op.name in ("memref.load", "memref.store") for op in inner):
        return False  # subscripts the affine maps do not describe
    return all(s in ("invariant", "unit") for s in strides) and "unit" in strides and _parent_would_gather(loop)


def _parent_would_gather(loop) -> bool:
    """Whether unrolling ``loop`` would hand LLVM's vectoriser its parent instead: the parent holds no other
    loop (so it becomes innermost) and each of its iterations writes other elements (so it is vectorisable,
    along a non-unit stride). A parent that writes the same elements again (``acc[j] += a * B[k, j]`` under
    ``k``) is a recurrence: there unrolling lets LLVM keep the row in registers, which it does well."""
    parent = loop.operation.parent
    if parent is None or parent.name != "affine.for":
        return False
    if [op for op in walk_ops(parent) if op.name in _LOOPS] != [loop.operation]:
        return False
    piv = parent.regions[0].blocks[0].arguments[0]
    stores = [op for op in walk_ops(loop.operation) if op.name in ("affine.store", "affine.vector_store")]
    return bool(stores) and all(any(_coefficients(op, piv) or ()) for op in stores)


def _trip_count(loop):
    attrs = loop.attributes
    if len(loop.operation.operands):
        return None
    lower, upper = (ir.AffineMapAttr(attrs[name]).value for name in ("lowerBoundMap", "upperBoundMap"))
    if len(lower.results) != 1 or len(upper.results) != 1 or ir.IntegerAttr(attrs["step"]).value != 1:
        return None
    lo, hi = (m.results[0].maybe_downcast() for m in (lower, upper))
    if not isinstance(lo, ir.AffineConstantExpr) or not isinstance(hi, ir.AffineConstantExpr):
        return None
    return hi.value - lo.value


def _stride(op, iv) -> str:
    """'invariant' (the access ignores ``iv``), 'unit' (``iv`` + constant, only in the last subscript) or
    'other'."""
    from .cpu_deps import _map_operands

    if not any(v == iv for v in _map_operands(op)):
        return "invariant"
    coefficients = _coefficients(op, iv)
    if not coefficients or any(coefficients[:-1]) or coefficients[-1] != 1:
        return "other"
    return "unit"


def _coefficients(op, value):
    """The coefficient of ``value`` in each subscript of an affine access, or None if one is not linear."""
    from .cpu_deps import _linear, _map_operands

    amap = ir.AffineMapAttr(op.attributes["map"]).value
    positions = [p for p, v in enumerate(_map_operands(op)) if v == value]
    forms = [_linear(expr, amap.n_dims) for expr in amap.results]
    if any(form is None for form in forms):
        return None
    return [sum(form.get(p, 0) for p in positions) for form in forms]
