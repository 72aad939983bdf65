"""csim timing for gemm 64x64x64: cold compile+run (fresh cache; with and without the precompiled ap-types
header already built) and a cache hit (same schedule rebuilt, then run).

    .venv/bin/python benchmarks/bench_csim.py
"""
import os
import tempfile
import time

import numpy as np

import dsl
from dsl import int32


def gemm(A: int32[64, 64], B: int32[64, 64]) -> int32[64, 64]:
    C: int32[64, 64] = 0
    for i, j in dsl.grid(64, 64):
        for k in dsl.reduction(64):
            C[i, j] += A[i, k] * B[k, j]
    return C


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def build_and_run(A, B):
    s = dsl.customize(gemm)
    s.pipeline("j")
    module = dsl.build(s, target="vitis_hls", mode="csim")
    C = module(A, B)
    assert np.array_equal(C, A @ B)
    return module


def main():
    rng = np.random.default_rng(0)
    A, B = rng.integers(-100, 100, (64, 64)).astype(np.int32), rng.integers(-100, 100, (64, 64)).astype(np.int32)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DSL_CACHE_DIR"] = cache
        _, cold_all = timed(lambda: build_and_run(A, B))
        for entry in os.listdir(os.path.join(cache, "csim")):
            if entry != "pch":
                import shutil

                shutil.rmtree(os.path.join(cache, "csim", entry))
        _, cold = timed(lambda: build_and_run(A, B))
        module, hit = timed(lambda: build_and_run(A, B))
        _, run_only = timed(lambda: module(A, B))
    print(f"gemm 64x64x64 csim, empty cache (incl. one-off precompiled header): {cold_all:.2f} s")
    print(f"gemm 64x64x64 csim, compile + run (header already precompiled):    {cold:.2f} s")
    print(f"gemm 64x64x64 csim, cache hit (rebuild schedule + run):             {hit:.3f} s")
    print(f"gemm 64x64x64 csim, run only:                                      {run_only:.3f} s")


if __name__ == "__main__":
    main()
