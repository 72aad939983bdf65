"""Scalar arithmetic, comparisons, boolean logic and casts on the common integer and float types."""
import numpy as np

import dsl
from dsl import bool, float32, float64, int8, int16, int32, int64, uint8, uint16

from .case import Case, c_div, c_mod, ints, wrap

N = 16


def add_wrap(A: int8[N], B: int8[N]) -> int8[N]:
    C: int8[N] = 0
    for i in range(N):
        C[i] = A[i] + B[i]
    return C


def add_widen(A: int8[N], B: int8[N]) -> int16[N]:
    C: int16[N]
    for i in range(N):
        C[i] = A[i] + B[i] + A[i]
    return C


def mul_sub(A: int32[N], B: int32[N]) -> int32[N]:
    C: int32[N] = 0
    for i in range(N):
        C[i] = A[i] * B[i] - A[i]
    return C


def mul_widen(A: int32[N], B: int32[N]) -> int64[N]:
    C: int64[N] = 0
    for i in range(N):
        C[i] = A[i] * B[i]
    return C


def c_div_mod(A: int32[N], B: int32[N]) -> (int32[N], int32[N]):
    Q: int32[N] = 0
    R: int32[N] = 0
    for i in range(N):
        Q[i] = A[i] / B[i]
        R[i] = A[i] % B[i]
    return Q, R


def floor_div(A: int16[N], B: int16[N]) -> int16[N]:
    Q: int16[N] = 0
    for i in range(N):
        Q[i] = A[i] // B[i]
    return Q


def unsigned_div_mod(A: uint16[N], B: uint16[N]) -> (uint16[N], uint16[N]):
    Q: uint16[N] = 0
    R: uint16[N] = 0
    for i in range(N):
        Q[i] = A[i] / B[i]
        R[i] = A[i] % B[i]
    return Q, R


def power(A: int16[N]) -> int64[N]:
    C: int64[N] = 0
    for i in range(N):
        C[i] = A[i] ** 3 + A[i] ** 2
    return C


def shifts(A: int16[N], U: uint16[N]) -> (int16[N], int16[N], uint16[N]):
    L: int16[N] = 0
    R: int16[N] = 0
    S: uint16[N] = 0
    for i in range(N):
        L[i] = A[i] << 3
        R[i] = A[i] >> 2
        S[i] = U[i] >> 5
    return L, R, S


def bitwise(A: int32[N], B: int32[N], U: uint8[N]) -> (int32[N], uint8[N]):
    C: int32[N] = 0
    D: uint8[N] = 0
    for i in range(N):
        C[i] = (A[i] & B[i]) | (A[i] ^ ~B[i])
        D[i] = ~U[i] ^ (U[i] & 0x0F)
    return C, D


def min_max_abs(A: int32[N], B: int32[N], C: int32[N]) -> (int32[N], int32[N], int32[N]):
    lo: int32[N] = 0
    hi: int32[N] = 0
    ab: int32[N] = 0
    for i in range(N):
        lo[i] = min(A[i], B[i])
        hi[i] = max(A[i], B[i], C[i])
        ab[i] = abs(A[i]) + dsl.abs(B[i])
    return lo, hi, ab


def compare_logic(A: int32[N], B: int32[N]) -> bool[N]:
    F: bool[N] = 0
    for i in range(N):
        F[i] = (A[i] < B[i] and not A[i] == 0) or A[i] >= 90 or 0 < B[i] <= 5
    return F


def cond_expr(A: int32[N], B: int32[N]) -> int32[N]:
    C: int32[N] = 0
    for i in range(N):
        C[i] = A[i] if A[i] > B[i] else B[i] - 1
    return C


def scalar_args(a: int32, b: int32) -> int32:
    return a * b + 7 - a // 3


def float_arith(A: float32[N], B: float32[N]) -> float32[N]:
    C: float32[N] = 0.0
    for i in range(N):
        C[i] = A[i] * B[i] + A[i] / B[i] - 2.0 * A[i] + 0.5
    return C


def float_floor_mod(A: float64[N], B: float64[N]) -> (float64[N], float64[N]):
    F: float64[N] = 0.0
    M: float64[N] = 0.0
    for i in range(N):
        F[i] = A[i] // B[i]
        M[i] = A[i] % B[i]
    return F, M


def py_casts(A: float32[N], B: int32[N]) -> (int32[N], float32[N]):
    I: int32[N] = 0
    F: float32[N] = 0.0
    for i in range(N):
        I[i] = int(A[i]) + int(2.9)
        F[i] = float(B[i]) * 0.5
    return I, F


def aug_assign(A: int32[N]) -> int32:
    x: int32 = 1
    for i in range(N):
        x += A[i]
        x *= 3
        x -= i
        x //= 2
        x %= 100000
        x <<= 1
        x >>= 1
        x |= 1
        x &= 0xFFFFF
        x ^= 5
    return x


def neg_unsigned(U: uint8[N]) -> int16[N]:
    C: int16[N] = 0
    for i in range(N):
        C[i] = -U[i] + (+U[i]) - U[i]
    return C


def mixed_sign(U: uint8[N], S: int8[N]) -> (int16[N], bool[N]):
    C: int16[N] = 0
    L: bool[N] = 0
    for i in range(N):
        C[i] = U[i] + S[i] - U[i] * S[i] // 4
        L[i] = U[i] < S[i]
    return C, L


def reassign_arg(a: int32, b: int32) -> int32:
    a = a + b
    a = a * 2
    return a


def _i64(x):
    return np.asarray(x, np.int64)


def _min3(a, b, c):
    return np.minimum(np.minimum(a, b), c)


def _aug_ref(A):
    x = 1
    for i in range(N):
        x = int(wrap(x + int(A[i]), 32))
        x = int(wrap(x * 3, 32))
        x = int(wrap(x - i, 32))
        x = x // 2
        x = int(c_mod(x, 100000))
        x = int(wrap(x << 1, 32))
        x = x >> 1
        x |= 1
        x &= 0xFFFFF
        x ^= 5
    return x


def _nonzero(rng, lo, hi, dtype):
    v = ints(rng, lo, hi, N, dtype)
    return np.where(v == 0, 1, v).astype(dtype)


CASES = [
    Case("add_int8_wrap", add_wrap, lambda r: (ints(r, -128, 127, N, np.int8), ints(r, -128, 127, N, np.int8)),
         lambda A, B: wrap(_i64(A) + B, 8)),
    Case("add_widen_int16", add_widen, lambda r: (ints(r, -128, 127, N, np.int8), ints(r, -128, 127, N, np.int8)),
         lambda A, B: 2 * _i64(A) + B),
    Case("mul_sub_int32_wrap", mul_sub,
         lambda r: (ints(r, -2**31, 2**31 - 1, N, np.int32), ints(r, -2**31, 2**31 - 1, N, np.int32)),
         lambda A, B: wrap(_i64(A) * _i64(B) - A, 32)),
    Case("mul_widen_int64", mul_widen,
         lambda r: (ints(r, -2**31, 2**31 - 1, N, np.int32), ints(r, -2**31, 2**31 - 1, N, np.int32)),
         lambda A, B: _i64(A) * _i64(B)),
    Case("c_div_mod_int32", c_div_mod, lambda r: (ints(r, -1000, 1000, N, np.int32), _nonzero(r, -50, 50, np.int32)),
         lambda A, B: (c_div(A, B), c_mod(A, B))),
    Case("floor_div_int16", floor_div, lambda r: (ints(r, -1000, 1000, N, np.int16), _nonzero(r, -50, 50, np.int16)),
         lambda A, B: np.floor_divide(_i64(A), _i64(B))),
    Case("unsigned_div_mod", unsigned_div_mod,
         lambda r: (ints(r, 0, 65535, N, np.uint16), _nonzero(r, 1, 300, np.uint16)),
         lambda A, B: (A // B, A % B)),
    Case("power_int", power, lambda r: (ints(r, -1000, 1000, N, np.int16),), lambda A: _i64(A) ** 3 + _i64(A) ** 2),
    Case("shifts", shifts, lambda r: (ints(r, -32768, 32767, N, np.int16), ints(r, 0, 65535, N, np.uint16)),
         lambda A, U: (wrap(_i64(A) << 3, 16), _i64(A) >> 2, U >> 5)),
    Case("bitwise", bitwise, lambda r: (ints(r, -2**31, 2**31 - 1, N, np.int32),
                                        ints(r, -2**31, 2**31 - 1, N, np.int32), ints(r, 0, 255, N, np.uint8)),
         lambda A, B, U: ((A & B) | (A ^ ~B), (~U ^ (U & 0x0F)).astype(np.uint8))),
    Case("min_max_abs", min_max_abs, lambda r: tuple(ints(r, -10**6, 10**6, N, np.int32) for _ in range(3)),
         lambda A, B, C: (np.minimum(A, B), np.maximum(np.maximum(A, B), C), np.abs(A) + np.abs(B))),
    Case("compare_and_or_not", compare_logic, lambda r: (ints(r, -5, 100, N, np.int32), ints(r, -5, 100, N, np.int32)),
         lambda A, B: ((A < B) & (A != 0)) | (A >= 90) | ((B > 0) & (B <= 5))),
    Case("conditional_expression", cond_expr, lambda r: (ints(r, -9, 9, N, np.int32), ints(r, -9, 9, N, np.int32)),
         lambda A, B: np.where(A > B, A, B - 1)),
    Case("scalar_args_result", scalar_args, lambda r: (int(r.integers(-1000, 1000)), int(r.integers(-1000, 1000))),
         lambda a, b: a * b + 7 - a // 3),
    Case("float32_arith", float_arith,
         lambda r: (r.uniform(-4, 4, N).astype(np.float32), r.uniform(0.5, 3, N).astype(np.float32)),
         lambda A, B: A * B + A / B - np.float32(2.0) * A + np.float32(0.5), exact=False),
    Case("float_floordiv_mod", float_floor_mod, lambda r: (r.uniform(-9, 9, N), r.uniform(0.5, 3, N) * r.choice([-1, 1], N)),
         lambda A, B: (np.floor(A / B), np.fmod(A, B)), exact=False),
    Case("int_float_casts", py_casts, lambda r: (r.uniform(-50, 50, N).astype(np.float32), ints(r, -99, 99, N, np.int32)),
         lambda A, B: (np.trunc(A).astype(np.int64) + 2, B.astype(np.float32) * np.float32(0.5))),
    Case("aug_assign_all_ops", aug_assign, lambda r: (ints(r, -10**5, 10**5, N, np.int32),), _aug_ref),
    Case("negate_unsigned", neg_unsigned, lambda r: (ints(r, 0, 255, N, np.uint8),), lambda U: -_i64(U)),
    Case("mixed_signedness", mixed_sign, lambda r: (ints(r, 0, 255, N, np.uint8), ints(r, -128, 127, N, np.int8)),
         lambda U, S: (wrap(_i64(U) + S - np.floor_divide(_i64(U) * S, 4), 16), _i64(U) < S)),
    Case("reassign_scalar_arg", reassign_arg, lambda r: (int(r.integers(-10**4, 10**4)), int(r.integers(-10**4, 10**4))),
         lambda a, b: (a + b) * 2),
]
