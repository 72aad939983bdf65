"""The CPU path's loop interchange (``cpu_opt``: a loop sunk below the reduction inside it, for
vectorisation) happens only where the iterations it reorders are independent (``cpu_deps``); the results
are those of the loops as written, checked against plain Python."""
from __future__ import annotations

import numpy as np
import pytest
from mlir import ir

import dsl
from dsl import float32, int32
from dsl.backend import cpu_opt
from dsl.frontend.narrow import walk_ops

A3 = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.int32)


def _loop_order(schedule) -> list:
    """Loop names, outermost first, of the module as the CPU backend optimises it."""
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        return [ir.StringAttr(op.attributes["loop_name"]).value for op in walk_ops(module.operation)
                if op.name == "affine.for"]


def carried(A: int32[3, 3]) -> int32[4]:
    S: int32[4] = 0
    for i in range(3):
        for k in dsl.reduction(3):
            S[i + 1] += S[i] + A[i, k]
    return S


def carried_scalar(A: float32[3, 3]) -> float32:
    s: float32 = 0.0
    for i in range(3):
        for k in dsl.reduction(3):
            s = s * 2.0 + A[i, k]
    return s


def diagonal(A: int32[3, 3]) -> int32[5]:
    C: int32[5] = 0
    for j in range(3):
        for k in dsl.reduction(3):
            C[j + k] = C[j + k] * 2 + A[j, k]  # iterations (j, k) and (j + 1, k - 1) share C[j + k]
    return C


def _rows(X: int32[4], Y: int32[4]):
    for j in range(4):
        for k in dsl.reduction(4):
            X[j] = X[j] * 2 + Y[k]  # X and Y may be the same buffer


def aliased(S: int32[4]):
    _rows(S, S)


def gemm(A: int32[8, 6], B: int32[6, 5]) -> int32[8, 5]:
    C: int32[8, 5] = 0
    for i, j in dsl.grid(8, 5):
        for k in dsl.reduction(6):
            C[i, j] += A[i, k] * B[k, j]
    return C


def _python_carried(A):
    S = [0] * 4
    for i in range(3):
        for k in range(3):
            S[i + 1] += S[i] + int(A[i, k])
    return S


def _python_scalar(A):
    s = np.float32(0)
    for i in range(3):
        for k in range(3):
            s = s * np.float32(2) + A[i, k]
    return s


def _python_diagonal(A):
    C = [0] * 5
    for j in range(3):
        for k in range(3):
            C[j + k] = C[j + k] * 2 + int(A[j, k])
    return C


def _python_aliased(S):
    S = [int(v) for v in S]
    for j in range(4):
        for k in range(4):
            S[j] = S[j] * 2 + S[k]
    return S


@pytest.mark.parametrize("kernel, args, reference", [
    (carried, (A3,), _python_carried),                      # the issue's example: [0, 6, 33, 123]
    (carried_scalar, (A3.astype(np.float32),), _python_scalar),
    (diagonal, (A3,), _python_diagonal),
])
def test_a_dependence_across_the_outer_loop_keeps_the_loop_order(kernel, args, reference):
    s = dsl.customize(kernel)
    written = _loop_order(s)
    got = dsl.build(s)(*args)
    assert np.array_equal(np.asarray(got), np.asarray(reference(*args)))
    assert _loop_order(s) == written and written.index("k") > 0  # not interchanged


def test_the_issue_example_gives_the_python_values():
    assert dsl.build(carried)(A3).tolist() == [0, 6, 33, 123]


def test_arguments_that_may_be_the_same_buffer_keep_the_loop_order():
    S = np.array([1, 2, 3, 4], np.int32)
    expect = _python_aliased(S)
    dsl.build(aliased)(S)
    assert S.tolist() == expect


def test_independent_iterations_are_still_interchanged_with_the_same_results():
    s = dsl.customize(gemm)
    assert _loop_order(s) == ["i0", "i1", "i", "k", "j"]  # j sunk below the reduction (was i, j, k)
    rng = np.random.default_rng(0)
    A, B = rng.integers(-50, 50, (8, 6), dtype=np.int32), rng.integers(-50, 50, (6, 5), dtype=np.int32)
    assert np.array_equal(dsl.build(s)(A, B), A @ B)
