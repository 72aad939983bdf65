"""What the CPU loop interchange (``cpu_opt``) must prove before it sinks a loop below a reduction.

``for j: for k: body`` may become ``for k: for j: body`` when no iteration ``j`` depends on another: then
each ``j`` still sees its ``k`` iterations in order and nothing else changes. A ``dsl.reduction`` marks
``k``, but nothing marks ``j`` as parallel (``S[i + 1] += S[i] + A[i, k]`` is written with plain ``range``),
so this module proves it: every buffer the body writes is accessed through one affine index, identical at
every access, that moves with ``j`` and not with ``k`` (distinct ``j`` touch distinct elements), and no
other buffer the body touches may share its memory. Anything it cannot prove leaves the loops alone.
"""
from __future__ import annotations

from mlir import ir

from ..frontend.narrow import walk_ops

_ALLOWED_DIALECTS = ("arith.", "math.", "index.")
_ALLOWED = ("affine.load", "affine.store", "memref.load", "memref.store", "affine.apply", "affine.if",
            "affine.yield", "scf.if", "scf.yield", "affine.min", "affine.max")
_VIEWS = ("memref.subview", "memref.cast", "memref.reinterpret_cast", "memref.view")


def independent_iterations(outer, inner) -> bool:
    """Whether the iterations of ``outer`` (whose body is the loop ``inner``) are independent."""
    j = outer.regions[0].blocks[0].arguments[0]
    k = inner.regions[0].blocks[0].arguments[0]
    ops = list(walk_ops(inner.operation))
    if any(not (op.name in _ALLOWED or op.name.startswith(_ALLOWED_DIALECTS)) for op in ops):
        return False
    accesses = [op for op in ops if op.name in ("affine.load", "affine.store", "memref.load", "memref.store")]
    written = {_memref(op) for op in accesses if op.name.endswith("store")}
    first = {}
    for op in accesses:
        mem = _memref(op)
        if mem in written:
            if op.name.startswith("memref.") or not _moves_with(op, j, k, outer):
                return False
            if not _same_access(op, first.setdefault(mem, op)):
                return False
    touched = {_memref(op) for op in accesses}
    top = _is_top(outer)
    return not any(w != other and _may_alias(w, other, top) for w in written for other in touched)


def _memref(op):
    return op.operands[1] if op.name.endswith("store") else op.operands[0]


def _map_operands(op):
    return list(op.operands)[2:] if op.name.endswith("store") else list(op.operands)[1:]


def _same_access(a, b) -> bool:
    return str(a.attributes["map"]) == str(b.attributes["map"]) and \
        all(x == y for x, y in zip(_map_operands(a), _map_operands(b)))


def _moves_with(op, j, k, outer) -> bool:
    """Some index of the access is a linear function of ``j`` (non-zero coefficient) not involving ``k``,
    and every other index operand is fixed while the two loops run."""
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    operands = _map_operands(op)
    roles = []
    for v in operands:
        if v == j:
            roles.append("j")
        elif v == k:
            roles.append("k")
        elif _defined_outside(v, outer):
            roles.append("fixed")
        else:
            return False
    for expr in amap.results:
        form = _linear(expr, amap.n_dims)
        if form is None:
            continue
        coef = {role: 0 for role in ("j", "k")}
        for position, c in form.items():
            if position is not None and roles[position] in coef:
                coef[roles[position]] += c
        if coef["j"] != 0 and coef["k"] == 0:
            return True
    return False


def _linear(expr, n_dims):
    """{operand position: coefficient} (None for the constant term) of a linear affine expression, else
    None (floordiv, mod, products of dimensions)."""
    expr = expr.maybe_downcast()
    if isinstance(expr, ir.AffineDimExpr):
        return {expr.position: 1}
    if isinstance(expr, ir.AffineSymbolExpr):
        return {n_dims + expr.position: 1}
    if isinstance(expr, ir.AffineConstantExpr):
        return {None: expr.value}
    if not isinstance(expr, (ir.AffineAddExpr, ir.AffineMulExpr)):
        return None
    lhs, rhs = _linear(expr.lhs, n_dims), _linear(expr.rhs, n_dims)
    if lhs is None or rhs is None:
        return None
    if isinstance(expr, ir.AffineAddExpr):
        return {p: lhs.get(p, 0) + rhs.get(p, 0) for p in set(lhs) | set(rhs)}
    for const, other in ((lhs, rhs), (rhs, lhs)):
        if set(const) == {None}:
            return {p: c * const[None] for p, c in other.items()}
    return None


def _defined_outside(value, loop) -> bool:
    """Whether ``value`` is defined outside ``loop`` (so fixed while it runs)."""
    owner = value.owner
    op = owner.owner if isinstance(owner, ir.Block) else owner
    op = op.operation if hasattr(op, "operation") else op
    while op is not None:
        if op == loop.operation:
            return False
        parent = op.parent
        op = parent.operation if parent is not None and hasattr(parent, "operation") else parent
    return True


def _root(value):
    """The buffer a memref value is a view of: (kind, identity)."""
    while True:
        owner = value.owner
        if isinstance(owner, ir.Block):
            return "arg", value
        op = owner.operation if hasattr(owner, "operation") else owner
        if op.name in _VIEWS:
            value = op.operands[0]
            continue
        if op.name == "memref.get_global":
            return "global", str(op.attributes["name"])
        return ("alloc" if op.name in ("memref.alloc", "memref.alloca") else "other"), value


def _may_alias(a, b, top: bool) -> bool:
    (ka, ia), (kb, ib) = _root(a), _root(b)
    if "other" in (ka, kb):
        return True
    if ka != kb:  # allocations are fresh; top-level arguments are buffers of their own, not globals
        return not top and {ka, kb} == {"arg", "global"}
    if ka == "global":
        return ia == ib
    if ka == "alloc":
        return ia == ib
    return ia == ib or not top  # two arguments of a callee may be the same buffer


def _is_top(loop) -> bool:
    op = loop.operation
    while op is not None and op.name != "func.func":
        parent = op.parent
        op = parent.operation if parent is not None and hasattr(parent, "operation") else parent
    return op is not None and "dsl.top" in op.attributes
