"""The streaming units of dsl.library.units against the numpy references of the library's memory-to-memory
kernels (dsl.library.ref): integers bit-exact, float32 to the bit (the library's stated tolerance for its
float kernels), on the simulator and in csim of the scheduled designs."""
import numpy as np
import pytest

import dsl
from dsl import int4, int8, int16, int32, float32
from dsl.library import ref
from dsl.library.units import gemm, memory, rowwise, schedule_units

from . import unit_designs as U
from .markers import line_of

RNG = np.random.default_rng(5)


def _line(marker):
    return line_of(__file__, marker)


def _run(design, args, target="sim", schedule=False):
    s = dsl.customize(design)
    if schedule:
        schedule_units(s)
    mod = dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    mod(*copies)
    return mod, copies


def _linear_args(M, K, N, Nt, bits):
    X = RNG.integers(-128, 128, (M, K)).astype(np.int8)
    W = RNG.integers(-(1 << (bits - 1)), 1 << (bits - 1), (N, K)).astype(np.int8)
    return X, W, [X, memory.pack_weight_tiles(W, bits, Nt), np.zeros((M, N), np.int32)]


@pytest.mark.parametrize("TyW,bits,Mt,Nt,PACK", [
    (int8, 8, 8, 16, 0), (int8, 8, 4, 8, 1), (int4, 4, 8, 16, 1), (int4, 4, 2, 32, 0),
], ids=["int8", "int8-dsp-packed", "int4-dsp-packed", "int4-2x32"])
def test_linear_unit_is_bit_exact_on_the_simulator(TyW, bits, Mt, Nt, PACK):
    M, K, N = 16, 256, 64
    X, W, args = _linear_args(M, K, N, Nt, bits)
    sim, out = _run(U.linear(M, K, N, Mt, Nt, TyW, PACK), args)
    np.testing.assert_array_equal(out[2], ref.systolic_linear(X, W))
    assert len(sim.net.processes) == 4  # the PE array is one process
    assert sim.stats["ws"]["tokens"] == (M // Mt) * N * K * bits // 512  # one token per packed word


def test_linear_unit_scheduled_in_csim():
    M, K, N, Nt = 16, 128, 64, 16
    X, W, args = _linear_args(M, K, N, Nt, 4)
    _, out = _run(U.linear(M, K, N, 8, Nt, int4, 1), args, target="csim", schedule=True)
    np.testing.assert_array_equal(out[2], ref.systolic_linear(X, W))


def test_unit_schedules_are_hardware_directives_only():
    s = dsl.customize(U.linear(16, 128, 64, 8, 16, int8))
    before = str(dsl.build(s, target="vhls"))
    schedule_units(s)
    code = str(dsl.build(s, target="vhls"))
    assert "#pragma HLS pipeline" not in before
    body = code[code.index("static void _aw_gemm"):]
    body = body[:body.index("\n}\n")]
    for text in ("array_partition variable=At type=complete dim=2", "array_partition variable=Ct type=complete",
                 "array_partition variable=row type=cyclic factor=64 dim=1"):
        assert text in body, text
    k_loop = body[body.index("l_k_k2"):]
    assert k_loop.splitlines()[1].strip() == "#pragma HLS pipeline II=1"
    pe = code[code.index("static void pe_step("):]
    assert "#pragma HLS inline" in pe[:pe.index("\n}\n")] and "#pragma HLS unroll" in pe[:pe.index("\n}\n")]
    X, W, args = _linear_args(16, 128, 64, 16, 8)
    _, out = _run(U.linear(16, 128, 64, 8, 16, int8), args, schedule=True)
    np.testing.assert_array_equal(out[2], ref.systolic_linear(X, W))


@pytest.mark.parametrize("L,D,H,Mq,Nk,passes,past", [
    (16, 32, 2, 4, 4, 1, 0), (16, 64, 4, 8, 4, 2, 0), (32, 32, 2, 8, 8, 1, 64), (16, 32, 2, 4, 4, 1, 5),
], ids=["causal", "two-sequences-ping-pong", "encoder", "past-5"])
def test_attention_units_are_bit_exact_on_the_simulator(L, D, H, Mq, Nk, passes, past):
    Q, K, V = (RNG.standard_normal((passes * L, D)).astype(np.float32) for _ in range(3))
    _, out = _run(U.attention(L, D, H, Mq, Nk, passes, past), [Q, K, V, np.zeros_like(Q)])
    expect = np.concatenate([ref.scaled_dot_product_attention(Q[p * L:(p + 1) * L], K[p * L:(p + 1) * L],
                                                              V[p * L:(p + 1) * L], H, past)
                             for p in range(passes)])
    np.testing.assert_array_equal(out[3], expect)


def test_attention_units_scheduled_in_csim():
    L, D, H = 16, 32, 2
    Q, K, V = (RNG.standard_normal((2 * L, D)).astype(np.float32) for _ in range(3))
    _, out = _run(U.attention(L, D, H, 4, 4, 2, 0), [Q, K, V, np.zeros_like(Q)], target="csim", schedule=True)
    expect = np.concatenate([ref.scaled_dot_product_attention(Q[p * L:(p + 1) * L], K[p * L:(p + 1) * L],
                                                              V[p * L:(p + 1) * L], H, 0) for p in range(2)])
    np.testing.assert_array_equal(out[3], expect)



def _int8(*shape):
    return RNG.integers(-128, 128, shape).astype(np.int8)


def _per_sequence(fn, passes, *arrays):
    return np.concatenate([fn(*(a[p * len(a) // passes:(p + 1) * len(a) // passes] for a in arrays))
                           for p in range(passes)])


INT_ATTENTION = [(16, 64, 2, 4, 8, 1), (16, 64, 4, 8, 4, 2), (32, 128, 2, 8, 16, 1)]
INT_IDS = ["2-heads", "two-sequences-ping-pong", "32-keys-dh-64"]


@pytest.mark.parametrize("L,D,H,Mq,Nk,passes", INT_ATTENTION, ids=INT_IDS)
def test_int8_score_gemm_is_bit_exact_on_the_simulator(L, D, H, Mq, Nk, passes):
    """qk_gemm with int8 operands and int32 accumulators: every score exact, in the unit's row order."""
    Q, K = _int8(passes * L, D), _int8(passes * L, D)
    Q[0, :D // H], K[1, :D // H] = -128, -128  # the largest products (2^14 each) in one score
    _, out = _run(U.int_qk(L, D, H, Mq, Nk, passes), [Q, K, np.zeros((passes * L * H, L), np.int32)])
    expect = _per_sequence(lambda q, k: ref.qk_scores(q, k, H, Mq), passes, Q, K)
    np.testing.assert_array_equal(out[2], expect)
    # the stream order, spelled out for one element: tile 0, head 1, row 2 is S_1[2, :]
    dh = D // H
    row = ref.matmul(Q[2:3, dh:2 * dh], K[:L, dh:2 * dh].T)[0]
    np.testing.assert_array_equal(out[2][Mq + 2], row)
    assert out[2][0, 1] == (D // H) * 128 * 128


@pytest.mark.parametrize("L,D,H,Mq,Nk,passes", INT_ATTENTION, ids=INT_IDS)
def test_int8_output_gemm_is_bit_exact_on_the_simulator(L, D, H, Mq, Nk, passes):
    P, V = _int8(passes * L * H, L), _int8(passes * L, D)
    _, out = _run(U.int_pv(L, D, H, Mq, Nk, passes), [P, V, np.zeros((passes * L, D), np.int32)])
    expect = _per_sequence(lambda p, v: ref.pv_output(p, v, H, Mq), passes, P, V)
    np.testing.assert_array_equal(out[2], expect)


def test_int8_attention_gemms_chained_through_requantisation():
    L, D, H, Mq, Nk, passes = 16, 64, 2, 4, 8, 2
    Q, K, V = _int8(passes * L, D), _int8(passes * L, D), _int8(passes * L, D)
    mult, shift = ref.fixed_point_multiplier(1 / 512)
    args = [Q, K, V, np.zeros((passes * L, D), np.int32), mult, shift]
    _, out = _run(U.int_attention_gemms(L, D, H, Mq, Nk, passes), args)

    def one(q, k, v):
        return ref.pv_output(ref.requantize(ref.qk_scores(q, k, H, Mq), mult, shift), v, H, Mq)

    np.testing.assert_array_equal(out[3], _per_sequence(one, passes, Q, K, V))


def test_int8_attention_gemms_scheduled_in_csim():
    L, D, H, Mq, Nk, passes = 16, 64, 2, 4, 8, 2
    Q, K, V = _int8(passes * L, D), _int8(passes * L, D), _int8(passes * L, D)
    P = _int8(passes * L * H, L)
    _, qk = _run(U.int_qk(L, D, H, Mq, Nk, passes), [Q, K, np.zeros((passes * L * H, L), np.int32)],
                 target="csim", schedule=True)
    np.testing.assert_array_equal(qk[2], _per_sequence(lambda q, k: ref.qk_scores(q, k, H, Mq), passes, Q, K))
    _, pv = _run(U.int_pv(L, D, H, Mq, Nk, passes), [P, V, np.zeros((passes * L, D), np.int32)],
                 target="csim", schedule=True)
    np.testing.assert_array_equal(pv[2], _per_sequence(lambda p, v: ref.pv_output(p, v, H, Mq), passes, P, V))

@pytest.mark.parametrize("target", ["sim", "csim"])
def test_row_units_around_a_residual_are_bit_exact(target):
    L, D, eps = 8, 64, 1e-12
    X = RNG.standard_normal((L, D)).astype(np.float32)
    g, b = RNG.standard_normal(D).astype(np.float32), RNG.standard_normal(D).astype(np.float32)
    depth = rowwise.bypass_depth(D, float32, 1)  # a row of slack (GeLU streams token by token)
    _, out = _run(U.gelu_residual_norm(L, D, eps, depth), [X, g, b, np.zeros_like(X)], target, schedule=True)
    np.testing.assert_array_equal(out[3], ref.layer_norm_eps(ref.residual_add(ref.gelu(X), X), g, b, eps))



@pytest.mark.parametrize("target", ["sim", "csim"])
@pytest.mark.parametrize("unit,reference", [(rowwise.gelu_tanh_rows, ref.gelu_tanh), (rowwise.gelu_rows, ref.gelu)],
                         ids=["gelu_tanh", "gelu_erf"])
def test_gelu_row_units_alone_are_bit_exact(unit, reference, target):
    L, D = 4, 64
    X = (RNG.standard_normal((L, D)) * 4).astype(np.float32)
    _, out = _run(U.row_map(L, D, unit), [X, np.zeros_like(X)], target, schedule=True)
    np.testing.assert_array_equal(out[1], reference(X))

def test_a_shallow_bypass_fifo_deadlocks_by_name():
    L, D = 4, 64
    X = RNG.standard_normal((L, D)).astype(np.float32)
    g, b = np.ones(D, np.float32), np.zeros(D, np.float32)
    with pytest.raises(dsl.DeadlockError) as info:  # LayerNorm holds a whole row before its first output
        _run(U.norm_residual(L, D, 1e-5, 2), [X, g, b, np.zeros_like(X)])
    assert "stream 'byp' (full: depth 2" in str(info.value)
    assert info.value.suggested_depths["byp"] <= rowwise.bypass_depth(D, float32, 1)


@pytest.mark.parametrize("target", ["sim", "csim"])
def test_kv_cache_units(target):
    LMAX, D, LN, pos = 8, 64, 2, 3
    pre, new = (RNG.integers(-128, 128, (LN, D)).astype(np.int8) for _ in range(2))
    cache, cache_r = (RNG.integers(-128, 128, (LMAX, D)).astype(np.int8) for _ in range(2))
    args = [pre, np.zeros((LMAX, D), np.int8), new, cache, np.zeros((LMAX, D), np.int8), cache_r,
            np.zeros((LN, D), np.int8), pos]
    _, out = _run(U.kv_cache(LMAX, D, LN), args, target, schedule=True)
    np.testing.assert_array_equal(out[1], ref.kv_append(np.zeros((LMAX, D), np.int8), pre, pos))
    np.testing.assert_array_equal(out[3], ref.kv_append(cache, new, pos))
    np.testing.assert_array_equal(out[4][:pos + LN], ref.kv_append(cache, new, pos)[:pos + LN])
    np.testing.assert_array_equal(out[6], ref.kv_read(cache_r, pos, LN))


@pytest.mark.parametrize("target", ["sim", "csim"])
def test_quantisation_units(target):
    R, D = 4, 64
    X = (RNG.standard_normal((R, D)) * 3).astype(np.float32)
    X[2] = 0.0  # an all-zero row has scale 1
    X[3] = 0.0
    X[3, :2] = 1e-43, -5e-44  # a subnormal absmax too (its scale m / 127 would be 0: x / 0)
    ACC = RNG.integers(-(1 << 20), 1 << 20, (R, D)).astype(np.int32)
    Srow, Scol = (RNG.uniform(0.001, 0.1, n).astype(np.float32) for n in (R, D))
    mult, shift = ref.fixed_point_multiplier(0.0123)
    args = [X, np.zeros((R, D), np.int8), np.zeros(R, np.float32), ACC, Srow, Scol,
            np.zeros((R, D), np.float32), np.zeros((R, D), np.int8), mult, shift]
    _, out = _run(U.quantization(R, D), args, target, schedule=True)
    q, s = ref.quantize_per_token(X)
    assert s[2] == s[3] == 1.0 and not q[2:].any()
    np.testing.assert_array_equal(out[1], q)
    np.testing.assert_array_equal(out[2], s)
    np.testing.assert_array_equal(out[6], ref.dequantize_rows(ACC, Srow, Scol))
    np.testing.assert_array_equal(out[7], ref.requantize(ACC, mult, shift))


def _ffn_case(L=16, D=64, F=256, Nt=16, eps=1e-12):
    X = RNG.standard_normal((L, D)).astype(np.float32)
    W1, W2 = RNG.integers(-8, 8, (F, D)).astype(np.int8), RNG.integers(-8, 8, (D, F)).astype(np.int8)
    s1, s2 = RNG.uniform(0.01, 0.05, F).astype(np.float32), RNG.uniform(0.01, 0.05, D).astype(np.float32)
    g, b = RNG.standard_normal(D).astype(np.float32), RNG.standard_normal(D).astype(np.float32)
    q1, r1 = ref.quantize_per_token(X)
    h = ref.gelu(ref.dequantize_rows(ref.systolic_linear(q1, W1), r1, s1))
    q2, r2 = ref.quantize_per_token(h)
    y = ref.dequantize_rows(ref.systolic_linear(q2, W2), r2, s2)
    expect = ref.layer_norm_eps(ref.residual_add(y, X), g, b, eps)
    args = [X, memory.pack_weight_tiles(W1, 4, Nt), s1, memory.pack_weight_tiles(W2, 4, Nt), s2, g, b,
            np.zeros_like(X)]
    return args, expect


@pytest.mark.parametrize("target", ["sim", "csim"])
def test_a_w4a8_ffn_block_from_units_matches_the_composed_references(target):
    """Units compose: LayerNorm(X + FFN(X)) with per-token quantisation and DSP-packed int4 GEMMs equals the
    same chain of the library's references, to the bit."""
    args, expect = _ffn_case()
    mod, out = _run(U.ffn_block(16, 64, 256, 8, 16, 1e-12), args, target, schedule=True)
    np.testing.assert_array_equal(out[7], expect)
    if target == "sim":
        assert len(mod.net.processes) == 14


def test_scales_waiting_beside_a_gemm_need_a_deep_enough_fifo():
    args, _ = _ffn_case()
    with pytest.raises(dsl.DeadlockError) as info:
        _run(U.ffn_block(16, 64, 256, 8, 16, 1e-12, scale_depth=2), args)
    assert "stream 'r1' (full: depth 2" in str(info.value)


def test_pack_weight_tiles_layout():
    W = RNG.integers(-8, 8, (32, 64)).astype(np.int8)
    words = memory.pack_weight_tiles(W, 4, 16)
    assert len(words) == 2 * 8  # 2 column blocks x 64 / 8 k steps per word
    ni, kw, kk, j = 1, 3, 5, 7
    v = (int(words[ni * 8 + kw]) >> ((kk * 16 + j) * 4)) & 0xF
    assert (v - 16 if v >= 8 else v) == W[ni * 16 + j, kw * 8 + kk]
    with pytest.raises(dsl.ShapeError):
        memory.pack_weight_tiles(W[:30], 4, 16)


# -- bad use at the user's line --------------------------------------------------------------------

def test_gemm_sizes_that_do_not_tile_are_refused_at_the_users_line():
    @dsl.region()
    def bad(X: int8[12, 128], Y: int32[12, 64]):
        xs: dsl.Stream[int8[64], 2]
        ws: dsl.Stream[int8[4, 16], 2]
        ys: dsl.Stream[int32[16], 2]
        gemm.aw_gemm[int8, int8, int32, 12, 128, 64, 8, 16, 0](xs, ws, ys)  # bad-tile

    with pytest.raises(dsl.ShapeError) as info:
        dsl.customize(bad)
    assert "M = 12 is not a multiple of Mt = 8" in str(info.value)
    assert info.value.loc.line == _line("# bad-tile")


def test_unsupported_packing_pair_is_refused():
    @dsl.region()
    def bad(Y: int32[8, 64]):
        xs: dsl.Stream[int4[64], 2]
        ws: dsl.Stream[int4[8, 16], 2]
        ys: dsl.Stream[int32[16], 2]
        gemm.aw_gemm[int4, int4, int32, 8, 64, 64, 8, 16, 1](xs, ws, ys)  # bad-pack

    with pytest.raises(dsl.DSLTypeError) as info:
        dsl.customize(bad)
    assert "DSP packing of int4 activations x int4 weights is not supported" in str(info.value)
    assert "int8 x int4" in str(info.value)
    assert info.value.loc.line == _line("# bad-pack")


def test_a_stream_of_the_wrong_type_into_a_unit_names_both_types():
    @dsl.region()
    def bad(X: int16[8, 128], Y: int32[8, 64]):
        xs: dsl.Stream[int16[32], 2]
        ws: dsl.Stream[int8[4, 16], 2]
        ys: dsl.Stream[int32[16], 2]
        gemm.aw_gemm[int8, int8, int32, 8, 128, 64, 8, 16, 0](xs, ws, ys)  # wrong-rows

    with pytest.raises(dsl.CallError) as info:
        dsl.customize(bad)
    assert "is a stream of int8[64], but stream xs carries int16[32]" in str(info.value)
    assert info.value.loc.line == _line("# wrong-rows")


@pytest.mark.parametrize("n", [1, 13, 32])
def test_int8_attention_gemms_take_the_key_count_at_run_time(n):
    """qk_gemm_n / pv_gemm_n over the first n of LK = 32 keys: int8 operands, int32 sums, exactly the
    integer products of the first n keys (the rest of the cache is never read: it holds garbage here)."""
    LQ, LK, D, H = 4, 32, 64, 4
    Q, K, V = (RNG.integers(-127, 128, (r, D)).astype(np.int8) for r in (LQ, LK, LK))
    P = RNG.integers(0, 128, (LQ * H, LK)).astype(np.int8)
    P[:, n:] = 0  # a probability row is zero after its kept keys (attention_probs writes them so)
    _, (_, _, _, _, S, O, _) = _run(U.int8_attention_at_run_time(LQ, LK, D, H, 2, 8),
                                    [Q, K, V, P, np.zeros((LQ * H, LK), np.int32), np.zeros((LQ, D), np.int32),
                                     np.int32(n)])
    dh = D // H
    for h in range(H):  # rows in qk's order: query tile of 2, head, row of the tile
        c = slice(h * dh, (h + 1) * dh)
        want = Q[:, c].astype(np.int64) @ K[:n, c].astype(np.int64).T
        got = np.concatenate([S[(t * H + h) * 2:(t * H + h) * 2 + 2, :n] for t in range(LQ // 2)])
        np.testing.assert_array_equal(got, want)
        probs = np.concatenate([P[(t * H + h) * 2:(t * H + h) * 2 + 2] for t in range(LQ // 2)])
        np.testing.assert_array_equal(O[:, c], probs[:, :n].astype(np.int64) @ V[:n, c].astype(np.int64))


def test_two_weight_loaders_merged_give_the_one_loaders_stream():
    X, W, args = _linear_args(8, 64, 64, 16, 4)
    words = memory.pack_weight_tiles(W, 4, 16)
    w0, w1 = memory.split_words(words, 2)
    _, out = _run(U.linear_two_loaders(8, 64, 64, 4, 16, int4), [X, w0, w1, np.zeros((8, 64), np.int32)])
    np.testing.assert_array_equal(out[3], ref.systolic_linear(X, W))


def test_a_reduction_helper_instantiated_twice_gets_its_schedule():
    """Regression: row_sum called at two row lengths is two functions, row_sum and row_sum_1; the unit
    schedules once looked the second one up by its full name (KeyError) and left it unscheduled."""
    s = dsl.customize(U.two_row_lengths())
    schedule_units(s)
    text = s.to_yaml()
    for helper in ("square_sum", "square_sum_1"):
        assert f"loop: '{helper}:sum_groups', initiation_interval: 32" in text  # 32 partial sums, 1 a cycle
        assert f"buffer: '{helper}:acc', kind: complete" in text
