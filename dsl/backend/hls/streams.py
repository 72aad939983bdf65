"""Streams in the HLS backend (owned by the dataflow part, see the Streams section of dsl/IR.md).

The emitter prints a buffer or argument carrying ``dsl.stream_depth`` as ``hls::stream<T>`` (with
``#pragma HLS stream variable=... depth=N``) and its loads/stores as ``.read()``/``.write()``. This module
adds:

- the step before emission: a local buffer made a stream by ``s.to`` is passed to kernels whose argument
  is a plain array, so the callee's argument is marked ``{dsl.stream_depth = N}`` too;
- what C simulation needs to run a dataflow function as hardware does. Each process call is written
  ``DSL_PROCESS(f(...));`` (``DSL_PROCESS_AFTER(f(...), k, ...)`` when it must wait for the earlier
  processes ``k`` that share a ping-pong buffer with it), each local stream gets
  ``DSL_CSIM_DEPTH(s, N, "label");`` and the function ends with ``DSL_JOIN_PROCESSES();``. kernel.h
  defines these as the plain call / nothing, so Vitis sees ordinary code; csim compiles with
  ``-DDSL_CSIM`` and its ``hls_stream.h`` (``shims/``) runs every process as a coroutine on bounded FIFOs.
"""
from __future__ import annotations

from mlir import ir

VITIS_MACROS = """#ifndef DSL_CSIM  // csim runs each dataflow process concurrently, with FIFOs of the declared depths
#define DSL_PROCESS(call) call
#define DSL_PROCESS_AFTER(call, ...) call
#define DSL_JOIN_PROCESSES()
#define DSL_CSIM_DEPTH(stream, depth, label)
#endif"""


def prepare_streams(module):
    """Before emission: callee arguments that receive a stream become streams; a stream outside a dataflow
    region is refused (it would hang on the board: ``dataflow.rules``)."""
    from ...dataflow.netlist import mark_stream_args
    from ...dataflow.rules import check_streams_in_dataflow

    mark_stream_args(module)
    check_streams_in_dataflow(module)


def check_axi_sharing(module, top: str):
    """Raise BuildError for code Vitis would reject (for the vendor flows; csim runs such designs)."""
    from ...errors import BuildError

    shared = shared_axi_args(module, top)
    if shared:
        raise BuildError(axi_sharing_message(shared, top))


def dataflow_rule_violations(module, func: str) -> dict:
    """What Vitis does not run as dataflow in the dataflow function ``func`` (``dataflow.rules``):
    {"feedback": message, "shared": message}, the keys present only when violated."""
    from ...dataflow.netlist import extract
    from ...dataflow.rules import feedback_loop, feedback_message, shared_buffer_message, shared_buffers

    from ...errors import StreamError

    try:
        net = extract(module, func)
    except StreamError:  # not a network of processes (loops in the function, no calls): nothing to check here
        return {}
    found = {}
    loop = feedback_loop(net)
    if loop:
        found["feedback"] = feedback_message(loop, func)
    shared = shared_buffers(net)
    if shared:
        found["shared"] = shared_buffer_message(shared, func)
    return found


def dataflow_functions(module) -> list:
    from ...dataflow.netlist import func_table

    return [name for name, fop in func_table(module).items()
            if "dsl.dataflow" in fop.attributes or "dsl.region" in fop.attributes]


def check_vendor_dataflow(module, top: str, rules=("axi", "feedback", "shared")):
    """Raise BuildError when a dataflow region breaks a rule Vitis needs: ``"axi"``, an m_axi argument of the
    top shared by processes; in every dataflow function, ``"feedback"`` and ``"shared"`` of
    ``dataflow_rule_violations``."""
    from ...errors import BuildError

    problems = []
    if "axi" in rules:
        shared = shared_axi_args(module, top)
        if shared:
            problems.append(axi_sharing_message(shared, top))
    for func in dataflow_functions(module):
        found = dataflow_rule_violations(module, func)
        problems += [found[r] for r in rules if r in found and found[r] not in problems]
    if problems:
        raise BuildError("\n".join(problems))


def is_dataflow_func(fe) -> bool:
    attrs = fe.func.attributes
    return "dsl.dataflow" in attrs or "dsl.region" in attrs


def csim_depth(fe, op, name: str, attrs):
    """After a local stream's depth pragma: the depth (and the user's name) for csim."""
    if "dsl.stream_depth" not in attrs:
        return
    label = ir.StringAttr(attrs["dsl.stream"]).value if "dsl.stream" in attrs else \
        ir.StringAttr(attrs["dsl.name"]).value if "dsl.name" in attrs else name
    fe.module.dataflow = True
    fe.raw(f'DSL_CSIM_DEPTH({name}, {ir.IntegerAttr(attrs["dsl.stream_depth"]).value}, "{label}");')


def process_call(fe, op, call: str) -> str:
    """The statement for one process call of a dataflow function (ping-pong buffers order processes)."""
    state = fe.__dict__.setdefault("dsl_processes", {"count": 0, "users": {}})
    index = state["count"]
    state["count"] += 1
    after = []
    for v in op.operands:
        if v in fe.buffers and not fe.buffers[v].stream and _is_local(v):
            users = state["users"].setdefault(v, [])
            after += [k for k in users if k not in after]
            users.append(index)
    fe.module.dataflow = True
    if after:
        return f"DSL_PROCESS_AFTER({call}, {', '.join(map(str, sorted(after)))});"
    return f"DSL_PROCESS({call});"


def _is_local(value) -> bool:
    return isinstance(value, ir.OpResult) and value.owner.name == "memref.alloc"


def join_processes(fe, op):
    if is_dataflow_func(fe) and fe.__dict__.get("dsl_processes"):
        fe.raw("DSL_JOIN_PROCESSES();")
        _warn_vendor_rules(fe)


def _warn_vendor_rules(fe):
    """Never emit code Vitis rejects or does not run as dataflow silently: a comment in the code and a
    warning (``check_vendor_dataflow`` is the error for the vendor flows)."""
    import warnings

    top = fe.module.top
    name = ir.StringAttr(fe.func.attributes["sym_name"]).value
    messages = []
    shared = shared_axi_args(fe.module.module, top) if name == top else {}
    if shared:
        messages.append(axi_sharing_message(shared, top))
    messages += list(dataflow_rule_violations(fe.module.module, name).values())
    for message in messages:
        fe.raw(f"// NOT SYNTHESISABLE: {message}")
        warnings.warn(message, stacklevel=2)


def stream_load_is_live(fe, op) -> bool:
    """An unused read of a stream still takes a token: it is emitted as a statement."""
    memref = op.operands[0]
    return memref in fe.buffers and fe.buffers[memref].stream


def shared_axi_args(module, top: str) -> dict:
    """Top array arguments of a dataflow top that several processes access: {argument: [processes]}.
    Vitis rejects an m_axi argument accessed by more than one process of a dataflow region (a process that
    is passed the argument but never touches it does not count)."""
    from ...dataflow.netlist import func_table

    funcs = func_table(module)
    fop = funcs[top]
    if "dsl.dataflow" not in fop.attributes and "dsl.region" not in fop.attributes:
        return {}
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
    args = list(fop.regions[0].blocks[0].arguments)
    users: dict = {}
    for op in fop.regions[0].blocks[0].operations:
        if op.operation.name != "func.call":
            continue
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        params = list(funcs[callee].regions[0].blocks[0].arguments)
        for pos, v in enumerate(op.operands):
            if v in args and isinstance(v.type, ir.MemRefType) and list(params[pos].uses):
                users.setdefault(names[args.index(v)], []).append(callee)
    return {name: procs for name, procs in users.items() if len(procs) > 1}


def axi_sharing_message(shared: dict, top: str) -> str:
    parts = [f"'{name}' by {', '.join(procs)}" for name, procs in shared.items()]
    return (f"dataflow top '{top}': Vitis rejects a top-level (m_axi) argument accessed by several processes of "
            f"a dataflow region, and here {'; '.join(parts)}: give each argument one load or store kernel "
            "that streams its data to the others")
