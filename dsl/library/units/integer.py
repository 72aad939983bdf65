"""Integer-only row units (I-BERT style, ``dsl.library.intops``): GeLU, softmax and LayerNorm of one row per
token group, for spatial designs without floating point. Each reads a row from its input stream, applies
the row kernel the memory-to-memory kernel applies (``intops.int_gelu_row``, ``int_softmax_row``,
``int_layer_norm_row``) and sends the row on, so it computes the same integers as ``intops.int_gelu`` /
``int_softmax`` / ``int_layer_norm`` (and their numpy twins ``*_ref``), to the bit.

The integer constants come from the input scale on the host (``intops.gelu_params(S)``,
``softmax_params(S, D)``) and enter the design as scalar arguments. Rows travel as 512-bit tokens
(``tokens``): int32 inputs 16 to a token, int16 32, the int64 results 8.
"""
from __future__ import annotations

import dsl
from dsl import int16, int32, int64  # noqa: F401  (the annotations)

from .. import checks, intops
from . import tokens
from .tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)


def _check(TI, TO, what):
    def check(R, D):
        checks.sizes(R=R)
        need_row("D", TI, D, what)
        need_row("D", TO, D, what)
    return check


def _ln_check(R, D):
    _check(int16, int64, "int_layer_norm_rows")(R, D)
    intops._ln_check(R, D)


@dsl.template("R", "D", check=_check(int32, int64, "int_gelu_rows"))
def int_gelu_rows(xs: "dsl.Stream[int32[chunk(int32, D)], 2]", zs: "dsl.Stream[int64[chunk(int64, D)], 2]",
                  qb: int64, qc: int64, q1: int64):
    """``intops.int_gelu`` of each of R rows of int32 (scale S), results int64 (``gelu_params(S)``)."""
    _int_gelu_rows[R, D, min(D, WORD // 32), min(D, WORD // 64)](xs, zs, qb, qc, q1)


@dsl.template("R", "D", "CI", "CO")
def _int_gelu_rows(xs: "dsl.Stream[int32[CI], 2]", zs: "dsl.Stream[int64[CO], 2]", qb: int64, qc: int64,
                   q1: int64):
    xb: int32[D]
    zb: int64[D]
    for r in range(R, name="rows"):
        tokens.get_row[int32, D, CI](xs, xb)
        intops.int_gelu_row[D](xb, zb, qb, qc, q1)
        tokens.put_row[int64, D, CO](zb, zs)


@dsl.template("R", "D", check=_check(int32, int32, "int_softmax_rows"))
def int_softmax_rows(xs: "dsl.Stream[int32[chunk(int32, D)], 2]", zs: "dsl.Stream[int32[chunk(int32, D)], 2]",
                     q_ln2: int64, qb: int64, qc: int64):
    """``intops.int_softmax`` of each row: int32 probabilities of scale 2^-OUT_BITS (``softmax_params``)."""
    _int_softmax_rows[R, D, min(D, WORD // 32)](xs, zs, q_ln2, qb, qc)


@dsl.template("R", "D", "CH")
def _int_softmax_rows(xs: "dsl.Stream[int32[CH], 2]", zs: "dsl.Stream[int32[CH], 2]", q_ln2: int64, qb: int64,
                      qc: int64):
    xb: int32[D]
    zb: int32[D]
    for r in range(R, name="rows"):
        tokens.get_row[int32, D, CH](xs, xb)
        intops.int_softmax_row[D](xb, zb, q_ln2, qb, qc)
        tokens.put_row[int32, D, CH](zb, zs)


@dsl.template("R", "D", check=_ln_check)
def int_layer_norm_rows(xs: "dsl.Stream[int16[chunk(int16, D)], 2]", zs: "dsl.Stream[int64[chunk(int64, D)], 2]"):
    """``intops.int_layer_norm`` of each row of int16: int64 results of scale sqrt(D) / 2^30."""
    _int_layer_norm_rows[R, D, min(D, WORD // 16), min(D, WORD // 64)](xs, zs)


@dsl.template("R", "D", "CI", "CO")
def _int_layer_norm_rows(xs: "dsl.Stream[int16[CI], 2]", zs: "dsl.Stream[int64[CO], 2]"):
    xb: int16[D]
    zb: int64[D]
    for r in range(R, name="rows"):
        tokens.get_row[int16, D, CI](xs, xb)
        intops.int_layer_norm_row[D](xb, zb)
        tokens.put_row[int64, D, CO](zb, zs)


__all__ = ["int_gelu_rows", "int_softmax_rows", "int_layer_norm_rows"]
