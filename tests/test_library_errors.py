"""Bad use of a library kernel (issue 10 acceptance) is a dsl.DSLError at the user's line that says what is
allowed: sizes that do not divide the array, unsupported type pairs for packing, wrong element types."""
import pytest

import dsl
from dsl import float16, float32, int4, int8, int16, int32
from dsl.library import gemv, nn, quant, systolic
from tests.markers import line_of


def assert_at(err, marker):
    assert err.value.loc is not None and err.value.loc.file == __file__
    assert err.value.loc.line == line_of(__file__, marker)


def test_tile_that_does_not_divide_at_customize():
    with pytest.raises(dsl.ShapeError) as err:
        dsl.customize(systolic.gemm, instantiate=[int8, int4, int32, 512, 768, 3072, 7, 16])  # MARK-tile
    assert_at(err, "MARK-tile")
    text = str(err.value)
    assert "M = 512 is not a multiple of Mt = 7" in text and "divisors of 512: 1, 2, 4, 8, 16, 32, 64" in text


def test_packing_pair_not_supported_inside_a_kernel():
    def top(A: int8[16, 8], B: int16[8, 16]) -> int32[16, 16]:
        return systolic.packed_gemm[int8, int16, int32, 16, 8, 16, 4, 4](A, B)  # MARK-pair

    with pytest.raises(dsl.DSLTypeError) as err:
        dsl.customize(top)
    assert_at(err, "MARK-pair")
    assert "int8 x int4, int8 x int8" in str(err.value) and "int16" in str(err.value)


def test_packed_accumulator_and_odd_columns():
    with pytest.raises(dsl.DSLTypeError, match="accumulates into .*int32"):
        dsl.customize(systolic.packed_gemm, instantiate=[int8, int4, int16, 16, 8, 16, 4, 4])
    with pytest.raises(dsl.ShapeError, match="Nt = 5 must be even"):
        dsl.customize(systolic.packed_gemm, instantiate=[int8, int4, int32, 16, 8, 15, 4, 5])


def test_float_kernels_take_float32_only():
    def top(X: float16[4, 8]) -> float16[4, 8]:
        return nn.softmax[float16, 4, 8](X)  # MARK-f16

    with pytest.raises(dsl.DSLTypeError) as err:
        dsl.customize(top)
    assert_at(err, "MARK-f16")
    assert "allowed: float32" in str(err.value)


def test_heads_must_divide_the_model_dimension():
    with pytest.raises(dsl.ShapeError, match="D = 20 is not a multiple of H = 3"):
        dsl.customize(nn.scaled_dot_product_attention, instantiate=[float32, 3, 4, 4, 20])
    with pytest.raises(dsl.ShapeError, match="D = 12 is not a multiple of 2\\*H = 8"):
        dsl.customize(nn.rope, instantiate=[float32, 4, 4, 12])


def test_quantisation_targets():
    with pytest.raises(dsl.DSLTypeError, match="allowed: int8, int4"):
        dsl.customize(quant.quantize, instantiate=[float32, int16, 4, 4])
    with pytest.raises(dsl.DSLTypeError, match="must be an integer type"):
        dsl.customize(quant.dequantize, instantiate=[float32, float32, 4, 4])


def test_gemv_word_sizes():
    with pytest.raises(dsl.ShapeError, match="K = 100 is not a multiple of P = 16"):
        dsl.customize(gemv.gemv, instantiate=[int8, int4, int32, 4, 100, 16])
    with pytest.raises(dsl.DSLTypeError, match="at most 512 bits"):
        dsl.customize(gemv.gemv, instantiate=[int8, int8, int32, 4, 128, 128])


def test_mixed_float_and_integer_products():
    with pytest.raises(dsl.DSLTypeError, match="float products are float32 x float32 -> float32"):
        dsl.customize(nn.linear2d, instantiate=[float32, int8, float32, 4, 4, 4])


def test_sizes_must_be_positive_integers():
    with pytest.raises(dsl.ShapeError, match="L = 0 must be an integer >= 1"):
        dsl.customize(nn.layer_norm, instantiate=[float32, 0, 8])
    with pytest.raises(dsl.CallError, match="type parameters"):
        dsl.customize(nn.layer_norm, instantiate=[float32, 8])


def test_wrong_argument_shape_at_the_call():
    mod = dsl.customize(nn.gelu, instantiate=[float32, 4, 8]).build()
    import numpy as np

    with pytest.raises(dsl.CallError, match="must have shape \\[4, 8\\]"):
        mod(np.zeros((8, 4), np.float32))


def _even(T, N):
    if N % 2:
        raise dsl.ShapeError(f"N = {N} must be even")


@dsl.template("T", "N", check=_even)
def halves(A: "T[N]") -> "T[N]":
    Z: T[N]
    for i in range(N // 2):
        Z[i] = A[2 * i]
        Z[N // 2 + i] = A[2 * i + 1]
    return Z


def test_template_check_is_a_language_feature():
    """dsl.template(..., check=fn): fn sees the instantiation and its DSLError lands on the user's line."""
    with pytest.raises(dsl.ShapeError, match="N = 5 must be even") as err:
        dsl.customize(halves, instantiate=[int32, 5])  # MARK-check-top
    assert_at(err, "MARK-check-top")

    def caller(A: int32[7]) -> int32[7]:
        return halves[int32, 7](A)  # MARK-check-call

    with pytest.raises(dsl.ShapeError) as err:
        dsl.customize(caller)
    assert_at(err, "MARK-check-call")
    assert dsl.customize(halves, instantiate=[int32, 6]).build()(__import__("numpy").arange(6, dtype="int32")).tolist() \
        == [0, 2, 4, 1, 3, 5]
