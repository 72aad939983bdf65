"""Designs that would hang on the board, or that Vitis would not run as dataflow, fail by name before they
run (issue 9: 6.2 streams outside a dataflow region, 6.3 feedback loops, 6.4 a buffer read by two
processes)."""
import warnings

import numpy as np
import pytest

import dsl
from dsl import int32

from .markers import line_of

N = 8


def _producer(A: int32[N], Y: int32[N]):
    for i in range(N):
        Y[i] = A[i] + 1


def _consumer(Y: int32[N], Z: int32[N]):
    for i in range(N):
        Z[i] = Y[i] * 2


def _other(Y: int32[N], W: int32[N]):
    for i in range(N):
        W[i] = Y[i] * 3


def _composed(A: int32[N]) -> int32[N]:
    Y: int32[N]  # stream-line
    Z: int32[N]
    _producer(A, Y)
    _consumer(Y, Z)
    return Z


@pytest.mark.parametrize("target", ["sim", "vhls", "vitis_hls"])
def test_a_stream_between_calls_outside_a_dataflow_region_is_refused(target):
    """Without s.dataflow the calls run one after another: _producer puts 8 tokens into a FIFO of depth 2
    and blocks for ever (the simulator and csim used to complete it)."""
    s = dsl.customize(_composed)
    s.to(s.Y, "_consumer", depth=2)
    with pytest.raises(dsl.StreamError) as err:
        dsl.build(s, target=target)
    msg = str(err.value)
    assert f"test_hls_dataflow_rules.py:{line_of(__file__, 'stream-line')}" in msg
    assert "stream 'Y'" in msg and "connects '_producer' to '_consumer' in '_composed', which is not a dataflow " \
        "region" in msg and "FIFO (depth 2) is full" in msg and "s.dataflow('_composed')" in msg
    s.dataflow("_composed")  # the same design as a dataflow region runs
    A = np.arange(N, dtype=np.int32)
    np.testing.assert_array_equal(dsl.build(s, target="sim")(A), (A + 1) * 2)


def test_the_cpu_backend_still_runs_a_streamed_buffer_as_a_buffer():
    s = dsl.customize(_composed)
    s.to(s.Y, "_consumer", depth=2)
    A = np.arange(N, dtype=np.int32)
    np.testing.assert_array_equal(s.build()(A), (A + 1) * 2)


@dsl.region()
def ring(A: int32[N], B: int32[N]):
    x: dsl.Stream[int32, 2]
    y: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def ka(A: int32[N]):
        for i in range(N):
            x.put(A[i])
            A[i] = y.get()

    @dsl.kernel(mapping=[1])
    def kb(B: int32[N]):
        for i in range(N):
            v = x.get()
            y.put(v + 1)
            B[i] = v


RING = "'ka' -(stream 'x') -> 'kb' -(stream 'y') -> 'ka'"


def test_a_feedback_loop_is_refused_for_csim_and_the_vendor_flows_naming_the_loop(tmp_path):
    A, B = np.arange(N, dtype=np.int32), np.zeros(N, np.int32)
    dsl.build(ring, target="sim")(A, B)  # the simulator runs every process concurrently: it completes
    np.testing.assert_array_equal(B, np.arange(N))
    np.testing.assert_array_equal(A, np.arange(N) + 1)
    with pytest.warns(UserWarning, match="feedback loop of streams"):
        code = dsl.build(ring, target="vhls")
    assert f"// NOT SYNTHESISABLE: dataflow region 'ring' has a feedback loop of streams: {RING}" in code
    for mode in ("csim", "hw_emu", "csyn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(dsl.BuildError) as err:
                dsl.build(ring, target="vitis_hls", mode=mode, project=str(tmp_path / mode))
        assert RING in str(err.value) and "feed-forward" in str(err.value)
        assert not (tmp_path / mode).exists()


def _fan(A: int32[N]) -> (int32[N], int32[N]):
    Y: int32[N]
    Z: int32[N]
    W: int32[N]
    _producer(A, Y)
    _consumer(Y, Z)
    _other(Y, W)
    return Z, W


def test_a_buffer_read_by_two_processes_is_refused_for_the_vendor_flows(tmp_path):
    s = dsl.customize(_fan)
    s.dataflow("_fan")
    expected = "'Y' is read by 2 processes (_consumer, _other)"
    with pytest.warns(UserWarning, match=r"'Y' is read by 2 processes \(_consumer, _other\)"):
        code = dsl.build(s, target="vhls")
    assert f"// NOT SYNTHESISABLE: dataflow region '_fan': {expected}" in code
    A = np.arange(N, dtype=np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z, W = dsl.build(s, target="vitis_hls", mode="csim")(A)  # right values: Vitis runs it sequentially
        np.testing.assert_array_equal(Z, (A + 1) * 2)
        np.testing.assert_array_equal(W, (A + 1) * 3)
        with pytest.raises(dsl.BuildError) as err:
            dsl.build(s, target="vitis_hls", mode="hw_emu", project=str(tmp_path / "fan.prj"))
    assert expected in str(err.value) and "one producer and one consumer" in str(err.value)
    assert "dsl does not duplicate buffers" in str(err.value) and not (tmp_path / "fan.prj").exists()


def _fan_copies(A: int32[N]) -> (int32[N], int32[N]):
    Y1: int32[N]
    Y2: int32[N]
    Z: int32[N]
    W: int32[N]
    _producer2(A, Y1, Y2)
    _consumer(Y1, Z)
    _other(Y2, W)
    return Z, W


def _producer2(A: int32[N], Y1: int32[N], Y2: int32[N]):
    for i in range(N):
        Y1[i] = A[i] + 1
        Y2[i] = A[i] + 1


def test_one_copy_per_reader_passes_the_rule():
    s = dsl.customize(_fan_copies)
    s.dataflow("_fan_copies")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = dsl.build(s, target="vhls")
    assert "NOT SYNTHESISABLE" not in code


def mixed(A: int32[N], B: int32[N]):
    T: int32[N]
    _producer(A, T)
    for i in range(N):  # a loop beside the calls: not a network of processes the rules apply to
        B[i] = T[i] * 2


def test_a_dataflow_function_with_a_loop_beside_its_calls_still_emits():
    s = dsl.customize(mixed)
    s.dataflow("mixed")
    code = dsl.build(s, target="vhls")
    assert "DSL_PROCESS(_producer(A, T));" in code and "NOT SYNTHESISABLE" not in code
