"""GEMV for decode over packed weight words (the anchor is ``allo.library.gemv.int8xint8_mat_vec``).

A decode step multiplies one activation vector by each weight matrix, so it is bound by the weight stream:
the weights travel as wide words (``UInt(bits * P)``: P weights of one row, e.g. 64 int8 in a 512-bit HBM
word) and a P-way PE array consumes one word per cycle: P multiplies, an adder tree and one accumulator,
the row loop pipelined at II=1. Integers only, exact.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import UInt

from . import checks


# the widest weight word the library moves per memory beat (the 512-bit words of the module docstring); dsl
# integer types themselves may be wider (dsl.types.MAX_INT_WIDTH), a word stays what the port carries
WORD_BITS = 512


def _gemv_check(TyX, TyW, TyO, N, K, P):
    for name, t in (("TyX", TyX), ("TyW", TyW), ("TyO", TyO)):
        checks.need_int_type(name, t, "gemv: ")
    checks.sizes(N=N, K=K, P=P)
    checks.need_multiple("K", K, "P", P, "each word holds P consecutive weights of a row")
    if TyW.bits * P > WORD_BITS:
        raise dsl.DSLTypeError(f"gemv: a word of P = {P} weights of {TyW!r} has {TyW.bits * P} bits; words are "
                               f"at most {WORD_BITS} bits (P <= {WORD_BITS // TyW.bits})")


@dsl.template("TyX", "TyW", "TyO", "N", "K", "P", "B")
def gemv_words(x: "TyX[K]", W: "UInt(B * P)[N, K // P]", y: "TyO[N]"):
    """y[n] = sum_k x[k] * W[n, k] with B-bit weights (B = TyW.bits, a name so that slices can use it)."""
    xb: TyX[K]
    for k in range(K, name="load_x"):
        xb[k] = x[k]
    for n in range(N, name="rows"):
        acc: TyO = 0
        for kk in range(K // P, name="words"):
            w: UInt(B * P) = W[n, kk]
            with dsl.meta_for(P) as p:
                acc += xb[kk * P + p] * TyW(w[p * B:(p + 1) * B])
        y[n] = acc


@dsl.template("TyX", "TyW", "TyO", "N", "K", "P", check=_gemv_check)
def gemv(x: "TyX[K]", W: "UInt(TyW.bits * P)[N, K // P]") -> "TyO[N]":
    """y[n] = sum_k x[k] * W[n, k], W[n, kk] holding weights k = kk*P .. kk*P + P-1 (weight p in bits
    [p*b, (p+1)*b) of the word, b = TyW.bits)."""
    y: TyO[N]
    gemv_words[TyX, TyW, TyO, N, K, P, TyW.bits](x, W, y)
    return y


def schedule_gemv(s):
    P = s.instantiate[-1]
    s.partition("gemv_words:xb", dsl.Partition.Cyclic, dim=1, factor=P)
    s.pipeline("gemv_words:load_x")
    s.pipeline("gemv_words:words")
    return s


def _field_bytes(values, bits: int) -> np.ndarray:
    """[..., P] signed fields -> [..., P * bits / 8] little-endian bytes (bits dividing 8 or a multiple of 8)."""
    v = np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)
    if bits % 8 == 0:
        return v.astype("<u8").view(np.uint8).reshape(*v.shape, 8)[..., : bits // 8].reshape(*v.shape[:-1], -1)
    per = 8 // bits
    v = v.reshape(*v.shape[:-1], -1, per)
    return sum(v[..., q] << (q * bits) for q in range(per)).astype(np.uint8)


def pack_words(W, bits: int, P: int) -> np.ndarray:
    """[N, K] weights -> [N, K // P] words of P weights (weight p in bits [p*bits, (p+1)*bits)), as Python
    ints when a word is wider than 64 bits (what the CPU backend takes), else uint64."""
    if (8 % bits and bits % 8) or (bits * P) % 8:
        raise ValueError(f"pack_words: {bits}-bit fields must divide or fill bytes, and P * bits must be whole bytes")
    W = np.asarray(W, dtype=np.int64)
    n, k = W.shape
    raw = _field_bytes(W.reshape(n, k // P, P), bits)
    words = np.empty((n, k // P), dtype=object)
    for idx in np.ndindex(n, k // P):
        words[idx] = int.from_bytes(raw[idx].tobytes(), "little")
    return words.astype(np.uint64) if bits * P <= 64 else words


def unpack_words(words, bits: int, P: int) -> np.ndarray:
    """The inverse of ``pack_words``: [N, K // P] words -> [N, K] signed weights (int64)."""
    words = np.asarray(words)
    nbytes = bits * P // 8
    raw = np.frombuffer(b"".join(int(w).to_bytes(nbytes, "little") for w in words.reshape(-1)), dtype=np.uint8)
    if bits % 8 == 0:
        fields = raw.reshape(-1, bits // 8).astype(np.int64)
        values = sum(fields[:, q] << (8 * q) for q in range(bits // 8))
    else:
        per = 8 // bits
        values = np.stack([(raw >> (q * bits)) & ((1 << bits) - 1) for q in range(per)], axis=-1).astype(np.int64)
    values = values.reshape(words.shape[0], -1)
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)


def gemv_packed_ref(x, W, out_bits=32):
    """The reference on the unpacked [N, K] weights."""
    from .ref import _int_products

    return _int_products(np.asarray(W), np.asarray(x)[None, :], out_bits)[:, 0]
