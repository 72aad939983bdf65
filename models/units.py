"""Streaming units the accelerators need beyond dsl.library.units (written as library units are, so that they
can move there): activation quantisation of rows with SmoothQuant smoothing and a per-token or per-tensor
scale, dequantisation of an integer GEMM's rows with the bias, and the decode step's K/V cache update.
(``dsl.library.units.quantize`` has the per-token forms without smoothing, per-tensor scales or bias.)

Numerics: exactly ``dsl.library.quant``'s kernels (``ref.smooth``, ``ref.quantize_per_token`` / ``ref.quantize``,
``ref.dequantize_rows`` + bias), row by row.
"""
from __future__ import annotations

import dsl
from dsl import float32, int8, int32
from dsl.library import checks
from dsl.library.quant import round_clamp
from dsl.library.units import tokens
from dsl.library.units.tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)

PER_TOKEN, PER_TENSOR = 0, 1


def _quant_check(R, D, MODE):
    checks.sizes(R=R)
    need_row("D", float32, D, "smooth_quantize_rows")
    need_row("D", int8, D, "smooth_quantize_rows")
    if MODE not in (PER_TOKEN, PER_TENSOR):
        raise dsl.DSLTypeError(f"smooth_quantize_rows: MODE = {MODE!r} must be 0 (per token) or 1 (per tensor)")


@dsl.template("R", "D", "MODE", check=_quant_check)
def smooth_quantize_rows(xs: "dsl.Stream[float32[chunk(float32, D)], 2]", sm: "float32[D]", st: float32,
                         qs: "dsl.Stream[int8[chunk(int8, D)], 2]", ss: "dsl.Stream[float32, 2]"):
    """Each float32 row x: x' = x / sm (SmoothQuant; sm = 1 is exact), s = max|x'| / 127 (MODE 0, per token;
    1 for a zero row) or st (MODE 1, per tensor), int8 round(x' / s) to ``qs`` and s to ``ss``."""
    _smooth_quantize_rows[R, D, MODE, min(D, WORD // 32), min(D, WORD // 8)](xs, sm, st, qs, ss)


@dsl.template("R", "D", "MODE", "CF", "CQ")
def _smooth_quantize_rows(xs: "dsl.Stream[float32[CF], 2]", sm: "float32[D]", st: float32,
                          qs: "dsl.Stream[int8[CQ], 2]", ss: "dsl.Stream[float32, 2]"):
    smv: float32[D]
    xb: float32[D]
    qb: int8[D]
    for j in range(D, name="params"):
        smv[j] = sm[j]
    for r in range(R, name="rows"):
        tokens.get_row[float32, D, CF](xs, xb)
        m: float32 = 0.0
        for j2 in range(D, name="smooth"):
            xb[j2] = xb[j2] / smv[j2]
            m = max(m, abs(xb[j2]))
        sc: float32 = st
        if MODE == 0:
            sc = m / 127.0 if m > 0.0 else 1.0
        for j3 in range(D, name="quantize"):
            qb[j3] = int8(round_clamp[127](xb[j3] / sc))
        tokens.put_row[int8, D, CQ](qb, qs)
        ss.put(sc)


def _dequant_check(R, N):
    checks.sizes(R=R)
    need_row("N", int32, N, "dequantize_bias_rows")
    need_row("N", float32, N, "dequantize_bias_rows")


@dsl.template("R", "N", check=_dequant_check)
def dequantize_bias_rows(accs: "dsl.Stream[int32[chunk(int32, N)], 2]", ss: "dsl.Stream[float32, 2]",
                         deq: "float32[2, N]", ys: "dsl.Stream[float32[chunk(float32, N)], 2]"):
    """y[j] = (float(acc[j]) * s) * sw[j] + b[j] for each int32 row (s from ``ss``, one per row; ``deq`` holds
    sw in row 0 and the bias in row 1, read once)."""
    _dequantize_bias_rows[R, N, min(N, WORD // 32)](accs, ss, deq, ys)


@dsl.template("R", "N", "C")
def _dequantize_bias_rows(accs: "dsl.Stream[int32[C], 2]", ss: "dsl.Stream[float32, 2]", deq: "float32[2, N]",
                          ys: "dsl.Stream[float32[C], 2]"):
    sw: float32[N]
    bias: float32[N]
    ab: int32[N]
    yb: float32[N]
    for j in range(N, name="params"):
        sw[j] = deq[0, j]
        bias[j] = deq[1, j]
    for r in range(R, name="rows"):
        tokens.get_row[int32, N, C](accs, ab)
        sc: float32 = ss.get()
        for j2 in range(N, name="dequantize"):
            yb[j2] = (float32(ab[j2]) * sc) * sw[j2] + bias[j2]
        tokens.put_row[float32, N, C](yb, ys)


def _kv_check(LMAX, D):
    checks.sizes(LMAX=LMAX)
    need_row("D", float32, D, "kv_update")


@dsl.template("LMAX", "D", check=_kv_check)
def kv_update(new: "dsl.Stream[float32[chunk(float32, D)], 2]", cache: "float32[LMAX, D]",
              rows: "dsl.Stream[float32[chunk(float32, D)], 2]", pos: int32):
    """Decode: the new K (or V) row is written at ``pos`` and every one of the LMAX cache rows is streamed
    (rows after pos are masked by the softmax's row length): one process owns the cache argument, and the
    attention GEMM sees a fixed number of keys whatever the position."""
    _kv_update[LMAX, D, min(D, WORD // 32)](new, cache, rows, pos)


@dsl.template("LMAX", "D", "C")
def _kv_update(new: "dsl.Stream[float32[C], 2]", cache: "float32[LMAX, D]", rows: "dsl.Stream[float32[C], 2]",
               pos: int32):
    buf: float32[D]
    for i in range(LMAX, name="rows"):
        if i == pos:
            tokens.get_row[float32, D, C](new, buf)
            for j in range(D, name="write"):
                cache[i, j] = buf[j]
        else:
            for j2 in range(D, name="read"):
                buf[j2] = cache[i, j2]
        tokens.put_row[float32, D, C](buf, rows)


UNIT_LOOPS = {  # loops pipelined by ``schedule_model_units`` (the row loops at II=1)
    "_smooth_quantize_rows": ("params", "smooth", "quantize"),
    "_dequantize_bias_rows": ("params", "dequantize"),
    "_kv_update": ("write", "read"),
}


def schedule_model_units(s):
    """Pipeline the row loops of these units and partition their row buffers by the token width."""
    import re

    from dsl.schedule import names as N

    for func in N.funcs(s.module):
        base = re.sub(r"_\d+$", "", func)
        for loop in UNIT_LOOPS.get(base, ()):
            s.pipeline(f"{func}:{loop}")
    return s
