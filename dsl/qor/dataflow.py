"""Dataflow regions: processes that run concurrently and talk through FIFOs (``dsl.region`` designs and
``s.to``/``s.dataflow`` compositions alike, read through the same netlist the simulator uses).

- Interval: a region accepts a new invocation when its slowest process can (the largest process interval).
- Latency: every process starts with the region (Vitis starts a dataflow region's processes together) and
  stalls at its first read of a FIFO until the first token is there (the producer's start, plus the cycle of
  its first write, plus the FIFO's read latency): its effective start is that time less the cycles it runs
  before that read (its own first access of the FIFO). A token it writes after it has read the whole of one
  of its input FIFOs (its last read of that FIFO comes before its first write of this one: a
  synchronisation point, e.g. Q·Kᵀ takes every key row before its first score row) leaves no earlier than
  that input's last token arrives plus the cycles between the two accesses in its own schedule. It waits
  for every ping-pong buffer it reads to be complete (the writer's finish); it finishes no earlier than its own latency after its start, and no earlier
  than its producers' last writes plus the time it needs after its last read. A producer that its own inputs
  held up (it finished later than its start plus its latency) writes its last token as late: its finish less
  the cycles it runs after that write. The region's latency is the last finish.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import memory as M
from .report import ProcessEstimate, RegionEstimate, StreamEstimate


@dataclass
class Node:
    label: str
    callee: str
    instance: object               # the process's function instance (latency, interval, stream times)
    inputs: list = field(default_factory=list)    # (fifo index, position)
    outputs: list = field(default_factory=list)
    after: list = field(default_factory=list)     # process indices it waits for (ping-pong buffers)
    start: int = 0
    finish: int = 0
    via: int | None = None         # the process that decided its start or finish (critical path)


def process_memories(net, proc, top_memories: tuple, fifo_memories: dict, buffer_memories: dict) -> tuple:
    out = []
    for kind, ref in proc.operands:
        if kind == "arg":
            out.append(top_memories[ref] if ref < len(top_memories) else None)
        elif kind == "fifo":
            out.append(fifo_memories[ref.index])
        elif kind == "buffer":
            out.append(buffer_memories[ref])
        else:
            out.append(None)
    return tuple(out)


def process_values(proc, region_values: dict) -> tuple:
    """The integer scalars a process is called with, where known: a constant of the region, or a scalar of
    the region its own caller passed as a constant (``region_values``: argument position -> int). Vitis
    propagates such constants into the process as into any sub-function (UG1399), so its loops bounded by
    them have known trip counts."""
    from mlir import ir

    out = []
    for kind, ref in proc.operands:
        value = None
        if kind == "const" and isinstance(ref, ir.IntegerAttr):
            value = ir.IntegerAttr(ref).value
        elif kind == "arg":
            value = region_values.get(ref)
        out.append(value)
    return tuple(out)


def _last_write(src: Node, pos: int) -> int:
    """When ``src`` writes its last token at argument ``pos``: its own schedule's last write, or, when its
    inputs held it up (it finished later than its start plus its latency), that much later."""
    latency = src.instance.latency or 0
    written = src.instance.stream_last.get(pos, latency)
    return max(src.start + written, src.finish - (latency - written))


def _first_write(node: Node, pos: int, nodes: list, producer: dict, fifo_latency: int) -> int:
    """When ``node`` writes its first token at argument ``pos``: its start plus that write's cycle in its own
    schedule, and no earlier than the last token of every input it reads completely before that write."""
    first = node.instance.stream_first.get(pos, 0)
    out = node.start + first
    for f, ipos in node.inputs:
        last_read = node.instance.stream_last.get(ipos)
        if f not in producer or last_read is None or last_read > first:
            continue
        p, ppos = producer[f]
        out = max(out, _last_write(nodes[p], ppos) + fifo_latency + (first - last_read))
    return out


def roll_up(name: str, nodes: list, fifos: list, fifo_latency: int) -> RegionEstimate:
    """Start and finish of every process (in place) and the region's interval and latency."""
    producer = {}
    for k, node in enumerate(nodes):
        for f, pos in node.outputs:
            producer[f] = (k, pos)
    for _ in range(len(nodes) + 1):  # a fixed point (feedback FIFOs converge in a few rounds)
        changed = False
        for k, node in enumerate(nodes):
            start, finish, via = 0, 0, None
            for f, pos in node.inputs:
                if f not in producer:
                    continue
                p, ppos = producer[f]
                first = _first_write(nodes[p], ppos, nodes, producer, fifo_latency) + fifo_latency
                # the process runs from the region's start up to its own first read of this FIFO: only
                # the rest of its work waits for the token (a parameter load before the row loop does not)
                first -= node.instance.stream_first.get(pos, 0)
                if first > start:
                    start, via = first, p
            for p in node.after:
                if nodes[p].finish > start:
                    start, via = nodes[p].finish, p
            latency = node.instance.latency or 0
            finish = start + latency
            for f, pos in node.inputs:
                if f not in producer:
                    continue
                p, ppos = producer[f]
                tail = latency - node.instance.stream_last.get(pos, latency)
                last = _last_write(nodes[p], ppos) + fifo_latency
                if last + tail > finish:
                    finish, via = last + tail, p
            if (start, finish) != (node.start, node.finish):
                node.start, node.finish, node.via, changed = start, finish, via, True
        if not changed:
            break
    latency = max((n.finish for n in nodes), default=0)
    intervals = [(n.instance.interval or 0, n.label) for n in nodes]
    interval, bottleneck = max(intervals) if intervals else (0, "")
    last = max(range(len(nodes)), key=lambda k: nodes[k].finish) if nodes else None
    critical, seen = [], set()
    while last is not None and last not in seen:
        seen.add(last)
        critical.insert(0, nodes[last].label)
        last = nodes[last].via
    processes = [ProcessEstimate(n.label, n.callee, n.instance.latency, n.instance.interval, n.start, n.finish)
                 for n in nodes]
    streams = []
    for f in fifos:
        prod = next((nodes[k].label for k, n in enumerate(nodes) if any(x == f.index for x, _ in n.outputs)), "?")
        cons = next((nodes[k].label for k, n in enumerate(nodes) if any(x == f.index for x, _ in n.inputs)), "?")
        streams.append(StreamEstimate(f.label, f.depth, f.bits, prod, cons))
    return RegionEstimate(name, latency + 1 if nodes else 0, interval, critical, bottleneck, processes, streams)


def fifo_memory(fifo) -> M.Memory:
    from mlir import ir

    from .model import element_bits

    mt = ir.MemRefType(fifo.mtype)
    return M.Memory("stream", fifo.label, element_bits(mt.element_type), tuple(mt.shape), depth=fifo.depth)


def stream_roles(net) -> dict:
    """(process index, argument position) -> "put"/"get" for every FIFO endpoint."""
    roles = {}
    for fifo in net.fifos:
        for acc in fifo.accesses:
            roles[(fifo.index, acc.process.index)] = acc.role
    return roles
