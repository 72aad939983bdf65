"""Hand-checked cases for each rule of the QoR estimator (dsl.estimate), one rule per test.

Figures come from the tables in dsl/qor/tables/ultrascale_plus.yaml at the clock each test names; each test
says how the expected number follows from the rule (see dsl/qor/README.md for the rules and their sources).
"""
import pytest

import dsl
from dsl import Int, float32, int4, int8, int32
from dsl.qor import EstimateError, estimate
from dsl.qor import memory as M
from dsl.qor.tables import load_tables


# -- II from a loop-carried float recurrence ---------------------------------------------------------
def row_sum(A: float32[64, 32]) -> float32[64]:
    out: float32[64] = 0.0
    for i in range(64, name="rows"):
        s: float32 = 0.0
        for k in range(32, name="acc"):
            s += A[i, k]
        out[i] = s
    return out


def row_sum_int(A: int32[64, 32]) -> int32[64]:
    out: int32[64] = 0
    for i in range(64, name="rows"):
        s: int32 = 0
        for k in range(32, name="acc"):
            s += A[i, k]
        out[i] = s
    return out


@pytest.mark.parametrize("clock, fadd", [(300, 4), (100, 3)])
def test_float_accumulation_carries_the_fadd_latency(clock, fadd):
    # The inner loop is pipelined by Vitis's default; s is a register: each iteration's fadd needs the
    # previous one's result, so II = fadd latency (4 cycles at 300 MHz, 3 at 100 MHz in the table).
    r = estimate(dsl.customize(row_sum), clock_mhz=clock)
    loop = r.loops["acc:k"]
    assert loop.pipelined and loop.auto and loop.ii_target == 1
    assert loop.ii == fadd
    assert "through s" in loop.ii_reason and f"fadd latency {fadd}" in loop.ii_reason
    assert loop.latency == (32 - 1) * fadd + loop.depth  # latency = (trip - 1) * II + depth


def test_integer_accumulation_reaches_ii_1():
    r = estimate(dsl.customize(row_sum_int))
    assert r.loops["acc:k"].ii == 1 and r.loops["acc:k"].ii_reason == ""


def test_sequential_outer_loop_latency_is_trip_times_iteration():
    r = estimate(dsl.customize(row_sum))
    outer, inner = r.loops["rows:i"], r.loops["acc:k"]
    assert not outer.pipelined and outer.trip == 64
    assert outer.depth > inner.latency  # the iteration: init, the inner loop, the store, the exit test
    assert outer.latency == 64 * outer.depth


# -- II from memory ports, before and after partitioning ------------------------------------------
def col_sum(A: float32[32, 16]) -> float32[16]:
    B: float32[32, 16] = 0.0
    for i, j in dsl.grid(32, 16, name="copy"):
        B[i, j] = A[i, j]
    out: float32[16] = 0.0
    for j in range(16, name="cols"):
        acc: float32 = 0.0
        for i in range(32, name="red"):
            acc = acc + B[i, j]
        out[j] = acc
    return out


@pytest.mark.parametrize("partition, ii", [
    (None, 16),                                    # 32 reads of B on one dual-port RAM: 32 / 2
    ((dsl.Partition.Cyclic, 1, 4), 4),              # rows i % 4 in 4 banks: 8 reads per bank / 2
    ((dsl.Partition.Block, 1, 4), 4),               # rows i // 8 in 4 banks: 8 reads per bank / 2
    ((dsl.Partition.Cyclic, 1, 16), 1),             # 2 reads per bank / 2 ports
    ((dsl.Partition.Complete, 1, 0), 1),            # one bank per row
])
def test_ports_limit_ii_until_the_buffer_is_partitioned(partition, ii):
    # pipelining cols:j unrolls red:i: 32 reads of B per iteration, on the 2 ports of each bank. The adder
    # tree is no recurrence (acc is rebuilt each iteration).
    s = dsl.customize(col_sum)
    s.pipeline("cols:j")
    if partition:
        kind, dim, factor = partition
        s.partition(s.B, kind, dim=dim, factor=factor)
    loop = estimate(s).loops["cols:j"]
    assert loop.ii == ii
    if ii > 1:
        assert "32 reads of B per iteration on 2 port(s) per bank" in loop.ii_reason


def test_partitioning_the_wrong_dimension_does_not_help():
    s = dsl.customize(col_sum)
    s.pipeline("cols:j")
    s.partition(s.B, dsl.Partition.Cyclic, dim=2, factor=4)  # j is the pipelined loop: every read is in one bank
    assert estimate(s).loops["cols:j"].ii == 16


# -- II from m_axi bundles --------------------------------------------------------------------------
def gemm(A: int8[64, 32], B: int8[32, 16]) -> int32[64, 16]:
    C: int32[64, 16] = 0
    for i, j in dsl.grid(64, 16):
        for k in dsl.reduction(32):
            C[i, j] += A[i, k] * B[k, j]
    return C


def test_each_m_axi_bundle_gives_one_read_per_cycle():
    s = dsl.customize(gemm)
    s.pipeline("j")  # k unrolled: 32 reads of A (bundle gmem0) and of B (gmem1) per iteration
    r = estimate(s)
    loop = r.loops["S_i_j_k_0:j"]
    assert loop.ii == 32
    # B[k, j] for the 32 k: 16 bytes apart, not consecutive: one beat each (no widening)
    assert "32 reads of B per iteration on one read channel (bundle gmem1)" in loop.ii_reason
    # A[i, k] for the 32 k: 32 consecutive bytes at a 32-byte aligned row: one 512-bit beat once Vitis widens
    # the port (UG1399, automatic port widening), so A does not bind
    assert not [l for l in loop.limits if l.what == "A" and l.kind == "m_axi"]
    assert "reads of A" not in loop.ii_reason
    assert loop.flattened == ["S_i_j_k_0:i"] and loop.trip == 64 * 16  # the perfect nest i, j is flattened
    assert r.loops["S_i_j_k_0:k"].mode == "unrolled"
    # C[i, j] is read once and written once per iteration: the 32 updates are forwarded in registers
    assert not any("of C" in limit.reason for limit in loop.limits)


def _copy_rows(A: float32[8, 1024]) -> float32[8, 1024]:
    B: float32[8, 1024] = 0.0
    for i in range(8, name="r"):
        for j in range(1024, name="c"):
            B[i, j] = A[i, j]
    return B


def _copy_odd(A: float32[8, 1000]) -> float32[8, 1000]:
    B: float32[8, 1000] = 0.0
    for i in range(8, name="r"):
        for j in range(1000, name="c"):
            B[i, j] = A[i, j]
    return B


@pytest.mark.parametrize("func, factor, beats", [
    (_copy_rows, 16, 1),   # 16 consecutive floats at a multiple of 16: one 512-bit word
    (_copy_rows, 8, 1),    # 8 at a multiple of 8: always inside one word
    (_copy_rows, 32, 2),   # 32 floats: two words
    (_copy_odd, 16, 2),    # rows of 1000 floats: a row starts at a multiple of 8, so 16 floats may span two
])
def test_port_widening_joins_consecutive_accesses(func, factor, beats):
    """UG1399's automatic port widening (max_widen_bitwidth 512 in the Vitis flow): an unrolled copy's
    consecutive accesses take the beats of the 512-bit words they cover at the worst alignment."""
    s = dsl.customize(func)
    s.pipeline("c")
    s.unroll("c", factor)
    loop = estimate(s, clock_mhz=100).loops["c:j"]  # at 100 MHz a channel gives 978 bits a cycle
    m_axi = {l.what: l for l in loop.limits if l.kind == "m_axi"}
    if beats == 1:
        assert "A" not in m_axi and loop.ii == 1
    else:
        assert m_axi["A"].ii == beats and m_axi["B"].ii == beats
        assert f"{factor} accesses in {beats} beat(s)" in m_axi["A"].reason


def test_port_widening_takes_each_run_of_consecutive_addresses():
    """Two rows of a [2, 1024] parameter array read together (a scale and a bias): two runs of 16
    consecutive floats, one 512-bit word each: 2 beats, where 32 accesses took 32."""
    def scale_bias(D: float32[2, 1024], X: float32[1024]) -> float32[1024]:
        Y: float32[1024] = 0.0
        for j in range(1024, name="c"):
            Y[j] = X[j] * D[0, j] + D[1, j]
        return Y

    s = dsl.customize(scale_bias)
    s.pipeline("c")
    s.unroll("c", 16)
    loop = estimate(s, clock_mhz=100).loops["c:j"]
    d = next(l for l in loop.limits if l.what == "D" and l.kind == "m_axi")
    assert d.ii == 2 and "32 accesses in 2 beat(s)" in d.reason


def test_port_widening_needs_a_power_of_two_width():
    from dsl import Int

    def copy24(A: Int(24)[64]) -> Int(24)[64]:
        B: Int(24)[64] = 0
        for i in range(64, name="c"):
            B[i] = A[i]
        return B

    s = dsl.customize(copy24)
    s.pipeline("c")
    s.unroll("c", 4)
    assert estimate(s, clock_mhz=100).loops["c:i"].ii == 4  # a 24-bit element is not widened: a beat each


def test_innermost_loop_is_pipelined_by_default():
    r = estimate(dsl.customize(gemm))
    k = r.loops["S_i_j_k_0:k"]
    assert k.pipelined and k.auto
    assert k.flattened == ["S_i_j_k_0:i", "S_i_j_k_0:j"] and k.trip == 64 * 16 * 32  # the perfect nest
    # C[i, j] on m_axi is read and written in every k iteration: a dependence through the port
    assert k.ii > 60 and "through C (m_axi bundle gmem2)" in k.ii_reason


def test_bandwidth_of_the_bundles_channels():
    def copy(A: Int(512)[256]) -> Int(512)[256]:
        B: Int(512)[256] = 0
        for i in range(256, name="c"):
            B[i] = A[i]
        return B

    # 512 bits per cycle on one HBM pseudo-channel (460/32 GB/s x 0.85 = 326 bits per cycle at 300 MHz)
    r1 = estimate(dsl.customize(copy))
    assert r1.loops["c:i"].ii == 2 and "bandwidth" in r1.loops["c:i"].limits[0].kind
    r2 = estimate(dsl.customize(copy), hbm={"A": "0:1", "B": "2:3"})  # two channels each: 652 bits per cycle
    assert r2.loops["c:i"].ii == 1


# -- unrolling ----------------------------------------------------------------------------------------
def scale(A: float32[64]) -> float32[64]:
    B: float32[64] = 0.0
    C: float32[64] = 0.0
    D: float32[64] = 0.0
    for i in range(64, name="ld"):
        B[i] = A[i]
    for i in range(64, name="mul"):
        C[i] = B[i] * 3.0
    for i in range(64, name="st"):
        D[i] = C[i]
    return D


def test_unroll_divides_the_trip_count_and_replicates_the_body():
    s = dsl.customize(scale)
    base = estimate(s)
    s.unroll("mul:i", 4)
    s.partition(s.B, dsl.Partition.Cyclic, dim=1, factor=4)
    s.partition(s.C, dsl.Partition.Cyclic, dim=1, factor=4)
    r = estimate(s)
    loop = r.loops["mul:i"]
    assert loop.trip == 16 and loop.unroll == 4
    # four fmul copies (3 DSP each) instead of one, at II 1: B and C give four banks
    assert r.functions["scale"].resources["DSP"] == base.functions["scale"].resources["DSP"] + 3 * 3
    assert loop.ii == 1
    assert loop.latency == (16 - 1) * 1 + loop.depth
    s2 = dsl.customize(scale)
    s2.unroll("mul:i", 4)
    s2.partition(s2.B, dsl.Partition.Cyclic, dim=1, factor=4)
    loop2 = estimate(s2).loops["mul:i"]
    assert loop2.ii == 2 and "4 writes of C per iteration on 2 port(s) per bank" in loop2.ii_reason


def test_full_unroll_removes_the_loop():
    s = dsl.customize(scale)
    s.unroll("mul:i", 0)
    r = estimate(s)
    assert r.loops["mul:i"].mode == "unrolled"


# -- DSP count by operand width -------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, keep, dsp", [
    (8, 8, 16, 1), (16, 16, 32, 1), (27, 18, 45, 1), (18, 27, 45, 1),  # one 27x18 slice
    (4, 4, 8, 0), (5, 5, 10, 0),                    # small products stay in LUTs
    (32, 32, 32, 3),                                 # 2x2 tiles of 26x17, the top one above bit 32 dropped
    (32, 32, 64, 4),
    (28, 18, 46, 2),
])
def test_dsp_count_by_width(a, b, keep, dsp):
    assert load_tables("ultrascale_plus", 300).dsp_count(a, b, keep) == dsp


def mul32(A: int32[64], B: int32[64]) -> int32[64]:
    C: int32[64] = 0
    for i in range(64, name="m"):
        C[i] = A[i] * B[i]
    return C


def mul8(A: int8[64], B: int8[64]) -> int32[64]:
    C: int32[64] = 0
    for i in range(64, name="m"):
        C[i] = A[i] * B[i]
    return C


def packed(A: int8[64], W0: int4[64], W1: int4[64]) -> int32[128]:
    C: int32[128] = 0
    for i in range(64, name="m"):
        w: Int(27) = (Int(27)(W1[i]) << 18) + W0[i]   # two int4 weights in the 27-bit port
        p: Int(45) = w * A[i]                  # one 27x18 product holds both
        lo: Int(18) = p[0:18]
        C[2 * i] = lo
        C[2 * i + 1] = (p >> 18) + p[17]       # the upper product, sign-corrected
    return C


def test_dsp_count_of_kernels():
    assert estimate(dsl.customize(mul8)).resources["DSP"].used == 1
    # int32 x int32 kept to 32 bits: three slices
    assert estimate(dsl.customize(mul32)).resources["DSP"].used == 3
    # a packed int4 x int8 pair: one multiply of 27 x 9 bits, one DSP
    assert estimate(dsl.customize(packed)).resources["DSP"].used == 1


# -- BRAM count by size, width and partitioning ---------------------------------------------------------
T = load_tables("ultrascale_plus", 300)


@pytest.mark.parametrize("bits, shape, partition, bram", [
    (32, (1024,), [], 2),                # 1024 x 32: two 18x1K (or 36x512) blocks
    (32, (512,), [], 1),                 # 512 x 36
    (8, (4096,), [], 2),                 # 4096 x 8: two 4x4K (or 9x2K)
    (8, (4096,), [("cyclic", 1, 4)], 4),  # four banks of 1024 x 8: one 9x2K each
    (64, (512,), [], 2),                 # 64 bits wide: two 36x512
    (32, (16,), [], 0),                  # 512 bits: LUTRAM
    (32, (64, 64), [("complete", 1, 0)], 64),  # 64 banks of 64 x 32 (2048 bits: above LUTRAM) -> 64 BRAM
    (18, (1024,), [], 1),
])
def test_bram_count(bits, shape, partition, bram):
    mem = M.Memory("ram", "X", bits, shape, partition)
    assert M.ram_cost(mem, T).bram18k == bram


def test_uram_by_size():
    mem = M.Memory("ram", "X", 32, (8192,), [], ("ram_2p", "uram"))
    assert M.ram_cost(mem, T).uram == 2  # 72 x 4096 per block: two blocks of depth


def test_buffers_of_a_kernel_are_counted():
    s = dsl.customize(col_sum)
    r = estimate(s)
    b = next(x for x in r.buffers if x.name == "B")
    assert b.bram18k == 1 and b.kind == "ram"     # 512 x 32 bits
    s.partition(s.B, dsl.Partition.Cyclic, dim=1, factor=4)
    b = next(x for x in estimate(s).buffers if x.name == "B")
    assert b.banks == 4 and b.bram18k == 4  # 128 x 32 = 4096 bits per bank: above LUTRAM, one 36x512 each


def test_unknown_device_and_bad_clock():
    with pytest.raises(EstimateError, match="unknown device"):
        estimate(dsl.customize(gemm), device="u999")
    with pytest.raises(EstimateError, match="clock_mhz"):
        estimate(dsl.customize(gemm), clock_mhz=0)
    with pytest.raises(dsl.DSLError):
        dsl.estimate(dsl.customize(gemm), clock_mhz="fast")


# -- partitioned top-level arrays: the on-chip copy the HLS backend writes ----------------------------------
def col_sum_port(A: float32[32, 16]) -> float32[16]:
    out: float32[16] = 0.0
    for j in range(16, name="cols"):
        acc: float32 = 0.0
        for i in range(32, name="red"):
            acc = acc + A[i, j]
        out[j] = acc
    return out


def test_partitioned_port_is_copied_on_chip():
    s = dsl.customize(col_sum_port)
    s.pipeline("cols:j")
    assert estimate(s).loops["cols:j"].ii == 32  # 32 reads of A on its m_axi read channel
    s.partition(s.A, dsl.Partition.Cyclic, dim=1, factor=16)
    assert "A_local" in str(dsl.build(s, target="vhls"))  # what the emitter writes (HLS 214-126)
    r = estimate(s)
    assert r.loops["cols:j"].ii == 1  # two reads per bank of the copy, two ports
    copy = r.loops["l_load_A"]
    assert copy.trip == 512 and copy.ii == 1 and copy.latency == 511 + 65  # a burst: the m_axi latency once
    assert "l_store_A" not in r.loops  # A is only read
    local = next(b for b in r.buffers if b.name == "A_local")
    assert local.banks == 16
    assert r.latency >= copy.latency + r.loops["cols:j"].latency


# -- float conversions --------------------------------------------------------------------------------
def widen_select(A: float32[16]) -> float32[16]:
    out: float32[16] = 0.0
    for i in range(16, name="rows"):
        out[i] = A[i] / 2.0 if A[i] > 0.0 else 1.0  # the conditional expression is typed float64
    return out


def test_a_float_widening_is_one_fpext_at_any_width():
    # Regression: an f32 -> f64 extension (arith.extf) was looked up as 'dpext' (the f64 prefix applied
    # to a conversion) and the estimate failed; a conversion keeps its own table entry.
    r = estimate(dsl.customize(widen_select), clock_mhz=300)
    assert r.loops["rows:i"].trip == 16 and r.latency > 16


# -- a divide by a power of two is a shift, through the sign extensions of the frontend ----------------
def div_by_32(A: int32[8], n: int32):
    A[0] = (n // 32) * 32


def div_by_24(A: int32[8], n: int32):
    A[0] = (n // 24) * 24


def test_a_divide_by_a_power_of_two_is_a_shift():
    # the frontend divides i33 extensions of n and of the constant (floor division without overflow);
    # 32 is still a power of two: a shift, no divider. By 24, the radix-2 divider of the idiv row:
    # 33 bits + 3 = 36 cycles. The multiply back is by trunci(32 : i33) / trunci(24 : i33): seen through
    # the cast, * 32 is a shift (no DSP, no cycle) and * 24 a 32 x 6-bit DSP multiply (3 cycles at 300 MHz,
    # the imul_dsp row; 2 slices: the 32-bit operand is wider than the 27-bit port, 6 bits fit the 18-bit
    # one). The difference between the two kernels is the divider and that multiply.
    fast, slow = estimate(dsl.customize(div_by_32)), estimate(dsl.customize(div_by_24))
    assert slow.latency - fast.latency == (33 + 3) + 3
    assert fast.resources["DSP"].used == 0 and slow.resources["DSP"].used == 2


# -- loop_tripcount for loops with run-time bounds ----------------------------------------------------
def _run_time_sum(A: int32[256], n: int32) -> int32:
    s: int32 = 0
    for i in range(n, name="acc"):
        s += A[i]
    return s


def _counted_while(n: int32) -> int32:
    m: int32 = 0
    while m < n:
        dsl.loop_tripcount(100, avg=10)
        m += 1
    return m


def test_loop_tripcount_counts_a_loop_with_a_run_time_bound():
    """UG1399 (pragma HLS loop_tripcount): Vitis reports a loop whose bound is a run-time value by the
    counts the user gives; the estimate takes their average (``s.tripcount`` / ``dsl.loop_tripcount``)."""
    plain = estimate(dsl.customize(_run_time_sum)).loops["acc:i"]
    assert plain.trip is None  # unknown: counted as one iteration, with a note
    s = dsl.customize(_run_time_sum)
    s.tripcount("acc", max=200, min=0, avg=100)
    loop = estimate(s).loops["acc:i"]
    # an integer sum at II 1: (100 - 1) x 1 + depth
    assert loop.trip == 100 and loop.ii == 1 and loop.latency == 99 + loop.depth
    # the estimate's own tripcount argument (a per-call figure) still comes first
    assert estimate(s, tripcount={"acc:i": 7}).loops["acc:i"].trip == 7


def test_loop_tripcount_repeats_a_while_loops_body():
    counted = estimate(dsl.customize(_counted_while))
    once = estimate(dsl.customize(plain_counter))
    # the body (the compare and the add, chained in one cycle) 10 times, against once without a count
    assert counted.latency - once.latency == 9
    assert any("while loop has no trip count" in n for n in once.notes)
    assert not any("while loop has no trip count" in n for n in counted.notes)


def plain_counter(n: int32) -> int32:
    m: int32 = 0
    while m < n:
        m += 1
    return m
