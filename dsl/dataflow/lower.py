"""Preparing a dataflow design for the simulator: each process gets its own function whose stream
accesses call the native runtime (``dsl_fifo_put(handle, word, site)`` / ``dsl_fifo_get(handle, site)``,
tokens as 64-bit words), then the module is lowered and JIT-compiled with MLIR's ExecutionEngine."""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager

from ..backend.cpu_bounds import insert_checks
from ..backend.cpu_floats import expand_sixteen_bit_floats
from ..backend.llvm import LOWERING
from ..errors import BuildError, StreamError
from .netlist import extract, func_table, loc_of

PUT, GET = "dsl_fifo_put", "dsl_fifo_get"


def process_symbol(proc) -> str:
    return f"__dsl_proc{proc.index}_{proc.callee}"


def build_engine(schedule, runtime_path: str, opt_level: int = 3, checks=None):
    """(engine, sites) for a dataflow schedule; sites[k] = (process index, fifo index, is put, SourceLoc).
    Works on a copy of the module (the netlist of ``schedule.module`` itself stays valid)."""
    with schedule.context:
        module = ir.Module.parse(schedule.module.operation.get_asm(enable_debug_info=True))
        net = extract(module, schedule.top)
        _specialise(module, net)
        sites = []
        _declare_runtime(module)
        for proc in net.processes:
            _rewrite_process(module, proc, sites)
        _drop_unused(module, net)
        _lower(module, schedule.top, checks)
        engine = ExecutionEngine(module, opt_level=opt_level, shared_libs=[runtime_path])
    return engine, [(p.index, f.index, is_put, loc) for p, f, is_put, loc in sites]


def _specialise(module, net):
    """One function per process (a copy of the callee), so that stream rewriting is per call site."""
    funcs = func_table(module)
    for proc in net.processes:
        clone = funcs[proc.callee].operation.clone(ip=ir.InsertionPoint(module.body))
        clone.attributes["sym_name"] = ir.StringAttr.get(process_symbol(proc))
        proc.function = clone


def _declare_runtime(module):
    i64, i32 = ir.IntegerType.get_signless(64), ir.IntegerType.get_signless(32)
    with ir.InsertionPoint(module.body), ir.Location.unknown():
        for name, inputs, results in ((PUT, [i64, i64, i32], []), (GET, [i64, i32], [i64])):
            f = func.FuncOp(name, ir.FunctionType.get(inputs, results))
            f.attributes["sym_visibility"] = ir.StringAttr.get("private")


def _rewrite_process(module, proc, sites):
    fop = proc.function
    block = fop.regions[0].blocks[0]
    args = list(block.arguments)
    for pos, (kind, fifo) in enumerate(proc.operands):
        if kind != "fifo":
            continue
        uses = [u.owner for u in args[pos].uses]
        first = block.operations[0]
        with ir.InsertionPoint(first), ir.Location.unknown():
            ptr = memref.ExtractAlignedPointerAsIndexOp(args[pos]).result
            handle = arith.IndexCastOp(ir.IntegerType.get_signless(64), ptr).result
        for owner in uses:
            op = owner.operation if hasattr(owner, "operation") else owner
            if op.name == "memref.extract_aligned_pointer_as_index":
                continue
            site = len(sites)
            sites.append((proc, fifo, op.name.endswith("store"), loc_of(op)))
            _replace_access(op, handle, site, fifo)


def _replace_access(op, handle, site, fifo):
    i32 = ir.IntegerType.get_signless(32)
    with ir.InsertionPoint(op), op.location:
        site_v = arith.ConstantOp(i32, site).result
        if op.name.endswith("store"):
            word = _to_word(op.operands[0], fifo)
            func.CallOp([], ir.FlatSymbolRefAttr.get(PUT), [handle, word, site_v])
        else:
            call = func.CallOp([ir.IntegerType.get_signless(64)], ir.FlatSymbolRefAttr.get(GET), [handle, site_v])
            op.results[0].replace_all_uses_with(_from_word(call.results[0], op.results[0].type, fifo))
    op.erase()


def _carrier(t, fifo):
    """(integer carrier width, needs bitcast) of an element type; tokens are 64-bit words."""
    if isinstance(t, ir.IndexType):
        return 64, "index"
    if isinstance(t, ir.IntegerType):
        if t.width > 64:
            raise StreamError(f"stream {fifo.label}: elements wider than 64 bits are not supported by the "
                              "simulator", fifo.loc)
        return t.width, None
    widths = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64}
    if str(t) in widths:
        return widths[str(t)], "float"
    raise StreamError(f"stream {fifo.label}: element type {t} is not supported by the simulator", fifo.loc)


def _to_word(value, fifo):
    i64 = ir.IntegerType.get_signless(64)
    width, kind = _carrier(value.type, fifo)
    if kind == "index":
        return arith.IndexCastOp(i64, value).result
    if kind == "float":
        value = arith.BitcastOp(ir.IntegerType.get_signless(width), value).result
    return value if width == 64 else arith.ExtUIOp(i64, value).result


def _from_word(word, t, fifo):
    width, kind = _carrier(t, fifo)
    if kind == "index":
        return arith.IndexCastOp(t, word).result
    value = word if width == 64 else arith.TruncIOp(ir.IntegerType.get_signless(width), word).result
    return arith.BitcastOp(t, value).result if kind == "float" else value


def _drop_unused(module, net):
    """Keep the process functions and whatever they call; the top (a list of calls) is not run."""
    keep = {process_symbol(p) for p in net.processes} | {PUT, GET}
    funcs = func_table(module)
    todo = list(keep)
    while todo:
        name = todo.pop()
        f = funcs.get(name)
        if f is None or not f.regions[0].blocks:
            continue
        for callee in _callees(f):
            if callee not in keep:
                keep.add(callee)
                todo.append(callee)
    for name, f in funcs.items():
        if name not in keep:
            f.operation.erase()


def _callees(fop):
    found = []

    def visit(op):
        if op.operation.name == "func.call":
            found.append(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
        return ir.WalkResult.ADVANCE

    fop.operation.walk(visit)
    return found


def _lower(module, top, checks=None):
    for op in module.body.operations:
        if op.operation.name == "func.func" and op.regions[0].blocks:
            op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        if op.operation.name == "func.func" and "dsl.top" in op.attributes:
            del op.attributes["dsl.top"]
    try:
        if checks is not None:  # the runtime library defines the failure hook (dsl_bounds_fail)
            insert_checks(module, checks)
        expand_sixteen_bit_floats(module)
        PassManager.parse(f"builtin.module({LOWERING})").run(module.operation)
    except Exception as exc:
        raise BuildError(f"lowering the dataflow design {top!r} for the simulator failed: {exc}") from None
