"""Compiled kernels that can be stopped: polls at the back-edges that may run without end.

A kernel is native code; once called, nothing outside it can stop it except the kernel itself. So the
JIT's private copy of the module polls at each iteration of every ``while`` loop (the only loop that can
run forever) and of every counted loop that holds another loop or a call of a function that loops, unless
that whole loop is known to run at most ``CPU_BUDGET`` loop iterations (constant bounds all the way down,
its callees' included); and after each call of a function that polls (which may have returned early).
Innermost counted loops (a loop whose calls are all of loop-free functions, ``mathf.exp`` or a PE step,
counts as one, whatever its trip count), small constant nests and calls of loop-free functions stay free
of polls: a poll is an early return, and an exit inside a nest keeps LLVM from unrolling and vectorising it
(a poll after each ``gelu_tanh`` call made the library kernel 10x slower; one in softmax's exp loop over a
row's run-time length, 5x).

What is guaranteed: a stop takes effect within about ``CPU_BUDGET`` loop iterations of constant-bound
nests plus one run of an innermost loop (an innermost ``range(1 << 40)`` loop holding no loop or call
runs to its end: ``cpu_run`` then abandons the thread). Every ``while`` iteration polls. A kernel whose
whole call is known to run at most ``CPU_BUDGET`` iterations (``runs_at_most``) runs in the caller's
thread, without the worker thread a stoppable call costs.

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
CPU_BUDGET = 1 << 20  # loop iterations a nest without polls may run: about a millisecond


def insert_polls(module: ir.Module, marker: str, after_calls: bool = False, budget: int = 0) -> int:
    """Call ``marker`` (a declared ``() -> ()`` function) at every poll point; returns how many.

    A counted loop that holds another loop or a call polls at each iteration unless the whole loop is known
    to run at most ``budget`` loop iterations (constant bounds all the way down, callees included): such a
    nest ends soon anyway, and the poll of the loop around it (or of its caller) stops it."""
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
             if op.operation.name == "func.func"}
    work = _Work(funcs)
    points = []
    for fop in funcs.values():
        for op in walk_ops(fop.operation):
            if op.name == "scf.while":
                points.append(("start", op.regions[0].blocks[0]))
            elif op.name in ("affine.for", "scf.for") and _holds_loop_or_call(op, work) \
                    and not work.at_most(op, budget):
                points.append(("start", op.regions[0].blocks[0]))
    polling = {name for name, fop in funcs.items() if any(_within(fop, at) for _, at in points)}
    polling = _callers_closure(funcs, polling) if after_calls else polling
    for fop in funcs.values():
        for op in walk_ops(fop.operation):
            if after_calls and op.name == "func.call" and _callee(op) in polling:
                points.append(("after", op))  # only a callee that polls can return early
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


def runs_at_most(module: ir.Module, top: str, budget: int) -> bool:
    """Whether a call of ``top`` is known to run at most ``budget`` loop iterations (no ``while``, constant
    bounds everywhere): such a call ends within about a millisecond and needs no stopping."""
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
             if op.operation.name == "func.func"}
    work = _Work(funcs).of_func(top)
    return work is not None and work <= budget


def _callee(call) -> str:
    return ir.FlatSymbolRefAttr(call.attributes["callee"]).value


def _within(fop, block) -> bool:
    op = block.owner.operation
    while op is not None and op.name != "func.func":
        op = op.parent.operation if op.parent is not None else None
    return op is not None and op == fop.operation


def _callers_closure(funcs, polling):
    """Functions that poll, directly or through a callee that polls (and so may return early)."""
    polling = set(polling)
    changed = True
    while changed:
        changed = False
        for name, fop in funcs.items():
            if name not in polling and any(op.name == "func.call" and _callee(op) in polling
                                           for op in walk_ops(fop.operation)):
                polling.add(name)
                changed = True
    return polling


def _holds_loop_or_call(loop, work) -> bool:
    """Whether ``loop`` holds another loop, or a call of a function that may loop (a call of a loop-free
    function, ``mathf.exp`` say, is a few operations: the loop around it is an innermost loop, whatever its
    trip count, and a poll in it would keep LLVM from vectorising it)."""
    return any(op.name in _LOOPS or op.name == "func.call" and work.of_func(_callee(op)) != 0
               for op in walk_ops(loop))


class _Work:
    """Loop iterations an op runs at most, when its bounds (and its callees') are constants; else None."""

    def __init__(self, funcs):
        self.funcs, self.memo = funcs, {}

    def at_most(self, op, budget) -> bool:
        n = self.of_op(op)
        return n is not None and n <= budget

    def of_op(self, op):
        name = op.name
        if name == "func.call":
            return self.of_func(_callee(op))
        if name in ("affine.for", "scf.for"):
            trips, body = _trip_count(op), self.of_regions(op)
            return None if trips is None or body is None else trips * (1 + body)
        if name in _LOOPS:  # while, parallel: unknown
            return None
        return self.of_regions(op)

    def of_regions(self, op):
        total = 0
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    n = self.of_op(inner.operation)
                    if n is None:
                        return None
                    total += n
        return total

    def of_func(self, name):
        if name not in self.memo:
            fop = self.funcs.get(name)
            self.memo[name] = None  # recursion: unknown
            if fop is not None and fop.regions[0].blocks:
                self.memo[name] = self.of_regions(fop.operation)
            elif fop is not None:
                self.memo[name] = 0  # an external function (libm): no loops of ours
        return self.memo[name]


def _trip_count(loop):
    if loop.name == "affine.for":
        lb, ub = (_constant_map(loop.attributes[k]) for k in ("lowerBoundMap", "upperBoundMap"))
        step = ir.IntegerAttr(loop.attributes["step"]).value
    else:
        lb, ub, step = (_constant_value(v) for v in list(loop.operands)[:3])
    if lb is None or ub is None or not step:
        return None
    return max(0, -(-(ub - lb) // step))


def _constant_map(attr):
    amap = ir.AffineMapAttr(attr).value
    if amap.n_inputs or len(amap.results) != 1:
        return None
    try:
        return ir.AffineConstantExpr(amap.results[0]).value
    except (ValueError, TypeError):
        return None


def _constant_value(value):
    owner = value.owner
    if not isinstance(owner, ir.Operation) and hasattr(owner, "operation"):
        owner = owner.operation
    if not isinstance(owner, ir.Operation) or owner.name != "arith.constant":
        return None
    try:
        return ir.IntegerAttr(owner.attributes["value"]).value
    except (ValueError, TypeError):
        return None


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
