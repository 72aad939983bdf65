"""``models.units``' quantisation units over a number of rows given at run time (``m``): the linear
operators of the layer that serves both phases of a decoder with one set of PE arrays (``models.dual``).
Each computes what its fixed-R unit computes, row by row (the same arithmetic, the same bits); loops bounded
by ``m`` are named ``rows``. The loop and buffer names are those of the fixed-R units, so that their
schedules (``schedule_model_units``, ``dsl.dse.units.paper_schedule``) apply."""
from __future__ import annotations

import dsl
from dsl import float32, int8, int32
from dsl.library.quant import MIN_ABSMAX, round_clamp
from dsl.library.units import tokens
from dsl.library.units.tokens import WORD, chunk  # noqa: F401  (chunk: used in the annotations)

from .units import UNIT_LOOPS, UNIT_REGISTERS, _concat_check, _dequant_check, _quant_check


@dsl.template("R", "D", "MODE", check=_quant_check)
def smooth_quantize_rows_n(xs: "dsl.Stream[float32[chunk(float32, D)], 2]", sm: "float32[D]", st: float32,
                           qs: "dsl.Stream[int8[chunk(int8, D)], 2]", ss: "dsl.Stream[float32, 2]", m: int32):
    """``units.smooth_quantize_rows`` for m rows."""
    _smooth_quantize_rows_n[R, D, MODE, min(D, WORD // 32), min(D, WORD // 8)](xs, sm, st, qs, ss, m)


@dsl.template("R", "D", "MODE", "CF", "CQ")
def _smooth_quantize_rows_n(xs: "dsl.Stream[float32[CF], 2]", sm: "float32[D]", st: float32,
                            qs: "dsl.Stream[int8[CQ], 2]", ss: "dsl.Stream[float32, 2]", m: int32):
    smv: float32[D]
    xb: float32[D]
    qb: int8[D]
    for j in range(D, name="params"):
        smv[j] = sm[j]
    for r in range(m, name="rows"):
        tokens.get_row[float32, D, CF](xs, xb)
        for j2 in range(D, name="smooth"):
            xb[j2] = xb[j2] / smv[j2]
        lane: float32[8]
        for l0 in range(8, name="absmax_init"):
            lane[l0] = 0.0
        for g in range(D // 8, name="absmax"):
            for l in range(8, name="absmax_lanes"):
                lane[l] = max(lane[l], abs(xb[g * 8 + l]))
        mx: float32 = max(max(max(lane[0], lane[1]), max(lane[2], lane[3])),
                          max(max(lane[4], lane[5]), max(lane[6], lane[7])))
        sc: float32 = st
        if MODE == 0:
            sc = mx / 127.0 if mx >= MIN_ABSMAX[int8] else 1.0  # as the reference: no subnormal scale
        for j3 in range(D, name="quantize"):
            qb[j3] = int8(round_clamp[127](xb[j3] / sc))
        tokens.put_row[int8, D, CQ](qb, qs)
        ss.put(sc)


@dsl.template("R", "N", check=_dequant_check)
def dequantize_bias_rows_n(accs: "dsl.Stream[int32[chunk(int32, N)], 2]", ss: "dsl.Stream[float32, 2]",
                           deq: "float32[2, N]", ys: "dsl.Stream[float32[chunk(float32, N)], 2]", m: int32):
    """``units.dequantize_bias_rows`` for m rows."""
    _dequantize_bias_rows_n[R, N, min(N, WORD // 32)](accs, ss, deq, ys, m)


@dsl.template("R", "N", "C")
def _dequantize_bias_rows_n(accs: "dsl.Stream[int32[C], 2]", ss: "dsl.Stream[float32, 2]", deq: "float32[2, N]",
                            ys: "dsl.Stream[float32[C], 2]", m: int32):
    sw: float32[N]
    bias: float32[N]
    ab: int32[N]
    yb: float32[N]
    for j in range(N, name="params"):
        sw[j] = deq[0, j]
        bias[j] = deq[1, j]
    for r in range(m, name="rows"):
        tokens.get_row[int32, N, C](accs, ab)
        sc: float32 = ss.get()
        for j2 in range(N, name="dequantize"):
            yb[j2] = (float32(ab[j2]) * sc) * sw[j2] + bias[j2]
        tokens.put_row[float32, N, C](yb, ys)


@dsl.template("T", "R", "D", check=_concat_check)
def concat_rows_n(a: "dsl.Stream[T[chunk(T, D)], 2]", b: "dsl.Stream[T[chunk(T, D)], 2]",
                  ys: "dsl.Stream[T[chunk(T, 2 * D)], 2]", m: int32):
    """``units.concat_rows`` for m rows."""
    _concat_rows_n[T, R, D, min(D, WORD // T.bits)](a, b, ys, m)


@dsl.template("T", "R", "D", "C")
def _concat_rows_n(a: "dsl.Stream[T[C], 2]", b: "dsl.Stream[T[C], 2]", ys: "dsl.Stream[T[C], 2]", m: int32):
    for r in range(m, name="rows"):
        for t in range(D // C, name="first"):
            x: T[C] = a.get()
            ys.put(x)
        for t2 in range(D // C, name="second"):
            y: T[C] = b.get()
            ys.put(y)


# the fixed-R units' schedules, for these
UNIT_LOOPS.setdefault("_smooth_quantize_rows_n", UNIT_LOOPS["_smooth_quantize_rows"])
UNIT_LOOPS.setdefault("_dequantize_bias_rows_n", UNIT_LOOPS["_dequantize_bias_rows"])
UNIT_REGISTERS.setdefault("_smooth_quantize_rows_n", UNIT_REGISTERS["_smooth_quantize_rows"])
