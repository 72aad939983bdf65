"""Units over a number of rows given at run time (``m``, at most the template's R): the row-wise units of
a layer that serves both phases of a decoder with one set of PE arrays (``gemm.aw_gemm_shared``), called
with the prompt's rows (prefill) or one row (decode). Each computes what its fixed-R unit computes, row by
row, with the same row kernels (hence the same bits); only the number of rows is a run-time value. Every
loop bounded by ``m`` is named ``rows`` (a loaders' ``passes``), so that an estimate can count it.
"""
from __future__ import annotations

import dsl
from dsl import UInt, int32

from .. import checks, mathf, rows
from . import tokens
from .memory import _rows_check as _memory_rows_check, _unpack_words, _weights_check
from .rowwise import _elementwise_check, _layer_norm_rows_n, _rows_check
from .tokens import WORD, chunk  # noqa: F401  (chunk: used in the annotations)


# -- memory ---------------------------------------------------------------------------------------------
@dsl.template("T", "L", "D", check=_memory_rows_check)
def load_rows_n(X: "T[L, D]", xs: "dsl.Stream[T[chunk(T, D)], 2]", m: int32):
    """Stream the first m rows of X (``memory.load_rows``)."""
    buf: T[D]
    for i in range(m, name="rows"):
        for j in range(D, name="read"):
            buf[j] = X[i, j]
        tokens.put_row[T, D, min(D, WORD // T.bits)](buf, xs)


@dsl.template("T", "L", "D", check=_memory_rows_check)
def store_rows_n(ys: "dsl.Stream[T[chunk(T, D)], 2]", Y: "T[L, D]", m: int32):
    """Write m rows from ``ys`` into the first rows of Y (``memory.store_rows``)."""
    buf: T[D]
    for i in range(m, name="rows"):
        tokens.get_row[T, D, min(D, WORD // T.bits)](ys, buf)
        for j in range(D, name="write"):
            Y[i, j] = buf[j]


def _passes_check(TyW, N, K, Nt, Mt):
    _weights_check(TyW, N, K, Nt, 1)
    checks.sizes(Mt=Mt)


@dsl.template("TyW", "N", "K", "Nt", "Mt", check=_passes_check)
def load_weights_n(Wp: "UInt(WORD)[N // Nt * (K // (WORD // (Nt * TyW.bits)))]",
                   ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]", m: int32):
    """``memory.load_weights`` for ``aw_gemm_shared`` taking m rows: the words once per tile of Mt rows
    (m / Mt passes), or once for a single row."""
    passes: int32 = m // Mt
    if m == 1:
        passes = 1
    for r in range(passes, name="rows"):
        _unpack_words[TyW, N // Nt * (K // (WORD // (Nt * TyW.bits))), WORD // (Nt * TyW.bits), Nt, TyW.bits,
                      1](Wp, ws)


@dsl.template("TyW", "N", "K", "Nt", "Mt", "P")
def load_weight_share_n(Wp: "UInt(WORD)[N // Nt * (K // (WORD // (Nt * TyW.bits))) // P]",
                        ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]", m: int32):
    """``memory.load_weight_share`` (one of P loaders, words I, I + P, ...) over m rows' passes."""
    passes: int32 = m // Mt
    if m == 1:
        passes = 1
    for r in range(passes, name="rows"):
        _unpack_words[TyW, N // Nt * (K // (WORD // (Nt * TyW.bits))) // P, WORD // (Nt * TyW.bits), Nt,
                      TyW.bits, 1](Wp, ws)


@dsl.template("TyW", "KPW", "Nt", "NW", "Mt")
def merge_words_n(a: "dsl.Stream[TyW[KPW, Nt], 2]", b: "dsl.Stream[TyW[KPW, Nt], 2]",
                  ws: "dsl.Stream[TyW[KPW, Nt], 2]", m: int32):
    """``memory.merge_words`` (NW blocks a pass, alternately from ``a`` and ``b``) over m rows' passes."""
    blk: TyW[KPW, Nt]
    passes: int32 = m // Mt
    if m == 1:
        passes = 1
    for r in range(passes, name="rows"):
        for w in range(NW, name="words"):
            if w % 2 == 0:
                blk = a.get()
            else:
                blk = b.get()
            ws.put(blk)


# -- row-wise -------------------------------------------------------------------------------------------
@dsl.template("T", "R", "D", check=_elementwise_check)
def fork_rows_n(xs: "dsl.Stream[T[chunk(T, D)], 2]", main: "dsl.Stream[T[chunk(T, D)], 2]",
                bypass: "dsl.Stream[T[chunk(T, D)], 2]", m: int32):
    """Each of the m rows to both outputs (``rowwise.fork_rows``)."""
    for r in range(m, name="rows"):
        for t in range(D // min(D, WORD // T.bits), name="tokens"):
            blk: T[min(D, WORD // T.bits)] = xs.get()
            main.put(blk)
            bypass.put(blk)


@dsl.template("T", "R", "D", check=_elementwise_check)
def residual_add_n(xs: "dsl.Stream[T[chunk(T, D)], 2]", bypass: "dsl.Stream[T[chunk(T, D)], 2]",
                   zs: "dsl.Stream[T[chunk(T, D)], 2]", m: int32):
    """z = x + the row that went around the block, for m rows (``rowwise.residual_add``)."""
    _residual_add_n[T, R, D, min(D, WORD // T.bits)](xs, bypass, zs, m)


@dsl.template("T", "R", "D", "CH")
def _residual_add_n(xs: "dsl.Stream[T[CH], 2]", bypass: "dsl.Stream[T[CH], 2]", zs: "dsl.Stream[T[CH], 2]",
                    m: int32):
    zb: T[CH]
    for r in range(m, name="rows"):
        for t in range(D // CH, name="tokens"):
            xb: T[CH] = xs.get()
            yb: T[CH] = bypass.get()
            for j in range(CH, name="add"):
                zb[j] = xb[j] + yb[j]
            zs.put(zb)


@dsl.template("T", "R", "D", check=_rows_check)
def layer_norm_rows_n(xs: "dsl.Stream[T[chunk(T, D)], 2]", gamma: "T[D]", beta: "T[D]",
                      zs: "dsl.Stream[T[chunk(T, D)], 2]", eps: "T", m: int32):
    """LayerNorm of each of m >= 1 rows (``rowwise.layer_norm_rows``: a row leaves while the next comes in)."""
    _layer_norm_rows_n[T, R, D, min(D, WORD // T.bits)](xs, gamma, beta, zs, eps, m)


@dsl.template("T", "R", "D", check=_rows_check)
def gelu_tanh_rows_n(xs: "dsl.Stream[T[chunk(T, D)], 2]", zs: "dsl.Stream[T[chunk(T, D)], 2]", m: int32):
    """GeLU, tanh form, of m rows, token by token (``rowwise.gelu_tanh_rows``)."""
    _gelu_rows_n[T, R, D, min(D, WORD // T.bits)](xs, zs, m)


@dsl.template("T", "R", "D", "CH")
def _gelu_rows_n(xs: "dsl.Stream[T[CH], 2]", zs: "dsl.Stream[T[CH], 2]", m: int32):
    zb: T[CH]
    for r in range(m, name="rows"):
        for t in range(D // CH, name="tokens"):
            xb: T[CH] = xs.get()
            rows.gelu_row[T, CH, mathf.TANH_FORM, mathf.LIBRARY](xb, zb)
            zs.put(zb)


__all__ = ["load_rows_n", "store_rows_n", "load_weights_n", "load_weight_share_n", "merge_words_n", "fork_rows_n",
           "residual_add_n", "layer_norm_rows_n", "gelu_tanh_rows_n"]
