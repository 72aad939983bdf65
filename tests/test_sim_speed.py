"""What makes a layer called once per token cheap on the simulator, without making it more forgiving: one
set up reused by every call (FIFOs, stacks, descriptors), no poll in nests that end soon, bit fields of
wide words read from one limb."""
import re

import numpy as np
import pytest

import dsl
from dsl import UInt, int4, int8, int32
from dsl.dataflow.lower import POLL, lowered_module

from .dataflow_designs import diamond, producer_consumer

N = 8
RNG = np.random.default_rng(11)


def test_repeated_calls_reuse_one_setup_with_fresh_fifos():
    sim = dsl.build(producer_consumer(32), target="sim")
    for call in range(3):
        A = RNG.integers(-1000, 1000, 32).astype(np.int32)
        B = np.zeros(32, np.int32)
        sim(A, B)
        np.testing.assert_array_equal(B, (A + 1) * 2)
        stats = sim.stats["pipe"]
        assert stats["tokens"] == 32 and stats["left"] == 0 and stats["max_occupancy"] <= stats["depth"] == 4
    assert sim._prepared.runs == 3  # one simulation set up, reset twice


@dsl.region()
def scaled(A: int32[N], k: int32, B: int32[N]):
    pipe: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N], k: int32):
        for i in range(N):
            pipe.put(A[i] * k)

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        for i in range(N):
            B[i] = pipe.get()


def test_each_call_binds_its_own_arrays_and_scalars():
    sim = dsl.build(scaled, target="sim")
    for k in (3, -7, 0):
        A = RNG.integers(-100, 100, N).astype(np.int32)
        B = np.full(N, 99, np.int32)
        sim(A, k, B)
        np.testing.assert_array_equal(B, A * k)


def test_a_deadlock_is_found_on_every_call_of_a_reused_setup():
    A = np.arange(N, dtype=np.int32)
    sim = dsl.build(diamond(N, short_depth=2), target="sim")
    for _ in range(2):  # the second call runs on the reset simulation: still depth 2, still a deadlock
        with pytest.raises(dsl.DeadlockError) as info:
            sim(A, np.zeros(N, np.int32))
        assert "stream 'short' (full: depth 2, occupancy 2" in str(info.value)
        assert info.value.suggested_depths == {"short": N - 1}
    good = dsl.build(diamond(N, short_depth=N - 1), target="sim")
    for _ in range(2):
        B = np.zeros(N, np.int32)
        good(A, B)
        np.testing.assert_array_equal(B, A + A[::-1])


@dsl.region()
def nests(A: int32[N], B: int32[N]):
    pipe: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        acc: int32[N]
        for i in range(4):  # a constant nest: known to end within the budget, no poll
            for j in range(N):
                acc[j] = acc[j] + A[j] if i > 0 else A[j]
        for j2 in range(N):
            pipe.put(acc[j2])

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        n: int32 = 0
        while n < N:  # a while loop may run forever: it polls
            B[n] = pipe.get()
            n = n + 1


def _polls(region) -> int:
    s = dsl.customize(region)
    with s.context:
        module, _ = lowered_module(s)
    return str(module).count(f"llvm.call @{POLL}(")


def test_only_loops_that_may_run_long_poll():
    assert _polls(nests) == 1  # the while loop's; the constant nest had one per outer iteration
    B = np.zeros(N, np.int32)
    A = np.arange(N, dtype=np.int32)
    dsl.build(nests, target="sim")(A, B)
    np.testing.assert_array_equal(B, 4 * A)


W = 256


@dsl.region()
def fields(Wp: "UInt(W)[4]", Y4: "int4[4, 64]", Y8: "int8[4, 32]"):
    s4: dsl.Stream[int4[64], 2]
    s8: dsl.Stream[int8[32], 2]

    @dsl.kernel(mapping=[1])
    def unpack(Wp: "UInt(W)[4]"):
        b4: int4[64]
        b8: int8[32]
        for w in range(4):
            word: UInt(W) = Wp[w]  # a copy of an array element: its fields are read from the element's bytes
            with dsl.meta_for(64) as p:
                b4[p] = int4(word[p * 4:(p + 1) * 4])
            mixed: UInt(W) = word ^ Wp[(w + 1) % 4]  # computed: its fields come from its limbs
            with dsl.meta_for(31) as q:  # 8-bit fields at odd offsets: some cross a 64-bit limb
                b8[q] = int8(mixed[q * 8 + 3:q * 8 + 11])
            b8[31] = int8(mixed[248:256])
            s4.put(b4)
            s8.put(b8)

    @dsl.kernel(mapping=[1])
    def sink(Y4: "int4[4, 64]", Y8: "int8[4, 32]"):
        for w in range(4):
            c4: int4[64] = s4.get()
            c8: int8[32] = s8.get()
            for j in range(64):
                Y4[w, j] = c4[j]
            for j2 in range(32):
                Y8[w, j2] = c8[j2]


def _bits(value: int, lo: int, width: int) -> int:
    v = (value >> lo) & ((1 << width) - 1)
    return v - (1 << width) if v >> (width - 1) else v


def test_fields_of_a_wide_word_are_read_from_limbs_exactly():
    s = dsl.customize(fields)
    with s.context:
        module, _ = lowered_module(s)
    text = str(module)
    # no 256-bit shift left for the 64 nibbles (byte loads) nor for the 8-bit fields inside a limb
    assert len(re.findall(r"llvm.load %\S+ {alignment = 1 : i64} : !llvm.ptr -> i8", text)) >= 64
    assert text.count("llvm.extractelement") >= 24
    words = [int.from_bytes(RNG.integers(0, 256, W // 8, dtype=np.uint8).tobytes(), "little") for _ in range(4)]
    Wp = np.empty(4, dtype=object)
    Wp[:] = words
    Y4, Y8 = np.zeros((4, 64), np.int8), np.zeros((4, 32), np.int8)
    dsl.build(s, target="sim")(Wp, Y4, Y8)
    for w, value in enumerate(words):
        mixed = value ^ words[(w + 1) % 4]
        assert Y4[w].tolist() == [_bits(value, 4 * p, 4) for p in range(64)]
        assert Y8[w].tolist() == [_bits(mixed, 8 * q + 3, 8) for q in range(31)] + [_bits(mixed, 248, 8)]


# -- the call boundary: inputs the design only reads are not copied --------------------------------------

@dsl.region()
def stuck(A: int32[N], B: int32[N]):
    first: dsl.Stream[int32, 2]
    second: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        for i in range(N):  # N > 2 tokens into a FIFO of 2 nobody reads yet: blocks
            first.put(A[i])
        for i2 in range(N):
            second.put(A[i2])

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        B[0] = 5  # written before the deadlock
        for i in range(N):
            B[i] = second.get() + first.get()


def _bound_addresses(sim) -> set:
    return {desc.aligned for desc, _ in sim._prepared.memrefs}


def test_an_input_the_design_only_reads_is_the_callers_array_and_a_written_one_a_copy():
    sim = dsl.build(scaled, target="sim")
    assert sim.sig.written == {"B"}
    A, B = RNG.integers(-100, 100, N).astype(np.int32), np.zeros(N, np.int32)
    sim(A, 3, B)
    np.testing.assert_array_equal(B, A * 3)  # B written back into the caller's array
    assert A.ctypes.data in _bound_addresses(sim) and B.ctypes.data not in _bound_addresses(sim)
    A64 = A.astype(np.int64)  # not its storage form (int32): converted, so a copy, with the same result
    sim(A64, 2, B)
    np.testing.assert_array_equal(B, A * 2)
    assert A64.ctypes.data not in _bound_addresses(sim)


def test_a_design_that_stops_half_way_leaves_the_callers_written_arrays_as_they_were():
    sim = dsl.build(stuck, target="sim")
    A, B = np.arange(N, dtype=np.int32), np.full(N, -1, np.int32)
    with pytest.raises(dsl.DeadlockError):
        sim(A, B)
    assert B.tolist() == [-1] * N and A.tolist() == list(range(N))
