"""``range(lo, hi, step)`` with a step known only at run time (Allo allows it): a counted ``scf.for`` over
k = 0 .. trips - 1 with i = lo + k * step, where trips follows Python's rule for the step's sign at run time
(``ceil((hi - lo) / step)``, at least 0). A zero step, which Python refuses with a ValueError, runs no
iteration: it is a run-time value, and hardware has no exception to raise.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, scf

from . import builder
from .values import LoopVar


class DynamicStep:
    def __init__(self, node):
        self.node = node


def emit(fc, name, lo, hi, step: DynamicStep, attrs, body_fn):
    lo_v, hi_v = fc._bound_value(lo), fc._bound_value(hi)
    st = fc.as_index(fc.expr(step.node), step.node)
    zero, one = builder.index_const(0), builder.index_const(1)
    positive = arith.cmpi(arith.CmpIPredicate.sgt, st, zero)
    is_zero = arith.cmpi(arith.CmpIPredicate.eq, st, zero)
    span = arith.select(positive, arith.subi(hi_v, lo_v), arith.subi(lo_v, hi_v))
    magnitude = arith.select(positive, st, arith.subi(zero, st))
    trips = arith.ceildivsi(span, arith.select(is_zero, one, magnitude))
    trips = arith.maxsi(arith.select(is_zero, zero, trips), zero)
    loop = scf.ForOp(zero, trips, one)
    for key, value in attrs.items():
        loop.attributes[key] = value
    with ir.InsertionPoint(loop.body):
        i = arith.addi(lo_v, arith.muli(loop.induction_variable, st))
        fc.scopes.append({name: LoopVar(i, False, name)})
        try:
            body_fn()
        finally:
            fc.scopes.pop()
        scf.YieldOp([])
    return loop
