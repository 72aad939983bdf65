"""Thin builders: constants, casts and arithmetic on typed scalars.

Each builder creates upstream ``arith``/``math`` ops at the current insertion point and location; the
frontend visitor sets both. Which op implements an operator on which kind of type is a table lookup.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, math

from ..errors import ShapeError
from ..types import MAX_EXTENT, MAX_INT_WIDTH, DSLType, Index, Int, UInt

# ---------------------------------------------------------------------------------------------------
# constants


def constant(value, dtype: DSLType) -> ir.Value:
    """A constant of a dsl type; fixed point takes a real value and stores its truncated raw integer."""
    t = dtype.mlir()
    if dtype.is_float:
        return arith.constant(t, float(value))
    if isinstance(dtype, Index):
        return arith.constant(t, int(value))
    if dtype.is_fixed:
        import math as pymath

        value = pymath.floor(float(value) * (1 << dtype.frac))
    if is_bool(dtype):
        value = 1 if value else 0  # non-zero is true, as in C++ and numpy
    value = int(value) & ((1 << dtype.bits) - 1)
    if value >= 1 << (dtype.bits - 1) and dtype.bits > 1:  # MLIR wants the signed view of the bits
        value -= 1 << dtype.bits
    if dtype.bits == 1:
        return arith.constant(t, ir.IntegerAttr.get(t, -value if value else 0))
    if dtype.bits > 64:  # IntegerAttr.get takes an int64 (a negative one would come out zero-extended)
        return arith.constant(t, ir.Attribute.parse(f"{value} : {t}"))
    return arith.constant(t, ir.IntegerAttr.get(t, value))


def attr_int(attr) -> int:
    """The integer an ``IntegerAttr`` holds, at any width (``.value`` aborts the process beyond 64 bits)."""
    attr = ir.IntegerAttr(attr)
    if isinstance(attr.type, ir.IntegerType) and ir.IntegerType(attr.type).width > 64:
        return int(str(attr).split(":")[0])
    return attr.value


def index_const(value: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), int(value))


def check_extent(value: int, what: str) -> int:
    """Loop bounds and indices are 32-bit ints in the generated hardware (``types.MAX_EXTENT``)."""
    if abs(int(value)) > MAX_EXTENT:
        raise ShapeError(f"{what} of {value} does not fit in 32 bits (at most {MAX_EXTENT} in magnitude): loop "
                         "counters and indices are C++ ints in the generated hardware")
    return int(value)


# ---------------------------------------------------------------------------------------------------
# casts


def _resize_int(v: ir.Value, src_bits: int, dst_bits: int, signed: bool) -> ir.Value:
    if dst_bits == src_bits:
        return v
    t = ir.IntegerType.get_signless(dst_bits)
    if dst_bits < src_bits:
        return arith.trunci(t, v)
    return arith.extsi(t, v) if signed else arith.extui(t, v)


def _shift(v: ir.Value, bits: int, amount: int, signed: bool) -> ir.Value:
    """Shift left by ``amount`` (right if negative; arithmetic right shift floors, i.e. AP_TRN). A shift by
    the whole width or more (LLVM leaves it undefined) gives what shifting bit by bit gives."""
    if amount == 0:
        return v
    if abs(amount) >= bits:
        if amount > 0 or not signed:
            return arith.constant(ir.IntegerType.get_signless(bits), 0)
        amount = -(bits - 1)  # only the sign is left
    c = arith.constant(ir.IntegerType.get_signless(bits), abs(amount))
    if amount > 0:
        return arith.shli(v, c)
    return arith.shrsi(v, c) if signed else arith.shrui(v, c)


def _fixed_to_fixed(v, src: DSLType, dst: DSLType):
    """Re-align the binary point, then wrap to the destination width (ap_fixed AP_TRN, AP_WRAP)."""
    shift = dst.frac - src.frac
    work = max(src.bits, dst.bits) + max(shift, 0)
    v = _resize_int(v, src.bits, work, src.signed)
    v = _shift(v, work, shift, src.signed)
    return _resize_int(v, work, dst.bits, src.signed)


def _int_to_float(v, src, dst):
    if isinstance(src, Index):
        v, src = arith.index_cast(ir.IntegerType.get_signless(64), v), _I64
    if src.is_fixed:
        f = arith.sitofp(dst.mlir(), v) if src.signed else arith.uitofp(dst.mlir(), v)
        return arith.mulf(f, constant(2.0 ** -src.frac, dst)) if src.frac else f
    return arith.sitofp(dst.mlir(), v) if src.signed else arith.uitofp(dst.mlir(), v)


def _float_to_int(v, src, dst):
    if dst.is_fixed:
        # ap_fixed from a float truncates toward -inf (AP_TRN) and wraps (AP_WRAP).
        v = math.floor(arith.mulf(v, constant(float(1 << dst.frac), src)))
    if isinstance(dst, Index):
        return arith.index_cast(ir.IndexType.get(), arith.fptosi(ir.IntegerType.get_signless(64), v))
    if is_bool(dst):
        return arith.cmpf(arith.CmpFPredicate.UNE, v, constant(0.0, src))
    wide = max(dst.bits, 64)
    i = arith.fptosi(ir.IntegerType.get_signless(wide), v)
    return _resize_int(i, wide, dst.bits, True)


def _float_to_float(v, src, dst):
    if src.bits == dst.bits and src.mlir_name == dst.mlir_name:
        return v
    if src.bits < dst.bits:
        return arith.extf(dst.mlir(), v)
    if src.bits > dst.bits:
        return arith.truncf(dst.mlir(), v)
    return arith.truncf(dst.mlir(), arith.extf(ir.F32Type.get(), v))  # f16 <-> bf16 through f32


def _index_to_int(v, src, dst):
    if is_bool(dst):
        return arith.cmpi(arith.CmpIPredicate.ne, v, index_const(0))
    i = arith.index_cast(ir.IntegerType.get_signless(64), v)
    return cast(i, _I64, dst)


def _int_to_index(v, src, dst):
    if src.is_fixed:
        v, src = cast(v, src, _I64), _I64
    return arith.index_cast(ir.IndexType.get(), v) if src.signed else arith.index_castui(ir.IndexType.get(), v)


def _int_to_int(v, src, dst):
    if is_bool(dst) and not is_bool(src):
        # casting to bool tests for non-zero, as C++ does
        return arith.cmpi(arith.CmpIPredicate.ne, v, constant(0, src))
    if src.is_fixed or dst.is_fixed:
        if dst.is_int and src.is_fixed:
            return _fixed_to_int(v, src, dst)
        return _fixed_to_fixed(v, src, dst)
    return _resize_int(v, src.bits, dst.bits, src.signed)


def _fixed_to_int(v, src, dst):
    """ap_fixed to integer conversion truncates toward zero (negative values with a fraction round up)."""
    if src.frac == 0:
        return _resize_int(v, src.bits, dst.bits, src.signed)
    floor = _shift(v, src.bits, -src.frac, src.signed)
    if src.signed:
        mask = constant((1 << src.frac) - 1, _int_type(src.bits))
        has_frac = arith.cmpi(arith.CmpIPredicate.ne, arith.andi(v, mask), constant(0, _int_type(src.bits)))
        negative = arith.cmpi(arith.CmpIPredicate.slt, v, constant(0, _int_type(src.bits)))
        adjust = arith.andi(has_frac, negative)
        floor = arith.addi(floor, arith.extui(ir.IntegerType.get_signless(src.bits), adjust))
    return _resize_int(floor, src.bits, dst.bits, src.signed)


def _int_type(bits):
    from ..types import Int

    return Int(bits)


def _kind(t: DSLType) -> str:
    if isinstance(t, Index):
        return "index"
    return "float" if t.is_float else "int"


_CASTS = {
    ("int", "int"): _int_to_int,
    ("int", "float"): _int_to_float,
    ("float", "int"): _float_to_int,
    ("float", "float"): _float_to_float,
    ("index", "int"): _index_to_int,
    ("int", "index"): _int_to_index,
    ("index", "float"): _int_to_float,
    ("float", "index"): _float_to_int,
}


def cast(v: ir.Value, src: DSLType, dst: DSLType) -> ir.Value:
    """Convert ``v`` from ``src`` to ``dst`` with C++/ap_int semantics (wrap, truncate toward zero for
    float to int, AP_TRN/AP_WRAP for fixed point)."""
    if src == dst:
        return v
    if isinstance(src, Index) and isinstance(dst, Index):
        return v
    return _CASTS[(_kind(src), _kind(dst))](v, src, dst)


# ---------------------------------------------------------------------------------------------------
# arithmetic tables: (operator, kind) -> builder(lhs, rhs, dtype)

_INT_OPS = {
    "Add": lambda a, b, t: arith.addi(a, b),
    "Sub": lambda a, b, t: arith.subi(a, b),
    "Mult": lambda a, b, t: arith.muli(a, b),
    "Div": lambda a, b, t: arith.divsi(a, b) if t.signed else arith.divui(a, b),
    "FloorDiv": lambda a, b, t: arith.floordivsi(a, b) if t.signed else arith.divui(a, b),
    "Mod": lambda a, b, t: arith.remsi(a, b) if t.signed else arith.remui(a, b),
    "BitAnd": lambda a, b, t: arith.andi(a, b),
    "BitOr": lambda a, b, t: arith.ori(a, b),
    "BitXor": lambda a, b, t: arith.xori(a, b),
    "LShift": lambda a, b, t: arith.shli(a, b),
    "RShift": lambda a, b, t: arith.shrsi(a, b) if t.signed else arith.shrui(a, b),
    "Max": lambda a, b, t: arith.maxsi(a, b) if t.signed else arith.maxui(a, b),
    "Min": lambda a, b, t: arith.minsi(a, b) if t.signed else arith.minui(a, b),
}
_FLOAT_OPS = {
    "Add": lambda a, b, t: arith.addf(a, b),
    "Sub": lambda a, b, t: arith.subf(a, b),
    "Mult": lambda a, b, t: arith.mulf(a, b),
    "Div": lambda a, b, t: arith.divf(a, b),
    "FloorDiv": lambda a, b, t: math.floor(arith.divf(a, b)),
    "Mod": lambda a, b, t: arith.remf(a, b),
    "Pow": lambda a, b, t: math.powf(a, b),
    "Max": lambda a, b, t: arith.maximumf(a, b),
    "Min": lambda a, b, t: arith.minimumf(a, b),
}
_INDEX_OPS = {
    "Add": lambda a, b, t: arith.addi(a, b),
    "Sub": lambda a, b, t: arith.subi(a, b),
    "Mult": lambda a, b, t: arith.muli(a, b),
    "Div": lambda a, b, t: arith.divsi(a, b),
    "FloorDiv": lambda a, b, t: arith.floordivsi(a, b),
    "Mod": lambda a, b, t: arith.remsi(a, b),
    "Max": lambda a, b, t: arith.maxsi(a, b),
    "Min": lambda a, b, t: arith.minsi(a, b),
    "BitAnd": lambda a, b, t: arith.andi(a, b),
    "BitOr": lambda a, b, t: arith.ori(a, b),
    "BitXor": lambda a, b, t: arith.xori(a, b),
    "LShift": lambda a, b, t: arith.shli(a, b),
    "RShift": lambda a, b, t: arith.shrsi(a, b),
}
ARITH_TABLE = {"int": _INT_OPS, "float": _FLOAT_OPS, "index": _INDEX_OPS}

_CMP_INT = {"Eq": "eq", "NotEq": "ne", "Lt": "slt", "LtE": "sle", "Gt": "sgt", "GtE": "sge"}
_CMP_UINT = {"Eq": "eq", "NotEq": "ne", "Lt": "ult", "LtE": "ule", "Gt": "ugt", "GtE": "uge"}
_CMP_FLOAT = {"Eq": "OEQ", "NotEq": "UNE", "Lt": "OLT", "LtE": "OLE", "Gt": "OGT", "GtE": "OGE"}


def compare(op: str, a: ir.Value, b: ir.Value, t: DSLType) -> ir.Value:
    if t.is_float:
        return arith.cmpf(getattr(arith.CmpFPredicate, _CMP_FLOAT[op]), a, b)
    table = _CMP_INT if (t.signed or isinstance(t, Index)) else _CMP_UINT
    return arith.cmpi(getattr(arith.CmpIPredicate, table[op]), a, b)


def fixed_mul(a, b, t):
    """Fixed-point product: the raw integers multiply; the binary point is at F1 + F2 (type rule)."""
    return arith.muli(a, b)


def fixed_div(a, b, ta: DSLType, tb: DSLType, t: DSLType):
    """ap_fixed quotient: (a << F2) / b truncated toward zero, computed wide enough for both operands (the
    divisor is never narrowed) and then cut to the result type, which holds every quotient."""
    signed = ta.signed or tb.signed
    work = min(MAX_INT_WIDTH, max(t.bits, ta.bits + tb.frac + 1, tb.bits + (1 if signed and not tb.signed else 0)))
    a = _shift(_resize_int(a, ta.bits, work, ta.signed), work, tb.frac, True)
    b = _resize_int(b, tb.bits, work, tb.signed)
    return _resize_int(arith.divsi(a, b) if signed else arith.divui(a, b), work, t.bits, signed)


def int_divide(op: str, a, ta: DSLType, b, tb: DSLType, t: DSLType):
    """``/``, ``//``, ``%`` on integers in a width that holds both operands (mixing signed and unsigned: the
    signed view), so that the divisor is never narrowed to the dividend's width; then cut to the result type
    of the typing rules, which holds every quotient and remainder."""
    signed = ta.signed or tb.signed
    widths = [(x.bits if not signed or x.signed else x.bits + 1) for x in (ta, tb)]
    work_t = (Int if signed else UInt)(min(MAX_INT_WIDTH, max(t.bits, *widths)))
    value = ARITH_TABLE["int"][op](cast(a, ta, work_t), cast(b, tb, work_t), work_t)
    return cast(value, work_t, t)


def shift(op: str, x, tx: DSLType, amount, ta: DSLType, t: DSLType):
    """``x << n`` / ``x >> n`` in the left operand's type ``t`` (typing rules), defined for every amount: an
    amount of at least the width (or a negative one) gives what Python's shift wrapped to ``t`` gives for a
    large amount: 0 for ``<<`` and for ``>>`` of unsigned values, the sign fill for ``>>`` of signed ones.
    The amount is never narrowed before it is compared, and the shift itself always stays in range (C++ and
    LLVM leave out-of-range shifts undefined)."""
    x = cast(x, tx, t)
    width = t.bits
    known = _constant_value(amount)
    if known is not None and 0 <= known < width:
        amt = constant(known, t)
        return ARITH_TABLE["int"][op](x, amt, t)
    cmp_bits = max(ta.bits, width.bit_length() + 1)
    wide = _resize_int(amount, ta.bits, cmp_bits, ta.signed)  # a negative amount reads as a huge unsigned one
    too_far = arith.cmpi(arith.CmpIPredicate.uge, wide, constant(width, UInt(cmp_bits)))
    amt = arith.select(too_far, constant(width - 1, UInt(cmp_bits)), wide)
    amt = _resize_int(amt, cmp_bits, width, False)
    shifted = ARITH_TABLE["int"][op](x, amt, t)
    if op == "RShift" and t.signed:
        return shifted  # shifting by width - 1 is the sign fill
    return arith.select(too_far, constant(0, t), shifted)


def _constant_value(value):
    owner = value.owner
    op = owner if isinstance(owner, ir.Operation) else getattr(owner, "operation", None)
    if op is None or op.name != "arith.constant":
        return None
    return attr_int(op.attributes["value"])


def is_bool(t: DSLType) -> bool:
    return isinstance(t, UInt) and t.bits == 1


_I64 = None  # set below (avoid an import cycle at module import)


def _init():
    global _I64
    from ..types import int64

    _I64 = int64


_init()
