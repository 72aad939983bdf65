"""Subscripts in kernels: ``A[i, j]`` elements and views of tensors, ``T[N]`` and ``kernel[int8, 16]`` on Python
objects, struct fields, and the bits of integer scalars (``x[k]``, ``x[lo:hi]``, also with run-time bounds of a
constant width), read and written (a bit write is a read-modify-write of the integer holding the bits)."""
from __future__ import annotations

import ast
import inspect

from mlir import ir
from mlir.dialects import affine, arith

from ..errors import DSLTypeError
from ..types import UInt
from . import access, bitops, builder, slices, structs
from .values import PyObject, Scalar, Tensor, TupleValue, Variable, describe


class SubscriptMixin:
    # -- subscripts --------------------------------------------------------------------------------
    def visit_Subscript(self, node):
        base = self.expr(node.value)
        if isinstance(base, PyObject):
            return self.subscript_python(base, node)
        if isinstance(base, structs.StructValue):  # p["x"]
            return structs.read_field(self, base, node.slice, node)
        indices = access.subscript_nodes(node)
        if isinstance(base, Tensor):
            if slices.has_slice(indices):  # A[0:4, :] (slices.py)
                return slices.read(self, base, indices, node)
            access.check_rank(self, base, indices, node, allow_partial=True)
            if len(indices) < base.ttype.rank:
                return access.subview(self, base, indices, node)
            return Scalar(access.load(self, base, indices), base.dtype)
        if isinstance(base, Scalar):
            return self.bit_read(base, node)
        if isinstance(base, TupleValue):
            raise DSLTypeError("Python lists and tuples cannot be indexed in a kernel: they are not arrays in "
                               "hardware", self.loc(node),
                               hint="use a tensor (`L: int32[3]` filled element by element) or a module-level numpy "
                                    "array, which becomes a constant buffer")
        raise DSLTypeError(f"cannot index {describe(base)}", self.loc(node))

    def subscript_python(self, base, node):
        """``T[N]`` types, ``kernel[int8, 16]`` instantiations and constant tuples."""
        key = self._static_value(node.slice) if not isinstance(node.slice, ast.Tuple) else tuple(
            self._python_arg(e) for e in node.slice.elts)
        if key is None:
            key = self._python_arg(node.slice)
        if inspect.isfunction(base.obj):
            from .calls import Instantiation

            return PyObject(Instantiation(base.obj, key))
        try:
            return self.python_value(base.obj[key])
        except Exception as exc:
            raise DSLTypeError(f"cannot subscript {base.obj!r} with {key!r}: {exc}", self.loc(node)) from None

    def bit_read(self, base: Scalar, node):
        t = base.dtype
        if not t.is_int:
            raise DSLTypeError(f"bit access needs an integer, got {t!r}", self.loc(node))
        sl = node.slice
        if isinstance(sl, ast.Slice):
            lo, width = self._slice_bounds(sl, t, node)
            shifted = arith.shrui(base.value, self._bit_offset(lo, t)) if lo is not None and lo != 0 else base.value
            return Scalar(arith.trunci(ir.IntegerType.get_signless(width), shifted) if width < t.bits else shifted,
                          UInt(width))
        k = self.coerce(self.expr(sl), t, sl) if self._bit_index_ok(sl, t) else None
        bit = arith.andi(arith.shrui(base.value, k), builder.constant(1, t))
        return Scalar(arith.trunci(ir.IntegerType.get_signless(1), bit) if t.bits > 1 else bit, UInt(1))

    def _bit_index_ok(self, sl, t) -> bool:
        k = self.static_int(sl)
        if k is not None and not 0 <= k < t.bits:
            raise DSLTypeError(f"bit {k} is outside the {t.bits} bits of {t!r} (valid: 0..{t.bits - 1})", self.loc(sl))
        return True

    def _slice_bounds(self, sl, t, node):
        """(lo, width) of a bit slice ``x[lo:hi]``: lo an int, or an index value when it is known only at run
        time (``w[8 * k : 8 * k + 8]``), in which case the width ``hi - lo`` must still be a constant."""
        lo = self.static_int(sl.lower) if sl.lower is not None else 0
        hi = self.static_int(sl.upper) if sl.upper is not None else t.bits
        if sl.step is not None:
            raise DSLTypeError("bit slices x[lo:hi] take no step", self.loc(node))
        if lo is None or hi is None:
            return self._runtime_slice(sl, t, node)
        if lo >= hi:
            raise DSLTypeError(f"bit slice [{lo}:{hi}] is empty: x[lo:hi] holds bits lo..hi-1, so hi must be greater "
                               f"than lo", self.loc(node), hint=f"bits {hi}..{lo - 1} are x[{hi}:{lo}]" if hi < lo else None)
        if not 0 <= lo < hi <= t.bits:
            raise DSLTypeError(f"bit slice [{lo}:{hi}] is outside the {t.bits} bits of {t!r}", self.loc(node))
        return lo, hi - lo

    def _runtime_slice(self, sl, t, node):
        ab = access.AffineBuilder()
        lo = access.affine_expr(self, sl.lower, ab) if sl.lower is not None else None
        hi = access.affine_expr(self, sl.upper, ab) if sl.upper is not None else None
        width = (hi - lo).maybe_downcast() if lo is not None and hi is not None else None
        known = bitops.constant_difference(sl.upper, sl.lower) if sl.lower is not None and sl.upper is not None \
            else None
        if not isinstance(width, ir.AffineConstantExpr) and known is not None:  # x[i - 1:i]: not simplified
            width = ir.AffineConstantExpr.get(known)
        if not isinstance(width, ir.AffineConstantExpr):
            raise DSLTypeError("a bit slice x[lo:hi] with bounds known only at run time needs a constant width, "
                               "e.g. x[8 * k : 8 * k + 8]", self.loc(node))
        if not 0 < width.value <= t.bits:
            raise DSLTypeError(f"bit slice of width {width.value} does not fit the {t.bits} bits of {t!r}",
                               self.loc(node))
        offset = affine.AffineApplyOp(ab.map([lo]), ab.operands).result
        return offset, width.value

    def _bit_offset(self, lo, t) -> ir.Value:
        """A slice's low bit as a value of the sliced integer's type (a shift amount)."""
        if isinstance(lo, int):
            return builder.constant(lo, t)
        return arith.index_cast(t.mlir(), lo)

    def store_subscript(self, target: ast.Subscript, value, value_node):
        base_node = target.value
        base = self.expr(base_node) if not isinstance(base_node, ast.Name) else self.lookup(base_node.id, base_node)
        if isinstance(base, Tensor):
            indices = access.subscript_nodes(target)
            if slices.has_slice(indices):  # A[0:2, 0:3] = B (slices.py)
                return slices.write(self, base, indices, value, value_node, target)
            access.check_rank(self, base, indices, target, allow_partial=True)
            if len(indices) < base.ttype.rank:
                view = access.subview(self, base, indices, target)
                return self.assign_tensor(view, value, value_node)
            if isinstance(value, Tensor):
                raise DSLTypeError(f"cannot store tensor {value.ttype!r} into element of '{base.name}'",
                                   self.loc(value_node))
            self.check_writable(base, target)
            return access.store(self, self.stored(value, base.dtype, value_node), base, indices)
        if isinstance(base, structs.StructValue):  # p["x"] = v
            return structs.store_field(self, base, target.slice, value, value_node)
        if isinstance(base, (Variable, Scalar)) or isinstance(base_node, ast.Subscript):
            return self.bit_write(target, value, value_node)
        raise DSLTypeError(f"cannot assign into {describe(base)}", self.loc(target))

    def bit_write(self, target, value, value_node):
        """``x[k] = b`` / ``x[lo:hi] = v``: read-modify-write of the integer holding the bits."""
        current = self.expr(target.value)
        t = current.dtype
        if not t.is_int:
            raise DSLTypeError(f"bit access needs an integer, got {t!r}", self.loc(target))
        sl = target.slice
        if isinstance(sl, ast.Slice):
            lo, width = self._slice_bounds(sl, t, target)
            # the slice takes the value's low bits, as ap_int's range assignment does (a 1-bit slice is a bit
            # field, not a bool: v[3:4] = 2 clears bit 3)
            low = arith.andi(self.coerce(value, t, value_node), builder.constant((1 << width) - 1, t))
            field = arith.shli(low, self._bit_offset(lo, t))
            if not isinstance(lo, int):
                mask_v = arith.shli(builder.constant((1 << width) - 1, t), self._bit_offset(lo, t))
                cleared = arith.andi(current.value, arith.xori(mask_v, builder.constant(-1, t)))
                return self.assign_to(target.value, Scalar(arith.ori(cleared, field), t), value_node)
            mask = ((1 << width) - 1) << lo
        else:
            k = self.coerce(self.expr(sl), t, sl) if self._bit_index_ok(sl, t) else None
            mask_v = arith.shli(builder.constant(1, t), k)
            bit = builder.cast(self.as_bool(value, value_node), UInt(1), UInt(t.bits))
            field = arith.shli(bit, k)
            cleared = arith.andi(current.value, arith.xori(mask_v, builder.constant(-1, t)))
            return self.assign_to(target.value, Scalar(arith.ori(cleared, field), t), value_node)
        cleared = arith.andi(current.value, builder.constant(~mask & ((1 << t.bits) - 1), t))
        return self.assign_to(target.value, Scalar(arith.ori(cleared, field), t), value_node)
