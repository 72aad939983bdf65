"""``gemm.aw_gemm_shared``: one PE array serving a decoder's two phases (m rows at run time: Mt x Nt tiles
for a prompt, one row using the whole array for a generated token), bit-exact against the numpy reference of
the library's linear layer (``ref.systolic_linear``) in both phases, on the simulator and in csim; its
estimate: a weight word a cycle with one row, one every Mt cycles with a prompt."""
import numpy as np
import pytest

import dsl
from dsl import UInt, int4, int8, int32
from dsl.library import ref
from dsl.library.units import gemm, memory, schedule_units
from dsl.library.units.memory import words_per_block
from dsl.library.units.tokens import chunk

RNG = np.random.default_rng(12)


def shared_linear(M, rows, K, N, Mt, Nt, TyW, PACK):
    """``rows`` rows of X through an ``aw_gemm_shared`` built for up to M rows, m = ``rows`` given at run
    time (the loaders stream the words once per pass: rows / Mt passes, or one for a single row)."""
    passes = 1 if rows == 1 else rows // Mt
    NW = N // Nt * (K // words_per_block(TyW, Nt))

    @dsl.region()
    def shared(X: int8[rows, K], W: UInt(512)[NW], Y: int32[rows, N], m: int32):
        xs: dsl.Stream[int8[chunk(int8, K)], 2]
        ws: dsl.Stream[TyW[words_per_block(TyW, Nt), Nt], 2]
        ys: dsl.Stream[int32[chunk(int32, N)], 2]
        memory.load_rows[int8, rows, K](X, xs)
        memory.load_weights[TyW, N, K, Nt, passes](W, ws)
        gemm.aw_gemm_shared[int8, TyW, int32, M, K, N, Mt, Nt, PACK](xs, ws, ys, m)
        memory.store_rows[int32, rows, N](ys, Y)

    return shared


def _run(rows, M=16, K=128, N=128, Mt=8, Nt=16, TyW=int4, bits=4, PACK=1, target="sim"):
    X = RNG.integers(-128, 128, (rows, K)).astype(np.int8)
    W = RNG.integers(-(1 << (bits - 1)), 1 << (bits - 1), (N, K)).astype(np.int8)
    s = dsl.customize(shared_linear(M, rows, K, N, Mt, Nt, TyW, PACK))
    if target == "csim":
        schedule_units(s)
    mod = dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")
    Y = np.zeros((rows, N), np.int32)
    mod(X, memory.pack_weight_tiles(W, bits, Nt), Y, np.int32(rows))
    np.testing.assert_array_equal(Y, ref.systolic_linear(X, W))
    return mod


@pytest.mark.parametrize("rows", [1, 8, 16], ids=["decode-row", "prefill-one-tile", "prefill-two-tiles"])
@pytest.mark.parametrize("Mt,Nt,TyW,bits,PACK", [(8, 16, int4, 4, 1), (4, 32, int4, 4, 0), (8, 8, int8, 8, 1),
                                                 (1, 128, int4, 4, 1)],
                         ids=["int4-8x16-packed", "int4-4x32", "int8-8x8-packed", "int4-1x128"])
def test_shared_array_is_bit_exact_in_both_phases_on_the_simulator(rows, Mt, Nt, TyW, bits, PACK):
    if rows % Mt and rows != 1:
        pytest.skip("a prompt of whole tiles")
    sim = _run(rows, Mt=Mt, Nt=Nt, TyW=TyW, bits=bits, PACK=PACK)
    passes = 1 if rows == 1 else rows // Mt
    assert sim.stats["ws"]["tokens"] == passes * 128 * 128 * bits // 512  # the words, once per pass


@pytest.mark.parametrize("rows", [1, 16])
def test_shared_array_scheduled_in_csim(rows):
    _run(rows, target="csim")


def test_an_array_that_is_not_one_weight_word_is_refused():
    with pytest.raises(dsl.ShapeError, match="must be one 512-bit weight word"):
        dsl.customize(shared_linear(16, 16, 128, 128, 8, 32, int4, 1))


def _estimate(rows, M=64, K=1024, N=256, Mt=8, Nt=16):
    """The unit scheduled as the explored designs are (``dsl.dse.units.paper_schedule``), with the trip
    counts of its run-time loops for ``rows`` (Vitis's loop_tripcount; the branch a phase does not take
    counts no iterations)."""
    from dsl.dse.units import paper_schedule

    s = paper_schedule(dsl.customize(shared_linear(M, rows, K, N, Mt, Nt, int4, 1)))
    f = "_aw_gemm_shared"
    counts = {f"{f}:row_blocks:mi": 1, f"{f}:k:k2": K // Mt, f"{f}:read_rows:i": 0, f"{f}:write_rows:i6": 1} \
        if rows == 1 else {f"{f}:row_blocks:mi": rows // Mt, f"{f}:k:k2": K, f"{f}:write_rows:i6": Mt}
    return dsl.estimate(s, clock_mhz=250, tripcount=counts)


def test_one_row_takes_a_weight_word_a_cycle_a_prompt_one_every_mt_cycles():
    """K = 1024, N = 256, 8 x 16 PEs (64 DSPs, packed): one row is N/Nt x K/Mt = 2,048 words at one a cycle;
    64 rows are 8 passes of N/Nt blocks x K steps (a word every Mt = 8 cycles): 131,072 cycles. The same 64
    DSPs in both phases."""
    one, prompt = _estimate(1), _estimate(64)
    f = "_aw_gemm_shared"
    for r, trip in ((one, 128), (prompt, 1024)):
        k = r.loops[f"{f}:k:k2"]
        assert (k.ii, k.trip) == (1, trip)
        assert r.functions[f].resources["DSP"] == 64
    assert 2048 < one.functions[f].latency < 2048 * 1.5
    assert 131072 < prompt.functions[f].latency < 131072 * 1.1
