"""The CPU path's unroll-disable hint on short unit-stride innermost loops (``cpu_rolled``): given only where
the loop walks memory at unit stride, carried by the lowered LLVM module's back edge, results the same bits,
and the schedule's own module (what the HLS backend emits) untouched.

Regression: LLVM fully unrolled the 16 columns of the float PE tile and vectorised its rows with gathers and
scatters; linear2d at BERT-base sizes ran at about 1 multiply-add per ns (README, library speed)."""
from __future__ import annotations

import numpy as np
from mlir import ir

import dsl
from dsl import float32
from dsl.backend import cpu_opt, cpu_rolled
from dsl.frontend.narrow import walk_ops
from dsl.library import nn, pe, ref, registry, scheduled

RNG = np.random.default_rng(5)


def _rolled_names(schedule) -> list:
    """Names of the loops the CPU path keeps rolled, in walk order."""
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        _, keep = cpu_rolled.loops_to_keep_rolled(module)
        loops = [op for op in walk_ops(module.operation) if op.name in ("affine.for", "scf.for")]
        return [ir.StringAttr(loops[n].attributes["loop_name"]).value for n in keep]


def _hinted_back_edges(mod) -> int:
    return sum(1 for op in walk_ops(mod.module.operation)
               if op.name == "llvm.br" and "loop_annotation" in op.attributes)


def rows_times_columns(a: float32[16], b: float32[16]) -> float32[16, 16]:
    C: float32[16, 16]
    for i, j in dsl.grid(16, 16, name="outer"):
        C[i, j] = a[i] * b[j]
    return C


def strided(a: float32[16, 16]) -> float32[16, 16]:
    C: float32[16, 16]
    for i, j in dsl.grid(16, 16, name="t"):
        C[i, j] = a[j, i]
    return C


def short(a: float32[4, 8]) -> float32[4, 8]:
    C: float32[4, 8]
    for i, j in dsl.grid(4, 8, name="s"):
        C[i, j] = a[i, j] + 1.0
    return C


def accumulate_rows(A: float32[32, 16]) -> float32[16]:
    acc: float32[16] = 0.0
    for k in range(32, name="k"):
        for j in range(16, name="j"):
            acc[j] += A[k, j]
    return acc


def two_loops_in_a_row(A: float32[4, 16]) -> float32[4, 16]:
    C: float32[4, 16]
    for i in range(4, name="i"):
        for j in range(16, name="first"):
            C[i, j] = A[i, j]
        for j2 in range(16, name="second"):
            C[i, j2] += 1.0
    return C


def test_the_float_pe_tile_columns_stay_a_loop_and_results_keep_their_bits():
    inst = [float32, float32, float32, 32, 48, 40]
    s = scheduled(nn.linear2d, inst)
    assert _rolled_names(s).count("j") >= 2   # the tile's clear and PE columns (pe_step's j)
    before = str(s.module)
    mod = s.build()
    assert _hinted_back_edges(mod) >= 2
    assert str(s.module) == before   # the schedule's module (the HLS input) is not touched
    X, W, b = (RNG.standard_normal(shape).astype(np.float32) for shape in ((32, 40), (48, 40), (48,)))
    got = mod(X, W, b)
    assert np.array_equal(got.view(np.int32), ref.linear2d(X, W, b).view(np.int32))


def test_unit_stride_loop_of_sixteen_is_hinted_and_exact():
    s = dsl.customize(rows_times_columns)
    assert _rolled_names(s) == ["j"]
    a, b = RNG.standard_normal(16).astype(np.float32), RNG.standard_normal(16).astype(np.float32)
    mod = s.build()
    assert _hinted_back_edges(mod) == 1
    assert np.array_equal(mod(a, b), np.outer(a, b))


def test_strided_and_short_loops_are_left_to_llvm():
    assert _rolled_names(dsl.customize(strided)) == []      # a[j, i]: 16 elements apart
    assert _rolled_names(dsl.customize(short)) == []        # 8 < MIN_TRIP
    a = RNG.standard_normal((16, 16)).astype(np.float32)
    assert np.array_equal(dsl.customize(strided).build()(a), a.T)


def test_loops_whose_unrolling_does_not_hand_the_vectoriser_a_strided_parent_are_left_to_llvm():
    """Regression: attention's ``acc[j] += a * B[k, j]`` (64 columns under the reduction k) got slower
    rolled (46 -> 70 ms at BERT-base): unrolled, LLVM keeps the accumulator row in registers across k."""
    assert _rolled_names(dsl.customize(accumulate_rows)) == []     # the parent k rewrites acc[j]
    assert _rolled_names(dsl.customize(two_loops_in_a_row)) == []  # the parent never becomes innermost
    A = RNG.standard_normal((32, 16)).astype(np.float32)
    expected = np.zeros(16, dtype=np.float32)
    for row in A:
        expected = expected + row
    assert np.array_equal(dsl.customize(accumulate_rows).build()(A), expected)


def test_a_plan_that_no_longer_matches_the_loops_annotates_nothing():
    s = dsl.customize(rows_times_columns)
    with s.context:
        module = ir.Module.parse(str(s.module))
        count, keep = cpu_rolled.loops_to_keep_rolled(module)
        assert keep
        # still affine loops (not lowered): the plan does not describe this module
        assert cpu_rolled.annotate(module, (count, keep)) == 0
        assert cpu_rolled.annotate(module, (count + 1, keep)) == 0


def test_library_tile_kernel_sizes_of_sixteen_hint_the_pe_columns():
    s = dsl.customize(pe.tile, instantiate=[float32, float32, float32, 5, 16, 16])
    assert "j" in _rolled_names(s)
    entry = registry.BY_NAME["linear3d"]
    assert "j" in _rolled_names(scheduled(entry.kernel, entry.bert_base, entry.schedule))
