"""Units that touch memory (m_axi arguments): row loaders and storers, weight loaders over packed words,
K/V cache writers and readers, with the host-side packing of weights.

Vitis wants each top-level (m_axi) argument of a dataflow region read or written by one process: each unit
here is that process for its argument, and streams what it reads (rows, weight blocks) to the compute units.
Every memory loop reads or writes consecutive addresses in a pipelined loop, so the m_axi adapter bursts.

Weight layout (``pack_weight_tiles``): a linear layer's W [N, K] (PyTorch's [out, in]) is cut into column
blocks of Nt outputs; word w = (ni, kw) of the packed argument holds KPW = 512 / (Nt * bits) consecutive k
steps of block ni, element (kk, j) = W[ni*Nt + j, kw*KPW + kk] in bits [(kk*Nt + j)*bits, ... + bits). A
loader reads the words in order, one per cycle (one 512-bit HBM beat), and streams each as one block
``TyW[KPW, Nt]``: the KPW k steps of weights the Mt x Nt PE array of ``aw_gemm`` consumes next.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import UInt, int32

from .. import checks
from . import tokens
from .tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)


# -- rows -----------------------------------------------------------------------------------------------
def _rows_check(T, L, D):
    checks.sizes(L=L)
    need_row("D", T, D, "load_rows / store_rows")


@dsl.template("T", "L", "D", check=_rows_check)
def load_rows(X: "T[L, D]", xs: "dsl.Stream[T[chunk(T, D)], 2]"):
    """Stream the L rows of X (each row: D / chunk tokens)."""
    buf: T[D]
    for i in range(L, name="rows"):
        for j in range(D, name="read"):
            buf[j] = X[i, j]
        tokens.put_row[T, D, min(D, WORD // T.bits)](buf, xs)


@dsl.template("T", "L", "D", check=_rows_check)
def store_rows(ys: "dsl.Stream[T[chunk(T, D)], 2]", Y: "T[L, D]"):
    """Write L rows from ``ys`` into Y."""
    buf: T[D]
    for i in range(L, name="rows"):
        tokens.get_row[T, D, min(D, WORD // T.bits)](ys, buf)
        for j in range(D, name="write"):
            Y[i, j] = buf[j]


# -- weights --------------------------------------------------------------------------------------------
def words_per_block(TyW, Nt) -> int:
    """k steps of an Nt-wide weight block held by one packed word (KPW)."""
    return WORD // (Nt * TyW.bits)


def _weights_check(TyW, N, K, Nt, PASSES):
    checks.need_int_type("TyW", TyW, "load_weights: ")
    checks.sizes(N=N, K=K, Nt=Nt, PASSES=PASSES)
    if Nt * TyW.bits > WORD or WORD % (Nt * TyW.bits):
        raise dsl.ShapeError(f"load_weights: a {WORD}-bit word holds whole k steps of Nt = {Nt} weights of "
                             f"{TyW!r} ({Nt * TyW.bits} bits each) only when Nt * {TyW.bits} divides {WORD}")
    checks.need_multiple("N", N, "Nt", Nt, "the weights are streamed in blocks of Nt output columns")
    kpw = words_per_block(TyW, Nt)
    checks.need_multiple("K", K, "KPW", kpw, f"one word holds {kpw} k steps of a block")


@dsl.template("TyW", "N", "K", "Nt", "PASSES", check=_weights_check)
def load_weights(Wp: "UInt(WORD)[N // Nt * (K // (WORD // (Nt * TyW.bits)))]",
                 ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]"):
    """Stream the packed weights PASSES times (once per row block of the GEMM), one block per word."""
    _unpack_words[TyW, N // Nt * (K // (WORD // (Nt * TyW.bits))), WORD // (Nt * TyW.bits), Nt, TyW.bits,
                  PASSES](Wp, ws)


def _share_check(TyW, N, K, Nt, PASSES, P, I):
    _weights_check(TyW, N, K, Nt, PASSES)
    checks.sizes(P=P)
    words = N // Nt * (K // words_per_block(TyW, Nt))
    checks.need_multiple("the packed words", words, "P", P, "each of the P loaders reads an equal share")
    if not 0 <= I < P:
        raise dsl.ShapeError(f"load_weight_share: I = {I} must be one of the P = {P} loaders (0..{P - 1})")


@dsl.template("TyW", "N", "K", "Nt", "PASSES", "P", "I", check=_share_check)
def load_weight_share(Wp: "UInt(WORD)[N // Nt * (K // (WORD // (Nt * TyW.bits))) // P]",
                      ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]"):
    """Loader I of P that together stream ``load_weights``'s words when one memory channel cannot: this one
    holds words I, I + P, I + 2P, ... (``split_words``), each loader on its own channel; ``merge_words``
    interleaves their streams back into the order the GEMM takes."""
    _unpack_words[TyW, N // Nt * (K // (WORD // (Nt * TyW.bits))) // P, WORD // (Nt * TyW.bits), Nt, TyW.bits,
                  PASSES](Wp, ws)


@dsl.template("TyW", "KPW", "Nt", "NW")
def merge_words(a: "dsl.Stream[TyW[KPW, Nt], 2]", b: "dsl.Stream[TyW[KPW, Nt], 2]",
                ws: "dsl.Stream[TyW[KPW, Nt], 2]"):
    """NW blocks, alternately from ``a`` and ``b`` (one per cycle): two loaders' shares as one stream. One
    write of ``ws`` per iteration (the block taken from either input), so that the loop runs at II=1 (a FIFO
    takes one write a cycle)."""
    blk: TyW[KPW, Nt]
    for w in range(NW, name="words"):
        if w % 2 == 0:
            blk = a.get()
        else:
            blk = b.get()
        ws.put(blk)


def split_words(words, P: int) -> list:
    """The P shares of packed words (``load_weight_share``'s arguments): share i holds words i, i + P, ..."""
    return [words[i::P] for i in range(P)]


@dsl.template("TyW", "NW", "KPW", "Nt", "B", "PASSES")
def _unpack_words(Wp: "UInt(WORD)[NW]", ws: "dsl.Stream[TyW[KPW, Nt], 2]"):
    blk: TyW[KPW, Nt]
    for r in range(PASSES, name="passes"):
        for w in range(NW, name="words"):
            word: UInt(WORD) = Wp[w]
            with dsl.meta_for(KPW * Nt) as p:  # constant offsets: the unpacking is wiring
                blk[p // Nt, p % Nt] = TyW(word[p * B:(p + 1) * B])
            ws.put(blk)


def pack_weight_tiles(W, bits: int, Nt: int) -> np.ndarray:
    """W [N, K] integers -> the UInt(512) words ``load_weights`` reads (Python ints, as the backends take
    values wider than 64 bits)."""
    W = np.asarray(W, dtype=np.int64)
    N, K = W.shape
    kpw = WORD // (Nt * bits)
    if N % Nt or K % kpw or WORD % (Nt * bits):
        raise dsl.ShapeError(f"pack_weight_tiles: W of shape {list(W.shape)} does not tile into blocks of "
                             f"Nt = {Nt} columns and {kpw} k steps of {bits}-bit weights")
    # [ni, kw, kk, j] = W[ni*Nt + j, kw*kpw + kk]
    tiles = W.reshape(N // Nt, Nt, K // kpw, kpw).transpose(0, 2, 3, 1).reshape(-1, kpw * Nt)
    fields = (tiles & ((1 << bits) - 1)).astype(np.uint64)
    if bits == 8:
        raw = fields.astype(np.uint8)
    elif bits == 4:
        raw = (fields[:, 0::2] | (fields[:, 1::2] << np.uint64(4))).astype(np.uint8)
    else:
        out = np.empty(len(fields), dtype=object)
        for w, row in enumerate(fields):
            out[w] = sum(int(v) << (p * bits) for p, v in enumerate(row))
        return out
    out = np.empty(len(raw), dtype=object)
    out[:] = [int.from_bytes(r.tobytes(), "little") for r in raw]
    return out


# -- the K/V cache --------------------------------------------------------------------------------------
def _kv_check(T, LMAX, D, LN):
    checks.sizes(LMAX=LMAX, LN=LN)
    need_row("D", T, D, "the K/V cache units")
    if LN > LMAX:
        raise dsl.ShapeError(f"LN = {LN} rows do not fit a cache of LMAX = {LMAX} rows")


@dsl.template("T", "LMAX", "D", "LN", check=_kv_check)
def kv_write(rows: "dsl.Stream[T[chunk(T, D)], 2]", cache: "T[LMAX, D]", pos: int32):
    """cache[pos + i] = the i-th of LN rows (prefill: the K or V rows of the prompt)."""
    buf: T[D]
    for i in range(LN, name="rows"):
        tokens.get_row[T, D, min(D, WORD // T.bits)](rows, buf)
        for j in range(D, name="write"):
            cache[pos + i, j] = buf[j]


@dsl.template("T", "LMAX", "D", "LN", check=_kv_check)
def kv_read(cache: "T[LMAX, D]", rows: "dsl.Stream[T[chunk(T, D)], 2]", pos: int32):
    """Stream cache[pos], ..., cache[pos + LN - 1]."""
    buf: T[D]
    for i in range(LN, name="rows"):
        for j in range(D, name="read"):
            buf[j] = cache[pos + i, j]
        tokens.put_row[T, D, min(D, WORD // T.bits)](buf, rows)


@dsl.template("T", "LMAX", "D", "LN", check=_kv_check)
def kv_append(new: "dsl.Stream[T[chunk(T, D)], 2]", cache: "T[LMAX, D]", out: "dsl.Stream[T[chunk(T, D)], 2]",
              pos: int32):
    """Decode: stream the pos cached rows, then take the LN new rows, append them to the cache and stream
    them too (pos + LN rows out). One process owns the cache argument, as Vitis requires."""
    buf: T[D]
    for i in range(pos, name="past"):
        for j in range(D, name="read"):
            buf[j] = cache[i, j]
        tokens.put_row[T, D, min(D, WORD // T.bits)](buf, out)
    for i2 in range(LN, name="new"):
        tokens.get_row[T, D, min(D, WORD // T.bits)](new, buf)
        for j2 in range(D, name="write"):
            cache[pos + i2, j2] = buf[j2]
        tokens.put_row[T, D, min(D, WORD // T.bits)](buf, out)
