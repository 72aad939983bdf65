"""Tensor-level operations (numpy broadcasting, matmul, transpose, reductions), expanded into loop nests
over fresh local buffers so that schedules and backends see ordinary loops."""
from __future__ import annotations

import math as pymath

from mlir import ir

from ..errors import DSLTypeError, ShapeError
from ..types import Int, TensorType, UInt, float32
from . import access, builder, index_ranges, typing_rules
from .values import Literal, Scalar, Tensor, TupleValue


def broadcast_shape(a: tuple, b: tuple, loc=None) -> tuple:
    out = []
    for x, y in zip(((1,) * (len(b) - len(a))) + tuple(a), ((1,) * (len(a) - len(b))) + tuple(b)):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"shapes {list(a)} and {list(b)} cannot be broadcast together", loc)
        out.append(max(x, y))
    return tuple(out)


def _affine_indices(ivs, shape, out_rank):
    """Affine index exprs into an operand of ``shape`` broadcast against ``out_rank`` loop dims."""
    lead = out_rank - len(shape)
    return [ir.AffineConstantExpr.get(0) if extent == 1 else ir.AffineDimExpr.get(lead + k)
            for k, extent in enumerate(shape)]


def _sum_type(t, count):
    if t.is_float:
        return t
    extra = max(1, pymath.ceil(pymath.log2(max(count, 2))))
    if t.is_fixed:
        return typing_rules.binary_result_type("Add", t, t) if extra == 1 else type(t)(min(t.bits + extra, 512), t.frac)
    return (Int if t.signed else UInt)(min(t.bits + extra, 512))


class TensorOpsMixin:
    # -- element access with affine maps over nest ivs ---------------------------------------------
    def _load_at(self, tensor: Tensor, ivs, exprs):
        amap = ir.AffineMap.get(len(ivs), 0, exprs)
        from mlir.dialects import affine

        return Scalar(affine.AffineLoadOp(tensor.dtype.mlir(), tensor.value, list(ivs),
                                          ir.AffineMapAttr.get(amap)).result, tensor.dtype)

    def _store_at(self, value, tensor: Tensor, ivs, exprs):
        from mlir.dialects import affine

        amap = ir.AffineMap.get(len(ivs), 0, exprs)
        affine.AffineStoreOp(value, tensor.value, list(ivs), ir.AffineMapAttr.get(amap))

    def _identity(self, rank):
        return [ir.AffineDimExpr.get(k) for k in range(rank)]

    def _operand_at(self, v, ivs, out_rank):
        if isinstance(v, Tensor):
            return self._load_at(v, ivs, _affine_indices(ivs, v.shape, out_rank))
        return v

    # -- elementwise -------------------------------------------------------------------------------
    def tensor_binop(self, op, lhs, rhs, node):
        for v in (lhs, rhs):
            if not isinstance(v, (Tensor, Scalar, Literal)):
                raise DSLTypeError(f"operator {op} cannot combine a tensor with {v!r}", self.loc(node))
        shape = broadcast_shape(getattr(lhs, "shape", ()), getattr(rhs, "shape", ()), self.loc(node))
        elem = lambda v, other: v.dtype if not isinstance(v, Literal) else self.literal_dtype(v, other.dtype)  # noqa: E731
        lt, rt = elem(lhs, rhs if not isinstance(rhs, Literal) else lhs), elem(rhs, lhs if not isinstance(lhs, Literal) else rhs)
        result_t = typing_rules.binary_result_type(op, lt, rt) if op != "Pow" else lt
        out = self.alloc_tensor(TensorType(result_t, shape), self.new_name())

        def body(ivs):
            a, b = self._operand_at(lhs, ivs, len(shape)), self._operand_at(rhs, ivs, len(shape))
            return self.binop(op, a, b, node)

        self.fill_nest(out, body, node)
        return out

    def tensor_map(self, tensor: Tensor, fn, node, out_dtype=None):
        probe_dtype = out_dtype or tensor.dtype
        out = self.alloc_tensor(TensorType(probe_dtype, tensor.shape), self.new_name())
        self.fill_nest(out, lambda ivs: fn(self._load_at(tensor, ivs, self._identity(len(ivs)))), node)
        return out

    def fill_nest(self, out: Tensor, body, node, name=None):
        """``out[ivs] = body(ivs)`` over every element of ``out``."""
        names = [f"i{k}" for k in range(out.ttype.rank)]

        def inner(ivs):
            value = body(ivs)
            self._store_at(self.coerce(value, out.dtype, node), out, ivs, self._identity(len(ivs)))

        self.static_nest(names, out.shape, inner, band=name or f"S_{out.name}")

    def check_writable(self, tensor: Tensor, node):
        """Module-level numpy arrays are constant buffers (``const`` in HLS): a kernel never writes them."""
        if tensor.role == "const":
            name = tensor.name.split("[")[0]
            raise DSLTypeError(f"'{name}' is a module-level numpy constant: kernels read constants and never write "
                               "them", self.loc(node),
                               hint=f"copy it into a local buffer and write the copy: `T: {tensor.ttype!r} = {name}`"
                               if tensor.name == name else "copy it into a local buffer and write the copy")

    def assign_tensor(self, dst: Tensor, value, node):
        """``dst = value``: copy (with casts and broadcasting) or fill with a scalar."""
        self.check_writable(dst, node)
        from .values import TupleValue

        if isinstance(value, TupleValue):  # a list initialiser (slices.py)
            from .slices import assign_list

            return assign_list(self, dst, value, node)
        if isinstance(value, Tensor):
            if broadcast_shape(value.shape, dst.shape, self.loc(node)) != tuple(dst.shape):
                raise ShapeError(f"cannot assign tensor of shape {list(value.shape)} to '{dst.name}' of shape "
                                 f"{list(dst.shape)}", self.loc(node))
        elif not isinstance(value, (Scalar, Literal)):
            raise DSLTypeError(f"cannot assign {value!r} to tensor '{dst.name}'", self.loc(node))
        self.fill_nest(dst, lambda ivs: self._operand_at(value, ivs, dst.ttype.rank), node,
                       name=f"S_{dst.name}_init" if not isinstance(value, Tensor) else f"S_{dst.name}_copy")

    def scalar_minmax(self, which, a, b, node):
        if isinstance(a, Literal) and isinstance(b, Literal):
            return Literal(min(a.value, b.value) if which == "Min" else max(a.value, b.value))
        a, b = index_ranges.as_mixed(a, b)
        at = self.dtype_of(a, getattr(b, "dtype", None))
        bt = self.dtype_of(b, getattr(a, "dtype", None))
        t = typing_rules.common_type(at, bt)
        kind = "float" if t.is_float else "index" if t.is_index else "int"
        return Scalar(builder.ARITH_TABLE[kind][which](self.coerce(a, t), self.coerce(b, t), t), t)

    # -- named tensor operations -------------------------------------------------------------------
    def _tensor_arg(self, v, node, what):
        if not isinstance(v, Tensor):
            from .values import describe as _describe

            raise DSLTypeError(f"{what} needs a tensor, got {_describe(v)}", self.loc(node))
        return v

    def call_relu(self, node):
        (v,) = self.call_args(node, 1, 1, "relu")
        if not isinstance(v, Tensor):
            return self.scalar_minmax("Max", v, Literal(0), node)
        return self.tensor_map(v, lambda x: self.scalar_minmax("Max", x, Literal(0), node), node)

    def call_matmul(self, node):
        a, b = self.call_args(node, 2, 2, "matmul")
        return self.matmul(a, b, node)

    def matmul(self, a, b, node):
        a, b = self._tensor_arg(a, node, "matmul"), self._tensor_arg(b, node, "matmul")
        if a.ttype.rank != 2 or b.ttype.rank != 2:  # batched / vector operands, numpy's rules (named_ops.py)
            from .named_ops import batched_matmul

            return batched_matmul(self, a, b, node)
        if a.ttype.rank != 2 or b.ttype.rank != 2 or a.shape[1] != b.shape[0]:
            raise ShapeError(f"matmul needs (M, K) @ (K, N) operands, got {list(a.shape)} and {list(b.shape)}",
                             self.loc(node))
        m, k = a.shape
        n = b.shape[1]
        prod_t = typing_rules.binary_result_type("Mult", a.dtype, b.dtype)
        acc_t = _sum_type(prod_t, k)
        out = self.alloc_tensor(TensorType(acc_t, (m, n)), self.new_name())
        self.assign_tensor(out, Literal(0), node)
        d = ir.AffineDimExpr.get

        def body(ivs):
            i, j, kk = ivs
            x = self._load_at(a, ivs, [d(0), d(2)])
            y = self._load_at(b, ivs, [d(2), d(1)])
            c = self._load_at(out, ivs, [d(0), d(1)])
            s = self.binop("Add", c, self.binop("Mult", x, y, node), node)
            self._store_at(self.coerce(s, acc_t, node), out, ivs, [d(0), d(1)])

        self.static_nest(["i", "j", "k"], (m, n, k), body, band=f"S_{out.name}_matmul", reductions=(2,))
        return out

    def call_transpose(self, node):
        args = self.call_args(node, 1, 2, "transpose")
        a = self._tensor_arg(args[0], node, "transpose")
        axes = None
        for kw in node.keywords:
            if kw.arg == "axes":
                axes = self._python_arg(kw.value)
        if len(args) == 2:
            axes = self._python_arg(node.args[1])
        axes = tuple(range(a.ttype.rank))[::-1] if axes is None else tuple(axes)
        if sorted(axes) != list(range(a.ttype.rank)):
            raise ShapeError(f"transpose axes {axes} are not a permutation of {a.ttype.rank} dims", self.loc(node))
        shape = tuple(a.shape[x] for x in axes)
        out = self.alloc_tensor(TensorType(a.dtype, shape), self.new_name())
        inverse = [axes.index(k) for k in range(len(axes))]
        self.fill_nest(out, lambda ivs: self._load_at(a, ivs, [ir.AffineDimExpr.get(inverse[k])
                                                              for k in range(len(axes))]), node)
        return out

    def call_sum(self, node):
        return self.reduce("sum", self.expr(node.args[0]), node)

    def call_mean(self, node):
        total = self.reduce("sum", self.expr(node.args[0]), node)
        a = self.expr(node.args[0])
        count = a.ttype.size // (total.ttype.size if isinstance(total, Tensor) else 1)
        if isinstance(total, Tensor):
            return self.tensor_binop("Div", self.tensor_map(total, lambda x: Scalar(
                self.coerce(x, float32), float32), node, float32), Literal(float(count)), node)
        return self.binop("Div", Scalar(self.coerce(total, float32), float32), Literal(float(count)), node)

    def reduce(self, kind, a, node):
        """``sum``/``max``/``min`` over all elements or along ``axis=``."""
        a = self._tensor_arg(a, node, kind)
        axis = None
        for kw in node.keywords:
            if kw.arg != "axis":
                raise DSLTypeError(f"{kind}() takes only axis= as a keyword", self.loc(node))
            axis = self._python_arg(kw.value)
        if len(node.args) > 1:
            axis = self._python_arg(node.args[1])
        rank = a.ttype.rank
        if axis is not None and (not isinstance(axis, int) or isinstance(axis, bool)):
            raise DSLTypeError(f"{kind}() needs an integer axis, got {axis!r}", self.loc(node))
        if axis is not None and not -rank <= axis < rank:
            raise ShapeError(f"axis {axis} is out of range for a tensor of rank {rank}", self.loc(node))
        axes = list(range(rank)) if axis is None else [axis % rank]
        count = pymath.prod(a.shape[x] for x in axes)
        t = _sum_type(a.dtype, count) if kind == "sum" else a.dtype
        kept = [x for x in range(rank) if x not in axes]
        out_shape = tuple(a.shape[x] for x in kept) or (1,)
        out = self.alloc_tensor(TensorType(t, out_shape), self.new_name())
        first = {x: 0 for x in axes}
        d = ir.AffineDimExpr.get
        if kind == "sum":
            self.assign_tensor(out, Literal(0), node)
        else:  # start from the first element along the reduced axes
            self.fill_nest(out, lambda ivs: self._load_at(a, ivs, [
                ir.AffineConstantExpr.get(first[x]) if x in first else d(kept.index(x)) for x in range(rank)]), node)
        out_idx = [d(k) for k in range(len(kept))] if kept else [ir.AffineConstantExpr.get(0)]
        order = kept + axes

        def body(ivs):
            src = self._load_at(a, ivs, [d(order.index(x)) for x in range(rank)])
            cur = self._load_at(out, ivs, out_idx)
            new = self.binop("Add", cur, src, node) if kind == "sum" else self.scalar_minmax(
                "Max" if kind == "max" else "Min", cur, src, node)
            self._store_at(self.coerce(new, t, node), out, ivs, out_idx)

        names = [f"i{k}" for k in range(len(kept))] + [f"r{k}" for k in range(len(axes))]
        self.static_nest(names, [a.shape[x] for x in order], body, band=f"S_{out.name}_{kind}",
                         reductions=tuple(range(len(kept), rank)))
        if axis is None:
            return Scalar(access.load(self, out, [_zero_node()]), t)
        return out


def _zero_node():
    import ast

    return ast.Constant(0)


__all__ = ["TensorOpsMixin", "broadcast_shape", "float32"]
