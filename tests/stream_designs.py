"""Designs with streams of blocks and of wide words, shared by the tests and benchmarks (factories, so that
sizes are parameters)."""
import numpy as np

import dsl
from dsl import Int, UInt, float32, int4, int8, int16, int32


def tiles_and_rows(NB, M, N, L):
    """Two pipelines in one region: 2-D int16 tiles copied through a stream of blocks, and float32 rows
    scaled on their way (one block per token, as Allo's ``Stream[T[M, N], d]``)."""
    @dsl.region()
    def blocks(A: int16[NB * M, N], B: int16[NB * M, N], X: float32[NB, L], Y: float32[NB, L]):
        tiles: dsl.Stream[int16[M, N], 2]
        rows: dsl.Stream[float32[L], 3]

        @dsl.kernel(mapping=[1])
        def producer(A: int16[NB * M, N], X: float32[NB, L]):
            for b in range(NB):
                tile: int16[M, N] = 0
                for i, j in dsl.grid(M, N):
                    tile[i, j] = A[b * M + i, j]
                tiles.put(tile)
                rows.put(X[b])  # a row of a top-level argument is one token

        @dsl.kernel(mapping=[1])
        def consumer(B: int16[NB * M, N], Y: float32[NB, L]):
            for b in range(NB):
                tile: int16[M, N] = tiles.get()
                for i, j in dsl.grid(M, N):
                    B[b * M + i, j] = tile[i, j] + 1
                row = rows.get()
                for k in range(L):
                    Y[b, k] = row[k] * 2.0 + 1.0

    return blocks


def packed_gemv(M, K, depth=2):
    """y = W @ x with int8 weights packed 64 to a UInt(512) word (what a loader reads from one HBM channel
    per cycle): the loader streams words, x travels as int8[64] blocks, the PE unpacks each word with bit
    slices. Each top-level argument has one process reading or writing it, as Vitis requires."""
    KW = K // 64

    @dsl.region()
    def gemv(W: UInt(512)[M, KW], x: int8[K], y: int32[M]):
        ws: dsl.Stream[UInt(512), depth]
        xs: dsl.Stream[int8[64], depth]
        ys: dsl.Stream[int32, depth]

        @dsl.kernel(mapping=[1])
        def load_w(W: UInt(512)[M, KW]):
            for m in range(M):
                for kw in range(KW):
                    ws.put(W[m, kw])

        @dsl.kernel(mapping=[1])
        def load_x(x: int8[K]):
            for kw in range(KW):
                blk: int8[64] = 0
                for k in range(64):
                    blk[k] = x[kw * 64 + k]
                xs.put(blk)

        @dsl.kernel(mapping=[1])
        def pe():
            xl: int8[KW, 64] = 0
            for kw in range(KW):
                xl[kw] = xs.get()
            for m in range(M):
                acc: int32 = 0
                for kw in range(KW):
                    word = ws.get()
                    for k in range(64):
                        acc += int8(word[8 * k: 8 * k + 8]) * xl[kw, k]
                ys.put(acc)

        @dsl.kernel(mapping=[1])
        def store_y(y: int32[M]):
            for m in range(M):
                y[m] = ys.get()

    return gemv


def pack_int8_words(W: np.ndarray) -> np.ndarray:
    """int8[M, K] -> UInt(512)[M, K // 64] (element k of a word in bits 8k..8k+7), as Python ints."""
    M, K = W.shape
    out = np.empty((M, K // 64), dtype=object)
    for m in range(M):
        for kw in range(K // 64):
            out[m, kw] = int.from_bytes(W[m, kw * 64:(kw + 1) * 64].tobytes(), "little")
    return out


def wide_and_narrow(N):
    """Signed 72-bit scalars and int4 blocks through streams: values survive the trip bit-exactly."""
    @dsl.region()
    def wn(A: Int(72)[N], B: Int(72)[N], Q: int4[N, 8], R: int4[N, 8]):
        wide: dsl.Stream[Int(72), 2]
        nib: dsl.Stream[int4[8], 2]

        @dsl.kernel(mapping=[1])
        def src(A: Int(72)[N], Q: int4[N, 8]):
            for i in range(N):
                wide.put(A[i] - 1)
                nib.put(Q[i])

        @dsl.kernel(mapping=[1])
        def dst(B: Int(72)[N], R: int4[N, 8]):
            for i in range(N):
                B[i] = wide.get()
                R[i] = nib.get()

    return wn


def scale_rows_design(R, N, rows_put=None):
    """A region whose middle kernel calls a kernel taking streams (a library-style unit)."""
    rows_put = R if rows_put is None else rows_put

    @dsl.region()
    def top(A: int8[R, N], B: int16[R, N]):
        a: dsl.Stream[int8[N], 2]
        b: dsl.Stream[int16[N], 2]

        @dsl.kernel(mapping=[1])
        def load(A: int8[R, N]):
            for r in range(rows_put):
                a.put(A[r])

        @dsl.kernel(mapping=[1])
        def compute():
            scale_rows[int8, int16, N, R](a, b, 3)

        @dsl.kernel(mapping=[1])
        def store(B: int16[R, N]):
            for r in range(R):
                B[r] = b.get()

    return top


@dsl.template("T", "U", "N", "R")
def scale_rows(xs: "dsl.Stream[T[N], 2]", ys: "dsl.Stream[U[N], 2]", f: int32):
    for r in range(R):
        row: T[N] = xs.get()
        out: U[N] = 0
        for j in range(N):
            out[j] = row[j] * f
        ys.put(out)
