"""Allo's named tensor operations (``dsl.add``, ``dsl.bmm``, ``dsl.softmax``, ``dsl.linear``, ...).

Inside a kernel the frontend expands each into loop nests over fresh local buffers (``named_ops.py``;
``name=`` names the band so that schedules can reach it); called from plain Python they compute the same
thing on numpy arrays, so a kernel's reference result can be written with them. Integer ``div`` divides as
the kernel does (C: truncation toward zero); everything else is numpy's.
"""
from __future__ import annotations

import numpy as np


def add(lhs, rhs, name=None):
    return np.add(lhs, rhs)


def sub(lhs, rhs, name=None):
    return np.subtract(lhs, rhs)


def mul(lhs, rhs, name=None):
    return np.multiply(lhs, rhs)


def div(lhs, rhs, name=None):
    """``lhs / rhs``; on integers C's division (truncates toward zero), as in a kernel."""
    a, b = np.asarray(lhs), np.asarray(rhs)
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(b != 0, np.abs(a) // np.where(b == 0, 1, np.abs(b)), 0)
        return (np.sign(a) * np.sign(b) * q).astype(np.result_type(a, b))
    return np.divide(lhs, rhs)


def power(x, y, name=None):
    return np.power(x, y)


def copy(x, name=None):
    return np.copy(x)


def bmm(lhs, rhs, name=None):
    """Batched matrix product of 3-D operands: ``(B, M, K) @ (B, K, N) -> (B, M, N)``."""
    if np.ndim(lhs) != 3 or np.ndim(rhs) != 3:
        raise ValueError(f"bmm needs 3-D operands, got {np.ndim(lhs)}-D and {np.ndim(rhs)}-D")
    return np.matmul(lhs, rhs)


def softmax(x, axis=-1, name=None):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def linear(X, W, bias=None, name=None):
    """``X @ W.T + bias`` (a PyTorch-style linear layer: W is (out_features, in_features))."""
    out = np.matmul(X, np.swapaxes(W, -1, -2))
    return out if bias is None else out + bias


def concat(x, y, axis=0, name=None):
    return np.concatenate((x, y), axis=axis)


def view(x, shape, name=None):
    return np.reshape(x, shape)


def ones(shape, dtype=None):
    return np.ones(shape, dtype=_np_dtype(dtype))


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype=_np_dtype(dtype))


def tril(x, name=None):
    return np.tril(x)


def gelu(x, name=None):
    """The tanh approximation of GeLU (as in GPT-2 and Allo)."""
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * np.power(x, 3))))


def layernorm(x, gamma, beta, eps=1e-5, name=None):
    mean = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _np_dtype(dtype):
    from ..types import DSLType

    if dtype is None or dtype is float:
        return np.float32
    if dtype is int:
        return np.int32
    if isinstance(dtype, DSLType):
        return dtype.np_dtype
    return dtype
