"""CPU backend semantics that C leaves to the machine: division traps, and writes through by-reference args."""
from __future__ import annotations

import numpy as np

import dsl
from dsl import Fixed, Int, UInt, int32, int64

N = 8


def divide(A: int32[N], B: int32[N]) -> (int32[N], int32[N], int32[N]):
    Q: int32[N] = 0
    R: int32[N] = 0
    F: int32[N] = 0
    for i in range(N):
        Q[i] = A[i] / B[i]
        R[i] = A[i] % B[i]
        F[i] = A[i] // B[i]
    return Q, R, F


def divide_wide(A: int64[N], B: int64[N]) -> Int(65)[N]:
    return A / B


def divide_unsigned(A: UInt(32)[N], B: UInt(32)[N]) -> UInt(32)[N]:
    return A / B


def test_division_by_zero_gives_zero_instead_of_a_trap():
    a = np.array([1, -2, 3, 4, -5, 6, 7, -(2**31)], dtype=np.int32)
    b = np.array([0, 0, 2, -3, 0, 1, 0, -1], dtype=np.int32)
    q, r, f = dsl.customize(divide).build()(a, b)
    nz = b != 0
    assert np.array_equal(q[~nz], np.zeros((~nz).sum())) and np.array_equal(r[~nz], np.zeros((~nz).sum()))
    assert np.array_equal(f[~nz], np.zeros((~nz).sum()))
    assert list(q[nz]) == [1, -1, 6, -(2**31)]          # C truncation; INT_MIN / -1 wraps
    assert list(r[nz]) == [1, 1, 0, 0]
    assert list(f[nz]) == [1, -2, 6, -(2**31)]


def test_wide_and_unsigned_division_by_zero():
    a = np.array([2**62, -(2**63), 7, 8, 9, 10, 11, 12], dtype=np.int64)
    b = np.array([0, -1, 0, 2, 0, 3, 0, 4], dtype=np.int64)
    got = dsl.customize(divide_wide).build()(a, b)
    want = [0, 2**63, 0, 4, 0, 3, 0, 3]               # 65 bits hold 2**63
    assert [int(x) for x in got] == want
    ua = np.array([5, 6, 7, 8, 9, 10, 11, 2**32 - 1], dtype=np.uint32)
    ub = np.array([0, 2, 0, 3, 1, 1, 1, 0], dtype=np.uint32)
    assert list(dsl.customize(divide_unsigned).build()(ua, ub)) == [0, 3, 0, 2, 9, 10, 11, 0]


def bump(R: int32[N]):
    for j in range(N):
        R[j] += 1


def total(R: int32[N]) -> int32:
    s: int32 = 0
    for j in range(N):
        s += R[j]
    return s


def bump_rows(A: int32[4, N]) -> int32[4]:
    S: int32[4] = 0
    for i in range(4):
        bump(A[i])
        S[i] = total(A[i])
    return S


def double(X: Fixed(16, 8)[4]) -> Fixed(16, 8)[4]:
    return X + X


def test_inputs_written_by_a_returning_kernel_are_written_back():
    a = np.arange(4 * N, dtype=np.int32).reshape(4, N)
    start = a.copy()
    sums = dsl.customize(bump_rows).build()(a)
    assert np.array_equal(a, start + 1)
    assert np.array_equal(sums, (start + 1).sum(axis=1))


def test_inputs_the_kernel_does_not_write_are_left_alone():
    x = np.array([0.123456, 1.5, -2.001, 3.3])   # not representable in Fixed(16, 8)
    before = x.copy()
    dsl.customize(double).build()(x)
    assert np.array_equal(x, before)
