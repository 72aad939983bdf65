"""array_partition never lands on a top-level m_axi port (UG1399: not supported on M_AXI interfaces of the
top function, HLS 214-126): a partitioned top-level array is copied on chip with burst loops and the copy is
partitioned, also when the partition comes from a callee's argument that is a view of the port (issue 9,
6.1). The copies change nothing the kernel computes."""
import os
import re
import warnings

import numpy as np
import pytest

import dsl
from dsl import Partition, int8, int32

from .test_schedule_acceptance import SCHEDULES, gemm as gemm_64

RNG = np.random.default_rng(23)


def ports_and_partitions(code: str, top: str):
    """The top function's parameters, and the variables its array_partition pragmas name."""
    body = code[code.index(f'extern "C" void {top}('):]
    header = body[:body.index(")")]
    ports = re.findall(r"(\w+)(?:\[\d+\])+", header)
    return ports, re.findall(r"array_partition variable=(\w+)", body)


def gemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def test_the_readme_partition_of_a_top_argument_goes_to_an_on_chip_copy():
    s = dsl.customize(gemm)
    s.pipeline("j")
    s.partition(s.B, Partition.Cyclic, dim=2, factor=2)
    code = dsl.build(s, target="vhls")
    ports, partitioned = ports_and_partitions(code, "gemm")
    assert ports == ["A", "B", "C"] and partitioned == ["B_local"]
    lines = code.splitlines()
    load = next(k for k, line in enumerate(lines) if "l_load_B_c0: for (int c0 = 0; c0 < 4; ++c0)" in line)
    assert "l_load_B_c1: for (int c1 = 0; c1 < 6; ++c1)" in lines[load + 1]
    assert lines[load + 2].strip() == "#pragma HLS pipeline II=1"  # a burst read
    assert lines[load + 3].strip() == "B_local[c0][c1] = B[c0][c1];"
    assert "B_local[k][j]" in code and "l_store_B" not in code  # B is only read: no copy back
    A, B = RNG.integers(-128, 128, (8, 4)).astype(np.int8), RNG.integers(-128, 128, (4, 6)).astype(np.int8)
    got = dsl.build(s, target="vitis_hls", mode="csim")(A, B)
    np.testing.assert_array_equal(got, A.astype(np.int32) @ B.astype(np.int32))


def test_the_schedule_file_of_the_64x16_gemm():
    s = dsl.customize(gemm_64, schedule=os.path.join(SCHEDULES, "gemm_64x16.yaml"))
    ports, partitioned = ports_and_partitions(dsl.build(s, target="vhls"), "gemm")
    assert partitioned == ["B_local"] and not set(partitioned) & set(ports)


def _bump(R: int32[4]):
    for j in range(4):
        R[j] = R[j] + 1


def row_in_place(A: int32[8], B: int32[2, 4]):
    for i in range(8):
        A[i] = A[i] * 2
    _bump(B[1])


def test_a_partitioned_callee_argument_that_views_a_port_is_copied_in_and_out():
    s = dsl.customize(row_in_place)
    s.partition("_bump:R", Partition.Complete, dim=1)
    code = dsl.build(s, target="vhls")
    ports, partitioned = ports_and_partitions(code, "row_in_place")
    assert "B_local" in partitioned and not set(partitioned) & set(ports)
    assert "_bump(B_local[1]);" in code and "B[c01][c11] = B_local[c01][c11];" in code  # written: copied back
    assert code.index("_bump(B_local[1]);") < code.index("l_store_B")
    A, B = np.arange(8, dtype=np.int32), np.arange(8, dtype=np.int32).reshape(2, 4)
    a, b = np.copy(A), np.copy(B)
    dsl.build(s, target="vitis_hls", mode="csim")(a, b)
    np.testing.assert_array_equal(a, A * 2)
    np.testing.assert_array_equal(b, B + [[0], [1]])


def scaled_sum(A: int32[4, 4], w: int32) -> int32:
    total: int32 = 0
    for i, j in dsl.grid(4, 4):
        total += A[i, j] * w
    return total


def test_a_kernel_with_a_scalar_result_and_a_partitioned_input():
    s = dsl.customize(scaled_sum)
    s.partition(s.A, Partition.Complete, dim=0)
    code = dsl.build(s, target="vhls")
    assert "array_partition variable=A_local type=complete dim=0" in code
    A = RNG.integers(-100, 100, (4, 4)).astype(np.int32)
    assert dsl.build(s, target="vitis_hls", mode="csim")(A, 3) == int(A.sum()) * 3


def _load(A: int32[8], T: int32[8]):
    for i in range(8):
        T[i] = A[i]


def _store(T: int32[8], B: int32[8]):
    for i in range(8):
        B[i] = T[i] + 1


def region_top(A: int32[8]) -> int32[8]:
    T: int32[8]
    B: int32[8]
    _load(A, T)
    _store(T, B)
    return B


def test_a_partitioned_port_of_a_dataflow_region_is_refused_by_name():
    s = dsl.customize(region_top)
    s.dataflow("region_top")
    s.partition(s.A, Partition.Cyclic, dim=1, factor=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(dsl.BuildError, match=r"'A' is a top-level \(m_axi\) argument of the dataflow region "
                                                 r"'region_top' and is partitioned.*HLS 214-126.*loader kernel"):
            dsl.build(s, target="vhls")
