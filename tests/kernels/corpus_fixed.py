"""Fixed point: every operation must compute exactly what ap_fixed<W, W-F> computes with AP_TRN (floor at
the LSB) and AP_WRAP (modulo 2^W). References work on the raw integers with Python's exact ints."""
import numpy as np

from dsl import Fixed, UFixed, bool, float32, int8, int16, int32

from .case import Case, fx_grid, ints

N = 12
F16 = Fixed(16, 8)


def _w(v, bits, signed=True):
    v = int(v) & ((1 << bits) - 1)
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def _raw(x, frac):
    return [int(np.floor(v * 2.0 ** frac)) for v in np.asarray(x, np.float64).reshape(-1)]


def _val(raws, frac):
    return np.array([r / 2.0 ** frac for r in raws])


def _align(r, f_from, f_to):
    return r << (f_to - f_from) if f_to >= f_from else r >> (f_from - f_to)  # >> floors: AP_TRN


def _tdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def add_sub(A: Fixed(16, 8)[N], B: Fixed(16, 8)[N]) -> (Fixed(16, 8)[N], Fixed(16, 8)[N]):
    S: Fixed(16, 8)[N] = 0
    D: Fixed(16, 8)[N] = 0
    for i in range(N):
        S[i] = A[i] + B[i]
        D[i] = A[i] - B[i]
    return S, D


def mul_trunc(A: Fixed(16, 8)[N], B: Fixed(12, 4)[N]) -> Fixed(16, 8)[N]:
    C: Fixed(16, 8)[N] = 0
    for i in range(N):
        C[i] = A[i] * B[i]
    return C


def mul_exact(A: Fixed(8, 4)[N], B: Fixed(8, 4)[N]) -> Fixed(20, 8)[N]:
    C: Fixed(20, 8)[N] = 0
    for i in range(N):
        C[i] = A[i] * B[i]
    return C


def div(A: Fixed(16, 8)[N], B: Fixed(16, 8)[N]) -> Fixed(24, 8)[N]:
    C: Fixed(24, 8)[N] = 0
    for i in range(N):
        C[i] = A[i] / B[i]
    return C


def mixed_frac(A: Fixed(16, 8)[N], B: Fixed(16, 4)[N]) -> Fixed(12, 2)[N]:
    C: Fixed(12, 2)[N] = 0
    for i in range(N):
        C[i] = A[i] + B[i]
    return C


def conversions(A: int8[N], X: Fixed(16, 8)[N], F: float32[N]) -> (Fixed(16, 8)[N], int16[N], float32[N], Fixed(12, 4)[N]):
    a: Fixed(16, 8)[N] = 0
    b: int16[N] = 0
    c: float32[N] = 0.0
    d: Fixed(12, 4)[N] = 0
    for i in range(N):
        a[i] = A[i]
        b[i] = X[i]
        c[i] = X[i]
        d[i] = F[i]
    return a, b, c, d


def ufixed(A: UFixed(12, 6)[N], B: UFixed(12, 6)[N]) -> (UFixed(12, 6)[N], Fixed(16, 6)[N]):
    S: UFixed(12, 6)[N] = 0
    D: Fixed(16, 6)[N] = 0
    for i in range(N):
        S[i] = A[i] + B[i]
        D[i] = A[i] - B[i]
    return S, D


def dot(A: Fixed(16, 8)[N], B: Fixed(16, 8)[N]) -> Fixed(32, 16):
    acc: Fixed(32, 16) = 0
    for i in range(N):
        acc += A[i] * B[i]
    return acc


def literals(A: Fixed(16, 8)[N]) -> Fixed(16, 8)[N]:
    C: Fixed(16, 8)[N] = 0
    for i in range(N):
        C[i] = A[i] * 1.5 + 0.25 - 2
    return C


def neg_compare(A: Fixed(16, 8)[N], B: Fixed(16, 8)[N]) -> (Fixed(16, 8)[N], bool[N], Fixed(16, 8)[N]):
    C: Fixed(16, 8)[N] = 0
    L: bool[N] = 0
    R: Fixed(16, 8)[N] = 0
    for i in range(N):
        C[i] = -A[i] if A[i] < B[i] else A[i] - B[i]
        L[i] = A[i] >= B[i]
        R[i] = max(A[i], 0)
    return C, L, R


def scalar_arg(A: Fixed(16, 8)[N], s: Fixed(16, 8)) -> Fixed(16, 8)[N]:
    C: Fixed(16, 8)[N] = 0
    for i in range(N):
        C[i] = A[i] * s
    return C


def narrowing(A: Fixed(16, 8)[N]) -> (Fixed(8, 2)[N], Fixed(8, 6)[N]):
    C: Fixed(8, 2)[N] = 0
    D: Fixed(8, 6)[N] = 0
    for i in range(N):
        C[i] = A[i]
        D[i] = A[i]
    return C, D


def wide_fixed(A: Fixed(40, 20)[N], B: Fixed(40, 20)[N]) -> Fixed(40, 20)[N]:
    C: Fixed(40, 20)[N] = 0
    for i in range(N):
        C[i] = A[i] * B[i] + A[i]
    return C


def explicit_cast(A: float32[N], X: Fixed(16, 8)[N]) -> (Fixed(16, 8)[N], int32[N], Fixed(10, 3)[N]):
    a: Fixed(16, 8)[N] = 0
    b: int32[N] = 0
    c: Fixed(10, 3)[N] = 0
    for i in range(N):
        a[i] = Fixed(16, 8)(A[i]) + Fixed(16, 8)(1)
        b[i] = int32(X[i] * 4)
        c[i] = Fixed(10, 3)(X[i])
    return a, b, c


def _pair(b1, f1, b2, f2):
    return lambda r: (fx_grid(r, b1, f1, N), fx_grid(r, b2, f2, N))


def _nonzero_grid(r):
    a, b = fx_grid(r, 16, 8, N), fx_grid(r, 16, 8, N)
    return a, np.where(b == 0, 0.5, b)


def _ref_add_sub(A, B):
    ra, rb = _raw(A, 8), _raw(B, 8)
    return _val([_w(x + y, 16) for x, y in zip(ra, rb)], 8), _val([_w(x - y, 16) for x, y in zip(ra, rb)], 8)


def _ref_mul_trunc(A, B):
    return _val([_w(_align(x * y, 12, 8), 16) for x, y in zip(_raw(A, 8), _raw(B, 4))], 8)


def _ref_div(A, B):
    return _val([_w(_tdiv(x << 8, y), 24) for x, y in zip(_raw(A, 8), _raw(B, 8))], 8)


def _ref_mixed(A, B):
    return _val([_w(_align(x + (y << 4), 8, 2), 12) for x, y in zip(_raw(A, 8), _raw(B, 4))], 2)


def _ref_conv(A, X, F):
    rx = _raw(X, 8)
    return (_val([_w(int(a) << 8, 16) for a in A], 8), np.array([_tdiv(x, 256) for x in rx]),
            _val(rx, 8).astype(np.float32), _val([_w(r, 12) for r in _raw(F.astype(np.float64), 4)], 4))


def _ref_ufixed(A, B):
    ra, rb = _raw(A, 6), _raw(B, 6)
    return _val([_w(x + y, 12, False) for x, y in zip(ra, rb)], 6), _val([_w(x - y, 16) for x, y in zip(ra, rb)], 6)


def _ref_dot(A, B):
    acc = 0
    for x, y in zip(_raw(A, 8), _raw(B, 8)):
        acc = _w(acc + x * y, 32)
    return acc / 2.0 ** 16


def _ref_literals(A):
    return _val([_w(_align(x * 3, 9, 8) + 64 - 512, 16) for x in _raw(A, 8)], 8)


def _ref_neg_cmp(A, B):
    ra, rb = _raw(A, 8), _raw(B, 8)
    return (_val([_w(-x if x < y else x - y, 16) for x, y in zip(ra, rb)], 8), np.array([x >= y for x, y in zip(ra, rb)]),
            _val([max(x, 0) for x in ra], 8))


def _ref_scalar(A, s):
    rs = _raw([s], 8)[0]
    return _val([_w(_align(x * rs, 16, 8), 16) for x in _raw(A, 8)], 8)


def _ref_narrow(A):
    ra = _raw(A, 8)
    return _val([_w(_align(x, 8, 2), 8) for x in ra], 2), _val([_w(_align(x, 8, 6), 8) for x in ra], 6)


def _ref_wide(A, B):
    return _val([_w(_align(x * y, 40, 20) + x, 40) for x, y in zip(_raw(A, 20), _raw(B, 20))], 20)


def _ref_explicit(A, X):
    rx = _raw(X, 8)
    return (_val([_w(r + 256, 16) for r in _raw(A.astype(np.float64), 8)], 8), np.array([_tdiv(x * 4, 256) for x in rx]),
            _val([_w(_align(x, 8, 3), 10) for x in rx], 3))


CASES = [
    Case("fixed_add_sub_wrap", add_sub, _pair(16, 8, 16, 8), _ref_add_sub),
    Case("fixed_mul_truncate", mul_trunc, _pair(16, 8, 12, 4), _ref_mul_trunc),
    Case("fixed_mul_exact_wider", mul_exact, _pair(8, 4, 8, 4),
         lambda A, B: _val([x * y for x, y in zip(_raw(A, 4), _raw(B, 4))], 8)),
    Case("fixed_div", div, _nonzero_grid, _ref_div),
    Case("fixed_mixed_frac_add", mixed_frac, _pair(16, 8, 16, 4), _ref_mixed),
    Case("fixed_int_float_conversions", conversions,
         lambda r: (ints(r, -128, 127, N, np.int8), fx_grid(r, 16, 8, N), r.uniform(-200, 200, N).astype(np.float32)),
         _ref_conv),
    Case("ufixed_add_sub", ufixed, lambda r: (fx_grid(r, 12, 6, N, signed=False), fx_grid(r, 12, 6, N, signed=False)),
         _ref_ufixed),
    Case("fixed_dot_scalar_return", dot, _pair(16, 8, 16, 8), _ref_dot),
    Case("fixed_literals", literals, lambda r: (fx_grid(r, 16, 8, N, span=4000),), _ref_literals),
    Case("fixed_negate_compare_max", neg_compare, _pair(16, 8, 16, 8), _ref_neg_cmp),
    Case("fixed_scalar_arg_quantised", scalar_arg, lambda r: (fx_grid(r, 16, 8, N), float(r.uniform(-20, 20))),
         _ref_scalar),
    Case("fixed_narrowing_store", narrowing, lambda r: (fx_grid(r, 16, 8, N),), _ref_narrow),
    Case("fixed_wide_40bit", wide_fixed, _pair(40, 20, 40, 20), _ref_wide),
    Case("fixed_explicit_casts", explicit_cast,
         lambda r: (r.uniform(-100, 100, N).astype(np.float32), fx_grid(r, 16, 8, N)), _ref_explicit),
]
