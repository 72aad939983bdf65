"""compute_at fuses only where the fused nest computes what the two nests computed (issue 9, section 7.2):
a producer that accumulates across the shared loop is refused (the consumer would see running sums), and
nests in different blocks are refused instead of aborting the process. Legal fusions keep their results."""
import numpy as np
import pytest

import dsl
from dsl import int32

from .test_lang_errors import assert_clean

N = 4
A = np.array([1, 2, 3, 4], np.int32)


def total_buffer(A: int32[N]) -> int32[N]:
    S: int32[1] = 0
    C: int32[N] = 0
    for i in range(N):
        S[0] += A[i]
    for i in range(N):
        C[i] = S[0]
    return C


def total_scalar(A: int32[N]) -> int32[N]:
    s: int32 = 0
    C: int32[N] = 0
    for i in range(N):
        s += A[i]
    for i in range(N):
        C[i] = s
    return C


def branches(A: int32[N], c: int32) -> int32[N]:
    B: int32[N] = 0
    C: int32[N] = 0
    if c > 0:
        for i in range(N):
            B[i] = A[i] + 1
    else:
        for i in range(N):
            C[i] = B[i] * 2
    return C


def rows(A: int32[N, N]) -> int32[N, N]:
    B: int32[N, N] = 0
    C: int32[N, N] = 0
    for i, j in dsl.grid(N, N):
        B[i, j] = A[i, j] * 3
    for i, j in dsl.grid(N, N):
        C[i, j] = B[i, N - 1 - j] + 1
    return C


@pytest.mark.parametrize("kernel,message", [
    (total_buffer, "buffer 'S' is not indexed by loop 'i'"),
    (total_scalar, "variable 's' is not indexed by loop 'i'"),
])
def test_accumulation_across_the_fused_loop_is_refused(kernel, message):
    s = dsl.customize(kernel)
    before = s.module.operation.get_asm(enable_debug_info=True)
    assert list(s.build()(A)) == [10] * N
    with pytest.raises(dsl.ScheduleError) as info:
        s.compute_at("S_i_0:i", "S_i_1:i")
    assert message in str(info.value) and "running sum" in str(info.value)
    assert_clean(info.value)
    assert s.module.operation.get_asm(enable_debug_info=True) == before and not s.trace
    assert list(s.build()(A)) == [10] * N


def test_nests_in_the_two_branches_of_an_if_are_refused():
    s = dsl.customize(branches)
    with pytest.raises(dsl.ScheduleError, match="different blocks"):
        s.compute_at("S_i_0:i", "S_i_1:i")


def test_fusion_over_the_outer_loop_only_keeps_the_result():
    s = dsl.customize(rows)
    a = np.arange(N * N, dtype=np.int32).reshape(N, N)
    expected = a[:, ::-1] * 3 + 1
    np.testing.assert_array_equal(s.build()(a), expected)
    s.compute_at("S_i_j_0:i", "S_i_j_1:i")  # B[i, :] is complete before row i of C reads it
    np.testing.assert_array_equal(s.build()(a), expected)
    with pytest.raises(dsl.ScheduleError, match="fusing would change the result"):
        dsl.customize(rows).compute_at("S_i_j_0:j", "S_i_j_1:j")  # B[i, N-1-j] is not written yet
