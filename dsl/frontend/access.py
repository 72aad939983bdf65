"""Subscripts: turning index expressions into affine maps (or plain index values) for loads and stores."""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import affine, arith, memref

from ..errors import DSLSyntaxError, ShapeError
from ..types import Index
from . import builder
from .values import Literal, LoopVar, Scalar, Tensor


class AffineBuilder:
    """Collects the dims and symbols an affine expression uses, in order, for one map."""

    def __init__(self):
        self.dims: list[ir.Value] = []
        self.symbols: list[ir.Value] = []

    def dim(self, v: ir.Value):
        for i, d in enumerate(self.dims):
            if d == v:
                return ir.AffineDimExpr.get(i)
        self.dims.append(v)
        return ir.AffineDimExpr.get(len(self.dims) - 1)

    def symbol(self, v: ir.Value):
        for i, s in enumerate(self.symbols):
            if s == v:
                return ir.AffineSymbolExpr.get(i)
        self.symbols.append(v)
        return ir.AffineSymbolExpr.get(len(self.symbols) - 1)

    def map(self, exprs):
        return ir.AffineMap.get(len(self.dims), len(self.symbols), exprs)

    @property
    def operands(self):
        return self.dims + self.symbols


def _expr(x):
    return ir.AffineConstantExpr.get(builder.check_extent(x, "an index")) if isinstance(x, int) else x


def affine_expr(fc, node: ast.AST, ab: AffineBuilder):
    """An ``AffineExpr`` for ``node`` if it is affine in loop variables and index symbols, else None."""
    e = _affine(fc, node, ab)
    return None if e is None else _expr(e)


def _affine(fc, node, ab):
    """Like affine_expr, but compile-time constants stay Python ints (so constness is visible)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        bound = fc.lookup_quiet(node.id)
        if isinstance(bound, LoopVar) and bound.affine:
            return ab.dim(bound.value)
        if isinstance(bound, Literal) and isinstance(bound.value, int) and not isinstance(bound.value, bool):
            return bound.value
        sym = fc.index_symbol(node.id)
        return None if sym is None else ab.symbol(sym)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _affine(fc, node.operand, ab)
        return None if inner is None else (-inner if isinstance(inner, int) else inner * -1)
    if isinstance(node, ast.BinOp):
        lhs, rhs = _affine(fc, node.left, ab), _affine(fc, node.right, ab)
        if lhs is None or rhs is None:
            return None
        return _affine_binop(type(node.op), lhs, rhs)
    return None


def _affine_binop(op, lhs, rhs):
    both_const = isinstance(lhs, int) and isinstance(rhs, int)
    if op is ast.Add:
        return lhs + rhs if both_const else _expr(lhs) + _expr(rhs)
    if op is ast.Sub:
        return lhs - rhs if both_const else _expr(lhs) - _expr(rhs)
    if op is ast.Mult and (isinstance(lhs, int) or isinstance(rhs, int)):
        return lhs * rhs if both_const else _expr(lhs) * _expr(rhs)
    if op in (ast.FloorDiv, ast.Mod) and isinstance(rhs, int) and rhs > 0:
        if both_const:
            return lhs // rhs if op is ast.FloorDiv else lhs % rhs
        return ir.AffineExpr.get_floor_div(lhs, _expr(rhs)) if op is ast.FloorDiv else lhs % _expr(rhs)
    return None


def subscript_nodes(node: ast.Subscript) -> list:
    sl = node.slice
    return list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]


def check_rank(fc, tensor: Tensor, indices: list, node, allow_partial: bool):
    if any(isinstance(i, ast.Slice) for i in indices):
        raise DSLSyntaxError(f"slices of tensors are not supported: index '{tensor.name}' element by element, "
                             "or pass a partial index (A[i]) to a sub-kernel", fc.loc(node))
    if len(indices) > tensor.ttype.rank or (not allow_partial and len(indices) != tensor.ttype.rank):
        raise ShapeError(f"tensor '{tensor.name}' of type {tensor.ttype!r} has rank {tensor.ttype.rank} "
                         f"but is indexed with {len(indices)} subscript(s)", fc.loc(node))
    for dim, (idx, extent) in enumerate(zip(indices, tensor.shape)):
        value = fc.static_int(idx)
        if value is not None and not 0 <= value < extent:
            raise ShapeError(f"index {value} is out of bounds for dimension {dim} of '{tensor.name}' "
                             f"(size {extent})", fc.loc(idx))


def index_operands(fc, indices: list):
    """(map, operands) when every index is affine, else (None, index values)."""
    ab = AffineBuilder()
    exprs = [affine_expr(fc, i, ab) for i in indices]
    if all(e is not None for e in exprs):
        return ab.map(exprs), ab.operands
    return None, [fc.as_index(fc.expr(i), i) for i in indices]


def load(fc, tensor: Tensor, indices: list) -> ir.Value:
    amap, operands = index_operands(fc, indices)
    if amap is not None:
        return affine.AffineLoadOp(tensor.dtype.mlir(), tensor.value, operands, ir.AffineMapAttr.get(amap)).result
    return memref.load(tensor.value, operands)


def store(fc, value: ir.Value, tensor: Tensor, indices: list):
    amap, operands = index_operands(fc, indices)
    if amap is not None:
        affine.AffineStoreOp(value, tensor.value, operands, ir.AffineMapAttr.get(amap))
    else:
        memref.store(value, tensor.value, operands)


def load_var(ref: ir.Value, dtype) -> ir.Value:
    return affine.AffineLoadOp(dtype.mlir(), ref, [], ir.AffineMapAttr.get(ir.AffineMap.get(0, 0, []))).result


def store_var(value: ir.Value, ref: ir.Value):
    affine.AffineStoreOp(value, ref, [], ir.AffineMapAttr.get(ir.AffineMap.get(0, 0, [])))


def subview(fc, tensor: Tensor, indices: list, node) -> Tensor:
    """``A[i]`` on a rank-2 ``A``: a rank-reduced view of the remaining dimensions, passed by reference."""
    from ..types import TensorType

    offsets = [fc.as_index(fc.expr(i), i) for i in indices]
    rest = list(tensor.shape[len(indices):])
    full_strides = _strides(tensor)
    strides = full_strides[len(indices):]
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    layout = ir.StridedLayoutAttr.get(dyn, strides)
    result_type = ir.MemRefType.get(rest, tensor.dtype.mlir(), layout)
    n = len(tensor.shape)
    static_offsets = [dyn] * len(indices) + [0] * (n - len(indices))
    static_sizes = [1] * len(indices) + rest
    static_strides = [1] * n
    view = memref.SubViewOp(result_type, tensor.value, offsets, [], [], static_offsets, static_sizes,
                            static_strides).result
    return Tensor(view, TensorType(tensor.dtype, tuple(rest)), f"{tensor.name}[...]", tensor.role)


def _strides(tensor: Tensor) -> list:
    mtype = ir.MemRefType(tensor.value.type)
    if isinstance(mtype.layout, ir.StridedLayoutAttr):
        return list(ir.StridedLayoutAttr(mtype.layout).strides)
    strides, acc = [], 1
    for extent in reversed(tensor.shape):
        strides.append(acc)
        acc *= extent
    return list(reversed(strides))


def index_value(v, dtype) -> ir.Value:
    """Convert a scalar value of an integer type to ``index``."""
    if isinstance(dtype, Index):
        return v
    if dtype.is_float:
        raise TypeError("float")
    return builder.cast(v, dtype, Index())


def const_index(v: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), v)


__all__ = ["AffineBuilder", "affine_expr", "load", "store", "subview", "load_var", "store_var", "Scalar"]
