"""Memory-to-memory Transformer kernels (names as in ``allo.library.nn``), each with its schedule function.

Row-wise kernels read a row of X into a local buffer (one burst), apply the row kernel of ``rows`` to it and
write the row back (one burst); ``schedule_<kernel>(s)`` pipelines every loop at the II the hardware can
reach. Matrix products (``linear2d``, ``matmul``, ...) are in ``linalg`` and attention, RoPE, embeddings and the
KV cache in ``attention``; this module re-exports them, so ``nn`` is the whole float library. The numpy
references are in ``ref`` under the same names.
"""
from __future__ import annotations

import dsl
from dsl import float32, int32

from . import checks, mathf, rows
from .attention import (  # noqa: F401  (re-exported)
    embedding, kv_append, kv_read, rope, schedule_embedding, schedule_kv_append, schedule_kv_read,
    schedule_rope, schedule_scaled_dot_product_attention, scaled_dot_product_attention,
)
from .linalg import (  # noqa: F401
    bmm, linear2d, linear3d, matmul, schedule_bmm, schedule_linear2d, schedule_linear3d, schedule_matmul,
)
from .schedules import pipeline_all, pipeline_row_kernel

LAYER_NORM_EPS = 1e-5    # torch.nn.LayerNorm's default (GPT2); BERT uses 1e-12: layer_norm_eps
RMS_NORM_EPS = 1e-6


# -- softmax --------------------------------------------------------------------------------------------
@dsl.template("T", "L", "D", check=checks.float_matrix)
def masked_softmax(X: "T[L, D]", scale: "T", past: int32) -> "T[L, D]":
    """Row-wise softmax(X * scale) with a causal mask: row i keeps its first min(D, past + i + 1) columns
    (``past`` positions precede row 0) and is 0 beyond; ``past >= D - 1`` keeps every column."""
    Z: T[L, D]
    xb: T[D]
    zb: T[D]
    for i in range(L):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        rows.softmax_row[T, D](xb, zb, min(past + i + 1, D), scale)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def softmax(X: "T[L, D]") -> "T[L, D]":
    """Row-wise softmax."""
    Z: T[L, D]
    xb: T[D]
    zb: T[D]
    for i in range(L):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        rows.softmax_row[T, D](xb, zb, D, 1.0)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def log_softmax(X: "T[L, D]") -> "T[L, D]":
    Z: T[L, D]
    xb: T[D]
    zb: T[D]
    for i in range(L):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        rows.log_softmax_row[T, D](xb, zb)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


def schedule_softmax(s):
    return pipeline_row_kernel(s, "softmax_row")


schedule_masked_softmax = schedule_softmax


def schedule_log_softmax(s):
    return pipeline_row_kernel(s, "log_softmax_row")


# -- normalisation --------------------------------------------------------------------------------------
@dsl.template("T", "L", "D", check=checks.float_matrix)
def layer_norm_eps(X: "T[L, D]", gamma: "T[D]", beta: "T[D]", eps: "T") -> "T[L, D]":
    """LayerNorm over the last dimension with the given eps (BERT: 1e-12)."""
    Z: T[L, D]
    xb: T[D]
    zb: T[D]
    gb: T[D]
    bb: T[D]
    for j0 in range(D, name="params"):  # gamma and beta are read once, not once per row
        gb[j0] = gamma[j0]
        bb[j0] = beta[j0]
    for i in range(L):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        rows.layer_norm_row[T, D](xb, gb, bb, zb, eps)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def layer_norm(X: "T[L, D]", gamma: "T[D]", beta: "T[D]") -> "T[L, D]":
    """LayerNorm with eps = LAYER_NORM_EPS (1e-5)."""
    return layer_norm_eps[T, L, D](X, gamma, beta, LAYER_NORM_EPS)


@dsl.template("T", "L", "D", check=checks.float_matrix)
def rms_norm_eps(X: "T[L, D]", gamma: "T[D]", eps: "T") -> "T[L, D]":
    Z: T[L, D]
    xb: T[D]
    zb: T[D]
    gb: T[D]
    for j0 in range(D, name="params"):
        gb[j0] = gamma[j0]
    for i in range(L):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        rows.rms_norm_row[T, D](xb, gb, zb, eps)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def rms_norm(X: "T[L, D]", gamma: "T[D]") -> "T[L, D]":
    """RMSNorm with eps = RMS_NORM_EPS (1e-6)."""
    return rms_norm_eps[T, L, D](X, gamma, RMS_NORM_EPS)


def schedule_layer_norm_eps(s):
    return pipeline_row_kernel(s, "layer_norm_row")


def schedule_rms_norm_eps(s):
    return pipeline_row_kernel(s, "rms_norm_row")


def schedule_layer_norm(s):
    return pipeline_row_kernel(s, "layer_norm_row", "layer_norm_eps")


def schedule_rms_norm(s):
    return pipeline_row_kernel(s, "rms_norm_row", "rms_norm_eps")


# -- element-wise ---------------------------------------------------------------------------------------
@dsl.template("T", "L", "D", check=checks.float_matrix)
def gelu(X: "T[L, D]") -> "T[L, D]":
    """GeLU, exact (erf) form: torch.nn.GELU(), BERT's "gelu"."""
    Z: T[L, D]
    for i, j in dsl.grid(L, D, name="gelu"):
        Z[i, j] = mathf.gelu_erf(X[i, j])
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def gelu_tanh(X: "T[L, D]") -> "T[L, D]":
    """GeLU, tanh approximation: GPT2's "gelu_new", torch.nn.GELU(approximate="tanh")."""
    Z: T[L, D]
    for i, j in dsl.grid(L, D, name="gelu"):
        Z[i, j] = mathf.gelu_tanh(X[i, j])
    return Z


@dsl.template("T", "L", "D", check=checks.float_matrix)
def silu(X: "T[L, D]") -> "T[L, D]":
    Z: T[L, D]
    for i, j in dsl.grid(L, D, name="silu"):
        Z[i, j] = mathf.silu(X[i, j])
    return Z


def _elementwise_check(T, L, D):
    checks.need_type("T", T, (float32, int32, dsl.int8), "")
    checks.sizes(L=L, D=D)


@dsl.template("T", "L", "D", check=_elementwise_check)
def relu(X: "T[L, D]") -> "T[L, D]":
    Z: T[L, D]
    for i, j in dsl.grid(L, D, name="relu"):
        Z[i, j] = max(X[i, j], 0)
    return Z


@dsl.template("T", "L", "D", check=_elementwise_check)
def residual_add(X1: "T[L, D]", X2: "T[L, D]") -> "T[L, D]":
    """X1 + X2 (integers wrap to T, as the hardware adder does)."""
    Z: T[L, D]
    for i, j in dsl.grid(L, D, name="add"):
        Z[i, j] = X1[i, j] + X2[i, j]
    return Z


schedule_gelu = schedule_gelu_tanh = schedule_silu = schedule_relu = schedule_residual_add = pipeline_all


# Allo's spellings (allo.library.nn)
GeLU = gelu
RoPE = rope
schedule_layernorm = schedule_layer_norm
