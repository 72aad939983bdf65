"""Under ``from __future__ import annotations`` no annotation is evaluated and no name in one is a closure
variable: a kernel defined in a running function still sees that function's locals."""
from __future__ import annotations

import numpy as np

import dsl
from dsl import int32


def test_postponed_annotations_see_the_running_enclosing_function():
    M, N = 3, 4

    def add1(A: int32[M, N]) -> int32[M, N]:
        B: int32[M, N] = 0
        for i, j in dsl.grid(3, 4):       # M, N stay in annotations only
            B[i, j] = A[i, j] + 1
        return B

    assert "M" not in add1.__code__.co_freevars  # the case this is about
    A = np.arange(M * N, dtype=np.int32).reshape(M, N)
    np.testing.assert_array_equal(dsl.customize(add1).build()(A), A + 1)


def test_nested_helper_scopes_are_searched_outward():
    L = 5

    def inner_scope():
        def neg(A: int32[L]) -> int32[L]:
            B: int32[L] = 0
            for i in range(5):
                B[i] = 0 - A[i]
            return B

        return dsl.customize(neg).build()(np.arange(L, dtype=np.int32))

    assert inner_scope().tolist() == [0, -1, -2, -3, -4]
