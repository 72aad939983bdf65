"""A reference interpreter of kernels: the kernel's own Python source run as plain Python under the README's
typing rules (``types.py``): integers are exact Python ints (intermediates never overflow), fixed point is
exact rationals, float32 is numpy's float32 operation by operation; a value is wrapped (fixed point: floored
at its LSB, then wrapped) when it is stored into its declared type; ``/`` and ``%`` follow C, ``//`` floors.
It knows nothing of MLIR or of the dsl's compiler: it shares only the kernel text and the type descriptors."""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

import dsl
from dsl import Fixed, Float, Index, Int, UFixed, UInt, float32

from . import types as T

FLOAT_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}
CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
       ast.Gt: operator.gt, ast.GtE: operator.ge}
PY_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
          "%": operator.mod, "&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift,
          ">>": operator.rshift}


class Undefined(Exception):
    """The program does something the rules leave undefined (the generator should not make it)."""


@dataclass
class V:
    """A typed value: int (integers, bool, index), Fraction (fixed point) or np.float32."""

    v: object
    t: object


@dataclass
class Lit:
    """A Python number not yet given a type."""

    v: object


@dataclass
class Tensor:
    data: np.ndarray  # object array of values of element type t
    t: object


def wrap(v: int, bits: int, is_signed: bool) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if is_signed and bits > 1 and v >> (bits - 1) else v


def trunc(x) -> int:
    """Toward zero."""
    return math.trunc(x)


def cast(x, t) -> V:
    """``x`` (V or Lit) converted to ``t`` as the dsl's casts do (C++ / ap_int / ap_fixed semantics)."""
    v, src = (x.v, None) if isinstance(x, Lit) else (x.v, x.t)
    if src == t:
        return V(v, t)
    if isinstance(t, Index):
        return V(int(v), t)
    if T.is_float(t):
        return V(_to_float32(v, src), t)
    if isinstance(v, (np.floating, float)):
        if not math.isfinite(float(v)):
            raise Undefined(f"non-finite {v} converted to {t!r}")
        if t == T.BOOL:
            return V(int(float(v) != 0.0), t)
        scaled = math.floor(float(v) * 2 ** T.frac(t)) if T.is_fixed(t) else trunc(float(v))
        if abs(scaled) >= 2**63:
            raise Undefined(f"{v} out of range converting to {t!r}")
        return _from_raw(scaled, t)
    exact = Fraction(v)
    if t == T.BOOL and src != T.BOOL:  # non-zero is true, as in C++ and numpy
        return V(int(exact != 0), t)
    if T.is_fixed(t):
        return _from_raw(math.floor(exact * 2 ** T.frac(t)), t)
    return V(wrap(trunc(exact), t.bits, T.signed(t)), t)


def _from_raw(raw: int, t) -> V:
    raw = wrap(raw, t.bits, T.signed(t))
    return V(Fraction(raw, 2 ** T.frac(t)) if T.is_fixed(t) else raw, t)


def _to_float32(v, src):
    if isinstance(v, (np.floating, float)):
        return np.float32(v)
    if src is not None and T.is_fixed(src):
        raw = int(v * 2 ** T.frac(src))
        if abs(raw) >= 2**53:
            raise Undefined("fixed value too wide for an exact float conversion")
        return np.float32(raw) * np.float32(2.0 ** -T.frac(src))
    if abs(int(v)) >= 2**53:
        raise Undefined("integer too wide for an exact float conversion")
    return np.float32(int(v))


def as_bool(x) -> bool:
    return bool(x.v != 0)


def type_of_lit(x, other):
    return T.literal(x.v, other.t if isinstance(other, V) else None)


def binop(op: str, a, b):
    if isinstance(a, Lit) and isinstance(b, Lit):
        return Lit(PY_OPS[op](a.v, b.v))
    at = type_of_lit(a, b) if isinstance(a, Lit) else a.t
    bt = type_of_lit(b, a) if isinstance(b, Lit) else b.t
    rt = T.binary(op, at, bt)
    a, b = cast(a, at), cast(b, bt)
    if T.is_float(rt):
        a, b = cast(a, rt), cast(b, rt)
        with np.errstate(all="ignore"):
            value = np.float32(FLOAT_OPS[op](a.v, b.v)) if op in FLOAT_OPS else _float_floordiv(a.v, b.v)
        if np.isnan(value):
            raise Undefined("NaN (backends may order NaN differently in min/max)")
        return V(value, rt)
    if op in ("<<", ">>"):
        return V(_shift(op, a.v, b.v, T.integerish(at) if not isinstance(bt, Index) else at), rt)
    x, y = a.v, b.v
    if op == "/":
        if y == 0:
            raise Undefined("division by zero")
        q = abs(x) / abs(y) if T.is_fixed(rt) or isinstance(x, Fraction) or isinstance(y, Fraction) else None
        if q is not None:  # fixed point: truncated toward zero at the dividend's LSB
            q = Fraction(math.floor(q * 2 ** T.frac(at)), 2 ** T.frac(at))
        else:
            q = abs(x) // abs(y)
        value = q if (x < 0) == (y < 0) else -q
    elif op == "//":
        if y == 0:
            raise Undefined("division by zero")
        value = x // y
    elif op == "%":
        if y == 0:
            raise Undefined("division by zero")
        value = x - trunc(Fraction(x, y)) * y
    else:
        value = PY_OPS[op](x, y)
    return _checked(value, rt)


def _float_floordiv(a, b):
    return np.float32(np.floor(np.float32(a / b)))


def _shift(op, x: int, n: int, t) -> int:
    width = T.width(t)
    if n < 0 or n >= width:  # defined like a very large amount (README): everything shifted out
        return 0 if op == "<<" or not T.signed(t) or x >= 0 else -1
    return wrap(x << n, width, T.signed(t)) if op == "<<" else x >> n


def _checked(value, t) -> V:
    """The typing rules say every intermediate fits its type: check it (a table bug would show here)."""
    if not T.is_float(t) and not isinstance(t, Index):
        raw = value * 2 ** T.frac(t)
        lo, hi = (-(1 << (t.bits - 1)), 1 << (t.bits - 1)) if T.signed(t) else (0, 1 << t.bits)
        assert raw.denominator == 1 if isinstance(raw, Fraction) else True, (value, t)
        assert lo <= raw < hi, f"{value} does not fit {t!r}"
    return V(value, t)


def compare(fn, a, b):
    if isinstance(a, Lit) and isinstance(b, Lit):
        return Lit(fn(a.v, b.v))
    at = type_of_lit(a, b) if isinstance(a, Lit) else a.t
    bt = type_of_lit(b, a) if isinstance(b, Lit) else b.t
    ct = T.common(at, bt)
    return V(int(bool(fn(cast(cast(a, at), ct).v, cast(cast(b, bt), ct).v))), T.BOOL)


def minmax(fn, values):
    acc = values[0]
    for x in values[1:]:
        if isinstance(acc, Lit) and isinstance(x, Lit):
            acc = Lit(fn(acc.v, x.v))
            continue
        at = type_of_lit(acc, x) if isinstance(acc, Lit) else acc.t
        xt = type_of_lit(x, acc) if isinstance(x, Lit) else x.t
        ct = T.common(at, xt)
        p, q = cast(cast(acc, at), ct), cast(cast(x, xt), ct)
        pick = (np.minimum if fn is min else np.maximum) if T.is_float(ct) else fn
        acc = V(pick(p.v, q.v), ct)
    return acc


def to_exact(value, t):
    """A backend's output element as an exact Python number, for comparison."""
    if T.is_float(t):
        return float(value)
    if T.is_fixed(t):
        return Fraction(float(value))
    return int(value)


def from_input(value, t) -> V:
    """An input element as the call boundary converts it (fixed point: floored at the LSB, then wrapped)."""
    if T.is_float(t):
        return V(np.float32(value), t)
    if T.is_fixed(t):
        return _from_raw(math.floor(Fraction(float(value)) * 2 ** T.frac(t)), t)
    return V(wrap(int(value), t.bits, T.signed(t)) if t != T.BOOL else int(bool(value)), t)


def output(x: V):
    return float(x.v) if T.is_float(x.t) else x.v


TYPE_CTORS = {"Int": Int, "UInt": UInt, "Fixed": Fixed, "UFixed": UFixed}
NAMED = {"float32": float32, "int32": T.INT32}


from .interp_exec import run  # noqa: E402,F401  (statements and expressions)
