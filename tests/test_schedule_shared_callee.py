"""A buffer passed to a callee that other callers share (issue 9, the schedule root cause behind
dsl/dse/units.py's "weight block last"): Vitis builds one function with one interface, so every buffer
passed to it is partitioned alike (UG1399, array_partition on a function argument). A carried layout must
not undo a broader one a buffer already has, and two callers partitioned differently are refused instead
of the last partition silently winning."""
import re

import numpy as np
import pytest

import dsl
from dsl import int32


def step(a: int32[4], C: int32[4]):
    for j in range(4):
        C[j] += a[j]


def first(X: int32[4, 4], C: int32[4]):
    P: int32[4, 4] = 0
    for i, j in dsl.grid(4, 4):
        P[i, j] = X[i, j] * 2
    for k in range(4):
        step(P[k], C)


def second(X: int32[4, 4], C: int32[4]):
    Q: int32[4, 4] = 0
    for i, j in dsl.grid(4, 4):
        Q[i, j] = X[i, j] + 1
    for k in range(4):
        step(Q[k], C)


def top(X: int32[4, 4]) -> int32[4]:
    C: int32[4] = 0
    first(X, C)
    second(X, C)
    return C


X = np.arange(16, dtype=np.int32).reshape(4, 4)
EXPECT = (X * 2).sum(axis=0) + (X + 1).sum(axis=0)


def partition_pragmas(code: str, function: str, variable: str) -> list:
    body = code[code.index(f"void {function}("):]
    body = body[:body.index("\n}\n")]
    return re.findall(rf"#pragma HLS array_partition variable={variable} (.*)", body)


def test_a_carried_layout_leaves_a_broader_one_alone(tmp_path):
    s = dsl.customize(top)
    s.partition("first:P", dsl.Partition.Complete, dim=0)
    s.partition("second:Q", dsl.Partition.Complete, dim=0)  # carried to P as complete on dimension 2
    code = dsl.build(s, target="vhls")
    assert partition_pragmas(code, "first", "P") == ["type=complete dim=0"]  # was "dim=2": P lost dim 1
    assert partition_pragmas(code, "second", "Q") == ["type=complete dim=0"]
    np.testing.assert_array_equal(s.build()(X), EXPECT)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim", project=str(tmp_path / "p"))(X),
                                  EXPECT)
    s.save(tmp_path / "s.yaml")
    assert str(dsl.customize(top, schedule=str(tmp_path / "s.yaml")).module) == str(s.module)


def test_one_callers_partition_reaches_the_other_callers_buffer():
    """One interface: partitioning P gives Q the same layout on the dimension the callee sees."""
    s = dsl.customize(top)
    s.partition("first:P", dsl.Partition.Cyclic, dim=2, factor=2)
    code = dsl.build(s, target="vhls")
    assert partition_pragmas(code, "second", "Q") == ["type=cyclic factor=2 dim=2"]
    assert partition_pragmas(code, "step", "a") == ["type=cyclic factor=2 dim=1"]
    s.partition("second:Q", dsl.Partition.Cyclic, dim=2, factor=2)  # alike: accepted
    np.testing.assert_array_equal(s.build()(X), EXPECT)


def test_two_callers_partitioned_differently_are_refused():
    s = dsl.customize(top)
    s.partition("first:P", dsl.Partition.Cyclic, dim=2, factor=2)
    before = str(s.module)
    with pytest.raises(dsl.ScheduleError) as e:
        s.partition("second:Q", dsl.Partition.Cyclic, dim=2, factor=4)
    message = str(e.value)
    for part in ("'second:Q'", "'first:P'", "'step'", "one interface", "cyclic factor 2 on dimension 2",
                 "cyclic factor 4 on dimension 2"):
        assert part in message, (part, message)
    assert str(s.module) == before and len(s.trace) == 1  # the schedule is left as it was


def test_a_buffer_may_still_be_repartitioned_itself():
    s = dsl.customize(top)
    s.partition("first:P", dsl.Partition.Cyclic, dim=2, factor=2)
    s.partition("first:P", dsl.Partition.Cyclic, dim=2, factor=4)  # its own layout: the later one holds
    code = dsl.build(s, target="vhls")
    assert partition_pragmas(code, "first", "P") == ["type=cyclic factor=4 dim=2"]
    assert partition_pragmas(code, "second", "Q") == ["type=cyclic factor=4 dim=2"]


def test_a_composed_sub_schedules_partition_counts_as_the_schedules_own():
    sub = dsl.customize(first)
    sub.partition("P", dsl.Partition.Cyclic, dim=2, factor=2)
    s = dsl.customize(top)
    s.compose(sub)
    with pytest.raises(dsl.ScheduleError, match="'first:P' is partitioned cyclic factor 2 on dimension 2"):
        s.partition("second:Q", dsl.Partition.Cyclic, dim=2, factor=4)
