"""Dataflow primitives: to (streams), dataflow and inline (directives), unfold (PE arrays), compose."""
from __future__ import annotations

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
    ``depth`` elements (default 2): records ``dsl.stream_depth`` on the buffer; the CPU result is unchanged.

    Before: ``Y: float32[16]; producer(X, Y); consumer(Y, Z)``
    After ``s.to(s.Y, "consumer", depth=4)``: ``%Y = memref.alloc() {dsl.stream_depth = 4 : i32, ...}``
    """
    buf = ctx.buffer(buffer)
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
    U.set_i32(buf.op, "dsl.stream_depth", 2 if depth is None else depth)


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
    """Replicate the body of the band's outer loops ``axes`` once per iteration (explicit PE arrays): each
    copy is a separate piece of hardware; copied bands are named ``<band>_<i>_<j>``.

    Before::                               After ``s.unfold("PE", ["i", "j"])`` (2 x 2)::

        for i, j in dsl.grid(2, 2, name="PE"):     for k: ... i=0, j=0 ...   # band PE_0_0
            for k in range(8): ...                 for k: ... i=0, j=1 ...   # band PE_0_1  (and so on)
    """
    top = ctx.loop(band, "band")
    chain = [top]
    while len(chain) < len(axes) and U.perfect_child(chain[-1]) is not None:
        chain.append(U.perfect_child(chain[-1]))
    names = [U.str_attr(lp, "loop_name") for lp in chain]
    if names != list(axes):
        nest = [top]
        while U.perfect_child(nest[-1]) is not None:
            nest.append(U.perfect_child(nest[-1]))
        raise ctx.error("axes", f"{list(axes)} must be the outermost perfectly nested loops of the band, in order",
                        "a prefix of " + " -> ".join(U.str_attr(lp, "loop_name") for lp in nest))
    if any(U.const_bounds(lp) is None for lp in chain):
        raise ctx.error("axes", "unfold needs spatial loops with constant bounds", None)
    base = N.band_of(top) or U.str_attr(top, "loop_name")
    work = [(top, ())]
    for depth in range(len(chain)):
        nxt = []
        for loop, idx in work:
            lb, ub, step = U.const_bounds(loop)
            for v in range(lb, ub, step):
                ops = _peel(loop, v)
                label = idx + (v,)
                if depth + 1 < len(chain):
                    nxt.append((next(o for o in ops if o.name == "affine.for"), label))
                else:
                    _label(ops, base + "_" + "_".join(map(str, label)))
            loop.erase()
        work = nxt


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
