"""The CPU call boundary does only the work a call needs: no copy or comparison of inputs the kernel never
writes (no copy at all of one already in storage form), a bit-exact comparison of those it may write (or,
for a call that cannot stop half-way, the caller's array written in place), no zeros in outputs the kernel
provably fills, and one reused worker thread for calls that may be stopped."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import dsl
from dsl import float32, int4, int32
from dsl.backend import cpu_run
from dsl.backend.cpu_outputs import fully_written
from dsl.backend.interface import _same_bits, check_args, copies_before, signature

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


# -- no copy of arrays already in storage form ----------------------------------------------------------

def test_an_input_already_in_storage_form_is_passed_without_a_copy():
    sig = signature(dsl.customize(scale_into))
    A, B = np.ones(N, np.float32), np.zeros(N, np.float32)
    storage = check_args(sig, [A, B], borrow=True)
    assert storage[0] is A and storage[1] is not B  # B is written: a copy (a stopped call leaves it as it was)
    # another dtype, a strided view or no borrowing: converted copies, as before
    assert check_args(sig, [A.astype(np.float64), B], borrow=True)[0].dtype == np.float32
    strided = np.ones(2 * N, np.float32)[::2]
    assert check_args(sig, [strided, B], borrow=True)[0] is not strided
    assert check_args(sig, [A, B])[0] is not A


def test_integers_in_their_carrier_are_still_range_checked():
    sig = signature(dsl.customize(narrow_in))
    with np.testing.assert_raises(dsl.CallError):
        check_args(sig, [np.array([7, 8, 0, 0], np.int8)], borrow=True)  # 8 is beyond int4
    ok = np.array([7, -8, 0, 1], np.int8)
    assert check_args(sig, [ok], borrow=True)[0] is ok
    assert dsl.build(narrow_in)(ok) == 0


def narrow_in(A: int4[4]) -> int32:
    return A[0] + A[1] + A[2] + A[3]


def reverse_into(A: float32[N], B: float32[N]):
    for i in range(N):
        B[i] = A[N - 1 - i]


def test_a_short_call_writes_the_callers_array_in_place_unless_it_is_also_another_argument():
    sig = signature(dsl.customize(reverse_into))
    A, B = np.arange(N, dtype=np.float32), np.zeros(N, np.float32)
    assert check_args(sig, [A, B], borrow=True, borrow_written=True)[1] is B
    assert check_args(sig, [A, A], borrow=True, borrow_written=True)[1] is not A  # aliased: a copy
    m = dsl.build(reverse_into)
    assert m.quick
    m(A, B)
    assert B.tolist() == list(range(N - 1, -1, -1))
    m(A, A)  # every A[N - 1 - i] read is the value before the call, as with copies
    assert A.tolist() == list(range(N - 1, -1, -1))


def negate4(A: int4[N]):
    for i in range(N):
        A[i] = -A[i]


def test_an_odd_width_input_written_in_place_comes_back_wrapped():
    A = np.array([1, -2, 3, -4, 7, -7, 0, -8], np.int8)
    dsl.build(negate4)(A)
    assert A.tolist() == [-1, 2, -3, 4, -7, 7, 0, -8]  # -(-8) wraps in 4 bits


# -- outputs the kernel fills need no zeros -----------------------------------------------------------------

def fill(A: float32[N, 4]) -> float32[N, 4]:
    Z: float32[N, 4]
    for i, j in dsl.grid(N, 4):
        Z[i, j] = A[i, j] + 1.0
    return Z


def fill_through_a_call(A: float32[N, 4]) -> float32[N, 4]:
    Z: float32[N, 4] = fill(A)
    return Z


def half(A: float32[N]) -> float32[N]:
    Z: float32[N]
    for i in range(N // 2):
        Z[i] = A[i]
    return Z


def every_other(A: float32[N]) -> float32[N]:
    Z: float32[N]
    for i in range(0, N, 2):
        Z[i] = A[i]
    return Z


def when_positive(A: float32[N]) -> float32[N]:
    Z: float32[N]
    for i in range(N):
        if A[i] > 0.0:
            Z[i] = A[i]
    return Z


def accumulate(A: float32[N]) -> float32[N]:
    Z: float32[N]
    for i in range(N):
        Z[i] = Z[i] + A[i]  # reads the zeros
    return Z


def shifted(A: float32[N]) -> float32[N]:
    Z: float32[N]
    for i in range(N - 1):
        Z[i + 1] = A[i]
    return Z


@pytest.mark.parametrize("kernel,filled", [(fill, True), (fill_through_a_call, True), (half, False),
                                           (every_other, False), (when_positive, False), (accumulate, False),
                                           (shifted, False)])
def test_only_outputs_written_in_full_before_any_read_are_left_unfilled(kernel, filled):
    s = dsl.customize(kernel)
    with s.context:
        assert bool(fully_written(s.top_func)) == filled
    m = dsl.build(s)
    assert bool(m.filled) == filled
    shape = m.sig.outputs[0].shape
    A = np.full(shape, -3.0, np.float32)
    for _ in range(3):  # freed buffers come back dirty: an unwritten element must still read as zero
        got = m(A)
        del got
        junk = np.full(shape, np.nan, np.float32)
        del junk
    got = m(A)
    expected = {fill: lambda: A + 1, fill_through_a_call: lambda: A + 1, accumulate: lambda: A,
                half: lambda: np.r_[A[:N // 2], np.zeros(N // 2, np.float32)],
                every_other: lambda: np.where(np.arange(N) % 2 == 0, A, 0),
                when_positive: lambda: np.zeros(N, np.float32), shifted: lambda: np.r_[0, A[:-1]]}[kernel]()
    assert np.array_equal(got, expected)


# -- workers are reused -----------------------------------------------------------------------------------

def test_long_calls_reuse_one_worker_thread():
    stop = cpu_run.StopWord()
    first = cpu_run.run_stoppable(threading.get_ident, 5.0, stop, "ident", ())
    second = cpu_run.run_stoppable(threading.get_ident, 5.0, stop, "ident", ())
    assert first == second != threading.get_ident()
    with pytest.raises(ZeroDivisionError):  # an error in the worker reaches the caller; the worker survives
        cpu_run.run_stoppable(lambda: 1 // 0, 5.0, stop, "fails", ())
    assert cpu_run.run_stoppable(threading.get_ident, 5.0, stop, "ident", ()) == first


def test_a_forked_child_starts_its_own_worker():
    """The parent's idle workers do not exist in a forked child (a multiprocessing pool, say): a call
    there must not wait for them."""
    import os
    import sys

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    stop = cpu_run.StopWord()
    cpu_run.run_stoppable(threading.get_ident, 5.0, stop, "ident", ())  # leaves an idle worker
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the call completes
        try:
            cpu_run.run_stoppable(threading.get_ident, 2.0, stop, "ident", ())
            code = 0
        except BaseException:  # noqa: BLE001
            code = 1
        sys.stdout.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
