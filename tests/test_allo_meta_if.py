"""Compile-time branches: ``with dsl.meta_if(c):`` / ``meta_elif`` / ``meta_else`` (Allo's spelling), decided per
kernel instance from type parameters, ``get_pid()`` values and ``meta_for`` indices; plain ``if`` statements on
such values are decided the same way."""
import numpy as np
import pytest

import dsl
from dsl import float32, int8, int32

from .markers import line_of


@dsl.template("Ty", "M", "N")
def _zeros_by_type() -> "Ty[M, N]":
    with dsl.meta_if(Ty == int8):  # noqa: F821 - a type parameter
        with dsl.meta_if(M == N):  # noqa: F821
            B: int8[M, N] = 1  # noqa: F821
            return B
    with dsl.meta_elif(Ty == float32):  # noqa: F821
        C: float32[M, N] = 2.0  # noqa: F821
        return C
    with dsl.meta_else():  # belongs to the outer chain, not to the inner meta_if
        D: int32[M, N] = 3  # noqa: F821
        return D


@pytest.mark.parametrize("ty, value, mlir", [(int8, 1, "4x4xi8"), (float32, 2.0, "4x4xf32"), (int32, 3, "4x4xi32")])
def test_meta_if_chain_picks_one_branch_per_instance(ty, value, mlir):
    s = dsl.customize(_zeros_by_type, instantiate=[ty, 4, 4])
    assert mlir in str(s.module)
    out = s.build()()
    assert out.shape == (4, 4) and (out == value).all()


def test_meta_elif_after_a_taken_branch_is_dropped_and_bodies_are_inlined():
    N = 8

    def k(A: int32[N]):
        with dsl.meta_if(N > 4):
            for i in range(N):
                A[i] = A[i] + 1
        with dsl.meta_elif(N > 2):           # also true, but the chain is already decided
            for i in range(N):
                A[i] = A[i] * 100
        with dsl.meta_if(N == 1):
            undefined_helper(A)  # noqa: F821 - dropped unseen: never compiled
        with dsl.meta_else():
            t: int32 = 5                     # a `with` is no scope: t is visible after it
        A[0] = A[0] + t

    A = np.arange(N, dtype=np.int32)
    dsl.customize(k).build()(A)
    assert A.tolist() == [6, 2, 3, 4, 5, 6, 7, 8]


def test_meta_if_on_a_meta_for_index():
    N = 6

    def k(A: int32[N]):
        with dsl.meta_for(N) as p:
            with dsl.meta_if(p % 2 == 0):
                A[p] = A[p] * 10
            with dsl.meta_elif(p == N - 1):
                A[p] = -1

    A = np.ones(N, np.int32)
    dsl.customize(k).build()(A)
    assert A.tolist() == [10, 1, 10, 1, 10, -1]


def test_constant_if_with_set_membership_is_decided_at_compile_time():
    @dsl.template("N")
    def k(A: "int32[N]"):
        if N in {4, 8}:  # noqa: F821 - `in` on a type parameter: Python evaluates it
            A[0] = 1
        else:
            A[0] = A[99]   # out of range for N = 4: never compiled

    A = np.zeros(4, np.int32)
    dsl.customize(k, instantiate=[4]).build()(A)
    assert A[0] == 1


def test_plain_if_on_a_kernel_variable_stays_a_runtime_branch():
    LIMIT = 3

    def k(A: int32[4]):
        LIMIT: int32 = A[0]   # shadows the module constant: a run-time value
        if LIMIT > 2:
            A[1] = 1
        else:
            A[1] = 2

    for first, expect in ((5, 1), (0, 2)):
        A = np.array([first, 0, 0, 0], np.int32)
        dsl.customize(k).build()(A)
        assert A[1] == expect
    assert LIMIT == 3


M, N, K = 2, 2, 3
P0, P1 = M + 2, N + 2


@dsl.region()
def systolic_edges(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
    """An output-stationary array with loader PEs on the top/left edge and drains on the bottom/right,
    every role chosen by meta_if on the PE's position (Allo's test_systolic layout)."""
    fa: dsl.Stream[float32, 4][P0, P1]
    fb: dsl.Stream[float32, 4][P0, P1]

    @dsl.kernel(mapping=[P0, P1])
    def pe(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
        i, j = dsl.get_pid()
        with dsl.meta_if(i in {0, M + 1} and j in {0, N + 1}):
            pass                                      # corners do nothing
        with dsl.meta_elif(j == 0):
            for k in range(K):
                fa[i, j + 1].put(A[i - 1, k])
        with dsl.meta_elif(i == 0):
            for k in range(K):
                fb[i + 1, j].put(B[k, j - 1])
        with dsl.meta_elif(i == M + 1):
            for k in range(K):
                fb[i, j].get()                        # drains: read and drop
        with dsl.meta_elif(j == N + 1):
            for k in range(K):
                fa[i, j].get()
        with dsl.meta_else():
            c: float32 = 0.0
            for k in range(K):
                a: float32 = fa[i, j].get()
                b: float32 = fb[i, j].get()
                c += a * b
                fa[i, j + 1].put(a)
                fb[i + 1, j].put(b)
            C[i - 1, j - 1] = c


def _systolic_inputs():
    rng = np.random.default_rng(3)
    return rng.random((M, K), dtype=np.float32), rng.random((K, N), dtype=np.float32)


def test_systolic_edge_pes_on_the_simulator():
    A, B = _systolic_inputs()
    C = np.zeros((M, N), np.float32)
    sim = dsl.build(systolic_edges, target="sim")
    sim(A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5)
    # the edge PEs only touch the streams of their role: no stream of a corner exists
    assert "fa_0_0" not in sim.depths and "fb_0_0" not in sim.depths


def test_systolic_edge_pes_in_csim():
    A, B = _systolic_inputs()
    C = np.zeros((M, N), np.float32)
    with pytest.warns(UserWarning, match="m_axi"):  # the PEs share the top-level arguments, as in Allo's test
        mod = dsl.build(systolic_edges, target="vitis_hls", mode="csim")
    mod(A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5)


@dsl.region()
def plain_if_edges(A: int32[4], B: int32[4]):
    """The same with plain `if` on PE indices: fa[i - 1] would be out of range for PE 0, but that branch
    cannot run there, so it is not compiled for it."""
    fa: dsl.Stream[int32, 2][4]

    @dsl.kernel(mapping=[4])
    def chain(A: int32[4], B: int32[4]):
        i = dsl.get_pid()
        if i == 0:
            for k in range(4):
                fa[i].put(A[k])
        elif i < 3:
            for k in range(4):
                fa[i].put(fa[i - 1].get() + 1)
        else:
            for k in range(4):
                B[k] = fa[i - 1].get()


def test_plain_if_on_pe_indices_skips_impossible_branches():
    A, B = np.arange(4, dtype=np.int32), np.zeros(4, np.int32)
    dsl.build(plain_if_edges, target="sim")(A, B)
    assert B.tolist() == [2, 3, 4, 5]


def test_meta_elif_without_meta_if_names_the_line():
    def k(A: int32[2]):
        A[0] = 1
        with dsl.meta_elif(True):  # MARK-elif
            A[1] = 2

    with pytest.raises(dsl.DSLSyntaxError, match="meta_elif must follow") as err:
        dsl.customize(k)
    assert f"test_allo_meta_if.py:{line_of(__file__, 'MARK-elif')}:" in str(err.value)


def test_meta_if_on_a_runtime_value_is_refused_by_name():
    def k(A: int32[2], n: int32):
        with dsl.meta_if(n > 0):
            A[0] = 1

    with pytest.raises(dsl.DSLSyntaxError, match=r"compile time.*kernel variable\(s\) n"):
        dsl.customize(k)


def test_meta_if_with_as_is_refused():
    def k(A: int32[2]):
        with dsl.meta_if(True) as x:  # noqa: F841
            A[0] = 1

    with pytest.raises(dsl.DSLSyntaxError, match="without `as`"):
        dsl.customize(k)


def test_meta_if_called_outside_a_kernel():
    with pytest.raises(dsl.DSLError, match="inside a kernel"):
        dsl.meta_if(True)


def _meta_for_hides_a_loop_variable(A: int32[4]) -> int32[4]:
    for i in range(4):
        with dsl.meta_for(2) as i:  # noqa: B020 - the mistake under test
            A[i] += 1
    return A


def _meta_for_zero_step(A: int32[4]) -> int32[4]:
    with dsl.meta_for(0, 4, 0) as p:
        A[p] = 0
    return A


def _meta_for_too_many_copies(A: int32[4]) -> int32[4]:
    with dsl.meta_for(5000) as p:
        A[0] = p
    return A


@pytest.mark.parametrize("kernel, error, message", [
    (_meta_for_hides_a_loop_variable, dsl.DSLNameError, "the dsl.meta_for index 'i' reuses the name of an argument "
                                                        "or of an enclosing loop's variable"),
    (_meta_for_zero_step, dsl.DSLSyntaxError, "the step of dsl.meta_for must not be zero"),
    (_meta_for_too_many_copies, dsl.DSLSyntaxError, "would make 5000 copies of its body; at most 4096"),
])
def test_meta_for_misuse_is_refused_at_its_line(kernel, error, message):
    with pytest.raises(error, match=message) as info:
        dsl.customize(kernel)
    assert info.value.loc is not None and info.value.loc.file == __file__


def test_meta_for_index_may_reuse_a_name_after_its_loop_ended():
    def k(A: int32[4]) -> int32[4]:
        for i in range(4):
            with dsl.meta_for(2) as j:
                A[i] += j
        with dsl.meta_for(2) as i:
            A[i] += 10
        return A

    np.testing.assert_array_equal(dsl.customize(k).build()(np.zeros(4, np.int32)), [11, 11, 1, 1])
