"""Streaming units the accelerators need beyond dsl.library.units (written as library units are, so that they
can move there): activation quantisation of rows with SmoothQuant smoothing and a per-token or per-tensor
scale, dequantisation of an integer GEMM's rows with the bias, and the int8 attention's units: the K/V cache
of int8 rows with their scales, the scores' dequantisation + softmax + requantisation of the probabilities,
and the per-head dequantisation of score x V. (``dsl.library.units.quantize`` has the per-token forms without
smoothing, per-tensor scales or bias.)

Numerics: exactly ``dsl.library.quant``'s kernels (``ref.smooth``, ``ref.quantize_per_token`` / ``ref.quantize``,
``ref.dequantize_rows`` + bias), row by row; the attention as ``models.quant.int8_attention`` writes it.
"""
from __future__ import annotations

import dsl
from dsl import UInt, float32, int8, int32
from dsl.library import checks, mathf, rows
from dsl.library.quant import MIN_ABSMAX, round_clamp
from dsl.library.rows import LANES
from dsl.library.units import tokens
from dsl.library.units.tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)

PER_TOKEN, PER_TENSOR = 0, 1


def _quant_check(R, D, MODE):
    checks.sizes(R=R)
    need_row("D", float32, D, "smooth_quantize_rows")
    need_row("D", int8, D, "smooth_quantize_rows")
    if D % 8:
        raise dsl.ShapeError(f"smooth_quantize_rows: D = {D} must be a multiple of 8 (the row's max is kept in 8 "
                             "interleaved lanes)")
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
        for j2 in range(D, name="smooth"):
            xb[j2] = xb[j2] / smv[j2]
        lane: float32[8]  # max |x'| of 8 interleaved lanes (max is exact: any order gives the row's max)
        for l0 in range(8, name="absmax_init"):
            lane[l0] = 0.0
        for g in range(D // 8, name="absmax"):
            for l in range(8, name="absmax_lanes"):
                lane[l] = max(lane[l], abs(xb[g * 8 + l]))
        m: float32 = max(max(max(lane[0], lane[1]), max(lane[2], lane[3])),
                         max(max(lane[4], lane[5]), max(lane[6], lane[7])))
        sc: float32 = st
        if MODE == 0:
            sc = m / 127.0 if m >= MIN_ABSMAX[int8] else 1.0  # as the reference: no subnormal scale
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


def _kv_check(LMAX, D, LN):
    checks.sizes(LMAX=LMAX, LN=LN)
    if D % (WORD // 8):
        raise dsl.ShapeError(f"kv_append_q: a cached row of D = {D} int8 is whole {WORD}-bit words only when D is "
                             f"a multiple of {WORD // 8}")
    if LN > LMAX:
        raise dsl.ShapeError(f"kv_append_q: LN = {LN} new rows do not fit a cache of LMAX = {LMAX} rows")


@dsl.template("LMAX", "D", "LN", check=_kv_check)
def kv_append_q(new: "dsl.Stream[int8[WORD // 8], 2]", new_s: "dsl.Stream[float32, 2]",
                cache: "UInt(WORD)[LMAX * D // (WORD // 8)]", scales: "float32[LMAX]",
                out: "dsl.Stream[int8[WORD // 8], 2]", out_s: "dsl.Stream[float32, 2]", pos: int32):
    """The int8 K (or V) cache, rows of D int8 as D / 64 512-bit words (one token each; row i at words
    i * D / 64, ...: the bytes of an int8 [LMAX, D] array), with one float32 scale per row: stream the pos
    cached rows (and scales), then take the LN new rows, append them at pos and stream them too: pos + LN
    rows out, the context attention sees (prefill: pos = 0; decode: LN = 1). One process owns both cache
    arguments; a word per cycle of the cache's pseudo-channel is read or written."""
    _kv_append_q[LMAX, D // (WORD // 8), LN, WORD // 8](new, new_s, cache, scales, out, out_s, pos)


@dsl.template("LMAX", "WR", "LN", "C")
def _kv_append_q(new: "dsl.Stream[int8[C], 2]", new_s: "dsl.Stream[float32, 2]", cache: "UInt(WORD)[LMAX * WR]",
                 scales: "float32[LMAX]", out: "dsl.Stream[int8[C], 2]", out_s: "dsl.Stream[float32, 2]",
                 pos: int32):
    blk: int8[C]
    for i in range(pos, name="past"):
        for w in range(WR, name="read"):  # the row's scale with its last word: a perfect nest, which Vitis
            word: UInt(WORD) = cache[i * WR + w]  # flattens (one pipeline over the pos x WR words, UG1399
            with dsl.meta_for(C) as p:  # loop_flatten), not a pipeline fill and drain for every row
                blk[p] = int8(word[p * 8:(p + 1) * 8])  # constant offsets: the unpacking is wiring
            out.put(blk)
            if w == WR - 1:
                out_s.put(scales[i])
    for i2 in range(LN, name="new"):
        for w2 in range(WR, name="write"):
            blk2: int8[C] = new.get()
            word2: UInt(WORD) = 0
            with dsl.meta_for(C) as p2:  # the word from its C bytes, each zero-extended and shifted into place
                word2 = word2 | (UInt(WORD)(UInt(8)(blk2[p2])) << (p2 * 8))
            cache[(pos + i2) * WR + w2] = word2
            out.put(blk2)
        sc: float32 = new_s.get()
        scales[pos + i2] = sc
        out_s.put(sc)


def _probs_check(LQ, LK, H, Mq):
    checks.sizes(LQ=LQ, LK=LK, H=H, Mq=Mq)
    checks.need_multiple("LQ", LQ, "Mq", Mq, "score rows come in tiles of Mq queries")
    need_row("LK", int32, LK, "attention_probs")
    need_row("LK", int8, LK, "attention_probs")


@dsl.template("LQ", "LK", "H", "Mq", check=_probs_check)
def attention_probs(ss: "dsl.Stream[int32[chunk(int32, LK)], 2]", qsc: "dsl.Stream[float32, 2]",
                    ksc: "dsl.Stream[float32, 2]", vsc: "dsl.Stream[float32, 2]", ns: "dsl.Stream[int32, 2]",
                    ps: "dsl.Stream[int8[chunk(int8, LK)], 2]", psc: "dsl.Stream[float32, 2]", n: int32,
                    scale: float32):
    """The int8 attention between its two GEMMs, for the score rows of ``gemm.qk_gemm(_n)`` (order: query
    tile, head, row of the tile; n keys present, each row ceil(n / 16) int32 tokens): x[j] = (acc[j] *
    sq[i]) * sk[j] (the query's and the key's scales), p = softmax(x * scale) over the row's kept length (from
    ``ns``), p'[j] = p[j] * sv[j] (the value rows' scales, so that score x V factors), and p' quantised per
    row to int8 (s = max p' / 127) for ``gemm.pv_gemm(_n)``; the scale of each row to ``psc``. The softmax is
    ``rows.softmax_row``'s arithmetic; every loop runs over the n keys (the masked tail to the token's end)."""
    _attention_probs[LQ, LK, H, Mq, min(LK, WORD // 32), min(LK, WORD // 8)](ss, qsc, ksc, vsc, ns, ps, psc, n,
                                                                              scale)


@dsl.template("LQ", "LK", "H", "Mq", "CS", "CP")
def _attention_probs(ss: "dsl.Stream[int32[CS], 2]", qsc: "dsl.Stream[float32, 2]", ksc: "dsl.Stream[float32, 2]",
                     vsc: "dsl.Stream[float32, 2]", ns: "dsl.Stream[int32, 2]", ps: "dsl.Stream[int8[CP], 2]",
                     psc: "dsl.Stream[float32, 2]", n: int32, scale: float32):
    """Per score row: dequantise, the running max (``rows.row_max``), the exponentials with their sum in one
    pass (``rows.exp_sum``: the separate exp loop and ``row_sum``'s bits), the fold with its max, then the
    row leaves quantised while the next row comes in (``_exchange_probs``), as the library's row units
    overlap their rows (``tokens.exchange_row``). Every element loop can take LANES elements a cycle
    (``dsl.dse.units`` sets the lanes)."""
    sk: float32[LK]
    sv: float32[LK]
    sq: float32[Mq]
    acc: int32[LK]
    x: float32[LK]
    z: float32[LK]
    for j in range(n, name="kv_scales"):  # K's and V's in step: the two come from one fork of SLR0's rows
        sk[j] = ksc.get()
        sv[j] = vsc.get()
    tokens.get_prefix[int32, LK, CS](ss, acc, n)  # the first row; each later one comes in as its predecessor leaves
    nin: int32 = (n + CS - 1) // CS
    for mi in range(LQ // Mq, name="query_tiles"):
        for i in range(Mq, name="query_scales"):
            sq[i] = qsc.get()
        for h in range(H, name="heads"):
            for i2 in range(Mq, name="rows"):
                cnt: int32 = ns.get()
                for j2 in range(cnt, name="dequantize"):
                    x[j2] = (float32(acc[j2]) * sq[i2]) * sk[j2]
                m: float32 = rows.row_max[float32, LK](x, cnt, scale)
                total: float32 = rows.exp_sum[float32, LK, mathf.LIBRARY](x, z, cnt, scale, m)
                pm: float32 = _fold_probs[LK](z, sv, total, cnt)
                sp: float32 = 1.0  # (an if, not a conditional expression: that one is typed float64)
                if pm >= MIN_ABSMAX[int8]:  # as the reference: no subnormal scale
                    sp = pm / 127.0
                more: int32 = nin  # tokens of the next row: none after the last row of the pass
                if mi == LQ // Mq - 1 and h == H - 1 and i2 == Mq - 1:
                    more = 0
                _exchange_probs[LK, CS, CP](ss, acc, more, z, cnt, sp, ps, n)
                psc.put(sp)


@dsl.template("LK")
def _fold_probs(z: "float32[LK]", sv: "float32[LK]", total: float32, cnt: int32) -> float32:
    """z[j] = (z[j] / total) * sv[j] for j < cnt and max(0, max z): the max in LANES interleaved lanes, as
    ``rows.row_max`` keeps it (max is exact: any order gives the row's max, the sequential loop's bits), so
    that LANES elements a cycle meet no compare chain."""
    lane: float32[LANES] = 0.0
    for g in range(cnt // LANES, name="fold_groups"):
        for l in range(LANES, name="fold_lanes"):
            v: float32 = (z[g * LANES + l] / total) * sv[g * LANES + l]
            z[g * LANES + l] = v
            lane[l] = max(lane[l], v)
    base: int32 = (cnt // LANES) * LANES
    for l2 in range(cnt - base, name="fold_tail"):
        v2: float32 = (z[base + l2] / total) * sv[base + l2]
        z[base + l2] = v2
        lane[l2] = max(lane[l2], v2)
    return max(max(max(lane[0], lane[1]), max(lane[2], lane[3])), max(max(lane[4], lane[5]), max(lane[6], lane[7])))


@dsl.template("LK", "CS", "CP")
def _exchange_probs(ss: "dsl.Stream[int32[CS], 2]", acc: "int32[LK]", nin: int32, z: "float32[LK]", cnt: int32,
                    sp: float32, ps: "dsl.Stream[int8[CP], 2]", n: int32):
    """``tokens.exchange_row`` across two token widths: the leaving row's ceil(n / CP) int8 tokens, each
    quantised on the way out (int8 round(z[j] / sp) for j < cnt, 0 for the masked tail), and with each the
    next row's int32 tokens of the same elements (CP / CS of them, fewer at the row's end; ``nin`` in all)
    into ``acc``."""
    blk: int8[CP]
    for c in range((n + CP - 1) // CP, name="tokens"):
        for k in range(CP // CS, name="take"):
            if c * (CP // CS) + k < nin:
                got: int32[CS] = ss.get()
                for j in range(CS, name="unpack"):
                    acc[(c * (CP // CS) + k) * CS + j] = got[j]
        for j2 in range(CP, name="quantize"):
            blk[j2] = 0
            if c * CP + j2 < cnt:
                blk[j2] = int8(round_clamp[127](z[c * CP + j2] / sp))
        ps.put(blk)


def _heads_check(LQ, D, H, Mq):
    checks.sizes(LQ=LQ, D=D, H=H, Mq=Mq)
    checks.need_multiple("D", D, "H", H, "the model dimension is split evenly over the heads")
    checks.need_multiple("LQ", LQ, "Mq", Mq, "rows come in tiles of Mq queries")
    need_row("D", int32, D, "dequantize_heads")


@dsl.template("LQ", "D", "H", "Mq", check=_heads_check)
def dequantize_heads(accs: "dsl.Stream[int32[chunk(int32, D)], 2]", psc: "dsl.Stream[float32, 2]",
                     ys: "dsl.Stream[float32[chunk(float32, D)], 2]"):
    """score x V back to float32: y[c] = float(acc[c]) * s (s: the probability row's scale of the head of
    channel c, from ``attention_probs`` in its order: Mq x H per query tile)."""
    _dequantize_heads[LQ, D, H, Mq, D // H, min(D, WORD // 32)](accs, psc, ys)


@dsl.template("LQ", "D", "H", "Mq", "DH", "C")
def _dequantize_heads(accs: "dsl.Stream[int32[C], 2]", psc: "dsl.Stream[float32, 2]",
                      ys: "dsl.Stream[float32[C], 2]"):
    sc: float32[H, Mq]
    ab: int32[D]
    yb: float32[D]
    for mi in range(LQ // Mq, name="query_tiles"):
        for h, i in dsl.grid(H, Mq, name="scales"):
            sc[h, i] = psc.get()
        for i2 in range(Mq, name="rows"):
            tokens.get_row[int32, D, C](accs, ab)
            for j in range(D, name="dequantize"):
                yb[j] = float32(ab[j]) * sc[j // DH, i2]
            tokens.put_row[float32, D, C](yb, ys)


def _concat_check(T, R, D):
    checks.sizes(R=R, D=D)
    if D % min(D, WORD // T.bits) or (D < WORD // T.bits):
        raise dsl.ShapeError(f"concat_rows: a half row of D = {D} {T!r} must be whole {WORD}-bit tokens (a multiple "
                             f"of {WORD // T.bits}), so that the two halves join token by token")


@dsl.template("T", "R", "D", check=_concat_check)
def concat_rows(a: "dsl.Stream[T[chunk(T, D)], 2]", b: "dsl.Stream[T[chunk(T, D)], 2]",
                ys: "dsl.Stream[T[chunk(T, 2 * D)], 2]"):
    """Each of the R rows of ``a`` followed by the same row of ``b`` (D values each): the columns of two PE
    arrays that share a GEMM's outputs, as one row of 2 D. One token a cycle."""
    _concat_rows[T, R, D, min(D, WORD // T.bits)](a, b, ys)


@dsl.template("T", "R", "D", "C")
def _concat_rows(a: "dsl.Stream[T[C], 2]", b: "dsl.Stream[T[C], 2]", ys: "dsl.Stream[T[C], 2]"):
    for r in range(R, name="rows"):
        for t in range(D // C, name="first"):
            x: T[C] = a.get()
            ys.put(x)
        for t2 in range(D // C, name="second"):
            y: T[C] = b.get()
            ys.put(y)


UNIT_LOOPS = {  # loops pipelined by ``schedule_model_units``: one element a cycle (II = elements per iteration)
    "_smooth_quantize_rows": ("params", "smooth", "absmax", "quantize"),
    "_dequantize_bias_rows": ("params", "dequantize"),
    "_kv_append_q": (("read", 2), ("write", 2)),  # a 512-bit word every 2 cycles: 8 GB/s, within one channel
    "_attention_probs": ("kv_scales", "dequantize"),
    "_fold_probs": (("fold_groups", LANES), "fold_tail"),
    "_exchange_probs": (("tokens", "ps"),),  # II = the elements of a ps token: one quantised a cycle
    "_dequantize_heads": ("dequantize",),
}


UNIT_REGISTERS = {"_kv_append_q": ("blk", "blk2"), "_smooth_quantize_rows": ("lane",), "_fold_probs": ("lane",),
                  "_exchange_probs": ("blk",)}  # a token's bytes (a reduction's lanes) in registers: wiring


def schedule_model_units(s):
    """Pipeline the row loops of these units and partition their row buffers by the token width (the lanes
    of the paper's design are ``dsl.dse.units.paper_schedule``'s)."""
    import re

    from dsl.library.units.schedules import _token
    from dsl.schedule import names as N

    for func in list(N.funcs(s.module)):
        base = re.sub(r"_\d+$", "", func)
        for loop in UNIT_LOOPS.get(base, ()):
            name, ii = loop if isinstance(loop, tuple) else (loop, 1)
            s.pipeline(f"{func}:{name}", _token(s, func, ii) if isinstance(ii, str) else ii)
        for buf in UNIT_REGISTERS.get(base, ()):
            s.partition(f"{func}:{buf}", dsl.Partition.Complete, dim=0)
    return s
