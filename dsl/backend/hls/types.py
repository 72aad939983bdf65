"""C++ spellings of dsl types (buffers, interfaces) and of MLIR storage types (SSA values), and literals.

Values in the IR are signless ``iN``; the emitter prints them as *signed* C++ types and casts to the unsigned
spelling (``unsigned_ctype``) exactly at the ops whose semantics are unsigned.
"""
from __future__ import annotations

import math

from mlir import ir

from ...errors import BuildError
from ...types import DSLType, Index

NATIVE_INT_WIDTHS = (8, 16, 32, 64)
INDEX_CTYPE = "int"  # loop counters and subscripts: HLS convention; index values must fit in 32 bits


def int_ctype(bits: int, signed: bool = True) -> str:
    if bits == 1 and not signed:
        return "bool"
    if bits in NATIVE_INT_WIDTHS:
        return f"{'' if signed else 'u'}int{bits}_t"
    return f"ap_{'' if signed else 'u'}int<{bits}>"


def dsl_ctype(dtype: DSLType) -> str:
    """The C++ type of a buffer element or interface port of dsl type ``dtype``."""
    if isinstance(dtype, Index):
        return INDEX_CTYPE
    if dtype.is_float:
        return float_ctype(dtype.mlir_name)
    if dtype.is_fixed:
        kind = "ap_fixed" if dtype.signed else "ap_ufixed"
        return f"{kind}<{dtype.bits}, {dtype.bits - dtype.frac}>"
    return int_ctype(dtype.bits, dtype.signed)


def float_ctype(mlir_name: str) -> str:
    if mlir_name == "bf16":
        raise BuildError("bfloat16 has no Vitis HLS C++ type; use float16 (half) or float32")
    return {"f16": "half", "f32": "float", "f64": "double"}[mlir_name]


def value_ctype(t: ir.Type) -> str:
    """The C++ type of an SSA value of MLIR type ``t`` (signed view of signless integers; i1 is bool)."""
    if isinstance(t, ir.IntegerType):
        return "bool" if t.width == 1 else int_ctype(t.width, True)
    if isinstance(t, ir.IndexType):
        return INDEX_CTYPE
    for cls, name in ((ir.F16Type, "f16"), (ir.BF16Type, "bf16"), (ir.F32Type, "f32"), (ir.F64Type, "f64")):
        if isinstance(t, cls):
            return float_ctype(name)
    raise BuildError(f"no C++ type for MLIR type {t}")


def unsigned_ctype(t: ir.Type) -> str:
    """The unsigned C++ view of an integer value (used where the op has unsigned semantics)."""
    if isinstance(t, ir.IndexType):
        return "unsigned"
    width = ir.IntegerType(t).width
    return "bool" if width == 1 else int_ctype(width, False)


def int_width(t: ir.Type) -> int:
    return 64 if isinstance(t, ir.IndexType) else ir.IntegerType(t).width


def uses_ap_types(ctype: str) -> bool:
    return ctype.startswith(("ap_int", "ap_uint", "ap_fixed", "ap_ufixed"))


def int_literal(value: int, t: ir.Type) -> str:
    """A C++ literal of the signed view of ``value`` in type ``t``."""
    if isinstance(t, ir.IndexType):
        return str(value)
    width = ir.IntegerType(t).width
    if width == 1:
        return "true" if value & 1 else "false"
    value &= (1 << width) - 1
    if value >= 1 << (width - 1):
        value -= 1 << width
    if width > 64:
        return f'{int_ctype(width)}("{value}", 10)'
    if width == 64 and value == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    if width == 32 and value == -(1 << 31):
        return "(-2147483647 - 1)"
    # 64-bit constants carry LL even when small: `1 << s` on a plain `1` would shift a 32-bit int
    text = f"{value}LL" if width == 64 else str(value)
    return text if width in (32, 64) else f"{int_ctype(width)}({text})"


def needs_cmath(literal: str) -> bool:
    """``NAN`` and ``INFINITY`` are macros of <cmath>, which the kernel then includes itself."""
    return "NAN" in literal or "INFINITY" in literal


def float_literal(value: float, t: ir.Type) -> str:
    ctype = value_ctype(t)
    if math.isnan(value):
        text = "NAN"
    elif math.isinf(value):
        text = "INFINITY" if value > 0 else "-INFINITY"
    else:
        text = repr(float(value))
        if "e" not in text and "." not in text:
            text += ".0"
    if ctype == "double":
        return text
    if ctype == "float":
        return text if text.endswith(("NAN", "INFINITY")) else text + "f"
    return f"({ctype}){text}"
