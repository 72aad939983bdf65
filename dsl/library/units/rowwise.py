"""Row-wise streaming units: softmax (with the causal mask's row lengths), layer_norm, GeLU, the residual
add with its bypass FIFO, and the fork that feeds it. Each consumes and produces one row per token, so the
dataflow never waits for a whole tensor, and applies the row kernel of ``dsl.library.rows`` to each row:
the same code as ``nn.softmax`` / ``nn.layer_norm`` / ``nn.gelu``, hence the same bits (float32 exactly).
MATH (the ``*_math`` forms): ``mathf.LIBRARY`` (the default of the plain forms) computes exp / erf with the
library's bit-exact polynomials; ``mathf.VENDOR`` calls the vendor's cores (``hls::exp``, ``hls::erf``,
``hls::tanh`` in the HLS code, the C library on the CPU and in csim), within the tolerance ``mathf`` states.
How they overlap (what Vitis gets): softmax and LayerNorm make two passes over a row. The row transfer
takes row r + 1 in while row r leaves, and carries a pass of each: softmax takes the arriving row's max
and divides the leaving row by its sum, LayerNorm takes the arriving row's sum and normalises the leaving
row from its deviations; between transfers, one pass computes row r + 1's exponentials with their sum
(``rows.exp_sum``) or its deviations with the sum of their squares (``rows.square_sum``). Each keeps the row
kernel's operations in its order, hence its bits. GeLU, element-wise, runs token by token in one pipelined
loop. The lanes (elements a cycle of every pass) are a schedule's: ``schedules.row_lanes``.
"""
from __future__ import annotations

import dsl
from dsl import int32

from .. import checks, mathf, rows
from ..rows import LANES, NEG_MAX, SUM_LANES
from . import tokens
from .tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)


def _rows_check(T, R, D):
    checks.float_row(T, D)
    checks.sizes(R=R)
    need_row("D", T, D, "the row-wise units")


# -- softmax and the causal mask ------------------------------------------------------------------------
@dsl.template("T", "R", "D", check=_rows_check)
def softmax_rows(xs: "dsl.Stream[T[chunk(T, D)], 2]", ns: "dsl.Stream[int32, 2]",
                 zs: "dsl.Stream[T[chunk(T, D)], 2]", scale: "T"):
    """z = softmax(x * scale) over the first n entries of each of R rows (n from ``ns``, one per row: the
    causal mask's row lengths); z[j] = 0 for j >= n."""
    _softmax_rows[T, R, D, min(D, WORD // T.bits), mathf.LIBRARY](xs, ns, zs, scale)


def _math_rows_check(T, R, D, MATH):
    _rows_check(T, R, D)
    rows._math_row(T, D, MATH)


@dsl.template("T", "R", "D", "MATH", check=_math_rows_check)
def softmax_rows_math(xs: "dsl.Stream[T[chunk(T, D)], 2]", ns: "dsl.Stream[int32, 2]",
                      zs: "dsl.Stream[T[chunk(T, D)], 2]", scale: "T"):
    """``softmax_rows`` with the exp of ``MATH`` (``mathf.VENDOR``: the vendor's exponential core)."""
    _softmax_rows[T, R, D, min(D, WORD // T.bits), MATH](xs, ns, zs, scale)


@dsl.template("T", "R", "D", "CH", "MATH")
def _softmax_rows(xs: "dsl.Stream[T[CH], 2]", ns: "dsl.Stream[int32, 2]", zs: "dsl.Stream[T[CH], 2]", scale: "T"):
    xb: T[D]
    zb: T[D]
    n: int32 = ns.get()
    m: T = _get_softmax[T, D, CH](xs, xb, n, scale)
    for r in range(R - 1, name="rows"):  # row r's exponentials, then row r + 1 in while row r leaves
        s: T = rows.exp_sum[T, D, MATH](xb, zb, n, scale, m)
        n_next: int32 = ns.get()
        m = _exchange_softmax[T, D, CH](xs, xb, zb, zs, s, n, scale, n_next)
        n = n_next
    s_last: T = rows.exp_sum[T, D, MATH](xb, zb, n, scale, m)
    _send_softmax[T, D, CH](zb, zs, s_last, n)


@dsl.template("T", "D", "CH")
def _get_softmax(xs: "dsl.Stream[T[CH], 2]", row_in: "T[D]", n_in: int32, scale: "T") -> "T":
    """The first row in, its running maxima taken as it arrives (``rows.row_max``'s lanes: element j into
    lane j % LANES, in order; a token's elements are j % LANES for its index j since CH is a multiple of
    LANES or the whole row): max(x[j] * scale, j < n_in)."""
    mx: T[LANES] = NEG_MAX
    for c in range(D // CH, name="tokens"):
        got: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row_in[c * CH + j] = got[j]
            if c * CH + j < n_in:
                mx[j % LANES] = max(mx[j % LANES], got[j] * scale)
    return rows.lane_max(mx)


@dsl.template("T", "D", "CH")
def _exchange_softmax(xs: "dsl.Stream[T[CH], 2]", row_in: "T[D]", row_out: "T[D]", ys: "dsl.Stream[T[CH], 2]",
                      s: "T", n: int32, scale: "T", n_in: int32) -> "T":
    """``tokens.exchange_row`` with two passes riding on the transfer: the leaving row divided by its sum
    (z[j] / s for j < n, 0 beyond: ``rows.softmax_row``'s bits) and the arriving row's max (as
    ``_get_softmax``, returned), so that a row takes two passes (this one and ``exp_sum``), not three."""
    blk: T[CH]
    mx: T[LANES] = NEG_MAX
    for c in range(D // CH, name="tokens"):
        got: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row_in[c * CH + j] = got[j]
            if c * CH + j < n_in:
                mx[j % LANES] = max(mx[j % LANES], got[j] * scale)
        for j2 in range(CH, name="normalize"):
            v: T = row_out[c * CH + j2]
            blk[j2] = v / s if c * CH + j2 < n else 0.0
        ys.put(blk)
    return rows.lane_max(mx)


@dsl.template("T", "D", "CH")
def _send_softmax(row_out: "T[D]", ys: "dsl.Stream[T[CH], 2]", s: "T", n: int32):
    """The last row's ``_exchange_softmax``: it leaves divided by its sum, and no row comes in."""
    blk: T[CH]
    for c in range(D // CH, name="tokens"):
        for j2 in range(CH, name="normalize"):
            v: T = row_out[c * CH + j2]
            blk[j2] = v / s if c * CH + j2 < n else 0.0
        ys.put(blk)


def _mask_check(LQ, LK, H, Mq, PASSES):
    checks.sizes(LQ=LQ, LK=LK, H=H, Mq=Mq, PASSES=PASSES)
    checks.need_multiple("LQ", LQ, "Mq", Mq, "rows come in tiles of Mq queries")


@dsl.template("LQ", "LK", "H", "Mq", "PASSES", check=_mask_check)
def causal_mask(ns: "dsl.Stream[int32, 2]", past: int32):
    """The kept length of every score row of ``gemm.qk_gemm``, in its order (tile, head, row of the tile):
    query i keeps keys j <= past + i, i.e. min(past + i + 1, LK) of them (``past >= LK - 1``: all keys, an
    encoder; ``past = 0``: a causal prefill; decode: the cached length)."""
    for p in range(PASSES, name="passes"):
        for mi in range(LQ // Mq, name="query_tiles"):
            for h in range(H, name="heads"):
                for i in range(Mq, name="rows"):
                    ns.put(min(past + mi * Mq + i + 1, LK))


# -- normalisation and GeLU -----------------------------------------------------------------------------
@dsl.template("T", "R", "D", check=_rows_check)
def layer_norm_rows(xs: "dsl.Stream[T[chunk(T, D)], 2]", gamma: "T[D]", beta: "T[D]",
                    zs: "dsl.Stream[T[chunk(T, D)], 2]", eps: "T"):
    """LayerNorm of each row (``rows.layer_norm_row``'s bits); gamma and beta are read once into local copies."""
    _layer_norm_rows[T, R, D, min(D, WORD // T.bits)](xs, gamma, beta, zs, eps)


@dsl.template("T", "R", "D", "CH")
def _layer_norm_rows(xs: "dsl.Stream[T[CH], 2]", gamma: "T[D]", beta: "T[D]", zs: "dsl.Stream[T[CH], 2]",
                     eps: "T"):
    g: T[D]
    b: T[D]
    xb: T[D]
    zb: T[D]
    for j in range(D, name="params"):
        g[j] = gamma[j]
        b[j] = beta[j]
    mean: T = _get_sum[T, D, CH](xs, xb) / D
    for r in range(R - 1, name="rows"):  # row r's deviations, then row r + 1 in while row r leaves
        rstd: T = 1.0 / dsl.sqrt(rows.square_sum[T, D](xb, zb, mean) / D + eps)
        mean = _exchange_layer_norm[T, D, CH](xs, xb, zb, g, b, zs, rstd) / D
    rstd_last: T = 1.0 / dsl.sqrt(rows.square_sum[T, D](xb, zb, mean) / D + eps)
    _send_layer_norm[T, D, CH](zb, g, b, zs, rstd_last)


@dsl.template("T", "R", "D", "CH")
def _layer_norm_rows_n(xs: "dsl.Stream[T[CH], 2]", gamma: "T[D]", beta: "T[D]", zs: "dsl.Stream[T[CH], 2]",
                       eps: "T", m: int32):
    """``_layer_norm_rows`` over m >= 1 rows given at run time (``rowcount.layer_norm_rows_n``): the same
    passes; only the bound of the ``rows`` loop differs (a fixed bound keeps every stream's token count
    static, which the SLR-crossing streams of a fixed-size design need)."""
    g: T[D]
    b: T[D]
    xb: T[D]
    zb: T[D]
    for j in range(D, name="params"):
        g[j] = gamma[j]
        b[j] = beta[j]
    mean: T = _get_sum[T, D, CH](xs, xb) / D
    for r in range(m - 1, name="rows"):
        rstd: T = 1.0 / dsl.sqrt(rows.square_sum[T, D](xb, zb, mean) / D + eps)
        mean = _exchange_layer_norm[T, D, CH](xs, xb, zb, g, b, zs, rstd) / D
    rstd_last: T = 1.0 / dsl.sqrt(rows.square_sum[T, D](xb, zb, mean) / D + eps)
    _send_layer_norm[T, D, CH](zb, g, b, zs, rstd_last)


@dsl.template("T", "D", "CH")
def _get_sum(xs: "dsl.Stream[T[CH], 2]", row_in: "T[D]") -> "T":
    """The first row in, summed as it arrives in ``rows.row_sum``'s order (element j into partial sum
    j % SUM_LANES, in order, combined by ``lane_total``)."""
    acc: T[SUM_LANES] = 0.0
    for c in range(D // CH, name="tokens"):
        got: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row_in[c * CH + j] = got[j]
            acc[(c * CH + j) % SUM_LANES] += got[j]
    return rows.lane_total(acc)


@dsl.template("T", "D", "CH")
def _exchange_layer_norm(xs: "dsl.Stream[T[CH], 2]", row_in: "T[D]", dev: "T[D]", g: "T[D]", b: "T[D]",
                         ys: "dsl.Stream[T[CH], 2]", rstd: "T") -> "T":
    """The leaving row normalised from its deviations (``rows.layer_norm_row``'s (d * rstd) * g + b) while
    the next row arrives and is summed (``_get_sum``, returned): a row takes two passes (this one and
    ``square_sum``), not three."""
    blk: T[CH]
    acc: T[SUM_LANES] = 0.0
    for c in range(D // CH, name="tokens"):
        got: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row_in[c * CH + j] = got[j]
            acc[(c * CH + j) % SUM_LANES] += got[j]
        for j2 in range(CH, name="normalize"):
            blk[j2] = (dev[c * CH + j2] * rstd) * g[c * CH + j2] + b[c * CH + j2]
        ys.put(blk)
    return rows.lane_total(acc)


@dsl.template("T", "D", "CH")
def _send_layer_norm(dev: "T[D]", g: "T[D]", b: "T[D]", ys: "dsl.Stream[T[CH], 2]", rstd: "T"):
    """The last row's ``_exchange_layer_norm``: it leaves normalised, and no row comes in."""
    blk: T[CH]
    for c in range(D // CH, name="tokens"):
        for j2 in range(CH, name="normalize"):
            blk[j2] = (dev[c * CH + j2] * rstd) * g[c * CH + j2] + b[c * CH + j2]
        ys.put(blk)


@dsl.template("T", "R", "D", check=_rows_check)
def gelu_rows(xs: "dsl.Stream[T[chunk(T, D)], 2]", zs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """GeLU, exact (erf) form, of each row (BERT's "gelu")."""
    _gelu_rows[T, R, D, min(D, WORD // T.bits), mathf.ERF_FORM, mathf.LIBRARY](xs, zs)


@dsl.template("T", "R", "D", check=_rows_check)
def gelu_tanh_rows(xs: "dsl.Stream[T[chunk(T, D)], 2]", zs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """GeLU, tanh approximation, of each row (GPT2's "gelu_new")."""
    _gelu_rows[T, R, D, min(D, WORD // T.bits), mathf.TANH_FORM, mathf.LIBRARY](xs, zs)


@dsl.template("T", "R", "D", "MATH", check=_math_rows_check)
def gelu_rows_math(xs: "dsl.Stream[T[chunk(T, D)], 2]", zs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """``gelu_rows`` with the erf of ``MATH`` (``mathf.VENDOR``: the vendor's ``hls::erf``)."""
    _gelu_rows[T, R, D, min(D, WORD // T.bits), mathf.ERF_FORM, MATH](xs, zs)


@dsl.template("T", "R", "D", "MATH", check=_math_rows_check)
def gelu_tanh_rows_math(xs: "dsl.Stream[T[chunk(T, D)], 2]", zs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """``gelu_tanh_rows`` with the tanh form of ``MATH`` (``mathf.VENDOR``: ``hls::tanh``)."""
    _gelu_rows[T, R, D, min(D, WORD // T.bits), mathf.TANH_FORM, MATH](xs, zs)


@dsl.template("T", "R", "D", "CH", "FORM", "MATH")
def _gelu_rows(xs: "dsl.Stream[T[CH], 2]", zs: "dsl.Stream[T[CH], 2]"):
    """Element-wise, so token by token: each token's CH elements through the row kernel as they arrive
    (the same code, hence the same bits, as on a whole row). Reading, computing and writing overlap in one
    pipelined loop, where a row buffer would make every row wait for its last token and then for its
    output to leave."""
    zb: T[CH]
    for t in range(R * (D // CH), name="tokens"):
        xb: T[CH] = xs.get()
        rows.gelu_row[T, CH, FORM, MATH](xb, zb)
        zs.put(zb)


# -- the residual connection ----------------------------------------------------------------------------
def _elementwise_check(T, R, D):
    checks.need_type("T", T, (dsl.float32, int32, dsl.int8), "")
    checks.sizes(R=R)
    need_row("D", T, D, "fork_rows / residual_add")


@dsl.template("T", "R", "D", check=_elementwise_check)
def fork_rows(xs: "dsl.Stream[T[chunk(T, D)], 2]", main: "dsl.Stream[T[chunk(T, D)], 2]",
              bypass: "dsl.Stream[T[chunk(T, D)], 2]"):
    """Each of the R rows to both outputs: into the block (``main``) and around it (``bypass``)."""
    for t in range(R * (D // min(D, WORD // T.bits)), name="tokens"):
        blk: T[min(D, WORD // T.bits)] = xs.get()
        main.put(blk)
        bypass.put(blk)


@dsl.template("T", "R", "D", check=_elementwise_check)
def residual_add(xs: "dsl.Stream[T[chunk(T, D)], 2]", bypass: "dsl.Stream[T[chunk(T, D)], 2]",
                 zs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """z = x + the row that went around the block (integers wrap to T, as ``nn.residual_add``). The bypass
    stream must hold the rows in flight inside the block: declare it at least ``bypass_depth(...)`` tokens
    deep (the simulator names it, with the depth that avoids the deadlock, when it is too shallow)."""
    _residual_add[T, R, D, min(D, WORD // T.bits)](xs, bypass, zs)


@dsl.template("T", "R", "D", "CH")
def _residual_add(xs: "dsl.Stream[T[CH], 2]", bypass: "dsl.Stream[T[CH], 2]", zs: "dsl.Stream[T[CH], 2]"):
    zb: T[CH]
    for t in range(R * (D // CH), name="tokens"):
        xb: T[CH] = xs.get()
        yb: T[CH] = bypass.get()
        for j in range(CH, name="add"):
            zb[j] = xb[j] + yb[j]
        zs.put(zb)


def bypass_depth(D, T, *row_blocks: int, slack: int = 2) -> int:
    """Tokens the bypass FIFO must hold: every unit on the main path that collects a block of rows before
    its first output (an ``aw_gemm`` collects Mt rows; softmax and LayerNorm send a row while they take
    the next, so 2; GeLU streams, 0) holds that many rows back, each D / chunk tokens;
    ``slack`` rows cover the FIFOs between the units. The paper sizes this FIFO at l x d activations:
    ``bypass_depth(d, T, l)``."""
    return (sum(row_blocks) + slack) * (D // chunk(T, D))


__all__ = ["softmax_rows", "causal_mask", "layer_norm_rows", "gelu_rows", "gelu_tanh_rows", "fork_rows",
           "softmax_rows_math", "gelu_rows_math", "gelu_tanh_rows_math",
           "residual_add", "bypass_depth", "mathf"]
