"""Allo's PEP 695 spellings (Python >= 3.12 syntax: imported only by such an interpreter, see
test_allo_pep695.py): a parametrised region ``def inner[P0, P1]`` called from a kernel, and a template
called without type arguments."""
import numpy as np

import dsl
from dsl import float32, int32

M = N = K = 8


@dsl.region()
def inner[P0, P1](A: float32[M, K], B: float32[K, N], C: float32[M, N]):
    @dsl.kernel(mapping=[P0, P1], args=[A, B, C])
    def gemm(a: float32[M, K], b: float32[K, N], c: float32[M, N]):
        pi, pj = dsl.get_pid()
        rows: dsl.ConstExpr[int32] = M // P0
        cols: dsl.ConstExpr[int32] = N // P1
        for i in range(pi * rows, (pi + 1) * rows):
            for j in range(pj * cols, (pj + 1) * cols):
                for k in range(K):
                    c[i, j] += a[i, k] * b[k, j]


@dsl.region()
def top(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
    @dsl.kernel(mapping=[1], args=[A, B, C])
    def wrapper(a: float32[M, K], b: float32[K, N], c: float32[M, N]):
        inner[2, 4](a, b, c)


def plus_one[Ty, R, C](A: "Ty[R, C]") -> "Ty[R, C]":
    B: Ty[R, C] = 0
    for i, j in dsl.grid(R, C):
        B[i, j] = A[i, j] + 1
    return B


def calls_template(A: int32[3, 4]) -> int32[3, 4]:
    return plus_one(A)


def run():
    rng = np.random.default_rng(4)
    A, B = rng.random((M, K), dtype=np.float32), rng.random((K, N), dtype=np.float32)
    C = np.zeros((M, N), np.float32)
    dsl.build(top, target="simulator")(A, B, C)
    assert np.allclose(C, A @ B, rtol=1e-5)
    print("ok region")
    X = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert (dsl.customize(calls_template).build()(X) == X + 1).all()
    print("ok template")
