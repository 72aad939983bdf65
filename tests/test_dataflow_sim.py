"""Dataflow designs on the simulator (target="sim") and in csim of the emitted HLS, against numpy."""
import os

import numpy as np
import pytest

import dsl
from dsl import int32

from .dataflow_designs import fork_join, producer_consumer, systolic_1d, systolic_gemm

RNG = np.random.default_rng(7)


def _both(design, args, out_index):
    """Run on the simulator and in csim; return both outputs."""
    s = dsl.customize(design)
    results = []
    for build in (lambda: dsl.build(s, target="sim"), lambda: dsl.build(s, target="vitis_hls", mode="csim")):
        mod = build()
        copies = [np.copy(a) for a in args]
        mod(*copies)
        results.append(copies[out_index])
    return results


def test_producer_consumer_sim_and_csim():
    A = RNG.integers(-1000, 1000, 32).astype(np.int32)
    sim, csim = _both(producer_consumer(32), [A, np.zeros(32, np.int32)], 1)
    np.testing.assert_array_equal(sim, (A + 1) * 2)
    np.testing.assert_array_equal(csim, (A + 1) * 2)


def test_fork_join_sim_and_csim():
    A = RNG.integers(-100, 100, 24).astype(np.int32)
    sim, csim = _both(fork_join(24), [A, np.zeros(24, np.int32)], 1)
    expect = (A + 1) + (A * 3) ** 2
    np.testing.assert_array_equal(sim, expect)
    np.testing.assert_array_equal(csim, expect)


def test_systolic_1d_sim_and_csim():
    M, P = 10, 5
    A = RNG.integers(-50, 50, (M, P)).astype(np.int32)
    x = RNG.integers(-50, 50, P).astype(np.int32)
    sim, csim = _both(systolic_1d(M, P), [A, x, np.zeros(M, np.int32)], 2)
    np.testing.assert_array_equal(sim, A @ x)
    np.testing.assert_array_equal(csim, A @ x)


@pytest.mark.parametrize("M,N,K", [(4, 4, 16), (16, 16, 16)], ids=["one-tile", "tiled"])
def test_systolic_gemm_4x4_sim_and_csim(M, N, K):
    A = RNG.integers(-128, 128, (M, K)).astype(np.int8)
    B = RNG.integers(-128, 128, (K, N)).astype(np.int8)
    ref = A.astype(np.int32) @ B.astype(np.int32)
    sim, csim = _both(systolic_gemm(M, N, K, 4, 4), [A, B, np.zeros((M, N), np.int32)], 2)
    np.testing.assert_array_equal(sim, ref)
    np.testing.assert_array_equal(csim, ref)


def test_pes_are_functions_and_more_processes_than_cores():
    s = dsl.customize(systolic_gemm(8, 8, 8, 4, 4))
    text = str(s)
    for name in ("pe_0_0", "pe_3_3", "load_a", "store_c", "drain_b_0"):
        assert f"func.func private @{name}(" in text
    sim = s.build()
    assert len(sim.net.processes) == 1 + 1 + 16 + 1 + 4 + 4 > (os.cpu_count() or 1)
    A = RNG.integers(-128, 128, (8, 8)).astype(np.int8)
    B = RNG.integers(-128, 128, (8, 8)).astype(np.int8)
    C = np.zeros((8, 8), np.int32)
    sim(A, B, C)
    np.testing.assert_array_equal(C, A.astype(np.int32) @ B.astype(np.int32))
    stats = sim.stats["fa_1_2"]
    assert stats["label"] == "fa[1, 2]" and stats["tokens"] == 4 * 8
    assert 1 <= stats["max_occupancy"] <= stats["depth"] == 2
    assert "fa[1, 2]" in sim.report()


def test_hls_text_of_a_region():
    code = str(dsl.build(producer_consumer(8, depth=3), target="vhls"))
    assert "hls::stream<int32_t> pipe;" in code
    assert "#pragma HLS stream variable=pipe depth=3" in code
    assert "#pragma HLS dataflow" in code
    assert "static void producer(hls::stream<int32_t> &pipe" in code
    assert "pipe.write(" in code and "pipe.read()" in code


N = 16


def _producer(A: int32[N], Y: int32[N]):
    for i in range(N):
        Y[i] = A[i] + 1


def _consumer(Y: int32[N], Z: int32[N]):
    for i in range(N):
        Z[i] = Y[i] * 2


def _composed(A: int32[N]) -> int32[N]:
    Y: int32[N]
    Z: int32[N]
    _producer(A, Y)
    _consumer(Y, Z)
    return Z


def test_composed_kernels_with_to_and_dataflow():
    s = dsl.customize(_composed)
    s.to(s.Y, "_consumer", depth=4)
    s.dataflow("_composed")
    A = RNG.integers(-100, 100, N).astype(np.int32)
    sim = dsl.build(s, target="sim")
    np.testing.assert_array_equal(sim(A), (A + 1) * 2)
    assert sim.stats["Y"]["max_occupancy"] <= 4 and sim.stats["Y"]["tokens"] == N
    code = str(dsl.build(s, target="vhls"))
    assert "static void _consumer(hls::stream<int32_t> &Y" in code
    csim = dsl.build(s, target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(csim(A), (A + 1) * 2)


def test_composed_without_streams_orders_kernels():
    s = dsl.customize(_composed)  # Y stays a buffer: the consumer starts once the producer has finished
    A = RNG.integers(-100, 100, N).astype(np.int32)
    np.testing.assert_array_equal(dsl.build(s, target="sim")(A), (A + 1) * 2)


def test_int64_floor_division_runs_on_the_simulator():
    """Regression: int64 floor division is computed in 128 bits (no overflow of the rounding step), which
    calls libgcc's __divti3; the simulator's JIT did not load libgcc (the CPU backend's did) and refused to
    build any process dividing int64 values."""
    from dsl import int64

    @dsl.region()
    def divide_top(A: int64[4], B: int64[4], Q: int64[4]):
        @dsl.kernel(mapping=[1])
        def divide(A: int64[4], B: int64[4], Q: int64[4]):
            for i in range(4):
                Q[i] = A[i] // B[i]

    A, B = np.array([7, -7, 1 << 62, -5], np.int64), np.array([2, 2, 3, 3], np.int64)
    Q = np.zeros(4, np.int64)
    dsl.build(divide_top, target="sim")(A, B, Q)
    np.testing.assert_array_equal(Q, A // B)
