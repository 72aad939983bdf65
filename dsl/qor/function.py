"""Latency, interval, loops and resources of one function instance (a function with the memories its caller
gives it). Sequential code runs its statements one after another: straight-line ops are scheduled together,
each loop and call takes its own latency. Dataflow functions are rolled up in ``dataflow.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import body as B
from . import loops as L
from . import memory as M
from .model import Call, If, Loop, Op, evaluate
from .report import Limit, LoopEstimate

COST_KINDS = ("DSP", "BRAM18K", "URAM", "LUT", "FF")


@dataclass
class Block:
    """The result of running a list of items once: latency and, per memory, the first and last cycle it is
    accessed (for streams: when a consumer may start, how long a producer keeps feeding it)."""

    latency: int = 0
    first: dict = field(default_factory=dict)  # id(memory) -> cycle
    last: dict = field(default_factory=dict)

    def then(self, other: "Block", repeat: int = 1, step: int | None = None) -> None:
        """Append ``other`` run ``repeat`` times, ``step`` cycles apart (default: its latency)."""
        step = other.latency if step is None else step
        if repeat <= 0:  # a loop that runs no iteration accesses nothing (its streams' times stay as they are)
            return
        for m, t in other.first.items():
            self.first.setdefault(m, self.latency + t)
        for m, t in other.last.items():
            self.last[m] = self.latency + (repeat - 1) * step + t
        self.latency += (repeat - 1) * step + other.latency


class FunctionContext:
    """Everything one function instance needs: tables, its memories, the estimator for callees."""

    def __init__(self, estimator, func, memories: dict, label: str):
        self.estimator = estimator
        self.func = func
        self.tables = estimator.tables
        self.device = estimator.device
        self.memories = memories
        self.label = label
        self.env: dict = {}
        self.costs = {k: 0.0 for k in COST_KINDS}
        self.loops: list = []
        self.callees: list = []

    def note(self, text: str):
        self.estimator.note(text)

    def channel_bits_per_cycle(self, memory: M.Memory) -> float:
        return self.estimator.channel_bits_per_cycle(memory)

    def call_latency(self, call: Call) -> int:
        est = self.callee(call)
        return (est.latency or 0) + (0 if est.inline else int(self.tables.control("call_cycles")))

    def call_interval(self, call: Call) -> int:
        est = self.callee(call)
        return est.interval or 1

    def callee(self, call: Call):
        from .fold import call_values

        memories = tuple(self.memories.get(v) for v in call.operands)
        est = self.estimator.function(call.callee, memories, self.func.name, call_values(call, self.func, self.env))
        if est.name not in self.callees:
            self.callees.append(est.name)
            for k in COST_KINDS:
                self.costs[k] += est.costs.get(k, 0)
        return est

    def trip(self, loop: Loop) -> int | None:
        """The loop's trip count: the user's ``tripcount`` for it when given (as Vitis's loop_tripcount
        pragma; by ``"band:loop"`` or ``"func:band:loop"``), else what its bounds give, else the average of the
        loop's own ``dsl.tripcount`` (``s.tripcount`` / ``dsl.loop_tripcount``: Vitis reports a variable loop
        by its loop_tripcount, UG1399)."""
        given = self.estimator.tripcount
        for name in (self.key(loop), loop.key):
            if name in given:
                return given[name]
        trip = loop.trip_at(self.env) if loop.key != "while" else None
        if trip is None and loop.tripcount is not None:
            return loop.tripcount[2]  # the loop's own loop_tripcount: its avg, as Vitis's latency report
        return trip

    def key(self, loop: Loop) -> str:
        return loop.key if self.label == self.estimator.top else f"{self.label}:{loop.key}"


# -- blocks ----------------------------------------------------------------------------------------------
def run_block(items: list, ctx: FunctionContext) -> Block:
    out, segment = Block(), []
    for item in items:
        if isinstance(item, Op) or (isinstance(item, If) and not _has_structure(item)):
            segment.append(item)
            continue
        if isinstance(item, Loop) and item.unroll == 0 and not L.has_inner_loops(item) and item.key != "while":
            segment.append(item)  # fully unrolled straight-line code joins the segment
            _record_unrolled([item], ctx)
            continue
        out.then(run_segment(segment, ctx))
        segment = []
        if isinstance(item, Loop):
            out.then(run_loop(item, ctx))
        elif isinstance(item, Call):
            out.then(run_call(item, ctx))
        elif isinstance(item, If):
            branches = [run_block(item.then, ctx), run_block(item.other, ctx)]
            longest = max(branches, key=lambda b: b.latency)
            longest.latency += 1
            out.then(longest)
    out.then(run_segment(segment, ctx))
    return out


def _has_structure(item: If) -> bool:
    def walk(items):
        return any(isinstance(i, (Loop, Call)) or (isinstance(i, If) and walk(i.then + i.other)) for i in items)
    return walk(item.then + item.other)


def run_segment(items: list, ctx: FunctionContext) -> Block:
    """Straight-line code: every op scheduled as soon as its inputs are ready (a few states)."""
    if not any(isinstance(i, (If, Loop)) or (isinstance(i, Op) and i.cls not in ("free", "yield")) for i in items):
        return Block()
    exp = expand(items, ctx)
    depth = B.schedule(exp, ctx)
    add_op_costs(exp.insts, ctx, share=None)
    block = Block(depth)
    _stream_times(exp.insts, block, 0)
    return block


def expand(items, ctx, carried=None, scope=None):
    try:
        return B.Expander(ctx, ctx.env).run(items, scope or B.Scope(), carried)
    except B.TooLarge:
        ctx.note(f"a body in {ctx.label} unrolls to more than {B.MAX_COPIES} op copies; it is estimated as one "
                 "copy (reduce the unrolling or estimate a smaller size)")
        return B.Expansion()


def _stream_times(insts, block: Block, offset: int, ii: int = 0, trip: int = 1):
    for inst in insts:
        m = inst.memory
        if m is None or m.kind not in ("stream", "axis", "maxi") or inst.cls not in ("load", "store"):
            continue
        first = offset + inst.start
        last = offset + (trip - 1) * ii + inst.start
        block.first[id(m)] = min(block.first.get(id(m), first), first)
        block.last[id(m)] = max(block.last.get(id(m), last), last)


def run_call(call: Call, ctx: FunctionContext) -> Block:
    est = ctx.callee(call)
    overhead = 0 if est.inline else int(ctx.tables.control("call_cycles"))
    block = Block((est.latency or 0) + overhead)
    for pos, v in enumerate(call.operands):
        m = ctx.memories.get(v)
        if m is not None and pos in est.stream_first:
            block.first[id(m)] = est.stream_first[pos]
            block.last[id(m)] = est.stream_last[pos]
    return block


# -- loops -----------------------------------------------------------------------------------------------
def run_loop(loop: Loop, ctx: FunctionContext) -> Block:
    if loop.key == "while":
        trip = ctx.trip(loop)
        if trip is None:
            ctx.note(f"{ctx.label}: a while loop has no trip count; its body is counted once")
            return run_block(loop.body, ctx)
        body, block = run_block(loop.body, ctx), Block()
        block.then(body, repeat=trip)  # the body once per iteration of the user's loop_tripcount
        return block if trip else Block(1)
    pipelined, chain, auto = L.find_pipeline(loop)
    if pipelined is None:
        return run_sequential(loop, ctx)
    flat = L.flatten_chain(chain, ctx)
    outer = chain[:len(chain) - len(flat)]
    if outer:
        return run_sequential(outer[0], ctx)  # the loops above the flattened nest stay sequential
    return run_pipelined(pipelined, flat, auto, ctx)


def _trip(loop: Loop, ctx) -> int | None:
    trip = ctx.trip(loop)
    if trip is None:
        ctx.note(f"{ctx.label}: loop {loop.key} has an unknown trip count; it is counted as one iteration")
    return trip


def _midpoint(loop: Loop, trip: int, ctx) -> int:
    lower = loop.lower_at(ctx.env) or 0
    return lower + loop.step * ((trip - 1) // 2 if trip else 0)


def run_sequential(loop: Loop, ctx: FunctionContext) -> Block:
    trip = _trip(loop, ctx)
    count = trip if trip is not None else 1
    factor = loop.unroll if loop.unroll and loop.unroll > 1 else 1
    iterations = math.ceil(count / factor) if factor > 1 else count
    ctx.env[loop.iv] = _midpoint(loop, count, ctx)
    body = run_block(loop.body, ctx)
    ctx.env.pop(loop.iv, None)
    exit_cycles = int(ctx.tables.control("loop_exit_cycles"))
    iteration = Block(body.latency * factor + exit_cycles, body.first, body.last)
    block = Block()
    block.then(iteration, repeat=iterations)
    if iterations == 0:
        block.latency = 1
    ctx.costs["LUT"] += ctx.tables.control("loop_lut")
    ctx.costs["FF"] += ctx.tables.control("loop_ff")
    ctx.loops.append(LoopEstimate(ctx.key(loop), ctx.label, trip, False, None, None, "", iteration.latency,
                                  block.latency if trip is not None else None, unroll=loop.unroll,
                                  mode="sequential", line=loop.line))
    _record_unrolled(loop.body, ctx)
    return block


def _record_unrolled(items, ctx, inside: str = ""):
    for item in items:
        if isinstance(item, Loop) and (item.unroll == 0 or inside):
            ctx.loops.append(LoopEstimate(ctx.key(item), ctx.label, item.trip_at(ctx.env), False, None, None,
                                          f"unrolled inside {inside}" if inside else "fully unrolled", None,
                                          None, unroll=0, mode="unrolled", line=item.line))
            _record_unrolled(item.body, ctx, inside)
        elif isinstance(item, If):
            _record_unrolled(item.then + item.other, ctx, inside)


def run_pipelined(loop: Loop, flat: list, auto: bool, ctx: FunctionContext) -> Block:
    trips = [_trip(l, ctx) for l in flat]
    factor = loop.unroll if loop.unroll and loop.unroll > 1 else 1
    total = 1
    for t in trips:
        total *= t if t is not None else 1
    if factor > 1:
        total = math.ceil(total / factor)
    exp = _expand_pipelined(loop, factor, ctx)
    depth = B.schedule(exp, ctx)
    target = loop.pipeline_ii or 1
    limits = [Limit(target, "requested", f"requested II={target}" if not auto else "automatic pipelining (II=1)")]
    limits += L.port_limits(exp.insts, ctx)
    limits += [Limit(max(1, ctx.call_interval(inst.op)), "call", f"calls {inst.op.callee}, which accepts a "
                     f"new call every {ctx.call_interval(inst.op)} cycles", inst.op.callee)
               for inst in exp.insts if inst.cls == "call" and ctx.call_interval(inst.op) > 1]
    limits += L.recurrence_limits(exp, loop, flat, ctx)
    ii = max(l.ii for l in limits)
    binding = [l for l in limits if l.ii == ii and l.kind != "requested"]
    reason = "; ".join(l.reason for l in binding) if ii > target else ""
    latency = (total - 1) * ii + depth if total > 0 else 1
    add_op_costs(exp.insts, ctx, share=ii)
    ctx.costs["LUT"] += ctx.tables.control("loop_lut")
    ctx.costs["FF"] += ctx.tables.control("loop_ff")
    for note in exp.notes:
        ctx.note(f"{ctx.label}: {note}")
    names = [ctx.key(l) for l in flat[:-1]]
    ctx.loops.append(LoopEstimate(ctx.key(loop), ctx.label, total if all(t is not None for t in trips) else None,
                                  True, ii, target, reason, depth, latency, auto=auto, flattened=names,
                                  unroll=loop.unroll, mode="pipelined",
                                  limits=sorted([l for l in limits if l.ii >= target], key=lambda l: -l.ii),
                                  line=loop.line))
    for outer in flat[:-1]:
        ctx.loops.append(LoopEstimate(ctx.key(outer), ctx.label, ctx.trip(outer), False, None, None,
                                      f"flattened into {ctx.key(loop)}", None, None, mode="flattened",
                                      line=outer.line))
    _record_unrolled(loop.body, ctx, inside=ctx.key(loop))
    block = Block(latency)
    if total > 0:  # a loop that runs no iteration accesses nothing
        _stream_times(exp.insts, block, 0, ii, total)
    return block


def _expand_pipelined(loop: Loop, factor: int, ctx):
    """The body of a pipelined loop with every inner loop unrolled (and ``factor`` copies of itself when it is
    also partially unrolled: copy r runs iteration factor * k + r, its loop variable lower + step * (factor *
    k + r), with k the loop variable of the unrolled loop)."""
    if factor <= 1:
        return expand(loop.body, ctx, carried=loop.carried)
    expander = B.Expander(ctx, ctx.env)
    lower = loop.lower_at(ctx.env) or 0
    try:
        for r in range(factor):
            expander.subst[loop.iv] = ({loop.iv: loop.step * factor}, lower + loop.step * r)
            expander.items(loop.body, B.Scope(), [], top=False)
    except B.TooLarge:
        ctx.note(f"{ctx.label}: loop {loop.key} unrolls to too many copies; estimated as one copy")
    return expander.out


# -- resources -------------------------------------------------------------------------------------------
def add_op_costs(insts, ctx: FunctionContext, share: int | None):
    """DSP/LUT/FF of the op copies; a pipelined loop at II shares each unit between II copies, straight-line
    code between copies that start in different cycles."""
    groups: dict = {}
    calls: dict = {}
    for inst in insts:
        if inst.cls == "call":
            calls.setdefault(inst.op.callee, []).append(inst)
        if inst.forwarded or inst.cls in ("free", "yield", "load", "store", "call"):
            continue
        cost = op_cost(inst, ctx)
        if not any(cost.values()):
            continue
        key = (inst.cls, tuple(sorted(cost.items())))
        groups.setdefault(key, []).append(inst)
    for (_cls, cost), members in groups.items():
        if share:
            units = math.ceil(len(members) / share)
        else:
            per_cycle: dict = {}
            for m in members:
                per_cycle[m.start] = per_cycle.get(m.start, 0) + 1
            units = max(per_cycle.values())
        for kind, value in cost:
            ctx.costs[kind] += value * units
    for members in calls.values():  # unrolled copies of a call: one instance each (II shares them)
        units = math.ceil(len(members) / share) if share else max(
            sum(1 for m in members if m.start == t) for t in {m.start for m in members})
        callee = ctx.callee(members[0].op)
        for kind in COST_KINDS:
            ctx.costs[kind] += callee.costs.get(kind, 0) * (units - 1)
    ff = sum(inst.op.bits * inst.latency for inst in insts
             if inst.latency and inst.cls not in ("load", "store", "call", "free"))
    ctx.costs["FF"] += ff / (share or 1)


def op_cost(inst, ctx) -> dict:
    t = ctx.tables
    op = inst.op
    cls = inst.cls
    if cls == "imul":
        dsp = B.dsp_slices(op, t)
        if B.timing(inst, ctx) == (0, 0.0) and not dsp:
            return {}
        if dsp:
            return {"DSP": dsp, "FF": op.bits * t.op("imul_dsp").get("ff_per_bit", 0)}
        return {"LUT": math.ceil(op.info.get("a_bits", 8) * op.info.get("b_bits", 8) * t.op("imul_lut")["lut_per_bit2"])}
    if cls in ("iadd", "icmp", "ilogic", "ishift", "iminmax", "idiv"):
        if B.timing(inst, ctx) == (0, 0.0):
            return {}
        entry = t.op(cls)
        return {"LUT": math.ceil(entry.get("lut_per_bit", 1) * op.bits),
                "FF": math.ceil(entry.get("ff_per_bit", 0) * op.bits)}
    if cls == "unknown":
        return {}
    entry = t.op(cls)
    return {"DSP": entry.get("dsp", 0), "LUT": entry.get("lut", 0), "FF": entry.get("ff", 0)}
