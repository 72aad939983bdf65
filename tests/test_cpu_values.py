"""Values the CPU backend used to get wrong (found by random programs compared with plain Python and csim):
bits of odd widths, bit-slice stores, fixed point without integer bits converted to integers, non-zero is
true for bool, negative odd-width arguments, wide intermediates, constants beyond 64 bits."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UFixed, UInt, int32, int64


def _wrap(v, bits, signed=True):
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def odd_bits(X: Int(17)[2], x: Int(17)) -> int32[6]:
    R: int32[6] = 0
    R[0] = X[0][16]
    R[1] = X[0][8:17]
    R[2] = x[16]
    R[3] = x[8:17]
    y: Int(17) = X[1]
    R[4] = y[16]
    R[5] = y[0:17]
    return R


@pytest.mark.parametrize("opt_level", [0, 3])
def test_bits_of_an_int17_holding_minus_one(opt_level):
    got = dsl.build(odd_bits, opt_level=opt_level)(np.array([-1, -1]), -1)
    assert got.tolist() == [1, 511, 1, 511, 1, 2**17 - 1]


def no_integer_bits(X: Fixed(6, 6)[3], Y: Fixed(8, 8)[3], U: UFixed(8, 8)[3]) -> int32[9]:
    D: int32[9] = 5
    for i in range(3):
        D[i] = X[i]
        D[i + 3] = int(Y[i])
        D[i + 6] = int(U[i])
    return D


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_fixed_point_without_integer_bits_converts_to_zero(opt_level):
    # a shift by the whole width (undefined in LLVM) used to leave the destination unchanged at -O3
    X, Y, U = np.array([-0.5, 0.25, 0.484375]), np.array([-0.5, 0.25, -1 / 256]), np.array([0.5, 0.99, 0])
    assert dsl.build(no_integer_bits, opt_level=opt_level)(X, Y, U).tolist() == [0] * 9


def narrowed_fixed(X: Fixed(8, 8)[2]) -> Fixed(8, 0)[2]:
    R: Fixed(8, 0)[2] = 0
    for i in range(2):
        R[i] = X[i]  # re-aligning the binary point shifts by the whole width too
    return R


def test_fixed_to_fixed_shift_by_the_whole_width():
    assert dsl.build(narrowed_fixed)(np.array([-0.5, 0.25])).tolist() == [-1.0, 0.0]  # AP_TRN floors


def mixed(v: int32, a: int32) -> (int32, int32, dsl.bool, dsl.bool, int32, Int(72), Int(72), UInt(64), Int(72)):
    w: int32 = v
    w[3:4] = 2  # a 1-bit slice takes the low bit of 2: bit 3 cleared
    u: int32 = v
    u[4:6] = 7  # two bits: the low two bits of 7
    b: dsl.bool = 2  # non-zero is true, as in C++ and numpy
    c: dsl.bool = a
    B: dsl.bool[2] = 0
    B[0] = 2
    B[1] = a
    x: Int(72) = -5
    y: Int(72) = 2**70 + 3
    z: UInt(64) = 2**64 - 1
    n: Int(72) = x * (2**66) + y
    return w, u, b, c, B[0] + B[1] * 2, x, y, z, n


def _mixed_expect(v, a):
    return (v & ~(1 << 3), (v & ~(3 << 4)) | (3 << 4), True, a != 0, 1 + 2 * (a != 0), -5, 2**70 + 3, 2**64 - 1,
            _wrap(-5 * 2**66 + 2**70 + 3, 72))


@pytest.mark.parametrize("target", ["llvm", "csim"])
def test_slices_bools_and_wide_constants_agree_with_python(target):
    options = {"target": "vitis_hls", "mode": "csim"} if target == "csim" else {}
    module = dsl.build(mixed, **options)
    for v, a in ((0, 2), (-1, 0), (0x5A5A5A5A, -7)):
        got = tuple(int(g) if not isinstance(g, (bool, np.bool_)) else bool(g) for g in module(v, a))
        assert got == _mixed_expect(v, a), (v, a)


def negative(a: Int(9), b: Int(12), c: Int(13), d: Int(17), e: Int(31), f: Int(33), g: Int(1)) -> int64:
    return a + b + c + d + e + f + g


@pytest.mark.parametrize("opt_level", [0, 3])
def test_negative_arguments_of_odd_signed_widths(opt_level):
    module = dsl.build(negative, opt_level=opt_level)
    for args in ((-1,) * 7, (-256, -2048, -4096, -65536, -(2**30), -(2**32), -1), (-3, -5, -7, -9, -11, -13, 0)):
        assert module(*args) == sum(args), args


def wide_product(T5: Fixed(8, 1)[2, 3], R1: Int(62)[1, 1]) -> UInt(64)[2, 3]:
    R2: UInt(64)[2, 3] = 0
    P: Int(70)[2, 3] = 0
    Q: Int(70)[2, 3] = 0  # written after P: an allocation too small for i70 elements shows in P
    for i in range(2):
        for j in range(3):
            P[i, j] = T5[i, j] * R1[0, 0]
    for i in range(2):
        for j in range(3):
            Q[i, j] = -P[i, j]
    for i in range(2):
        for j in range(3):
            R2[1, j] += P[i, j] + Q[i, j] + P[i, j] + T5[i, j] * R1[0, 0]
    return R2


def _wide_product_reference(T5, r1):
    P = [[_wrap(math.trunc(Fraction(T5[i][j]) * r1), 70) for j in range(3)] for i in range(2)]
    R2 = [[0] * 3 for _ in range(2)]
    for i in range(2):
        for j in range(3):  # each store truncates toward zero and wraps to its type
            R2[1][j] = _wrap(math.trunc(R2[1][j] + P[i][j] + Fraction(T5[i][j]) * r1), 64, signed=False)
    return R2


def test_products_with_68_and_70_bit_intermediates_do_not_depend_on_opt_level():
    T5 = np.array([[-64, 63.5, -0.5], [1.5, -3, 7]])
    R1 = np.array([[-(2**61) + 5]])
    expect = _wide_product_reference(T5.tolist(), int(R1[0, 0]))
    for opt_level in range(4):
        assert dsl.build(wide_product, opt_level=opt_level)(T5, R1).tolist() == expect, opt_level
