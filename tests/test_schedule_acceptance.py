"""Issue 3 acceptance: scheduled designs give numpy's results; schedule files in schedules/ replay."""
import os

import numpy as np
import pytest

import dsl
from dsl import int32
from dsl.schedule import Partition

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEDULES = os.path.join(HERE, "..", "schedules")
RNG = np.random.default_rng(3)


def gemm(A: int32[64, 32], B: int32[32, 16]) -> int32[64, 16]:
    C: int32[64, 16] = 0
    for i, j in dsl.grid(64, 16):
        for k in dsl.reduction(32):
            C[i, j] += A[i, k] * B[k, j]
    return C


def conv3x3(A: int32[10, 12], W: int32[3, 3]) -> int32[8, 10]:
    B: int32[8, 10] = 0
    for y, x in dsl.grid(8, 10):
        for r, c in dsl.reduction(3, 3):
            B[y, x] += A[y + r, x + c] * W[r, c]
    return B


def stages(A: int32[16, 8]) -> int32[16, 8]:
    B: int32[16, 8] = 0
    C: int32[16, 8] = 0
    for i, j in dsl.grid(16, 8):
        B[i, j] = A[i, j] * 3 + 1
    for i, j in dsl.grid(16, 8):
        C[i, j] = B[i, j] - A[i, j]
    return C


def mm(A: int32[8, 8], B: int32[8, 8]) -> int32[8, 8]:
    C: int32[8, 8] = 0
    for i, j in dsl.grid(8, 8):
        for k in dsl.reduction(8):
            C[i, j] += A[i, k] * B[k, j]
    return C


def mm2(A: int32[8, 8], B: int32[8, 8], D: int32[8, 8]) -> int32[8, 8]:
    T = mm(A, B)
    return mm(T, D)


def r(*shape):
    return RNG.integers(-50, 50, shape).astype(np.int32)


def test_gemm_tiled_reordered_pipelined_partitioned(tmp_path):
    s = dsl.customize(gemm)
    s.split("i", 8)
    s.reorder("i.outer", "j", "i.inner")
    s.pipeline("j")
    s.partition(s.B, Partition.Cyclic, dim=2, factor=4)
    A, B = r(64, 32), r(32, 16)
    np.testing.assert_array_equal(s.build()(A, B), A @ B)
    s2 = dsl.customize(gemm, schedule=os.path.join(SCHEDULES, "gemm_64x16.yaml"))
    assert str(s2) == str(s)


def test_conv_line_and_window_buffers():
    s = dsl.customize(conv3x3, schedule=os.path.join(SCHEDULES, "conv3x3_reuse.yaml"))
    assert '"A_reuse_y"' in str(s) and "memref<3x3xi32>" in str(s)
    A, W = r(10, 12), r(3, 3)
    ref = np.array([[np.sum(A[y:y + 3, x:x + 3] * W) for x in range(10)] for y in range(8)])
    np.testing.assert_array_equal(s.build()(A, W), ref)


def test_producer_consumer_compute_at():
    s = dsl.customize(stages, schedule=os.path.join(SCHEDULES, "stages_compute_at.yaml"))
    assert '"B"' not in str(s)
    A = r(16, 8)
    np.testing.assert_array_equal(s.build()(A), A * 3 + 1 - A)


def test_compose_two_ids():
    sub0 = dsl.customize(mm)
    sub0.split("i", 3)
    sub0.pipeline("k")
    sub1 = dsl.customize(mm)
    sub1.reorder("k", "j")
    sub1.unroll("j", 2)
    s = dsl.customize(mm2)
    s.compose(sub0, id="0")
    s.compose(sub1, id="1")
    text = str(s)
    assert "@mm_0" in text and "@mm_1" in text and "i.outer" in text
    A, B, D = r(8, 8), r(8, 8), r(8, 8)
    np.testing.assert_array_equal(s.build()(A, B, D), (A @ B) @ D)
    s2 = dsl.customize(mm2, schedule=os.path.join(SCHEDULES, "mm2_compose.yaml"))
    assert str(s2) == text


@pytest.mark.parametrize("text, message", [
    ("version: 1\nkernel: gemm\nsteps:\n  - split: {loop: i, factor: -2}\n", "step 1 (split): split: bad argument 'factor'"),
    ("version: 1\nkernel: gemm\nsteps:\n  - pipeline: {loop: j}\n  - splat: {loop: i}\n", "step 2 (splat): unknown primitive"),
    ("version: 1\nkernel: gemm\nsteps:\n  - split: {loop: q, factor: 2}\n", "step 1 (split): split: argument 'loop': no loop 'q'"),
    ("version: 1\nkernel: gemm\nsteps:\n  - split: {loop: i, factr: 2}\n", "unknown argument 'factr'"),
    ("version: 1\nkernel: gemm\nsteps:\n  - split: [i, 2]\n", "step 1 (split): arguments must be a mapping"),
    ("version: 9\nkernel: gemm\nsteps: []\n", "unsupported schedule version"),
    ("version: 1\nkernel: conv\nsteps: []\n", "is for kernel 'conv'"),
])
def test_yaml_validation_names_step_primitive_argument(text, message, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(dsl.ScheduleError) as err:
        dsl.customize(gemm, schedule=str(path))
    assert message in str(err.value)


def test_the_twenty_primitive_benchmark_applies_and_keeps_results():
    """The schedule of benchmarks/bench_schedule.py (which prints the time; tests are never timed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", os.path.join(HERE, "..", "benchmarks", "bench_schedule.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    s = dsl.customize(bench.gemm)
    bench.twenty(s)
    assert len(s.trace) == 20
    rng = np.random.default_rng(3)
    args = [rng.integers(-99, 99, (64, 32)).astype(np.int32), rng.integers(-99, 99, (32, 48)).astype(np.int32)]
    np.testing.assert_array_equal(s.build()(*args), dsl.customize(bench.gemm).build()(*args))
