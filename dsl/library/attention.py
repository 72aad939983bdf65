"""Attention and its neighbours: multi-head scaled dot-product attention, RoPE, token + position
embeddings and the KV cache (re-exported by ``nn``).

``scaled_dot_product_attention`` follows ``allo.library.nn``: per head, split Q/K/V, S = Q_h K_h^T (k order),
softmax rows of S * (1/sqrt(d_head)) with the causal mask, O_h = P V_h (j order over every key, masked
probabilities being 0), merge. One kernel covers the three uses: an encoder (``past >= LK - 1``: every key),
a causal prefill (``past = 0``) and decode against a KV cache (``LQ = 1``, keys beyond ``past + i`` masked).
"""
from __future__ import annotations

import math

import dsl
from dsl import int32

from . import checks, rows
from .linalg import matmul_into
from .schedules import functions, inline_math, pipeline_loops, pipeline_reduction


def _sdpa_check(T, H, LQ, LK, D):
    checks.float_row(T, D)
    checks.sizes(H=H, LQ=LQ, LK=LK)
    checks.need_multiple("D", D, "H", H, "the model dimension is split evenly over the heads")


@dsl.template("T", "H", "LQ", "LK", "D", check=_sdpa_check)
def scaled_dot_product_attention(Q: "T[LQ, D]", K: "T[LK, D]", V: "T[LK, D]", past: int32) -> "T[LQ, D]":
    """softmax(Q_h K_h^T / sqrt(D/H) + causal mask) V_h for each of the H heads; query i attends keys
    j <= past + i."""
    Z: T[LQ, D]
    Qh: T[LQ, D // H]
    Kt: T[D // H, LK]
    Vh: T[LK, D // H]
    S: T[LQ, LK]
    P: T[LQ, LK]
    Oh: T[LQ, D // H]
    for h in range(H):
        for i, j in dsl.grid(LQ, D // H, name="split_q"):
            Qh[i, j] = Q[i, h * (D // H) + j]
        for i2, j2 in dsl.grid(LK, D // H, name="split_k"):
            Kt[j2, i2] = K[i2, h * (D // H) + j2]
        for i3, j3 in dsl.grid(LK, D // H, name="split_v"):
            Vh[i3, j3] = V[i3, h * (D // H) + j3]
        matmul_into[T, T, T, LQ, D // H, LK](Qh, Kt, S)
        for i4 in range(LQ, name="rows"):
            rows.softmax_row[T, LK](S[i4], P[i4], min(past + i4 + 1, LK), SCALES[D // H])
        matmul_into[T, T, T, LQ, LK, D // H](P, Vh, Oh)
        for i5, j5 in dsl.grid(LQ, D // H, name="merge"):
            Z[i5, h * (D // H) + j5] = Oh[i5, j5]
    return Z


class _Scales(dict):
    """1/sqrt(d) per head size d, as a Python float (the kernel rounds it to float32 once)."""

    def __missing__(self, d):
        return 1.0 / math.sqrt(d)


SCALES = _Scales()


def schedule_scaled_dot_product_attention(s):
    pipeline_loops(s, s.top, ["split_q:j", "split_k:j2", "split_v:j3", "merge:j5"])
    for func in functions(s):
        if func.startswith("matmul_into"):
            pipeline_loops(s, func, ["init", "mac", "store"])
    for loop in rows_loops():
        s.pipeline(f"softmax_row:{loop}")
    for helper in softmax_reductions():
        pipeline_reduction(s, helper)
    return inline_math(s)


def rows_loops():
    from .schedules import ROW_KERNELS

    return ROW_KERNELS["softmax_row"][0]


def softmax_reductions():  # the reductions softmax_row calls, from the one table
    from .schedules import ROW_KERNELS

    return ROW_KERNELS["softmax_row"][1]


# -- rotary position embedding --------------------------------------------------------------------------
def _rope_check(T, H, L, D):
    checks.float_row(T, D)
    checks.sizes(H=H, L=L)
    checks.need_multiple("D", D, "2*H", 2 * H, "each head rotates pairs (x[j], x[j + d/2]) of its d = D/H "
                                               "channels")


@dsl.template("T", "H", "L", "D", check=_rope_check)
def rope(X: "T[L, D]", cos: "T[L, D // H // 2]", sin: "T[L, D // H // 2]") -> "T[L, D]":
    """Rotary embedding, rotate-half form (GPT-NeoX, LLaMA): per head, x1 = x[:d/2], x2 = x[d/2:],
    out = [x1*cos - x2*sin, x2*cos + x1*sin]. Row i uses cos[i], sin[i] (its position's angles)."""
    Z: T[L, D]
    for h, i, j in dsl.grid(H, L, D // H // 2, name="rotate"):
        x1: T = X[i, h * (D // H) + j]
        x2: T = X[i, h * (D // H) + D // H // 2 + j]
        Z[i, h * (D // H) + j] = x1 * cos[i, j] - x2 * sin[i, j]
        Z[i, h * (D // H) + D // H // 2 + j] = x2 * cos[i, j] + x1 * sin[i, j]
    return Z


def schedule_rope(s):
    s.pipeline("rotate:j")
    return s


# -- embeddings -----------------------------------------------------------------------------------------
def _embedding_check(T, V, P, L, D):
    checks.float_row(T, D)
    checks.sizes(V=V, P=P, L=L)
    if L > P:
        raise dsl.ShapeError(f"L = {L} tokens need L <= P = {P} positions in the position table")


@dsl.template("T", "V", "P", "L", "D", check=_embedding_check)
def embedding(ids: "int32[L]", tok: "T[V, D]", pos: "T[P, D]", start: int32) -> "T[L, D]":
    """tok[ids[i]] + pos[start + i]: token plus learned position embeddings (GPT2's wte + wpe);
    ``start`` is the position of the first token (the KV cache length when decoding)."""
    Z: T[L, D]
    for i in range(L):
        t: int32 = ids[i]
        for d in range(D, name="gather"):
            Z[i, d] = tok[t, d] + pos[start + i, d]
    return Z


def schedule_embedding(s):
    s.pipeline("gather")
    return s


# -- KV cache -------------------------------------------------------------------------------------------
def _kv_check(T, LMAX, D, LN):
    checks.sizes(LMAX=LMAX, D=D, LN=LN)
    if LN > LMAX:
        raise dsl.ShapeError(f"LN = {LN} rows do not fit a cache of LMAX = {LMAX} rows")


@dsl.template("T", "LMAX", "D", "LN", check=_kv_check)
def kv_append(cache: "T[LMAX, D]", new: "T[LN, D]", pos: int32):
    """cache[pos + i] = new[i] for the LN new rows (in place); the caller keeps pos + LN <= LMAX."""
    for i, d in dsl.grid(LN, D, name="append"):
        cache[pos + i, d] = new[i, d]


@dsl.template("T", "LMAX", "D", "LN", check=_kv_check)
def kv_read(cache: "T[LMAX, D]", pos: int32) -> "T[LN, D]":
    """cache[pos : pos + LN]."""
    Z: T[LN, D]
    for i, d in dsl.grid(LN, D, name="read"):
        Z[i, d] = cache[pos + i, d]
    return Z


def schedule_kv_append(s):
    s.pipeline("append:d")
    return s


def schedule_kv_read(s):
    s.pipeline("read:d")
    return s


__all__ = ["scaled_dot_product_attention", "rope", "embedding", "kv_append", "kv_read", "int32"]
