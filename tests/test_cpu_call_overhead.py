"""The CPU call boundary does only the work a call needs: no copy or comparison of inputs the kernel never
writes, and a bit-exact comparison of those it may write."""
from __future__ import annotations

import numpy as np

import dsl
from dsl import float32, int32
from dsl.backend.interface import _same_bits, copies_before, signature

N = 8


def scale_into(A: float32[N], B: float32[N]):
    for i in range(N):
        B[i] = A[i] * 2.0


def test_only_inputs_the_kernel_may_write_are_copied_before_the_call():
    sig = signature(dsl.customize(scale_into))
    assert sig.written == {"B"}
    A, B = np.ones(N, np.float32), np.zeros(N, np.float32)
    before = copies_before(sig, [A, B])
    assert before[0] is None and before[1] is not B and (before[1] == B).all()
    dsl.build(scale_into)(A, B)
    assert B.tolist() == [2.0] * N and A.tolist() == [1.0] * N


def test_the_written_check_compares_bits():
    nan = np.array([np.nan, 1.0], np.float32)
    assert _same_bits(nan, nan.copy())  # an untouched NaN is no change
    assert not _same_bits(np.zeros(2, np.float32), np.array([0.0, -0.0], np.float32))
    assert not _same_bits(np.zeros(3, np.int32), np.array([0, 0, 1], np.int32))


def negate_zero(A: float32[N]):
    for i in range(N):
        A[i] = A[i] * -1.0


def test_a_write_that_only_flips_the_sign_of_zero_reaches_the_caller():
    A = np.zeros(N, np.float32)
    dsl.build(negate_zero)(A)
    assert np.signbit(A).all()  # array_equal called 0.0 == -0.0 unchanged and dropped the write


def test_a_float64_input_beyond_float32_is_still_refused_and_float32_passes():
    m = dsl.build(scale_into)
    with np.testing.assert_raises(dsl.CallError):
        m(np.full(N, 1e39), np.zeros(N, np.float32))
    B = np.zeros(N, np.float32)
    m(np.full(N, 3.0, np.float16), B)
    assert B.tolist() == [6.0] * N
