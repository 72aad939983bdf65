"""Sub-kernel calls (by reference, sub-views, tensor/scalar/multiple results), templates, in-place kernels."""
import numpy as np

import dsl
from dsl import float32, int8, int16, int32

from .case import Case, c_div, c_mod, ints, wrap

N = 8


def scale_inplace(X: int32[N], k: int32):
    for i in range(N):
        X[i] = X[i] * k


def call_by_reference(A: int32[N]) -> int32[N]:
    C: int32[N] = 0
    for i in range(N):
        C[i] = A[i] + 1
    scale_inplace(C, 3)
    return C


def row_sum(R: int32[N]) -> int32:
    s: int32 = 0
    for j in range(N):
        s += R[j]
    return s


def fill_row(R: int32[N], v: int32):
    for j in range(N):
        R[j] = v * j


def subviews(A: int32[4, N]) -> (int32[4], int32[4, N]):
    S: int32[4] = 0
    F: int32[4, N] = 0
    for i in range(4):
        S[i] = row_sum(A[i])
        fill_row(F[i], S[i] - i)
    return S, F


def add_vec(X: int32[N], Y: int32[N]) -> int32[N]:
    Z: int32[N] = 0
    for i in range(N):
        Z[i] = X[i] + Y[i]
    return Z


def tensor_result(A: int32[N], B: int32[N]) -> int32[N]:
    T = add_vec(A, B)
    U: int32[N] = add_vec(T, A)
    return U


def divmod_k(a: int32, b: int32) -> (int32, int32):
    return a / b, a % b


def multiple_results(A: int32[N], B: int32[N]) -> (int32[N], int32[N]):
    Q: int32[N] = 0
    R: int32[N] = 0
    for i in range(N):
        q, r = divmod_k(A[i], B[i])
        Q[i] = q
        R[i] = r
    return Q, R


def sq(x: float32) -> float32:
    return x * x


def norm_like(x: float32, y: float32) -> float32:
    return dsl.sqrt(sq(x) + sq(y))


def scalar_calls(A: float32[N], B: float32[N]) -> float32[N]:
    C: float32[N] = 0.0
    for i in range(N):
        C[i] = norm_like(A[i], B[i]) + sq(A[i]) * 0.5
    return C


@dsl.template("T", "L")
def vadd(A: "T[L]", B: "T[L]") -> "T[L]":
    C: T[L] = 0
    for i in range(L):
        C[i] = A[i] + B[i]
    return C


@dsl.template("T", "L", "K")
def scaled(A: "T[L]") -> "T[L]":
    C: T[L] = 0
    for i in range(L):
        C[i] = A[i] * K
    return C


def template_call_sites(A: int16[N], B: int16[N]) -> (int16[N], int8[4]):
    C = vadd[int16, N](A, B)
    D: int8[4] = 0
    for i in range(4):
        D[i] = A[i]
    E = scaled[int8, 4, 3](D)
    return C, E


def inplace_update(A: int32[N], B: int32[N]):
    for i in range(N):
        A[i] = A[i] + B[i]
        B[i] = A[i] * 2


def inplace_with_subkernel(M: float32[3, N]):
    for i in range(3):
        normalise_row(M[i])


def normalise_row(R: float32[N]):
    s: float32 = 0.0
    for j in range(N):
        s += R[j] * R[j]
    r = dsl.sqrt(s)
    for j in range(N):
        R[j] = R[j] / r


def leaf(x: int32) -> int32:
    return x * 2 + 1


def middle(X: int32[N]) -> int32:
    s: int32 = 0
    for i in range(N):
        s += leaf(X[i])
    return s


def call_chain(A: int32[2, N]) -> int32[2]:
    C: int32[2] = 0
    for i in range(2):
        C[i] = middle(A[i]) + leaf(i)
    return C


def _pair(lo, hi, dtype, shape=N):
    return lambda r: (ints(r, lo, hi, shape, dtype), ints(r, lo, hi, shape, dtype))


def _nonzero_pair(r):
    a, b = ints(r, -500, 500, N, np.int32), ints(r, -20, 20, N, np.int32)
    return a, np.where(b == 0, 3, b).astype(np.int32)


def _subviews_ref(A):
    S = A.astype(np.int64).sum(1)
    return S, (S - np.arange(4))[:, None] * np.arange(N)[None, :]


def _inplace_ref(A, B):
    A2 = A.astype(np.int64) + B
    return A2, A2 * 2


def _normalise_ref(M):
    return M / np.sqrt((M * M).sum(1, keepdims=True))


CASES = [
    Case("call_tensor_by_reference", call_by_reference, lambda r: (ints(r, -1000, 1000, N, np.int32),),
         lambda A: (A.astype(np.int64) + 1) * 3),
    Case("call_partial_index_subviews", subviews, lambda r: (ints(r, -1000, 1000, (4, N), np.int32),), _subviews_ref),
    Case("call_returning_tensor", tensor_result, _pair(-1000, 1000, np.int32), lambda A, B: 2 * A.astype(np.int64) + B),
    Case("call_multiple_scalar_results", multiple_results, _nonzero_pair, lambda A, B: (c_div(A, B), c_mod(A, B))),
    Case("call_scalar_in_expressions", scalar_calls,
         lambda r: (r.uniform(-3, 3, N).astype(np.float32), r.uniform(-3, 3, N).astype(np.float32)),
         lambda A, B: np.sqrt(A * A + B * B) + A * A * np.float32(0.5), exact=False),
    Case("template_instantiate_top", vadd, _pair(-128, 127, np.int8, 16), lambda A, B: wrap(A.astype(np.int64) + B, 8),
         instantiate=(int8, 16)),
    Case("template_float_instance", vadd, lambda r: (r.uniform(-1, 1, 5).astype(np.float32),
                                                     r.uniform(-1, 1, 5).astype(np.float32)),
         lambda A, B: A + B, exact=False, instantiate=(float32, 5)),
    Case("template_call_sites", template_call_sites, _pair(-30000, 30000, np.int16),
         lambda A, B: (wrap(A.astype(np.int64) + B, 16), wrap(wrap(A[:4], 8) * 3, 8))),
    Case("inplace_two_outputs", inplace_update, _pair(-1000, 1000, np.int32), _inplace_ref, inplace=True, written=(0, 1)),
    Case("inplace_rows_through_subviews", inplace_with_subkernel, lambda r: (r.uniform(0.5, 2, (3, N)).astype(np.float32),),
         _normalise_ref, exact=False, inplace=True, written=(0,)),
    Case("call_chain_nested", call_chain, lambda r: (ints(r, -1000, 1000, (2, N), np.int32),),
         lambda A: (A.astype(np.int64) * 2 + 1).sum(1) + 2 * np.arange(2) + 1),
]
