"""Dataflow simulator vs C simulation: the output-stationary systolic GEMM (int8 in, int32 out).

    .venv/bin/python benchmarks/bench_sim.py [--size 256] [--pes 8] [--no-csim] [--shared]

Prints the build time and the run time of the simulator (every PE a process, bounded FIFOs) and of
csim (the emitted HLS C++ compiled with g++), and checks both against numpy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import dsl  # noqa: E402
from dataflow_designs import systolic_gemm, systolic_gemm_shared  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pes", type=int, default=8)
    ap.add_argument("--no-csim", action="store_true")
    ap.add_argument("--shared", action="store_true",
                    help="the variant with a loader per row/column and PEs writing C (not accepted by Vitis)")
    args = ap.parse_args()
    n, p = args.size, args.pes
    rng = np.random.default_rng(0)
    A = rng.integers(-128, 128, (n, n)).astype(np.int8)
    B = rng.integers(-128, 128, (n, n)).astype(np.int8)
    ref = A.astype(np.int32) @ B.astype(np.int32)
    design = (systolic_gemm_shared if args.shared else systolic_gemm)(n, n, n, p, p)
    s, t_front = timed(lambda: dsl.customize(design))
    print(f"design: {n}x{n}x{n} GEMM on {p}x{p} PEs ({len(s.module.body.operations)} functions); "
          f"frontend {t_front:.2f} s")
    sim, t_build = timed(lambda: dsl.build(s, target="sim"))
    C = np.zeros((n, n), np.int32)
    _, t_run = timed(lambda: sim(A, B, C))
    tokens = sum(v["tokens"] for v in sim.stats.values())
    print(f"sim:  build {t_build:.2f} s, run {t_run:.2f} s, {tokens / 1e6:.1f} M tokens "
          f"({tokens / t_run / 1e6:.1f} M tokens/s), correct: {np.array_equal(C, ref)}")
    if args.no_csim:
        return
    csim, t_cbuild = timed(lambda: dsl.build(s, target="vitis_hls", mode="csim"))
    C2 = np.zeros((n, n), np.int32)
    _, t_crun = timed(lambda: csim(A, B, C2))
    print(f"csim: build {t_cbuild:.2f} s (g++, cached afterwards), run {t_crun:.2f} s, "
          f"correct: {np.array_equal(C2, ref)}")


if __name__ == "__main__":
    main()
