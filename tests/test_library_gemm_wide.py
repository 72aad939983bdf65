"""``systolic.gemm_wide``: the memory-to-memory systolic GEMM fed from wide m_axi words (issue 10 part 3,
issue 12 part 4: the paper's 16 x 16 int8 HLS kernel, 15.73 ms / 256 DSP / 0 BRAM at BERT's FFN1). Bit-exact
on the CPU and in csim, its layout helpers, its errors, its emitted pragmas and its estimate term by term."""
import numpy as np
import pytest

import dsl
from dsl import int4, int8, int32
from dsl.library import ref, scheduled, systolic

RNG = np.random.default_rng(5)


def operands(ta, tb, m, k, n):
    lo_a, lo_b = -(1 << (ta.bits - 1)), -(1 << (tb.bits - 1))
    return (RNG.integers(lo_a, -lo_a, (m, k)).astype(np.int8), RNG.integers(lo_b, -lo_b, (k, n)).astype(np.int8))


def test_layout_round_trip_and_b_is_its_own_row_major_memory():
    A, B = operands(int8, int8, 8, 32, 48)
    Ap, Bp = systolic.pack_a_tiles(A, 8, 4), systolic.pack_b_rows(B, 8, 16)
    assert Ap.shape == (2, 32) and Bp.shape == (32, 3)
    assert np.array_equal(systolic.unpack_a_tiles(Ap, 8, 4), A)
    assert np.array_equal(systolic.unpack_b_rows(Bp, 8, 16), B)
    # word (mi, k) of A: A[mi*4 + i, k] in byte i; word (k, ni) of B: B's bytes k*48 + ni*16 .. + 15
    assert int(Ap[1, 7]) == int.from_bytes(A[4:8, 7].tobytes(), "little")
    assert int(Bp[5, 2]) == int.from_bytes(B.tobytes()[5 * 48 + 32: 5 * 48 + 48], "little")


@pytest.mark.parametrize("kernel, inst", [
    (systolic.gemm_wide, (int8, int4, int32, 16, 40, 32, 4, 8)),
    (systolic.gemm_wide, (int8, int8, int32, 8, 32, 48, 2, 16)),
    (systolic.gemm_wide, (int8, int8, int32, 12, 9, 6, 3, 3)),
    (systolic.packed_gemm_wide, (int8, int4, int32, 16, 40, 32, 4, 8)),
    (systolic.packed_gemm_wide, (int8, int8, int32, 8, 32, 48, 2, 16))], ids=lambda v: getattr(v, "__name__", None))
def test_cpu_bit_exact(kernel, inst):
    ta, tb, _, m, k, n, mt, nt = inst
    A, B = operands(ta, tb, m, k, n)
    s = scheduled(kernel, list(inst))
    C = s.build()(systolic.pack_a_tiles(A, ta.bits, mt), systolic.pack_b_rows(B, tb.bits, nt))
    assert np.array_equal(C, ref.gemm(A, B))


W1 = (int8, int4, int32, 16, 40, 32, 4, 8)     # 32- and 32-bit words
W2 = (int8, int8, int32, 8, 32, 48, 2, 16)     # a 128-bit B word (ap_uint<128> in the C++)


def wide_kernels(A1: dsl.UInt(32)[4, 40], B1: dsl.UInt(32)[40, 4], A2: dsl.UInt(16)[4, 32],
                 B2: dsl.UInt(128)[32, 3]) -> (int32[16, 32], int32[8, 48], int32[16, 32], int32[8, 48]):
    return (systolic.gemm_wide[W1](A1, B1), systolic.gemm_wide[W2](A2, B2),
            systolic.packed_gemm_wide[W1](A1, B1), systolic.packed_gemm_wide[W2](A2, B2))


def test_csim_bit_exact():
    (A1, B1), (A2, B2) = operands(int8, int4, 16, 40, 32), operands(int8, int8, 8, 32, 48)
    args = (systolic.pack_a_tiles(A1, 8, 4), systolic.pack_b_rows(B1, 4, 8),
            systolic.pack_a_tiles(A2, 8, 2), systolic.pack_b_rows(B2, 8, 16))
    s = dsl.customize(wide_kernels)
    for kernel in (systolic.gemm_wide, systolic.packed_gemm_wide):
        for inst in (W1, W2):
            s.compose(scheduled(kernel, list(inst)))
    code = dsl.build(s, target="vhls")
    assert "ap_uint<128>" in code and "#pragma HLS pipeline II=1" in code
    for got in (s.build()(*args), dsl.build(s, target="vitis_hls", mode="csim")(*args)):
        for k, (A, B) in enumerate([(A1, B1), (A2, B2)] * 2):
            assert np.array_equal(got[k], ref.gemm(A, B)), k


def test_errors_say_what_is_allowed():
    with pytest.raises(dsl.DSLError, match="K must be at least Mt \\* Nt"):
        dsl.customize(systolic.gemm_wide, instantiate=[int8, int8, int32, 16, 24, 32, 4, 8])
    with pytest.raises(dsl.DSLError, match="Nt <= 64"):
        dsl.customize(systolic.gemm_wide, instantiate=[int8, int8, int32, 16, 8192, 256, 4, 128])
    with pytest.raises(dsl.DSLError, match="tiles the M x N output"):
        dsl.customize(systolic.gemm_wide, instantiate=[int8, int8, int32, 18, 768, 32, 4, 8])


def test_emitted_hls_follows_the_schedule():
    code = dsl.build(scheduled(systolic.gemm_wide, [int8, int8, int32, 32, 256, 64, 16, 16]), target="vhls")
    for pragma in ("array_partition variable=Ct type=complete dim=0", "array_partition variable=Cd type=complete",
                   "interface m_axi port=Ap", "interface m_axi port=Bp", "interface m_axi port=C"):
        assert pragma in code
    assert "ap_uint<128> Ap[2][256]" in code and "ap_uint<128> Bp[256][4]" in code
    assert "At[" not in code and "Bt[" not in code   # no operand tile on chip


def test_estimate_of_the_paper_kernel_term_by_term():
    """BERT FFN1 on 16 x 16 PEs at 300 MHz: the flattened loop runs 32 x 192 tiles x 768 k steps at II 1
    (4,718,592 iterations) plus its depth (the m_axi read latency, 64, the unpacking, the multiply-add and
    the drain write), then the last tile's 256 results; 256 DSPs (one int8 x int8 multiply-accumulate each);
    no BRAM (accumulators, drain registers and edges are registers; the operands stay in HBM)."""
    s = scheduled(systolic.gemm_wide, [int8, int8, int32, 512, 768, 3072, 16, 16])
    r = dsl.estimate(s, clock_mhz=300)
    main, drain = r.loops["gemm_wide_words:tiles:k"], r.loops["gemm_wide_words:drain:d"]
    assert main.trip == 32 * 192 * 768 and main.ii == 1 and len(main.flattened) == 2
    assert 64 < main.depth < 100 and drain.trip == 256 and drain.ii == 1
    assert r.latency == pytest.approx(main.latency + drain.latency, abs=10)
    assert abs(r.latency_ms - 15.73) / 15.73 < 0.01
    assert r.resources["DSP"].used == 256 and r.resources["BRAM18K"].used == 0


def test_packed_estimate_w4a8_on_8_x_32():
    """The paper's packed array as a memory-to-memory kernel: 8 x 32 PEs, two int4 weights per DSP (128),
    the same 4,718,592 iterations at II 1 (256 MACs a cycle), no BRAM."""
    r = dsl.estimate(scheduled(systolic.packed_gemm_wide, [int8, int4, int32, 512, 768, 3072, 8, 32]), clock_mhz=300)
    assert r.loops["gemm_wide_words:tiles:k"].trip == 64 * 96 * 768 and r.loops["gemm_wide_words:tiles:k"].ii == 1
    assert r.resources["DSP"].used == 128 and r.resources["BRAM18K"].used == 0
    assert abs(r.latency_ms - 15.73) / 15.73 < 0.01
