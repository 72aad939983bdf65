"""Validation of library template arguments: each function refuses what its kernel cannot do with a
``dsl.ShapeError`` / ``dsl.DSLTypeError`` that says what is allowed (``@dsl.template(..., check=...)`` reports
it at the user's line)."""
from __future__ import annotations

from ..errors import DSLTypeError, ShapeError
from ..types import DSLType, Int, UInt, float32, int4, int8, int32


def need_type(name: str, value, allowed: tuple, what: str = ""):
    if value not in allowed:
        raise DSLTypeError(f"{what}{name} = {value!r} is not supported; allowed: "
                           f"{', '.join(repr(a) for a in allowed)}")


def need_int_type(name: str, value, what: str = ""):
    if not isinstance(value, (Int, UInt)):
        raise DSLTypeError(f"{what}{name} = {value!r} must be an integer type (int8, int4, Int(12), ...)")


def need_size(name: str, value, minimum: int = 1):
    if isinstance(value, DSLType) or not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ShapeError(f"{name} = {value!r} must be an integer >= {minimum}")


def need_multiple(name: str, value: int, of_name: str, of: int, why: str):
    if value % of:
        choices = [d for d in range(1, min(value, 64) + 1) if value % d == 0]
        raise ShapeError(f"{name} = {value} is not a multiple of {of_name} = {of}: {why}; "
                         f"divisors of {value}: {', '.join(map(str, choices))}{', ...' if value > 64 else ''}")


def sizes(**named):
    for name, value in named.items():
        need_size(name, value)


def float_row(T, D):
    need_type("T", T, (float32,), "the float kernels are bit-exact float32 (float16/bfloat16 are not "
                                  "supported); ")
    sizes(D=D)


def float_matrix(T, L, D):
    float_row(T, D)
    sizes(L=L)


def product_types(what, TX, TW, TO):
    """float32 x float32 -> float32, or integers into an integer accumulator."""
    if float32 in (TX, TW, TO):
        if (TX, TW, TO) != (float32, float32, float32):
            raise DSLTypeError(f"{what}: float products are float32 x float32 -> float32, got "
                                   f"{TX!r} x {TW!r} -> {TO!r}; integer products take integer types "
                                   "(e.g. int8 x int4 -> int32)")
        return
    for name, t in (("TX", TX), ("TW", TW), ("TO", TO)):
        need_int_type(name, t, f"{what}: ")


FLOAT32 = (float32,)
PACKED_PAIRS = {(int8, int4): 12, (int8, int8): 16}   # (activation, weight) -> offset of the high product
ACCUMULATOR = int32

__all__ = ["product_types", "need_type", "need_int_type", "need_size", "need_multiple", "sizes", "float_row", "float_matrix",
           "FLOAT32", "PACKED_PAIRS", "ACCUMULATOR"]
