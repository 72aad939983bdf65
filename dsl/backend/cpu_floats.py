"""16-bit floats on the CPU path without compiler-runtime helpers (applied to the JIT's private copy).

LLVM turns conversions to and from ``half``/``bfloat`` into calls of the compiler runtime
(``__truncsfbf2``, ``__truncdfhf2``, ``__extendhfsf2``, ...) unless the host has an instruction for them. Which
of those a system's libgcc exports depends on its GCC version (``__truncsfbf2`` only from GCC 13), so a JIT
that relied on them would work on one machine and fail on the next. Instead:

1. arithmetic, comparisons and math functions on ``f16``/``bf16`` are done in ``f32`` (upstream
   ``arith-emulate-unsupported-floats`` and ``math-extend-to-supported-types``): one rounding per operation,
   which is what C++ ``half`` arithmetic and LLVM's own promotion compute, and exact because f32 has more than
   twice the precision plus two bits (so the double rounding is innocuous for + - * / sqrt);
2. integer-to-16-bit-float conversions go through ``f64`` (exact for integers below 2**53);
3. every remaining ``arith.extf``/``arith.truncf`` that involves a 16-bit float is expanded here into integer
   operations on the IEEE bit patterns: exact widening, and narrowing with round-to-nearest-even, subnormals,
   overflow to infinity and NaN kept quiet, straight from the source format (no double rounding).
"""
from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, math
from mlir.passmanager import PassManager

from ..frontend.narrow import walk_ops


@dataclass(frozen=True)
class FloatFormat:
    """An IEEE-754 binary format: ``exp`` exponent bits and ``man`` stored mantissa bits."""

    exp: int
    man: int

    @property
    def width(self) -> int:
        return 1 + self.exp + self.man

    @property
    def bias(self) -> int:
        return (1 << (self.exp - 1)) - 1

    @property
    def inf_bits(self) -> int:  # the magnitude bits of +inf
        return ((1 << self.exp) - 1) << self.man


FORMATS = {"f16": FloatFormat(5, 10), "bf16": FloatFormat(8, 7), "f32": FloatFormat(8, 23),
           "f64": FloatFormat(11, 52)}
SIXTEEN_BIT = ("f16", "bf16")
EMULATION = ("func.func(arith-emulate-unsupported-floats{source-types=f16,bf16 target-type=f32},"
             "math-extend-to-supported-types{target-type=f32})")


def expand_sixteen_bit_floats(module: ir.Module) -> None:
    """Rewrite ``module`` so that no 16-bit float operation needs a compiler-runtime helper."""
    with ir.Location.unknown():
        _int_to_small_float_through_f64(module)
    PassManager.parse(f"builtin.module({EMULATION})").run(module.operation)
    with ir.Location.unknown():
        for op in [op for op in walk_ops(module.operation) if op.name in ("arith.extf", "arith.truncf")]:
            src, dst = str(op.operands[0].type), str(op.results[0].type)
            if (src in SIXTEEN_BIT or dst in SIXTEEN_BIT) and src in FORMATS and dst in FORMATS:
                _replace(op, lambda v: convert_bits(v, src, dst))


def _int_to_small_float_through_f64(module):
    for op in [op for op in walk_ops(module.operation) if op.name in ("arith.sitofp", "arith.uitofp")]:
        if str(op.results[0].type) in SIXTEEN_BIT:
            make = arith.sitofp if op.name == "arith.sitofp" else arith.uitofp
            dst = op.results[0].type
            _replace(op, lambda v: arith.truncf(dst, make(ir.F64Type.get(), v)))


def _replace(op, build):
    with ir.InsertionPoint(op):
        new = build(op.operands[0])
    op.results[0].replace_all_uses_with(new)
    op.erase()


def convert_bits(value: ir.Value, src: str, dst: str) -> ir.Value:
    """``value`` (a float of format ``src``) converted to format ``dst`` with integer operations only."""
    s, d = FORMATS[src], FORMATS[dst]
    if s.exp <= d.exp and s.man <= d.man:
        return _widen(value, s, d, _float_type(dst))
    if s.exp >= d.exp and s.man >= d.man:
        return _narrow(value, s, d, _float_type(dst))
    return convert_bits(convert_bits(value, src, "f32"), "f32", dst)  # f16 <-> bf16: f32 holds both exactly


def _float_type(name):
    return {"f16": ir.F16Type, "bf16": ir.BF16Type, "f32": ir.F32Type, "f64": ir.F64Type}[name].get()


class _Ints:
    """Integer constants and operations of one width (the generated IR of one conversion)."""

    def __init__(self, width: int):
        self.type = ir.IntegerType.get_signless(width)

    def c(self, v: int) -> ir.Value:
        return arith.constant(self.type, v)

    def select(self, cond, a, b):
        return arith.select(cond, a, b)

    def ugt(self, a, b):
        return arith.cmpi(arith.CmpIPredicate.ugt, a, b)

    def eq(self, a, b):
        return arith.cmpi(arith.CmpIPredicate.eq, a, b)

    def rne_shift(self, x, shift):
        """``x >> shift`` rounded to nearest, ties to even (``shift`` >= 1, a value or an int)."""
        k = self.c(shift) if isinstance(shift, int) else shift
        one = self.c(1)
        half_minus_one = arith.subi(arith.shli(one, arith.subi(k, one)), one)
        odd = arith.andi(arith.shrui(x, k), one)
        return arith.shrui(arith.addi(arith.addi(x, half_minus_one), odd), k)


def _fields(u, fmt: FloatFormat, ints: _Ints):
    """(sign bit at bit 0, magnitude bits, biased exponent, mantissa) of the bit pattern ``u``."""
    sign = arith.shrui(u, ints.c(fmt.width - 1))
    mag = arith.andi(u, ints.c((1 << (fmt.width - 1)) - 1))
    return sign, mag, arith.shrui(mag, ints.c(fmt.man)), arith.andi(mag, ints.c((1 << fmt.man) - 1))


def _narrow(value, s: FloatFormat, d: FloatFormat, dst_type):
    ints = _Ints(s.width)
    sign, mag, e, m = _fields(arith.bitcast(ints.type, value), s, ints)
    shift, delta = s.man - d.man, s.bias - d.bias
    inf_d = ints.c(d.inf_bits)
    # a normal result: rebias the exponent in place, then round the mantissa away
    normal = ints.rne_shift(arith.subi(mag, ints.c(delta << s.man)), shift) if shift else \
        arith.subi(mag, ints.c(delta << s.man))
    normal = ints.select(ints.ugt(normal, inf_d), inf_d, normal)  # overflow -> infinity
    # a subnormal (or zero) result: the whole significand shifted to the destination's subnormal unit
    is_src_normal = ints.ugt(e, ints.c(0))
    significand = ints.select(is_src_normal, arith.ori(m, ints.c(1 << s.man)), m)
    e_eff = ints.select(is_src_normal, e, ints.c(1))
    s2 = arith.subi(ints.c(1 + delta + shift), e_eff)          # >= 1 + shift on this path
    s2 = arith.minui(s2, ints.c(s.man + 2))                     # beyond that the result is 0 anyway
    subnormal = ints.rne_shift(significand, s2)
    finite = ints.select(ints.ugt(e, ints.c(delta)), normal, subnormal)
    quiet_nan = arith.ori(ints.c(d.inf_bits | (1 << (d.man - 1))), arith.shrui(m, ints.c(shift)))
    is_inf_or_nan = ints.eq(e, ints.c((1 << s.exp) - 1))
    special = ints.select(ints.ugt(mag, ints.c(s.inf_bits)), quiet_nan, inf_d)
    result = ints.select(is_inf_or_nan, special, finite)
    narrow = ir.IntegerType.get_signless(d.width)
    bits = arith.ori(arith.trunci(narrow, result), arith.shli(arith.trunci(narrow, sign),
                                                               arith.constant(narrow, d.width - 1)))
    return arith.bitcast(dst_type, bits)


def _widen(value, s: FloatFormat, d: FloatFormat, dst_type):
    ints = _Ints(d.width)
    src_ints = ir.IntegerType.get_signless(s.width)
    u = arith.extui(ints.type, arith.bitcast(src_ints, value))
    sign, mag, e, m = _fields(u, s, ints)
    shift, delta = d.man - s.man, d.bias - s.bias
    normal = arith.addi(arith.shli(mag, ints.c(shift)), ints.c(delta << d.man))
    special = arith.ori(ints.c(d.inf_bits), arith.shli(m, ints.c(shift)))  # inf, or NaN with its payload
    if delta == 0:  # same exponent range: subnormals stay subnormal, the pattern just widens
        tiny = arith.shli(mag, ints.c(shift))
    else:  # a subnormal source is a normal number in the wider format: normalise it
        msb = arith.subi(ints.c(d.width - 1), math.ctlz(m))            # position of the leading one
        lead = arith.minui(arith.subi(ints.c(d.man), msb), ints.c(d.man))
        mantissa = arith.andi(arith.shli(m, lead), ints.c((1 << d.man) - 1))
        exponent = arith.addi(msb, ints.c(1 + delta - s.man))
        tiny = ints.select(ints.eq(m, ints.c(0)), ints.c(0),
                           arith.ori(arith.shli(exponent, ints.c(d.man)), mantissa))
    is_zero_exp = ints.eq(e, ints.c(0))
    is_max_exp = ints.eq(e, ints.c((1 << s.exp) - 1))
    result = ints.select(is_max_exp, special, ints.select(is_zero_exp, tiny, normal))
    return arith.bitcast(dst_type, arith.ori(result, arith.shli(sign, ints.c(d.width - 1))))
