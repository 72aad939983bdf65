"""Streams of blocks and of wide words on every path: the frontend (IR and errors at the user's line), the
static check, the simulator, csim of the emitted HLS, the HLS text and the CPU path (streams as buffers)."""
import numpy as np
import pytest

import dsl
from dsl import Int, UInt, int8, int16, int32

from .markers import line_of
from .stream_designs import (pack_int8_words, packed_gemv, scale_rows, scale_rows_design, tiles_and_rows,
                             wide_and_narrow)

RNG = np.random.default_rng(11)


def _line(marker):
    return line_of(__file__, marker)


def _sim_and_csim(design, args, outs):
    """Run on the simulator and in csim on copies of ``args``; return (sim module, [outputs per run])."""
    s = dsl.customize(design)
    results, sim = [], None
    for target in ("sim", "csim"):
        mod = dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")
        sim = sim or mod
        copies = [a.copy() for a in args]
        mod(*copies)
        results.append([copies[k] for k in outs])
    return s, sim, results


def test_blocks_producer_consumer_sim_and_csim():
    NB, M, N, L = 3, 4, 8, 16
    A = RNG.integers(-1000, 1000, (NB * M, N)).astype(np.int16)
    X = RNG.standard_normal((NB, L)).astype(np.float32)
    args = [A, np.zeros_like(A), X, np.zeros_like(X)]
    s, sim, runs = _sim_and_csim(tiles_and_rows(NB, M, N, L), args, [1, 3])
    for B, Y in runs:
        np.testing.assert_array_equal(B, A + 1)
        np.testing.assert_array_equal(Y, X * np.float32(2.0) + np.float32(1.0))
    assert sim.stats["tiles"]["tokens"] == NB and sim.stats["rows"]["tokens"] == NB  # one token per block
    assert sim.stats["rows"]["max_occupancy"] <= 3
    text = str(s.module)
    assert 'memref.copy' in text and 'dsl.stream_op = "put"' in text and "dsl.stream_block" in text
    code = dsl.build(s, target="vhls")
    assert "struct dsl_block_int16_4x8 { int16_t v[4][8]; };" in code.header
    assert "struct dsl_block_float_16 { float v[16]; };" in code.header
    assert "hls::stream<dsl_block_int16_4x8> tiles;" in code
    assert "static void consumer(hls::stream<dsl_block_int16_4x8> &tiles" in code
    assert "#pragma HLS aggregate variable=token" in code and "tiles.write(token);" in code


def test_allo_style_whole_tensor_tokens():
    """Allo's ``pipe.put(local_A)`` of a whole argument and an unannotated ``data = pipe.get()``."""
    M, N = 8, 8

    @dsl.region()
    def top(A: int32[M, N], B: int32[M, N]):
        pipe: dsl.Stream[int32[M, N], 1]

        @dsl.kernel(mapping=[1])
        def producer(A: int32[M, N]):
            pipe.put(A)

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[M, N]):
            data = pipe.get()
            for i, j in dsl.grid(M, N):
                B[i, j] = data[i, j] + 1

    A = RNG.integers(0, 64, (M, N)).astype(np.int32)
    B = np.zeros_like(A)
    dsl.build(top, target="sim")(A, B)
    np.testing.assert_array_equal(B, A + 1)


def test_packed_weight_gemv_sim_and_csim():
    M, K = 16, 256
    W = RNG.integers(-128, 128, (M, K)).astype(np.int8)
    x = RNG.integers(-128, 128, K).astype(np.int8)
    ref = W.astype(np.int32) @ x.astype(np.int32)
    _, sim, runs = _sim_and_csim(packed_gemv(M, K), [pack_int8_words(W), x, np.zeros(M, np.int32)], [2])
    for (y,) in runs:
        np.testing.assert_array_equal(y, ref)
    assert sim.stats["ws"]["tokens"] == M * K // 64 and sim.stats["xs"]["tokens"] == K // 64
    code = dsl.build(packed_gemv(M, K), target="vhls")
    assert "hls::stream<ap_uint<512> > ws;" in code or "hls::stream<ap_uint<512>> ws;" in code
    assert "ap_uint<512> W[16][4]" in code


def test_wide_scalars_and_int4_blocks_are_exact():
    N = 6
    lo, hi = -(1 << 71) + 1, (1 << 71) - 1
    A = np.array([lo, hi, -1, 0, 1 << 70, -(1 << 65) - 3], dtype=object)
    Q = RNG.integers(-8, 8, (N, 8)).astype(np.int8)
    args = [A, np.zeros(N, dtype=object), Q, np.zeros_like(Q)]
    _, sim, runs = _sim_and_csim(wide_and_narrow(N), args, [1, 3])
    for B, R in runs:
        assert [int(v) for v in B] == [int(v) - 1 for v in A]
        np.testing.assert_array_equal(R, Q)


def test_sub_byte_buffers_on_the_simulator():
    """Regression: int4 arrays were laid out by LLVM's own rules in the simulator (half the values lost);
    like the CPU backend it now keeps a byte per element, as the caller's arrays do."""
    from dsl import int4

    N = 8

    @dsl.region()
    def nibbles(A: int4[N], B: int4[N]):
        p: dsl.Stream[int4, 2]

        @dsl.kernel(mapping=[1])
        def src(A: int4[N]):
            for i in range(N):
                p.put(A[i])

        @dsl.kernel(mapping=[1])
        def dst(B: int4[N]):
            for i in range(N):
                B[i] = p.get()

    A = (np.arange(N) - 4).astype(np.int8)
    B = np.zeros_like(A)
    dsl.build(nibbles, target="sim")(A, B)
    np.testing.assert_array_equal(B, A)


def test_kernel_taking_streams_sim_csim_and_cpu():
    R, N = 5, 16
    A = RNG.integers(-128, 128, (R, N)).astype(np.int8)
    _, sim, runs = _sim_and_csim(scale_rows_design(R, N), [A, np.zeros((R, N), np.int16)], [1])
    for (B,) in runs:
        np.testing.assert_array_equal(B, A.astype(np.int16) * 3)
    assert sim.stats["a"]["tokens"] == R
    # the CPU path: the unit alone, its streams plain buffers of one token
    s = dsl.customize(scale_rows, instantiate=[int8, int16, N, 1])
    assert "dsl.stream_block" in str(s.module)
    y = np.zeros(N, np.int16)
    s.build()(A[0], y, 2)
    np.testing.assert_array_equal(y, A[0].astype(np.int16) * 2)


def test_static_check_counts_tokens_through_calls():
    with pytest.raises(dsl.StreamError) as info:
        dsl.build(scale_rows_design(5, 16, rows_put=4), target="sim")
    msg = str(info.value)
    assert "stream 'a'" in msg and "puts 4 token(s)" in msg and "gets 5" in msg


def test_deadlock_on_block_streams_names_the_stream_and_the_depth():
    N = 6

    @dsl.region()
    def dia(A: int32[N, 4], B: int32[N, 4]):
        short: dsl.Stream[int32[4], 2]
        long_in: dsl.Stream[int32[4], 2]
        long_out: dsl.Stream[int32[4], 2]

        @dsl.kernel(mapping=[1])
        def src(A: int32[N, 4]):
            for i in range(N):
                short.put(A[i])
                long_in.put(A[i])

        @dsl.kernel(mapping=[1])
        def reverse():
            buf: int32[N, 4] = 0
            for i in range(N):
                buf[i] = long_in.get()
            for i in range(N):
                long_out.put(buf[N - 1 - i])

        @dsl.kernel(mapping=[1])
        def sink(B: int32[N, 4]):
            for i in range(N):
                a = short.get()
                b = long_out.get()
                for k in range(4):
                    B[i, k] = a[k] + b[k]

    A = RNG.integers(-100, 100, (N, 4)).astype(np.int32)
    with pytest.raises(dsl.DeadlockError) as info:
        dsl.build(dia, target="sim")(A, np.zeros_like(A))
    assert "stream 'short' (full: depth 2" in str(info.value)
    assert info.value.suggested_depths == {"short": N - 1}


# -- errors at the user's line ---------------------------------------------------------------------

def test_stream_of_the_wrong_element_type_names_both_types():
    @dsl.region()
    def bad(A: int8[4, 16], B: int16[4, 16]):
        a: dsl.Stream[int16[16], 2]
        b: dsl.Stream[int16[16], 2]

        @dsl.kernel(mapping=[1])
        def load(A: int8[4, 16]):
            for r in range(4):
                a.put(int16(A[r]))

        @dsl.kernel(mapping=[1])
        def compute():
            scale_rows[int8, int16, 16, 4](a, b, 3)  # wrong-stream-type

        @dsl.kernel(mapping=[1])
        def store(B: int16[4, 16]):
            for r in range(4):
                B[r] = b.get()

    with pytest.raises(dsl.CallError) as info:
        dsl.customize(bad)
    err = info.value
    assert "stream of int8[16]" in str(err) and "carries int16[16]" in str(err)
    assert err.loc.line == _line("# wrong-stream-type")


@pytest.mark.parametrize("body,expect", [
    ("pipe.put(A[0] + 1)", "takes a block int8[16] (the stream is Stream[int8[16], 2]), got a tensor Int(9)[16]"),
    ("pipe.put(A[0, 0])", "takes a block int8[16] (the stream is Stream[int8[16], 2]), got scalar int8"),
    ("scal.put(A[0])", "takes one scalar of type int8 (the stream is Stream[int8, 2]), got a tensor int8[16]"),
], ids=["block-dtype", "scalar-into-block", "block-into-scalar"])
def test_bad_puts_name_the_stream_type(tmp_path, body, expect):
    src = tmp_path / "bad_put.py"
    src.write_text(f'''import dsl
from dsl import int8

@dsl.region()
def bad(A: int8[2, 16], B: int8[2, 16]):
    pipe: dsl.Stream[int8[16], 2]
    scal: dsl.Stream[int8, 2]

    @dsl.kernel(mapping=[1])
    def p(A: int8[2, 16]):
        {body}

    @dsl.kernel(mapping=[1])
    def c(B: int8[2, 16]):
        B[0] = pipe.get()
        B[1, 0] = scal.get()
''')
    import importlib.util

    spec = importlib.util.spec_from_file_location("bad_put", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(dsl.StreamError) as info:
        dsl.customize(mod.bad)
    assert expect in str(info.value)
    assert info.value.loc.line == 11 and info.value.loc.file == str(src)


def test_a_tensor_for_a_stream_argument_is_refused():
    @dsl.region()
    def bad(A: int8[4, 16], B: int16[4, 16]):
        @dsl.kernel(mapping=[1])
        def compute(A: int8[4, 16], B: int16[4, 16]):
            scale_rows[int8, int16, 16, 4](A, B, 3)  # tensor-for-stream

    with pytest.raises(dsl.CallError) as info:
        dsl.customize(bad)
    assert "argument 'xs' of 'scale_rows' is a stream Stream[int8[16], 2], got 'A'" in str(info.value)
    assert info.value.loc.line == _line("# tensor-for-stream")


def test_stream_of_a_bad_block_type_is_refused():
    with pytest.raises(dsl.DSLTypeError):
        dsl.Stream["int8[16]", 2]
    assert repr(dsl.Stream[int8[4, 16], 3]) == "Stream[int8[4, 16], 3]"
    assert dsl.Stream[UInt(512)].buffer_type == UInt(512)[1]


# -- bit slices with a run-time offset (packing and unpacking words) -------------------------------

def bits(W: UInt(64)[4], X: int8[32], k: int32) -> (int8[32], UInt(64)[4], UInt(64)):
    out: int8[32] = 0
    packed: UInt(64)[4] = 0
    for w in range(4):
        word: UInt(64) = 0
        for j in range(8):
            out[w * 8 + j] = W[w][8 * j: 8 * j + 8]  # unpack: shift by a loop variable
            word[8 * j: 8 * j + 8] = X[w * 8 + j]    # pack
        packed[w] = word
    flags: UInt(64) = 0
    flags[k] = 1  # a run-time bit index above 31 (C++ must shift a 64-bit one)
    return out, packed, flags


def test_runtime_bit_slices_cpu_and_csim():
    W = RNG.integers(0, 1 << 63, 4, dtype=np.uint64)
    X = RNG.integers(-128, 128, 32).astype(np.int8)
    expect_out = W.view(np.int8)
    s = dsl.customize(bits)
    for mod in (s.build(), dsl.build(s, target="vitis_hls", mode="csim")):
        out, packed, flags = mod(W, X, 45)
        np.testing.assert_array_equal(out, expect_out)
        np.testing.assert_array_equal(packed, X.view(np.uint64))
        assert int(flags) == 1 << 45


def test_runtime_bit_slice_needs_a_constant_width():
    def k(W: UInt(64)[4], n: int32) -> int8:
        return W[0][n: 2 * n]  # variable-width

    with pytest.raises(dsl.DSLTypeError) as info:
        dsl.customize(k)
    assert "needs a constant width" in str(info.value)
    assert info.value.loc.line == _line("# variable-width")


def _first_row(A: "int8[1, 16]", x: "int8[16]"):
    for j in range(16):
        x[j] = A[0, j] + 1


def _row_of_a_one_row_matrix(A: int8[1, 16]) -> int8[16]:
    out: int8[16] = 0
    _first_row(A, out)
    B: int8[1, 16] = 0
    _copy_into(out, B[0])
    for j in range(16):
        out[j] = B[0, j]
    return out


def _copy_into(x: "int8[16]", y: "int8[16]"):
    for j in range(16):
        y[j] = x[j]


def test_hls_row_view_of_a_one_row_matrix():
    """Regression: B[0] of B: int8[1, 16] passed to a kernel was emitted as B (a dimension of extent 1
    indexed at 0 taken for a whole one), which g++ refuses (int8_t (*)[16] for int8_t *)."""
    A = RNG.integers(-100, 100, (1, 16)).astype(np.int8)
    s = dsl.customize(_row_of_a_one_row_matrix)
    code = str(dsl.build(s, target="vhls"))
    assert "_copy_into(out, B[0]);" in code
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(A), A[0] + 1)
