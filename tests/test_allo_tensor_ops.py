"""Allo's named tensor operations, ``.T``, tensor slices and list initialisers, against numpy (CPU), and a
few in csim."""
import numpy as np
import pytest

import dsl
from dsl import float32, int8, int16, int32

RNG = np.random.default_rng(11)


def _f(*shape):
    return RNG.random(shape, dtype=np.float32)


def _i(*shape, lo=-20, hi=20, dtype=np.int32):
    return RNG.integers(lo, hi, shape).astype(dtype)


def test_add_sub_mul_div_nest_and_broadcast_scalars():
    def k1(A: int32[10]) -> int32[10]:
        return dsl.div(dsl.mul(dsl.sub(dsl.add(A, 3), 1), 2), 2)

    def k2(A: int32[10]) -> int32[10]:
        return dsl.sub(50, dsl.mul(2, dsl.add(3, dsl.div(10, A))))

    A = np.r_[1:6, -5:0].astype(np.int32)
    np.testing.assert_array_equal(dsl.customize(k1).build()(A), dsl.div(dsl.mul(dsl.sub(dsl.add(A, 3), 1), 2), 2))
    got = dsl.customize(k2).build()(A)
    np.testing.assert_array_equal(got, dsl.sub(50, dsl.mul(2, dsl.add(3, dsl.div(10, A)))))
    assert dsl.div(np.int32(-7), np.int32(2)) == -3  # C division, as in the kernel


def test_scalar_operands_give_scalars():
    def k(a: int32, b: int32) -> int32:
        return dsl.add(dsl.mul(a, b), 1)

    assert dsl.customize(k).build()(6, 7) == 43


def test_name_names_the_band_for_schedules():
    def k(A: float32[4, 4], B: float32[4, 4]) -> float32[4, 4]:
        C = dsl.add(A, B, name="bias")
        return dsl.matmul(C, B, name="gemm")

    s = dsl.customize(k)
    loops = s.get_loops()
    assert "bias" in loops and "gemm" in loops and "gemm_0" in loops  # gemm_0: the accumulator's zeroing
    s.pipeline(loops["gemm"]["j"])
    A, B = _f(4, 4), _f(4, 4)
    np.testing.assert_allclose(s.build()(A, B), (A + B) @ B, rtol=1e-5)


def test_copy_of_an_argument_and_of_a_local():
    def k(inp: float32[2, 3]) -> float32[2, 3]:
        A = dsl.copy(inp)
        C: float32[2, 3] = 1.0
        return dsl.copy(A) + dsl.copy(C)

    x = _f(2, 3)
    np.testing.assert_array_equal(dsl.customize(k).build()(x), x + 1)


def test_concat_along_an_inner_axis():
    def k(A: int16[3, 2, 5, 6], B: int16[3, 2, 4, 6]) -> int16[3, 2, 9, 6]:
        return dsl.concat(A, B, axis=2)

    A, B = _i(3, 2, 5, 6, dtype=np.int16), _i(3, 2, 4, 6, dtype=np.int16)
    np.testing.assert_array_equal(dsl.customize(k).build()(A, B), np.concatenate((A, B), axis=2))


def test_concat_shapes_must_agree():
    def k(A: int32[2, 3], B: int32[3, 4]) -> int32[5, 3]:
        return dsl.concat(A, B)

    with pytest.raises(dsl.ShapeError, match="other dimensions differ"):
        dsl.customize(k)


def test_bmm_and_its_rank_rule():
    def k(A: float32[3, 4, 5], B: float32[3, 5, 2]) -> float32[3, 4, 2]:
        return dsl.bmm(A, B)

    A, B = _f(3, 4, 5), _f(3, 5, 2)
    np.testing.assert_allclose(dsl.customize(k).build()(A, B), A @ B, rtol=1e-5)

    def bad(A: float32[2, 3, 4, 5], B: float32[2, 3, 5, 4]) -> float32[2, 3, 4, 4]:
        return dsl.bmm(A, B)

    with pytest.raises(dsl.ShapeError, match="bmm needs 3-D operands"):
        dsl.customize(bad)


def test_batched_matmul_broadcasts_like_numpy():
    def k5(A: int8[2, 3, 4, 5], B: int8[3, 5, 2]) -> int32[2, 3, 4, 2]:
        return dsl.matmul(A, B)

    A, B = _i(2, 3, 4, 5, dtype=np.int8), _i(3, 5, 2, dtype=np.int8)
    np.testing.assert_array_equal(dsl.customize(k5).build()(A, B), A.astype(np.int32) @ B.astype(np.int32))

    def vec(A: float32[4, 5], v: float32[5], w: float32[4]) -> float32[4]:
        return dsl.matmul(A, v) + w @ A @ dsl.ones((5, 4))

    A, v, w = _f(4, 5), _f(5), _f(4)
    np.testing.assert_allclose(dsl.customize(vec).build()(A, v, w), A @ v + w @ A @ np.ones((5, 4)), rtol=1e-5)

    def op(A: float32[2, 3, 4], B: float32[4, 5]) -> float32[2, 3, 5]:
        return A @ B

    A, B = _f(2, 3, 4), _f(4, 5)
    np.testing.assert_allclose(dsl.customize(op).build()(A, B), A @ B, rtol=1e-5)


def test_transpose_attribute():
    def k(A: int16[3, 4, 5], B: int16[4, 5, 3]) -> int16[4, 4, 3]:
        return dsl.bmm(A.T.T, B.T).T   # .T reverses every axis, as numpy's

    def k2(X: float32[3, 4, 5]) -> float32[5, 3, 4]:
        return dsl.transpose(X.T, (0, 2, 1))

    A, B = _i(3, 4, 5, lo=-3, hi=3, dtype=np.int16), _i(4, 5, 3, lo=-3, hi=3, dtype=np.int16)
    np.testing.assert_array_equal(dsl.customize(k).build()(A, B), np.matmul(A, B.T).T)
    X = _f(3, 4, 5)
    np.testing.assert_array_equal(dsl.customize(k2).build()(X), np.transpose(X.T, (0, 2, 1)))


def _softmax_of(A):
    return dsl.softmax(A)


def test_softmax_last_axis_in_a_callee_and_another_axis():
    def inner(A: float32[2, 3, 8]) -> float32[2, 3, 8]:
        return dsl.softmax(A)

    def k(A: float32[2, 3, 8], B: float32[3, 8]) -> float32[2, 3, 8]:
        return inner(A) + dsl.softmax(B, axis=0)

    A, B = _f(2, 3, 8) * 10, _f(3, 8) * 10
    np.testing.assert_allclose(dsl.customize(k).build()(A, B), dsl.softmax(A) + dsl.softmax(B, axis=0), rtol=1e-5)


def test_linear_with_and_without_bias():
    def k(X: float32[2, 4, 5], W: float32[3, 5], b: float32[3]) -> float32[2, 4, 3]:
        return dsl.linear(X, W, b)

    def nobias(X: int16[6, 5], W: int16[3, 5]) -> int32[6, 3]:
        return dsl.linear(X, W)

    X, W, b = _f(2, 4, 5), _f(3, 5), _f(3)
    np.testing.assert_allclose(dsl.customize(k).build()(X, W, b), dsl.linear(X, W, b), rtol=1e-5)
    Xi, Wi = _i(6, 5, dtype=np.int16), _i(3, 5, dtype=np.int16)
    np.testing.assert_array_equal(dsl.customize(nobias).build()(Xi, Wi), Xi.astype(np.int32) @ Wi.T.astype(np.int32))


def test_view_ones_zeros_tril():
    def k(A: float32[2, 6], B: float32[3, 4]) -> float32[3, 4]:
        Z = dsl.zeros((3, 4))
        return dsl.view(A, (3, -1)) + dsl.tril(B) + dsl.ones((3, 4), dtype=float) + Z

    A, B = _f(2, 6), _f(3, 4)
    np.testing.assert_allclose(dsl.customize(k).build()(A, B), A.reshape(3, 4) + np.tril(B) + 1, rtol=1e-6)


def test_view_must_keep_the_element_count():
    def k(A: float32[2, 6]) -> float32[5, 2]:
        return dsl.view(A, (5, 2))

    with pytest.raises(dsl.ShapeError, match="cannot reshape"):
        dsl.customize(k)


def test_layernorm_and_gelu():
    def k(x: float32[1, 4, 16], g: float32[16], b: float32[16]) -> float32[1, 4, 16]:
        return dsl.gelu(dsl.layernorm(dsl.gelu(x), g, b))

    x, g, b = _f(1, 4, 16), _f(16), _f(16)
    want = dsl.gelu(dsl.layernorm(dsl.gelu(x), g, b))
    np.testing.assert_allclose(dsl.customize(k).build()(x, g, b), want, rtol=1e-4, atol=1e-5)


def test_unknown_keyword_of_a_named_op():
    def k(A: float32[4]) -> float32[4]:
        return dsl.softmax(A, dim=0)

    with pytest.raises(dsl.CallError, match="softmax\\(\\) has no argument 'dim'; it takes x, axis, name"):
        dsl.customize(k)


# -- slices -------------------------------------------------------------------------------------------------

def test_slice_write_and_read():
    def k(A: int32[6, 6]) -> int32[3, 2]:
        B: int32[2, 3] = 7
        A[0:2, 0:3] = B
        A[5, :] = 1
        return A[1:4, ::3] + A[0:3, -2:]

    A = _i(6, 6)
    want = A.copy()
    want[0:2, 0:3] = 7
    want[5, :] = 1
    got = dsl.customize(k).build()(A)
    np.testing.assert_array_equal(A, want)                       # written in place
    np.testing.assert_array_equal(got, want[1:4, ::3] + want[0:3, -2:])


def test_slice_with_a_runtime_index_and_passed_to_a_writer():
    def bump(x: int32[4]):
        for i in range(4):
            x[i] = x[i] + i

    def k(A: int32[3, 8]):
        for r in range(3):
            bump(A[r, 2:6])        # a view in numpy: the callee's writes land in A

    A = np.zeros((3, 8), np.int32)
    dsl.customize(k).build()(A)
    want = np.zeros((3, 8), np.int32)
    want[:, 2:6] += np.arange(4)
    np.testing.assert_array_equal(A, want)


def test_slice_bound_must_be_static():
    def k(A: int32[8], n: int32) -> int32[4]:
        return A[n:n + 4]

    with pytest.raises(dsl.DSLTypeError, match="slice bounds and steps must be compile-time integers"):
        dsl.customize(k)


def test_empty_slice_and_shape_mismatch():
    def empty(A: int32[8]) -> int32[1]:
        B: int32[1] = 0
        B[0] = A[5:2][0]
        return B

    def mismatch(A: int32[8], B: int32[3]):
        A[0:4] = B

    with pytest.raises(dsl.ShapeError, match="selects no element"):
        dsl.customize(empty)
    with pytest.raises(dsl.ShapeError, match="cannot be broadcast"):
        dsl.customize(mismatch)


# -- list initialisers --------------------------------------------------------------------------------------

def test_list_initialisers_and_reassignment():
    a = 3

    def k(x: int32) -> int32[5]:
        v: int32 = x * 2
        res: int32[5] = [0, 1, 2, 3, 4]
        tmp: int32[2, 2] = [[a, 2], [3, v]]
        tmp = [[tmp[1, 1], 0], [0, a]]
        res[0] = tmp[0, 0] + tmp[1, 1]
        return res

    assert dsl.customize(k).build()(5).tolist() == [13, 1, 2, 3, 4]


def test_list_shape_must_match():
    def k() -> int32[2, 2]:
        t: int32[2, 2] = [[1, 2, 3], [4, 5, 6]]
        return t

    def ragged() -> int32[2, 2]:
        t: int32[2, 2] = [[1, 2], [3]]
        return t

    for kernel in (k, ragged):
        with pytest.raises(dsl.ShapeError, match="cannot initialise 't' of shape \\[2, 2\\]"):
            dsl.customize(kernel)


# -- csim ---------------------------------------------------------------------------------------------------

def test_named_ops_slices_and_lists_in_csim():
    def k(A: float32[2, 3, 4], B: float32[4, 5]) -> float32[2, 3, 5]:
        C = A @ B
        C[0, 0:2, :] = [[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]]
        return dsl.softmax(C) + C[:, :, 0:1]

    s = dsl.customize(k)
    A, B = _f(2, 3, 4), _f(4, 5)
    cpu = s.build()(A, B)
    csim = dsl.build(s, target="vitis_hls", mode="csim")(A, B)
    C = A @ B
    C[0, 0:2, :] = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    np.testing.assert_allclose(cpu, dsl.softmax(C) + C[:, :, 0:1], rtol=1e-5)
    np.testing.assert_allclose(csim, cpu, rtol=1e-5)
