"""Dataflow primitives: to (streams), dataflow and inline (directives), unfold (PE arrays), compose."""
from __future__ import annotations

import re

from mlir import ir

from .. import irutil as U
from .. import names as N
from ..registry import Param, apply, primitive


def _callee(op):
    return ir.FlatSymbolRefAttr(op.attributes["callee"]).value


def _users(value):
    return [u.owner.operation if hasattr(u.owner, "operation") else u.owner for u in value.uses]


@primitive(Param("buffer", "buffer"), Param("consumer", "func"), Param("depth", "opt_pos_int", None))
def to(ctx, buffer, consumer, depth):
    """Turn a local buffer that one kernel call writes and ``consumer`` reads into a FIFO stream of
    ``depth`` elements: records ``dsl.stream_depth`` on the buffer; the CPU result is unchanged. The
    default depth is the buffer's element count, as in Allo: the producer can never block on a full
    FIFO, whatever order the consumer reads in; give a smaller depth to save memory.

    ``consumer`` may also be a loop nest (a band) of the function that declares the buffer: that nest and
    the nests that write the buffer become processes (each outlined into a function ``<func>_<band>``,
    called where it was) and the function a dataflow region, since a stream connects concurrent processes.

    Before: ``Y: float32[16]; producer(X, Y); consumer(Y, Z)``
    After ``s.to(s.Y, "consumer", depth=4)``: ``%Y = memref.alloc() {dsl.stream_depth = 4 : i32, ...}``
    """
    buf = ctx.buffer(buffer)
    if consumer not in N.funcs(ctx.module) and buf.kind == "alloc":
        consumer = _nests_to_processes(ctx, buf, consumer)
    if buf.kind != "alloc":
        passed = [n for n, b in N.buffers_of(buf.func_op, buf.func).items() if b.kind == "alloc"
                  and any(u.name == "func.call" for u in _users(b.value))]
        raise ctx.error("buffer", f"'{buf.name}' is a function argument; streams connect kernels through a "
                                  "local buffer", ", ".join(passed) or "(no local buffer is passed to a kernel)")
    calls = [u for u in _users(buf.value) if u.name == "func.call"]
    readers = [_callee(c) for c in calls if not _writes(ctx.module, c, buf.value)]
    if consumer not in readers:
        what = "is written, not read, by" if consumer in map(_callee, calls) else "is not passed to a call of"
        raise ctx.error("consumer", f"'{buf.name}' {what} '{consumer}'; the consumer is a kernel that reads it",
                        ", ".join(dict.fromkeys(readers)) or "(no kernel reads it)")
    if len(calls) < 2:
        raise ctx.error("buffer", f"'{buf.name}' is passed only to '{consumer}'; a stream needs a producer "
                                  "kernel call too", None)
    U.set_i32(buf.op, "dsl.stream_depth", _elements(buf.shape) if depth is None else depth)


def _elements(shape) -> int:
    n = 1
    for extent in shape:
        n *= extent
    return n


def _nests_to_processes(ctx, buf, band) -> str:
    """``to(buf, "<band>")`` inside one function: outline the nest ``band`` and the nests writing ``buf``."""
    from ...errors import ScheduleError
    from .outline import outline, top_level

    func_op = buf.func_op
    entry = func_op.regions[0].blocks[0]
    outlined = f"{buf.func}_{band}"
    if outlined in N.funcs(ctx.module):  # the nest became a process in an earlier to()
        _outline_producers(ctx, buf, func_op, entry, None)
        return outlined
    try:
        loop = ctx.loop(band if buf.func == ctx.func else f"{buf.func}:{band}", "consumer")
    except ScheduleError:
        calls = {_callee(c) for c in _users(buf.value) if c.name == "func.call"}
        nests = [N.band_of(op) for op in U.block_ops(func_op.regions[0].blocks[0]) if U.is_loop(op)]
        raise ctx.error("consumer", f"no kernel or loop nest named '{band}' reads '{buf.name}'",
                        ", ".join(sorted(calls) + [n for n in nests if n]) or None) from None
    consumer = top_level(loop, func_op)
    if not _touches(consumer, buf, ("affine.load",)):
        raise ctx.error("consumer", f"loop nest '{band}' does not read '{buf.name}'", None)
    _outline_producers(ctx, buf, func_op, entry, consumer)
    return outline(ctx, consumer, func_op, f"{buf.func}_{N.band_of(consumer) or band}")


def _touches(op, buf, kinds) -> bool:
    return any(U.access_memref(o) == buf.value for o in U.collect(op, lambda o: o.name in kinds))


def _outline_producers(ctx, buf, func_op, entry, consumer):
    """The nests writing ``buf`` become processes (a producer outlined by an earlier to() is a call already);
    the function becomes a dataflow region."""
    from .outline import outline

    producers = [op for op in U.block_ops(entry) if U.is_loop(op) and not U.same_op(op, consumer)
                 and _touches(op, buf, ("affine.store",))]
    already = [c for c in _users(buf.value) if c.name == "func.call" and _writes(ctx.module, c, buf.value)]
    if not producers and not already:
        raise ctx.error("buffer", f"no other loop nest of '{buf.func}' writes '{buf.name}'", None)
    for nest in producers:
        outline(ctx, nest, func_op, f"{buf.func}_{N.band_of(nest) or 'nest'}")
    U.set_unit(func_op, "dsl.dataflow")


def _writes(module, call, value) -> bool:
    """Whether the kernel called by ``call`` stores into the argument that receives ``value``."""
    callee = N.funcs(module).get(_callee(call))
    if callee is None or not callee.regions[0].blocks:
        return False
    args = list(callee.regions[0].blocks[0].arguments)
    for pos, operand in enumerate(call.operands):
        if operand == value and any(u.name in ("affine.store", "memref.store") and u.operands[1] == args[pos]
                                    for u in _users(args[pos])):
            return True
    return False


@primitive(Param("target", "target"))
def dataflow(ctx, target):
    """Mark a function or loop as an HLS dataflow region (``dsl.dataflow``); the CPU result is unchanged.

    Before: ``func.func @top(...)``   After ``s.dataflow("top")``: ``func.func @top(...) attributes {dsl.dataflow}``
    """
    fs = N.funcs(ctx.module)
    op = fs.get(target)
    if op is None:
        try:
            op = ctx.loop(target, "target")
        except Exception:
            loops = [f"{'' if f == ctx.func else f + ':'}{N.qualified(lp)}" for f, fop in fs.items()
                     for lp in N.loops_of(fop)]
            raise ctx.error("target", f"no function or loop '{target}'", ", ".join(list(fs) + loops)) from None
    U.set_unit(op, "dsl.dataflow")


@primitive(Param("func", "func"))
def inline(ctx, func):
    """Ask HLS to inline function ``func`` (``dsl.inline``); the CPU result is unchanged.

    Before: ``func.func private @relu(...)``   After ``s.inline("relu")``: ``... attributes {dsl.inline}``
    """
    op = ctx.func_op(func)
    if func == ctx.sched.top:
        raise ctx.error("func", "the top function cannot be inlined", ", ".join(f for f in N.funcs(ctx.module)
                                                                                if f != ctx.sched.top))
    U.set_unit(op, "dsl.inline")


def _peel(loop, value: int):
    """Run ``loop``'s body once for iteration ``value`` in front of ``loop``; returns the copied ops."""
    copy = loop.clone(ip=ir.InsertionPoint(loop)).operation
    const = U.constant_index(value, ir.InsertionPoint(copy), loop.location)
    U.iv(copy).replace_all_uses_with(const)
    ops = U.body_ops(copy)
    for op in ops:
        op.move_before(copy)
    copy.erase()
    return ops


@primitive(Param("band", "loop"), Param("axes", "axes"), cleanup=True)
def unfold(ctx, band, axes):
    """Replicate the body of the band's loops ``axes`` once per iteration (explicit PE arrays): each copy is a
    separate piece of hardware; copied bands are named ``<band>_<i>_<j>``. ``axes`` are loop names or
    positions in the band (0 = its outermost loop), outermost first; they need not be a prefix (unfolding
    only ``j`` keeps the ``i`` loop around the copies) and the nest need not be perfect (copy loops that
    ``buffer_at`` inserted are copied along).

    Before::                               After ``s.unfold("PE", ["i", "j"])`` (or ``[0, 1]``) (2 x 2)::

        for i, j in dsl.grid(2, 2, name="PE"):     for k: ... i=0, j=0 ...   # band PE_0_0
            for k in range(8): ...                 for k: ... i=0, j=1 ...   # band PE_0_1  (and so on)
    """
    top = ctx.loop(band, "band")
    nest = _band_chain(top)
    names = [U.str_attr(lp, "loop_name") for lp in nest]
    chosen = []
    for axis in axes:
        pos = int(axis) if str(axis).isdigit() else (names.index(axis) if axis in names else None)
        if pos is None or pos >= len(nest):
            raise ctx.error("axes", f"{axis!r} is no loop of the band", "loop names or positions of "
                            + " -> ".join(f"{n} ({k})" for k, n in enumerate(names)))
        chosen.append(pos)
    if chosen != sorted(set(chosen)):
        raise ctx.error("axes", f"{list(axes)} must be distinct loops of the band, outermost first",
                        " -> ".join(names))
    if any(U.const_bounds(nest[p]) is None for p in chosen):
        raise ctx.error("axes", "unfold needs spatial loops with constant bounds", None)
    base = N.band_of(top) or U.str_attr(top, "loop_name")
    work = [(nest[chosen[0]], ())]
    for depth, pos in enumerate(chosen):
        nxt = []
        for loop, idx in work:
            lb, ub, step = U.const_bounds(loop)
            for v in range(lb, ub, step):
                ops = _peel(loop, v)
                label = idx + (v,)
                if depth + 1 < len(chosen):
                    want = names[chosen[depth + 1]]
                    nxt.append((next(lp for o in ops for lp in U.collect(o, U.is_loop)
                                     if U.str_attr(lp, "loop_name") == want), label))
                else:
                    _label(ops, base + "_" + "_".join(map(str, label)))
            loop.erase()
        work = nxt


_COPY_LOOP = re.compile(r".*_(buf_init|buf_back|fill|shift|load)_\d+$")


def _band_chain(top) -> list:
    """The band's loops from ``top`` down: each level's one child loop that a primitive did not insert
    (the copy loops of buffer_at / reuse_at are passed over)."""
    chain = [top]
    while True:
        children = [o for o in U.block_ops(U.body(chain[-1])) if U.is_loop(o) and "op_name" not in o.attributes]
        own = [c for c in children if not _COPY_LOOP.match(U.str_attr(c, "loop_name") or "")]
        if len(own) != 1:
            return chain
        chain.append(own[0])


def _label(ops, name):
    for op in ops:
        if U.is_loop(op):
            U.set_str(op, "op_name", name)
        elif op.name != "arith.constant":
            U.set_str(op, "dsl.unfold", name)


@primitive(Param("sub_schedule", "schedule"), Param("id", "opt_str", None))
def compose(ctx, sub_schedule, id):
    """Replay a callee's schedule (a Schedule of that kernel, or its trace) onto the callee in this design.
    With ``id``, only the call sites carrying ``dsl.id = "<id>"`` (or, when no call site has ids, the
    ``id``-th call in program order) get it, on their own copy of the callee named ``<kernel>_<id>``.

    Before: ``call @gemm(...)`` twice, sub-schedule ``split(i, 4)``
    After ``s.compose(s_gemm, id="0")``: the first call goes to ``@gemm_0``, whose i loop is split.
    """
    kernel = sub_schedule["kernel"]
    if id is not None and f"{kernel}_{id}" in N.funcs(ctx.module):  # kernel[..., "id"]: its own instance
        target = f"{kernel}_{id}"
    else:
        ctx.func_op(kernel, "sub_schedule")
        target = kernel if id is None else _instance(ctx, kernel, id)
    for number, step in enumerate(sub_schedule["steps"], start=1):
        apply(ctx.sched, step["primitive"], step["args"], func=target, record=False,
              where=f"compose({kernel}{'' if id is None else ', id=' + id}): step {number} ({step['primitive']}): ")


def _instance(ctx, kernel, id):
    def ours(c):
        cid = U.str_attr(c, "dsl.id")
        return _callee(c) == kernel or (cid is not None and _callee(c) == f"{kernel}_{cid}")

    calls = [c for c in U.collect(ctx.module.operation, lambda o: o.name == "func.call") if ours(c)]
    if not any("dsl.id" in c.attributes for c in calls):
        for k, c in enumerate(calls):  # no ids from the frontend: call sites are numbered in program order
            U.set_str(c, "dsl.id", str(k))
    chosen = [c for c in calls if U.str_attr(c, "dsl.id") == id]
    if not chosen:
        valid = ", ".join(sorted({U.str_attr(c, "dsl.id") for c in calls if "dsl.id" in c.attributes}))
        raise ctx.error("id", f"no call of '{kernel}' has instance id '{id}'", valid or "(no calls)")
    name = f"{kernel}_{id}"
    funcs = N.funcs(ctx.module)
    if name not in funcs:
        clone = funcs[kernel].clone(ip=ir.InsertionPoint(funcs[kernel])).operation
        U.set_str(clone, "sym_name", name)
        U.del_attr(clone, "dsl.top")
    for c in chosen:
        c.attributes["callee"] = ir.FlatSymbolRefAttr.get(name)
    return name
