"""loop_tripcount on loops whose trip count is not a constant (issue 9, 6.9). UG1399 (pragma HLS
loop_tripcount): for Vitis's latency analysis only, it does not change the hardware; it goes inside the
loop body, with min, max and avg. Counts come from the bound's type, the enclosing loops, or the user."""
import re

import numpy as np
import pytest

import dsl
from dsl import int32, uint8


def after(code: str, pattern: str) -> str:
    lines = code.splitlines()
    k = next(k for k, line in enumerate(lines) if re.search(pattern, line))
    return lines[k + 1].strip()


def by_type(A: int32[4], n: uint8, m: int32) -> int32[4]:
    B: int32[4] = 0
    for i in range(n):  # at most 255 iterations: n's type bounds it
        B[0] += A[0]
    for j in range(m):  # a negative int32 gives no iteration
        B[1] += 1
    return B


def triangle(A: int32[6]) -> int32[6]:
    B: int32[6] = 0
    for i in range(6):
        for j in range(i):  # 0..5 iterations, 2.5 on average: rounded half up
            B[i] += A[j]
    return B


def counted_while(A: int32[4], n: int32) -> int32[4]:
    B: int32[4] = 0
    m: int32 = 0
    while m < n:
        dsl.loop_tripcount(100, avg=10)
        m += 1
    B[0] = m
    return B


def plain_while(n: int32) -> int32:
    m: int32 = 0
    while m < n:
        m += 1
    return m


def test_a_bound_from_a_scalar_argument_is_bounded_by_its_type():
    code = dsl.build(dsl.customize(by_type), target="vhls")
    assert after(code, r"for \(int i = 0; i < v\d+; \+\+i\)") == "#pragma HLS loop_tripcount min=0 max=255 avg=128"
    assert after(code, r"for \(int j = 0; j < v\d+; \+\+j\)") == \
        "#pragma HLS loop_tripcount min=0 max=2147483647 avg=1073741823"
    A = np.array([5, 0, 0, 0], dtype=np.int32)
    mod = dsl.build(dsl.customize(by_type), target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(mod(A, 3, -2), [15, 0, 0, 0])
    np.testing.assert_array_equal(mod(A, 2, 7), [10, 7, 0, 0])


def test_a_triangle_gets_its_mean_over_the_enclosing_loop():
    code = dsl.build(dsl.customize(triangle), target="vhls")
    assert after(code, r"for \(int j = 0; j < i\d*; \+\+j\)") == "#pragma HLS loop_tripcount min=0 max=5 avg=3"


def test_a_while_loop_gets_the_count_its_body_gives_and_none_else():
    code = dsl.build(dsl.customize(counted_while), target="vhls")
    assert after(code, r"while \(true\) \{") == "#pragma HLS loop_tripcount min=0 max=100 avg=10"
    np.testing.assert_array_equal(dsl.build(dsl.customize(counted_while), target="vitis_hls", mode="csim")(
        np.zeros(4, np.int32), 7), [7, 0, 0, 0])
    assert "loop_tripcount" not in dsl.build(dsl.customize(plain_while), target="vhls")
    assert dsl.customize(counted_while).build()(np.zeros(4, np.int32), 7)[0] == 7  # the CPU ignores it


def test_the_schedule_primitive_replaces_the_derived_counts_and_round_trips(tmp_path):
    s = dsl.customize(by_type)
    s.tripcount("i", max=64, min=1)
    assert "[tripcount 1..64 avg 32]" in str(s.get_loops())
    code = dsl.build(s, target="vhls")
    assert after(code, r"for \(int i = 0; i < v\d+; \+\+i\)") == "#pragma HLS loop_tripcount min=1 max=64 avg=32"
    s.save(tmp_path / "s.yaml")
    again = dsl.customize(by_type, schedule=str(tmp_path / "s.yaml"))
    assert str(again.module) == str(s.module)
    A = np.array([5, 0, 0, 0], dtype=np.int32)
    np.testing.assert_array_equal(s.build()(A, 3, 2), dsl.customize(by_type).build()(A, 3, 2))


@pytest.mark.parametrize("kwargs", [dict(max=4, min=5), dict(max=4, avg=9)])
def test_inconsistent_counts_are_refused(kwargs):
    s = dsl.customize(by_type)
    with pytest.raises(dsl.ScheduleError, match="min <= avg <= max"):
        s.tripcount("i", **kwargs)


def misplaced(n: int32) -> int32:
    dsl.loop_tripcount(4)
    return n


def twice(n: int32) -> int32:
    m: int32 = 0
    while m < n:
        dsl.loop_tripcount(4)
        dsl.loop_tripcount(5)
        m += 1
    return m


def negative(n: int32) -> int32:
    m: int32 = 0
    while m < n:
        dsl.loop_tripcount(-1)
        m += 1
    return m


@pytest.mark.parametrize("kernel, message", [(misplaced, "directly in the body of a for or while loop"),
                                             (twice, "given twice"), (negative, "0 <= min <= avg <= max")])
def test_misused_loop_tripcount_is_refused_at_its_line(kernel, message):
    with pytest.raises(dsl.DSLError, match=message) as e:
        dsl.customize(kernel)
    assert "loop_tripcount" in str(e.value)
