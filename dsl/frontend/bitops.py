"""Bit-level operations on scalars (Allo's): ``x.bitcast()``, ``x.reverse()``, bit slices whose bounds are
run-time values (``x[i - 1:i]``), and the fields of a float (``f.exponent``, ``f.mantissa``, ``f.sign``).

* ``x.bitcast()`` reinterprets the bits: an integer (or fixed-point) value of 16, 32 or 64 bits becomes the
  float of that width, a float becomes the signed integer of its width (store it into an unsigned
  variable to read it unsigned); ``x.bitcast(T)`` names the target type (same width), e.g. ``bfloat16``.
* ``x.reverse()`` reverses the order of the bits of an integer (bit 0 becomes bit W-1).
* ``x[lo:hi]`` with run-time bounds gives ``(x >> lo) & (2**(hi - lo) - 1)`` in the unsigned type of x's
  width (``x[i:i + 4]`` is known to be 4 bits wide: ``UInt(4)``); writing such a slice replaces those bits.
* ``f.exponent`` / ``f.mantissa`` / ``f.sign`` are the biased exponent, the stored significand bits and the
  sign bit of an IEEE float, as unsigned integers (``float32.exponent`` / ``float32.fracs`` are the widths).
"""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import arith

from ..errors import DSLSyntaxError, DSLTypeError
from ..types import DSLType, Float, Int, UInt, bfloat16, float16, float32, float64
from . import builder
from .values import Literal, PyObject, Scalar

FLOAT_OF_WIDTH = {16: float16, 32: float32, 64: float64}


# -- methods on scalar values ---------------------------------------------------------------------------

def bitcast(fc, base, node):
    src = _scalar(fc, base, node, "bitcast")
    if len(node.args) > 1 or node.keywords:
        raise DSLSyntaxError("x.bitcast() takes at most one argument, the target type", fc.loc(node))
    t = src.dtype
    if node.args:
        target = fc.expr(node.args[0])
        target = target.obj if isinstance(target, PyObject) else None
        if not isinstance(target, DSLType) or target.is_index:
            raise DSLTypeError(f"x.bitcast(T) needs a dsl scalar type, got {ast.unparse(node.args[0])!r}",
                               fc.loc(node.args[0]))
    elif t.is_float:
        target = Int(t.bits)
    elif t.bits in FLOAT_OF_WIDTH:
        target = FLOAT_OF_WIDTH[t.bits]
    else:
        raise DSLTypeError(f"x.bitcast() turns 16-, 32- or 64-bit integers into the float of that width; "
                           f"{t!r} has {t.bits} bits", fc.loc(node),
                           hint="slice the bits you want first, e.g. x[0:32].bitcast()")
    if t.is_index or target.bits != t.bits:
        raise DSLTypeError(f"bitcast keeps the bits: {t!r} ({t.bits} bits) cannot become {target!r} "
                           f"({target.bits} bits)", fc.loc(node))
    if target.is_float == t.is_float and not (target.is_float and target != t):
        return Scalar(src.value, target)  # integer <-> integer/fixed of one width: the same bits already
    return Scalar(arith.bitcast(target.mlir(), src.value), target)


def reverse(fc, base, node):
    src = _scalar(fc, base, node, "reverse")
    if node.args or node.keywords:
        raise DSLSyntaxError("x.reverse() takes no arguments", fc.loc(node))
    t = src.dtype
    if not t.is_int:
        raise DSLTypeError(f"x.reverse() reverses the bits of an integer, got {t!r}", fc.loc(node))
    one = builder.constant(1, t)
    result = builder.constant(0, t)
    for k in range(t.bits):  # bit k moves to bit W-1-k
        bit = arith.andi(arith.shrui(src.value, builder.constant(k, t)) if k else src.value, one)
        moved = arith.shli(bit, builder.constant(t.bits - 1 - k, t)) if t.bits - 1 - k else bit
        result = arith.ori(result, moved)
    return Scalar(result, t)


METHODS = {"bitcast": bitcast, "reverse": reverse}


def _scalar(fc, base, node, what) -> Scalar:
    if isinstance(base, Literal):
        raise DSLTypeError(f"x.{what}() needs a typed value; give the constant a type first, e.g. int32(5)",
                           fc.loc(node))
    if not isinstance(base, Scalar):
        raise DSLTypeError(f"x.{what}() applies to scalars, got {type(base).__name__.lower()}", fc.loc(node))
    return base


# -- float fields --------------------------------------------------------------------------------------

def float_field(fc, base: Scalar, attr, node):
    t = base.dtype
    if not isinstance(t, Float):
        raise DSLTypeError(f"'.{attr}' is a field of floats, got {t!r}", fc.loc(node))
    if t == bfloat16:
        mant, exp = 7, 8
    else:
        mant, exp = t.fracs, t.exponent
    bits = arith.bitcast(ir.IntegerType.get_signless(t.bits), base.value)
    shift, width = {"mantissa": (0, mant), "exponent": (mant, exp), "sign": (t.bits - 1, 1)}[attr]
    return _field(bits, t.bits, shift, width)


FLOAT_FIELDS = ("mantissa", "exponent", "sign")


def _field(bits, total, shift, width) -> Scalar:
    wide = UInt(total)
    v = arith.shrui(bits, builder.constant(shift, wide)) if shift else bits
    if width < total:
        v = arith.trunci(ir.IntegerType.get_signless(width), v)
    return Scalar(v, UInt(width))


# -- bit slices with run-time bounds ---------------------------------------------------------------------

def is_static_slice(fc, sl: ast.Slice) -> bool:
    return all(b is None or fc.static_int(b) is not None for b in (sl.lower, sl.upper)) and sl.step is None


def _known_width(sl: ast.Slice):
    """``x[e:e + k]``: the width k is known even though e is not."""
    hi, lo = sl.upper, sl.lower
    if isinstance(hi, ast.BinOp) and isinstance(hi.op, ast.Add) and lo is not None:
        for a, b in ((hi.left, hi.right), (hi.right, hi.left)):
            if isinstance(b, ast.Constant) and isinstance(b.value, int) and ast.dump(a) == ast.dump(lo):
                return b.value
    return None


def _bounds(fc, base: Scalar, sl: ast.Slice, node):
    if sl.step is not None:
        raise DSLTypeError("bit slices x[lo:hi] take no step", fc.loc(node))
    t = base.dtype
    wide = UInt(t.bits)
    lo = fc.coerce(fc.expr(sl.lower), wide, sl.lower) if sl.lower is not None else builder.constant(0, wide)
    hi = fc.coerce(fc.expr(sl.upper), wide, sl.upper) if sl.upper is not None else builder.constant(t.bits, wide)
    return lo, hi, wide


def _mask(width_v, wide):
    """2**w - 1 for a run-time w in 0..W (all ones when w >= W, where a shift by W would be undefined)."""
    full = builder.constant(-1, wide)
    shifted = arith.shli(builder.constant(1, wide), width_v)
    partial = arith.subi(shifted, builder.constant(1, wide))
    is_full = arith.cmpi(arith.CmpIPredicate.uge, width_v, builder.constant(wide.bits, wide))
    return arith.select(is_full, full, partial)


def dynamic_slice_read(fc, base: Scalar, sl: ast.Slice, node) -> Scalar:
    if not base.dtype.is_int:
        raise DSLTypeError(f"bit access needs an integer, got {base.dtype!r}", fc.loc(node))
    lo, hi, wide = _bounds(fc, base, sl, node)
    field = arith.andi(arith.shrui(base.value, lo), _mask(arith.subi(hi, lo), wide))
    known = _known_width(sl)
    if known is not None and 0 < known < wide.bits:
        return Scalar(arith.trunci(ir.IntegerType.get_signless(known), field), UInt(known))
    return Scalar(field, wide)


def dynamic_slice_write(fc, target: ast.Subscript, value, value_node):
    current = fc.expr(target.value)
    if not isinstance(current, Scalar) or not current.dtype.is_int:
        raise DSLTypeError("bit access needs an integer", fc.loc(target))
    t = current.dtype
    lo, hi, wide = _bounds(fc, current, target.slice, target)
    mask = arith.shli(_mask(arith.subi(hi, lo), wide), lo)
    field = arith.andi(arith.shli(fc.coerce(value, wide, value_node), lo), mask)
    cleared = arith.andi(current.value, arith.xori(mask, builder.constant(-1, wide)))
    fc.assign_to(target.value, Scalar(arith.ori(cleared, field), t), value_node)


__all__ = ["METHODS", "FLOAT_FIELDS", "float_field", "is_static_slice", "dynamic_slice_read",
           "dynamic_slice_write", "float32"]
