"""``models.units``' quantisation units over a number of rows given at run time (``m``): the linear
operators of the layer that serves both phases of a decoder with one set of PE arrays (``models.dual``).
Each computes what its fixed-R unit computes, row by row (the same arithmetic, the same bits); loops bounded
by ``m`` are named ``rows``. The loop and buffer names are those of the fixed-R units, so that their
schedules (``schedule_model_units``, ``dsl.dse.units.paper_schedule``) apply."""
from __future__ import annotations

import dsl
from dsl import UInt, float32, int8, int32
from dsl.library.quant import MIN_ABSMAX, round_clamp
from dsl.library.units import tokens
from dsl.library.units.tokens import WORD, chunk  # noqa: F401  (chunk: used in the annotations)

from .units import UNIT_LOOPS, UNIT_REGISTERS, _concat_check, _dequant_check, _quant_check


@dsl.template("R", "D", "MODE", check=_quant_check)
def smooth_quantize_rows_n(xs: "dsl.Stream[float32[chunk(float32, D)], 2]", sm: "UInt(WORD)[D // (WORD // 32)]",
                           st: float32,
                           qs: "dsl.Stream[int8[chunk(int8, D)], 2]", ss: "dsl.Stream[float32, 2]", m: int32):
    """``units.smooth_quantize_rows`` for m rows; the smoothing factors as 512-bit words of 16 floats (read
    at every call: a word an iteration, where a float32 [D] argument gives one a cycle)."""
    _smooth_quantize_rows_n[R, D, MODE, min(D, WORD // 32), min(D, WORD // 8)](xs, sm, st, qs, ss, m)


@dsl.template("R", "D", "MODE", "CF", "CQ")
def _smooth_quantize_rows_n(xs: "dsl.Stream[float32[CF], 2]", sm: "UInt(WORD)[D // (WORD // 32)]", st: float32,
                            qs: "dsl.Stream[int8[CQ], 2]", ss: "dsl.Stream[float32, 2]", m: int32):
    # The row is smoothed and its max taken as its tokens come in (one loop over the tokens), so that only
    # the quantisation waits for the row's last token; the fixed-R unit takes the row, then smooths it,
    # then finds the max (three passes after the last token). The max of the same values in another order
    # is the same value: the scale and every quantised bit are the fixed-R unit's.
    smv: float32[D]
    xb: float32[D]
    qb: int8[D]
    for j in range(D // (WORD // 32), name="params"):
        word: UInt(WORD) = sm[j]
        with dsl.meta_for(WORD // 32) as p:  # constant offsets: the unpacking is wiring
            smv[j * (WORD // 32) + p] = word[p * 32:(p + 1) * 32].bitcast()
    for r in range(m, name="rows"):
        mx: float32 = 0.0
        for t in range(D // CF, name="smooth"):
            blk: float32[CF] = xs.get()
            tm: float32[CF]
            for l in range(CF, name="smooth_lanes"):
                v: float32 = blk[l] / smv[t * CF + l]
                xb[t * CF + l] = v
                tm[l] = abs(v)
            top: float32 = tm[0]
            for l2 in range(CF - 1, name="token_max"):  # the token's largest |x|: no loop-carried dependence
                top = max(top, tm[l2 + 1])
            mx = max(mx, top)  # the one recurrence: a compare and select a token
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
UNIT_LOOPS.setdefault("_smooth_quantize_rows_n", ("params", "smooth", "quantize"))  # its token loop whole
UNIT_LOOPS.setdefault("_dequantize_bias_rows_n", UNIT_LOOPS["_dequantize_bias_rows"])
UNIT_REGISTERS.setdefault("_smooth_quantize_rows_n", ("blk", "tm"))  # a token's values: registers


# -- the activations between the kernels, as 512-bit words ------------------------------------------------
# A kernel's float32 rows in HBM as WORD-bit words of 16 (the bytes of a float32 [R, D] array), read and
# written a word an iteration: one m_axi beat moves 16 elements (UG1399: an interface of the memory's full
# 512-bit width, as the KV cache's), where a float32 [R, D] argument moves one element a cycle.
def _words_check(R, D):
    if D % (WORD // 32):
        raise dsl.ShapeError(f"rows as {WORD}-bit words: D = {D} must be a multiple of {WORD // 32} floats")


@dsl.template("R", "D", check=_words_check)
def load_row_words_n(X: "UInt(WORD)[R * D // (WORD // 32)]", xs: "dsl.Stream[float32[WORD // 32], 2]", m: int32):
    """The first m rows of X (float32 rows as words of 16) as tokens of 16 floats, a word a token."""
    _load_row_words_n[R, D](X, xs, m)


@dsl.template("R", "D", check=_words_check)
def load_row_words(X: "UInt(WORD)[R * D // (WORD // 32)]", xs: "dsl.Stream[float32[WORD // 32], 2]"):
    """``load_row_words_n`` for all R rows (the attention kernel's fixed rows)."""
    _load_row_words[R, D](X, xs)


@dsl.template("R", "D")
def _load_row_words(X: "UInt(WORD)[R * D // (WORD // 32)]", xs: "dsl.Stream[float32[WORD // 32], 2]"):
    for r in range(R, name="rows"):
        for w in range(D // (WORD // 32), name="read"):
            word: UInt(WORD) = X[r * (D // (WORD // 32)) + w]
            blk: float32[WORD // 32]
            with dsl.meta_for(WORD // 32) as p:  # constant offsets: the unpacking is wiring
                blk[p] = word[p * 32:(p + 1) * 32].bitcast()
            xs.put(blk)


@dsl.template("R", "D")
def _load_row_words_n(X: "UInt(WORD)[R * D // (WORD // 32)]", xs: "dsl.Stream[float32[WORD // 32], 2]", m: int32):
    for r in range(m, name="rows"):
        for w in range(D // (WORD // 32), name="read"):
            word: UInt(WORD) = X[r * (D // (WORD // 32)) + w]
            blk: float32[WORD // 32]
            with dsl.meta_for(WORD // 32) as p:  # constant offsets: the unpacking is wiring
                blk[p] = word[p * 32:(p + 1) * 32].bitcast()
            xs.put(blk)


@dsl.template("R", "D", check=_words_check)
def store_row_words_n(ys: "dsl.Stream[float32[WORD // 32], 2]", Y: "UInt(WORD)[R * D // (WORD // 32)]", m: int32):
    """m rows of tokens of 16 floats into the first rows of Y, a token a word."""
    _store_row_words_n[R, D](ys, Y, m)


@dsl.template("R", "D", check=_words_check)
def store_row_words(ys: "dsl.Stream[float32[WORD // 32], 2]", Y: "UInt(WORD)[R * D // (WORD // 32)]"):
    """``store_row_words_n`` for all R rows."""
    _store_row_words[R, D](ys, Y)


@dsl.template("R", "D")
def _store_row_words(ys: "dsl.Stream[float32[WORD // 32], 2]", Y: "UInt(WORD)[R * D // (WORD // 32)]"):
    for r in range(R, name="rows"):
        for w in range(D // (WORD // 32), name="write"):
            blk: float32[WORD // 32] = ys.get()
            word: UInt(WORD) = 0
            with dsl.meta_for(WORD // 32) as p:  # each float's bits shifted into place
                bits: UInt(32) = blk[p].bitcast()
                word = word | (UInt(WORD)(bits) << (p * 32))
            Y[r * (D // (WORD // 32)) + w] = word


@dsl.template("R", "D")
def _store_row_words_n(ys: "dsl.Stream[float32[WORD // 32], 2]", Y: "UInt(WORD)[R * D // (WORD // 32)]",
                       m: int32):
    for r in range(m, name="rows"):
        for w in range(D // (WORD // 32), name="write"):
            blk: float32[WORD // 32] = ys.get()
            word: UInt(WORD) = 0
            with dsl.meta_for(WORD // 32) as p:  # each float's bits shifted into place
                bits: UInt(32) = blk[p].bitcast()
                word = word | (UInt(WORD)(bits) << (p * 32))
            Y[r * (D // (WORD // 32)) + w] = word

for _unit, _loop in (("_load_row_words", "read"), ("_store_row_words", "write"), ("_load_row_words_n", "read"),
                     ("_store_row_words_n", "write")):
    UNIT_LOOPS.setdefault(_unit, ((_loop, 2),))  # a word every 2 cycles: 8 GB/s, within one channel (as the cache)
    UNIT_REGISTERS.setdefault(_unit, ("blk",))
