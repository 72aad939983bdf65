"""Typing rules of the dsl, in one place and as tables.

Integer arithmetic widens so that no intermediate overflows (as Allo does): ``+``/``-`` grow one bit,
``*`` adds the widths; the result is cast to the declared type when it is stored. Fixed point aligns binary
points the way ``ap_fixed`` does. Anything mixed with a float becomes that float. Comparisons give ``bool``.

| op            | Int(a) ∘ Int(b)             | Fixed(W1,F1) ∘ Fixed(W2,F2)                     |
|---------------|-----------------------------|--------------------------------------------------|
| + -           | Int(max(a, b) + 1)          | F = max(F1,F2), I = max(I1,I2) + 1               |
| *             | Int(a + b)                  | W = W1 + W2, F = F1 + F2                         |
| / (C, trunc)  | Int(a + 1)                  | F = F1, I = I1 + F2 + 1 (ap_fixed's quotient)    |
| // (floor)    | Int(a + 1)                  | (integers only)                                  |
| %  (C)        | Int(max(a, b))              | (integers only)                                  |
| & | ^         | Int(max(a, b))              | (integers only)                                  |
| << >>         | type of the left operand    | type of the left operand (raw bits shift, wrap)  |
| -x, abs(x)    | Int(a + 1) (signed x)       | Fixed(W1 + 1, F1)                                |
Unsigned operands keep unsigned results where the math allows (``+``, ``*``, ``/``, ``%``, bitwise); mixing
signed and unsigned gives a signed type one bit wider than the unsigned side. Loop variables (``index``)
mixed with integers act as ``int32`` (``int64`` when the value can leave 32 bits: ``index_ranges.py``). Intermediates grow up to ``INTERMEDIATE_WIDTH`` bits (512), or up to the
widest operand when one is wider (types may have up to ``MAX_INT_WIDTH`` bits).

Notes that make every result equal to what plain Python computes (then wrapped to the declared type):
- ``/``, ``//`` and ``%`` compute in a width that holds both operands: the divisor is never narrowed to the
  dividend's width; the quotient then fits the table's result type.
- ``x << n`` and ``x >> n`` give what Python's shift gives, wrapped to the left operand's type, for every
  amount: ``n`` at least the width gives 0 (``>>`` of a negative value: -1). A negative constant amount is
  refused; a negative amount computed at run time counts as a very large one.
- A literal adopts the type of the operand it meets when it fits; an integer literal that does not fit gets
  ``Int(bits + 1)`` (one meeting a loop index: beyond ``int32``, the index then acting as ``int32``).
  A float literal meeting fixed point is a constant of that fixed-point type (quantised toward -inf as
  ``ap_fixed<W, I>(0.1)`` is; out of range: the same fraction bits, more integer bits), so that the
  arithmetic stays fixed point; ``ap_fixed`` itself would convert to ``double``. Literals need at most
  ``MAX_INT_WIDTH`` bits.
- Converting to ``bool`` tests for non-zero (constants too).
"""
from __future__ import annotations

import math

from ..types import MAX_INT_WIDTH, DSLType, Fixed, Float, Index, Int, UFixed, UInt, float32, float64, int32

ARITH_OPS = ("Add", "Sub", "Mult", "Div", "FloorDiv", "Mod", "Pow")
BIT_OPS = ("BitAnd", "BitOr", "BitXor", "LShift", "RShift")


INTERMEDIATE_WIDTH = 512


def _cap(bits: int, *operands) -> int:
    limit = max([INTERMEDIATE_WIDTH] + [t.bits for t in operands if not t.is_float])
    return max(1, min(bits, limit, MAX_INT_WIDTH))


def _int(bits: int, signed: bool, *operands) -> DSLType:
    return Int(_cap(bits, *operands)) if signed else UInt(_cap(bits, *operands))


def _signed_width(t: DSLType) -> int:
    """Width the type needs when represented as a signed integer."""
    return t.bits if t.signed else t.bits + 1


def _as_integerish(t: DSLType) -> DSLType:
    return int32 if isinstance(t, Index) else t


def _float_join(a: DSLType, b: DSLType) -> DSLType:
    floats = [t for t in (a, b) if t.is_float]
    if len(floats) == 1:
        return floats[0]
    x, y = floats
    if x == y:
        return x
    # float16 with bfloat16 has no common 16-bit type; both fit in float32.
    return max((x, y, float32), key=lambda t: t.bits) if x.bits == y.bits else max((x, y), key=lambda t: t.bits)


def _int_rule(op: str, a: DSLType, b: DSLType) -> DSLType:
    both_unsigned = not a.signed and not b.signed
    if both_unsigned:
        wa, wb = a.bits, b.bits
    else:
        wa, wb = _signed_width(a), _signed_width(b)
    signed = not both_unsigned
    if op == "Sub":
        return _int(max(wa, wb) + 1 if signed else max(wa, wb) + 1, True, a, b)
    width = {
        "Add": lambda: max(wa, wb) + 1,
        "Mult": lambda: wa + wb,
        "Div": lambda: wa + (1 if b.signed else 0),
        "FloorDiv": lambda: wa + (1 if b.signed else 0),
        "Mod": lambda: max(wa, wb),
        "Pow": lambda: wa,
        "BitAnd": lambda: max(wa, wb),
        "BitOr": lambda: max(wa, wb),
        "BitXor": lambda: max(wa, wb),
    }[op]()
    return _int(width, signed, a, b)


def _fixed_parts(t: DSLType):
    """(total bits, fraction bits, signed) of a fixed or integer type seen as fixed point."""
    return t.bits, t.frac, t.signed


def _fixed_rule(op: str, a: DSLType, b: DSLType) -> DSLType:
    w1, f1, s1 = _fixed_parts(a)
    w2, f2, s2 = _fixed_parts(b)
    i1, i2 = w1 - f1, w2 - f2
    signed = s1 or s2
    if signed:  # an unsigned operand needs one more integer bit when seen as signed
        i1, i2 = i1 + (0 if s1 else 1), i2 + (0 if s2 else 1)
    if op in ("Add", "Sub"):
        frac = max(f1, f2)
        integer = max(i1, i2) + 1
        signed = signed or op == "Sub"
    elif op == "Mult":
        frac, integer = f1 + f2, i1 + i2
    elif op == "Div":
        frac, integer = f1, i1 + f2 + (1 if s2 else 0)
    else:
        raise TypeError(f"operator {op} is not defined on fixed point")
    width = _cap(frac + integer, a, b)
    frac = min(frac, width)
    if frac == 0:
        return _int(width, signed, a, b)
    return Fixed(width, frac) if signed else UFixed(width, frac)


def binary_result_type(op: str, a: DSLType, b: DSLType) -> DSLType:
    """Result type of ``a <op> b`` where op is an ``ast`` operator class name."""
    if isinstance(a, Index) and isinstance(b, Index):
        return a
    a, b = _as_integerish(a), _as_integerish(b)
    if a.is_float or b.is_float:
        if op in BIT_OPS:
            raise TypeError(f"bitwise operator on {a!r} and {b!r}: both operands must be integers")
        return _float_join(a, b)
    if op in ("LShift", "RShift"):
        if b.is_fixed:
            raise TypeError(f"the shift amount must be an integer, got {b!r}")
        return a  # ap_fixed too: a shift moves the raw bits and keeps the type (UG1399, ap_fixed operators)
    if a.is_fixed or b.is_fixed:
        return _fixed_rule(op, a, b)
    return _int_rule(op, a, b)


def unary_result_type(op: str, a: DSLType) -> DSLType:
    if op == "USub" and (a.is_int or a.is_fixed) and not a.signed:
        return Int(_cap(a.bits + 1, a)) if a.is_int else Fixed(_cap(a.bits + 1, a), a.frac)
    if op == "USub" and a.is_int:
        return Int(_cap(a.bits + 1, a))
    if op == "Invert" and not (a.is_int or isinstance(a, Index)):
        raise TypeError(f"'~' needs an integer, got {a!r}")
    return a


def common_type(a: DSLType, b: DSLType) -> DSLType:
    """The type both sides of a comparison, min/max or conditional expression are cast to."""
    if a == b:
        return a
    if isinstance(a, Index) and isinstance(b, Index):
        return a
    a, b = _as_integerish(a), _as_integerish(b)
    if a.is_float or b.is_float:
        return _float_join(a, b)
    if a.is_fixed or b.is_fixed:
        w1, f1, s1 = _fixed_parts(a)
        w2, f2, s2 = _fixed_parts(b)
        signed = s1 or s2
        i1 = w1 - f1 + (1 if signed and not s1 else 0)
        i2 = w2 - f2 + (1 if signed and not s2 else 0)
        frac, width = max(f1, f2), _cap(max(f1, f2) + max(i1, i2), a, b)
        return Fixed(width, frac) if signed else UFixed(width, frac)
    if a.signed == b.signed:
        return _int(max(a.bits, b.bits), a.signed)
    return Int(_cap(max(_signed_width(a), _signed_width(b)), a, b))


def literal_type(value, other: DSLType | None) -> DSLType:
    """Type of a Python literal used next to a typed operand: it adopts the operand's type when it fits.

    A float literal meeting fixed point becomes a constant of that fixed-point type, quantised as
    ``ap_fixed<W, I>(0.1)`` is (toward -inf), so that the arithmetic stays fixed point on the CPU and in
    HLS alike (``ap_fixed`` itself would convert to ``double``, a floating-point unit in hardware); when
    the value is out of its range it gets the same fraction bits and enough integer bits."""
    if isinstance(value, bool):
        return UInt(1)
    if isinstance(value, float):
        if other is not None and other.is_fixed:
            return _fixed_literal_type(value, other)
        return other if other is not None and other.is_float else float32 if other is not None else float64
    if other is None:
        return int32 if -(2**31) <= value < 2**31 else _wide_literal(value)
    if other.is_float:
        return other
    if isinstance(other, Index):  # beyond int32 the index acts as int32 and the literal keeps its own width
        return other if -(2**31) <= value < 2**31 else _wide_literal(value)
    if other.is_fixed:
        return other if _raw_fits(value * 2**other.frac, other) else _wide_literal(value)
    if _fits(value, other):
        return other
    return _wide_literal(value)


def _wide_literal(value: int) -> DSLType:
    bits = value.bit_length() + 1
    if bits > MAX_INT_WIDTH:
        raise TypeError(f"the constant {value} needs {bits} bits; the widest integer type is Int({MAX_INT_WIDTH})")
    return Int(bits)


def _raw_fits(raw: int, t: DSLType) -> bool:
    return -(2 ** (t.bits - 1)) <= raw < 2 ** (t.bits - 1) if t.signed else 0 <= raw < 2**t.bits


def _fixed_literal_type(value: float, t: DSLType) -> DSLType:
    if not math.isfinite(value):
        raise TypeError(f"{value} has no fixed-point value ({t!r} holds finite numbers only)")
    raw = math.floor(value * 2**t.frac)
    if _raw_fits(raw, t):
        return t
    bits = raw.bit_length() + 1
    if bits > MAX_INT_WIDTH:
        raise TypeError(f"the constant {value} needs {bits} bits as {t!r}; the widest type has {MAX_INT_WIDTH}")
    return Fixed(max(bits, t.frac + 1), t.frac)


def float_literal_type(other: DSLType | None) -> DSLType:
    if other is not None and (other.is_float or other.is_fixed):
        return other
    return float32


def _fits(value: int, t: DSLType) -> bool:
    if t.signed:
        return -(2 ** (t.bits - 1)) <= value < 2 ** (t.bits - 1)
    return 0 <= value < 2**t.bits


__all__ = ["binary_result_type", "unary_result_type", "common_type", "literal_type", "float_literal_type",
           "ARITH_OPS", "BIT_OPS", "float64"]
