"""``dsl.estimate(s, device="u280", clock_mhz=300)``: what Vitis HLS will make of a scheduled kernel.

The estimate reads the module after the same preparation the HLS emitter applies (stream arguments marked),
so it sees what Vitis is given: the loops with their directives, the buffers with their partitions, the top
arguments as m_axi bundles (one per array argument, as the emitter writes them), the dataflow processes and
their FIFOs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import dataflow as D
from . import function as F
from . import memory as M
from .reader import read_module
from .report import BufferEstimate, Estimate, FunctionEstimate, ResourceUse
from .tables import EstimateError, check_clock, load_device, load_tables

REGISTER_THRESHOLD = 4  # arrays of at most this many elements become registers (complete_threshold, UG1399)


@dataclass
class Instance:
    """One function with the memories one caller gives it."""

    name: str
    latency: int | None
    interval: int | None
    costs: dict
    stream_first: dict = field(default_factory=dict)  # argument position -> first access cycle
    stream_last: dict = field(default_factory=dict)
    inline: bool = False
    dataflow: bool = False


class Estimator:
    def __init__(self, schedule, device: str, clock_mhz: float, hbm: dict | None, tables: str | None,
                 channel_efficiency: float, tripcount: dict | None = None, funcs: dict | None = None):
        from ..backend.hls.streams import prepare_streams

        self.clock_mhz = check_clock(clock_mhz)
        self.device = load_device(device)
        self.tables = load_tables(tables or self.device.tables, self.clock_mhz)
        self.schedule = schedule
        self.top = schedule.top
        self.hbm = dict(hbm or {})
        self.efficiency = channel_efficiency
        self.tripcount = _check_tripcount(tripcount)
        if funcs is None:  # the module's plain copy (callers estimating one module many times pass it)
            with schedule.context:
                prepare_streams(schedule.module)
                funcs = read_module(schedule.module)
        self.funcs = funcs
        self.memo: dict = {}
        self.axi_copies: list = []  # (m_axi port, its on-chip copy, copied in, copied out)
        self.instances: dict = {}
        self.loops: dict = {}
        self.functions: dict = {}
        self.regions: dict = {}
        self.buffers: list = []
        self.notes: list = []
        self._mark_dsp_accumulators()

    def note(self, text: str):
        if text not in self.notes:
            self.notes.append(text)

    # -- memories -----------------------------------------------------------------------------------
    def top_memories(self) -> tuple:
        func = self.funcs[self.top]
        out, bundle = [], 0
        for k, (v, name) in enumerate(zip(func.args, func.arg_names)):
            if not func.arg_shapes[k] and func.arg_bits[k] == 0:
                out.append(None)
                continue
            attrs = func.arg_attrs[k]
            if "stream_depth" in attrs:
                out.append(M.Memory("axis", name, func.arg_bits[k], func.arg_shapes[k], depth=attrs["stream_depth"]))
                continue
            channels = self._channels(name)
            port = M.Memory("maxi", name, func.arg_bits[k], func.arg_shapes[k], bundle=f"gmem{bundle}",
                            channels=channels)
            bundle += 1
            copy = self._axi_copy(k, port, attrs)
            out.append(copy if copy is not None else port)
        return tuple(out)

    def _axi_copy(self, k: int, port: M.Memory, attrs: dict):
        """A partitioned top-level array is copied on chip as the emitter writes it (array_partition is not
        supported on an m_axi port, HLS 214-126): the body uses the partitioned copy; a burst loop fills it
        first and one writes it back at the end when the kernel writes it (see backend/hls/axi_copies.py)."""
        from types import SimpleNamespace

        from mlir import ir

        from ..backend.hls.axi_copies import needs_copy
        from ..dataflow.netlist import func_table
        from ..dataflow.rules import WRITE, value_access

        with self.schedule.context:
            funcs = func_table(self.schedule.module)
            value = funcs[self.top].regions[0].blocks[0].arguments[k]
            param = SimpleNamespace(kind="array", shape=port.shape, value=value,
                                    attrs={"dsl.partition": True} if attrs.get("partition") else None)
            if not port.shape or not needs_copy(funcs, param):
                return None
            access = value_access(funcs, value)
            if not isinstance(ir.MemRefType(value.type), ir.MemRefType):
                return None
        local = M.Memory("ram", f"{port.name}_local", port.bits, port.shape, list(attrs.get("partition", [])))
        if local.fully_partitioned:
            local.kind = "reg"
        self.axi_copies.append((port, local, bool(access), WRITE in access))
        return local

    def copy_cycles(self, port: M.Memory) -> tuple[int, int]:
        """(II, latency) of one burst loop over a port: one element a cycle unless the channels cannot carry
        it; the depth is the m_axi read latency plus the store."""
        capacity = self.channel_bits_per_cycle(port)
        ii = max(1, -(-port.bits // int(capacity))) if capacity else 1
        depth = self.tables.memory("m_axi")["read_latency"] + 1
        return ii, (port.elements - 1) * ii + depth

    def _channels(self, name: str) -> float:
        given = self.hbm.get(name)
        if given is None:
            return 1.0
        if isinstance(given, str) and ":" in given:
            lo, hi = (int(x) for x in given.split(":"))
            return float(hi - lo + 1)
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            return 1.0
        raise EstimateError(f"hbm[{name!r}] must be a channel number or a 'lo:hi' range, got {given!r}")

    def channel_bits_per_cycle(self, memory: M.Memory) -> float:
        gbs = self.device.channel_gbs * memory.channels * self.efficiency
        return gbs * 8e9 / (self.clock_mhz * 1e6)

    def local_memory(self, func, vid, buffer) -> M.Memory:
        if buffer.stream_depth is not None:
            return M.Memory("stream", buffer.name, buffer.bits, buffer.shape, depth=buffer.stream_depth)
        kind = "rom" if buffer.constant else "ram"
        memory = M.Memory(kind, buffer.name, buffer.bits, buffer.shape, list(buffer.partition), buffer.storage)
        if not buffer.shape or memory.fully_partitioned or memory.elements <= REGISTER_THRESHOLD:
            memory.kind = "reg"
        return memory

    # -- functions ----------------------------------------------------------------------------------
    def function(self, name: str, arg_memories: tuple, caller: str = "", arg_values: tuple = ()) -> Instance:
        """The instance of ``name`` given these memories and (``arg_values``) the integer scalars its caller
        passes as constants: the loops they bound then have known trip counts."""
        if name not in self.funcs:
            raise EstimateError(f"call to {name!r}, which has no body in the module")
        values = tuple((k, v) for k, v in enumerate(arg_values) if v is not None and k < len(self.funcs[name].args)
                       and not self.funcs[name].arg_shapes[k] and self.funcs[name].arg_bits[k] == 0)
        signature = tuple(_signature(m) for m in arg_memories)
        key = (name, signature, values)
        if key not in self.memo:
            self.memo[key] = None  # recursion guard
            func = self.funcs[name]
            count = self.instances.get(name, 0)
            self.instances[name] = count + 1
            label = name if count == 0 else f"{name}#{count}"  # the same function given other memories
            self.memo[key] = (self._dataflow(func, arg_memories, label, dict(values)) if func.dataflow
                              else self._sequential(func, arg_memories, label, dict(values)))
        if self.memo[key] is None:
            raise EstimateError(f"{name!r} calls itself; hardware functions cannot recurse")
        return self.memo[key]

    def _sequential(self, func, arg_memories: tuple, label: str, values: dict | None = None) -> Instance:
        from .fold import fold

        memories = {v: m for v, m in zip(func.args, arg_memories) if m is not None}
        ctx = F.FunctionContext(self, func, memories, label)
        ctx.env.update({func.args[k]: v for k, v in (values or {}).items()})
        fold(func, ctx.env)
        tables = {}  # a constant global read in several places of the function is one ROM (one C++ array)
        for vid, buffer in func.buffers.items():
            if buffer.constant and buffer.symbol and buffer.symbol in tables:
                memories[vid] = tables[buffer.symbol]
                continue
            memory = self.local_memory(func, vid, buffer)
            memories[vid] = memory
            if buffer.constant and buffer.symbol:
                tables[buffer.symbol] = memory
            self._buffer_cost(memory, label, ctx.costs)
        block = F.run_block(func.body, ctx)
        latency = block.latency + (0 if func.inline else 1)
        first = {pos: block.first[id(m)] for pos, m in enumerate(arg_memories) if m is not None and id(m) in block.first}
        last = {pos: block.last[id(m)] for pos, m in enumerate(arg_memories) if m is not None and id(m) in block.last}
        for loop in ctx.loops:
            self.loops.setdefault(loop.key, loop)
        self.functions[label] = FunctionEstimate(
            label, latency, latency + 1, False, dict(ctx.costs), [l.key for l in ctx.loops], list(ctx.callees),
            kernel=func.kernel)
        return Instance(label, latency, latency + 1, dict(ctx.costs), first, last, func.inline)

    def _buffer_cost(self, memory: M.Memory, where: str, costs: dict, copies: int = 1):
        cost = M.cost(memory, self.tables)
        for kind, value in (("BRAM18K", cost.bram18k), ("URAM", cost.uram), ("LUT", cost.lut), ("FF", cost.ff)):
            costs[kind] = costs.get(kind, 0) + value * copies
        impl = cost.impl + (" (ping-pong: two copies)" if copies == 2 else "")
        self.buffers.append(BufferEstimate(memory.name, where, memory.kind, memory.shape, memory.bits, impl,
                                           cost.banks, cost.bram18k * copies, cost.uram * copies, cost.lut * copies,
                                           cost.ff * copies))

    def _dataflow(self, func, arg_memories: tuple, label: str, values: dict | None = None) -> Instance:
        from ..dataflow.netlist import extract

        with self.schedule.context:
            net = extract(self.schedule.module, func.name)
        costs = {k: 0.0 for k in F.COST_KINDS}
        fifo_memories = {f.index: D.fifo_memory(f) for f in net.fifos}
        for f in net.fifos:
            f.bits = fifo_memories[f.index].bits
            self._buffer_cost(fifo_memories[f.index], label, costs)
        buffer_memories = {}
        local = list(func.buffers.values())
        plain = [b for b in local if b.stream_depth is None]
        for k, mtype in enumerate(net.buffers):
            buffer = plain[k] if k < len(plain) else None
            memory = self.local_memory(func, None, buffer) if buffer else M.Memory("ram", f"buffer{k}", 32, ())
            buffer_memories[k] = memory
            self._buffer_cost(memory, label, costs, copies=2)
        roles = D.stream_roles(net)
        nodes = []
        for proc in net.processes:
            memories = D.process_memories(net, proc, arg_memories, fifo_memories, buffer_memories)
            instance = self.function(proc.callee, memories, label, D.process_values(proc, values or {}))
            for kind_value in F.COST_KINDS:
                costs[kind_value] += instance.costs.get(kind_value, 0)
            node = D.Node(proc.label, instance.name, instance, after=list(proc.deps))
            for pos, (kind, ref) in enumerate(proc.operands):
                if kind == "fifo":
                    role = roles.get((ref.index, proc.index))
                    (node.outputs if role == "put" else node.inputs).append((ref.index, pos))
            nodes.append(node)
        region = D.roll_up(label, nodes, net.fifos, self.tables.memory("fifo")["read_latency"])
        self.regions[label] = region
        self.functions[label] = FunctionEstimate(
            label, region.latency, region.interval, True, dict(costs), [], [n.callee for n in nodes],
            kernel=func.kernel)
        return Instance(label, region.latency, region.interval, costs, {}, {}, False, True)

    def _mark_dsp_accumulators(self):
        """An add that takes a DSP product (through its extension) stays in the DSP slice (a*b + c)."""
        for func in self.funcs.values():
            defs, uses = {}, {}
            for op in _ops(func.body):
                for r in op.results:
                    defs[r] = op
                for v in op.operands:
                    uses[v] = uses.get(v, 0) + 1
            for op in _ops(func.body):
                if op.cls != "iadd" or op.name != "arith.addi" or op.bits > 48:
                    continue
                for v in op.operands:
                    src = defs.get(v)
                    while src is not None and src.cls == "free" and src.operands:
                        src = defs.get(src.operands[0])
                    if src is not None and src.cls == "imul" and self.tables.dsp_count(
                            src.info.get("a_bits", 32), src.info.get("b_bits", 32), src.info.get("result_bits", 32)):
                        op.info["in_dsp"] = True


def _ops(items):
    from .model import If, Loop, Op

    for item in items:
        if isinstance(item, Op):
            yield item
        elif isinstance(item, Loop):
            yield from _ops(item.body)
        elif isinstance(item, If):
            yield from _ops(item.then)
            yield from _ops(item.other)


def _signature(m):
    if m is None:
        return None
    return (m.kind, m.name, m.bits, m.shape, tuple(m.partition), m.storage, m.bundle, m.channels, m.depth)


def _check_tripcount(given) -> dict:
    if given is None:
        return {}
    if not isinstance(given, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              and v >= 0 for k, v in given.items()):
        raise EstimateError(f"tripcount maps loop names (\"band:loop\") to iteration counts >= 0, got {given!r}")
    return dict(given)


def estimate(schedule, device: str = "u280", clock_mhz: float = 300, hbm: dict | None = None,
             tables: str | None = None, channel_efficiency: float = 0.85, tripcount: dict | None = None) -> Estimate:
    """Estimate ``schedule`` (a ``dsl.Schedule`` or a kernel) as Vitis HLS would build it.

    ``hbm``: argument name -> HBM pseudo-channel or ``"lo:hi"`` range (as ``configs["hbm"]`` of the Vitis
    build); by default every m_axi bundle has one channel of its own. ``tables``: a YAML file replacing the
    operator tables. ``channel_efficiency``: achieved fraction of a channel's peak bandwidth (the same
    quantity as ``dsl.perf``'s ``offchip_channel_efficiency``). ``tripcount``: loop name -> iterations,
    replacing what the bounds say (Vitis's ``loop_tripcount``: for loops with variable bounds, or to see a
    kernel built at one tile run at full size).
    """
    from ..schedule import Schedule

    if not isinstance(schedule, Schedule):
        from ..customize import customize

        schedule = customize(schedule)
    if not 0 < channel_efficiency <= 1:
        raise EstimateError(f"channel_efficiency must be in (0, 1], got {channel_efficiency!r}")
    est = Estimator(schedule, device, clock_mhz, hbm, tables, channel_efficiency, tripcount)
    memories = est.top_memories()
    top = est.function(est.top, memories)
    _axi_copies(est, top)
    _adapters(est, top, tuple(p for p, *_ in est.axi_copies) + memories)
    dev = est.device
    resources = {k: ResourceUse(top.costs.get(k, 0), dev.totals[k]) for k in F.COST_KINDS}
    per_slr = {k: dev.per_slr(k) * dev.usable_fraction for k in F.COST_KINDS}
    notes = est.notes + est.tables.notes
    functions = {est.top: est.functions[est.top], **{k: v for k, v in est.functions.items() if k != est.top}}
    return Estimate(est.top, dev.name, est.clock_mhz, top.latency, top.interval, dict(est.loops), functions,
                    dict(est.regions), est.buffers, resources, per_slr, notes, est.tables.source)


def _axi_copies(est, top: Instance):
    """The copy loops of partitioned ports run before and after the body: their latency adds to the top's,
    the copies' blocks to its resources."""
    if not est.axi_copies:
        return
    if top.dataflow:
        est.note("a partitioned top-level argument of a dataflow region is refused by the HLS backend "
                 "(HLS 214-126); the estimate assumes its on-chip copy")
    from .report import LoopEstimate

    record = est.functions[est.top]
    for port, local, copy_in, copy_out in est.axi_copies:
        est._buffer_cost(local, est.top, top.costs)
        ii, cycles = est.copy_cycles(port)
        for direction, used in (("load", copy_in), ("store", copy_out)):
            if used:
                key = f"l_{direction}_{port.name}"
                est.loops[key] = LoopEstimate(key, est.top, port.elements, True, ii, 1, "" if ii == 1 else
                                              f"{port.bits} bits per element over {port.channels:g} channel(s)",
                                              cycles - (port.elements - 1) * ii, cycles, auto=False,
                                              mode="pipelined", notes=[f"on-chip copy of m_axi port {port.name}"])
                top.latency = (top.latency or 0) + cycles
    top.interval = (top.latency or 0) + 1
    record.latency, record.interval = top.latency, top.interval
    record.resources.update(top.costs)


def _adapters(est, top: Instance, memories: tuple):
    """The m_axi adapter of every bundle of the top function."""
    m_axi = est.tables.memory("m_axi")
    bundles = sum(1 for m in memories if m is not None and m.kind == "maxi")
    for kind, key in (("LUT", "adapter_lut"), ("FF", "adapter_ff")):
        top.costs[kind] = top.costs.get(kind, 0) + bundles * m_axi[key]
        est.functions[est.top].resources[kind] = top.costs[kind]


def cycles_to_ms(cycles: int, clock_mhz: float) -> float:
    return cycles / (clock_mhz * 1e3) if cycles is not None else math.nan
