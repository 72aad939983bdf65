"""Language-core speed: compile time (customize + build) and CPU run time against numpy.

    python benchmarks/bench_core.py

Prints, for gemm int8 and float32 at 256x256x256 and a row softmax of 512x768: the compile time and the
CPU backend's run time as a ratio to numpy's on the same data (ratio < 1: faster than numpy).
"""
from __future__ import annotations

import time

import numpy as np

import dsl
from dsl import float32, int8, int32

M = N = K = 256
ROWS, COLS = 512, 768


def gemm_int8(A: int8[M, K], B: int8[K, N]) -> int32[M, N]:
    C: int32[M, N] = 0
    for i, j in dsl.grid(M, N):
        for k in dsl.reduction(K):
            C[i, j] += A[i, k] * B[k, j]
    return C


def gemm_f32(A: float32[M, K], B: float32[K, N]) -> float32[M, N]:
    C: float32[M, N] = 0.0
    for i, j in dsl.grid(M, N):
        for k in dsl.reduction(K):
            C[i, j] += A[i, k] * B[k, j]
    return C


def softmax(X: float32[ROWS, COLS]) -> float32[ROWS, COLS]:
    Y: float32[ROWS, COLS] = 0.0
    for i in range(ROWS):
        m: float32 = X[i, 0]
        for j in range(COLS):
            m = max(m, X[i, j])
        total: float32 = 0.0
        for j in range(COLS):
            e: float32 = dsl.exp(X[i, j] - m)
            Y[i, j] = e
            total += e
        for j in range(COLS):
            Y[i, j] = Y[i, j] / total
    return Y


def np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(name, kernel, inputs, reference, exact):
    t0 = time.perf_counter()
    s = dsl.customize(kernel)
    t1 = time.perf_counter()
    mod = s.build()
    t2 = time.perf_counter()
    got = mod(*inputs)
    want = reference(*inputs)
    ok = np.array_equal(got, want) if exact else np.allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    t_dsl = best_of(lambda: mod(*inputs))
    t_np = best_of(lambda: reference(*inputs))
    print(f"{name:<22} customize {1e3 * (t1 - t0):7.1f} ms  build {1e3 * (t2 - t1):7.1f} ms  "
          f"run {1e3 * t_dsl:8.2f} ms  numpy {1e3 * t_np:8.2f} ms  ratio {t_dsl / t_np:6.2f}  "
          f"{'ok' if ok else 'MISMATCH'}")
    return ok


def main():
    rng = np.random.default_rng(0)
    a8 = rng.integers(-128, 128, (M, K), dtype=np.int8)
    b8 = rng.integers(-128, 128, (K, N), dtype=np.int8)
    af = rng.standard_normal((M, K), dtype=np.float32)
    bf = rng.standard_normal((K, N), dtype=np.float32)
    x = rng.standard_normal((ROWS, COLS), dtype=np.float32)
    print(f"dsl CPU backend vs numpy {np.__version__} (best of 5; ratio = dsl time / numpy time)")
    results = [
        measure("gemm int8 256^3", gemm_int8, (a8, b8), lambda a, b: a.astype(np.int32) @ b.astype(np.int32), True),
        measure("gemm float32 256^3", gemm_f32, (af, bf), lambda a, b: a @ b, False),
        measure("softmax 512x768", softmax, (x,), np_softmax, False),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
