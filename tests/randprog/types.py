"""The README's typing rules, written again independently of ``dsl.frontend.typing_rules``, for the reference
interpreter: integer arithmetic widens so that intermediates never overflow, fixed point aligns binary points
as ap_fixed does, anything mixed with a float becomes that float, comparisons give bool, a literal adopts the
type of the operand it meets. Types are the dsl's own descriptors (``dsl.Int(8)``...), used as plain data."""
from __future__ import annotations

import math

from dsl import Fixed, Float, Index, Int, UFixed, UInt, float32

INT32 = Int(32)
BOOL = UInt(1)
CAP = 512


def is_int(t) -> bool:
    return isinstance(t, (Int, UInt))


def is_fixed(t) -> bool:
    return isinstance(t, Fixed)


def is_float(t) -> bool:
    return isinstance(t, Float)


def signed(t) -> bool:
    return not isinstance(t, (UInt, UFixed))


def frac(t) -> int:
    return t.fbits if is_fixed(t) else 0


def width(t) -> int:
    return 64 if isinstance(t, Index) else t.bits


def _sw(t) -> int:
    """Bits the type needs seen as signed."""
    return t.bits if signed(t) else t.bits + 1


def _int(bits, is_signed):
    return (Int if is_signed else UInt)(bits)


def _fixed(total, fraction, is_signed):
    if fraction == 0:
        return _int(total, is_signed)
    return (Fixed if is_signed else UFixed)(total, fraction)


class TooWide(Exception):
    """An intermediate would need more than 512 bits: the dsl caps widths there (documented), so the
    generator avoids such programs instead of comparing a documented wrap."""


def _check(t):
    if not is_float(t) and not isinstance(t, Index) and t.bits > CAP:
        raise TooWide(repr(t))
    return t


def integerish(t):
    """A loop variable meeting an integer acts as int32."""
    return INT32 if isinstance(t, Index) else t


def binary(op: str, a, b):
    if isinstance(a, Index) and isinstance(b, Index):
        return a
    a, b = integerish(a), integerish(b)
    if is_float(a) or is_float(b):
        return a if is_float(a) else b
    if op in ("<<", ">>"):
        return a
    if is_fixed(a) or is_fixed(b):
        return _check(_fixed_binary(op, a, b))
    return _check(_int_binary(op, a, b))


def _int_binary(op, a, b):
    both_unsigned = not signed(a) and not signed(b)
    wa, wb = (a.bits, b.bits) if both_unsigned else (_sw(a), _sw(b))
    bits = {"+": max(wa, wb) + 1, "-": max(wa, wb) + 1, "*": wa + wb, "/": wa + signed(b), "//": wa + signed(b),
            "%": max(wa, wb), "&": max(wa, wb), "|": max(wa, wb), "^": max(wa, wb)}[op]
    return _int(bits, not both_unsigned or op == "-")


def _fixed_binary(op, a, b):
    is_signed = signed(a) or signed(b)
    i1 = a.bits - frac(a) + (1 if is_signed and not signed(a) else 0)
    i2 = b.bits - frac(b) + (1 if is_signed and not signed(b) else 0)
    f1, f2 = frac(a), frac(b)
    if op in ("+", "-"):
        return _fixed(max(f1, f2) + max(i1, i2) + 1, max(f1, f2), is_signed or op == "-")
    if op == "*":
        return _fixed(f1 + f2 + i1 + i2, f1 + f2, is_signed)
    if op == "/":
        return _fixed(f1 + i1 + f2 + signed(b), f1, is_signed)
    raise ValueError(f"{op} on fixed point")


def common(a, b):
    """The type both sides of a comparison, min/max or conditional expression are cast to."""
    if a == b:
        return a
    if isinstance(a, Index) and isinstance(b, Index):
        return a
    a, b = integerish(a), integerish(b)
    if is_float(a) or is_float(b):
        return a if is_float(a) else b
    is_signed = signed(a) or signed(b)
    if is_fixed(a) or is_fixed(b):
        f = max(frac(a), frac(b))
        i = max(t.bits - frac(t) + (1 if is_signed and not signed(t) else 0) for t in (a, b))
        return _check((Fixed if is_signed else UFixed)(f + i, f) if f else _int(f + i, is_signed))
    if signed(a) == signed(b):
        return _int(max(a.bits, b.bits), signed(a))
    return _check(Int(max(_sw(a), _sw(b))))


def literal(value, other):
    """The type a Python number takes next to an operand of type ``other``."""
    if isinstance(value, float):
        if other is not None and is_fixed(other):
            raw = math.floor(value * 2 ** frac(other))
            return other if _raw_fits(raw, other) else _fixed(max(raw.bit_length() + 1, frac(other) + 1),
                                                              frac(other), True)
        return other if other is not None and is_float(other) else float32
    if other is None:
        return INT32 if -(2**31) <= value < 2**31 else Int(value.bit_length() + 1)
    if is_float(other):
        return other
    if isinstance(other, Index):
        return other if -(2**31) <= value < 2**31 else Int(value.bit_length() + 1)
    return other if _raw_fits(value << frac(other), other) else Int(value.bit_length() + 1)


def _raw_fits(raw, t) -> bool:
    lo, hi = (-(1 << (t.bits - 1)), 1 << (t.bits - 1)) if signed(t) else (0, 1 << t.bits)
    return lo <= raw < hi


def negate(t):
    if is_float(t) or isinstance(t, Index):
        return t
    return _check(_fixed(t.bits + 1, frac(t), True))


def absolute(t):
    if is_float(t) or not signed(t) or isinstance(t, Index):
        return t
    return _check(_fixed(t.bits + 1, frac(t), True))
