"""How a row travels between units: as 512-bit tokens, ``T[chunk(T, D)]`` (64 int8, 16 float32 or int32,
128 int4 per token; a row shorter than that is one token). A row of D elements is D / chunk(T, D) tokens in
order. 512 bits is the width of an HBM beat and of a FIFO Vitis builds comfortably; a whole row per token
(6144 bytes for float32 at D = 1536) would make FIFOs tens of kilobits wide. Units read a row into a local
buffer with ``get_row`` and send one with ``put_row``.
"""
from __future__ import annotations

import dsl
from dsl import int32

from .. import checks

WORD = 512  # bits of one token (and of one packed weight word)


def chunk(T, D) -> int:
    """Elements of T in one token of a row of D elements."""
    return min(D, WORD // T.bits)


def need_row(name: str, T, D, what: str):
    """A row of D elements of T must split into whole tokens."""
    checks.need_size(name, D)
    if D % chunk(T, D):
        raise dsl.ShapeError(f"{what}: a row of {name} = {D} elements of {T!r} travels in tokens of "
                             f"{chunk(T, D)} elements ({WORD} bits); {name} must be a multiple of {chunk(T, D)}")


@dsl.template("T", "D", "CH")
def get_row(xs: "dsl.Stream[T[CH], 2]", row: "T[D]"):
    """Take the D / CH tokens of one row into ``row``."""
    for c in range(D // CH, name="tokens"):
        blk: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row[c * CH + j] = blk[j]


@dsl.template("T", "D", "CH")
def put_row(row: "T[D]", ys: "dsl.Stream[T[CH], 2]"):
    """Send ``row`` as D / CH tokens."""
    blk: T[CH]
    for c in range(D // CH, name="tokens"):
        for j in range(CH, name="pack"):
            blk[j] = row[c * CH + j]
        ys.put(blk)


@dsl.template("T", "D", "CH")
def exchange_row(xs: "dsl.Stream[T[CH], 2]", row_in: "T[D]", row_out: "T[D]", ys: "dsl.Stream[T[CH], 2]"):
    """Take the next row into ``row_in`` while ``row_out`` leaves, a token of each a cycle: a row unit's
    output row overlaps its next input row (``get_row`` then ``put_row`` would take both passes one after
    the other). A unit calls it between its rows, ``get_row`` before the first and ``put_row`` after the
    last, so that no transfer sits under a branch: every stream's token count stays static, which an
    SLR-crossing stream needs (``dsl.dataflow.check.static_tokens``)."""
    blk: T[CH]
    for c in range(D // CH, name="tokens"):
        got: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row_in[c * CH + j] = got[j]
        for j2 in range(CH, name="pack"):
            blk[j2] = row_out[c * CH + j2]
        ys.put(blk)


@dsl.template("T", "D", "CH")
def get_prefix(xs: "dsl.Stream[T[CH], 2]", row: "T[D]", n: int32):
    """Take the first ceil(n / CH) tokens of a row (a row whose length is known at run time: n <= D valid
    elements, the rest of the last token padding); ``row`` beyond them is left as it was."""
    for c in range((n + CH - 1) // CH, name="tokens"):
        blk: T[CH] = xs.get()
        for j in range(CH, name="unpack"):
            row[c * CH + j] = blk[j]


@dsl.template("T", "D", "CH")
def put_prefix(row: "T[D]", ys: "dsl.Stream[T[CH], 2]", n: int32):
    """Send the first ceil(n / CH) tokens of ``row`` (``get_prefix``'s producer)."""
    blk: T[CH]
    for c in range((n + CH - 1) // CH, name="tokens"):
        for j in range(CH, name="pack"):
            blk[j] = row[c * CH + j]
        ys.put(blk)
