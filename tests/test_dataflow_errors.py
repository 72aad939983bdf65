"""Deadlocks, the static stream check and leftover tokens: found on the CPU, in seconds, with names."""
import time
import warnings

import numpy as np
import pytest

import dsl
from dsl import int32

from .dataflow_designs import diamond
from .markers import line_of

N = 8


def _line(marker):
    return line_of(__file__, marker)


def test_diamond_deadlock_is_reported_fast_with_names_and_depths():
    A = np.arange(N, dtype=np.int32)
    sim = dsl.build(diamond(N, short_depth=2), target="sim")
    start = time.perf_counter()  # the requirement is on finding the deadlock, not on compiling
    with pytest.raises(dsl.DeadlockError) as info:
        sim(A, np.zeros(N, np.int32))
    assert time.perf_counter() - start < 2.0
    msg = str(info.value)
    for text in ("'src'", "'reverse'", "'sink'", "stream 'short' (full: depth 2, occupancy 2",
                 "stream 'long_out' (empty", "dataflow_designs.py:"):
        assert text in msg, text
    assert info.value.suggested_depths == {"short": N - 1}
    B = np.zeros(N, np.int32)
    dsl.build(diamond(N, short_depth=N - 1), target="sim")(A, B)
    np.testing.assert_array_equal(B, A + A[::-1])


@dsl.region()
def mismatched(A: int32[N], B: int32[N]):
    pipe: dsl.Stream[int32, 4]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        for i in range(N):
            pipe.put(A[i])  # PRODUCER-LINE

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        for i in range(N - 1):
            B[i] = pipe.get()  # CONSUMER-LINE


def test_static_check_rejects_mismatched_counts_naming_both_lines():
    with pytest.raises(dsl.StreamError) as info:
        dsl.build(mismatched, target="sim")
    msg = str(info.value)
    assert f"test_dataflow_errors.py:{_line('# PRODUCER-LINE')}" in msg
    assert f"test_dataflow_errors.py:{_line('# CONSUMER-LINE')}" in msg
    assert "puts 8 token(s)" in msg and "gets 7" in msg


@dsl.region()
def leftover(A: int32[N], B: int32[N]):
    pipe: dsl.Stream[int32, 16]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        for i in range(N):
            pipe.put(A[i])

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        for i in range(N):
            if i < N - 3:  # a data-dependent count: the static check cannot tell
                B[i] = pipe.get()


def test_leftover_tokens_are_a_warning_naming_the_stream():
    sim = dsl.build(leftover, target="sim")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim(np.arange(N, dtype=np.int32), np.zeros(N, np.int32))
    texts = [str(w.message) for w in caught if issubclass(w.category, dsl.StreamWarning)]
    assert texts and "stream 'pipe' holds 3 token(s)" in texts[0]


@dsl.region()
def dynamic_index(A: int32[N]):
    ps: dsl.Stream[int32, 2][4]

    @dsl.kernel(mapping=[1])
    def writer(A: int32[N]):
        for i in range(4):
            ps[i].put(A[i])


def test_stream_index_must_be_constant():
    with pytest.raises(dsl.StreamError, match="index of stream 'ps' must be a compile-time constant"):
        dsl.customize(dynamic_index)


@dsl.region()
def unread(A: int32[N]):
    pipe: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def writer(A: int32[N]):
        for i in range(N):
            pipe.put(A[i])


def test_stream_without_consumer_is_rejected():
    with pytest.raises(dsl.StreamError, match="no kernel reads it"):
        dsl.build(unread, target="sim")


def _fwd(A: int32[N], Y: int32[N]):
    for i in range(N):
        Y[i] = A[i]


def _bwd(Y: int32[N], Z: int32[N]):
    for i in range(N):
        Z[i] = Y[N - 1 - i]


def _reordering(A: int32[N]) -> int32[N]:
    Y: int32[N]
    Z: int32[N]
    _fwd(A, Y)
    _bwd(Y, Z)
    return Z


def test_streamed_buffer_read_in_another_order_is_rejected():
    s = dsl.customize(_reordering)
    s.to(s.Y, "_bwd", depth=2)
    with pytest.raises(dsl.StreamError, match="do not walk it in the same order"):
        dsl.build(s, target="sim")
