"""What the emitted loops tell Vitis beyond the schedule's own directives, and what they cannot achieve.

* A loop pipelined at II=1 whose iterations accumulate into the same float value (a reduction over the
  pipelined loop, ``C[i, j] += ...`` with ``k`` pipelined, or ``s += ...``) cannot start an iteration
  every cycle: the floating-point adder takes several cycles and the next iteration needs its result
  (UG1393 "Eliminate Loop-Carried Dependencies"; Vitis reports HLS 200-880). ``float_recurrence``
  finds it, and the emitter says so (a ``HLSQualityWarning`` and a comment).
* The innermost loops of a region's kernels are pipelined at II=1 unless the schedule says otherwise:
  a PE should take a token per cycle, and without the pragma it depends on Vitis's automatic pipelining
  of loops (a default of the tool's configuration, ``config_compile -pipeline_loops``).
* A loop whose bounds are not constants gets ``loop_tripcount`` (``tripcounts.py``).
"""
from __future__ import annotations

from mlir import ir

LOADS = ("affine.load", "memref.load")
STORES = ("affine.store", "memref.store")
LOOPS = ("affine.for", "scf.for")
FLOAT_OPS = ("arith.addf", "arith.subf", "arith.mulf", "arith.divf")


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
