"""Matrix products over whole tensors (``nn.linear2d``, ``nn.linear3d``, ``nn.matmul``, ``nn.bmm``).

Each output element accumulates its products in k order, one product and one addition at a time (for
floats: ``acc = acc + x*w``, both rounded, no fused multiply-add), so the numpy reference reproduces float
results to the bit; integers accumulate in the output type and wrap as the hardware accumulator does.
The loops run i, k, j (as ``allo.library.nn.linear2d``): the j loop is pipelined at II=1 since its
iterations update different accumulators. The systolic PE array for the same products is ``systolic``.
"""
from __future__ import annotations

import dsl
from dsl import float32

from . import checks
from .schedules import pipeline_loops


def _product_types(what, TX, TW, TO):
    """float32 x float32 -> float32, or integers into an integer accumulator."""
    if float32 in (TX, TW, TO):
        if (TX, TW, TO) != (float32, float32, float32):
            raise dsl.DSLTypeError(f"{what}: float products are float32 x float32 -> float32, got "
                                   f"{TX!r} x {TW!r} -> {TO!r}; integer products take integer types "
                                   "(e.g. int8 x int4 -> int32)")
        return
    for name, t in (("TX", TX), ("TW", TW), ("TO", TO)):
        checks.need_int_type(name, t, f"{what}: ")


def _linear2d_check(TX, TW, TO, M, N, K):
    _product_types("linear2d", TX, TW, TO)
    checks.sizes(M=M, N=N, K=K)


def _linear3d_check(TX, TW, TO, B, L, N, K):
    _product_types("linear3d", TX, TW, TO)
    checks.sizes(B=B, L=L, N=N, K=K)


def _matmul_check(TA, TB, TC, M, K, N):
    _product_types("matmul", TA, TB, TC)
    checks.sizes(M=M, K=K, N=N)


def _bmm_check(TA, TB, TC, B, M, K, N):
    _product_types("bmm", TA, TB, TC)
    checks.sizes(B=B, M=M, K=K, N=N)


@dsl.template("TX", "TW", "TO", "M", "N", "K", check=_linear2d_check)
def linear_into(X: "TX[M, K]", W: "TW[N, K]", b: "TO[N]", Z: "TO[M, N]"):
    """Z = X @ W^T + b (torch.nn.Linear's layout: W is [out, in]), written into Z."""
    acc: TO[N]
    for i in range(M):
        for j0 in range(N, name="init"):
            acc[j0] = 0
        for k in range(K):
            x: TX = X[i, k]
            for j in range(N, name="mac"):
                acc[j] += x * W[j, k]
        for j1 in range(N, name="bias"):
            Z[i, j1] = acc[j1] + b[j1]


@dsl.template("TX", "TW", "TO", "M", "N", "K", check=_linear2d_check)
def linear2d(X: "TX[M, K]", W: "TW[N, K]", b: "TO[N]") -> "TO[M, N]":
    Z: TO[M, N]
    linear_into[TX, TW, TO, M, N, K](X, W, b, Z)
    return Z


@dsl.template("TX", "TW", "TO", "B", "L", "N", "K", check=_linear3d_check)
def linear3d(X: "TX[B, L, K]", W: "TW[N, K]", bias: "TO[N]") -> "TO[B, L, N]":
    Z: TO[B, L, N]
    for bi in range(B):
        linear_into[TX, TW, TO, L, N, K](X[bi], W, bias, Z[bi])
    return Z


@dsl.template("TA", "TB", "TC", "M", "K", "N", check=_matmul_check)
def matmul_into(A: "TA[M, K]", B: "TB[K, N]", C: "TC[M, N]"):
    """C = A @ B, written into C."""
    acc: TC[N]
    for i in range(M):
        for j0 in range(N, name="init"):
            acc[j0] = 0
        for k in range(K):
            a: TA = A[i, k]
            for j in range(N, name="mac"):
                acc[j] += a * B[k, j]
        for j1 in range(N, name="store"):
            C[i, j1] = acc[j1]


@dsl.template("TA", "TB", "TC", "M", "K", "N", check=_matmul_check)
def matmul(A: "TA[M, K]", B: "TB[K, N]") -> "TC[M, N]":
    C: TC[M, N]
    matmul_into[TA, TB, TC, M, K, N](A, B, C)
    return C


@dsl.template("TA", "TB", "TC", "B", "M", "K", "N", check=_bmm_check)
def bmm(A: "TA[B, M, K]", Bm: "TB[B, K, N]") -> "TC[B, M, N]":
    C: TC[B, M, N]
    for bi in range(B):
        matmul_into[TA, TB, TC, M, K, N](A[bi], Bm[bi], C[bi])
    return C


def schedule_linear2d(s):
    return pipeline_loops(s, "linear_into", ["init", "mac", "bias"])


def schedule_matmul(s):
    return pipeline_loops(s, "matmul_into", ["init", "mac", "store"])


schedule_linear3d = schedule_linear2d
schedule_bmm = schedule_matmul
