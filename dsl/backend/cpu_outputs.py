"""Which output tensors a kernel provably writes in full before anything reads them (the CPU call boundary).

The CPU backend hands the kernel a fresh buffer for each returned tensor. A kernel that leaves elements of
it unwritten (or reads them first, as ``Z[i] += ...`` does) sees zeros, as the calling convention promises,
so the buffer is zero-filled: except where this analysis proves the fill useless, from the IR. Then the
buffer is left uninitialised (``np.empty``), which saves a pass over memory for memory-bound kernels.

The proof is deliberately narrow. Every use of the output argument must write it: a store or a copy into
it, or a call of a function of the module whose parameter is, by the same rule, only written (no load, no
view). And one use must write every element on every call: a ``memref.copy`` into it, a call whose
parameter is so covered, or a store whose subscripts are, one per dimension, the induction variables of
enclosing ``affine.for`` loops running exactly over that dimension (0 to its extent, step 1); every op
around that use, up to the function, must be an ``affine.for`` with constant bounds that runs at least
once (no branch, no ``while``, no loop whose trip count is known only at run time). Anything else keeps
the zeros.
"""
from __future__ import annotations

from mlir import ir

_STORES = ("affine.store", "memref.store")


def fully_written(fop) -> frozenset:
    """Names of ``fop``'s output arguments (``dsl.num_outputs``) that every call writes in full before
    reading them (call with the function's context active)."""
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
    n_out = ir.IntegerAttr(fop.attributes["dsl.num_outputs"]).value
    if not fop.regions[0].blocks or n_out == 0:
        return frozenset()
    proof = _Proof(_func_table(fop))
    args = list(fop.regions[0].blocks[0].arguments)
    return frozenset(names[k] for k in range(len(names) - n_out, len(names))
                     if isinstance(args[k].type, ir.MemRefType) and proof.only_written(fop, k)
                     and proof.covered(fop, k))


def _func_table(fop) -> dict:
    module = fop.operation.parent
    return {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.regions[0].blocks[0].operations
            if op.operation.name == "func.func"}


def _uses(value):
    return [(use.owner.operation if hasattr(use.owner, "operation") else use.owner, use.operand_number)
            for use in value.uses]


class _Proof:
    """Per argument of a function: whether every use writes it (``only_written``: stores into it, copies
    into it, calls whose parameter is only written), and whether one use always writes every element of
    it (``covered``: a covering store or copy, or a call that always runs whose parameter is covered)."""

    def __init__(self, funcs):
        self.funcs, self.memo = funcs, {}

    def _arg(self, fop, k):
        block = fop.regions[0].blocks[0] if fop.regions[0].blocks else None
        return None if block is None else list(block.arguments)[k]

    def _remember(self, what, fop, k, decide):
        key = (what, ir.StringAttr(fop.attributes["sym_name"]).value, k)
        if key not in self.memo:
            self.memo[key] = False  # a recursive call proves nothing
            arg = self._arg(fop, k)
            self.memo[key] = arg is not None and decide(arg)
        return self.memo[key]

    def _callee(self, call):
        return self.funcs.get(ir.FlatSymbolRefAttr(call.attributes["callee"]).value)

    def only_written(self, fop, k) -> bool:
        return self._remember("written", fop, k, lambda arg: all(self._writes(op, n) for op, n in _uses(arg)))

    def _writes(self, op, n) -> bool:
        if op.name in _STORES + ("memref.copy",):
            return n == 1
        callee = self._callee(op) if op.name == "func.call" else None
        return callee is not None and self.only_written(callee, n)

    def covered(self, fop, k) -> bool:
        return self._remember("covered", fop, k,
                              lambda arg: any(self._covers(op, n, arg, fop) for op, n in _uses(arg)))

    def _covers(self, op, n, arg, fop) -> bool:
        if not _always_runs(op, fop):
            return False
        if op.name == "memref.copy":
            return n == 1
        if op.name == "func.call":
            callee = self._callee(op)
            return callee is not None and self.covered(callee, n)
        return op.name in _STORES and n == 1 and _store_covers(op, arg)


def _store_covers(op, arg) -> bool:
    """Whether the store ``op`` into ``arg`` writes every element of it over the loops around it."""
    shape = ir.MemRefType(arg.type).shape
    indices = _subscripts(op)
    if indices is None or len(indices) != len(shape):
        return False
    loops = [_loop_of(v) for v in indices]
    if any(loop is None for loop in loops) or len({id(lp) for lp in loops}) != len(loops):
        return False
    return all(_bounds(loop) == (0, extent, 1) for loop, extent in zip(loops, shape))


def _subscripts(op):
    """The values indexing each dimension of the store (None when a subscript is not a bare operand)."""
    operands = list(op.operands)[2:]
    if op.name == "memref.store":
        return operands
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    values = []
    for expr in amap.results:
        dim = _cast(ir.AffineDimExpr, expr)
        if dim is None:
            return None
        values.append(operands[dim.position])
    return values


def _cast(kind, value):
    try:
        return kind(value)
    except (ValueError, TypeError):
        return None


def _loop_of(value):
    """The ``affine.for`` whose induction variable ``value`` is, else None."""
    value = _cast(ir.BlockArgument, value)
    if value is None:
        return None
    owner = value.owner.owner
    owner = owner.operation if hasattr(owner, "operation") else owner
    return owner if owner.name == "affine.for" and value.arg_number == 0 else None


def _constant(amap_attr):
    amap = ir.AffineMapAttr(amap_attr).value
    const = _cast(ir.AffineConstantExpr, amap.results[0]) if len(amap.results) == 1 and not amap.n_inputs else None
    return None if const is None else const.value


def _bounds(loop):
    """(lower, upper, step) of an ``affine.for`` with constant bounds, else None."""
    lo, hi = _constant(loop.attributes["lowerBoundMap"]), _constant(loop.attributes["upperBoundMap"])
    step = ir.IntegerAttr(loop.attributes["step"]).value
    return None if lo is None or hi is None else (lo, hi, step)


def _always_runs(op, fop) -> bool:
    """Every op enclosing ``op`` up to ``fop`` is an ``affine.for`` with constant bounds that iterates."""
    parent = op.parent
    while parent is not None and parent != fop.operation:
        if parent.name != "affine.for":
            return False
        bounds = _bounds(parent)
        if bounds is None or bounds[1] <= bounds[0]:
            return False
        parent = parent.parent
    return parent is not None
