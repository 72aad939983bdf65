"""Matrix products over whole tensors (``nn.linear2d``, ``nn.linear3d``, ``nn.matmul``, ``nn.bmm``).

Each output element accumulates its products in k order, one product and one addition at a time (for
floats: ``acc = acc + x*w``, both rounded, no fused multiply-add), so the numpy reference reproduces float
results to the bit; integers accumulate in the output type and wrap as the hardware accumulator does.
``matmul`` runs i, k, j (as ``allo.library.nn.linear2d``): B's rows are contiguous and the j loop is pipelined
at II=1, its iterations updating different accumulators. ``linear2d`` reads W in PyTorch's [out, in] layout,
whose rows run along k: it tiles the output over the PE array of ``pe`` (tiles of TILE[M] x TILE[N], the
largest of 16, 8, 4, 2, 1 dividing the size), loading each W row as one burst into the transposed tile.
"""
from __future__ import annotations

import dsl
from dsl import float32

from . import checks, pe
from .schedules import pipeline_loops, schedule_tiles


class _Tile(dict):
    """TILE[n]: the tile edge used for a dimension of n (the largest of 16, 8, 4, 2, 1 dividing it)."""

    def __missing__(self, n):
        return next(t for t in (16, 8, 4, 2, 1) if n % t == 0)


TILE = _Tile()


def _linear2d_check(TX, TW, TO, M, N, K):
    checks.product_types("linear2d", TX, TW, TO)
    checks.sizes(M=M, N=N, K=K)


def _linear3d_check(TX, TW, TO, B, L, N, K):
    checks.product_types("linear3d", TX, TW, TO)
    checks.sizes(B=B, L=L, N=N, K=K)


def _matmul_check(TA, TB, TC, M, K, N):
    checks.product_types("matmul", TA, TB, TC)
    checks.sizes(M=M, K=K, N=N)


def _bmm_check(TA, TB, TC, B, M, K, N):
    checks.product_types("bmm", TA, TB, TC)
    checks.sizes(B=B, M=M, K=K, N=N)


@dsl.template("TX", "TW", "TO", "M", "N", "K", "MT", "NT")
def linear_tiles(X: "TX[M, K]", W: "TW[N, K]", b: "TO[N]", Z: "TO[M, N]"):
    """Z = X @ W^T + b (torch.nn.Linear's layout: W is [out, in]) on an MT x NT PE array, written into Z."""
    At: TX[K, MT]
    Bt: TW[K, NT]
    Ct: TO[MT, NT]
    bb: TO[N]
    for j0 in range(N, name="load_bias"):
        bb[j0] = b[j0]
    for mi in range(M // MT):
        for i, k in dsl.grid(MT, K, name="load_a"):
            At[k, i] = X[mi * MT + i, k]
        for ni in range(N // NT):
            for j, k2 in dsl.grid(NT, K, name="load_b"):
                Bt[k2, j] = W[ni * NT + j, k2]
            pe.tile[TX, TW, TO, K, MT, NT](At, Bt, Ct)
            for i2, j2 in dsl.grid(MT, NT, name="store_c"):
                Z[mi * MT + i2, ni * NT + j2] = Ct[i2, j2] + bb[ni * NT + j2]


@dsl.template("TX", "TW", "TO", "M", "N", "K", check=_linear2d_check)
def linear2d(X: "TX[M, K]", W: "TW[N, K]", b: "TO[N]") -> "TO[M, N]":
    Z: TO[M, N]
    linear_tiles[TX, TW, TO, M, N, K, TILE[M], TILE[N]](X, W, b, Z)
    return Z


@dsl.template("TX", "TW", "TO", "B", "L", "N", "K", check=_linear3d_check)
def linear3d(X: "TX[B, L, K]", W: "TW[N, K]", bias: "TO[N]") -> "TO[B, L, N]":
    Z: TO[B, L, N]
    for bi in range(B):
        linear_tiles[TX, TW, TO, L, N, K, TILE[L], TILE[N]](X[bi], W, bias, Z[bi])
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
    pipeline_loops(s, "linear_tiles", ["load_bias", "load_a:k", "load_b:k2", "store_c:i2"])
    return schedule_tiles(s, "linear_tiles")


def schedule_matmul(s):
    return pipeline_loops(s, "matmul_into", ["init", "mac", "store"])


schedule_linear3d = schedule_linear2d
schedule_bmm = schedule_matmul
