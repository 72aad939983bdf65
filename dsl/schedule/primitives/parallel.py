"""parallel: Allo's primitive for a loop whose iterations run at the same time (one copy of the body per
iteration in hardware)."""
from __future__ import annotations

from .. import irutil as U
from .. import names as N
from ..registry import Param, primitive
from . import deps


@primitive(Param("loop", "loop"))
def parallel(ctx, loop):
    """Run the iterations of ``loop`` in parallel: checks that no dependence is carried from one iteration to
    another (integer accumulations and scalars private to an iteration excepted, as for reorder), then
    records ``dsl.parallel`` and a full unroll (``dsl.unroll = 0``: HLS builds one body per iteration). The
    CPU result is unchanged.

    Before: ``for i in range(8): B[i] = A[i] * 2``   After ``s.parallel("i")``: ``{dsl.parallel, dsl.unroll = 0}``
    Refused: ``for i in range(8): A[i + 1] = A[i] + 1`` (iteration i + 1 reads what iteration i wrote).
    """
    op = ctx.loop(loop)
    if op.name != "affine.for" or U.const_bounds(op) is None:
        raise ctx.error("loop", f"parallel needs an affine loop with constant bounds; '{loop}' is not one",
                        ", ".join(N.qualified(lp) for lp in N.loops_of(U.parent_op(op) or op)
                                  if lp.name == "affine.for" and U.const_bounds(lp) is not None) or None)
    found = deps.carried(op)
    if found is not None:
        mem, dist = found
        what = mem if isinstance(mem, str) else f"buffer '{_name(mem)}'"
        raise ctx.error("loop", f"iterations of '{loop}' depend on each other through {what} (distance "
                                f"{dist[0]}, * = any): they cannot run in parallel", None)
    U.set_unit(op, "dsl.parallel")
    U.set_i32(op, "dsl.unroll", 0)


def _name(mem) -> str:
    owner = mem.owner
    if hasattr(owner, "arguments") and owner.owner.operation.name == "func.func":  # an argument
        names = N.arg_names(owner.owner.operation)
        return names[mem.arg_number] if mem.arg_number < len(names) else "?"
    if hasattr(owner, "operation") and "dsl.name" in owner.operation.attributes:
        return U.str_attr(owner.operation, "dsl.name")
    return "?"
