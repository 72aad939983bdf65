"""Compiled kernels that can be stopped: polls at the back-edges that may run without end.

A kernel is native code; once called, nothing outside it can stop it except the kernel itself. So the
JIT's private copy of the module polls at each iteration of every ``while`` loop (the only loop that can
run forever), of every counted loop that holds another loop or a call (so a long nest stops within one
innermost loop), and after each call of a kernel function. Innermost counted loops are left alone: they
are the hot loops the CPU path vectorises, and each runs a bounded number of iterations.

``insert_polls`` places a call of a marker function; each backend turns it into its own poll:
* the CPU backend (``lower_early_returns``): a volatile load of a stop word; when it holds the id of the
  thread running the kernel, the function returns at once (with zero results) and so does every caller,
  up to Python, which raises ``BuildError`` (timeout) or ``KeyboardInterrupt`` and leaves the caller's
  arrays as they were. A running kernel costs one load and one predictable branch per poll.
* the simulator: a call of the runtime's ``dsl_sim_poll``, which abandons the coroutines on a timeout.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, cf, func, llvm

from ..frontend.narrow import walk_ops

CPU_MARKER = "dsl_cpu_poll"
STOP_WORD = "dsl_cpu_stop"  # an i64 the Python side owns: the id of the thread to stop, or 0
_LOOPS = ("affine.for", "scf.for", "scf.while", "scf.parallel", "affine.parallel")


def insert_polls(module: ir.Module, marker: str, after_calls: bool = False) -> int:
    """Call ``marker`` (a declared ``() -> ()`` function) at every poll point; returns how many."""
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
             if op.operation.name == "func.func"}
    points = []
    for fop in funcs.values():
        for op in walk_ops(fop.operation):
            if op.name == "scf.while":
                points.append(("start", op.regions[0].blocks[0]))
            elif op.name in ("affine.for", "scf.for") and _holds_loop_or_call(op):
                points.append(("start", op.regions[0].blocks[0]))
            elif after_calls and op.name == "func.call":
                callee = funcs.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
                if callee is not None and callee.regions[0].blocks:
                    points.append(("after", op))
    if not points:
        return 0
    with ir.Location.unknown():
        with ir.InsertionPoint.at_block_begin(module.body):
            func.FuncOp(marker, ir.FunctionType.get([], []), visibility="private")
        for where, at in points:
            ip = ir.InsertionPoint.at_block_begin(at) if where == "start" else ir.InsertionPoint.after(at)
            with ip:
                func.CallOp([], ir.FlatSymbolRefAttr.get(marker), [])
    return len(points)


def _holds_loop_or_call(loop) -> bool:
    return any(op.name in _LOOPS or op.name == "func.call" for op in walk_ops(loop))


# -- the CPU backend's poll: return early when asked to stop -------------------------------------------

def lower_early_returns(module: ir.Module) -> None:
    """Replace each call of ``CPU_MARKER`` (in functions already in CFG form: after convert-scf-to-cf) by
    a test of ``STOP_WORD`` that returns from the function when it holds the running thread's id."""
    calls = [op for op in walk_ops(module.operation) if op.name == "func.call"
             and ir.FlatSymbolRefAttr(op.attributes["callee"]).value == CPU_MARKER]
    if not calls:
        return
    i64 = ir.IntegerType.get_signless(64)
    with ir.Location.unknown():
        with ir.InsertionPoint.at_block_begin(module.body):
            llvm.GlobalOp(i64, STOP_WORD, ir.Attribute.parse("#llvm.linkage<external>"))
            func.FuncOp("pthread_self", ir.FunctionType.get([], [i64]), visibility="private")
        bails = {}
        for call in calls:
            fop = _enclosing_func(call)
            key = ir.StringAttr(fop.attributes["sym_name"]).value
            if key not in bails:
                bails[key] = _bail_block(fop)
            _split_at_poll(call, bails[key], i64)
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == CPU_MARKER:
            op.operation.erase()
            break


def _enclosing_func(op):
    while op.name != "func.func":
        op = op.parent
    return op


def _bail_block(fop):
    """A block at the end of ``fop`` that returns zero for each result."""
    region = fop.regions[0]
    last = list(region.blocks)[-1]
    block = last.create_after()
    results = ir.FunctionType(ir.TypeAttr(fop.attributes["function_type"]).value).results
    with ir.InsertionPoint(block):
        func.ReturnOp([_zero(t) for t in results])
    return block


def _zero(t):
    if isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)):
        return arith.constant(t, 0.0)
    return arith.constant(t, ir.IntegerAttr.get(t, 0))


def _split_at_poll(call, bail, i64):
    """block: [..., poll, rest...]  ->  block: [..., stop?] check: [me?] rest: [rest...]"""
    block = call.block
    rest = block.create_after()
    check = block.create_after()
    following, seen = [], False
    for op in block.operations:
        if seen:
            following.append(op.operation)
        seen = seen or op.operation == call
    for op in following:
        rest.append(op)
    with ir.InsertionPoint(block), call.location:
        address = llvm.AddressOfOp(llvm.PointerType.get(), STOP_WORD).result
        word = llvm.LoadOp(i64, address, volatile_=True).result
        asked = arith.cmpi(arith.CmpIPredicate.ne, word, arith.constant(i64, 0))
        cf.CondBranchOp(asked, [], [], check, rest)
    with ir.InsertionPoint(check), call.location:
        me = func.CallOp([i64], ir.FlatSymbolRefAttr.get("pthread_self"), []).results[0]
        cf.CondBranchOp(arith.cmpi(arith.CmpIPredicate.eq, word, me), [], [], bail, rest)
    call.erase()
