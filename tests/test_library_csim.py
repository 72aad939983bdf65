"""The library's kernels in csim (g++ on the emitted HLS C++, issue 10 acceptance): bit-exact against their numpy
references at small sizes. Kernels are called from a few test kernels, each library kernel's predefined
schedule composed in (``s.compose``), so that one g++ build covers many kernels with their pragmas."""
import numpy as np
import pytest

import dsl
from dsl import float32, int4, int8, int32
from dsl.library import gemv, intops, nn, quant, ref, registry, scheduled, systolic

L, D, N, LK, H = 6, 16, 10, 8, 2
RNG = np.random.default_rng(21)


def f(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def rows_kernels(X: float32[L, D], g: float32[D], b: float32[D]) -> (
        float32[L, D], float32[L, D], float32[L, D], float32[L, D], float32[L, D], float32[L, D],
        float32[L, D], float32[L, D], float32[L, D], float32[L, D], float32[L, D]):
    return (nn.softmax[float32, L, D](X), nn.masked_softmax[float32, L, D](X, 0.25, 1),
            nn.log_softmax[float32, L, D](X), nn.layer_norm[float32, L, D](X, g, b),
            nn.rms_norm[float32, L, D](X, g), nn.gelu[float32, L, D](X), nn.gelu_tanh[float32, L, D](X),
            nn.silu[float32, L, D](X), nn.residual_add[float32, L, D](X, X),
            nn.layer_norm_eps[float32, L, D](X, g, b, 1e-12), nn.relu[float32, L, D](X))


def matrix_kernels(X: float32[L, D], W: float32[N, D], b: float32[N], Q: float32[L, D], K: float32[LK, D],
                   V: float32[LK, D], cos: float32[L, D // H // 2], sin: float32[L, D // H // 2],
                   ids: int32[L], tok: float32[20, D], pos: float32[12, D], X3: float32[2, L, D],
                   B: float32[D, N], B3: float32[2, D, N], cache: float32[LK, D]) -> (
        float32[L, N], float32[L, D], float32[L, D], float32[L, D], float32[L, D], float32[2, L, N],
        float32[L, N], float32[2, L, N], float32[3, D]):
    nn.kv_append[float32, LK, D, L](cache, Q, 2)  # Q into cache rows 2..7, in place
    return (nn.linear2d[float32, float32, float32, L, N, D](X, W, b),
            nn.scaled_dot_product_attention[float32, H, L, LK, D](Q, K, V, 0),
            nn.scaled_dot_product_attention[float32, H, L, LK, D](Q, K, V, 100),
            nn.rope[float32, H, L, D](X, cos, sin), nn.embedding[float32, 20, 12, L, D](ids, tok, pos, 3),
            nn.linear3d[float32, float32, float32, 2, L, N, D](X3, W, b),
            nn.matmul[float32, float32, float32, L, D, N](X, B), nn.bmm[float32, float32, float32, 2, L, D, N](X3, B3),
            nn.kv_read[float32, LK, D, 3](cache, 3))


M, K_, NN, MT, NT = 16, 24, 32, 4, 8


def int_kernels(A: int8[M, K_], B4: int4[K_, NN], W8: int8[NN, K_], x: int8[64], Wv: dsl.UInt(64)[N, 4],
                Xf: float32[L, D], acc: int32[L, D], mult: int32[D], shift: int32[D], sr: float32[L],
                sc: float32[D], mult1: int32, shift1: int32) -> (
        int32[M, NN], int32[M, NN], int32[M, NN], int32[N], int8[L, D], int4[L, D], int8[L, D], float32[L, D],
        int32[M, NN], int8[L, D], float32[L, D], int8[L, D], float32[L, D], float32[L, D]):
    q, s = quant.quantize_per_token[float32, int8, L, D](Xf)
    return (systolic.gemm[int8, int4, int32, M, K_, NN, MT, NT](A, B4),
            systolic.packed_gemm[int8, int4, int32, M, K_, NN, MT, NT](A, B4),
            systolic.packed_linear[int8, int8, int32, M, K_, NN, MT, NT](A, W8),
            gemv.gemv[int8, int4, int32, N, 64, 16](x, Wv),
            quant.requantize_rows[int8, L, D](acc, mult, shift),
            quant.quantize[float32, int4, L, D](Xf, 0.5), q,
            quant.dequantize_rows[int32, float32, L, D](acc, sr, sc),
            systolic.linear[int8, int8, int32, M, K_, NN, MT, NT](A, W8),
            quant.quantize_rows[float32, int8, L, D](Xf, sr),
            quant.dequantize[int8, float32, L, D](q, 0.125),
            quant.requantize[int8, L, D](acc, mult1, shift1),
            quant.smooth[float32, L, D](Xf, sc), quant.smooth_weight[float32, L, D](Xf, sc))


def integer_only_kernels(XG: int32[L, D], XS: int32[L, D], XL: dsl.int16[L, D], qb: dsl.int64, qc: dsl.int64,
                         q1: dsl.int64, q_ln2: dsl.int64, sb: dsl.int64, sc: dsl.int64) -> (
        dsl.int64[L, D], int32[L, D], dsl.int64[L, D]):
    return (intops.int_gelu[L, D](XG, qb, qc, q1), intops.int_softmax[L, D](XS, q_ln2, sb, sc),
            intops.int_layer_norm[L, D](XL))


# registry names of the kernels the four test kernels above call
CSIM_COVERED = {"int_gelu", "int_softmax", "int_layer_norm",
    "softmax", "masked_softmax", "log_softmax", "layer_norm", "layer_norm_eps", "rms_norm", "gelu", "gelu_tanh",
    "silu", "relu", "residual_add", "linear2d", "linear3d", "matmul", "bmm", "scaled_dot_product_attention", "rope",
    "embedding", "kv_append", "kv_read", "quantize", "quantize_rows", "quantize_per_token", "dequantize",
    "dequantize_rows", "requantize", "requantize_rows", "smooth", "smooth_weight", "gemm", "packed_gemm",
    "systolic_linear", "packed_linear", "gemv",
    "gemm_wide", "packed_gemm_wide",  # their own csim test (tests/test_library_gemm_wide.py: packed words of 32 to 128 bits)
}


def test_every_library_kernel_is_covered_in_csim():
    assert CSIM_COVERED == set(registry.BY_NAME)


def compose_all(s, parts):
    for kernel, inst in parts:
        s.compose(scheduled(kernel, inst))
    return s


def csim(kernel, parts, *args):
    s = compose_all(dsl.customize(kernel), parts)
    cpu = s.build()(*args)
    return dsl.build(s, target="vitis_hls", mode="csim")(*args), cpu


def assert_all_bits(got, expected):
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        if e.dtype.kind == "f":
            assert np.array_equal(g.view(np.int32), e.astype(np.float32).view(np.int32)), k
        else:
            assert np.array_equal(g.astype(np.int64), e.astype(np.int64)), k


def test_row_kernels_in_csim():
    X, g, b = f(L, D, scale=3), f(D), f(D)
    got, cpu = csim(rows_kernels, [(nn.softmax, [float32, L, D]), (nn.layer_norm, [float32, L, D]),
                                   (nn.rms_norm, [float32, L, D]), (nn.gelu, [float32, L, D])], X, g, b)
    expected = (ref.softmax(X), ref.masked_softmax(X, 0.25, 1), ref.log_softmax(X), ref.layer_norm(X, g, b),
                ref.rms_norm(X, g), ref.gelu(X), ref.gelu_tanh(X), ref.silu(X), ref.residual_add(X, X),
                ref.layer_norm_eps(X, g, b, 1e-12), ref.relu(X))
    assert_all_bits(got, expected)
    assert_all_bits(cpu, expected)


def test_matrix_and_attention_kernels_in_csim():
    X, W, b = f(L, D), f(N, D), f(N)
    Q, K, V = f(L, D), f(LK, D), f(LK, D)
    cos, sin = ref.rope_tables(np.arange(L), D // H)
    ids, tok, pos = RNG.integers(0, 20, L).astype(np.int32), f(20, D), f(12, D)
    X3, B, B3, cache = f(2, L, D), f(D, N), f(2, D, N), f(LK, D)
    args = (X, W, b, Q, K, V, cos, sin, ids, tok, pos, X3, B, B3)
    cached = ref.kv_append(cache, Q, 2)
    expected = (ref.linear2d(X, W, b), ref.scaled_dot_product_attention(Q, K, V, H, 0),
                ref.scaled_dot_product_attention(Q, K, V, H, 100), ref.rope(X, cos, sin, H),
                ref.embedding(ids, tok, pos, 3), ref.linear3d(X3, W, b), ref.matmul(X, B), ref.bmm(X3, B3),
                ref.kv_read(cached, 3, 3))
    s = compose_all(dsl.customize(matrix_kernels), [
        (nn.linear2d, [float32, float32, float32, L, N, D]), (nn.matmul, [float32, float32, float32, L, D, N]),
        (nn.scaled_dot_product_attention, [float32, H, L, LK, D]), (nn.kv_append, [float32, LK, D, L])])
    for target in ("llvm", "csim"):
        cache_copy = cache.copy()
        mod = s.build() if target == "llvm" else dsl.build(s, target="vitis_hls", mode="csim")
        assert_all_bits(mod(*args, cache_copy), expected)
        assert np.array_equal(cache_copy, cached)  # kv_append wrote the caller's array


def test_integer_kernels_in_csim():
    A = RNG.integers(-128, 128, (M, K_)).astype(np.int8)
    B4 = RNG.integers(-8, 8, (K_, NN)).astype(np.int8)
    W8 = RNG.integers(-128, 128, (NN, K_)).astype(np.int8)
    x = RNG.integers(-128, 128, 64).astype(np.int8)
    wv = RNG.integers(-8, 8, (N, 64))
    Xf = f(L, D, scale=3)
    acc = RNG.integers(-2 ** 24, 2 ** 24, (L, D)).astype(np.int32)
    ms = [quant.fixed_point_multiplier(float(v)) for v in np.abs(f(D)) * 1e-5 + 1e-7]
    mult, shift = (np.array(v, dtype=np.int32) for v in zip(*ms))
    sr, sc = np.abs(f(L)) * np.float32(0.01), np.abs(f(D)) * np.float32(0.01)
    m1, s1 = quant.fixed_point_multiplier(2.3e-6)
    sr = sr + np.float32(0.01)
    got, cpu = csim(int_kernels, [(systolic.gemm, [int8, int4, int32, M, K_, NN, MT, NT]),
                                  (systolic.packed_gemm, [int8, int4, int32, M, K_, NN, MT, NT]),
                                  (gemv.gemv, [int8, int4, int32, N, 64, 16])],
                    A, B4, W8, x, gemv.pack_words(wv, 4, 16), Xf, acc, mult, shift, sr, sc, m1, s1)
    q = ref.quantize_per_token(Xf)[0]
    expected = (ref.gemm(A, B4), ref.gemm(A, B4), ref.systolic_linear(A, W8), ref.gemv_packed(x, wv),
                ref.requantize_rows(acc, mult, shift), ref.quantize(Xf, 0.5, bits=4), q,
                ref.dequantize_rows(acc, sr, sc), ref.systolic_linear(A, W8), ref.quantize_rows(Xf, sr),
                ref.dequantize(q, 0.125), ref.requantize(acc, m1, s1), ref.smooth(Xf, sc),
                ref.smooth_weight(Xf, sc))
    assert_all_bits(got, expected)
    assert_all_bits(cpu, expected)


def test_integer_only_kernels_in_csim():
    XG, XS = RNG.integers(-400, 400, (L, D)).astype(np.int32), RNG.integers(-300, 300, (L, D)).astype(np.int32)
    XL = RNG.integers(-3000, 3000, (L, D)).astype(np.int16)
    gelu, soft = intops.gelu_params(0.02)[:3], intops.softmax_params(0.05, D)
    got, cpu = csim(integer_only_kernels, [(intops.int_gelu, [L, D]), (intops.int_softmax, [L, D]),
                                           (intops.int_layer_norm, [L, D])], XG, XS, XL, *gelu, *soft)
    expected = (intops.int_gelu_ref(XG, *gelu), intops.int_softmax_ref(XS, *soft), intops.int_layer_norm_ref(XL))
    assert_all_bits(got, expected)
    assert_all_bits(cpu, expected)


@pytest.mark.parametrize("entry", registry.KERNELS, ids=[e.name for e in registry.KERNELS])
def test_every_kernel_emits_hls_with_its_schedule(entry):
    """Each kernel's own schedule is applied as the top and the HLS code carries its directives."""
    s = dsl.customize(entry.kernel, instantiate=list(entry.small))
    entry.schedule(s)
    code = dsl.build(s, target="vhls")
    assert "#pragma HLS pipeline II=" in code
    assert "#pragma HLS interface m_axi" in code


def test_int64_shift_of_a_small_constant_in_csim():
    """Regression: a 64-bit constant 1 was printed as a plain `1`, so `1 << 40` shifted a 32-bit int."""
    def shifted(s: int32[3]) -> dsl.int64[3]:
        out: dsl.int64[3]
        for i in range(3):
            out[i] = dsl.int64(1) << s[i]
        return out

    s = np.array([3, 31, 40], dtype=np.int32)
    got = dsl.build(dsl.customize(shifted), target="vitis_hls", mode="csim")(s)
    assert got.tolist() == [8, 1 << 31, 1 << 40]
