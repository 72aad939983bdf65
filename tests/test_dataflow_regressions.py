"""Regressions: element types through the simulator, faithful csim of dataflow regions (bounded FIFOs,
deadlocks, leftovers), static-check wording, and m_axi arguments shared by dataflow processes."""
import warnings

import numpy as np
import pytest

import dsl
from dsl import Fixed, float16, float32, int8, int32
from dsl.backend.hls.streams import check_axi_sharing, shared_axi_args

from .dataflow_designs import diamond, producer_consumer, systolic_gemm, systolic_gemm_shared
from .markers import line_of

N = 12


def _line(marker):
    return line_of(__file__, marker)


def _stage1(A: float32[N], T: float32[N]):
    for i in range(N):
        T[i] = A[i] * 3.0


def _stage2(T: float32[N], U: float32[N]):
    for i in range(N):
        U[i] = T[i] - 1.0


def _stage3(U: float32[N], B: float32[N]):
    for i in range(N):
        u = U[i]
        B[i] = u * u


def _chain(A: float32[N]) -> float32[N]:
    T: float32[N]
    U: float32[N]
    B: float32[N]
    _stage1(A, T)
    _stage2(T, U)
    _stage3(U, B)
    return B


@pytest.mark.parametrize("streams", [[("T", "_stage2", 2), ("U", "_stage3", 3)], []])
def test_sim_returns_float_values_of_composed_kernels_and_leaves_inputs_alone(streams):
    A = np.linspace(-2, 2, N).astype(np.float32)
    keep = A.copy()
    s = dsl.customize(_chain)
    for buf, consumer, depth in streams:
        s.to(getattr(s, buf), consumer, depth=depth)
    s.dataflow("_chain")
    out = dsl.build(s, target="sim")(A)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (A * np.float32(3) - np.float32(1)) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(A, keep)


def _pipe(T):
    @dsl.region()
    def pipe(A: T[N], B: T[N]):
        s: dsl.Stream[T, 2]

        @dsl.kernel(mapping=[1])
        def p(A: T[N]):
            for i in range(N):
                s.put(A[i] * A[i])

        @dsl.kernel(mapping=[1])
        def c(B: T[N]):
            for i in range(N):
                B[i] = s.get() + B[i]

    return pipe


def _fixed_square_plus_one(a):
    raw = np.floor(a * 256).astype(np.int64)
    sq = (raw * raw) >> 8  # truncate toward -inf
    total = (sq + 256 + 2**15) % 2**16 - 2**15  # wrap to 16 bits
    return total / 256.0


@pytest.mark.parametrize("T, values, expect", [
    (float32, np.linspace(-3, 3, N).astype(np.float32), lambda a: a * a + np.float32(1)),
    (float16, np.linspace(-3, 3, N).astype(np.float16), lambda a: a * a + np.float16(1)),
    (Fixed(16, 8), np.linspace(-3, 3, N), _fixed_square_plus_one),
    (int8, np.arange(-12, 12, 2).astype(np.int8) * 2, lambda a: (a.astype(np.int8) * a + np.int8(1))),
])
def test_sim_region_element_types_in_place(T, values, expect):
    A = values.copy()
    B = np.ones(N, dtype=values.dtype)
    with np.errstate(over="ignore"):
        dsl.build(_pipe(T), target="sim")(A, B)
        np.testing.assert_array_equal(B, expect(values))
    np.testing.assert_array_equal(A, values)
    assert B.dtype == values.dtype


def test_csim_bounded_fifos_deadlock_like_the_simulator():
    A = np.arange(N, dtype=np.int32)
    shallow = dsl.build(diamond(N, short_depth=2), target="vitis_hls", mode="csim")
    with pytest.raises(dsl.DeadlockError) as info:
        shallow(A, np.zeros(N, np.int32))
    msg = str(info.value)
    for text in ("'src' (dataflow_designs.py:", "'reverse'", "'sink'", "stream 'short' (full: depth 2, occupancy 2)",
                 "stream 'long_out' (empty"):
        assert text in msg, text
    deep = dsl.build(diamond(N, short_depth=N - 1), target="vitis_hls", mode="csim")
    B = np.zeros(N, np.int32)
    deep(A, B)
    np.testing.assert_array_equal(B, A + A[::-1])
    assert deep.stats["short"]["max_occupancy"] == N - 1


@dsl.region()
def cyclic(A: int32[N], B: int32[N]):
    x: dsl.Stream[int32, 2]
    y: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def ka(A: int32[N]):
        for i in range(N):
            v = y.get()
            x.put(v + A[i])

    @dsl.kernel(mapping=[1])
    def kb(B: int32[N]):
        for i in range(N):
            v = x.get()
            y.put(v)
            B[i] = v


def test_cyclic_design_deadlocks_in_the_simulator_and_is_refused_by_csim_instead_of_making_up_results():
    with pytest.raises(dsl.DeadlockError) as info:
        dsl.build(cyclic, target="sim")(np.arange(N, dtype=np.int32), np.zeros(N, np.int32))
    msg = str(info.value)
    assert f"'ka' (test_dataflow_regressions.py:{_line('def ka(')})" in msg and "stream 'y' (empty" in msg
    assert f"'kb' (test_dataflow_regressions.py:{_line('def kb(')})" in msg and "stream 'x' (empty" in msg
    with warnings.catch_warnings():  # AMD's csim runs the processes in order: a feedback loop is refused
        warnings.simplefilter("ignore")
        with pytest.raises(dsl.BuildError, match=r"feedback loop of streams: 'ka' -\(stream 'x'\) -> 'kb'"):
            dsl.build(cyclic, target="vitis_hls", mode="csim")


def test_csim_leftover_tokens_warn_and_text_stays_plain_for_vitis():
    design = producer_consumer(8, depth=3)
    code = dsl.build(design, target="vhls")
    assert "DSL_PROCESS(producer(pipe, A));" in code and "#define DSL_PROCESS(call) call" in code.header
    assert "std::thread" not in code and "std::thread" not in code.header
    m = dsl.build(design, target="vitis_hls", mode="csim")
    A = np.arange(8, dtype=np.int32)
    B = np.zeros(8, np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(A, B)
    np.testing.assert_array_equal(B, (A + 1) * 2)
    assert m.stats["pipe"]["max_occupancy"] <= 3 and m.stats["pipe"]["tokens"] == 8


def _reads_twice(U: float32[N], B: float32[N]):
    for i in range(N):
        B[i] = U[i] * U[i]


def _square_twice(A: float32[N]) -> float32[N]:
    U: float32[N]
    B: float32[N]
    _stage1(A, U)
    _reads_twice(U, B)
    return B


def _initialised(A: float32[N]) -> float32[N]:
    T: float32[N] = 0.0
    U: float32[N]
    B: float32[N]
    _stage1(A, T)
    _stage2(T, U)
    _stage3(U, B)
    return B


def test_static_check_wording():
    s = dsl.customize(_square_twice)
    s.to(s.U, "_reads_twice")
    s.dataflow("_square_twice")
    with pytest.raises(dsl.StreamError, match=r"element U\[i\] is read 2 times per iteration at "
                       r"test_dataflow_regressions.py:\d+ .*read it once into a local"):
        dsl.build(s, target="sim")
    s = dsl.customize(_chain)
    for bad in ("_stage3", "_stage1"):
        with pytest.raises(dsl.DSLError) as info:
            s.to(s.T, bad)
        assert "valid consumer: _stage2" in str(info.value) and "_stage1," not in str(info.value)
    s = dsl.customize(_initialised)
    s.to(s.T, "_stage2")
    s.dataflow("_initialised")
    with pytest.raises(dsl.StreamError, match="may only declare buffers.*without an initial value.*and call "
                       "kernels"):
        dsl.build(s, target="sim")


def test_m_axi_argument_shared_by_processes_is_reported():
    gemm = dsl.customize(systolic_gemm_shared(4, 4, 4, 2, 2))
    with pytest.warns(UserWarning, match="'C' by pe_0_0, pe_0_1, pe_1_0, pe_1_1"):
        code = dsl.build(gemm, target="vhls")
    assert "// NOT SYNTHESISABLE" in code
    with gemm.context:
        assert "drain_a_0" not in shared_axi_args(gemm.module, gemm.top)["C"]
        with pytest.raises(dsl.BuildError, match="Vitis rejects a top-level"):
            check_axi_sharing(gemm.module, gemm.top)
        fine = dsl.customize(producer_consumer(8))
    with fine.context:
        assert shared_axi_args(fine.module, fine.top) == {}


def test_vendor_flows_refuse_an_m_axi_argument_shared_by_several_processes(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(dsl.BuildError) as err:
            dsl.build(systolic_gemm_shared(4, 4, 4, 2, 2), target="vitis_hls", mode="hw_emu",
                      project=str(tmp_path / "x.prj"))
    assert "accessed by several processes" in str(err.value) and "'C' by pe_0_0" in str(err.value)
    assert not (tmp_path / "x.prj").exists()


OUTLIVES_SCHEDULE = """
import gc, sys
import numpy as np
import dsl
sys.path.insert(0, sys.argv[1])
from dataflow_designs import diamond
sim = dsl.build(diamond(8, short_depth=2), target="sim")   # the schedule is a temporary
for _ in range(3):                                          # reuse the freed memory
    junk = [dsl.customize(diamond(8, short_depth=3)) for _ in range(3)]
    del junk
    gc.collect()
try:
    sim(np.arange(8, dtype=np.int32), np.zeros(8, np.int32))
except dsl.DeadlockError as err:
    print(err)
"""


def test_sim_module_outlives_its_schedule():
    """A deadlock report once read operations of a module freed with its temporary schedule (a crash in CI);
    glibc's MALLOC_PERTURB_ fills freed memory so that such a read fails every time."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    proc = subprocess.run([sys.executable, "-c", OUTLIVES_SCHEDULE, str(Path(__file__).parent)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "kernel 'src' (dataflow_designs.py:" in proc.stdout


def _add_one(A: int32[N], T: int32[N]):
    for i in range(N):
        T[i] = A[i] + 1


def _double(T: int32[N], U: int32[N]):
    for i in range(N):
        U[i] = T[i] * 2


def _inner(A: int32[N], U: int32[N]):
    T: int32[N]
    _add_one(A, T)
    _double(T, U)


def _minus_three(U: int32[N], B: int32[N]):
    for i in range(N):
        B[i] = U[i] - 3


def _outer(A: int32[N]) -> int32[N]:
    U: int32[N]
    B: int32[N]
    _inner(A, U)
    _minus_three(U, B)
    return B


def test_nested_dataflow_passes_a_stream_down_and_orders_ping_pong_users():
    """A dataflow function inside a dataflow function: the stream U reaches _double through _inner (its
    argument becomes an hls::stream at every level) and _double waits for _add_one (buffer T). The
    simulator runs the nested processes as one flat network, as hardware does."""
    s = dsl.customize(_outer)
    s.to(s.U, "_minus_three", depth=2)
    s.dataflow("_inner")
    s.dataflow("_outer")
    code = str(dsl.build(s, target="vhls"))
    assert "static void _double(int32_t T[12], hls::stream<int32_t> &U)" in code
    assert "DSL_PROCESS_AFTER(_double(T, U), 0);" in code
    A = np.arange(N, dtype=np.int32)
    csim = dsl.build(s, target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(csim(A), (A + 1) * 2 - 3)
    assert csim.stats["U"]["tokens"] == N
    sim = dsl.build(s, target="sim")
    assert [p.label for p in sim.net.processes] == ["_add_one", "_double", "_minus_three"]
    np.testing.assert_array_equal(sim(A), (A + 1) * 2 - 3)
    assert sim.stats["U"]["tokens"] == N and sim.stats["U"]["max_occupancy"] <= 2


def test_a_stream_local_to_a_nested_dataflow_function():
    s = dsl.customize(_outer)
    s.to(s.U, "_minus_three", depth=2)
    s.to("_inner:T", "_double", depth=3)
    s.dataflow("_inner")
    s.dataflow("_outer")
    A = np.arange(N, dtype=np.int32)
    sim = dsl.build(s, target="sim")
    np.testing.assert_array_equal(sim(A), (A + 1) * 2 - 3)
    assert sim.stats["T"]["depth"] == 3 and sim.stats["T"]["tokens"] == N
    csim = dsl.build(s, target="vitis_hls", mode="csim")
    np.testing.assert_array_equal(csim(A), (A + 1) * 2 - 3)
    assert csim.stats["T"]["tokens"] == N  # the same names in both


def _repeat(A: int32[N], B: int32[N]):
    U: int32[N]
    for r in range(50):  # the dataflow region runs 50 times inside a sequential loop
        _inner(A, U)
        for i in range(N):
            B[i] += U[i]


def test_csim_runs_a_dataflow_region_called_in_a_loop():
    s = dsl.customize(_repeat)
    s.to("_inner:T", "_double", depth=2)
    s.dataflow("_inner")
    A, B = np.arange(N, dtype=np.int32), np.zeros(N, np.int32)
    csim = dsl.build(s, target="vitis_hls", mode="csim")
    csim(A, B)
    np.testing.assert_array_equal(B, 50 * (A + 1) * 2)
    assert csim.stats["T"]["tokens"] == 50 * N  # statistics over every run of the region


def _fill_then_read(A: int32[N], T: int32[N], S: int32[N]):
    for i in range(N):
        T[i] = A[i]
    for i in range(N):
        A[i] = S[i]


def _read_then_fill(T: int32[N], S: int32[N]):
    for i in range(N):
        S[i] = T[i] + 1


def _ping_pong_cycle(A: int32[N]):
    T: int32[N]
    S: int32[N]
    _fill_then_read(A, T, S)
    _read_then_fill(T, S)


def test_a_kernel_waiting_on_a_ping_pong_buffer_is_part_of_the_deadlock_report():
    """_read_then_fill starts only when _fill_then_read is done with T, which waits for its tokens."""
    s = dsl.customize(_ping_pong_cycle)
    s.to(s.S, "_fill_then_read", depth=2)
    s.dataflow("_ping_pong_cycle")
    A = np.arange(N, dtype=np.int32)
    for target in ("sim", "vitis_hls"):
        with pytest.raises(dsl.DeadlockError) as info:
            dsl.build(s, target=target)(A)
        msg = str(info.value)
        assert f"'_fill_then_read' (test_dataflow_regressions.py:{_line('def _fill_then_read(')})" in msg
        assert "waiting to get from stream 'S' (empty: depth 2, occupancy 0" in msg
        assert "'_read_then_fill'" in msg and "has not started" in msg, msg
        if target == "sim":  # the simulator also explains why no FIFO depth helps
            assert "a kernel cannot start before one that waits for its tokens finishes" in msg


def _two_at_once(A: int32[N], C: int32[N]) -> (int32[N], int32[N]):
    U: int32[N]
    V: int32[N]
    _inner(A, U)  # two instances of one nested region, running at the same time
    _inner(C, V)
    return U, V


def test_two_live_instances_of_a_nested_stream_have_the_same_names_in_sim_and_csim():
    s = dsl.customize(_two_at_once)
    s.to("_inner:T", "_double", depth=2)
    s.dataflow("_inner")
    s.dataflow("_two_at_once")
    A, C = np.arange(N, dtype=np.int32), np.arange(N, dtype=np.int32) * 3
    sim, csim = dsl.build(s, target="sim"), dsl.build(s, target="vitis_hls", mode="csim")
    for module in (sim, csim):
        U, V = module(A, C)
        np.testing.assert_array_equal(U, (A + 1) * 2)
        np.testing.assert_array_equal(V, (C + 1) * 2)
        assert sorted(module.stats) == ["T", "_inner.T"]
        assert all(st["tokens"] == N for st in module.stats.values())
