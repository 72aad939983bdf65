"""Buffers that share a callee share its interface: what ``partition`` may do to the others.

Vitis builds one hardware function per C++ function, with one interface: an array argument partitioned in
the callee is partitioned the same way in every caller that passes an array to it (UG1399, array_partition:
the partitioning of an array argument must match across the call). So ``partition`` gives the same layout
to every buffer connected through calls and views (``buffers._connected``). Two rules keep that honest:

* A layout carried to a buffer that already has one implying it (``complete`` on every dimension implies
  ``complete`` on dimension 2) leaves it alone. Before, the carried per-dimension entry replaced the
  broader one: the second caller's ``complete`` weight block left the first caller's partitioned on one
  dimension only (the first PE array then ran at II=3 on its block's ports).
* A layout carried to another caller's buffer that the schedule partitioned *differently* itself is
  refused (``ScheduleError`` naming the shared callee, both buffers and both layouts), not silently
  overwritten (before, the last ``partition`` won for both). Partition them alike, or give each caller
  its own callee (an instance of its own: another template argument, or a copy of the function).
"""
from __future__ import annotations

from mlir import ir

from ...errors import ScheduleError
from .. import names as N


def implied(entries, entry) -> bool:
    """Whether partition ``entries`` already give ``entry`` = (kind, dim, factor) (dim 0: every dimension)."""
    kind, dim, factor = entry
    return any((k, f) == (kind, factor) and d in (dim, 0) for k, d, f in entries)


def conflict(entries, entry):
    """An entry of ``entries`` that lays out a dimension ``entry`` covers differently, or None."""
    kind, dim, factor = entry
    for k, d, f in entries:
        if (k, f) != (kind, factor) and (d == dim or d == 0 or dim == 0):
            return k, d, f
    return None


def explicit(ctx, entries_of) -> dict:
    """Buffer value -> the partition entries the schedule's own ``partition`` steps gave it (in order), also
    those of the sub-schedules it composed."""
    out, resolved = {}, {}
    for func, args in _partition_steps(ctx.sched.trace, ctx.sched.top):
        key = (func, args["buffer"])
        if key not in resolved:
            resolved[key] = _resolve(ctx, func, args["buffer"])
        value = resolved[key]
        if value is not None:
            out[value] = entries_of(out.get(value, []), (args["kind"], args["dim"], args["factor"]))
    return out


def _partition_steps(steps, func):
    """(function names default to, args) of every partition step, in order, through ``compose`` steps (which
    replay a callee's steps on it, or on its instance ``<kernel>_<id>``)."""
    for step in steps:
        args = step["args"]
        if step["primitive"] == "partition":
            yield func, args
        elif step["primitive"] == "compose":
            sub = args["sub_schedule"]
            target = sub["kernel"] if args.get("id") is None else f"{sub['kernel']}_{args['id']}"
            yield from _partition_steps(sub["steps"], target)


def _resolve(ctx, default_func, path):
    func, name = N.split_func(ctx.module, path, default_func)
    funcs = N.funcs(ctx.module)
    if func not in funcs:
        return None
    buf = N.buffers_of(funcs[func], func).get(name)
    return None if buf is None else buf.value  # None: a buffer a later rewrite removed


def check(ctx, buf, targets, entries_of):
    """Refuse when an entry carried to another buffer (``targets``: (value, entry) pairs) conflicts with a
    partition the schedule gave that buffer itself."""
    others = [(v, e) for v, e in targets if v != buf.value and not _is_callee_arg(ctx, v)]
    given = explicit(ctx, entries_of) if others else {}
    for value, entry in others:
        found = conflict(given.get(value, []), entry)
        if found is None:
            continue
        callees = sorted({_func_name(v) for v, _ in targets if _is_callee_arg(ctx, v)})
        mine = _describe(entry)
        raise ctx.error("buffer", f"'{N.buffer_path(buf, ctx.sched.top)}' and '{_path(ctx, value)}' are both "
                                  f"passed to {', '.join(repr(c) for c in callees) or 'a shared callee'}, which "
                                  f"Vitis builds as one function with one interface, so both must be partitioned "
                                  f"alike: '{_path(ctx, value)}' is partitioned {_describe(found)}, this step "
                                  f"would make it {mine}",
                        f"the same partition for both (here: {_describe(found)}), or a callee of its own for each "
                        "caller (another instance or a copy of the function)")


def _describe(entry) -> str:
    kind, dim, factor = entry
    where = "on every dimension" if dim == 0 else f"on dimension {dim}"
    return f"{kind}{f' factor {factor}' if kind != 'complete' else ''} {where}"


def _is_callee_arg(ctx, value) -> bool:
    if not isinstance(value, ir.BlockArgument):
        return False
    return _func_name(value) != ctx.sched.top


def _func_name(value) -> str:
    owner = value.owner if isinstance(value, ir.BlockArgument) else value.owner.operation
    op = owner.owner.operation if isinstance(value, ir.BlockArgument) else owner
    while op.name != "func.func":
        op = op.parent
    return ir.StringAttr(op.attributes["sym_name"]).value


def _path(ctx, value) -> str:
    func = _func_name(value)
    for name, b in N.buffers_of(N.funcs(ctx.module)[func], func).items():
        if b.value == value:
            return N.buffer_path(b, ctx.sched.top)
    return f"{func}:<buffer>"
