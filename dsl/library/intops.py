"""Integer-only non-linear kernels in the style of I-BERT (Kim et al., ICML 2021): GeLU, softmax and
LayerNorm on integers with a scale, for designs without floating point.

A real value is ``q * S`` (q an integer, S a float known when the design is built). Each kernel takes q and
a few integer constants derived from S on the host (``*_params``) and returns integers with a new scale:
- ``int_gelu``: erf(x) ~ sgn(x) (a (min(|x|, -b) + b)^2 + 1) with a = -0.2888, b = -1.769 on x / sqrt 2,
  gelu = x (1 + erf(x / sqrt 2)) / 2; out scale S * a (S / sqrt 2)^2 / 2;
- ``int_softmax``: exp(p) ~ 0.3585 (p + 1.353)^2 + 0.344 on p in (-ln 2, 0], exp(x) = exp(p) 2^-z for
  x = p - z ln 2 (z at most 30), normalised by one integer division per row; out scale 2^-OUT_BITS;
- ``int_layer_norm``: the mean rounded to an integer, the variance exact, its square root by Newton's
  iteration in integers, (x - mean) * floor(2^31 / std) / 2; out scale sqrt(D) / 2^30 (gamma and beta
  are applied by the caller's requantisation, as I-BERT folds them).
Every operation is an integer one (add, multiply, shift, floor division, min/max), so the CPU, the
simulator and csim agree with the numpy twins (``*_ref``) to the bit. Each kernel applies its row kernel
(``int_gelu_row``, ``int_softmax_row``, ``int_layer_norm_row``) to every row, as the streaming units of
``dsl.library.units.integer`` do to every row they receive. The polynomial approximations are
I-BERT's; the accuracy against float32 is stated per kernel in ``dsl/library/README.md``.
"""
from __future__ import annotations

import math

import numpy as np

import dsl
from dsl import int16, int32, int64  # noqa: F401  (the annotations)

from . import checks

GELU_A, GELU_B = -0.2888, -1.769
EXP_A, EXP_B, EXP_C = 0.3585, 1.353, 0.344
EXP_MAX_SHIFT = 30      # exp(x) for x below -30 ln 2 is taken as exp(-30 ln 2)
OUT_BITS = 8            # softmax probabilities in [0, 2^OUT_BITS]
SQRT_START, SQRT_STEPS = 1 << 24, 34   # Newton from above for variances below 2^48


def _check_scale(what, S, smallest):
    if isinstance(S, bool) or not isinstance(S, (int, float)) or not smallest <= S <= 1.0:
        raise dsl.DSLError(f"{what}: the input scale S = {S!r} must be a number in [{smallest:.3g}, 1] "
                           "(smaller scales make the integer intermediates overflow 64 bits)")


# -- GeLU -----------------------------------------------------------------------------------------------
def gelu_params(S: float):
    """(qb, qc, q1), the output scale: the integer constants of ``int_gelu`` for inputs of scale S."""
    _check_scale("int_gelu", S, 2.0 ** -13)   # |q (erf + q1)| < 2^31 * 21 / S^2 stays below 2^63
    s = S / math.sqrt(2.0)
    qb = math.floor(GELU_B / s)
    s_erf = GELU_A * s * s
    qc = math.floor(1.0 / s_erf)
    q1 = math.floor(1.0 / s_erf)
    return qb, qc, q1, S * s_erf / 2.0


def _rows_check(R, D):
    checks.sizes(R=R, D=D)


@dsl.template("D")
def int_gelu_row(x: "int32[D]", z: "int64[D]", qb: int64, qc: int64, q1: int64):
    """``int_gelu`` of one row (what the memory kernel and the streaming unit both run)."""
    for j in range(D, name="gelu"):
        q: int64 = x[j]
        t: int64 = min(abs(q), -qb) + qb
        erf: int64 = t * t + qc
        if q < 0:
            erf = -erf
        z[j] = q * (erf + q1)


@dsl.template("R", "D", check=_rows_check)
def int_gelu(X: "int32[R, D]", qb: int64, qc: int64, q1: int64) -> "int64[R, D]":
    Z: int64[R, D]
    xb: int32[D]
    zb: int64[D]
    for i in range(R):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        int_gelu_row[D](xb, zb, qb, qc, q1)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


def int_gelu_ref(X, qb, qc, q1):
    q = np.asarray(X, dtype=np.int64)
    t = np.minimum(np.abs(q), -qb) + qb
    erf = np.sign(q) * (t * t + qc) + (q == 0) * (t * t + qc)   # sgn(0) counts as +1
    return q * (erf + q1)


# -- softmax ----------------------------------------------------------------------------------------------
def softmax_params(S: float, D: int):
    """(q_ln2, qb, qc): the integer constants of ``int_softmax`` for rows of D inputs of scale S."""
    _check_scale("int_softmax", S, 2.0 ** -16)
    q_ln2, qb, qc = math.floor(math.log(2.0) / S), math.floor(EXP_B / S), math.floor(EXP_C / (EXP_A * S * S))
    if D * (qb * qb + qc) << EXP_MAX_SHIFT >= 1 << 62:
        raise dsl.DSLError(f"int_softmax: a row of D = {D} exponentials at scale S = {S!r} would not fit the "
                           f"64-bit sum; S must be at least {math.sqrt(D * 2.8 / 2.0 ** 32):.3g} for this D")
    return q_ln2, qb, qc


@dsl.template("D")
def int_softmax_row(x: "int32[D]", z: "int32[D]", q_ln2: int64, qb: int64, qc: int64):
    """``int_softmax`` of one row."""
    e: int64[D]
    m: int64 = x[0]
    for j in range(D, name="max"):
        m = max(m, x[j])
    total: int64 = 0
    for j2 in range(D, name="exp"):
        v: int64 = max(x[j2] - m, -EXP_MAX_SHIFT * q_ln2)
        k: int64 = (-v) // q_ln2
        p: int64 = v + k * q_ln2 + qb
        e[j2] = (p * p + qc) << (EXP_MAX_SHIFT - k)
        total = total + e[j2]
    factor: int64 = (int64(1) << 62) // total
    for j3 in range(D, name="normalize"):
        z[j3] = (e[j3] * factor) >> (62 - OUT_BITS)


@dsl.template("R", "D", check=_rows_check)
def int_softmax(X: "int32[R, D]", q_ln2: int64, qb: int64, qc: int64) -> "int32[R, D]":
    Z: int32[R, D]
    xb: int32[D]
    zb: int32[D]
    for i in range(R):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        int_softmax_row[D](xb, zb, q_ln2, qb, qc)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


def int_softmax_ref(X, q_ln2, qb, qc):
    q = np.asarray(X, dtype=np.int64)
    x = np.maximum(q - q.max(axis=1, keepdims=True), -EXP_MAX_SHIFT * q_ln2)
    z = (-x) // q_ln2
    p = x + z * q_ln2 + qb
    e = (p * p + qc) << (EXP_MAX_SHIFT - z)
    factor = (np.int64(1) << np.int64(62)) // e.sum(axis=1, keepdims=True)
    return ((e * factor) >> (62 - OUT_BITS)).astype(np.int32)


# -- LayerNorm ------------------------------------------------------------------------------------------
def _ln_check(R, D):
    checks.sizes(R=R, D=D)
    if D > 4096:
        raise dsl.ShapeError(f"int_layer_norm: D = {D} must be at most 4096 (the variance of int16 rows stays "
                             "below 2^48, where the integer square root starts)")


@dsl.template("D")
def int_layer_norm_row(x: "int16[D]", z: "int64[D]"):
    """``int_layer_norm`` of one row."""
    y: int64[D]
    total: int64 = 0
    for j in range(D, name="sum"):
        total = total + x[j]
    mean: int64 = (2 * total + D) // (2 * D)        # round half up
    var: int64 = 0
    for j2 in range(D, name="square"):
        y[j2] = x[j2] - mean
        var = var + y[j2] * y[j2]
    std: int64 = SQRT_START
    for it in range(SQRT_STEPS, name="sqrt"):
        nxt: int64 = (std + var // std) // 2
        std = max(min(std, nxt), 1)   # never 0: the next step divides by it
    factor: int64 = (int64(1) << 31) // std
    for j3 in range(D, name="normalize"):
        z[j3] = (y[j3] * factor) >> 1


@dsl.template("R", "D", check=_ln_check)
def int_layer_norm(X: "int16[R, D]") -> "int64[R, D]":
    Z: int64[R, D]
    xb: int16[D]
    zb: int64[D]
    for i in range(R):
        for j in range(D, name="load"):
            xb[j] = X[i, j]
        int_layer_norm_row[D](xb, zb)
        for j2 in range(D, name="store"):
            Z[i, j2] = zb[j2]
    return Z


def isqrt_newton_ref(n):
    """The kernel's integer square root, at least 1 (Newton from 2^24, SQRT_STEPS steps, never increasing)."""
    n = np.asarray(n, dtype=np.int64)
    s = np.full(n.shape, SQRT_START, dtype=np.int64)
    for _ in range(SQRT_STEPS):
        s = np.maximum(np.minimum(s, (s + n // s) // 2), 1)
    return s


def int_layer_norm_ref(X):
    q = np.asarray(X, dtype=np.int64)
    D = q.shape[1]
    mean = (2 * q.sum(axis=1, keepdims=True) + D) // (2 * D)
    y = q - mean
    std = isqrt_newton_ref((y * y).sum(axis=1, keepdims=True))
    return (y * ((np.int64(1) << np.int64(31)) // std)) >> 1


ROW_KERNELS = {"int_gelu": "int_gelu_row", "int_softmax": "int_softmax_row", "int_layer_norm": "int_layer_norm_row"}


def schedule_int(s):
    """The kernel's row load/store loops and every loop over a row's elements pipelined at II=1 (integer
    accumulations close in one cycle); the row loop and the square root's steps (a recurrence through a
    divider) stay sequential."""
    from .schedules import pipeline_row_kernel

    return pipeline_row_kernel(s, ROW_KERNELS[s.top])
