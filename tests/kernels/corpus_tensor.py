"""Tensor-level operations: numpy broadcasting, matmul/@, transpose, relu, math on tensors, reductions."""
import numpy as np

import dsl
from dsl import float32, float64, int8, int16, int32

from .case import Case, ints, wrap


def broadcast_math(A: float32[4, 8], B: float32[8]) -> float32[4, 8]:
    return dsl.exp(A) * B + 1.0


def broadcast_int(A: int16[3, 5], B: int16[3, 1], c: int16) -> int32[3, 5]:
    C: int32[3, 5] = A * 2 + B - c
    return C


def tensor_aug(A: int32[6], B: int32[6]) -> int32[6]:
    C: int32[6] = 0
    C += A
    C *= B
    C -= 1
    return C


def matmul_fn(A: int8[5, 7], B: int8[7, 3]) -> int32[5, 3]:
    C: int32[5, 3] = dsl.matmul(A, B)
    return C


def matmul_op(A: float32[4, 6], B: float32[6, 5]) -> float32[4, 5]:
    return A @ B


def transposes(A: int32[3, 4], T: int32[2, 3, 4]) -> (int32[4, 3], int32[4, 2, 3]):
    return dsl.transpose(A), dsl.transpose(T, (2, 0, 1))


def relu_both(A: float32[10], B: int16[10]) -> (float32[10], int16[10]):
    return dsl.relu(A), dsl.relu(B)


def math_tensor(A: float32[12]) -> (float32[12], float32[12], float32[12], float32[12]):
    return dsl.tanh(A), dsl.sin(A) + dsl.cos(A), dsl.sqrt(dsl.abs(A)), dsl.log(A * A + 1.0)


def sums(A: int16[4, 6]) -> (int32[6], int32[4], int32):
    return dsl.sum(A, axis=0), dsl.sum(A, axis=1), dsl.sum(A)


def max_min(A: float32[5, 4]) -> (float32[4], float32[5], float32, float32):
    return dsl.max(A, axis=0), dsl.min(A, axis=1), dsl.max(A), dsl.min(A)


def means(A: float32[3, 8]) -> (float32[3], float32):
    return dsl.mean(A, axis=1), dsl.mean(A)


def negate_cast(A: int16[6]) -> (int32[6], float32[6]):
    return -A, float32(A) * 0.5


def softmax(X: float32[4, 5]) -> float32[4, 5]:
    m: float32[4] = dsl.max(X, axis=1)
    E: float32[4, 5] = 0.0
    for i, j in dsl.grid(4, 5):
        E[i, j] = dsl.exp(X[i, j] - m[i])
    s: float32[4] = dsl.sum(E, axis=1)
    Y: float32[4, 5] = 0.0
    for i, j in dsl.grid(4, 5):
        Y[i, j] = E[i, j] / s[i]
    return Y


def mlp(X: float32[2, 8], W1: float32[8, 6], W2: float32[6, 3]) -> float32[2, 3]:
    H = dsl.relu(dsl.matmul(X, W1) + 0.1)
    return dsl.matmul(H, W2)


def tensor_copy_local(A: float64[3, 3]) -> float64[3, 3]:
    B: float64[3, 3] = A
    B[1, 1] = 0.0
    C = B * B
    return C


def _f(r, shape, lo=-2.0, hi=2.0):
    return r.uniform(lo, hi, shape).astype(np.float32)


def _softmax_ref(X):
    E = np.exp(X - X.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _copy_ref(A):
    B = A.copy()
    B[1, 1] = 0.0
    return B * B


CASES = [
    Case("tensor_broadcast_exp_mul_add", broadcast_math, lambda r: (_f(r, (4, 8)), _f(r, 8)),
         lambda A, B: np.exp(A) * B + np.float32(1.0), exact=False),
    Case("tensor_broadcast_int_scalar", broadcast_int,
         lambda r: (ints(r, -1000, 1000, (3, 5), np.int16), ints(r, -1000, 1000, (3, 1), np.int16), 77),
         lambda A, B, c: A.astype(np.int64) * 2 + B - c),
    Case("tensor_augmented_assign", tensor_aug,
         lambda r: (ints(r, -1000, 1000, 6, np.int32), ints(r, -1000, 1000, 6, np.int32)),
         lambda A, B: A.astype(np.int64) * B - 1),
    Case("matmul_int8", matmul_fn, lambda r: (ints(r, -128, 127, (5, 7), np.int8), ints(r, -128, 127, (7, 3), np.int8)),
         lambda A, B: A.astype(np.int64) @ B.astype(np.int64)),
    Case("matmul_operator_float", matmul_op, lambda r: (_f(r, (4, 6)), _f(r, (6, 5))), lambda A, B: A @ B, exact=False),
    Case("transpose_2d_3d", transposes,
         lambda r: (ints(r, -99, 99, (3, 4), np.int32), ints(r, -99, 99, (2, 3, 4), np.int32)),
         lambda A, T: (A.T, np.transpose(T, (2, 0, 1)))),
    Case("relu_float_int", relu_both, lambda r: (_f(r, 10), ints(r, -500, 500, 10, np.int16)),
         lambda A, B: (np.maximum(A, 0), np.maximum(B, 0))),
    Case("math_on_tensors", math_tensor, lambda r: (_f(r, 12, -3, 3),),
         lambda A: (np.tanh(A), np.sin(A) + np.cos(A), np.sqrt(np.abs(A)), np.log(A * A + np.float32(1))), exact=False),
    Case("sum_axis_and_all", sums, lambda r: (ints(r, -32768, 32767, (4, 6), np.int16),),
         lambda A: (A.astype(np.int64).sum(0), A.astype(np.int64).sum(1), int(A.astype(np.int64).sum()))),
    Case("max_min_axis_and_all", max_min, lambda r: (_f(r, (5, 4)),),
         lambda A: (A.max(0), A.min(1), A.max(), A.min())),
    Case("mean_axis_and_all", means, lambda r: (_f(r, (3, 8)),), lambda A: (A.mean(1), A.mean()), exact=False),
    Case("tensor_negate_and_cast", negate_cast, lambda r: (ints(r, -32768, 32767, 6, np.int16),),
         lambda A: (-A.astype(np.int64), A.astype(np.float32) * np.float32(0.5))),
    Case("softmax_rows", softmax, lambda r: (_f(r, (4, 5)),), _softmax_ref, exact=False),
    Case("mlp_two_layers", mlp, lambda r: (_f(r, (2, 8)), _f(r, (8, 6)), _f(r, (6, 3))),
         lambda X, W1, W2: np.maximum(X @ W1 + np.float32(0.1), 0) @ W2, exact=False),
    Case("tensor_copy_into_local", tensor_copy_local, lambda r: (r.uniform(-3, 3, (3, 3)),), _copy_ref, exact=False),
]
