"""Dataflow roll-up of the QoR estimator: interval, latency with FIFO fill, regions in sequence, and the
designs of tests/dataflow_designs.py (dsl.region and s.to/s.dataflow alike)."""
import dsl
from dsl import int32
from dsl.qor import estimate

from .dataflow_designs import diamond, producer_consumer, systolic_gemm

N = 64


def three_stage():
    @dsl.region()
    def three(A: int32[N], B: int32[N]):
        p1: dsl.Stream[int32, 4]
        p2: dsl.Stream[int32, 4]

        @dsl.kernel(mapping=[1])
        def load(A: int32[N]):
            for i in range(N):
                p1.put(A[i])

        @dsl.kernel(mapping=[1])
        def mid():
            for i in range(N):
                p2.put(p1.get() + 1)

        @dsl.kernel(mapping=[1])
        def store(B: int32[N]):
            for i in range(N):
                B[i] = p2.get()

    return three


def test_three_stage_pipeline_interval_and_latency():
    r = estimate(dsl.customize(three_stage()))
    region = r.regions["three"]
    p = {x.name: x for x in region.processes}
    # load: the m_axi read (64 cycles) then the put: depth 65; 64 iterations at II 1: 63 + 65 = 128, plus
    # the function's own state: 129. Its first put is at cycle 64, its last at 63 + 64 = 127.
    assert p["load"].latency == 129
    # mid: the get (1 cycle), the add and the put chained in that cycle: depth 2, 63 + 2 + 1 = 66
    assert p["mid"].latency == 66 and p["store"].latency == 66
    # mid starts when the first token is readable: 64 (first put) + 1 (FIFO read latency) = 65; it cannot
    # finish before 65 + 66 = 131, nor before load's last put (127) + 1 + the 3 cycles after its last get
    assert (p["mid"].start, p["mid"].finish) == (65, 131)
    # store: mid's first put is at cycle 1 of mid: 65 + 1 + 1 = 67; 67 + 66 = 133
    assert (p["store"].start, p["store"].finish) == (67, 133)
    assert region.latency == 134 and r.latency == 134
    # the region takes a new input when its slowest process can: load's interval, latency + 1
    assert region.interval == 130 and region.bottleneck == "load"
    assert region.critical == ["load", "mid", "store"]
    assert [(s.name, s.depth, s.producer, s.consumer) for s in region.streams] == [
        ("p1", 4, "load", "mid"), ("p2", 4, "mid", "store")]


def test_streaming_overlaps_processes():
    r = estimate(dsl.customize(producer_consumer(256)))
    region = r.regions["pc"]
    total = sum(x.latency for x in region.processes)
    assert region.latency < 0.7 * total  # the consumer runs while the producer produces


_M = 32


def _inc(A: int32[_M], Y: int32[_M]):
    for i in range(_M, name="inc"):
        Y[i] = A[i] + 1


def _dbl(Y: int32[_M], Z: int32[_M]):
    for i in range(_M, name="dbl"):
        Z[i] = Y[i] * 2


def _region(A: int32[_M], Z: int32[_M]):
    Y: int32[_M]
    _inc(A, Y)
    _dbl(Y, Z)


def _twice(A: int32[_M], Z: int32[_M]):
    T: int32[_M]
    _region(A, T)
    _region(T, Z)


def test_regions_called_one_after_another_add_up():
    s = dsl.customize(_twice)
    s.to("_region:Y", "_dbl", depth=4)
    s.dataflow("_region")
    r = estimate(s)
    # the two calls get different memories (m_axi A and a local T; then T and m_axi Z): two instances
    first, second = r.regions["_region"], r.regions["_region#1"]
    assert len(first.processes) == 2 and first.latency > second.latency  # the first reads A over m_axi
    call = 1  # the ap_start/ap_done handshake of each call
    assert r.functions["_twice"].latency == first.latency + second.latency + 2 * call + 1


def test_to_without_dataflow_runs_kernels_in_sequence():
    s = dsl.customize(_twice)
    r = estimate(s)  # no dataflow: _region runs _inc then _dbl
    inc, dbl = r.functions["_inc"], r.functions["_dbl"]
    assert r.functions["_region"].calls == ["_inc", "_dbl"]
    assert r.functions["_region"].latency == inc.latency + dbl.latency + 2 + 1


def test_systolic_array_region():
    r = estimate(dsl.customize(systolic_gemm(16, 16, 32, 4, 4)))
    region = r.regions["gemm"]
    assert len(region.processes) == 2 + 16 + 1 + 4 + 4
    assert region.interval == max(x.interval for x in region.processes)
    # load_a reads 4 elements of A (one per row) from one m_axi bundle per k: II 4
    load_a = next(l for k, l in r.loops.items() if k.startswith("load_a:"))
    assert load_a.ii == 4 and "reads of A" in load_a.ii_reason


def test_diamond_region_estimates():
    r = estimate(dsl.customize(diamond(16, 16)))
    assert r.regions["dia"].critical[-1] == "sink"


def test_a_process_works_before_its_first_read_while_it_waits():
    """Vitis starts a region's processes together: a consumer that loads a table (64 cycles) before its first
    read of the FIFO does so while the producer fills it, so only the rest of its work waits for the token
    (its effective start is the token's arrival less those cycles); before, the whole process waited."""
    @dsl.region()
    def prep(A: int32[N], C: int32[N], B: int32[N]):
        p1: dsl.Stream[int32, 4]

        @dsl.kernel(mapping=[1])
        def load(A: int32[N]):
            for i in range(N):
                p1.put(A[i])

        @dsl.kernel(mapping=[1])
        def use(C: int32[N], B: int32[N]):
            table: int32[N]
            for j in range(N):
                table[j] = C[j]
            for i in range(N):
                B[i] = p1.get() + table[i]

    r = estimate(dsl.customize(prep))
    p = {x.name: x for x in r.regions["prep"].processes}
    arrival = 65  # load's first put (cycle 64) + the FIFO's read latency
    assert p["use"].start < arrival - 60  # its table load overlaps the wait
    assert r.latency < p["load"].latency + p["use"].latency  # not one after the other


def test_a_held_up_producer_writes_its_last_token_late():
    """Regression: a process its input holds up (mid, behind a producer with a float recurrence) finished late,
    but its consumer was timed from mid's start plus mid's own last write, so it "finished" before mid did."""
    from dsl import float32

    @dsl.region()
    def held(A: float32[N], B: float32[N]):
        p1: dsl.Stream[float32, 4]
        p2: dsl.Stream[float32, 4]

        @dsl.kernel(mapping=[1])
        def slow(A: float32[N]):
            acc: float32 = 0.0
            for i in range(N):
                acc = acc * 0.5 + A[i]  # a float recurrence: II of the fmul + fadd latency
                p1.put(acc)

        @dsl.kernel(mapping=[1])
        def mid():
            for i in range(N):
                p2.put(p1.get() + 1.0)

        @dsl.kernel(mapping=[1])
        def store(B: float32[N]):
            for i in range(N):
                B[i] = p2.get()

    r = estimate(dsl.customize(held))
    p = {x.name: x for x in r.regions["held"].processes}
    assert p["slow"].latency > 4 * N  # the recurrence makes it slow
    assert p["mid"].finish > p["mid"].start + p["mid"].latency  # held up by slow
    assert p["store"].finish > p["mid"].finish  # its last read comes after mid's last write
    assert r.latency > p["mid"].finish


def sync_stage():
    """load streams N tokens at II 2 (two reads of A a token on one m_axi read channel); mid keeps all of
    them (a local buffer) and only then writes: a synchronisation point, as Q·Kᵀ takes every key row before
    its first score row."""
    @dsl.region()
    def sync(A: int32[N], B: int32[N]):
        p1: dsl.Stream[int32, 4]
        p2: dsl.Stream[int32, 4]

        @dsl.kernel(mapping=[1])
        def load(A: int32[N]):
            for i in range(N):
                p1.put(A[i] + A[N - 1 - i])

        @dsl.kernel(mapping=[1])
        def mid():
            buf: int32[N]
            for i in range(N, name="take"):
                buf[i] = p1.get()
            for i in range(N, name="give"):
                p2.put(buf[i] + 1)

        @dsl.kernel(mapping=[1])
        def store(B: int32[N]):
            for i in range(N):
                B[i] = p2.get()

    return sync


def test_a_synchronisation_point_holds_back_the_first_write():
    r = estimate(dsl.customize(sync_stage()))
    p = {x.name: x for x in r.regions["sync"].processes}
    # load: 64 iterations at II 2, depth 65: 63 x 2 + 65 + 1 = 192; first put at 64, last at 2 x 63 + 64 = 190
    assert (p["load"].latency, p["load"].start) == (192, 0)
    # mid: take (63 + 2) then give (63 + 2), + 1: 131; its first get at cycle 0, its last at 63, its first put
    # at 65 + 1 = 66. It starts with the first token (64 + 1) and cannot finish before load's last token
    # (190 + 1) plus the 131 - 63 = 68 cycles after its last get: 259
    assert (p["mid"].latency, p["mid"].start, p["mid"].finish) == (131, 65, 259)
    # its first put comes after its last get: it leaves no earlier than load's last token (191) plus the
    # 66 - 63 = 3 cycles between the two, 194; store's first get (cycle 0) reads it 1 cycle later: 195
    # (without the synchronisation point: mid's start + its first put + 1 = 132, before load had finished)
    assert (p["store"].start, p["store"].finish) == (195, 261)
    assert r.regions["sync"].critical == ["load", "mid", "store"]
