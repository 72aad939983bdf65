"""dsl.dse.units: the library's units with the paper's configuration, on one unit and on every instance of a
design (paper_schedule)."""
import dsl
from dsl import UInt, int4, int8, int32
from dsl.dse.units import build, paper_schedule
from dsl.library.units import gemm, memory


@dsl.region()
def two_arrays(X: int8[16, 128], W1: UInt(512)[128], W2: UInt(512)[256], Y: int32[16, 128], Z: int32[16, 256]):
    xs: dsl.Stream[int8[64], 2]
    xs2: dsl.Stream[int8[64], 2]
    w1: dsl.Stream[int4[4, 32], 2]
    w2: dsl.Stream[int4[4, 32], 2]
    ys: dsl.Stream[int32[16], 2]
    zs: dsl.Stream[int32[16], 2]
    memory.load_rows[int8, 16, 128](X, xs)
    memory.load_rows[int8, 16, 128](X, xs2)
    memory.load_weights[int4, 128, 128, 32, 2](W1, w1)
    memory.load_weights[int4, 256, 128, 32, 2](W2, w2)
    gemm.aw_gemm[int8, int4, int32, 16, 128, 128, 8, 32, 1](xs, w1, ys)
    gemm.aw_gemm[int8, int4, int32, 16, 128, 256, 8, 32, 1](xs2, w2, zs)
    memory.store_rows[int32, 16, 128](ys, Y)
    memory.store_rows[int32, 16, 256](zs, Z)


def test_every_array_of_a_design_takes_a_weight_block_per_cycle():
    """Regression: the second array's partition of its weight block undid the first's (both pass it to the
    shared pe_step_packed), so the first array's k loop ran at II=3 on the block's ports."""
    r = dsl.estimate(paper_schedule(dsl.customize(two_arrays)), clock_mhz=250)
    ks = {k: loop for k, loop in r.loops.items() if k.endswith("k:k2")}
    assert len(ks) == 2 and all(loop.ii == 1 for loop in ks.values()), {k: l.ii_reason for k, l in ks.items()}


def test_a_packed_array_runs_at_its_macs_per_cycle():
    # 8 x 32 PEs, two int4 weights per DSP: 128 DSPs; 512 x 768 x 768 MACs at 256 a cycle = 1.18M cycles,
    # plus each tile's row reads, clear/drain and pipeline fill (under 5% here)
    r = dsl.estimate(build("linear", 4, 512, 768, 768, 8, 32, 1), clock_mhz=250)
    ideal = 512 * 768 * 768 // 256
    assert r.resources["DSP"].used == 128
    assert ideal <= r.latency <= 1.05 * ideal


@dsl.region()
def merged_loaders(W0: UInt(512)[64], W1: UInt(512)[64], X: int8[1, 128], Y: int32[1, 128]):
    w0: dsl.Stream[int4[1, 128], 2]
    w1: dsl.Stream[int4[1, 128], 2]
    ws: dsl.Stream[int4[1, 128], 2]
    xs: dsl.Stream[int8[64], 2]
    ys: dsl.Stream[int32[16], 2]
    memory.load_weight_share[int4, 128, 128, 128, 1, 2, 0](W0, w0)
    memory.load_weight_share[int4, 128, 128, 128, 1, 2, 1](W1, w1)
    memory.merge_words[int4, 1, 128, 128](w0, w1, ws)
    memory.load_rows[int8, 1, 128](X, xs)
    gemm.aw_gemm[int8, int4, int32, 1, 128, 128, 1, 128, 1](xs, ws, ys)
    memory.store_rows[int32, 1, 128](ys, Y)


def test_two_loaders_merge_into_a_word_a_cycle():
    """Regression: merge_words wrote its output in both branches of its if, which the estimate (as a FIFO
    takes one write a cycle) counted as two writes an iteration: II=2, half the word rate two loaders give
    a decode array. One write of the block taken from either input: II=1."""
    r = dsl.estimate(paper_schedule(dsl.customize(merged_loaders)), clock_mhz=250)
    merge = [loop for k, loop in r.loops.items() if "merge_words" in k and k.endswith(":w")]
    assert len(merge) == 1 and merge[0].ii == 1, merge[0].ii_reason
    # the simulator gives what one loader of all the words gives
    import numpy as np

    rng = np.random.default_rng(0)
    W = rng.integers(-8, 8, (128, 128))
    words = memory.pack_weight_tiles(W, 4, 128)
    x = rng.integers(-128, 128, (1, 128)).astype(np.int8)
    shares = memory.split_words(words, 2)
    y = np.zeros((1, 128), np.int32)
    out = dsl.customize(merged_loaders).build("sim")(shares[0], shares[1], x, y)
    y = out if out is not None else y
    np.testing.assert_array_equal(y, x.astype(np.int64) @ W.T)
