"""The CPU path's swap of transposing copies into local buffers (``cpu_copies``): done only where the
order of the copy's writes cannot matter, results identical to the loops as written, and the schedule's
own module (what the HLS backend emits) untouched."""
from __future__ import annotations

import numpy as np
from mlir import ir

import dsl
from dsl import float32, int32
from dsl.backend import cpu_copies, cpu_opt
from dsl.frontend.narrow import walk_ops

RNG = np.random.default_rng(3)


def _loop_order(schedule) -> list:
    """Loop names, outermost first, of the module as the CPU backend optimises it."""
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        return [ir.StringAttr(op.attributes["loop_name"]).value for op in walk_ops(module.operation)
                if op.name == "affine.for"]


def transpose_tile(W: float32[4, 8]) -> float32[8, 4]:
    Bt: float32[8, 4]
    for j, k in dsl.grid(4, 8, name="load"):
        Bt[k, j] = W[j, k] * 2.0
    Z: float32[8, 4]
    for a, c in dsl.grid(8, 4, name="out"):
        Z[a, c] = Bt[a, c] + 1.0
    return Z


def transpose_into_argument(W: float32[4, 8], Z: float32[8, 4]):
    for j, k in dsl.grid(4, 8, name="load"):
        Z[k, j] = W[j, k]


def reads_its_target(W: int32[4, 8]) -> int32[8, 4]:
    Bt: int32[8, 4] = 0
    for j, k in dsl.grid(4, 8, name="load"):
        Bt[k, j] = Bt[k, 0] + W[j, k]
    Z: int32[8, 4]
    for a, c in dsl.grid(8, 4, name="out"):
        Z[a, c] = Bt[a, c]
    return Z


def shifted_copy(W: float32[4, 8]) -> float32[9, 4]:
    Bt: float32[9, 4] = 0.0
    for j, k in dsl.grid(4, 8, name="load"):
        Bt[k + 1, j] = W[j, k]
    Z: float32[9, 4]
    for a, c in dsl.grid(9, 4, name="out"):
        Z[a, c] = Bt[a, c]
    return Z


def wide_transpose(W: float32[128, 8]) -> float32[8, 128]:
    Bt: float32[8, 128]
    for j, k in dsl.grid(128, 8, name="load"):
        Bt[k, j] = W[j, k]
    Z: float32[8, 128]
    for a, c in dsl.grid(8, 128, name="out"):
        Z[a, c] = Bt[a, c]
    return Z


def test_a_transposing_copy_into_a_local_tile_runs_with_contiguous_stores():
    s = dsl.customize(transpose_tile)
    assert _loop_order(s) == ["k", "j", "a", "c"]
    W = RNG.standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_array_equal(s.build()(W), W.T * np.float32(2) + np.float32(1))
    # the schedule's module keeps the written order (the HLS code reads W row by row)
    names = [ir.StringAttr(op.attributes["loop_name"]).value for op in walk_ops(s.module.operation)
             if op.name == "affine.for"]
    assert names == ["j", "k", "a", "c"]


def test_copies_that_could_depend_on_their_order_are_left_alone():
    for kernel in (transpose_into_argument, reads_its_target, wide_transpose):
        order = _loop_order(dsl.customize(kernel))
        assert order.index("j") < order.index("k"), kernel.__name__  # wide_transpose: 128 rows > the limit
    Wf = RNG.standard_normal((4, 8)).astype(np.float32)
    shifted = dsl.customize(shifted_copy)  # a subscript that is not a plain loop variable: left alone
    order = _loop_order(shifted)
    assert order.index("j") < order.index("k")
    np.testing.assert_array_equal(shifted.build()(Wf), np.concatenate([np.zeros((1, 4), np.float32), Wf.T]))
    W = RNG.integers(-50, 50, (4, 8)).astype(np.int32)
    expect = np.zeros((8, 4), np.int64)
    for j in range(4):
        for k in range(8):
            expect[k, j] = expect[k, 0] + W[j, k]
    np.testing.assert_array_equal(dsl.customize(reads_its_target).build()(W), expect)
    Z = np.zeros((8, 4), np.float32)
    dsl.customize(transpose_into_argument).build()(Wf, Z)
    np.testing.assert_array_equal(Z, Wf.T)



def test_a_nest_storing_a_scalar_is_left_alone():
    # a store into a rank-0 buffer has no subscripts: the transposing-copy check once raised IndexError
    # on it (found by the random-program test)
    def last(A: int32[4, 3]) -> int32:
        x: int32 = 0
        for i in range(4):
            for j in range(3):
                x = A[i, j]
        return x

    A = np.arange(12, dtype=np.int32).reshape(4, 3)
    assert dsl.customize(last).build()(A) == 11
