"""Kernels defined inside a function see that function's locals in their annotations (Allo's usual style:
sizes and types are locals of the test function)."""
import numpy as np
import pytest

import dsl
from dsl import Int, UInt, float32, int32


def test_sizes_from_enclosing_locals_in_every_annotation():
    M, K = 6, 5

    def rowsum(A: int32[M, K]) -> int32[M]:
        B: int32[M] = 0                      # M only in annotations: no closure variable
        for i in range(M):
            for k in range(K):
                B[i] += A[i, k]
        return B

    A = np.arange(M * K, dtype=np.int32).reshape(M, K)
    np.testing.assert_array_equal(dsl.customize(rowsum).build()(A), A.sum(axis=1))


def test_types_from_enclosing_locals():
    T_IN, T_OUT = Int(5), Int(14)
    N = 4

    def gemm(A: T_IN[N, N], B: T_IN[N, N]) -> T_OUT[N, N]:
        C: T_OUT[N, N] = 0
        for i, j, k in dsl.grid(N, N, N):
            C[i, j] += A[i, k] * B[k, j]
        return C

    rng = np.random.default_rng(0)
    A, B = (rng.integers(-16, 16, (N, N)).astype(np.int8) for _ in range(2))
    np.testing.assert_array_equal(dsl.customize(gemm).build()(A, B), A.astype(np.int32) @ B.astype(np.int32))


def test_values_are_read_when_customize_runs():
    """As with closure variables (and in Allo), the value a local has when the kernel is compiled counts."""
    N, T = 8, Int(4)

    def double(A: T[N]) -> T[N]:
        B: T[N] = 0
        for i in range(N):
            B[i] = A[i] * 2
        return B

    seen = []
    for N, T in [(3, Int(6)), (5, UInt(7))]:
        s = dsl.customize(double)
        out = s.build()(np.arange(N, dtype=np.int8))
        seen.append((out.tolist(), s.top_func.attributes["dsl.arg_types"]))
    assert seen[0][0] == [0, 2, 4] and "Int(6)" in str(seen[0][1])
    assert seen[1][0] == [0, 2, 4, 6, 8] and "UInt(7)" in str(seen[1][1])


def _factory(n, dtype):
    def scale(A: dtype[n], B: dtype[n]):     # the factory's frame is gone when this is compiled
        for i in range(n):
            B[i] = A[i] * 3

    return scale


def test_factory_names_recovered_from_evaluated_annotations():
    kernel = _factory(5, float32)
    A = np.arange(5, dtype=np.float32)
    B = np.zeros(5, np.float32)
    dsl.customize(kernel).build()(A, B)
    np.testing.assert_array_equal(B, A * 3)


def _factory_body_only(n):
    def k(A: int32[4]) -> int32[4]:
        B: int32[n] = 0                      # a name in a local annotation is a closure variable (CPython)
        for i in range(4):
            B[i] = A[i]
        return B

    return k


def test_factory_name_in_a_local_annotation():
    out = dsl.customize(_factory_body_only(4)).build()(np.arange(4, dtype=np.int32))
    assert out.tolist() == [0, 1, 2, 3]


def test_closure_variable_wins_over_annotation_value():
    N = 4

    def k(A: int32[N]) -> int32[N]:
        B: int32[N] = 0
        for i in range(N):       # N is used in the body too: a closure cell, read live
            B[i] = A[i] + N
        return B

    N = 3
    out = dsl.customize(k).build()(np.zeros(3, np.int32))
    assert out.tolist() == [3, 3, 3]


def test_callee_defined_in_the_same_function():
    L = 4

    def inc(x: int32[L]) -> int32[L]:
        y: int32[L] = 0
        for i in range(L):
            y[i] = x[i] + 1
        return y

    def top(x: int32[L]) -> int32[L]:
        return inc(inc(x))

    np.testing.assert_array_equal(dsl.customize(top).build()(np.arange(L, dtype=np.int32)), np.arange(L) + 2)


SCALE = 2


def _uses_callers_beta(A: int32[4], B: int32[4]):
    for i in range(4):
        B[i] = A[i] * beta + SCALE  # noqa: F821 - beta: a local of whoever calls dsl.customize (Allo's rule)


def _build_with(beta, SCALE=1000):  # noqa: N803 - SCALE here must not win over the module's SCALE
    return dsl.customize(_uses_callers_beta).build()


def test_names_of_customizes_caller_are_the_last_resort():
    A, B = np.arange(4, dtype=np.int32), np.zeros(4, np.int32)
    _build_with(beta=3)(A, B)
    assert B.tolist() == [2, 5, 8, 11]  # beta from the caller; SCALE is the module's (Python's scope wins)


def test_a_name_nobody_defines_is_still_an_error():
    with pytest.raises(dsl.DSLNameError, match="name 'beta' is not defined"):
        dsl.customize(_uses_callers_beta)
