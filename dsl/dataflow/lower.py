"""Preparing a dataflow design for the simulator: each process gets its own function whose stream
accesses call the native runtime, then the module is lowered and JIT-compiled with MLIR's ExecutionEngine.

Scalar tokens of at most 64 bits travel as 64-bit words (``dsl_fifo_put(handle, word, site)`` /
``dsl_fifo_get(handle, site)``); wider scalars and blocks as bytes copied from / to the kernel's memory
(``dsl_fifo_put_block(handle, address, site)`` / ``dsl_fifo_get_block``), one call per token. A kernel that
is passed a stream is copied per process as well, so that every access site names its process and FIFO."""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref
from mlir.passmanager import PassManager

from ..backend.cpu_bounds import insert_checks
from ..backend.cpu_fields import read_fields_from_limbs
from ..backend.cpu_floats import expand_sixteen_bit_floats
from ..backend.cpu_interrupt import CPU_BUDGET, insert_polls
from ..backend.cpu_narrow import pad_storage
from ..backend.llvm import LOWERING, _runtime_libs
from ..errors import BuildError, StreamError
from ..types import storage_bytes
from .netlist import extract, func_table, loc_of

PUT, GET = "dsl_fifo_put", "dsl_fifo_get"
PUT_BLOCK, GET_BLOCK = "dsl_fifo_put_block", "dsl_fifo_get_block"
_FLOAT_BITS = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64}
POLL = "dsl_sim_poll"


def process_symbol(proc) -> str:
    return f"__dsl_proc{proc.index}_{proc.callee}"


def build_engine(schedule, runtime_path: str, opt_level: int = 3, checks=None):
    """(engine, sites) for a dataflow schedule; sites[k] = (process index, fifo index, is put, SourceLoc).
    Works on a copy of the module (the netlist of ``schedule.module`` itself stays valid)."""
    from mlir.execution_engine import ExecutionEngine

    with schedule.context:
        module, sites = lowered_module(schedule, checks)
        # libgcc too, as on the CPU path: division of integers wider than 64 bits calls its helpers
        engine = ExecutionEngine(module, opt_level=opt_level, shared_libs=[runtime_path, *_runtime_libs()])
    return engine, sites


def lowered_module(schedule, checks=None):
    """(the LLVM-dialect module the simulator compiles, its stream access sites); within the context."""
    module = ir.Module.parse(schedule.module.operation.get_asm(enable_debug_info=True))
    net = extract(module, schedule.top)
    _specialise(module, net)
    sites = []
    _declare_runtime(module)
    for proc in net.processes:
        for fop, pos, fifo in _endpoints(module, proc):
            _rewrite_endpoint(fop, pos, fifo, proc, sites)
    _drop_unused(module, net)
    pad_storage(module, entries=[process_symbol(p) for p in net.processes])
    # an endless kernel ends at the timeout (runtime.c: dsl_sim_poll); a nest known to end within the
    # CPU backend's budget needs no poll (one per PE step was a third of a decode layer's time)
    insert_polls(module, POLL, budget=CPU_BUDGET)
    _lower(module, schedule.top, checks)
    return module, [(p.index, f.index, is_put, loc) for p, f, is_put, loc in sites]


def token_bytes(fifo) -> int:
    """Bytes of one token of a FIFO travelling as a block, 0 for a scalar of at most 64 bits (a word)."""
    mtype = ir.MemRefType(fifo.mtype)
    width = _element_bytes(mtype.element_type, fifo)
    if fifo.block:
        return width * fifo.numel
    return width if _is_wide(mtype.element_type) else 0


def _is_wide(t) -> bool:
    return isinstance(t, ir.IntegerType) and t.width > 64


def _element_bytes(t, fifo) -> int:
    if isinstance(t, ir.IndexType):
        return 8
    if isinstance(t, ir.IntegerType):
        return storage_bytes(t.width)
    if str(t) in _FLOAT_BITS:
        return _FLOAT_BITS[str(t)] // 8
    raise StreamError(f"stream {fifo.label}: element type {t} is not supported by the simulator", fifo.loc)


def _specialise(module, net):
    """One function per process (a copy of the callee), so that stream rewriting is per call site."""
    funcs = func_table(module)
    for proc in net.processes:
        clone = funcs[proc.callee].operation.clone(ip=ir.InsertionPoint(module.body))
        clone.attributes["sym_name"] = ir.StringAttr.get(process_symbol(proc))
        proc.function = clone


def _endpoints(module, proc) -> list:
    """(function, argument position, Fifo) of every function of this process that touches a FIFO: the
    process's own function and a private copy of each kernel it passes a stream to (recursively)."""
    funcs = func_table(module)
    found, counter = [], [0]

    def visit(fop, fifo_at):
        found.extend((fop, pos, fifo) for pos, fifo in fifo_at.items())
        block = fop.regions[0].blocks[0]
        for call in _calls(fop):
            passed = {k: fifo_at[v.arg_number] for k, v in enumerate(call.operands)
                      if isinstance(v, ir.BlockArgument) and v.owner == block and v.arg_number in fifo_at}
            if not passed:
                continue
            callee = ir.FlatSymbolRefAttr(call.attributes["callee"]).value
            counter[0] += 1
            clone = funcs[callee].operation.clone(ip=ir.InsertionPoint(module.body))
            name = f"{process_symbol(proc)}__{counter[0]}_{callee}"
            clone.attributes["sym_name"] = ir.StringAttr.get(name)
            call.attributes["callee"] = ir.FlatSymbolRefAttr.get(name)
            visit(clone, passed)

    visit(proc.function, {pos: ref for pos, (kind, ref) in enumerate(proc.operands) if kind == "fifo"})
    return found


def _calls(fop) -> list:
    found = []

    def walk(op):
        if op.operation.name == "func.call":
            found.append(op.operation)
        return ir.WalkResult.ADVANCE

    fop.operation.walk(walk)
    return found


def _declare_runtime(module):
    i64, i32 = ir.IntegerType.get_signless(64), ir.IntegerType.get_signless(32)
    table = ((PUT, [i64, i64, i32], []), (GET, [i64, i32], [i64]),
             (PUT_BLOCK, [i64, i64, i32], []), (GET_BLOCK, [i64, i64, i32], []))
    with ir.InsertionPoint(module.body), ir.Location.unknown():
        for name, inputs, results in table:
            f = func.FuncOp(name, ir.FunctionType.get(inputs, results))
            f.attributes["sym_visibility"] = ir.StringAttr.get("private")


def _rewrite_endpoint(fop, pos, fifo, proc, sites):
    block = fop.regions[0].blocks[0]
    arg = block.arguments[pos]
    uses = [_op(u.owner) for u in arg.uses]
    first = block.operations[0]
    with ir.InsertionPoint(first), ir.Location.unknown():
        handle = _address(arg)
        scratch = memref.AllocaOp(ir.MemRefType.get([1], ir.MemRefType(arg.type).element_type), [], []).result \
            if _is_wide(ir.MemRefType(arg.type).element_type) and not fifo.block else None
    for op in uses:
        if op.name == "func.call":  # handled in the callee's own copy
            continue
        site = len(sites)
        is_put = op.name.endswith("store") or (op.name == "memref.copy" and op.operands[1] == arg)
        sites.append((proc, fifo, is_put, loc_of(op)))
        _replace_access(op, arg, handle, site, fifo, scratch)


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def _address(buffer) -> ir.Value:
    """The address of a memref's first element as i64 (the FIFO handle, or where a block lies)."""
    i64 = ir.IntegerType.get_signless(64)
    mtype = ir.MemRefType(buffer.type)
    ptr = memref.ExtractAlignedPointerAsIndexOp(buffer).result
    layout = mtype.layout
    if isinstance(layout, ir.StridedLayoutAttr):
        expected, acc = [], 1
        for d in reversed(mtype.shape):
            expected.insert(0, acc)
            acc *= d
        if list(layout.strides) != expected:
            raise BuildError(f"the simulator streams contiguous blocks; got a view of layout {layout}")
        meta = memref.ExtractStridedMetadataOp(buffer)
        offset = meta.results[1]
        size = arith.ConstantOp(ir.IndexType.get(), _element_bytes(mtype.element_type, None)).result
        ptr = arith.AddIOp(ptr, arith.MulIOp(offset, size).result).result
    return arith.IndexCastOp(i64, ptr).result


def _replace_access(op, arg, handle, site, fifo, scratch):
    i32 = ir.IntegerType.get_signless(32)
    with ir.InsertionPoint(op), op.location:
        site_v = arith.ConstantOp(i32, site).result
        if op.name == "memref.copy":  # a block: straight from / into the kernel's buffer
            src, dst = op.operands
            is_put = dst == arg
            data = _address(src if is_put else dst)
            func.CallOp([], ir.FlatSymbolRefAttr.get(PUT_BLOCK if is_put else GET_BLOCK), [handle, data, site_v])
        elif scratch is not None:  # a scalar wider than a word: through a one-element buffer
            zero = arith.ConstantOp(ir.IndexType.get(), 0).result
            data = _address(scratch)
            if op.name.endswith("store"):
                memref.StoreOp(op.operands[0], scratch, [zero])
                func.CallOp([], ir.FlatSymbolRefAttr.get(PUT_BLOCK), [handle, data, site_v])
            else:
                func.CallOp([], ir.FlatSymbolRefAttr.get(GET_BLOCK), [handle, data, site_v])
                op.results[0].replace_all_uses_with(memref.LoadOp(scratch, [zero]).result)
        elif op.name.endswith("store"):
            word = _to_word(op.operands[0], fifo)
            func.CallOp([], ir.FlatSymbolRefAttr.get(PUT), [handle, word, site_v])
        else:
            call = func.CallOp([ir.IntegerType.get_signless(64)], ir.FlatSymbolRefAttr.get(GET), [handle, site_v])
            op.results[0].replace_all_uses_with(_from_word(call.results[0], op.results[0].type, fifo))
    op.erase()


def _carrier(t, fifo):
    """(integer carrier width, needs bitcast) of an element type travelling as a 64-bit word."""
    if isinstance(t, ir.IndexType):
        return 64, "index"
    if isinstance(t, ir.IntegerType):
        return t.width, None
    if str(t) in _FLOAT_BITS:
        return _FLOAT_BITS[str(t)], "float"
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
    keep = {process_symbol(p) for p in net.processes} | {PUT, GET, PUT_BLOCK, GET_BLOCK}
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
        read_fields_from_limbs(module)  # unpacking a weight word: limb reads, not i512 shifts
        PassManager.parse(f"builtin.module({LOWERING})").run(module.operation)
    except Exception as exc:
        raise BuildError(f"lowering the dataflow design {top!r} for the simulator failed: {exc}") from None
