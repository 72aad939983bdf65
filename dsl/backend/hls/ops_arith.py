"""arith and math ops: one small printer per op. Every result becomes a typed local, so the C++
assignment wraps exactly as the MLIR op does (the csim build adds ``-fwrapv`` for signed overflow)."""
from __future__ import annotations

from mlir import ir

from ...frontend.builder import attr_int
from .types import float_literal, int_literal, int_width, needs_cmath, unsigned_ctype, value_ctype


def _operands(fe, op):
    return [fe.expr(v) for v in op.operands]


# 1-bit values print as ``bool``; arithmetic modulo 2 on them is bitwise (and g++ rejects ``*`` on bools). A
# shift of a 1-bit value by 1 is poison in MLIR and by 0 is the value itself: ``b ? false : a`` (``<<`` on
# bools is -Wint-in-bool-context).
_ONE_BIT = {"+": "{a} ^ {b}", "-": "{a} ^ {b}", "*": "{a} & {b}", "<<": "{b} ? false : {a}",
            ">>": "{b} ? false : {a}"}


def _wide_index(fe, value) -> bool:
    """An index value that needs ``int64_t`` (``index_ranges.py``)."""
    return isinstance(value.type, ir.IndexType) and fe.index_ranges.wide(value)


def _uctype(fe, value) -> str:
    return "uint64_t" if _wide_index(fe, value) else unsigned_ctype(value.type)


def _binary(symbol):
    def emit(fe, op):
        a, b = _operands(fe, op)
        if _wide_index(fe, op.result) and not any(_wide_index(fe, v) for v in op.operands):
            a = f"(int64_t){a}"  # computed in 64 bits, as on the CPU: `int` operands would overflow
        is_bit = isinstance(op.result.type, ir.IntegerType) and ir.IntegerType(op.result.type).width == 1
        text = _ONE_BIT.get(symbol, "{a} %s {b}" % symbol) if is_bit else f"{a} {symbol} {b}"
        fe.declare(op, op.result, text.format(a=a, b=b) if is_bit else text)
    return emit


def _shift_left(fe, op):
    """``a << b`` in the type of ``a``: a literal operand alone would be a C++ ``int`` (``255 << 56`` overflows)."""
    a, b = _operands(fe, op)
    t = op.result.type
    if isinstance(t, ir.IntegerType) and ir.IntegerType(t).width == 1:
        return _binary("<<")(fe, op)
    fe.declare(op, op.result, f"({fe.ctype(op.result)}){a} << {b}")


def _unsigned_binary(symbol):
    """Unsigned semantics: both operands viewed as unsigned, the result re-read as the signed view."""
    def emit(fe, op):
        a, b = _operands(fe, op)
        u = _uctype(fe, op.operands[0]) if not _wide_index(fe, op.operands[1]) else "uint64_t"
        if u == "bool" and symbol == ">>":
            fe.declare(op, op.result, f"{b} ? false : {a}")
            return
        fe.declare(op, op.result, f"({u}){a} {symbol} ({u}){b}")
    return emit


def _helper_call(helper, unsigned=False):
    def emit(fe, op):
        a, b = _operands(fe, op)
        wide = any(_wide_index(fe, v) for v in (*op.operands, op.result))
        t = op.operands[0].type
        ctype = ("uint64_t" if unsigned else "int64_t") if wide else unsigned_ctype(t) if unsigned else value_ctype(t)
        fe.need(helper)
        fe.declare(op, op.result, f"dsl_{helper}<{ctype}>(({ctype}){a}, ({ctype}){b})")
    return emit


def _select_by(symbol, unsigned=False):
    """min/max as a conditional: readable, and synthesises to a comparator and a mux."""
    def emit(fe, op):
        a, b = _operands(fe, op)
        if isinstance(op.result.type, ir.IndexType) and not unsigned and _index_min_max(fe, op, symbol):
            return
        if unsigned:
            u = "uint64_t" if any(_wide_index(fe, v) for v in op.operands) else unsigned_ctype(op.result.type)
            fe.declare(op, op.result, f"({u}){a} {symbol} ({u}){b} ? {a} : {b}")
        else:
            fe.declare(op, op.result, f"{a} {symbol} {b} ? {a} : {b}")
    return emit


def _constant(fe, op):
    attr = op.attributes["value"]
    t = op.result.type
    if isinstance(attr, ir.BoolAttr):
        fe.bind(op.result, "true" if attr.value else "false")
    elif isinstance(attr, ir.FloatAttr):
        text = float_literal(attr.value, t)
        if needs_cmath(text):
            fe.module.includes.add("#include <cmath>")
        fe.bind(op.result, text)
    elif isinstance(attr, ir.IntegerAttr):
        fe.bind(op.result, int_literal(attr_int(attr), t))
    else:
        from .emitter import op_error

        raise op_error(op, f"cannot emit constant {attr}")


def cast_expr(value_expr: str, src: ir.Type, dst_ctype: str) -> str:
    """C-style conversion; ap_int wider than 64 bits converts to native types through ``to_int64``."""
    src_ctype = value_ctype(src)
    if src_ctype.startswith("ap_") and int_width(src) > 64 and not dst_ctype.startswith("ap_"):
        return f"({dst_ctype}){value_expr}.to_int64()"
    return f"({dst_ctype}){value_expr}"


def _convert(fe, op):
    (a,) = _operands(fe, op)
    fe.declare(op, op.result, cast_expr(a, op.operands[0].type, fe.ctype(op.result)))


def _extsi(fe, op):
    (a,) = _operands(fe, op)
    src = op.operands[0].type
    if isinstance(src, ir.IntegerType) and src.width == 1:  # i1 true sign-extends to all ones
        fe.declare(op, op.result, f"{a} ? -1 : 0")
    elif _only_narrow_products(op.result):  # the multiply reads the narrow value: no wide copy
        fe.bind(op.result, f"(({value_ctype(op.result.type)}){a})")
    else:
        _convert(fe, op)


def _extui(fe, op):
    (a,) = _operands(fe, op)
    src = op.operands[0].type
    rhs = f"({value_ctype(op.result.type)})({unsigned_ctype(src)}){a}"
    if _only_narrow_products(op.result):
        fe.bind(op.result, f"({rhs})")
    else:
        fe.declare(op, op.result, rhs)


def _trunci(fe, op):
    (a,) = _operands(fe, op)
    if ir.IntegerType(op.result.type).width == 1:
        fe.declare(op, op.result, f"({a} & 1) != 0")
    else:
        _convert(fe, op)


def _from_unsigned(fe, op):
    """uitofp / index_castui: read the operand's bits as unsigned, then convert."""
    (a,) = _operands(fe, op)
    src = op.operands[0].type
    u = unsigned_ctype(src)
    inner = f"({u}){a}"
    dst = fe.ctype(op.result)
    if u.startswith("ap_") and int_width(src) > 64:
        inner = f"{inner}.to_double()" if dst in ("float", "double") else f"{inner}.to_uint64()"
    fe.declare(op, op.result, f"({dst}){inner}")


def _to_float(fe, op):
    (a,) = _operands(fe, op)
    src = op.operands[0].type
    dst = value_ctype(op.result.type)
    if value_ctype(src).startswith("ap_") and int_width(src) > 64:
        fe.declare(op, op.result, f"({dst}){a}.to_double()")
    else:
        fe.declare(op, op.result, f"({dst}){a}")


def _fptoui(fe, op):
    (a,) = _operands(fe, op)
    fe.declare(op, op.result, f"({value_ctype(op.result.type)})({unsigned_ctype(op.result.type)}){a}")


_CMPI = {0: ("==", False), 1: ("!=", False), 2: ("<", False), 3: ("<=", False), 4: (">", False),
         5: (">=", False), 6: ("<", True), 7: ("<=", True), 8: (">", True), 9: (">=", True)}
_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _constant_int(value):
    """The integer an ``arith.constant`` operand holds (None for anything else)."""
    owner = value.owner
    op = owner.operation if hasattr(owner, "operation") else owner
    if getattr(op, "name", None) != "arith.constant" or not isinstance(op.attributes["value"], ir.IntegerAttr):
        return None
    return attr_int(op.attributes["value"])


def _value_range(t, unsigned: bool, wide: bool = False) -> tuple:
    """The values a C++ operand of MLIR type ``t`` can hold (index values are C++ ``int``, or ``int64_t``
    when ``wide``)."""
    width = (64 if wide else 32) if isinstance(t, ir.IndexType) else int_width(t)
    return (0, (1 << width) - 1) if unsigned else (-(1 << (width - 1)), (1 << (width - 1)) - 1)


def _known_comparison(op, symbol: str, unsigned: bool, fe=None):
    """True/False when the comparison's outcome does not depend on the operands' values: the same value on
    both sides (``i < i``), or a constant at or beyond the end of the other operand's range (``u < 0`` on an
    unsigned value, ``i < 2**40`` on an index). g++ warns about these (-Wtautological-compare,
    -Wtype-limits) and they fold to a constant anyway."""
    x, y = op.operands
    if x == y:
        return symbol in ("==", "<=", ">=")
    if unsigned and isinstance(x.type, ir.IndexType):
        return None
    wide = fe is None or any(_wide_index(fe, v) for v in (x, y))  # without the function: assume wide
    lo, hi = _value_range(x.type, unsigned, wide)
    for const, other, flip in ((_constant_int(y), x, False), (_constant_int(x), y, True)):
        if const is None or _constant_int(other) is not None:
            continue
        if unsigned:
            const &= (1 << int_width(other.type)) - 1
        outcomes = {_COMPARE[symbol](const, v) if flip else _COMPARE[symbol](v, const) for v in (lo, hi)}
        if len(outcomes) == 1 and (const <= lo or const >= hi):
            return outcomes.pop()
    return None


def known_cmpi(op, fe):
    """The outcome of an ``arith.cmpi`` known at emission (see ``_known_comparison``), or None."""
    return _known_comparison(op, *_CMPI[ir.IntegerAttr(op.attributes["predicate"]).value], fe)


def _cmpi(fe, op):
    symbol, unsigned = _CMPI[ir.IntegerAttr(op.attributes["predicate"]).value]
    known = _known_comparison(op, symbol, unsigned, fe)
    if known is not None:
        fe.bind(op.result, "true" if known else "false")
        return
    a, b = _operands(fe, op)
    if unsigned:
        u = "uint64_t" if any(_wide_index(fe, v) for v in op.operands) else unsigned_ctype(op.operands[0].type)
        a, b = f"({u}){a}", f"({u}){b}"
    fe.declare(op, op.result, f"{a} {symbol} {b}")


# arith.cmpf predicates by number: ordered ones are false on NaN, unordered ones true.
_CMPF = {
    0: "false", 1: "{a} == {b}", 2: "{a} > {b}", 3: "{a} >= {b}", 4: "{a} < {b}", 5: "{a} <= {b}",
    6: "({a} < {b} || {a} > {b})", 7: "({a} == {a} && {b} == {b})", 8: "!({a} < {b} || {a} > {b})",
    9: "!({a} <= {b})", 10: "!({a} < {b})", 11: "!({a} >= {b})", 12: "!({a} > {b})", 13: "{a} != {b}",
    14: "({a} != {a} || {b} != {b})", 15: "true",
}


def _cmpf(fe, op):
    a, b = _operands(fe, op)
    fe.declare(op, op.result, _CMPF[ir.IntegerAttr(op.attributes["predicate"]).value].format(a=a, b=b))


def _select(fe, op):
    c, a, b = _operands(fe, op)
    fe.declare(op, op.result, f"{c} ? {a} : {b}")


def _negf(fe, op):
    (a,) = _operands(fe, op)
    fe.declare(op, op.result, f"-{a}")


def _math_call(function):
    def emit(fe, op):
        fe.module.includes.add("#include <hls_math.h>")
        fe.declare(op, op.result, f"hls::{function}({', '.join(_operands(fe, op))})")
    return emit


def _narrow_source(value):
    """(source value, width, signed) when ``value`` is a sign/zero extension of a narrower integer."""
    owner = value.owner
    name = getattr(owner, "name", None) if not isinstance(owner, ir.Block) else None
    if name not in ("arith.extsi", "arith.extui"):
        return None
    src = owner.operands[0]
    if not isinstance(src.type, ir.IntegerType) or ir.IntegerType(src.type).width == 1:
        return None
    return src, ir.IntegerType(src.type).width, name == "arith.extsi"


def _narrow_product(op) -> bool:
    narrow = [_narrow_source(v) for v in op.operands]
    width = ir.IntegerType(op.result.type).width if isinstance(op.result.type, ir.IntegerType) else 0
    return width > 1 and all(narrow) and sum(n[1] for n in narrow) <= width


def _only_narrow_products(value) -> bool:
    users = [u.owner for u in value.uses]
    return bool(users) and all(getattr(u, "name", None) == "arith.muli" and _narrow_product(u) for u in users)


def _muli(fe, op):
    """A widening multiply (both operands extended from a and b bits, a + b <= the result width) is printed
    on the narrow operands: ``ap_int<a> * ap_int<b>`` is exactly an ``ap_int<a+b>`` (UG1399: an arbitrary
    precision product has the sum of the operand widths), so Vitis builds one a x b multiplier (one DSP48 for
    27 x 18, what DSP packing relies on) instead of one at the full width of the result."""
    if _narrow_product(op):
        narrow = [_narrow_source(v) for v in op.operands]
        a, b = (f"(ap_{'' if signed else 'u'}int<{bits}>){fe.expr(src)}" for src, bits, signed in narrow)
        fe.declare(op, op.result, f"{a} * {b}")
    else:
        _binary("*")(fe, op)


def _absi(fe, op):
    """Both branches of ``?:`` in the result type (``-x`` on an ap_int<6> is an ap_int<7>)."""
    (a,) = _operands(fe, op)
    t = value_ctype(op.result.type)
    fe.declare(op, op.result, f"{a} < 0 ? {t}(-{a}) : {a}")


def _index_min_max(fe, op, symbol: str) -> bool:
    """min/max of an index and a constant outside the C++ ``int`` that holds index values: the other operand
    wins (``min(i, 2**40)`` is ``i``); a constant that would win does not fit the HLS code's index."""
    lo, hi = _value_range(op.result.type, False, _wide_index(fe, op.result))
    for const, other in ((_constant_int(op.operands[1]), op.operands[0]),
                         (_constant_int(op.operands[0]), op.operands[1])):
        if const is None or lo <= const <= hi:
            continue
        if (symbol == "<") == (const > hi):  # min with a huge constant, max with a very negative one
            fe.bind(op.result, fe.expr(other))
            return True
        from .emitter import op_error

        raise op_error(op, f"the index value {const} does not fit the 32-bit C++ int that holds index values in "
                           "HLS code")
    return False


def _bitcast(fe, op):
    """Same bits, another type (x.bitcast()): through a union, as Vitis HLS code does (UG1399, Unions)."""
    (a,) = _operands(fe, op)
    fe.need("bitcast")
    src, dst = value_ctype(op.operands[0].type), value_ctype(op.result.type)
    fe.declare(op, op.result, f"dsl_bitcast<{dst}, {src}>({a})")


MATH_FUNCTIONS = {
    "sqrt": "sqrt", "exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2", "log10": "log10",
    "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "atan": "atan", "atan2": "atan2",
    "asin": "asin", "acos": "acos", "sinh": "sinh", "cosh": "cosh", "erf": "erf", "powf": "pow",
    "floor": "floor", "ceil": "ceil", "round": "round", "trunc": "trunc", "absf": "fabs", "fma": "fma",
    "copysign": "copysign", "rsqrt": "rsqrt", "cbrt": "cbrt", "expm1": "expm1", "log1p": "log1p",
}

OPS = {
    "arith.constant": _constant,
    "arith.addi": _binary("+"), "arith.subi": _binary("-"), "arith.muli": _muli,
    "arith.divsi": _binary("/"), "arith.remsi": _binary("%"),
    "arith.divui": _unsigned_binary("/"), "arith.remui": _unsigned_binary("%"),
    "arith.floordivsi": _helper_call("floordiv"), "arith.ceildivsi": _helper_call("ceildiv"),
    "arith.ceildivui": _helper_call("ceildiv", unsigned=True),
    "arith.andi": _binary("&"), "arith.ori": _binary("|"), "arith.xori": _binary("^"),
    "arith.shli": _shift_left, "arith.shrsi": _binary(">>"), "arith.shrui": _unsigned_binary(">>"),
    "arith.maxsi": _select_by(">"), "arith.minsi": _select_by("<"),
    "arith.maxui": _select_by(">", unsigned=True), "arith.minui": _select_by("<", unsigned=True),
    "arith.cmpi": _cmpi, "arith.cmpf": _cmpf, "arith.select": _select,
    "arith.extsi": _extsi, "arith.extui": _extui, "arith.trunci": _trunci,
    "arith.index_cast": _convert, "arith.index_castui": _from_unsigned,
    "arith.sitofp": _to_float, "arith.uitofp": _from_unsigned,
    "arith.fptosi": _convert, "arith.fptoui": _fptoui, "arith.extf": _convert, "arith.truncf": _convert,
    "arith.addf": _binary("+"), "arith.subf": _binary("-"), "arith.mulf": _binary("*"),
    "arith.divf": _binary("/"), "arith.negf": _negf, "arith.remf": _math_call("fmod"),
    "arith.maximumf": _math_call("fmax"), "arith.minimumf": _math_call("fmin"),
    "arith.maxnumf": _math_call("fmax"), "arith.minnumf": _math_call("fmin"),
    "math.absi": _absi, "arith.bitcast": _bitcast,
    **{f"math.{name}": _math_call(fn) for name, fn in MATH_FUNCTIONS.items()},
}
