"""The call boundary, the same on every executable backend (CPU JIT, csim, simulator): values the declared
type cannot hold are refused before the kernel runs, keyword arguments bind as in Python, and an argument
the kernel writes must be a writeable array that can hold what comes back."""
from __future__ import annotations

import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UInt, float16, int8, int32, int64

N = 4


def update(A: int8[N], B: int32[N], X: Fixed(16, 8)[N], k: int32):
    for i in range(N):
        B[i] = A[i] + B[i] + k
        A[i] = A[i] + 1


@dsl.region()
def update_region(A: int8[N], B: int32[N], X: Fixed(16, 8)[N], k: int32):
    @dsl.kernel(mapping=[1])
    def body(A: int8[N], B: int32[N], X: Fixed(16, 8)[N], k: int32):
        for i in range(N):
            B[i] = A[i] + B[i] + k
            A[i] = A[i] + 1


BUILDS = {
    "cpu": lambda: dsl.build(update),
    "csim": lambda: dsl.build(update, target="vitis_hls", mode="csim"),
    "sim": lambda: dsl.build(update_region, target="sim"),
}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def module(request):
    return BUILDS[request.param]()


def _inputs():
    return np.arange(N, dtype=np.int8), np.full(N, 10, np.int32), np.zeros(N), 1


def _refused(module, *args, **kwargs):
    with pytest.raises(dsl.CallError) as info:
        module(*args, **kwargs)
    return str(info.value)


def test_a_valid_call_updates_in_place(module):
    A, B, X, k = _inputs()
    module(A, B, X, k)
    assert A.tolist() == [1, 2, 3, 4] and B.tolist() == [11, 12, 13, 14]


def test_an_int32_array_holding_300_is_refused_for_int8(module):
    A, B, X, k = _inputs()
    msg = _refused(module, np.array([1, 2, 300, 4], np.int32), B, X, k)
    assert "argument 'A'" in msg and "int8 (-128..127)" in msg and "holds 300 at [2]" in msg
    assert "A.astype(np.int8) wraps" in msg and "np.clip(A, -128, 127) saturates" in msg
    assert B.tolist() == [10] * N  # refused before running


def test_an_int64_array_holding_2_40_plus_5_is_refused_for_int32(module):
    A, B, X, k = _inputs()
    B = np.array([10, 10, 2**40 + 5, 10], np.int64)
    msg = _refused(module, A, B, X, k)
    assert "argument 'B'" in msg and f"holds {2**40 + 5} at [2]" in msg
    assert A.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 128.0, -128.5])
def test_nan_inf_and_out_of_range_values_are_refused_for_fixed(module, bad):
    A, B, X, k = _inputs()
    X[1] = bad
    msg = _refused(module, A, B, X, k)
    assert "argument 'X'" in msg and "Fixed(16, 8)" in msg and "at [1]" in msg
    assert ("no NaN or infinity" in msg) == (not np.isfinite(bad))
    assert A.tolist() == [0, 1, 2, 3]


def test_keyword_arguments_bind_as_in_python(module):
    A, B, X, k = _inputs()
    module(A, B, k=k, X=X)
    module(X=X, k=k, B=B, A=A)
    assert A.tolist() == [2, 3, 4, 5] and B.tolist() == [13, 15, 17, 19]
    assert "unexpected keyword argument 'C'" in _refused(module, A, B, X, C=k)
    assert "multiple values for argument 'A'" in _refused(module, A, B, X, k, A=A)
    assert "missing 1 required argument(s): 'k'" in _refused(module, A, B, X=X)
    assert "takes 4 argument(s)" in _refused(module, A, B, X, k, k)


@pytest.mark.parametrize("bad, fragment", [("3", "got str '3'"), (1j, "complex"), (None, "NoneType"),
                                           (2**31, "holds 2147483648"), (2.5, "whole numbers")])
def test_scalars_that_are_not_int32_values_are_refused(module, bad, fragment):
    A, B, X, k = _inputs()
    msg = _refused(module, A, B, X, bad)
    assert "argument 'k'" in msg and fragment in msg


def test_a_read_only_array_for_a_written_argument_is_refused_before_running(module):
    A, B, X, k = _inputs()
    B.flags.writeable = False
    msg = _refused(module, A, B, X, k)
    assert "argument 'B'" in msg and "read-only" in msg and "B.copy()" in msg
    assert A.tolist() == [0, 1, 2, 3]  # A, written too, is left as it was: the kernel did not run
    X.flags.writeable = False  # X is only read: a read-only array is fine
    module(A, B.copy(), X, k)
    assert A.tolist() == [1, 2, 3, 4]


def test_a_written_argument_needs_a_dtype_that_holds_the_results(module):
    A, B, X, k = _inputs()
    msg = _refused(module, A, B.astype(np.int16), X, k)
    assert "argument 'B'" in msg and "int16" in msg and "dtype int32" in msg
    module(A.astype(np.int16), B.astype(np.int64), X.astype(np.float32), k)  # wider arrays are fine


# -- more types on the CPU backend (the checks are the shared interface code) ---------------------------

def odd(A: Int(12)[N], F: dsl.bool[N], H: float16[N], W: Int(63)[N], U: UInt(64)[N], x: Int(63)) -> int64[N]:
    C: int64[N] = 0
    for i in range(N):
        C[i] = A[i] + F[i] + W[i] - x + (U[i] & 1)
    return C


@pytest.fixture(scope="module")
def odd_module():
    return dsl.build(odd)


def _odd_inputs():
    return (np.array([-2048, 2047, -1, 0], np.int16), np.array([0, 1, 1, 0]), np.ones(N),
            np.array([-(2**62), 2**62 - 1, 0, 0]), np.array([2**64 - 1, 0, 1, 2], np.uint64), -(2**62))


def test_int63_arguments_and_every_in_range_value(odd_module):
    A, F, H, W, U, x = _odd_inputs()
    got = odd_module(A, F, H, W, U, x)
    exact = [int(a) + int(f) + int(w) - x + (int(u) & 1) for a, f, w, u in zip(A, F, W, U)]
    assert got.tolist() == [(v + 2**63) % 2**64 - 2**63 for v in exact]  # stored into int64: wraps


@pytest.mark.parametrize("position, value, fragment", [
    (0, np.array([2048, 0, 0, 0], np.int32), "(A - -2048) % 2**12 + -2048 wraps"),
    (1, np.array([0, 2, 0, 0]), "F != 0"),
    (2, np.array([1.0, 70000.0, 0, 0]), "would become infinity"),
    (3, np.array([2**62, 0, 0, 0]), "holds 4611686018427387904"),
    (4, np.array([-1, 0, 0, 0]), "holds -1"),
    (5, 2**62, "holds 4611686018427387904"),
])
def test_out_of_range_values_of_odd_types_are_refused(odd_module, position, value, fragment):
    args = list(_odd_inputs())
    args[position] = value
    with pytest.raises(dsl.CallError) as info:
        odd_module(*args)
    assert fragment in str(info.value)
