"""Tensor slices (``A[0:4, :]``, ``A[i, 2:8:2]``) and list initialisers (``B: int32[2, 2] = [[1, 2], [3, a]]``).

A slice read is a copy into a fresh local buffer (a loop nest, so every backend handles it); a slice
written (``A[0:2, 0:3] = B``) stores element by element into the sliced region. A slice passed to a
sub-kernel is copied in and, after the call, copied back, so a callee that writes its argument writes the
caller's tensor as numpy's view would. Slice bounds and steps are compile-time integers (Python's
``slice.indices`` rules: negative bounds count from the end); a plain index in the same subscript may be a
run-time value (``A[i, 0:4]``).
"""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import affine

from ..errors import DSLTypeError, ShapeError
from ..types import TensorType
from .values import Literal, Scalar, Tensor, TupleValue


def has_slice(indices) -> bool:
    return any(isinstance(i, ast.Slice) for i in indices)


class _Region:
    """Which elements of ``base`` a subscript selects: per output dimension (start, step, length); plain
    indices as constants or run-time ``index`` values (extra map operands)."""

    def __init__(self, fc, base: Tensor, indices, node):
        if len(indices) > base.ttype.rank:
            raise ShapeError(f"tensor '{base.name}' of type {base.ttype!r} has rank {base.ttype.rank} but is "
                             f"indexed with {len(indices)} subscript(s)", fc.loc(node))
        indices = list(indices) + [ast.Slice(None, None, None)] * (base.ttype.rank - len(indices))
        self.parts, self.shape, self.extras = [], [], []
        for dim, (idx, extent) in enumerate(zip(indices, base.shape)):
            if isinstance(idx, ast.Slice):
                lo, hi, step = (_bound(fc, b, node) for b in (idx.lower, idx.upper, idx.step))
                r = range(*slice(lo, hi, step).indices(extent))
                if len(r) == 0:
                    raise ShapeError(f"slice {ast.unparse(idx)} of dimension {dim} of '{base.name}' (size {extent}) "
                                     "selects no element", fc.loc(idx))
                self.parts.append(("slice", r.start, r.step, len(self.shape)))
                self.shape.append(len(r))
                continue
            value = fc.static_int(idx)
            if value is not None:
                if not -extent <= value < extent:
                    raise ShapeError(f"index {value} is out of bounds for dimension {dim} of '{base.name}' "
                                     f"(size {extent})", fc.loc(idx))
                self.parts.append(("const", value % extent, 0, 0))
            else:
                self.extras.append(fc.as_index(fc.expr(idx), idx))
                self.parts.append(("value", len(self.extras) - 1, 0, 0))
        self.shape = tuple(self.shape)

    def exprs(self):
        """Affine exprs into the base over (output dims..., extra index values...)."""
        n = len(self.shape)
        out = []
        for kind, a, step, k in self.parts:
            if kind == "slice":
                out.append(ir.AffineDimExpr.get(k) * step + a)
            elif kind == "const":
                out.append(ir.AffineConstantExpr.get(a))
            else:
                out.append(ir.AffineDimExpr.get(n + a))
        return out

    def load(self, base, ivs):
        amap = ir.AffineMap.get(len(ivs) + len(self.extras), 0, self.exprs())
        return Scalar(affine.AffineLoadOp(base.dtype.mlir(), base.value, list(ivs) + self.extras,
                                          ir.AffineMapAttr.get(amap)).result, base.dtype)

    def store(self, value, base, ivs):
        amap = ir.AffineMap.get(len(ivs) + len(self.extras), 0, self.exprs())
        affine.AffineStoreOp(value, base.value, list(ivs) + self.extras, ir.AffineMapAttr.get(amap))


def _bound(fc, node, where):
    if node is None:
        return None
    value = fc.static_int(node)
    if value is None:
        raise DSLTypeError(f"tensor slice bounds and steps must be compile-time integers, got "
                           f"'{ast.unparse(node)}'", fc.loc(node),
                           hint="index element by element in a loop for run-time ranges")
    if value == 0 and node is getattr(where, "step", None):
        raise DSLTypeError("a slice step must not be zero", fc.loc(node))
    return value


def read(fc, base: Tensor, indices, node) -> Tensor:
    """``base[slices]`` as a new tensor; it remembers where it came from (see ``write_back``)."""
    region = _Region(fc, base, indices, node)
    out = fc.alloc_tensor(TensorType(base.dtype, region.shape), fc.new_name())
    identity = [ir.AffineDimExpr.get(k) for k in range(len(region.shape))]
    names = [f"i{k}" for k in range(len(region.shape))]
    fc.static_nest(names, region.shape, lambda ivs: fc._store_at(region.load(base, ivs).value, out, ivs, identity),
                   band=f"S_{out.name}_slice")
    out.write_back = lambda: _copy_back(fc, out, base, region)
    return out


def _copy_back(fc, copy: Tensor, base: Tensor, region: _Region):
    identity = [ir.AffineDimExpr.get(k) for k in range(len(region.shape))]
    names = [f"i{k}" for k in range(len(region.shape))]
    fc.static_nest(names, region.shape, lambda ivs: region.store(fc._load_at(copy, ivs, identity).value, base, ivs),
                   band=f"S_{base.name.split('[')[0]}_slice_back")


def write(fc, base: Tensor, indices, value, value_node, node):
    """``base[slices] = value``: a tensor broadcast to the slice's shape, or a scalar filling it."""
    region = _Region(fc, base, indices, node)
    if isinstance(value, TupleValue):
        tmp = fc.alloc_tensor(TensorType(base.dtype, region.shape), fc.new_name())
        assign_list(fc, tmp, value, value_node)
        value = tmp
    if isinstance(value, Tensor):
        from .tensor_ops import broadcast_shape

        if broadcast_shape(value.shape, region.shape, fc.loc(value_node)) != region.shape:
            raise ShapeError(f"cannot assign a tensor of shape {list(value.shape)} to a slice of shape "
                             f"{list(region.shape)}", fc.loc(value_node))
    elif not isinstance(value, (Scalar, Literal)):
        raise DSLTypeError(f"cannot assign {type(value).__name__} to a slice of '{base.name}'", fc.loc(value_node))
    names = [f"i{k}" for k in range(len(region.shape))]
    fc.static_nest(names, region.shape, lambda ivs: region.store(
        fc.coerce(fc._operand_at(value, ivs, len(region.shape)), base.dtype, value_node), base, ivs),
        band=f"S_{base.name}_slice_set")


# -- list initialisers ------------------------------------------------------------------------------------

def assign_list(fc, dst: Tensor, value: TupleValue, node):
    """``dst = [[...], ...]``: the nested list must have ``dst``'s shape; each element is stored."""
    shape = _list_shape(value)
    if shape != tuple(dst.shape):
        raise ShapeError(f"a list of shape {list(shape)} cannot initialise '{dst.name}' of shape "
                         f"{list(dst.shape)}", fc.loc(node))
    for index, item in _flatten(value, ()):
        if not isinstance(item, (Literal, Scalar)):
            raise DSLTypeError(f"list elements must be scalars, got {type(item).__name__} at {list(index)}",
                               fc.loc(node))
        amap = ir.AffineMap.get(0, 0, [ir.AffineConstantExpr.get(i) for i in index])
        affine.AffineStoreOp(fc.coerce(item, dst.dtype, node), dst.value, [], ir.AffineMapAttr.get(amap))


def _list_shape(value) -> tuple:
    if not isinstance(value, TupleValue):
        return ()
    inner = {_list_shape(v) for v in value.items}
    if len(inner) != 1:
        return (len(value.items), -1)  # ragged: reported as a shape mismatch
    return (len(value.items),) + inner.pop()


def _flatten(value, prefix):
    if not isinstance(value, TupleValue):
        yield prefix, value
        return
    for k, v in enumerate(value.items):
        yield from _flatten(v, prefix + (k,))
