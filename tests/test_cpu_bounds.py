"""``check_bounds=True`` on the CPU backend: every corpus kernel gives the same results with the checks, and
an index out of range becomes an error naming the Python line and the buffer, instead of a wild access."""
import numpy as np
import pytest

import dsl
from dsl import float32, index, int32
from tests.kernels import ALL_CASES
from tests.test_lang_corpus import assert_agrees, run_case
from tests.markers import line_of


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_checked_corpus_agrees(case):
    got, expected = run_case(case, check_bounds=True)
    assert_agrees(got, expected, case)


def _line(marker):
    return line_of(__file__, marker)


def first_n(A: int32[4], n: index) -> int32[4]:
    B: int32[4] = 0
    for i in range(n):
        B[i] = A[i] * 2  # READ-A
    return B


def row_total(R: float32[8]) -> float32:
    t: float32 = 0.0
    for j in range(9):
        t += R[j]  # READ-R
    return t


def rows(A: float32[4, 8]) -> float32[4]:
    out: float32[4] = 0.0
    for i in range(4):
        out[i] = row_total(A[i])
    return out


def scatter(A: int32[4], at: index) -> int32[4]:
    B: int32[4] = 0
    B[at - 6] = A[0]  # WRITE-B (a negative index)
    return B


@pytest.mark.parametrize("kernel, args, marker, text", [
    (first_n, (np.arange(4, dtype=np.int32), 6), "READ-A", "a read of 'A' (shape [4])"),
    (rows, (np.ones((4, 8), np.float32),), "READ-R", "a read of 'R' (shape [8])"),
    (scatter, (np.arange(4, dtype=np.int32), 2), "WRITE-B", "a write to 'B' (shape [4])"),
])
def test_out_of_range_access_names_the_line_and_buffer(kernel, args, marker, text):
    module = dsl.build(kernel, check_bounds=True)
    with pytest.raises(dsl.BuildError) as err:
        module(*args)
    msg = str(err.value)
    assert msg.startswith(f"{__file__}:{_line(marker)}:") and text in msg, msg
    assert "dsl/" not in msg.replace(__file__, "")


def test_after_an_error_the_module_still_runs_correctly():
    module = dsl.build(first_n, check_bounds=True)
    A = np.arange(4, dtype=np.int32)
    with pytest.raises(dsl.BuildError):
        module(A, 5)
    np.testing.assert_array_equal(module(A, 3), [0, 2, 4, 0])
    unchecked = dsl.build(first_n)
    assert unchecked is not module and unchecked.checks is None  # the default build has no checks
    np.testing.assert_array_equal(unchecked(A, 4), A * 2)


def shifted_pipe(n):
    @dsl.region()
    def pc(A: int32[n], B: int32[n]):
        pipe: dsl.Stream[int32, 2]

        @dsl.kernel(mapping=[1])
        def producer(A: int32[n]):
            for i in range(n):
                pipe.put(A[i + 1])  # SIM-READ-A: one past the end at i = n - 1

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[n]):
            for i in range(n):
                B[i] = pipe.get()

    return pc


def test_the_simulator_checks_bounds_too():
    A = np.arange(8, dtype=np.int32)
    with pytest.raises(dsl.BuildError) as err:
        dsl.build(shifted_pipe(8), target="sim", check_bounds=True)(A, np.zeros(8, np.int32))
    assert str(err.value).startswith(f"{__file__}:{_line('SIM-READ-A')}:")
    assert "a read of 'A' (shape [8])" in str(err.value)
    from .dataflow_designs import systolic_gemm

    rng = np.random.default_rng(2)
    A8 = rng.integers(-128, 128, (8, 8)).astype(np.int8)
    B8 = rng.integers(-128, 128, (8, 8)).astype(np.int8)
    C = np.zeros((8, 8), np.int32)
    dsl.build(systolic_gemm(8, 8, 8, 4, 4), target="sim", check_bounds=True)(A8, B8, C)  # in range: runs
    np.testing.assert_array_equal(C, A8.astype(np.int32) @ B8.astype(np.int32))
