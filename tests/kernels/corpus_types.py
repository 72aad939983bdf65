"""Every width class of Int/UInt (1 to 512 bits), bool, float16/bfloat16/float64, index, explicit casts."""
import numpy as np

import dsl
from dsl import Int, UInt, bfloat16, bool, float16, float32, float64, index, int8, int16, int32, uint8

from .case import Case, ints, wide_ints, wrap

N = 8


def _muladd(T):
    """C = A * B + A - 3, stored (wrapping) into T: exercises widening and the store cast of a width."""

    def muladd(A: T[N], B: T[N]) -> T[N]:
        C: T[N] = 0
        for i in range(N):
            C[i] = A[i] * B[i] + A[i] - 3
        return C

    return muladd


def _width_inputs(bits, signed):
    def make(rng):
        if bits > 64:
            return wide_ints(rng, bits, N, signed), wide_ints(rng, bits, N, signed)
        if bits == 64 and not signed:
            return tuple(np.array(list(wide_ints(rng, 64, N, False)), dtype=np.uint64) for _ in range(2))
        dtype = np.dtype(T_CARRIER(bits, signed))
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return ints(rng, lo, hi, N, dtype), ints(rng, lo, hi, N, dtype)

    return make


def T_CARRIER(bits, signed):
    for w in (8, 16, 32, 64):
        if bits <= w:
            return f"{'i' if signed else 'u'}{w // 8}"


def _width_ref(bits, signed):
    def ref(A, B):
        out = [wrap(int(a) * int(b) + int(a) - 3, bits, signed) for a, b in zip(A, B)]
        return np.array(out, dtype=object if bits > 63 else np.int64)

    return ref


WIDTHS = [(1, True), (3, True), (8, True), (12, True), (16, True), (24, True), (32, True), (33, True), (64, True),
          (100, True), (512, True), (3, False), (8, False), (12, False), (24, False), (33, False), (64, False),
          (100, False)]


def _width_cases():
    cases = []
    for bits, signed in WIDTHS:
        t = Int(bits) if signed else UInt(bits)
        cases.append(Case(f"width_{'int' if signed else 'uint'}{bits}", _muladd(t), _width_inputs(bits, signed),
                          _width_ref(bits, signed)))
    return cases


def bool_logic(A: bool[N], B: bool[N]) -> (bool[N], bool[N]):
    C: bool[N] = 0
    D: bool[N] = 0
    for i in range(N):
        C[i] = (A[i] and not B[i]) or (A[i] ^ B[i])
        D[i] = (A[i] & B[i]) | ~A[i]
    return C, D


def wide_ops(A: Int(512)[N], B: Int(512)[N]) -> (Int(512)[N], Int(512)[N], bool[N]):
    S: Int(512)[N] = 0
    X: Int(512)[N] = 0
    L: bool[N] = 0
    for i in range(N):
        S[i] = (A[i] - B[i]) >> 7
        X[i] = (A[i] ^ B[i]) << 3
        L[i] = A[i] < B[i]
    return S, X, L


def wide_div(A: Int(100)[N], B: int32[N]) -> (Int(100)[N], Int(100)[N]):
    Q: Int(100)[N] = 0
    R: Int(100)[N] = 0
    for i in range(N):
        Q[i] = A[i] / B[i]
        R[i] = A[i] % B[i]
    return Q, R


def half_arith(A: float16[N], B: float16[N]) -> float16[N]:
    C: float16[N] = 0.0
    for i in range(N):
        C[i] = A[i] * B[i] + A[i]
    return C


def bf16_arith(A: bfloat16[N], B: bfloat16[N]) -> bfloat16[N]:
    C: bfloat16[N] = 0.0
    for i in range(N):
        C[i] = A[i] * B[i] + A[i]
    return C


def f64_math(A: float64[N], B: float64[N]) -> float64[N]:
    C: float64[N] = 0.0
    for i in range(N):
        C[i] = dsl.sqrt(A[i]) * B[i] + dsl.exp(B[i]) / A[i]
    return C


def index_values(A: index[N], n: index) -> (index[N], index):
    C: index[N] = 0
    s: index = 0
    for i in range(n):
        C[i] = A[i] * 2 + i
        s += A[i]
    return C, s


def casts(A: int32[N], F: float32[N]) -> (int8[N], Int(12)[N], UInt(4)[N], int16[N], bool[N], float16[N]):
    a: int8[N] = 0
    b: Int(12)[N] = 0
    c: UInt(4)[N] = 0
    d: int16[N] = 0
    e: bool[N] = 0
    f: float16[N] = 0.0
    for i in range(N):
        a[i] = int8(A[i])
        b[i] = Int(12)(A[i] * 3)
        c[i] = UInt(4)(A[i])
        d[i] = int16(F[i])
        e[i] = bool(A[i] & 3)
        f[i] = float16(F[i])
    return a, b, c, d, e, f


def float_to_narrow(F: float64[N]) -> (int8[N], uint8[N], float32[N]):
    a: int8[N] = 0
    b: uint8[N] = 0
    c: float32[N] = 0.0
    for i in range(N):
        a[i] = int8(F[i])
        b[i] = uint8(F[i] * 2.0)
        c[i] = float32(int8(F[i])) + float32(F[i])
    return a, b, c


FLAGS = np.array([True, False, False, True, True, False, True, False])
NIBBLES = np.array([[1, -2, 3, -4, 5, -6, 7, -8], [0, 1, 0, -1, 2, -3, 4, -5]], dtype=np.int8)


def nibble_row(R: Int(4)[N], k: int8) -> Int(4):
    s: Int(4) = 0
    for j in range(N):
        R[j] = R[j] + k
        s += R[j]
    return s


def narrow_subviews(A: Int(4)[2, N]) -> (Int(4)[2, N], Int(4)[2], UInt(3)[N]):
    B: Int(4)[2, N] = 0
    S: Int(4)[2] = 0
    U: UInt(3)[N] = 0
    for i in range(2):
        for j in range(N):
            B[i, j] = A[i, j] + Int(4)(NIBBLES[i, j])
        S[i] = nibble_row(B[i], 3)
    for j in range(N):
        U[j] = UInt(3)(j) if FLAGS[j] else U[j] - 1
    return B, S, U


def scalar_math(x: float32, y: float32) -> (float32, float32, float32, float32):
    a = dsl.pow(x, y) + dsl.exp2(y) - dsl.log2(x) + dsl.log10(x)
    b = dsl.floor(y) * dsl.ceil(x) + dsl.atan(y) + dsl.erf(y)
    c = dsl.rsqrt(x) + dsl.tan(y * 0.1) + dsl.sinh(y) - dsl.cosh(y)
    d = dsl.min(x, y) * dsl.max(x, y, 1.0) + x ** 2.5
    return a, b, c, d


def _narrow_ref(A):
    B = wrap(A.astype(np.int64) + NIBBLES, 4)
    B = wrap(B + 3, 4)
    S = np.array([int(wrap(int(sum(int(v) for v in row)), 4)) for row in B])
    U = np.where(FLAGS, np.arange(N) % 8, 7)
    return B, S, U


def _math_ref(x, y):
    import math
    f = np.float32
    a = f(x) ** f(y) + f(2.0) ** f(y) - np.log2(f(x)) + np.log10(f(x))
    b = np.floor(f(y)) * np.ceil(f(x)) + np.arctan(f(y)) + f(math.erf(y))
    c = f(1) / np.sqrt(f(x)) + np.tan(f(y) * f(0.1)) + np.sinh(f(y)) - np.cosh(f(y))
    d = min(f(x), f(y)) * max(f(x), f(y), f(1.0)) + f(x) ** f(2.5)
    return a, b, c, d


def _bf16(x):
    """Round float32 values to bfloat16 (nearest even) and back to float32."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)


def _bools(rng):
    return rng.integers(0, 2, N).astype(bool_), rng.integers(0, 2, N).astype(bool_)


bool_ = np.bool_


def _wide_ref(A, B):
    return (np.array([wrap(wrap(int(a) - int(b), 512) >> 7, 512) for a, b in zip(A, B)], dtype=object),
            np.array([wrap((int(a) ^ int(b)) << 3, 512) for a, b in zip(A, B)], dtype=object),
            np.array([int(a) < int(b) for a, b in zip(A, B)]))


def _cdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _nonzero32(rng):
    v = ints(rng, -2**31, 2**31 - 1, N, np.int32)
    return np.where(v == 0, 7, v).astype(np.int32)


def _casts_ref(A, F):
    a64 = A.astype(np.int64)
    return (wrap(a64, 8), wrap(a64 * 3, 12), wrap(a64, 4, False), np.trunc(F).astype(np.int64),
            (a64 & 3) != 0, F.astype(np.float16))


CASES = _width_cases() + [
    Case("bool_logic", bool_logic, _bools, lambda A, B: ((A & ~B) | (A ^ B), (A & B) | ~A)),
    Case("wide_int512_ops", wide_ops, lambda r: (wide_ints(r, 512, N), wide_ints(r, 512, N)), _wide_ref),
    Case("wide_int100_div_mod", wide_div, lambda r: (wide_ints(r, 100, N), _nonzero32(r)),
         lambda A, B: (np.array([_cdiv(int(a), int(b)) for a, b in zip(A, B)], dtype=object),
                       np.array([int(a) - _cdiv(int(a), int(b)) * int(b) for a, b in zip(A, B)], dtype=object))),
    Case("float16_arith", half_arith,
         lambda r: (r.uniform(-4, 4, N).astype(np.float16), r.uniform(-4, 4, N).astype(np.float16)),
         lambda A, B: A * B + A, exact=False),
    Case("bfloat16_arith", bf16_arith,
         lambda r: (_bf16(r.uniform(-4, 4, N)), _bf16(r.uniform(-4, 4, N))),
         lambda A, B: _bf16(_bf16(A * B) + A), exact=False),
    Case("float64_math", f64_math, lambda r: (r.uniform(0.5, 9, N), r.uniform(-2, 2, N)),
         lambda A, B: np.sqrt(A) * B + np.exp(B) / A, exact=False),
    Case("index_tensor_and_scalar", index_values, lambda r: (ints(r, -10**9, 10**9, N, np.int64), 5),
         lambda A, n: (np.concatenate([A[:n] * 2 + np.arange(n), np.zeros(N - n, np.int64)]), int(A[:n].sum()))),
    Case("explicit_casts", casts, lambda r: (ints(r, -10**6, 10**6, N, np.int32), r.uniform(-300, 300, N).astype(np.float32)),
         _casts_ref),
    Case("narrow_subviews_globals", narrow_subviews, lambda r: (ints(r, -8, 7, (2, N), np.int8),), _narrow_ref),
    Case("scalar_math_functions", scalar_math, lambda r: (float(r.uniform(0.5, 3)), float(r.uniform(-2, 2))),
         _math_ref, exact=False),
    Case("float_to_narrow_int", float_to_narrow, lambda r: (r.uniform(-100, 100, N),),
         lambda F: (np.trunc(F).astype(np.int64), np.trunc(F * 2.0).astype(np.int64) % 256,
                    (np.trunc(F).astype(np.float32) + F.astype(np.float32)))),
]
