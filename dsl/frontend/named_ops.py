"""Kernel-side expansion of Allo's named tensor operations (user functions in ``lang_ops.py``): each is a
loop nest over fresh local buffers, so schedules and backends see ordinary loops. ``name="gemm"`` names the
band the operation makes (several bands: ``gemm``, ``gemm_1``, ...).

Registered in ``calls.INTRINSICS`` by the Python object, like every other intrinsic.
"""
from __future__ import annotations

import ast
import math as pymath

from mlir import ir
from mlir.dialects import arith, math

from ..errors import CallError, DSLTypeError, ShapeError
from ..types import DSLType, TensorType, float32, index, int32
from . import builder, lang, lang_ops, typing_rules
from .calls import INTRINSICS
from .tensor_ops import _sum_type, broadcast_shape
from .values import Literal, Scalar, Tensor

REQUIRED = object()
d = ir.AffineDimExpr.get
c = ir.AffineConstantExpr.get


# -- arguments ------------------------------------------------------------------------------------------

def bind(fc, node, what, params):
    """{parameter: AST node or default} for a call of ``what(params...)`` (positional or keyword)."""
    names = [p for p, _ in params]
    if len(node.args) > len(params):
        raise CallError(f"{what}() takes at most {len(params)} argument(s) ({', '.join(names)}), got "
                        f"{len(node.args)}", fc.loc(node))
    out = dict(zip(names, node.args))
    for kw in node.keywords:
        if kw.arg not in names:
            raise CallError(f"{what}() has no argument '{kw.arg}'; it takes {', '.join(names)}", fc.loc(kw))
        if kw.arg in out:
            raise CallError(f"{what}() got '{kw.arg}' twice", fc.loc(kw))
        out[kw.arg] = kw.value
    for name, default in params:
        if name not in out:
            if default is REQUIRED:
                raise CallError(f"{what}() is missing its argument '{name}'", fc.loc(node))
            out[name] = default
    return out


def static(fc, value):
    """A compile-time argument (an axis, a shape, a band name): Python's value."""
    return fc._python_arg(value) if isinstance(value, ast.AST) else value


def tensor_arg(fc, value, node, what) -> Tensor:
    v = fc.expr(value) if isinstance(value, ast.AST) else value
    if not isinstance(v, Tensor):
        from .values import describe as _describe

        raise DSLTypeError(f"{what} needs a tensor, got {_describe(v)}", fc.loc(node))
    return v


def _axis(fc, axis, rank, node, what):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise DSLTypeError(f"{what}: axis must be an int, got {axis!r}", fc.loc(node))
    if not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} is out of range for a tensor of rank {rank}", fc.loc(node))
    return axis % rank


# -- naming the bands an operation makes ----------------------------------------------------------------

def _block_ops():
    return [op.operation for op in ir.InsertionPoint.current.block.operations]


def named(fc, name, build):
    """Run ``build()``; of the loop nests it adds to the current block the last (the one computing the
    result) gets the band name ``name``, those before it ``name_0``, ``name_1``, ..."""
    before = _block_ops()
    result = build()
    if name is not None:
        if not isinstance(name, str) or not name:
            raise DSLTypeError(f"name= must be a non-empty string, got {name!r}", fc.loc(fc.current_node))
        new = [op for op in _block_ops() if op.name == "affine.for" and not any(op == b for b in before)]
        for k, op in enumerate(new):
            op.attributes["op_name"] = ir.StringAttr.get(name if k == len(new) - 1 else f"{name}_{k}")
    return result


# -- elementwise --------------------------------------------------------------------------------------

def _elementwise(op):
    def handler(fc, node):
        a = bind(fc, node, op.lower(), [("lhs", REQUIRED), ("rhs", REQUIRED), ("name", None)])
        lhs, rhs = fc.expr(a["lhs"]), fc.expr(a["rhs"])
        if not isinstance(lhs, Tensor) and not isinstance(rhs, Tensor):
            return fc.binop(op, lhs, rhs, node)
        return named(fc, static(fc, a["name"]), lambda: fc.tensor_binop(op, lhs, rhs, node))

    return handler


def _copy(fc, node):
    a = bind(fc, node, "copy", [("x", REQUIRED), ("name", None)])
    x = fc.expr(a["x"])
    if not isinstance(x, Tensor):
        return x
    return named(fc, static(fc, a["name"]), lambda: fc.tensor_map(x, lambda v: v, node))


def _power(fc, node):
    a = bind(fc, node, "power", [("x", REQUIRED), ("y", REQUIRED), ("name", None)])
    x, y = fc.expr(a["x"]), fc.expr(a["y"])
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        return fc.binop("Pow", x, y, node)
    return named(fc, static(fc, a["name"]), lambda: fc.tensor_binop("Pow", x, y, node))


# -- matrix products ----------------------------------------------------------------------------------

def batched_matmul(fc, a: Tensor, b: Tensor, node, name=None) -> Tensor:
    """numpy's ``matmul`` for operands of any rank >= 1: batch dimensions broadcast, a 1-D operand is a
    vector (its dimension is dropped from the result)."""
    ra, rb = a.ttype.rank, b.ttype.rank
    if ra == 1 and rb == 1:
        raise ShapeError("matmul of two vectors is a scalar: write dsl.sum(a * b)", fc.loc(node))
    k_a = a.shape[-1]
    k_b = b.shape[0] if rb == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: the inner dimensions differ: {list(a.shape)} @ {list(b.shape)}", fc.loc(node))
    batch = broadcast_shape(a.shape[:-2] if ra > 2 else (), b.shape[:-2] if rb > 2 else (), fc.loc(node))
    m = () if ra == 1 else (a.shape[-2],)
    n = () if rb == 1 else (b.shape[-1],)
    prod_t = typing_rules.binary_result_type("Mult", a.dtype, b.dtype)
    acc_t = _sum_type(prod_t, k_a)
    out = fc.alloc_tensor(TensorType(acc_t, batch + m + n), fc.new_name())
    nb = len(batch)
    i_dim, j_dim = nb, nb + len(m)
    k_dim = nb + len(m) + len(n)

    def batch_exprs(t):
        lead = nb - (t.ttype.rank - 2)
        return [c(0) if t.shape[q] == 1 and batch[lead + q] != 1 else d(lead + q) for q in range(t.ttype.rank - 2)]

    a_idx = [d(k_dim)] if ra == 1 else batch_exprs(a) + [d(i_dim), d(k_dim)]
    b_idx = [d(k_dim)] if rb == 1 else batch_exprs(b) + [d(k_dim), d(j_dim)]
    out_idx = [d(q) for q in range(k_dim)]

    def build():
        fc.assign_tensor(out, Literal(0), node)

        def body(ivs):
            x, y = fc._load_at(a, ivs, a_idx), fc._load_at(b, ivs, b_idx)
            acc = fc._load_at(out, ivs, out_idx)
            s = fc.binop("Add", acc, fc.binop("Mult", x, y, node), node)
            fc._store_at(fc.coerce(s, acc_t, node), out, ivs, out_idx)

        names = [f"b{q}" for q in range(nb)] + ["i"] * len(m) + ["j"] * len(n) + ["k"]
        fc.static_nest(names, batch + m + n + (k_a,), body, band=f"S_{out.name}_matmul", reductions=(k_dim,))
        return out

    return named(fc, name, build)


def _matmul(fc, node):
    a = bind(fc, node, "matmul", [("lhs", REQUIRED), ("rhs", REQUIRED), ("name", None)])
    lhs, rhs = tensor_arg(fc, a["lhs"], node, "matmul"), tensor_arg(fc, a["rhs"], node, "matmul")
    name = static(fc, a["name"])
    if lhs.ttype.rank == 2 and rhs.ttype.rank == 2:
        return named(fc, name, lambda: fc.matmul(lhs, rhs, node))
    return batched_matmul(fc, lhs, rhs, node, name)


def _bmm(fc, node):
    a = bind(fc, node, "bmm", [("lhs", REQUIRED), ("rhs", REQUIRED), ("name", None)])
    lhs, rhs = tensor_arg(fc, a["lhs"], node, "bmm"), tensor_arg(fc, a["rhs"], node, "bmm")
    if lhs.ttype.rank != 3 or rhs.ttype.rank != 3 or lhs.shape[0] != rhs.shape[0]:
        raise ShapeError(f"bmm needs 3-D operands with the same batch size, (B, M, K) and (B, K, N); got "
                         f"{list(lhs.shape)} and {list(rhs.shape)} (dsl.matmul broadcasts any rank)", fc.loc(node))
    return batched_matmul(fc, lhs, rhs, node, static(fc, a["name"]))


def transpose(fc, x: Tensor, axes, node) -> Tensor:
    axes = tuple(range(x.ttype.rank))[::-1] if axes is None else tuple(axes)
    if sorted(axes) != list(range(x.ttype.rank)):
        raise ShapeError(f"transpose axes {axes} are not a permutation of {x.ttype.rank} dims", fc.loc(node))
    out = fc.alloc_tensor(TensorType(x.dtype, tuple(x.shape[q] for q in axes)), fc.new_name())
    inverse = [axes.index(q) for q in range(len(axes))]
    fc.fill_nest(out, lambda ivs: fc._load_at(x, ivs, [d(inverse[q]) for q in range(len(axes))]), node)
    return out


def _linear(fc, node):
    a = bind(fc, node, "linear", [("X", REQUIRED), ("W", REQUIRED), ("bias", None), ("name", None)])
    X, W = tensor_arg(fc, a["X"], node, "linear"), tensor_arg(fc, a["W"], node, "linear")
    if W.ttype.rank != 2 or X.shape[-1] != W.shape[1]:
        raise ShapeError(f"linear(X, W) needs W of shape (out_features, {X.shape[-1]}), got {list(W.shape)}",
                         fc.loc(node))
    bias = fc.expr(a["bias"]) if isinstance(a["bias"], ast.AST) else None

    def build():
        out = batched_matmul(fc, X, transpose(fc, W, None, node), node)
        return out if bias is None else fc.tensor_binop("Add", out, bias, node)

    return named(fc, static(fc, a["name"]), build)


# -- reductions along an axis -------------------------------------------------------------------------

def _index(rank, axis, ivs_order):
    """Affine exprs into a tensor of ``rank`` for loop ivs ordered as ``ivs_order`` (original dims)."""
    return [d(ivs_order.index(q)) for q in range(rank)]


def softmax_tensor(fc, x: Tensor, axis: int, node) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis`` (max subtracted for range, as numpy code does)."""
    t = x.dtype if x.dtype.is_float else float32
    rank = x.ttype.rank
    kept = [q for q in range(rank) if q != axis]
    order = kept + [axis]
    kept_shape = tuple(x.shape[q] for q in kept) or (1,)
    red_idx = [d(k) for k in range(len(kept))] if kept else [c(0)]
    x_idx = _index(rank, axis, order)
    names = [f"i{k}" for k in range(len(kept))] + ["r"]
    extents = [x.shape[q] for q in order]
    mx = fc.alloc_tensor(TensorType(t, kept_shape), fc.new_name("max"))
    total = fc.alloc_tensor(TensorType(t, kept_shape), fc.new_name("sum"))
    out = fc.alloc_tensor(TensorType(t, x.shape), fc.new_name())
    first = [c(0) if q == axis else d(kept.index(q)) for q in range(rank)]
    fc.static_nest(names[:-1] or ["i0"], kept_shape, lambda ivs: fc._store_at(
        fc.coerce(fc._load_at(x, ivs, first if kept else [c(0)] * rank), t, node), mx, ivs, red_idx),
        band=f"S_{mx.name}_init")
    fc.assign_tensor(total, Literal(0.0), node)

    def find_max(ivs):
        cur = fc.scalar_minmax("Max", fc._load_at(mx, ivs, red_idx), fc._load_at(x, ivs, x_idx), node)
        fc._store_at(fc.coerce(cur, t, node), mx, ivs, red_idx)

    def exp_sum(ivs):
        v = Scalar(fc.coerce(fc._load_at(x, ivs, x_idx), t, node), t)
        e = Scalar(math.exp(fc.coerce(fc.binop("Sub", v, fc._load_at(mx, ivs, red_idx), node), t)), t)
        fc._store_at(e.value, out, ivs, x_idx)
        fc._store_at(fc.coerce(fc.binop("Add", fc._load_at(total, ivs, red_idx), e, node), t, node), total, ivs,
                     red_idx)

    def normalise(ivs):
        q = fc.binop("Div", fc._load_at(out, ivs, x_idx), fc._load_at(total, ivs, red_idx), node)
        fc._store_at(fc.coerce(q, t, node), out, ivs, x_idx)

    reductions = (len(kept),)
    fc.static_nest(names, extents, find_max, band=f"S_{out.name}_max", reductions=reductions)
    fc.static_nest(names, extents, exp_sum, band=f"S_{out.name}_exp", reductions=reductions)
    fc.static_nest(names, extents, normalise, band=f"S_{out.name}_norm")
    return out


def _softmax(fc, node):
    a = bind(fc, node, "softmax", [("x", REQUIRED), ("axis", -1), ("name", None)])
    x = tensor_arg(fc, a["x"], node, "softmax")
    axis = _axis(fc, static(fc, a["axis"]), x.ttype.rank, node, "softmax")
    return named(fc, static(fc, a["name"]), lambda: softmax_tensor(fc, x, axis, node))


def _layernorm(fc, node):
    a = bind(fc, node, "layernorm", [("x", REQUIRED), ("gamma", REQUIRED), ("beta", REQUIRED), ("eps", 1e-5),
                                     ("name", None)])
    x = tensor_arg(fc, a["x"], node, "layernorm")
    gamma, beta = fc.expr(a["gamma"]), fc.expr(a["beta"])
    eps = static(fc, a["eps"])
    t = x.dtype if x.dtype.is_float else float32
    rank, n = x.ttype.rank, x.shape[-1]
    kept_shape = tuple(x.shape[:-1]) or (1,)
    red_idx = [d(k) for k in range(rank - 1)] if rank > 1 else [c(0)]
    x_idx = [d(k) for k in range(rank)]
    names = [f"i{k}" for k in range(rank - 1)] + ["r"]

    def build():
        mean = fc.alloc_tensor(TensorType(t, kept_shape), fc.new_name("mean"))
        var = fc.alloc_tensor(TensorType(t, kept_shape), fc.new_name("var"))
        out = fc.alloc_tensor(TensorType(t, x.shape), fc.new_name())
        fc.assign_tensor(mean, Literal(0.0), node)
        fc.assign_tensor(var, Literal(0.0), node)

        def accumulate(ivs):
            v = Scalar(fc.coerce(fc._load_at(x, ivs, x_idx), t, node), t)
            fc._store_at(fc.coerce(fc.binop("Add", fc._load_at(mean, ivs, red_idx), v, node), t), mean, ivs, red_idx)
            sq = fc.binop("Mult", v, v, node)
            fc._store_at(fc.coerce(fc.binop("Add", fc._load_at(var, ivs, red_idx), sq, node), t), var, ivs, red_idx)

        def finish(ivs):  # mean = s / n; var = s2 / n - mean^2
            m = fc.binop("Div", fc._load_at(mean, ivs, red_idx), Literal(float(n)), node)
            s2 = fc.binop("Div", fc._load_at(var, ivs, red_idx), Literal(float(n)), node)
            fc._store_at(fc.coerce(m, t), mean, ivs, red_idx)
            fc._store_at(fc.coerce(fc.binop("Sub", s2, fc.binop("Mult", m, m, node), node), t), var, ivs, red_idx)

        def normalise(ivs):
            v = fc.binop("Sub", fc._load_at(x, ivs, x_idx), fc._load_at(mean, ivs, red_idx), node)
            denom = Scalar(math.sqrt(fc.coerce(fc.binop("Add", fc._load_at(var, ivs, red_idx), Literal(float(eps)),
                                                        node), t)), t)
            y = fc.binop("Div", v, denom, node)
            g = fc._operand_at(gamma, [ivs[-1]], 1) if isinstance(gamma, Tensor) else gamma
            b = fc._operand_at(beta, [ivs[-1]], 1) if isinstance(beta, Tensor) else beta
            fc._store_at(fc.coerce(fc.binop("Add", fc.binop("Mult", g, y, node), b, node), t), out, ivs, x_idx)

        for v in (gamma, beta):
            if isinstance(v, Tensor) and tuple(v.shape) != (n,):
                raise ShapeError(f"layernorm: gamma and beta have shape [{n}], got {list(v.shape)}", fc.loc(node))
        extents = list(x.shape)
        fc.static_nest(names, extents, accumulate, band=f"S_{out.name}_stats", reductions=(rank - 1,))
        fc.static_nest(names[:-1] or ["i0"], kept_shape, finish, band=f"S_{out.name}_moments")
        fc.static_nest(names, extents, normalise, band=f"S_{out.name}_norm")
        return out

    return named(fc, static(fc, a["name"]), build)


# -- shapes and constants -----------------------------------------------------------------------------

def _concat(fc, node):
    a = bind(fc, node, "concat", [("x", REQUIRED), ("y", REQUIRED), ("axis", 0), ("name", None)])
    x, y = tensor_arg(fc, a["x"], node, "concat"), tensor_arg(fc, a["y"], node, "concat")
    if x.ttype.rank != y.ttype.rank:
        raise ShapeError(f"concat needs tensors of the same rank, got {list(x.shape)} and {list(y.shape)}",
                         fc.loc(node))
    axis = _axis(fc, static(fc, a["axis"]), x.ttype.rank, node, "concat")
    if any(p != q for k, (p, q) in enumerate(zip(x.shape, y.shape)) if k != axis):
        raise ShapeError(f"concat along axis {axis}: the other dimensions differ, {list(x.shape)} and "
                         f"{list(y.shape)}", fc.loc(node))
    t = typing_rules.common_type(x.dtype, y.dtype)
    shape = tuple(p + q if k == axis else p for k, (p, q) in enumerate(zip(x.shape, y.shape)))

    def build():
        out = fc.alloc_tensor(TensorType(t, shape), fc.new_name())
        for part, offset in ((x, 0), (y, x.shape[axis])):
            idx = [d(k) + offset if k == axis else d(k) for k in range(len(shape))]
            fc.static_nest([f"i{k}" for k in range(len(shape))], part.shape, lambda ivs, p=part, i=idx: fc._store_at(
                fc.coerce(fc._load_at(p, ivs, [d(k) for k in range(len(shape))]), t, node), out, ivs, i),
                band=f"S_{out.name}_part")
        return out

    return named(fc, static(fc, a["name"]), build)


def _view(fc, node):
    a = bind(fc, node, "view", [("x", REQUIRED), ("shape", REQUIRED), ("name", None)])
    x = tensor_arg(fc, a["x"], node, "view")
    shape = static(fc, a["shape"])
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if shape.count(-1) == 1:
        known = pymath.prod(s for s in shape if s != -1)
        shape = tuple(x.ttype.size // known if s == -1 else s for s in shape)
    if any(not isinstance(s, int) or s <= 0 for s in shape) or pymath.prod(shape) != x.ttype.size:
        raise ShapeError(f"view: cannot reshape {list(x.shape)} ({x.ttype.size} elements) to {list(shape)}",
                         fc.loc(node))
    return named(fc, static(fc, a["name"]), lambda: reshape(fc, x, shape, node))


def reshape(fc, x: Tensor, shape, node) -> Tensor:
    """A row-major copy of ``x`` in ``shape`` (same number of elements)."""
    out = fc.alloc_tensor(TensorType(x.dtype, shape), fc.new_name())
    flat = sum((d(k) * pymath.prod(shape[k + 1:]) for k in range(len(shape))), c(0))
    src = [(ir.AffineExpr.get_floor_div(flat, c(pymath.prod(x.shape[k + 1:])))) % c(x.shape[k])
           for k in range(x.ttype.rank)]
    fc.fill_nest(out, lambda ivs: fc._load_at(x, ivs, src), node)
    return out


def _filled(value):
    def handler(fc, node):
        a = bind(fc, node, "ones" if value else "zeros", [("shape", REQUIRED), ("dtype", None)])
        shape = static(fc, a["shape"])
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = _dtype(fc, static(fc, a["dtype"]), node)
        out = fc.alloc_tensor(TensorType(dtype, shape), fc.new_name())
        fc.assign_tensor(out, Literal(float(value) if dtype.is_float else value), node)
        return out

    return handler


def _dtype(fc, dtype, node) -> DSLType:
    if dtype is None or dtype is float:
        return float32
    if dtype is int:
        return int32
    if isinstance(dtype, DSLType):
        return dtype
    raise DSLTypeError(f"dtype must be a dsl type (or float, int), got {dtype!r}", fc.loc(node))


def _tril(fc, node):
    a = bind(fc, node, "tril", [("x", REQUIRED), ("name", None)])
    x = tensor_arg(fc, a["x"], node, "tril")
    if x.ttype.rank < 2:
        raise ShapeError(f"tril needs a tensor of rank >= 2, got {list(x.shape)}", fc.loc(node))

    def build():
        def body(ivs):
            v = fc._load_at(x, ivs, [d(k) for k in range(len(ivs))])
            keep = builder.compare("LtE", ivs[-1], ivs[-2], index)  # j <= i
            return Scalar(arith.select(keep, v.value, builder.constant(0, x.dtype)), x.dtype)

        out = fc.alloc_tensor(x.ttype, fc.new_name())
        fc.fill_nest(out, body, node)
        return out

    return named(fc, static(fc, a["name"]), build)


def _gelu(fc, node):
    a = bind(fc, node, "gelu", [("x", REQUIRED), ("name", None)])
    x = fc.expr(a["x"])

    def scalar(v):
        t = v.dtype if isinstance(v, Scalar) and v.dtype.is_float else float32
        v = Scalar(fc.coerce(v, t), t)
        cube = fc.binop("Mult", fc.binop("Mult", v, v, node), v, node)
        inner = fc.binop("Mult", Literal(pymath.sqrt(2 / pymath.pi)),
                         fc.binop("Add", v, fc.binop("Mult", Literal(0.044715), cube, node), node), node)
        th = Scalar(math.tanh(fc.coerce(inner, t)), t)
        return fc.binop("Mult", fc.binop("Mult", Literal(0.5), v, node), fc.binop("Add", Literal(1.0), th, node), node)

    if not isinstance(x, Tensor):
        return scalar(x)
    t = x.dtype if x.dtype.is_float else float32
    return named(fc, static(fc, a["name"]), lambda: fc.tensor_map(x, scalar, node, t))


HANDLERS = {
    lang_ops.add: _elementwise("Add"), lang_ops.sub: _elementwise("Sub"), lang_ops.mul: _elementwise("Mult"),
    lang_ops.div: _elementwise("Div"), lang_ops.power: _power, lang_ops.copy: _copy,
    lang_ops.bmm: _bmm, lang.matmul: _matmul, lang_ops.linear: _linear, lang_ops.softmax: _softmax,
    lang_ops.layernorm: _layernorm, lang_ops.concat: _concat, lang_ops.view: _view,
    lang_ops.ones: _filled(1), lang_ops.zeros: _filled(0), lang_ops.tril: _tril, lang_ops.gelu: _gelu,
}
INTRINSICS.update(HANDLERS)

__all__ = ["HANDLERS", "batched_matmul", "transpose", "reshape", "softmax_tensor"]
