"""One loop body (or straight-line segment) as hardware runs it: every unrolled copy of every op, scheduled as
soon as its inputs are ready, with combinational ops chained within a clock period.

``expand`` walks the items of a body, replicating loops that are unrolled (inner loops of a pipelined loop,
loops with a full ``unroll``) with their loop variable bound to each value, if-converting branches, forwarding
a load from an earlier store to the same address in the same iteration and sharing repeated loads of one
address (what Vitis's front end does to straight-line code). ``Schedule`` times each copy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import memory as M
from .model import Call, If, Loop, Op, evaluate

MAX_COPIES = 200_000  # unrolled op copies in one body; beyond it the body is refused with a clear note


class TooLarge(Exception):
    pass


@dataclass
class Inst:
    op: object               # Op, or Call
    deps: list
    memory: M.Memory | None = None
    key: tuple | None = None  # canonical address (memory accesses)
    bank: tuple | None = None
    forwarded: bool = False
    start: int = 0
    ready: tuple = (0, 0.0)   # (cycle, ns into that cycle) when the result can be used
    latency: int = 0
    carried_use: list = field(default_factory=list)  # indices of the pipelined loop's carried values it reads
    folded: bool = False      # its value is a constant (from the constants the caller passes): no operator

    @property
    def cls(self) -> str:
        if self.folded:
            return "free"
        return "call" if isinstance(self.op, Call) else self.op.cls


@dataclass
class Expansion:
    insts: list = field(default_factory=list)
    yields: dict = field(default_factory=dict)   # carried index -> inst index of the value yielded
    notes: list = field(default_factory=list)


class Scope:
    def __init__(self, parent=None):
        self.parent, self.map = parent, {}

    def get(self, vid):
        scope = self
        while scope is not None:
            if vid in scope.map:
                return scope.map[vid]
            scope = scope.parent
        return None


class Expander:
    """Builds the op copies of one body. ``memories``: value id -> Memory of every memref the body can touch."""

    def __init__(self, ctx, env: dict):
        self.ctx = ctx
        self.env = dict(env)
        self.subst: dict = {}        # loop variable -> linear form replacing it (partial unrolling)
        self.out = Expansion()
        self.last_store: dict = {}   # (memory id, key) -> inst index of the stored value
        self.last_load: dict = {}    # (memory id, key) -> inst index of a load
        self.last_stream: dict = {}  # memory id -> inst index of its last access
        self.store_inst: dict = {}   # (memory id, key) -> inst index of the store

    def run(self, items, scope: Scope, carried: list | None = None) -> Expansion:
        for k, (arg, _init, _yielded, _result) in enumerate(carried or []):
            scope.map[arg] = ("carried", k)
        self.items(items, scope, carried or [])
        return self.out

    def items(self, items, scope, carried, top=True):
        for item in items:
            if isinstance(item, Op):
                if item.cls == "yield":
                    if top and carried:
                        for k, v in enumerate(item.operands[:len(carried)]):
                            self.out.yields[k] = scope.get(v)
                    continue
                self.op(item, scope)
            elif isinstance(item, Loop):
                self.unrolled_loop(item, scope)
            elif isinstance(item, If):
                self.if_converted(item, scope)
            elif isinstance(item, Call):
                self.call(item, scope)

    def _deps(self, operands, scope):
        deps, uses = [], []
        for v in operands:
            ref = scope.get(v)
            if isinstance(ref, tuple):
                uses.append(ref[1])
            elif ref is not None:
                deps.append(ref)
        return deps, uses

    def _emit(self, inst: Inst) -> int:
        if len(self.out.insts) >= MAX_COPIES:
            raise TooLarge()
        self.out.insts.append(inst)
        return len(self.out.insts) - 1

    def op(self, op: Op, scope):
        if op.cls in ("load", "store"):
            return self.access(op, scope)
        deps, uses = self._deps(op.operands, scope)
        # an integer op whose value folds (``fold``: from constants, and scalars the caller passes as
        # constants) is a constant in the specialised function Vitis builds: no operator, no cycle
        folded = bool(op.results) and all(r in self.env for r in op.results)
        index = self._emit(Inst(op, [] if folded else deps, carried_use=[] if folded else uses, folded=folded))
        for r in op.results:
            scope.map[r] = index

    def _canonical(self, form, scope=None):
        """An index form with the known loop variables substituted. A value computed in this body (a table
        index from data, ``POW2[k]``) stands for the op copy that computes it: two unrolled copies read
        two addresses, not one, though both copies name the same value of the IR."""
        if form is None:
            return None
        coeffs, const = form
        rest = {}
        for v, c in coeffs.items():
            if v in self.env:
                const += c * self.env[v]
            elif v in self.subst:
                inner, offset = self.subst[v]
                const += c * offset
                for w, k in inner.items():
                    rest[w] = rest.get(w, 0) + c * k
            else:
                ref = scope.get(v) if scope is not None else None
                name = ("copy", ref) if isinstance(ref, int) else v
                rest[name] = rest.get(name, 0) + c
        return {v: c for v, c in rest.items() if c}, const

    def access(self, op: Op, scope):
        acc = op.info["access"]
        memory = self.ctx.memories.get(acc.memref)
        forms = [self._canonical(f, scope) for f in acc.index]
        key = tuple((frozenset(f[0].items()), f[1]) if f is not None else ("?", id(op), len(self.out.insts))
                    for f in forms)
        value_operands = op.operands[:1] if acc.kind == "store" else []
        index_operands = op.operands[2:] if acc.kind == "store" else op.operands[1:]
        deps, uses = self._deps(value_operands + index_operands, scope)
        mid = id(memory) if memory is not None else acc.memref
        stream = memory is not None and memory.kind in ("stream", "axis")
        if stream:
            if mid in self.last_stream:
                deps.append(self.last_stream[mid])
        elif acc.kind == "load" and (mid, key) in self.last_store:
            index = self._emit(Inst(op, [self.last_store[(mid, key)]], memory, key, forwarded=True))
            scope.map[op.results[0]] = index
            return
        elif acc.kind == "load" and (mid, key) in self.last_load:
            scope.map[op.results[0]] = self.last_load[(mid, key)]
            return
        bank = M.bank_key(memory, forms) if memory is not None and memory.kind in ("ram", "rom") else None
        index = self._emit(Inst(op, deps, memory, key, bank, carried_use=uses))
        if acc.kind == "load":
            scope.map[op.results[0]] = index
        if stream:
            self.last_stream[mid] = index
        elif acc.kind == "store":
            ref = scope.get(op.operands[0])
            value = ref if isinstance(ref, int) else index
            earlier = self.store_inst.get((mid, key))
            if earlier is not None:  # a later store to the same address in one iteration replaces it
                self.out.insts[earlier].forwarded = True
            self.store_inst[(mid, key)] = index
            self.last_store[(mid, key)] = value
            self.last_load.pop((mid, key), None)
        else:
            self.last_load[(mid, key)] = index

    def unrolled_loop(self, loop: Loop, scope):
        trip = loop.trip_at(self.env)
        lower = loop.lower_at(self.env)
        if trip is None or lower is None:
            self.out.notes.append(f"loop {loop.key} has a variable trip count and cannot be unrolled; "
                                  "counted once")
            trip, lower = 1, 0
        values = {}
        for _arg, init, _y, _r in loop.carried:
            values[init] = scope.get(init)
        current = [scope.get(init) for _a, init, _y, _r in loop.carried]
        for r in range(trip):
            inner = Scope(scope)
            self.env[loop.iv] = lower + r * loop.step
            for (arg, _i, _y, _r), ref in zip(loop.carried, current):
                inner.map[arg] = ref
            self.items(loop.body, inner, [], top=False)
            current = [inner.get(y) for _a, _i, y, _r in loop.carried]
        self.env.pop(loop.iv, None)
        for (_a, _i, _y, result), ref in zip(loop.carried, current):
            scope.map[result] = ref

    def if_converted(self, item: If, scope):
        deps, _ = self._deps([item.condition], scope)
        then, other = Scope(scope), Scope(scope)
        self.items(item.then, then, [], top=False)
        self.items(item.other, other, [], top=False)
        for k, r in enumerate(item.results):
            refs = [s.get(y[k]) for s, y in ((then, item.then_yield), (other, item.else_yield)) if k < len(y)]
            sel = Op("arith.select", "ilogic", [r], [], 32)
            index = self._emit(Inst(sel, deps + [x for x in refs if isinstance(x, int)]))
            scope.map[r] = index

    def call(self, call: Call, scope):
        deps, uses = self._deps(call.operands, scope)
        index = self._emit(Inst(call, deps, carried_use=uses))
        for r in call.results:
            scope.map[r] = index


# -- timing ------------------------------------------------------------------------------------------
def timing(inst: Inst, ctx) -> tuple[int, float]:
    """(latency in cycles, combinational delay in ns) of one op copy."""
    t = ctx.tables
    cls = inst.cls
    if inst.forwarded or cls in ("free", "yield"):
        return 0, 0.0
    if cls == "call":
        return ctx.call_latency(inst.op), 0.0
    if cls == "load":
        lat = M.read_latency(inst.memory, t) if inst.memory is not None else 1
        return lat, (0.2 if lat == 0 else 0.0)
    if cls == "store":
        return 0, 0.0
    op = inst.op
    if cls == "imul":
        return _mul_timing(op, t)
    if cls == "idiv":
        rhs = op.info.get("const_rhs")
        if isinstance(rhs, int) and rhs > 0 and rhs & (rhs - 1) == 0:
            return 0, 0.0
        return t.latency("idiv", op.bits), 0.0
    if cls == "ishift" and isinstance(op.info.get("const_rhs"), int):
        return 0, 0.0
    if cls == "iadd" and op.info.get("in_dsp"):
        return 0, 0.0
    if cls == "unknown":
        ctx.note(f"no table entry for '{op.name}' (line {op.line}): counted as one cycle")
        return 1, 0.0
    lat = t.latency(cls, op.bits)
    return lat, (t.delay_ns(cls, op.bits) if lat == 0 else 0.0)


def _mul_timing(op: Op, t) -> tuple[int, float]:
    info = op.info
    const = info.get("const")
    if isinstance(const, int) and const != 0 and abs(const) & (abs(const) - 1) == 0:
        return 0, 0.0  # a shift
    if dsp_slices(op, t):
        return t.latency("imul_dsp"), 0.0
    lat = t.latency("imul_lut")
    return lat, (t.delay_ns("imul_lut") if lat == 0 else 0.0)


def dsp_slices(op: Op, t) -> int:
    info = op.info
    const = info.get("const")
    if isinstance(const, int) and const != 0 and abs(const) & (abs(const) - 1) == 0:
        return 0
    return t.dsp_count(info.get("a_bits", op.bits), info.get("b_bits", op.bits), info.get("result_bits", op.bits))


def schedule(exp: Expansion, ctx) -> int:
    """ASAP times for every copy (in place); returns the depth in cycles."""
    usable = ctx.tables.usable_ns
    insts = exp.insts
    depth = 0
    for inst in insts:
        cycle, ns = 0, 0.0
        for d in inst.deps:
            r = insts[d].ready
            if r > (cycle, ns):
                cycle, ns = r
        lat, delay = timing(inst, ctx)
        inst.latency = lat
        if lat == 0:
            if ns + delay <= usable:
                inst.start, inst.ready = cycle, (cycle, ns + delay)
            else:
                inst.start, inst.ready = cycle + 1, (cycle + 1, delay)
        else:
            start = cycle + (1 if ns > usable / 2 else 0)
            inst.start, inst.ready = start, (start + lat, 0.0)
        if inst.cls == "store" and not inst.forwarded:
            depth = max(depth, inst.start + 1)
        depth = max(depth, inst.ready[0] + (1 if inst.ready[1] > 0 else 0), inst.start + 1)
    return max(depth, 1)
