"""Bit-level operations on scalars (Allo's): ``x.bitcast()``, ``x.reverse()`` and the fields of a float
(``f.exponent``, ``f.mantissa``, ``f.sign``). Bit slices with run-time bounds of a constant width
(``x[i - 1:i]``, ``w[8 * k:8 * k + 8]``) are in subscripts.py.

* ``x.bitcast()`` reinterprets the bits: an integer (or fixed-point) value of 16, 32 or 64 bits becomes the
  float of that width, a float becomes the signed integer of its width (store it into an unsigned
  variable to read it unsigned); ``x.bitcast(T)`` names the target type (same width), e.g. ``bfloat16``.
* ``x.reverse()`` reverses the order of the bits of an integer (bit 0 becomes bit W-1).
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


def constant_difference(hi: ast.AST, lo: ast.AST):
    """``hi - lo`` when it is the same integer whatever the names in it hold (``i - (i - 1)``,
    ``4 * k + 4 - 4 * k``), else None: both sides as linear combinations of names."""
    a, b = _linear(hi), _linear(lo)
    if a is None or b is None:
        return None
    names = set(a) | set(b)
    if any(a.get(n, 0) != b.get(n, 0) for n in names if n is not None):
        return None
    return a.get(None, 0) - b.get(None, 0)


def _linear(node):
    """{name: coefficient, None: constant} for +, -, * by a constant, names and int literals; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return {None: node.value}
    if isinstance(node, ast.Name):
        return {node.id: 1}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _linear(node.operand)
        return None if inner is None else {k: -v for k, v in inner.items()}
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        a, b = _linear(node.left), _linear(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Mult):
            if set(a) == {None}:
                a, b = b, a
            if set(b) != {None}:
                return None  # a product of two names is no linear form
            return {k: v * b[None] for k, v in a.items()}
        sign = 1 if isinstance(node.op, ast.Add) else -1
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + sign * v
        return out
    return None


__all__ = ["METHODS", "FLOAT_FIELDS", "float_field", "constant_difference", "float32"]
