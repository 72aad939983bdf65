"""Rules of AMD's dataflow that a design must follow to run on the board as it runs in the FIFO simulator
(UG1399, "Dataflow" / "Canonical forms"; the Vitis flows apply them, see ``backend/hls/streams.py``):

* a stream between kernel calls needs a dataflow region: elsewhere the calls run one after another, the
  producer runs to completion first and blocks for ever on the full FIFO (``streams_outside_dataflow``);
* the processes of a region form a feed-forward network: a feedback loop of streams is not run as
  dataflow, and AMD's csim and sw_emu run the processes in order and stop on an empty stream
  (``feedback_loop``);
* a local buffer between processes has one producer and one consumer; otherwise Vitis runs the region
  sequentially (``shared_buffers``).
"""
from __future__ import annotations

import os

from mlir import ir

from ..errors import StreamError
from .netlist import LOADS, STORES, func_table, loc_of

READ, WRITE = "read", "write"
_VIEWS = ("memref.subview", "memref.cast", "memref.reinterpret_cast", "memref.collapse_shape",
          "memref.expand_shape")


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def _callee(op) -> str:
    return ir.FlatSymbolRefAttr(op.attributes["callee"]).value


def value_access(funcs: dict, value) -> set:
    """How the code reading ``value`` (a memref) uses its elements: a subset of {READ, WRITE}, following
    views and calls (an op it does not know counts as both)."""
    found = set()
    for use in value.uses:
        op = _op(use.owner)
        if op.name in LOADS:
            found.add(READ)
        elif op.name in STORES:
            found.add(WRITE if op.operands[1] == value else READ)
        elif op.name == "memref.copy":
            found.add(READ if op.operands[0] == value else WRITE)
        elif op.name in _VIEWS:
            found |= value_access(funcs, op.results[0])
        elif op.name == "func.call":
            found |= arg_access(funcs, _callee(op), use.operand_number)
        elif op.name != "memref.dealloc":
            found |= {READ, WRITE}
    return found


def arg_access(funcs: dict, callee: str, pos: int) -> set:
    fop = funcs.get(callee)
    if fop is None or not fop.regions[0].blocks:
        return {READ, WRITE}
    return value_access(funcs, fop.regions[0].blocks[0].arguments[pos])


def _where(loc) -> str:
    return f" ({os.path.basename(loc.file)}:{loc.line})" if loc else ""


def _is_dataflow(op) -> bool:
    return "dsl.dataflow" in op.attributes or "dsl.region" in op.attributes


def _inside_dataflow(op) -> bool:
    while op is not None:
        if op.name in ("func.func", "affine.for", "scf.for") and _is_dataflow(op):
            return True
        op = op.parent
    return False


def streams_outside_dataflow(module) -> list:
    """(message, location) for each stream whose kernel calls are not all inside a dataflow region."""
    funcs = func_table(module)
    problems = []
    for fname, fop in funcs.items():
        for block in fop.regions[0].blocks:
            for op in map(_op, block.operations):
                if op.name != "memref.alloc" or "dsl.stream_depth" not in op.attributes:
                    continue
                calls = [_op(u.owner) for u in op.result.uses if _op(u.owner).name == "func.call"]
                if calls and all(_inside_dataflow(c) for c in calls):
                    continue
                problems.append((_outside_message(funcs, fname, op, calls), loc_of(op)))
    return problems


def _outside_message(funcs, fname, op, calls) -> str:
    name = ir.StringAttr(op.attributes["dsl.name"]).value if "dsl.name" in op.attributes else "a stream"
    depth = ir.IntegerAttr(op.attributes["dsl.stream_depth"]).value
    writers = [_callee(c) for c in calls if WRITE in _access_of_call(funcs, c, op.result)]
    readers = [_callee(c) for c in calls if READ in _access_of_call(funcs, c, op.result)]
    producer = f"'{writers[0]}'" if writers else "the producer"
    consumer = f"'{readers[0]}'" if readers else "the consumer"
    return (f"stream '{name}'{_where(loc_of(op))} connects {producer} to {consumer} in '{fname}', which is not a "
            f"dataflow region: there the calls run one after another, so {producer} runs to completion before "
            f"{consumer} starts and blocks for ever once the FIFO (depth {depth}) is full; make '{fname}' a "
            f"dataflow region (s.dataflow('{fname}')) or leave '{name}' a buffer")


def _access_of_call(funcs, call, value) -> set:
    found = set()
    for pos, operand in enumerate(call.operands):
        if operand == value:
            found |= arg_access(funcs, _callee(call), pos)
    return found


def check_streams_in_dataflow(module):
    problems = streams_outside_dataflow(module)
    if problems:
        message, loc = problems[0]
        raise StreamError(message, loc)


def feedback_loop(net) -> list | None:
    """A cycle of the stream graph (process -> process for every stream, writer to reader) as
    [(process label, stream label), ...] around the loop, or None when the network is feed-forward."""
    edges: dict = {}
    for fifo in net.fifos:
        writers = {a.process.label for a in fifo.accesses if a.role == "put"}
        readers = {a.process.label for a in fifo.accesses if a.role == "get"}
        for w in sorted(writers):
            for r in sorted(readers - {w}):
                edges.setdefault(w, []).append((r, fifo.label))
    state: dict = {}
    path: list = []

    def visit(node):
        state[node] = "open"
        for nxt, label in edges.get(node, []):
            path.append((node, label))
            if state.get(nxt) == "open":
                start = next(k for k, (n, _) in enumerate(path) if n == nxt)
                return path[start:]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
            path.pop()
        state[node] = "done"
        return None

    for p in net.processes:
        if p.label not in state:
            found = visit(p.label)
            if found:
                return found
    return None


def feedback_message(loop: list, top: str) -> str:
    ring = " -> ".join(f"'{proc}' -(stream '{label}')" for proc, label in loop) + f" -> '{loop[0][0]}'"
    return (f"dataflow region '{top}' has a feedback loop of streams: {ring}. Vitis runs dataflow only on a "
            "feed-forward network of processes (UG1399, dataflow canonical forms): it does not apply dataflow "
            "here, and its csim and sw_emu run the processes one after another and stop on the empty stream; "
            "break the loop (keep the state inside one kernel)")


def shared_buffers(net) -> dict:
    """Local (non-stream) buffers of a dataflow region that more than one process writes or reads:
    {name: (writers, readers)}."""
    users: dict = {}
    for proc in net.processes:
        for pos, (kind, ref) in enumerate(proc.operands):
            if kind != "buffer":
                continue
            access = arg_access(net.funcs, proc.callee, pos)
            writers, readers = users.setdefault(ref, ([], []))
            if WRITE in access:
                writers.append(proc.label)
            if READ in access:
                readers.append(proc.label)
    return {net.buffer_names[ref]: (w, r) for ref, (w, r) in sorted(users.items()) if len(w) > 1 or len(r) > 1}


def shared_buffer_message(shared: dict, top: str) -> str:
    parts = []
    for name, (writers, readers) in shared.items():
        many, who = ("read", readers) if len(readers) > 1 else ("written", writers)
        parts.append(f"'{name}' is {many} by {len(who)} processes ({', '.join(who)})")
    return (f"dataflow region '{top}': {'; '.join(parts)}. A buffer between the processes of a dataflow region "
            "has one producer and one consumer (UG1399, single-producer-consumer); otherwise Vitis runs the "
            "region sequentially. dsl does not duplicate buffers for you: have the producer write one copy per "
            "reader (or stream it to each)")
