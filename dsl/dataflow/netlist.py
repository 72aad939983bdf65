"""The process network of a dataflow top function, as the simulator and the static check see it.

A dataflow top (a ``dsl.region``, or a composed top with ``s.to`` / ``s.dataflow``) declares buffers and
streams (``memref.alloc``, streams carry ``dsl.stream_depth``) and calls kernels; each ``func.call`` is one
process. A stream operand makes the callee's argument a FIFO endpoint: its loads are gets, its stores puts.
Local buffers that are not streams order their users (ping-pong semantics: a later kernel starts when
the earlier ones sharing the buffer have finished).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from mlir import ir

from ..errors import SourceLoc, StreamError

LOADS = ("affine.load", "memref.load")
STORES = ("affine.store", "memref.store")
ALLOWED_TOP_OPS = ("memref.alloc", "arith.constant", "func.call", "func.return")


@dataclass
class Fifo:
    index: int
    name: str    # C++/flat name, e.g. fa_0_1
    label: str   # as the user wrote it, e.g. fa[0, 1]
    depth: int
    mtype: object  # the memref type
    loc: SourceLoc | None
    value: object = None
    accesses: list = field(default_factory=list)  # Access

    @property
    def numel(self) -> int:
        n = 1
        for d in ir.MemRefType(self.mtype).shape:
            n *= d
        return n


@dataclass
class Access:
    process: "Process"
    role: str  # "put" | "get"
    op: object
    loc: SourceLoc | None


@dataclass
class Process:
    index: int
    label: str
    callee: str
    call: object
    operands: list  # ("arg", k) | ("fifo", Fifo) | ("buffer", k) | ("const", value)
    loc: SourceLoc | None
    deps: list = field(default_factory=list)


@dataclass
class Netlist:
    top: str
    fifos: list
    processes: list
    buffers: list  # memref types of local (non-stream) buffers
    funcs: dict
    buffer_names: list = field(default_factory=list)  # their dsl.name, in the same order


def loc_of(op) -> SourceLoc | None:
    from ..backend.hls.emitter import source_loc

    return source_loc(op)


def kernel_source(fop) -> str | None:
    """'file.py:line' of the Python kernel a function was generated from (None when unknown)."""
    if "dsl.src" not in fop.attributes:
        return None
    file, _, line = ir.StringAttr(fop.attributes["dsl.src"]).value.rpartition(":")
    return f"{os.path.basename(file)}:{line}"


def func_table(module) -> dict:
    return {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
            if op.operation.name == "func.func"}


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def extract(module, top: str) -> Netlist:
    funcs = func_table(module)
    fop = funcs[top]
    net = Netlist(top, [], [], [], funcs)
    values = {arg: ("arg", k) for k, arg in enumerate(fop.regions[0].blocks[0].arguments)}
    _walk_dataflow(net, fop, values, top, "")
    if not net.processes:
        raise StreamError(f"'{top}' calls no kernels: the simulator runs dataflow designs (a dsl.region, or a "
                          "top function calling kernels)")
    _label(net)
    _pipo_deps(net)
    for proc in net.processes:
        _collect_accesses(net, proc)
    return net


def _walk_dataflow(net, fop, values, top, prefix):
    for op in fop.regions[0].blocks[0].operations:
        _top_op(net, values, _op(op), top, prefix)


def _nested_dataflow(net, op, values, callee, prefix) -> bool:
    """A call of a dataflow function inside the dataflow top: its processes and streams join the design
    (as they run in hardware: one flat network); a local stream whose name is taken is ``<callee>.<name>``."""
    fop = net.funcs.get(callee)
    if fop is None or "dsl.dataflow" not in fop.attributes or not fop.regions[0].blocks:
        return False
    inner = {arg: values[v] for arg, v in zip(fop.regions[0].blocks[0].arguments, op.operands) if v in values}
    _walk_dataflow(net, fop, inner, callee, f"{prefix}{callee}.")
    return True


def _top_op(net, values, op, top, prefix=""):
    name = op.name
    if name not in ALLOWED_TOP_OPS:
        loc = loc_of(op)
        where = f" at {os.path.basename(loc.file)}:{loc.line}" if loc else ""
        raise StreamError(f"the dataflow top '{top}' may only declare buffers and streams (without an initial "
                          f"value) and call kernels; found '{name}'{where}", loc,
                          hint="initialising a buffer there (e.g. 'T: float32[N] = 0.0') is not allowed, and a "
                               "streamed buffer is never initialised: move the computation into a kernel")
    if name == "memref.alloc":
        attrs = op.attributes
        if "dsl.stream_depth" in attrs:
            fname = ir.StringAttr(attrs["dsl.name"]).value if "dsl.name" in attrs else f"fifo{len(net.fifos)}"
            label = ir.StringAttr(attrs["dsl.stream"]).value if "dsl.stream" in attrs else fname
            if any(f.name == fname for f in net.fifos):  # the same name in two nested dataflow functions
                fname, label = prefix + fname, prefix + label
            fifo = Fifo(len(net.fifos), fname, label, ir.IntegerAttr(attrs["dsl.stream_depth"]).value,
                        op.result.type, loc_of(op), op.result)
            net.fifos.append(fifo)
            values[op.result] = ("fifo", fifo)
        else:
            values[op.result] = ("buffer", len(net.buffers))
            net.buffers.append(op.result.type)
            name = ir.StringAttr(attrs["dsl.name"]).value if "dsl.name" in attrs else f"buffer{len(net.buffers)}"
            net.buffer_names.append(prefix + name)
    elif name == "arith.constant":
        values[op.result] = ("const", op.attributes["value"])
    elif name == "func.call":
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        if callee not in net.funcs or not net.funcs[callee].regions[0].blocks:
            raise StreamError(f"kernel '{callee}' called by '{top}' has no body", loc_of(op))
        if len(op.results):
            raise StreamError(f"kernel '{callee}' returns a scalar; kernels of a dataflow design return nothing",
                              loc_of(op))
        if _nested_dataflow(net, op, values, callee, prefix):
            return
        operands = []
        for v in op.operands:
            if v not in values:
                raise StreamError(f"an argument of '{callee}' is computed in the dataflow top; pass whole "
                                  "buffers, streams or constants", loc_of(op))
            operands.append(values[v])
        net.processes.append(Process(len(net.processes), callee, callee, op, operands, loc_of(op)))


def _label(net):
    counts = {}
    for p in net.processes:
        counts[p.callee] = counts.get(p.callee, 0) + 1
    seen = {}
    for p in net.processes:
        if counts[p.callee] > 1:
            seen[p.callee] = seen.get(p.callee, -1) + 1
            p.label = f"{p.callee}#{seen[p.callee]}"


def _pipo_deps(net):
    users = {}
    for p in net.processes:
        for kind, ref in p.operands:
            if kind == "buffer":
                for earlier in users.get(ref, []):
                    if earlier not in p.deps:
                        p.deps.append(earlier)
                users.setdefault(ref, []).append(p.index)


def _collect_accesses(net, proc):
    fop = net.funcs[proc.callee]
    args = list(fop.regions[0].blocks[0].arguments)
    for pos, (kind, ref) in enumerate(proc.operands):
        if kind != "fifo":
            continue
        for use in args[pos].uses:
            op = _op(use.owner)
            role = _role(op, args[pos])
            if role is None:
                raise StreamError(f"stream {ref.label} is used by '{proc.callee}' other than by reading or "
                                  f"writing it ('{op.name}'): a kernel reads or writes the streams it is given",
                                  loc_of(op))
            ref.accesses.append(Access(proc, role, op, loc_of(op)))


def _role(op, value):
    if op.name in LOADS and op.operands[0] == value:
        return "get"
    if op.name in STORES and op.operands[1] == value:
        return "put"
    return None


def stream_roles(fop, nstreams, refs) -> list:
    """(ref, "put"/"get") for the first ``nstreams`` arguments of a PE function (used to order PEs)."""
    roles = []
    args = list(fop.regions[0].blocks[0].arguments)
    for k in range(nstreams):
        for use in args[k].uses:
            role = _role(_op(use.owner), args[k])
            if role and (refs[k], role) not in roles:
                roles.append((refs[k], role))
    return roles


def mark_stream_args(module):
    """Give every callee argument that receives a stream ``{dsl.stream_depth = N}`` (what the HLS emitter
    needs to print ``hls::stream<T> &``), through any depth of calls (a function passing on a stream it
    received). Idempotent; raises when one kernel gets a stream and a plain buffer at the same position
    from different call sites."""
    funcs = func_table(module)
    changed = True
    while changed:
        changed = False
        for fop in funcs.values():
            for block in fop.regions[0].blocks:
                for op in block.operations:
                    changed |= _mark_call(funcs, fop, _op(op))


def _mark_call(funcs, caller, op) -> bool:
    if op.name != "func.call":
        return False
    callee = funcs.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    if callee is None:
        return False
    changed = False
    for pos, v in enumerate(op.operands):
        depth = _stream_depth(caller, v)
        if depth is not None and _arg_attr(callee, pos, "dsl.stream_depth") is None:
            _set_arg_attr(callee, pos, "dsl.stream_depth", depth)
            changed = True
    return changed


def _stream_depth(fop, v):
    """The ``dsl.stream_depth`` attribute of a value that is a stream: a local FIFO or a stream argument."""
    if isinstance(v, ir.OpResult):
        owner = _op(v.owner)
        if owner.name == "memref.alloc" and "dsl.stream_depth" in owner.attributes:
            return owner.attributes["dsl.stream_depth"]
        return None
    if isinstance(v, ir.BlockArgument) and v.owner == fop.regions[0].blocks[0]:
        return _arg_attr(fop, v.arg_number, "dsl.stream_depth")
    return None


def _arg_attr(fop, pos, name):
    if "arg_attrs" not in fop.attributes:
        return None
    dicts = list(ir.ArrayAttr(fop.attributes["arg_attrs"]))
    if pos >= len(dicts):
        return None
    d = ir.DictAttr(dicts[pos])
    return d[name] if name in d else None


def _set_arg_attr(fop, pos, name, value):
    n = len(fop.regions[0].blocks[0].arguments)
    old = list(ir.ArrayAttr(fop.attributes["arg_attrs"])) if "arg_attrs" in fop.attributes else []
    dicts = [{a.name: a.attr for a in ir.DictAttr(d)} if k < len(old) else {} for k, d in
             enumerate(old + [None] * (n - len(old)))]
    dicts[pos][name] = value
    fop.attributes["arg_attrs"] = ir.ArrayAttr.get([ir.DictAttr.get(d) for d in dicts])
