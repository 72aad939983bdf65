"""DSP packing: two products a*w0 and a*w1 from one 27x18-bit multiplication (a DSP48E2), bit-exactly.

The pre-adder forms the 27-bit operand w1 * 2^S + w0, the multiplier gives p = a*w1 * 2^S + a*w0 in 45 bits,
and the two products come back from bit fields of p: the low one is p[0:S] read as a signed S-bit number,
the high one is p[S:45] read as signed plus p[S-1] (the sign bit of the low product: a negative low product
borrowed one from the high field). S must hold a*w0 as a signed number: S = 12 for int8 x int4 (|a*w0| <=
1024), S = 16 for int8 x int8 (|a*w0| <= 16384); the operands fit (|w1 * 2^S| < 2^26, |a| < 2^17).
``tests/test_library_packing.py`` proves it over every (a, w0, w1) of both pairs.

In the HLS C++ the product is one ``ap_int<27> * ap_int<18>`` (the emitter multiplies the narrow operands of
a widening multiply), which Vitis maps to one DSP.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import Int

from . import checks

PACKED_PAIRS = checks.PACKED_PAIRS   # (activation type, weight type) -> S
WIDE_A, WIDE_B, WIDE_P = 27, 18, 45  # DSP48E2: 27 x 18 -> 45-bit product (48-bit accumulator)


def _pair_check(TA, TW, what="mul2"):
    if (TA, TW) not in PACKED_PAIRS:
        pairs = ", ".join(f"{a!r} x {w!r}" for a, w in PACKED_PAIRS)
        raise dsl.DSLTypeError(f"{what}: DSP packing of {TA!r} activations x {TW!r} weights is not supported; "
                               f"packable pairs (activation x weight): {pairs}")


@dsl.template("TA", "TW", "S")
def mul2_at(a: "TA", w0: "TW", w1: "TW") -> ("Int(TA.bits + TW.bits)", "Int(TA.bits + TW.bits)"):
    """(a*w0, a*w1) with the high product at offset S."""
    wp: Int(WIDE_A) = (Int(WIDE_A)(w1) << S) + w0     # the DSP pre-adder
    av: Int(WIDE_B) = a
    p: Int(WIDE_P) = wp * av                          # the one multiplication
    lo: Int(S) = p[0:S]
    hs: Int(WIDE_P - S) = p[S:WIDE_P]
    hi: Int(WIDE_P - S) = hs + p[S - 1]               # sign correction
    return lo, hi


@dsl.template("TA", "TW", check=_pair_check)
def mul2(a: "TA", w0: "TW", w1: "TW") -> ("Int(TA.bits + TW.bits)", "Int(TA.bits + TW.bits)"):
    """(a*w0, a*w1) from one DSP multiplication; (TA, TW) one of PACKED_PAIRS."""
    lo, hi = mul2_at[TA, TW, PACKED_PAIRS[TA, TW]](a, w0, w1)
    return lo, hi


def mul2_ref(a, w0, w1, offset):
    """The packing's own bit arithmetic in numpy int64 (what the kernel computes; the tests compare it
    with the exact products a*w0, a*w1)."""
    a, w0, w1 = (np.asarray(v, dtype=np.int64) for v in (a, w0, w1))
    s = np.int64(offset)
    p = (w1 * (np.int64(1) << s) + w0) * a
    low_bits = p & ((np.int64(1) << s) - 1)
    lo = low_bits - ((low_bits >> (s - 1)) << s)                # sign-extend S bits
    hi = (p >> s) + ((p >> (s - 1)) & 1)                        # arithmetic shift, plus the borrow bit
    return lo, hi
