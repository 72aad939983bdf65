"""Symmetric quantisation (int8/int4, per tensor, per row, per token), dequantisation, SmoothQuant smoothing
and integer requantisation, with their numpy references (``*`` kernels here, same names in ``ref``).

Numerics (bit-exact against the references):
  quantize      q = clamp(round(x / s), -QMAX, QMAX), round half to even (as numpy.rint / torch.round),
                QMAX = 127 (int8) or 7 (int4); the division is IEEE float32.
  dequantize    x = float(q) * s            (rows: (float(q) * s_row[i]) * s_col[j])
  requantize    q = clamp((acc * M + 2^(S-1)) >> S, -QMAX, QMAX) in 64-bit integer arithmetic: a rounding
                fixed-point multiply (round half up), M in [1, 2^31), S in [1, 62]; ``fixed_point_multiplier``
                finds (M, S) for a float scale.
  smooth        X[:, j] / s[j] and W[:, j] * s[j]: SmoothQuant moves activation outliers into the weights.
"""
from __future__ import annotations

import math

import numpy as np

import dsl
from dsl import float32, int32, int64

from . import checks, rows
from .schedules import functions, pipeline_reduction

F = np.float32
QMAX = {dsl.int8: 127, dsl.int4: 7}
QUANT_TYPES = tuple(QMAX)
# the smallest absmax a per-token scale m / QMAX is taken from: below it m / QMAX would be subnormal (zero
# for m under ~1.8e-43, then x / 0), and float operators that flush subnormals (FPGA floating-point cores
# usually do) would not give the CPU's bits; such a row quantises as an all-zero row (scale 1, q = 0).
# QMAX * 2^-126 is exact in float32, and m / QMAX >= 2^-126 (the smallest normal) from it on
MIN_ABSMAX = {t: q * 2.0 ** -126 for t, q in QMAX.items()}


def _quant_check(TF, TQ, M, N):
    checks.need_type("TF", TF, checks.FLOAT32, "quantisation scales and values are float32; ")
    checks.need_type("TQ", TQ, QUANT_TYPES, "symmetric quantisation targets ")
    checks.sizes(M=M, N=N)


def _requant_check(TQ, M, N):
    checks.need_type("TQ", TQ, QUANT_TYPES, "requantisation targets ")
    checks.sizes(M=M, N=N)


@dsl.template("QM")
def round_clamp(v: float32) -> int32:
    """round(clamp(v, -QM, QM)) to the nearest integer, ties to even, exactly for every float32."""
    c: float32 = min(max(v, -QM), QM)
    a: float32 = abs(c)
    r: float32 = dsl.floor(a)
    f: float32 = a - r  # exact: r and a are within a factor of two (or r = 0)
    odd: float32 = r - 2.0 * dsl.floor(r * 0.5)
    if f > 0.5 or (f == 0.5 and odd == 1.0):
        r = r + 1.0
    q: int32 = int32(r)
    return q if c >= 0.0 else -q


@dsl.template("TF", "TQ", "M", "N", check=_quant_check)
def quantize(X: "TF[M, N]", s: "TF") -> "TQ[M, N]":
    Z: TQ[M, N]
    for i, j in dsl.grid(M, N, name="quantize"):
        Z[i, j] = round_clamp[QMAX[TQ]](X[i, j] / s)
    return Z


@dsl.template("TF", "TQ", "M", "N", check=_quant_check)
def quantize_rows(X: "TF[M, N]", s: "TF[M]") -> "TQ[M, N]":
    """Row i with scale s[i]: per-token activations X[L, D], per-output-channel weights W[N, K]."""
    Z: TQ[M, N]
    for i, j in dsl.grid(M, N, name="quantize"):
        Z[i, j] = round_clamp[QMAX[TQ]](X[i, j] / s[i])
    return Z


@dsl.template("TF", "TQ", "M", "N", check=_quant_check)
def quantize_per_token(X: "TF[M, N]") -> ("TQ[M, N]", "TF[M]"):
    """Dynamic per-row quantisation: s[i] = max|X[i]| / QMAX, then quantize_rows; s[i] = 1 (and row i all
    zeros) for a row whose max |x| is under MIN_ABSMAX (all zeros, or so small its scale would be subnormal)."""
    Z: TQ[M, N]
    s: TF[M]
    for i in range(M):
        m: TF = rows.row_absmax[TF, N](X[i], N)
        sc: TF = m / QMAX[TQ] if m >= MIN_ABSMAX[TQ] else 1.0
        s[i] = sc
        for j2 in range(N, name="quantize"):
            Z[i, j2] = round_clamp[QMAX[TQ]](X[i, j2] / sc)
    return Z, s


def _dequant_check(TQ, TF, M, N):
    checks.need_int_type("TQ", TQ, "dequantize: ")
    checks.need_type("TF", TF, checks.FLOAT32, "dequantize gives ")
    checks.sizes(M=M, N=N)


@dsl.template("TQ", "TF", "M", "N", check=_dequant_check)
def dequantize(Q: "TQ[M, N]", s: "TF") -> "TF[M, N]":
    Z: TF[M, N]
    for i, j in dsl.grid(M, N, name="dequantize"):
        Z[i, j] = float(Q[i, j]) * s
    return Z


@dsl.template("TQ", "TF", "M", "N", check=_dequant_check)
def dequantize_rows(Q: "TQ[M, N]", s_row: "TF[M]", s_col: "TF[N]") -> "TF[M, N]":
    """An integer GEMM's output back to float: per-token (row) activation scales times per-channel (column)
    weight scales; per-tensor scales are constant vectors."""
    Z: TF[M, N]
    for i, j in dsl.grid(M, N, name="dequantize"):
        Z[i, j] = (float(Q[i, j]) * s_row[i]) * s_col[j]
    return Z


@dsl.template("TQ", "M", "N", check=_requant_check)
def requantize(acc: "int32[M, N]", mult: int32, shift: int32) -> "TQ[M, N]":
    """int32 accumulators -> TQ with one fixed-point multiplier mult * 2^-shift."""
    Z: TQ[M, N]
    rnd: int64 = int64(1) << (shift - 1)
    for i, j in dsl.grid(M, N, name="requantize"):
        v: int64 = (acc[i, j] * mult + rnd) >> shift
        Z[i, j] = min(max(v, -QMAX[TQ]), QMAX[TQ])
    return Z


@dsl.template("TQ", "M", "N", check=_requant_check)
def requantize_rows(acc: "int32[M, N]", mult: "int32[N]", shift: "int32[N]") -> "TQ[M, N]":
    """Per output channel (column j): mult[j] * 2^-shift[j]."""
    Z: TQ[M, N]
    for i, j in dsl.grid(M, N, name="requantize"):
        rnd: int64 = int64(1) << (shift[j] - 1)
        v: int64 = (acc[i, j] * mult[j] + rnd) >> shift[j]
        Z[i, j] = min(max(v, -QMAX[TQ]), QMAX[TQ])
    return Z


def _smooth_check(T, M, N):
    checks.float_row(T, N)
    checks.sizes(M=M)


@dsl.template("T", "M", "N", check=_smooth_check)
def smooth(X: "T[M, N]", s: "T[N]") -> "T[M, N]":
    """SmoothQuant: activation channel j divided by s[j]."""
    Z: T[M, N]
    for i, j in dsl.grid(M, N, name="smooth"):
        Z[i, j] = X[i, j] / s[j]
    return Z


@dsl.template("T", "M", "N", check=_smooth_check)
def smooth_weight(W: "T[M, N]", s: "T[N]") -> "T[M, N]":
    """SmoothQuant: weight input channel j multiplied by s[j] (W is [out, in])."""
    Z: T[M, N]
    for i, j in dsl.grid(M, N, name="smooth"):
        Z[i, j] = W[i, j] * s[j]
    return Z


def schedule_quant(s):
    """The element loop of each band pipelined at II=1 (the inner loop of a grid band). Never a loop that
    holds other loops (quantize_per_token's row loop holds its quantize loop): Vitis would unroll every loop
    below a pipelined one (UG1399, pipeline pragma), a row of N elements at once. quantize_per_token's
    absmax (``rows.row_absmax``) is scheduled as the row kernels' lane reductions."""
    for helper in functions(s):
        if helper.startswith("row_absmax"):   # quantize_per_token's lane reduction: II=LANES, lanes unrolled
            pipeline_reduction(s, helper)
    holders = _loops_holding_loops(s)
    for band, loops in s.get_loops().items():
        for loop in list(loops.values())[1:] or list(loops.values()):
            if band and str(loop) not in holders:
                s.pipeline(loop)
                break
    return s


def _loops_holding_loops(s) -> set:
    from ..schedule import irutil as U
    from ..schedule import names as N

    with s.context:
        top = N.funcs(s.module)[s.top]
        return {N.qualified(lp) for lp in N.loops_of(top) if len(U.collect(lp, U.is_loop)) > 1}


# -- references -----------------------------------------------------------------------------------------
def wrap(v, bits):
    """Two's complement wrap of integers to ``bits`` bits (int64 in, int64 out)."""
    v = np.asarray(v, dtype=np.int64)
    half = np.int64(1) << np.int64(bits - 1)
    return ((v + half) & ((half << np.int64(1)) - np.int64(1))) - half


def _qmax(bits):
    return (1 << (bits - 1)) - 1


def _round_clamp(v, qmax):
    return np.rint(np.clip(np.asarray(v, dtype=F), F(-qmax), F(qmax))).astype(np.int64)


def quantize_ref(X, s, bits=8):
    return _round_clamp(np.asarray(X, dtype=F) / F(s), _qmax(bits))


def quantize_rows_ref(X, s, bits=8):
    return _round_clamp(np.asarray(X, dtype=F) / np.asarray(s, dtype=F)[:, None], _qmax(bits))


def absmax_scales_ref(m, bits=8):
    """Symmetric scales m / QMAX from absolute maxima m, 1 where m is under MIN_ABSMAX (see there)."""
    m = np.asarray(m, dtype=F)
    q = _qmax(bits)
    return np.where(m >= F(q * 2.0 ** -126), m / F(q), F(1.0)).astype(F)


def quantize_per_token_ref(X, bits=8):
    X = np.asarray(X, dtype=F)
    s = absmax_scales_ref(np.abs(X).max(axis=1), bits)
    return _round_clamp(X / s[:, None], _qmax(bits)), s


def dequantize_ref(Q, s):
    return np.asarray(Q).astype(F) * F(s)


def dequantize_rows_ref(Q, s_row, s_col):
    return (np.asarray(Q).astype(F) * np.asarray(s_row, dtype=F)[:, None]) * np.asarray(s_col, dtype=F)[None, :]


def requantize_ref(acc, mult, shift, bits=8):
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    v = (acc * mult + (np.int64(1) << (shift - 1))) >> shift
    return np.clip(v, -_qmax(bits), _qmax(bits))


requantize_rows_ref = requantize_ref  # mult and shift broadcast over the columns


def smooth_ref(X, s):
    return np.asarray(X, dtype=F) / np.asarray(s, dtype=F)[None, :]


def smooth_weight_ref(W, s):
    return np.asarray(W, dtype=F) * np.asarray(s, dtype=F)[None, :]


def smoothing_scales(act_absmax, weight_absmax, alpha=0.5):
    """SmoothQuant's s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) (computed on the host, float64)."""
    a = np.maximum(np.asarray(act_absmax, dtype=np.float64), 1e-5)
    w = np.maximum(np.asarray(weight_absmax, dtype=np.float64), 1e-5)
    return (a ** alpha / w ** (1 - alpha)).astype(F)


def fixed_point_multiplier(scale: float):
    """(M, S) with M / 2^S = scale to 31 significant bits, M in [2^30, 2^31), for ``requantize``."""
    if not 2.0 ** -31 <= scale < 2.0 ** 30:
        raise dsl.DSLError(f"requantisation scale {scale!r} is outside [2^-31, 2^30): the shift would leave 1..62")
    m, e = math.frexp(scale)
    mult = round(m * (1 << 31))
    if mult == 1 << 31:
        mult, e = mult // 2, e + 1
    return int(mult), int(31 - e)
