"""The CPU path's GEMM rewrites: accumulators kept in vector registers across the k loop (``cpu_regblock``)
and transposing tile copies through square vector blocks (``cpu_transpose``). They apply to the library's
GEMM kernels, keep every result bit (floats included: same operations, same k order), leave the schedule's
module and the HLS code as they were, and stay away from nests where reordering could change a value."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from mlir import ir

import dsl
from dsl import float32, int8, int32
from dsl.backend import cpu_opt, cpu_regblock, cpu_regblock_cache, cpu_transpose
from dsl.frontend.narrow import walk_ops
from dsl.library import nn, ref, scheduled, systolic

RNG = np.random.default_rng(7)


def _rewritten(schedule):
    """{mark: [values]} of the loops the two passes built in the JIT's copy of the module."""
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        cpu_regblock.register_block(module)
        cpu_transpose.vectorize_transposes(module)
        module.operation.verify()
        marks = {}
        for op in walk_ops(module.operation):
            for mark in (cpu_regblock.MARK, cpu_transpose.MARK, cpu_regblock_cache.PANEL):
                if mark in op.attributes:
                    marks.setdefault(mark, []).append(ir.StringAttr(op.attributes[mark]).value)
        return marks


def _mark(rows: int, columns: int, lanes: int = cpu_regblock.VECTOR_BITS // 32) -> str:
    """The block the host's registers give a rows x columns float32 tile (16 x 1 x 16 with AVX-512)."""
    ib, nb = cpu_regblock._block(rows, columns // lanes)
    return f"{ib}x{nb}x{lanes}"


def _bits(a):
    return np.asarray(a).view(np.int32 if np.asarray(a).dtype.itemsize == 4 else np.int64)


def test_linear2d_keeps_its_tile_in_registers_and_its_bits():
    inst = [float32, float32, float32, 32, 48, 64]
    s = scheduled(nn.linear2d, inst)
    marks = _rewritten(s)
    # the 16 x 16 PE tile (AVX-512: 16 rows x 1 vector of 16 lanes); At and Bt copied as square blocks
    assert marks[cpu_regblock.MARK] == [_mark(16, 16)]
    assert marks[cpu_transpose.MARK] == [f"{cpu_transpose.BLOCK}x{cpu_transpose.BLOCK}"] * 2
    assert cpu_regblock_cache.PANEL not in marks   # the tiles At and Bt are contiguous already
    before, hls = str(s.module), str(dsl.build(s, target="vhls"))
    X, W, b = (RNG.standard_normal(shape).astype(np.float32) for shape in ((32, 64), (48, 64), (48,)))
    got = s.build()(X, W, b)
    assert np.array_equal(_bits(got), _bits(ref.linear2d(X, W, b)))
    assert str(s.module) == before and str(dsl.build(s, target="vhls")) == hls


def test_matmul_blocks_rows_and_vectors_together_and_keeps_its_bits():
    inst = [float32, float32, float32, 8, 24, 512]
    s = scheduled(nn.matmul, inst)
    # whole rows of the i loop (init, accumulation, store): AVX-512: 4 rows x 4 vectors of 16
    marks = _rewritten(s)
    assert marks[cpu_regblock.MARK] == [_mark(8, 512)]
    # B's rows are 512 floats apart: each column block's panel (24 rows of its vectors) is packed first
    lanes = cpu_regblock.VECTOR_BITS // 32
    ib, nb = cpu_regblock._block(8, 512 // lanes)
    assert marks[cpu_regblock_cache.PANEL] == [f"24x{nb * lanes}"]
    A, B = RNG.standard_normal((8, 24)).astype(np.float32), RNG.standard_normal((24, 512)).astype(np.float32)
    assert np.array_equal(_bits(s.build()(A, B)), _bits(ref.matmul(A, B)))


@pytest.mark.parametrize("kernel, inst, shapes, reference", [
    (nn.bmm, [float32, float32, float32, 3, 8, 16, 32], ((3, 8, 16), (3, 16, 32)), ref.bmm),
    (nn.linear3d, [float32, float32, float32, 2, 16, 32, 48], ((2, 16, 48), (32, 48), (32,)), ref.linear3d),
])
def test_batched_products_keep_their_bits(kernel, inst, shapes, reference):
    s = scheduled(kernel, inst)
    assert cpu_regblock.MARK in _rewritten(s)
    args = [RNG.standard_normal(shape).astype(np.float32) for shape in shapes]
    assert np.array_equal(_bits(s.build()(*args)), _bits(reference(*args)))


def test_the_integer_systolic_gemm_is_still_exact():
    inst = [int8, int8, int32, 16, 32, 48, 8, 16]
    s = scheduled(systolic.gemm, inst)
    A = RNG.integers(-128, 128, (16, 32), dtype=np.int8)
    B = RNG.integers(-128, 128, (32, 48), dtype=np.int8)
    assert np.array_equal(s.build()(A, B), A.astype(np.int32) @ B.astype(np.int32))


def reads_its_accumulator_twice(A: float32[8, 16]) -> float32[16]:
    acc: float32[16] = 1.0
    for k in range(8):
        for j in range(16):
            acc[j] = acc[j] * A[k, j] + acc[j]
    return acc


def shifted_accumulator(A: float32[8, 32]) -> float32[32]:
    acc: float32[32] = 0.0
    for k in range(8):
        for j in range(16):
            acc[j + 1] += A[k, j] * acc[j]   # reads an element another j writes
    return acc


def moves_with_k(A: float32[16, 16]) -> float32[16, 16]:
    C: float32[16, 16] = 0.0
    for k in range(16):
        for j in range(16):
            C[k, j] += A[k, j]   # not an accumulation over k: each k its own row
    return C


@pytest.mark.parametrize("kernel, args, python", [
    (shifted_accumulator, (RNG.standard_normal((8, 32)).astype(np.float32),), None),
    (moves_with_k, (RNG.standard_normal((16, 16)).astype(np.float32),), lambda A: A),
])
def test_nests_that_are_not_a_private_tile_are_left_alone(kernel, args, python):
    s = dsl.customize(kernel)
    assert cpu_regblock.MARK not in _rewritten(s)
    got = s.build()(*args)
    if python is not None:
        assert np.array_equal(got, python(*args))


def test_one_load_of_the_accumulator_is_blocked_and_exact():
    s = dsl.customize(reads_its_accumulator_twice)
    assert _rewritten(s)[cpu_regblock.MARK] == [_mark(1, 16)]
    A = RNG.standard_normal((8, 16)).astype(np.float32)
    acc = np.ones(16, np.float32)
    for k in range(8):
        acc = acc * A[k] + acc
    assert np.array_equal(_bits(s.build()(A)), _bits(acc))


def every_row_into_one(A: float32[4, 16], B: float32[16, 16]) -> float32[2, 16]:
    Z: float32[2, 16] = 0.0
    acc: float32[16]
    for i in range(4):
        for j0 in range(16):
            acc[j0] = 0.0
        for k in range(16):
            a: float32 = A[i, k]
            for j in range(16):
                acc[j] += a * B[k, j]
        for j1 in range(16):
            Z[1, j1] = acc[j1]   # not row i: the rows may not be computed side by side
    return Z


def test_rows_that_share_an_output_row_keep_the_last_row():
    s = dsl.customize(every_row_into_one)
    assert _rewritten(s)[cpu_regblock.MARK] == [_mark(1, 16)]   # the k loop alone
    A, B = RNG.standard_normal((4, 16)).astype(np.float32), RNG.standard_normal((16, 16)).astype(np.float32)
    acc = np.zeros(16, np.float32)
    for k in range(16):
        acc = acc + A[3, k] * B[k]
    want = np.zeros((2, 16), np.float32)
    want[1] = acc
    assert np.array_equal(_bits(s.build()(A, B)), _bits(want))


def test_calls_from_several_threads_each_get_their_own_arguments():
    inst = [float32, 64, 16, 8]
    mod = scheduled(nn.kv_read, inst).build()
    assert mod.quick   # a short call: runs in the caller's thread with the reused marshalling
    caches = [RNG.standard_normal((64, 16)).astype(np.float32) for _ in range(4)]
    bad = []

    def work(n):
        for p in range(0, 56, 5):
            if not np.array_equal(mod(caches[n], p), caches[n][p:p + 8]):
                bad.append((n, p))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


@pytest.mark.parametrize("n", [8, 16])
def test_the_transpose_network_transposes_both_register_widths(n, monkeypatch):
    """The shuffle network of the AVX2 (8 x 8) and AVX-512 (16 x 16) blocks, run on numpy rows with
    ``vector.shuffle``'s meaning (the mask indexes the two sources concatenated)."""
    class NumpyVector:
        @staticmethod
        def shuffle(a, b, mask):
            return np.concatenate([a, b])[mask]

    monkeypatch.setattr(cpu_transpose, "vector", NumpyVector)
    block = np.arange(n * n).reshape(n, n)
    cols = cpu_transpose.transpose(list(block))
    assert np.array_equal(np.array(cols), block.T)
