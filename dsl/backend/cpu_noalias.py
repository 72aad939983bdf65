"""CPU-only: LLVM's ``noalias`` on the buffer arguments of private functions that never share memory.

A helper such as the PE step (``pe_step(At[k], Bt[k], C)``) receives its buffers as plain pointers, so
LLVM must assume that storing into ``C`` may change ``a`` or ``b``: it re-reads them and guards every
vectorised row with run-time overlap checks (in the float PE tile about three times the work of the
row's arithmetic). Where the module proves that an argument's buffer is distinct from every other buffer
argument at every call, the argument gets ``llvm.noalias``; LLVM then drops the checks. Nothing about
the operations or their order changes.

What counts as proven: following each call operand through views (subview, cast) to its root, the roots
are allocations, arguments of the top function, or (recursively) arguments of a private function whose
every call is known. Two operands are distinct when their sets of possible roots do not meet. Top-level
arguments are separate buffers (the call boundary copies a written input that overlaps another argument;
read-only arguments may share memory, which ``noalias`` allows). Globals, unknown values and functions
without calls in the module are never marked.
"""
from __future__ import annotations

from mlir import ir

from ..frontend.narrow import walk_ops

NOALIAS = "llvm.noalias"
_VIEWS = ("memref.subview", "memref.cast", "memref.reinterpret_cast", "memref.collapse_shape",
          "memref.expand_shape", "memref.view")


def distinct_arguments(module: ir.Module) -> dict:
    """{private function: [(argument index, buffer rank or None for a scalar), ...] of all its arguments,
    and the set of provably distinct buffer arguments}: what ``mark`` needs after lowering."""
    roots = module_roots(module)
    funcs, calls = roots.funcs, roots.calls
    plan = {}
    for name, fop in funcs.items():
        if "dsl.top" in fop.attributes or not calls[name]:
            continue
        buffers = [n for n, arg in enumerate(fop.arguments) if isinstance(arg.type, ir.MemRefType)]
        distinct = {n for n in buffers if all(_distinct_at(call, n, buffers, roots) for call in calls[name])}
        if distinct:
            ranks = [ir.MemRefType(a.type).rank if isinstance(a.type, ir.MemRefType) else None
                     for a in fop.arguments]
            plan[name] = (ranks, distinct)
    return plan


def module_roots(module: ir.Module) -> "_Roots":
    """What each memref value of ``module`` may be a view of (``_Roots.of``), from its functions' calls."""
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
             if op.operation.name == "func.func" and len(op.regions[0].blocks)}
    calls = {name: [] for name in funcs}
    for fop in funcs.values():
        for op in walk_ops(fop.operation):
            if op.name == "func.call":
                callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
                if callee in calls:
                    calls[callee].append(op)
    return _Roots(funcs, calls)


def mark(llvm_module: ir.Module, plan: dict) -> int:
    """Put ``noalias`` on the allocated and aligned pointers of each planned argument of the lowered
    functions (a buffer of rank r is passed as 3 + 2r values: two pointers, offset, sizes, strides; the
    ``llvm.noalias`` of a ``func.func`` argument reaches only the C-interface wrapper). A function whose
    lowered arguments do not add up is left alone. Returns how many arguments were marked."""
    marked = 0
    for op in llvm_module.body.operations:
        if op.operation.name != "llvm.func":
            continue
        entry = plan.get(ir.StringAttr(op.attributes["sym_name"]).value)
        if entry is None:
            continue
        ranks, distinct = entry
        slots = [1 if r is None else 3 + 2 * r for r in ranks]
        count = len(op.regions[0].blocks[0].arguments) if len(op.regions[0].blocks) else -1
        if sum(slots) != count:
            continue
        pointers, start = set(), 0
        for n, width in enumerate(slots):
            if n in distinct:
                pointers |= {start, start + 1}
            start += width
        _add_noalias(op, pointers, count)
        marked += len(distinct)
    return marked


def _distinct_at(call, n, buffers, roots) -> bool:
    mine = roots.of(call.operands[n])
    if mine is None:
        return False
    for other in buffers:
        if other != n:
            theirs = roots.of(call.operands[other])
            if theirs is None or mine & theirs:
                return False
    return True


class _Roots:
    """The possible root buffers of a memref value: a frozenset of keys, or None when unknown."""

    def __init__(self, funcs, calls):
        self.funcs, self.calls, self.memo = funcs, calls, {}

    def of(self, value, visiting=frozenset()):
        while True:
            owner = value.owner
            if isinstance(owner, ir.Block):
                return self._of_argument(owner, value, visiting)
            op = owner.operation if hasattr(owner, "operation") else owner
            if op.name in _VIEWS:
                value = op.operands[0]
                continue
            if op.name in ("memref.alloc", "memref.alloca"):
                return frozenset([("alloc", op)])
            return None   # globals, call results, anything else

    def _of_argument(self, block, value, visiting):
        fop = block.owner
        fop = fop.operation if hasattr(fop, "operation") else fop
        if fop.name != "func.func":
            return None
        name = ir.StringAttr(fop.attributes["sym_name"]).value
        index = value.arg_number
        if "dsl.top" in fop.attributes:
            return frozenset([("top", index)])
        key = (name, index)
        if key in self.memo:
            return self.memo[key]
        if key in visiting or not self.calls.get(name):
            return None   # recursion or no known caller
        found = frozenset()
        for call in self.calls[name]:
            part = self.of(call.operands[index], visiting | {key})
            if part is None:
                found = None
                break
            found |= part
        self.memo[key] = found
        return found


def _add_noalias(fop, indices, count) -> None:
    old = fop.attributes["arg_attrs"] if "arg_attrs" in fop.attributes else None
    attrs = []
    for n in range(count):
        entries = {a.name: a.attr for a in ir.DictAttr(old[n])} if old is not None else {}
        if n in indices:
            entries[NOALIAS] = ir.UnitAttr.get()
        attrs.append(ir.DictAttr.get(entries))
    fop.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)
