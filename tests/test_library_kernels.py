"""The library's memory-to-memory kernels (issue 10, parts 2-4, 7) on the CPU backend: every kernel agrees
with its numpy reference bit for bit (integers and float32), at small sizes and, for the GEMMs, softmax,
LayerNorm, GeLU and attention, at BERT-base sizes; float kernels are also within their stated tolerance of
float64 numpy."""
import numpy as np
import pytest

import dsl
from dsl import float32, int4, int8, int32
from dsl.library import gemv, nn, quant, ref, registry, rows, systolic

ENTRIES = registry.KERNELS
BERT_BASE = ["softmax", "masked_softmax", "log_softmax", "layer_norm", "gelu", "gelu_tanh",
             "scaled_dot_product_attention", "matmul", "bmm", "gemm", "gemm_wide", "packed_gemm_wide", "systolic_linear", "packed_linear", "gemv",
             "quantize_per_token", "requantize_rows", "dequantize_rows", "int_gelu", "int_softmax", "int_layer_norm"]
BERT_BASE_SLOW = [e.name for e in ENTRIES if e.name not in BERT_BASE]
# max |error| / max |exact| against float64 numpy at BERT-base sizes (dsl/library/README.md, numerics): about
# three times what was measured; element-wise relative errors are meaningless where a sum cancels to ~0
TOLERANCE = {"softmax": 2e-6, "log_softmax": 3e-7, "layer_norm": 4e-7, "linear2d": 3e-6, "matmul": 1e-6,
             "bmm": 1e-6, "scaled_dot_product_attention": 6e-7}


def run(entry, inst, seed=0):
    args = entry.inputs(inst, np.random.default_rng(seed))
    expected = entry.reference(inst, *args)
    s = dsl.customize(entry.kernel, instantiate=list(inst))
    entry.schedule(s)  # a schedule never changes the CPU result
    got = s.build()(*args)
    if entry.written is not None:
        assert got is None
        got = args[entry.written]
    return args, got, expected


def assert_bits_equal(got, expected):
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape
        if e.dtype.kind == "f":
            assert g.dtype == np.float32 and np.array_equal(g.view(np.int32), e.astype(np.float32).view(np.int32))
        else:
            assert np.array_equal(g.astype(np.int64), e.astype(np.int64))


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_small_sizes_bit_exact(entry):
    _, got, expected = run(entry, entry.small)
    assert_bits_equal(got, expected)


@pytest.mark.parametrize("name", BERT_BASE)
def test_bert_base_sizes_bit_exact(name):
    entry = registry.BY_NAME[name]
    args, got, expected = run(entry, entry.bert_base)
    assert_bits_equal(got, expected)
    check_accuracy(entry, args, got)


def check_accuracy(entry, args, got):
    if entry.name in TOLERANCE:
        wide = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a for a in args]
        exact = entry.numpy(entry.bert_base, *wide)
        scale = np.abs(exact).max()
        assert np.abs(np.asarray(got, dtype=np.float64) - exact).max() <= TOLERANCE[entry.name] * scale


@pytest.mark.slow
@pytest.mark.parametrize("name", BERT_BASE_SLOW)
def test_bert_base_sizes_bit_exact_others(name):
    entry = registry.BY_NAME[name]
    args, got, expected = run(entry, entry.bert_base)
    assert_bits_equal(got, expected)
    check_accuracy(entry, args, got)


def test_masked_softmax_rows_keep_past_plus_i_plus_one_columns():
    X = np.random.default_rng(3).standard_normal((5, 9)).astype(np.float32)
    Z = dsl.customize(nn.masked_softmax, instantiate=[float32, 5, 9]).build()(X, np.float32(1.0), 2)
    for i in range(5):
        keep = min(2 + i + 1, 9)
        assert np.all(Z[i, keep:] == 0) and np.all(Z[i, :keep] > 0)
        assert abs(Z[i].sum() - 1) < 1e-6


def test_attention_decode_against_a_cache_matches_prefill():
    """Decode of the last query against a cache holding every key gives the prefill's last row."""
    rng = np.random.default_rng(4)
    L, D, H = 8, 16, 2
    Q, K, V = (rng.standard_normal((L, D)).astype(np.float32) for _ in range(3))
    prefill = dsl.customize(nn.scaled_dot_product_attention, instantiate=[float32, H, L, L, D]).build()
    decode = dsl.customize(nn.scaled_dot_product_attention, instantiate=[float32, H, 1, 12, D]).build()
    cache_k, cache_v = np.zeros((12, D), np.float32), np.zeros((12, D), np.float32)
    cache_k[:L], cache_v[:L] = K, V
    last = decode(Q[L - 1:], cache_k, cache_v, L - 1)
    assert np.array_equal(last[0], prefill(Q, K, V, 0)[L - 1])


def test_kv_append_writes_the_callers_cache_in_place():
    rng = np.random.default_rng(5)
    cache, new = rng.standard_normal((10, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    expected = ref.kv_append(cache, new, 4)
    dsl.customize(nn.kv_append, instantiate=[float32, 10, 8, 3]).build()(cache, new, 4)
    assert np.array_equal(cache, expected)


def test_integer_linear2d_and_bias():
    rng = np.random.default_rng(6)
    X, W = rng.integers(-128, 128, (6, 12)).astype(np.int8), rng.integers(-8, 8, (10, 12)).astype(np.int8)
    b = rng.integers(-1000, 1000, 10).astype(np.int32)
    got = dsl.customize(nn.linear2d, instantiate=[int8, int4, int32, 6, 10, 12]).build()(X, W, b)
    assert np.array_equal(got, X.astype(np.int64) @ W.T.astype(np.int64) + b)


def test_quantize_rounds_half_to_even_and_clamps_symmetrically():
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, 1e9, -1e9, -0.0, 126.5]], dtype=np.float32)
    q = dsl.customize(quant.quantize, instantiate=[float32, int8, 1, 10]).build()(x, np.float32(1.0))
    assert q.tolist() == [[0, 2, 2, 0, -2, 0, 127, -127, 0, 126]]
    q4 = dsl.customize(quant.quantize, instantiate=[float32, int4, 1, 10]).build()(x, np.float32(1.0))
    assert q4.tolist() == [[0, 2, 2, 0, -2, 0, 7, -7, 0, 7]]


def test_quantize_per_token_absmax_lanes_give_the_bits_of_one_sequential_max():
    """The absmax is an 8-lane reduction (rows.row_absmax): max is exact, so the lanes agree with
    np.abs(x).max() on every row, whatever lane holds the maximum, including rows of -0.0, infinities,
    subnormals and ties between +m and -m."""
    X = np.array([
        [-0.0] * 19 + [0.0],
        [1e-45, -2e-45] + [0.0] * 18,
        [3.0, -3.0] * 10,
        [np.inf] + [1.0] * 19,
        [1.0] * 19 + [-np.inf],
        list(np.linspace(-5, 4, 20)),
    ], dtype=np.float32)
    q, s = dsl.customize(quant.quantize_per_token, instantiate=[float32, int8, 6, 20]).build()(X)
    want_q, want_s = ref.quantize_per_token(X)
    assert np.array_equal(s.view(np.int32), want_s.view(np.int32))
    finite = [0, 1, 2, 5]   # the other scales are inf: x / s has no integer
    assert np.array_equal(q[finite], want_q[finite])
    for n in (0, 1, 7, 8, 9, 17, 20):   # the tail loop: lengths that are not a multiple of the lanes
        x = np.random.default_rng(n).standard_normal(20).astype(np.float32)
        got = dsl.customize(_absmax_of_first, instantiate=[n]).build()(x)
        assert np.float32(got).view(np.int32) == np.abs(x[:n]).max(initial=np.float32(0)).view(np.int32)


def _tiny_rows(qmax):
    """Rows whose absmax is subnormal (1e-45, 1e-43: the scale m / qmax was 0 and x / 0 gave inf and NaN),
    normal but just under qmax * 2^-126 (the scale would be subnormal), at and just above it."""
    edge = np.float32(qmax * 2.0 ** -126)
    below, above = np.nextafter(edge, np.float32(0)), np.nextafter(edge, np.float32(1))
    rows_ = [[1e-45, -1e-45], [1e-43, -5e-44], [np.float32(2.0 ** -126), 0.0], [below, -below / 2],
             [edge, -edge / 4], [-above, above / 3]]
    return np.array([r + [0.0] * 18 for r in rows_], dtype=np.float32), edge


@pytest.mark.parametrize("TQ, qmax", [(int8, 127), (int4, 7)])
def test_quantize_per_token_rows_too_small_for_a_normal_scale_quantise_as_zero_rows(TQ, qmax):
    X, edge = _tiny_rows(qmax)
    q, s = dsl.customize(quant.quantize_per_token, instantiate=[float32, TQ, 6, 20]).build()(X)
    want_q, want_s = ref.quantize_per_token(X, TQ.bits)
    assert np.array_equal(s.view(np.int32), want_s.view(np.int32)) and np.array_equal(q, want_q)
    assert s[:4].tolist() == [1.0] * 4 and not q[:4].any()           # under the edge: an all-zero row
    assert (s[4:] >= np.float32(2.0 ** -126)).all() and s[4] == np.float32(2.0 ** -126)  # normal scales
    assert q[4, :2].tolist() == [qmax, round(-qmax / 4)] and q[5, 0] == -qmax


@dsl.template("N")
def _absmax_of_first(x: float32[20]) -> float32:
    return rows.row_absmax[float32, 20](x, N)


def test_requantize_is_a_rounding_fixed_point_multiply():
    mult, shift = quant.fixed_point_multiplier(0.25)
    assert (mult, shift) == (1 << 30, 32)
    acc = np.array([[-6, -5, -3, -2, 2, 3, 5, 6, 1000, -1000]], dtype=np.int32)
    q = dsl.customize(quant.requantize, instantiate=[int8, 1, 10]).build()(acc, mult, shift)
    assert q.tolist() == [[-1, -1, -1, 0, 1, 1, 1, 2, 127, -127]]  # round half up, clamp to +-127
    for scale in (3.7e-6, 0.0123, 0.999, 2.5):
        m, s = quant.fixed_point_multiplier(scale)
        assert 1 << 30 <= m < 1 << 31 and abs(m / 2 ** s - scale) <= scale * 2 ** -30


def test_systolic_gemm_tiles_and_packing_agree():
    rng = np.random.default_rng(7)
    A, B = rng.integers(-128, 128, (32, 40)).astype(np.int8), rng.integers(-8, 8, (40, 48)).astype(np.int8)
    plain = dsl.customize(systolic.gemm, instantiate=[int8, int4, int32, 32, 40, 48, 8, 16]).build()(A, B)
    packed = dsl.customize(systolic.packed_gemm, instantiate=[int8, int4, int32, 32, 40, 48, 8, 16]).build()(A, B)
    assert np.array_equal(plain, A.astype(np.int64) @ B.astype(np.int64)) and np.array_equal(plain, packed)


def test_gemv_word_layout():
    """Weight p of a word sits in bits [p*b, (p+1)*b): a word with only weight 1 set to -1 selects x[1]."""
    x = np.arange(1, 17, dtype=np.int8)
    W = np.zeros((1, 16), np.int64)
    W[0, 1] = -1
    words = gemv.pack_words(W, 4, 16)
    assert int(words[0, 0]) == 0xF << 4
    y = dsl.customize(gemv.gemv, instantiate=[int8, int4, int32, 1, 16, 16]).build()(x, words)
    assert y.tolist() == [-2]
