"""The integer-only (I-BERT-style) GeLU, softmax and LayerNorm (dsl.library.intops): bit-exact against their
numpy integer twins on the CPU and in csim, their streaming forms (dsl.library.units.integer) on the simulator
and in csim, and within the stated distance of the float functions they approximate (dsl/library/README.md)."""
import math

import numpy as np
import pytest

import dsl
from dsl import int32, int64
from dsl.library import intops as I
from dsl.library.units import integer, schedule_units
from tests import unit_designs as U
from tests.markers import line_of

RNG = np.random.default_rng(11)


def _build(kernel, inst, target="llvm"):
    s = dsl.customize(kernel, instantiate=inst)
    I.schedule_int(s)
    return s.build() if target == "llvm" else dsl.build(s, target="vitis_hls", mode="csim")


def _gelu_case(R, D, S=0.02):
    X = RNG.integers(-400, 400, (R, D)).astype(np.int32)  # x in [-8, 8]
    X[0, :4] = [0, 1, -1, 399]
    return X, I.gelu_params(S)


def _softmax_case(R, D, S=0.05):
    X = RNG.integers(-300, 300, (R, D)).astype(np.int32)   # scores in [-15, 15]
    X[0, :] = 7          # a flat row
    X[1, 0] = -30000     # far below the row's maximum: exp clamps at 2^-30
    return X, I.softmax_params(S, D)


def _layer_norm_case(R, D):
    X = RNG.integers(-3000, 3000, (R, D)).astype(np.int16)
    X[0, :] = 5                                  # zero variance
    X[1, :] = np.where(np.arange(D) % 2, 32767, -32768)   # the largest variance of int16
    return X


@pytest.mark.parametrize("target", ["llvm", "csim"])
def test_integer_gelu_is_bit_exact(target):
    R, D = (64, 768) if target == "llvm" else (4, 32)
    X, (qb, qc, q1, _) = _gelu_case(R, D)
    np.testing.assert_array_equal(_build(I.int_gelu, [R, D], target)(X, qb, qc, q1), I.int_gelu_ref(X, qb, qc, q1))


@pytest.mark.parametrize("target", ["llvm", "csim"])
def test_integer_softmax_is_bit_exact(target):
    R, D = (64, 512) if target == "llvm" else (4, 32)
    X, params = _softmax_case(R, D)
    np.testing.assert_array_equal(_build(I.int_softmax, [R, D], target)(X, *params), I.int_softmax_ref(X, *params))


@pytest.mark.parametrize("target", ["llvm", "csim"])
def test_integer_layer_norm_is_bit_exact(target):
    R, D = (64, 768) if target == "llvm" else (4, 32)
    X = _layer_norm_case(R, D)
    np.testing.assert_array_equal(_build(I.int_layer_norm, [R, D], target)(X), I.int_layer_norm_ref(X))


def test_the_integer_square_root_is_exact():
    n = np.concatenate([np.arange(0, 5000), RNG.integers(0, 1 << 48, 20000), [(1 << 48) - 1, (1 << 46)]])
    expect = np.array([max(math.isqrt(int(v)), 1) for v in n])
    np.testing.assert_array_equal(I.isqrt_newton_ref(n), expect)


def test_accuracy_against_the_float_functions():
    S = 0.02
    X, (qb, qc, q1, s_out) = _gelu_case(8, 768, S)
    x = X.astype(np.float64) * S
    gelu = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    assert np.abs(I.int_gelu_ref(X, qb, qc, q1) * s_out - gelu).max() < 0.02       # I-BERT's erf polynomial
    S = 0.05
    X, params = _softmax_case(8, 512, S)
    x = X.astype(np.float64) * S
    soft = np.exp(x - x.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    assert np.abs(I.int_softmax_ref(X, *params) / 2.0 ** I.OUT_BITS - soft).max() < 1.5 / 2 ** I.OUT_BITS
    X = _layer_norm_case(8, 768)[2:]
    x = X.astype(np.float64)
    norm = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    assert np.abs(I.int_layer_norm_ref(X) * math.sqrt(768) / 2.0 ** 30 - norm).max() < 2e-3


def test_bad_scales_and_sizes_are_refused():
    with pytest.raises(dsl.DSLError, match=r"S = 1e-06 must be a number in \[0.000122, 1\]"):
        I.gelu_params(1e-6)
    with pytest.raises(dsl.DSLError, match="would not fit the 64-bit sum"):
        I.softmax_params(2.0 ** -14, 512)
    with pytest.raises(dsl.ShapeError) as err:
        dsl.customize(I.int_layer_norm, instantiate=[4, 8192])  # MARK-ln
    assert "D = 8192 must be at most 4096" in str(err.value)
    assert err.value.loc.line == line_of(__file__, "# MARK-ln")


# -- the streaming forms (dsl.library.units.integer) ---------------------------------------------------------

def _integer_rows_case(L, D):
    XG, gelu = _gelu_case(L, D)
    XS, soft = _softmax_case(L, D)
    XL = _layer_norm_case(L, D)
    args = [XG, XS, XL, np.zeros((L, D), np.int64), np.zeros((L, D), np.int32), np.zeros((L, D), np.int64),
            *gelu[:3], *soft]
    expect = [I.int_gelu_ref(XG, *gelu[:3]), I.int_softmax_ref(XS, *soft), I.int_layer_norm_ref(XL)]
    return args, expect


@pytest.mark.parametrize("target,L,D", [("sim", 8, 768), ("csim", 4, 64)])
def test_integer_row_units_are_bit_exact(target, L, D):
    """The units compute what the memory-to-memory kernels compute (the same row kernels), on the simulator
    at BERT-base row lengths and in csim of the scheduled design."""
    args, expect = _integer_rows_case(L, D)
    s = dsl.customize(U.integer_rows(L, D))
    schedule_units(s)
    mod = dsl.build(s, target="sim") if target == "sim" else dsl.build(s, target="vitis_hls", mode="csim")
    mod(*args)
    for got, want in zip(args[3:6], expect):
        np.testing.assert_array_equal(got, want)


def test_integer_row_unit_schedules():
    s = dsl.customize(U.integer_rows(4, 64))
    schedule_units(s)
    code = str(dsl.build(s, target="vhls"))
    for row, loops in (("int_gelu_row", ("gelu",)), ("int_softmax_row", ("max", "exp", "normalize")),
                       ("int_layer_norm_row", ("sum", "square", "normalize"))):
        body = code[code.index(f"static void {row}("):]
        body = body[:body.index("\n}\n")]
        for loop in loops:
            at = body.index(f"l_{loop}_")
            assert body[at:].splitlines()[1].strip() == "#pragma HLS pipeline II=1", (row, loop)
        assert "l_sqrt_it" not in body or "pipeline" not in body[body.index("l_sqrt_it"):].splitlines()[1]
    assert "array_partition variable=xb type=cyclic factor=16 dim=1" in code   # int32 tokens of 16


def test_integer_row_units_refuse_rows_that_do_not_split_into_tokens():
    @dsl.region()
    def bad(X: int32[2, 24], Z: int64[2, 24]):
        xs: dsl.Stream[int32[16], 2]
        zs: dsl.Stream[int64[8], 2]
        integer.int_gelu_rows[2, 24](xs, zs, 1, 2, 3)  # bad-row

    with pytest.raises(dsl.ShapeError) as info:
        dsl.customize(bad)
    assert "must be a multiple of 16" in str(info.value)
    assert info.value.loc.line == line_of(__file__, "# bad-row")
