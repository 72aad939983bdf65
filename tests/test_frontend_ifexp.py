"""A conditional expression types a literal branch as a literal meeting the other branch (typing_rules)."""
from __future__ import annotations

import numpy as np

import dsl
from dsl import Fixed, float32, int8, int32


def test_a_float_literal_branch_takes_the_other_branchs_float_type():
    def scale(A: float32[4]) -> float32[4]:
        B: float32[4] = 0.0
        for i in range(4):
            m: float32 = A[i]
            B[i] = m / 127.0 if m > 0.0 else 1.0
        return B

    s = dsl.customize(scale)
    assert "f64" not in str(s.module)  # the literal 1.0 once made the whole expression float64
    A = np.array([254, -1, 127, 0], np.float32)
    np.testing.assert_array_equal(s.build()(A), np.where(A > 0, A / np.float32(127.0), 1.0).astype(np.float32))


def test_an_integer_literal_branch_takes_the_other_branchs_type():
    def pick(A: int8[4]) -> int32[4]:
        B: int32[4] = 0
        for i in range(4):
            B[i] = A[i] if A[i] > 0 else -1
        return B

    A = np.array([5, -3, 0, 127], np.int8)
    np.testing.assert_array_equal(dsl.customize(pick).build()(A), np.where(A > 0, A, -1))


def test_a_fixed_point_branch_keeps_fixed_point():
    def clip(A: Fixed(16, 8)[3]) -> Fixed(16, 8)[3]:
        B: Fixed(16, 8)[3] = 0.0
        for i in range(3):
            B[i] = A[i] if A[i] < 2.0 else 2.0
        return B

    s = dsl.customize(clip)
    assert "f32" not in str(s.module) and "f64" not in str(s.module)
    np.testing.assert_array_equal(s.build()(np.array([1.5, 3.25, -1.0])), [1.5, 2.0, -1.0])
