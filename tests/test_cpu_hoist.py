"""The CPU path's hoisting of a tile copy that an outer loop repeats unchanged (``cpu_hoist``): linear2d
copies each weight tile once instead of once per block row, keeps every result bit, and leaves the
schedule's module and the HLS code as they were; copies whose value could differ between iterations of
the outer loop stay where they are."""
from __future__ import annotations

import numpy as np
from mlir import ir

import dsl
from dsl import float32
from dsl.backend import cpu_hoist, cpu_opt
from dsl.frontend.narrow import walk_ops
from dsl.library import nn, ref, scheduled

RNG = np.random.default_rng(11)


def _hoisted(schedule):
    """The marks of the loops ``cpu_hoist`` built in the JIT's copy of the module."""
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        cpu_hoist.hoist_repeated_copies(module)
        module.operation.verify()
        return [ir.StringAttr(op.attributes[cpu_hoist.MARK]).value for op in walk_ops(module.operation)
                if cpu_hoist.MARK in op.attributes]


def test_linear2d_copies_each_weight_tile_once_and_keeps_its_bits():
    s = scheduled(nn.linear2d, [float32, float32, float32, 32, 48, 64])
    assert _hoisted(s) == [f"3x{64 * 16 * 4}"]   # 48 / 16 weight tiles of 64 x 16 floats
    before, hls = str(s.module), str(dsl.build(s, target="vhls"))
    X, W, b = (RNG.standard_normal(shape).astype(np.float32) for shape in ((32, 64), (48, 64), (48,)))
    assert np.array_equal(s.build()(X, W, b).view(np.int32), ref.linear2d(X, W, b).view(np.int32))
    assert str(s.module) == before and str(dsl.build(s, target="vhls")) == hls


def source_written_between(X: float32[4, 8], W: float32[8, 8]) -> float32[4, 8]:
    Z: float32[4, 8] = 0.0
    T: float32[8, 8]
    for m in range(4):
        for n in range(2):
            for a, c in dsl.grid(8, 8):
                T[a, c] = W[c, a]
            for j in range(8):
                Z[m, j] += T[j, n] * X[m, j]
        W[m, m] = W[m, m] + 1.0   # the next m copies other values
    return Z


def source_unchanged(X: float32[4, 8], W: float32[8, 8]) -> float32[4, 8]:
    Z: float32[4, 8] = 0.0
    T: float32[8, 8]
    for m in range(4):
        for n in range(2):
            for a, c in dsl.grid(8, 8):
                T[a, c] = W[c, a]
            for j in range(8):
                Z[m, j] += T[j, n] * X[m, j]
    return Z


def copy_moves_with_the_outer_loop(X: float32[4, 8]) -> float32[4, 8]:
    Z: float32[4, 8] = 0.0
    T: float32[8, 8]
    for m in range(4):
        for n in range(2):
            for a, c in dsl.grid(8, 8):
                T[a, c] = X[m, c] + X[m, a]
            for j in range(8):
                Z[m, j] += T[j, n]
    return Z


def _python_written(X, W):
    W, Z = W.copy(), np.zeros((4, 8), np.float32)
    for m in range(4):
        for n in range(2):
            T = W.T.copy()
            for j in range(8):
                Z[m, j] += T[j, n] * X[m, j]
        W[m, m] = W[m, m] + np.float32(1.0)
    return Z


def _python_moving(X):
    Z = np.zeros((4, 8), np.float32)
    for m in range(4):
        T = X[m][None, :] + X[m][:, None]
        for n in range(2):
            for j in range(8):
                Z[m, j] += T[j, n]
    return Z


def test_copies_that_may_differ_between_outer_iterations_stay():
    X, W = RNG.standard_normal((4, 8)).astype(np.float32), RNG.standard_normal((8, 8)).astype(np.float32)
    s = dsl.customize(source_unchanged)   # the same nest without the write of W: hoisted
    assert _hoisted(s) == [f"2x{8 * 8 * 4}"]
    unchanged = np.zeros((4, 8), np.float32)
    for m in range(4):
        for n in range(2):
            for j in range(8):
                unchanged[m, j] += W[n, j] * X[m, j]
    assert np.array_equal(s.build()(X, W), unchanged)
    for kernel, args, python in ((source_written_between, (X, W), _python_written),
                                 (copy_moves_with_the_outer_loop, (X,), _python_moving)):
        s = dsl.customize(kernel)
        assert _hoisted(s) == []
        want = python(*(a.copy() for a in args))
        assert np.array_equal(s.build()(*(a.copy() for a in args)), want)
