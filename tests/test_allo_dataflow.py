"""Dataflow regions written as Allo writes them: ``@dsl.kernel(mapping=..., args=[A, B])`` (region arguments
bound by position), regions with type parameters, a kernel calling a region (hierarchical designs), and
``target="simulator"``; on the simulator and in csim."""
import numpy as np
import pytest

import dsl
from dsl import float32, int32

M = N = K = 8


@dsl.region()
def producer_consumer(A: float32[M, N], B: float32[M, N]):
    pipe: dsl.Stream[float32, 4]

    @dsl.kernel(mapping=[1], args=[A])
    def producer(local_A: float32[M, N]):
        for i, j in dsl.grid(M, N):
            out: float32 = local_A[i, j]
            pipe.put(out)

    @dsl.kernel(mapping=[1], args=[B])
    def consumer(local_B: float32[M, N]):
        for i, j in dsl.grid(M, N):
            data: float32 = pipe.get()
            local_B[i, j] = data + 1.0


def test_args_bind_region_arguments_by_position():
    A = np.random.default_rng(0).random((M, N), dtype=np.float32)
    for target, options in (("simulator", {}), ("vitis_hls", {"mode": "csim"})):
        B = np.zeros((M, N), np.float32)
        dsl.build(producer_consumer, target=target, **options)(A, B)
        np.testing.assert_array_equal(B, A + 1)


def test_simulator_is_the_sim_target():
    from dsl.build import TARGETS

    assert TARGETS["simulator"] == TARGETS["sim"]


@dsl.region()
@dsl.template("P0", "P1")
def tiled_gemm(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
    @dsl.kernel(mapping=[P0, P1], args=[A, B, C])  # noqa: F821 - type parameters
    def gemm(local_A: float32[M, K], local_B: float32[K, N], local_C: float32[M, N]):
        pi, pj = dsl.get_pid()
        Mt: dsl.ConstExpr[int32] = M // P0  # noqa: F821
        Nt: dsl.ConstExpr[int32] = N // P1  # noqa: F821
        for i in range(pi * Mt, (pi + 1) * Mt):
            for j in range(pj * Nt, (pj + 1) * Nt):
                for k in range(K):
                    local_C[i, j] += local_A[i, k] * local_B[k, j]


@dsl.region()
def two_tilings(A: float32[M, K], B: float32[K, N], C1: float32[M, N], C2: float32[M, N]):
    @dsl.kernel(mapping=[2], args=[A, B, C1, C2])
    def wrapper(local_A: float32[M, K], local_B: float32[K, N], local_C1: float32[M, N],
                local_C2: float32[M, N]):
        i = dsl.get_pid()
        with dsl.meta_if(i == 0):
            tiled_gemm[2, 2](local_A, local_B, local_C1)
        with dsl.meta_if(i == 1):
            tiled_gemm[4, 4](local_A, local_B, local_C2)


def _gemm_inputs():
    rng = np.random.default_rng(1)
    return rng.random((M, K), dtype=np.float32), rng.random((K, N), dtype=np.float32)


def test_region_with_type_parameters_instantiated_at_the_top():
    A, B = _gemm_inputs()
    C = np.zeros((M, N), np.float32)
    s = dsl.customize(tiled_gemm, instantiate=[2, 4])
    assert len([op for op in s.module.body.operations if "gemm_" in str(op.attributes["sym_name"])]) == 8
    dsl.build(s, target="sim")(A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-5)


def test_hierarchical_regions_on_the_simulator_and_in_csim():
    A, B = _gemm_inputs()
    sim = dsl.build(two_tilings, target="simulator")
    C1, C2 = np.zeros((M, N), np.float32), np.zeros((M, N), np.float32)
    sim(A, B, C1, C2)
    np.testing.assert_allclose(C1, A @ B, rtol=1e-5)
    np.testing.assert_allclose(C2, A @ B, rtol=1e-5)
    assert len(sim.net.processes) == 4 + 16  # the inner regions' PEs run as processes of one network
    assert "scf.for" not in str(sim.module)
    with pytest.warns(UserWarning, match="m_axi"):  # every PE reads A and B, as in Allo's test
        csim = dsl.build(two_tilings, target="vitis_hls", mode="csim")
    C1, C2 = np.zeros((M, N), np.float32), np.zeros((M, N), np.float32)
    csim(A, B, C1, C2)
    np.testing.assert_allclose(C1, A @ B, rtol=1e-5)
    np.testing.assert_allclose(C2, A @ B, rtol=1e-5)


R, CAP = 6, 2


@dsl.region()
def inner_stream(result: int32[1]):
    s: dsl.Stream[int32, CAP]

    @dsl.kernel(mapping=[1])
    def producer():
        for i in range(R):
            v: int32 = i
            s.put(v)

    @dsl.kernel(mapping=[1], args=[result])
    def consumer(out: int32[1]):
        acc: int32 = 0
        for i in range(R):
            acc += s.get()
        out[0] = acc


@dsl.region()
def outer_stream(result: int32[1]):
    @dsl.kernel(mapping=[1], args=[result])
    def driver(out: int32[1]):
        inner_stream(out)


def test_inner_region_streams_run_concurrently():
    """A FIFO of depth 2 carrying 6 tokens: sequential execution would block; the inner PEs run as
    processes of the design, so it completes (the case Allo's simulator once deadlocked on)."""
    for build in (lambda: dsl.build(outer_stream, target="sim"),
                  lambda: dsl.build(outer_stream, target="vitis_hls", mode="csim")):
        out = np.zeros(1, np.int32)
        build()(out)
        assert out[0] == sum(range(R))


def test_scalar_region_arguments_are_accepted():
    """Allo refuses a scalar in args=; here a scalar region argument reaches the kernel (deliberately)."""
    @dsl.region()
    def scaled(n: int32, out: int32[1]):
        @dsl.kernel(mapping=[1], args=[n, out])
        def kernel(scalar: int32, o: int32[1]):
            o[0] = scalar * 2

    out = np.zeros(1, np.int32)
    dsl.build(scaled, target="sim")(21, out)
    assert out[0] == 42


def test_args_errors_name_the_kernel_and_argument():
    @dsl.region()
    def unknown(A: int32[4]):
        @dsl.kernel(mapping=[1], args=[Z])  # noqa: F821 - the mistake under test
        def k(a: int32[4]):
            a[0] = 1

    @dsl.region()
    def count(A: int32[4], B: int32[4]):
        @dsl.kernel(mapping=[1], args=[A, B])
        def k(a: int32[4]):
            a[0] = 1

    @dsl.region()
    def typed(A: int32[4]):
        @dsl.kernel(mapping=[1], args=[A])
        def k(a: float32[4]):
            a[0] = 1.0

    with pytest.raises(dsl.CallError, match="args= names 'Z', which is not an argument of region 'unknown'"):
        dsl.customize(unknown)
    with pytest.raises(dsl.CallError, match="has 1 parameter\\(s\\) but args= binds 2"):
        dsl.customize(count)
    with pytest.raises(dsl.CallError, match="parameter 'a' of kernel 'k' is float32\\[4\\] but receives region "
                                            "argument 'A' of type int32\\[4\\]"):
        dsl.customize(typed)


def test_type_parameters_of_a_region_must_be_given():
    def top(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
        tiled_gemm(A, B, C)

    with pytest.raises(dsl.CallError, match="region 'tiled_gemm' has type parameters \\[P0, P1\\]"):
        dsl.customize(top)


A_SIZE = 2


def test_meta_if_of_an_unimported_module_is_taken_by_its_spelling():
    # Allo's own hierarchical test writes allo.meta_if in a file that never imports allo
    def k(A: int32[2]):
        with allo.meta_if(A_SIZE == 2):  # noqa: F821 - 'allo' is not imported here
            A[0] = 1
        with allo.meta_else():  # noqa: F821
            A[0] = 2
        with meta_if(A_SIZE == 3):  # noqa: F821 - nor is a bare meta_if
            A[1] = 5
        with meta_else():  # noqa: F821
            A[1] = 7

    a = np.zeros(2, np.int32)
    dsl.customize(k).build()(a)
    assert a.tolist() == [1, 7]


def test_with_of_an_unresolvable_name_is_no_meta_construct():
    def k(A: int32[2]):
        with unknown_thing(True):  # noqa: F821
            A[0] = 1

    with pytest.raises(dsl.DSLError):
        dsl.customize(k)


BM, BN, BLOCKS = 4, 4, 3


@dsl.region()
def block_copy(A: dsl.int16[BM * BLOCKS, BN], B: dsl.int16[BM * BLOCKS, BN]):
    pipe: dsl.Stream[dsl.int16[BM, BN], 2]

    @dsl.kernel(mapping=[1], args=[A])
    def producer(local_A: dsl.int16[BM * BLOCKS, BN]):
        for b in range(BLOCKS):
            block: dsl.int16[BM, BN] = 0
            for m in range(BM):
                for n in range(BN):
                    block[m, n] = local_A[b * BM + m, n]
            pipe.put(block)

    @dsl.kernel(mapping=[1], args=[B])
    def consumer(local_B: dsl.int16[BM * BLOCKS, BN]):
        for b in range(BLOCKS):
            block: dsl.int16[BM, BN] = pipe.get()
            for m in range(BM):
                for n in range(BN):
                    local_B[b * BM + m, n] = block[m, n] * 2


def test_stream_of_blocks_as_allo_writes_it():
    # Allo's Stream[T[M, N], depth]: one tile per token, read into a declared local
    A = np.random.default_rng(8).integers(-1000, 1000, (BM * BLOCKS, BN), dtype=np.int16)
    for options in (dict(target="simulator"), dict(target="vitis_hls", mode="csim")):
        B = np.zeros_like(A)
        dsl.build(block_copy, **options)(A, B)
        np.testing.assert_array_equal(B, A * 2)
