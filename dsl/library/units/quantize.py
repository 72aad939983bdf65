"""Quantisation between the integer GEMMs and the float32 row units, one row at a time: dynamic per-token
quantisation (float rows -> int8/int4 rows and one scale per row), dequantisation of GEMM accumulators
(per-token row scale times per-channel column scale) and integer requantisation (int32 -> int8 with a
fixed-point multiplier). Each runs the library's own kernel (``dsl.library.quant``) on a 1-row matrix, so it
computes the bits of ``ref.quantize_per_token`` / ``ref.dequantize_rows`` / ``ref.requantize``.
"""
from __future__ import annotations

import dsl
from dsl import float32, int32

from .. import checks, quant
from . import tokens
from .tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)


def _quant_check(TF, TQ, R, D):
    checks.need_type("TF", TF, checks.FLOAT32, "quantisation scales and values are float32; ")
    checks.need_type("TQ", TQ, quant.QUANT_TYPES, "symmetric quantisation targets ")
    checks.sizes(R=R)
    need_row("D", TF, D, "quantize_rows")
    need_row("D", TQ, D, "quantize_rows")


@dsl.template("TF", "TQ", "R", "D", check=_quant_check)
def quantize_rows(xs: "dsl.Stream[TF[chunk(TF, D)], 2]", qs: "dsl.Stream[TQ[chunk(TQ, D)], 2]",
                  ss: "dsl.Stream[TF, 2]"):
    """Each row x -> round(x / s) clamped to +-QMAX with s = max|x| / QMAX (``quant.quantize_per_token``);
    the scale of each row goes to ``ss`` (for ``dequantize_rows`` after the next GEMM)."""
    _quantize_rows[TF, TQ, R, D, min(D, WORD // TF.bits), min(D, WORD // TQ.bits)](xs, qs, ss)


@dsl.template("TF", "TQ", "R", "D", "CF", "CQ")
def _quantize_rows(xs: "dsl.Stream[TF[CF], 2]", qs: "dsl.Stream[TQ[CQ], 2]", ss: "dsl.Stream[TF, 2]"):
    xb: TF[1, D]
    for r in range(R, name="rows"):
        tokens.get_row[TF, D, CF](xs, xb[0])
        q, s = quant.quantize_per_token[TF, TQ, 1, D](xb)
        tokens.put_row[TQ, D, CQ](q[0], qs)
        ss.put(s[0])


def _dequant_check(TQ, TF, R, D):
    checks.need_int_type("TQ", TQ, "dequantize_rows: ")
    checks.need_type("TF", TF, checks.FLOAT32, "dequantize_rows gives ")
    checks.sizes(R=R)
    need_row("D", TQ, D, "dequantize_rows")
    need_row("D", TF, D, "dequantize_rows")


@dsl.template("TQ", "TF", "R", "D", check=_dequant_check)
def dequantize_rows(accs: "dsl.Stream[TQ[chunk(TQ, D)], 2]", ss: "dsl.Stream[TF, 2]", s_col: "TF[D]",
                    zs: "dsl.Stream[TF[chunk(TF, D)], 2]"):
    """z[j] = (float(acc[j]) * s_row) * s_col[j], s_row one scale per row from ``ss``
    (``quant.dequantize_rows``); s_col (the weights' per-channel scales) is read once."""
    _dequantize_rows[TQ, TF, R, D, min(D, WORD // TQ.bits), min(D, WORD // TF.bits)](accs, ss, s_col, zs)


@dsl.template("TQ", "TF", "R", "D", "CQ", "CF")
def _dequantize_rows(accs: "dsl.Stream[TQ[CQ], 2]", ss: "dsl.Stream[TF, 2]", s_col: "TF[D]",
                     zs: "dsl.Stream[TF[CF], 2]"):
    cols: TF[D]
    ab: TQ[1, D]
    sr: TF[1]
    for j in range(D, name="scales"):
        cols[j] = s_col[j]
    for r in range(R, name="rows"):
        tokens.get_row[TQ, D, CQ](accs, ab[0])
        sr[0] = ss.get()
        z = quant.dequantize_rows[TQ, TF, 1, D](ab, sr, cols)
        tokens.put_row[TF, D, CF](z[0], zs)


def _requant_check(TQ, R, D):
    checks.need_type("TQ", TQ, quant.QUANT_TYPES, "requantisation targets ")
    checks.sizes(R=R)
    need_row("D", int32, D, "requantize_rows")
    need_row("D", TQ, D, "requantize_rows")


@dsl.template("TQ", "R", "D", check=_requant_check)
def requantize_rows(accs: "dsl.Stream[int32[chunk(int32, D)], 2]", qs: "dsl.Stream[TQ[chunk(TQ, D)], 2]",
                    mult: int32, shift: int32):
    """int32 accumulators -> TQ with one fixed-point multiplier mult * 2^-shift (``quant.requantize``)."""
    _requantize_rows[TQ, R, D, min(D, WORD // 32), min(D, WORD // TQ.bits)](accs, qs, mult, shift)


@dsl.template("TQ", "R", "D", "CA", "CQ")
def _requantize_rows(accs: "dsl.Stream[int32[CA], 2]", qs: "dsl.Stream[TQ[CQ], 2]", mult: int32, shift: int32):
    ab: int32[1, D]
    for r in range(R, name="rows"):
        tokens.get_row[int32, D, CA](accs, ab[0])
        q = quant.requantize[TQ, 1, D](ab, mult, shift)
        tokens.put_row[TQ, D, CQ](q[0], qs)


__all__ = ["quantize_rows", "dequantize_rows", "requantize_rows", "float32"]
