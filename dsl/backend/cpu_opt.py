"""CPU-only loop optimisations, applied to the JIT's private copy of a module (never to the schedule).

A kernel written the natural way (``for i, j in grid: for k in reduction: C[i, j] += A[i, k] * B[k, j]``)
has its reduction innermost, so the inner loop walks ``B`` by columns and cannot be vectorised without
reassociating the sum. Sinking the parallel loop below the reduction loop (``i, k, j``) makes the inner
loop contiguous and vectorisable while every ``C[i, j]`` still accumulates in the same ``k`` order, so
results are bit-identical to the written order, floats included. That holds only when the iterations of
the sunk loop are independent, which ``cpu_deps`` proves first (``S[i + 1] += S[i] + A[i, k]`` is not).
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine

from ..frontend.narrow import walk_ops
from .cpu_copies import interchange_transposing_copies
from .cpu_deps import independent_iterations


def optimize_for_cpu(module: ir.Module) -> None:
    guard_integer_division(module)
    expand_wide_floor_division(module)
    changed = True
    while changed:  # each swap can expose another (i, j, k -> i, k, j)
        changed = False
        for loop in _affine_loops(module):
            if _can_sink_below_reduction(loop):
                _interchange(loop)
                changed = True
                break
    interchange_transposing_copies(module)


def inline_scheduled_functions(module: ir.Module) -> int:
    """Functions the schedule inlines (``s.inline``: ``dsl.inline``, the HLS INLINE pragma) are always
    inlined by LLVM too. LLVM's own cost model kept the PE step a call per k step once its rows were
    unrolled, so the 16 x 16 accumulator tile went through memory on every step. Returns how many."""
    marked = 0
    for op in module.body.operations:
        if op.operation.name == "func.func" and "dsl.inline" in op.attributes and "dsl.top" not in op.attributes:
            op.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("alwaysinline")])
            marked += 1
    return marked


def _affine_loops(module):
    return [op.opview for op in walk_ops(module.operation) if op.name == "affine.for"]


def _body_ops(loop):
    return [op for op in loop.regions[0].blocks[0].operations if op.operation.name != "affine.yield"]


def _is_reduction(loop) -> bool:
    return "dsl.reduction" in loop.attributes


def _can_sink_below_reduction(outer) -> bool:
    """``outer`` is a loop whose whole body is one innermost reduction loop, with bounds independent of
    it, and whose iterations are independent (``cpu_deps``)."""
    if _is_reduction(outer) or outer.results:
        return False
    body = _body_ops(outer)
    if len(body) != 1 or body[0].operation.name != "affine.for":
        return False
    inner = body[0]
    if not _is_reduction(inner) or inner.results:
        return False
    if any(op.operation.name in ("affine.for", "scf.for", "scf.while", "func.call") for op in _walk_ops(inner)):
        return False
    outer_iv = outer.regions[0].blocks[0].arguments[0]
    if any(operand == outer_iv for operand in inner.operation.operands):
        return False
    return independent_iterations(outer, inner)


def _walk_ops(loop):
    for op in loop.regions[0].blocks[0].operations:
        yield op
        for region in op.operation.regions:
            for block in region:
                yield from block.operations


def _interchange(outer):
    """outer { inner { body } }  ->  inner' { outer' { body } }"""
    inner = _body_ops(outer)[0]
    with outer.location, ir.InsertionPoint(outer):
        new_outer = _clone_header(inner)
        with ir.InsertionPoint(new_outer.body):
            new_inner = _clone_header(outer)
            affine.AffineYieldOp([])
        with ir.InsertionPoint(new_inner.body):
            terminator = affine.AffineYieldOp([])
    for op in _body_ops(inner):
        op.operation.move_before(terminator)
    inner.regions[0].blocks[0].arguments[0].replace_all_uses_with(new_outer.induction_variable)
    outer.regions[0].blocks[0].arguments[0].replace_all_uses_with(new_inner.induction_variable)
    outer.operation.erase()


def _clone_header(loop):
    """A new affine.for with ``loop``'s bounds, step and attributes and an empty body."""
    attrs = loop.attributes
    n_lower = ir.AffineMapAttr(attrs["lowerBoundMap"]).value.n_inputs
    operands = list(loop.operation.operands)
    new = affine.AffineForOp(
        ir.AffineMapAttr(attrs["lowerBoundMap"]).value, ir.AffineMapAttr(attrs["upperBoundMap"]).value,
        ir.IntegerAttr(attrs["step"]).value,
        lower_bound_operands=operands[:n_lower], upper_bound_operands=operands[n_lower:])
    for name in [a if isinstance(a, str) else a.name for a in attrs]:
        if name not in ("lowerBoundMap", "upperBoundMap", "step", "operandSegmentSizes"):
            new.attributes[name] = attrs[name]
    return new


# -- integer division that cannot trap ----------------------------------------------------------------
# x86 raises SIGFPE on integer division by zero and on INT_MIN / -1, which would kill the whole Python
# process. On the CPU the dsl defines them instead, as numpy does: x / 0 == x % 0 == 0, and INT_MIN / -1
# wraps to INT_MIN (INT_MIN % -1 == 0). Hardware leaves division by zero undefined; the HLS code is
# emitted without these guards.
_DIVISIONS = {"arith.divsi": True, "arith.remsi": True, "arith.floordivsi": True, "arith.ceildivsi": True,
              "arith.divui": False, "arith.remui": False, "arith.ceildivui": False}


def guard_integer_division(module: ir.Module) -> None:
    from mlir.dialects import arith

    divisions = [op for op in walk_ops(module.operation) if op.name in _DIVISIONS]
    for op in divisions:
        lhs, rhs = op.operands[0], op.operands[1]
        with ir.InsertionPoint(op), op.location:
            zero = _constant(rhs.type, 0)
            one = _constant(rhs.type, 1)
            is_zero = arith.cmpi(arith.CmpIPredicate.eq, rhs, zero)
            unsafe = is_zero
            if _DIVISIONS[op.name] and _width(rhs.type) > 1:
                smallest = _constant(rhs.type, _min_signed(rhs.type))
                overflow = arith.andi(arith.cmpi(arith.CmpIPredicate.eq, lhs, smallest),
                                      arith.cmpi(arith.CmpIPredicate.eq, rhs, _constant(rhs.type, -1)))
                unsafe = arith.ori(is_zero, overflow)
            divisor = arith.select(unsafe, one, rhs)
        op.operands[1] = divisor
        with ir.InsertionPoint.after(op), op.location:
            guarded = arith.select(is_zero, zero, op.results[0])
        op.results[0].replace_all_uses_with(guarded)
        guarded.owner.operands[2] = op.results[0]  # the select itself must keep reading the division


def expand_wide_floor_division(module: ir.Module) -> None:
    """``arith.floordivsi`` wider than 64 bits as ``q - (r != 0 and sign(r) != sign(b))`` from divsi/remsi.
    Upstream ``arith-expand`` builds its -1 adjustment as the int64 -1 read unsigned, i.e. 2**64 - 1, so at
    i65..i512 a floor below an inexact negative quotient came out as q + 2**64 - 1 (1 // -7 gave 2**64 - 1)."""
    from mlir.dialects import arith

    for op in [op for op in walk_ops(module.operation) if op.name == "arith.floordivsi"]:
        t = op.results[0].type
        if _width(t) <= 64:
            continue
        lhs, rhs = op.operands[0], op.operands[1]
        with ir.InsertionPoint(op), op.location:
            quotient, remainder, zero = arith.divsi(lhs, rhs), arith.remsi(lhs, rhs), _constant(t, 0)
            inexact = arith.cmpi(arith.CmpIPredicate.ne, remainder, zero)
            signs_differ = arith.xori(arith.cmpi(arith.CmpIPredicate.slt, remainder, zero),
                                      arith.cmpi(arith.CmpIPredicate.slt, rhs, zero))
            floor = arith.subi(quotient, arith.extui(t, arith.andi(inexact, signs_differ)))
        op.results[0].replace_all_uses_with(floor)
        op.erase()


def _constant(t, value: int):
    """An integer constant of any width (the builder's int64 path cannot hold i65..i512 values)."""
    from mlir.dialects import arith

    return arith.constant(t, ir.Attribute.parse(f"{value} : {t}"))


def _width(t) -> int:
    return 64 if isinstance(t, ir.IndexType) else ir.IntegerType(t).width


def _min_signed(t) -> int:
    return -(1 << (_width(t) - 1))
