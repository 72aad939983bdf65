"""Loops (range/grid/reduction, triangular, scalar bounds, descending), while, if/elif/else, locals,
module globals and closures, data-dependent indexing and bit access."""
import numpy as np

import dsl
from dsl import bool, float32, index, int8, int16, int32, uint8, uint16, uint32

from .case import Case, ints, wrap

N = 10
M = 6
SCALE = 3
OFFSET = 0.5
TABLE = np.array([3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, 7, -9, 3], dtype=np.int32)
WEIGHTS = np.linspace(-1.0, 1.0, 8).astype(np.float32)
MASKS = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=np.int8)


def range_forms(A: int32[N]) -> (int32[N], int32[N], int32[N], int32[N]):
    a: int32[N] = 0
    b: int32[N] = 0
    c: int32[N] = 0
    d: int32[N] = 0
    for i in range(N):
        a[i] = A[i] + 1
    for i in range(2, N):
        b[i] = A[i - 2] * 2
    for i in range(1, N, 3):
        c[i] = A[i] - 7
    for i in range(N - 1, -1, -2):
        d[i] = A[N - 1 - i]
    return a, b, c, d


def gemm(A: int8[M, 8], B: int8[8, 5]) -> int32[M, 5]:
    C: int32[M, 5] = 0
    for i, j in dsl.grid(M, 5, name="S_gemm"):
        for k in dsl.reduction(8):
            C[i, j] += A[i, k] * B[k, j]
    return C


def triangular(A: int32[N, N]) -> (int32[N], int32[N]):
    lower: int32[N] = 0
    upper: int32[N] = 0
    for i in range(N):
        for j in range(i + 1):
            lower[i] += A[i, j]
        for j in range(i, N):
            upper[i] += A[i, j] * (j - i)
    return lower, upper


def scalar_bounds(A: int32[N], lo: int32, hi: int32) -> (int32, int32):
    s: int32 = 0
    t: int32 = 0
    for i in range(lo, hi):
        s += A[i]
    for i in range(hi - 1, lo - 1, -1):
        t = t * 2 + A[i]
    return s, t


def collatz(A: int32[N]) -> int32[N]:
    steps: int32[N] = 0
    for i in range(N):
        x: int32 = A[i]
        n: int32 = 0
        while x != 1 and n < 200:
            if x % 2 == 0:
                x = x // 2
            else:
                x = 3 * x + 1
            n += 1
        steps[i] = n
    return steps


def piecewise(A: int32[N]) -> int32[N]:
    C: int32[N] = 0
    for i in range(N):
        if A[i] < -50:
            C[i] = -1
        elif A[i] < 0:
            C[i] = A[i] * 2
        elif A[i] == 0:
            C[i] = 100
        else:
            C[i] = A[i] // 3
    return C


def locals_decl(A: int8[4]) -> (int16[4], float32[2, 2]):
    B: int8[4]
    for i in range(4):
        B[i] = A[3 - i]
    C: int16[4] = 7
    F: float32[2, 2] = 0.5
    acc: int16 = 0
    for i in range(4):
        acc += B[i]
        C[i] = C[i] + acc
    F[1, 0] = float(acc)
    return C, F


def globals_const(A: int32[N], X: float32[8]) -> (int32[N], float32):
    C: int32[N] = 0
    for i in range(N):
        C[i] = TABLE[(A[i] % 16 + 16) % 16] * SCALE + TABLE[i]
    s: float32 = OFFSET
    for k in range(8):
        s += WEIGHTS[k] * X[k]
    return C, s


def _make_closure_kernel(factor, bias):
    table = np.arange(N, dtype=np.int16) * factor

    def closure_kernel(A: int16[N]) -> int16[N]:
        C: int16[N] = 0
        for i in range(N):
            C[i] = A[i] * factor + table[i] + bias
        return C

    return closure_kernel


closure_kernel = _make_closure_kernel(5, -3)


def bits_read(A: uint16[N]) -> (bool[N], uint8[N], uint16[N], int32[N]):
    b: bool[N] = 0
    s: uint8[N] = 0
    t: uint16[N] = 0
    n: int32[N] = 0
    for i in range(N):
        x: uint16 = A[i]
        b[i] = x[3]
        s[i] = x[4:12]
        t[i] = x[0:4] + x[12:16]
        cnt: int32 = 0
        for k in range(16):
            cnt += x[k]
        n[i] = cnt
    return b, s, t, n


def bits_write(A: uint32[N], V: uint8[N]) -> (uint32[N], int16[N]):
    C: uint32[N] = 0
    D: int16[N] = 0
    for i in range(N):
        x: uint32 = A[i]
        x[0] = 1
        x[31] = 0
        x[8:16] = V[i]
        C[i] = x
        y: int16 = 0
        y[12:16] = V[i]
        y[5] = V[i] > 100
        D[i] = y
    return C, D


def conv2d(A: int8[M, M]) -> int32[M - 2, M - 2]:
    C: int32[M - 2, M - 2] = 0
    for i, j in dsl.grid(M - 2, M - 2):
        for ki, kj in dsl.reduction(3, 3, name="R_conv"):
            C[i, j] += A[i + ki, j + kj] * MASKS[ki, kj]
    return C


def gather(A: int32[N], I: int32[N]) -> (int32[N], int32[N]):
    G: int32[N] = 0
    H: int32[N] = 0
    for i in range(N):
        G[i] = A[I[i]]
        H[i] = A[i * i % N]
    return G, H


def prefix_sum(A: int32[N]) -> int32[N]:
    P: int32[N] = 0
    P[0] = A[0]
    for i in range(1, N):
        P[i] = P[i - 1] + A[i]
    return P


def grid3(A: float32[2, 3, 4]) -> float32[2, 3, 4]:
    C: float32[2, 3, 4] = 0.0
    for i, j, k in dsl.grid(2, 3, 4):
        C[i, j, k] = A[i, j, k] * float(i + 1) - float(j * k)
    return C


def search_flag(A: int32[N], key: int32) -> (int32, bool):
    pos: int32 = -1
    found: bool = 0
    i: int32 = 0
    while i < N and not found:
        if A[i] == key:
            found = 1
            pos = i
        i += 1
    return pos, found


def index_locals(A: int32[N], n: index) -> int32:
    k: index = 0
    s: int32 = 0
    while k < n:
        s += A[k] * k
        k += 2
    return s


def _range_ref(A):
    a = A + 1
    b = np.zeros(N, np.int64)
    b[2:] = A[:-2] * 2
    c = np.zeros(N, np.int64)
    c[1::3] = A[1::3] - 7
    d = np.zeros(N, np.int64)
    for i in range(N - 1, -1, -2):
        d[i] = A[N - 1 - i]
    return a, b, c, d


def _tri_ref(A):
    lower = np.array([A[i, :i + 1].sum() for i in range(N)])
    upper = np.array([sum(int(A[i, j]) * (j - i) for j in range(i, N)) for i in range(N)])
    return lower, upper


def _scalar_bounds_ref(A, lo, hi):
    t = 0
    for i in range(hi - 1, lo - 1, -1):
        t = int(wrap(t * 2 + int(A[i]), 32))
    return int(A[lo:hi].sum()), t


def _collatz_ref(A):
    out = []
    for x in A:
        x, n = int(x), 0
        while x != 1 and n < 200:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            n += 1
        out.append(n)
    return np.array(out)


def _piecewise_ref(A):
    return np.select([A < -50, A < 0, A == 0], [-1, A * 2, 100], np.floor_divide(A, 3))


def _locals_ref(A):
    B = A[::-1].astype(np.int64)
    acc = np.cumsum(B)
    F = np.full((2, 2), 0.5, np.float32)
    F[1, 0] = acc[-1]
    return 7 + acc, F


def _globals_ref(A, X):
    C = TABLE[A % 16].astype(np.int64) * SCALE + TABLE[:N]
    s = np.float32(OFFSET)
    for k in range(8):
        s = np.float32(s + WEIGHTS[k] * X[k])
    return C, s


def _bits_read_ref(A):
    A = A.astype(np.int64)
    return ((A >> 3) & 1).astype(np.bool_), (A >> 4) & 0xFF, (A & 0xF) + (A >> 12), \
        np.array([bin(int(a)).count("1") for a in A])


def _bits_write_ref(A, V):
    x = (A.astype(np.int64) | 1) & 0x7FFFFFFF
    x = (x & ~0xFF00) | (V.astype(np.int64) << 8)
    y = ((V.astype(np.int64) & 0xF) << 12) | ((V > 100).astype(np.int64) << 5)
    return x, wrap(y, 16)


def _conv_ref(A):
    out = np.zeros((M - 2, M - 2), np.int64)
    for i in range(M - 2):
        for j in range(M - 2):
            out[i, j] = (A[i:i + 3, j:j + 3].astype(np.int64) * MASKS).sum()
    return out


def _search_inputs(r):
    A = r.permutation(50)[:N].astype(np.int32)
    return A, int(A[r.integers(0, N)])


def _search_ref(A, key):
    hits = np.nonzero(A == key)[0]
    return (int(hits[0]), True) if len(hits) else (-1, False)


CASES = [
    Case("range_1_2_3_args_negative_step", range_forms, lambda r: (ints(r, -1000, 1000, N, np.int32),), _range_ref),
    Case("gemm_grid_reduction_named", gemm, lambda r: (ints(r, -128, 127, (M, 8), np.int8), ints(r, -128, 127, (8, 5), np.int8)),
         lambda A, B: A.astype(np.int64) @ B.astype(np.int64)),
    Case("triangular_loops", triangular, lambda r: (ints(r, -100, 100, (N, N), np.int32),), _tri_ref),
    Case("scalar_dependent_bounds", scalar_bounds, lambda r: (ints(r, -9, 9, N, np.int32), 2, 8), _scalar_bounds_ref),
    Case("while_collatz", collatz, lambda r: (ints(r, 1, 60, N, np.int32),), _collatz_ref),
    Case("if_elif_else", piecewise, lambda r: (ints(r, -100, 100, N, np.int32),), _piecewise_ref),
    Case("local_declarations", locals_decl, lambda r: (ints(r, -128, 127, 4, np.int8),), _locals_ref),
    Case("module_globals_constants", globals_const,
         lambda r: (ints(r, -100, 100, N, np.int32), r.uniform(-1, 1, 8).astype(np.float32)), _globals_ref, exact=False),
    Case("closure_constants", closure_kernel, lambda r: (ints(r, -1000, 1000, N, np.int16),),
         lambda A: wrap(A.astype(np.int64) * 5 + np.arange(N) * 5 - 3, 16)),
    Case("bit_access_and_slices_read", bits_read, lambda r: (ints(r, 0, 65535, N, np.uint16),), _bits_read_ref),
    Case("bit_access_and_slices_write", bits_write,
         lambda r: (ints(r, 0, 2**32 - 1, N, np.uint32), ints(r, 0, 255, N, np.uint8)), _bits_write_ref),
    Case("conv2d_multi_reduction_global_mask", conv2d, lambda r: (ints(r, -128, 127, (M, M), np.int8),), _conv_ref),
    Case("gather_data_dependent_index", gather,
         lambda r: (ints(r, -1000, 1000, N, np.int32), ints(r, 0, N - 1, N, np.int32)),
         lambda A, I: (A[I], A[(np.arange(N) ** 2) % N])),
    Case("prefix_sum_loop_carried", prefix_sum, lambda r: (ints(r, -1000, 1000, N, np.int32),), np.cumsum),
    Case("grid_3d_float", grid3, lambda r: (r.uniform(-2, 2, (2, 3, 4)).astype(np.float32),),
         lambda A: A * (np.arange(2)[:, None, None] + 1).astype(np.float32)
         - (np.arange(3)[:, None] * np.arange(4)[None, :]).astype(np.float32), exact=False),
    Case("while_search_bool_flag", search_flag, _search_inputs, _search_ref),
    Case("index_local_while", index_locals, lambda r: (ints(r, -100, 100, N, np.int32), 9),
         lambda A, n: int(sum(int(A[k]) * k for k in range(0, n, 2)))),
]
