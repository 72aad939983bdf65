"""Time 20 schedule primitives applied to one kernel (budget: under 2 s in total).

Run: .venv/bin/python benchmarks/bench_schedule.py
"""
import time

import dsl
from dsl import int32
from dsl.schedule import Partition


def gemm(A: int32[64, 32], B: int32[32, 48]) -> int32[64, 48]:
    C: int32[64, 48] = 0
    for i, j in dsl.grid(64, 48):
        for k in dsl.reduction(32):
            C[i, j] += A[i, k] * B[k, j]
    return C


def twenty(s):
    s.split("i", 8)
    s.split("j", 5)                     # non-divisible: bound guard
    s.reorder("i.outer", "j.outer", "i.inner")
    s.pipeline("j.inner")
    s.unroll("k", 4)
    s.partition(s.A, Partition.Cyclic, dim=2, factor=4)
    s.partition(s.B, Partition.Block, dim=1, factor=4)
    s.partition(s.C, Partition.Complete, dim=2)
    s.split("k", 4)
    s.unroll("k.inner")
    s.pipeline("S_C_init:i1", initiation_interval=2)
    s.fuse("S_C_init:i0", "S_C_init:i1")
    s.split("i0_i1_fused", 16)
    s.buffer_at(s.C, "S_i_j_k_0:j.inner")
    s.partition(s.C_buf, Partition.Complete)
    s.unroll("i.inner", 2)
    s.pipeline("k.outer", rewind=True)
    s.dataflow("gemm")
    s.pipeline("i0_i1_fused.inner")
    s.unroll("i0_i1_fused.outer", 0)


def main():
    s = dsl.customize(gemm)
    start = time.perf_counter()
    twenty(s)
    elapsed = time.perf_counter() - start
    assert len(s.trace) == 20
    print(f"20 primitives: {elapsed:.3f} s ({elapsed / 20 * 1000:.1f} ms each)")
    return elapsed


if __name__ == "__main__":
    main()
