"""Index arithmetic whose values leave 32 bits (issue 9, 7.7). HLS code holds index values in C++ ``int``;
the CPU computes ``index`` in 64 bits and plain Python without bound. An index value that can exceed
``int`` (by interval analysis: dsl/frontend/index_ranges.py) is computed in ``int64_t`` in HLS and acts as
``int64`` (not ``int32``) where it meets an integer, so csim, the CPU and Python agree."""
import numpy as np
import pytest

import dsl
from dsl import index, int64


def scaled(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[i] = i * 2147483647 * 4  # index * literal * literal: 8589934588 at i = 1
    return B


def clamped(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[i] = A[min(i + 2147483647, 3)]  # int would wrap i + 2147483647 negative: A[-2147483648]
    return B


def folded_subscript(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[(i * 2147483647) % 4] += A[i]  # an affine map whose product leaves int
    return B


def from_int64(A: int64[4], n: int64) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[i] = (n + i) // 3 + (i - n) % 5
    return B


def compared(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        for j in range(4):
            if i * 2147483647 + j * 2147483647 > 4294967293:  # the index side was cut to 32 bits
                B[i] += 1
    return B


def python_result(kernel, *args):
    if kernel is scaled:
        return np.array([i * 2147483647 * 4 for i in range(4)])
    if kernel is clamped:
        return np.array([args[0][3]] * 4)
    if kernel is folded_subscript:
        out = np.zeros(4, np.int64)
        for i in range(4):
            out[(i * 2147483647) % 4] += args[0][i]
        return out
    if kernel is from_int64:
        n = args[1]
        return np.array([(n + i) // 3 + int(np.fmod(i - n, 5)) for i in range(4)])  # C's %
    return np.array([sum(1 for j in range(4) if (i + j) * 2147483647 > 4294967293) for i in range(4)])


CASES = [(scaled, ()), (clamped, ()), (folded_subscript, ()), (from_int64, (2**40 + 1,)), (compared, ())]


@pytest.mark.parametrize("kernel, extra", CASES, ids=[k.__name__ for k, _ in CASES])
def test_cpu_and_csim_compute_what_python_computes(kernel, extra, tmp_path):
    A = np.arange(1, 5, dtype=np.int64)
    expect = python_result(kernel, A, *extra)
    s = dsl.customize(kernel)
    np.testing.assert_array_equal(s.build()(A, *extra), expect)
    csim = dsl.build(s, target="vitis_hls", mode="csim", project=str(tmp_path / "p"))
    np.testing.assert_array_equal(csim(A, *extra), expect)


def test_only_values_that_leave_int_get_int64():
    code = dsl.build(dsl.customize(scaled), target="vhls")
    assert "int64_t v1 = (int64_t)i * 2147483647;" in code
    assert "for (int i = 0; i < 4; ++i)" in code  # the loop counter itself stays int
    code = dsl.build(dsl.customize(folded_subscript), target="vhls")
    assert "(int64_t)i * 2147483647" in code


def narrow_only(A: int64[8]) -> int64[8]:
    B: int64[8] = 0
    for i in range(8):
        B[i] = A[(i * 3 + 1) % 8] + i * 1000
    return B


def test_index_arithmetic_that_fits_stays_int():
    code = dsl.build(dsl.customize(narrow_only), target="vhls")
    assert "int64_t v1 = A[(i * 3 + 1) % 8];" in code  # the subscript map is computed in int
    assert "int v2 = i * 1000;" in code
    assert "(int64_t)i" not in code


def index_arg(A: int64[4], n: index) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[i] = n + i
    return B


def test_an_index_argument_beyond_int_is_refused_at_the_call():
    """An index port is a C++ ``int`` in HLS: 2**31 would arrive as -2**31 there, so no backend takes it."""
    s = dsl.customize(index_arg)
    np.testing.assert_array_equal(s.build()(np.zeros(4, np.int64), 2**31 - 1), 2**31 - 1 + np.arange(4))
    with pytest.raises(dsl.CallError, match=r"argument 'n' .* is index \(-2147483648\.\.2147483647\)"):
        s.build()(np.zeros(4, np.int64), 2**31)


def stored_index(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        j: index = i * 2147483647 * 2  # an index variable holds a C++ int: the store wraps
        B[i] = j + 1
    return B


def test_a_value_stored_into_an_index_variable_wraps_to_int_on_every_backend(tmp_path):
    A = np.zeros(4, np.int64)
    expect = np.array([((i * 2147483647 * 2 + 2**31) % 2**32 - 2**31) + 1 for i in range(4)])
    s = dsl.customize(stored_index)
    np.testing.assert_array_equal(s.build()(A), expect)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim", project=str(tmp_path / "p"))(A),
                                  expect)
