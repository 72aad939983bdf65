"""One Transformer layer as the exploration builds it: its operators, the template each one runs, the streams
between them, and the paper's placement over three SLRs (q/k/v | attention, projection, LayerNorm | FFN).

Every operator is estimated as one kernel built at a single tile of its array (full reduction depth, so its
buffers have their real size) and run at the full size through ``tripcount``: the outer loops of the
templates are sequential, so this is what an estimate of the full-size kernel computes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

ARRAY_KINDS = ("linear", "matmul")


@dataclass(frozen=True)
class Operator:
    name: str          # q, k, v, a1, softmax, a2, p, ln1, f1, gelu, f2, ln2
    kind: str          # template kind
    group: str         # operators of a group share one choice of array shape or lanes
    slr: int           # the paper's placement
    inputs: tuple = ()  # (producer, argument position, "stream" | "after"); producer "x" is the layer input
    residual: str = ""  # producer of a bypass input (LayerNorm's residual), streamed at position 1


def operators() -> list:
    return [
        Operator("q", "linear", "qkv", 0, (("x", 0, "stream"),)),
        Operator("k", "linear", "qkv", 0, (("x", 0, "stream"),)),
        Operator("v", "linear", "qkv", 0, (("x", 0, "stream"),)),
        Operator("a1", "matmul", "attn", 1, (("q", 0, "stream"), ("k", 1, "after"))),
        Operator("softmax", "softmax", "softmax", 1, (("a1", 0, "stream"),)),
        Operator("a2", "matmul", "attn", 1, (("softmax", 0, "stream"), ("v", 1, "after"))),
        Operator("p", "linear", "p", 1, (("a2", 0, "stream"),)),
        Operator("ln1", "layer_norm", "layer_norm", 1, (("p", 0, "stream"),), residual="x"),
        Operator("f1", "linear", "f1", 2, (("ln1", 0, "stream"),)),
        Operator("gelu", "gelu", "gelu", 2, (("f1", 0, "stream"),)),
        Operator("f2", "linear", "f2", 2, (("gelu", 0, "stream"),)),
        Operator("ln2", "layer_norm", "layer_norm", 2, (("f2", 0, "stream"),), residual="ln1"),
    ]


@dataclass(frozen=True)
class Shape:
    """Sizes of one operator in one phase: tokens L, context C (keys attended to)."""

    tokens: int
    context: int


@dataclass
class Build:
    """What to build (one tile, full depth) and the trip counts that make it the full-size operator."""

    kind: str
    params: tuple
    tripcount: dict
    words_out: int          # words the operator streams out (for FIFO depths)
    words_in: int
    pes: int = 0            # PEs of its array (0: not an array)
    macs_per_cycle: int = 0
    args: tuple = ()        # per argument position: "in", "weights", "buffer", "const", "out"
    notes: list = field(default_factory=list)


def build_of(op: Operator, model, shape: Shape, tile: tuple, split: int, max_context: int) -> Build:
    """The template call for ``op`` with ``tile`` ((Mt, Nt) for arrays, (P,) for lanes) and ``split`` arrays
    sharing its output columns."""
    d, h, ffn = model.hidden, model.heads, model.ffn
    dh, dkv = d // h, model.kv_hidden
    L, C = shape.tokens, shape.context
    if op.kind == "linear":
        mt, nt = tile
        k_in, n_out = {"q": (d, d), "k": (d, dkv), "v": (d, dkv), "p": (d, d), "f1": (d, ffn), "f2": (ffn, d)}[op.name]
        cols = math.ceil(n_out / (2 * nt * split))
        return Build("linear", (mt, k_in, 2 * nt, mt, nt), {"rows:ti": math.ceil(L / mt), "cols:tj": cols},
                     L * n_out // 2 // split, L * k_in // 8, mt * nt, 2 * mt * nt,
                     ("in", "weights", "weights", "out"))
    if op.kind == "matmul":
        mt, nt = tile
        if op.name == "a1":  # Q·Kᵀ: K = head width, N = context
            k_in, n_out, k_max = dh, C, dh
        else:                # scores·V: K = context, N = head width
            k_in, n_out, k_max = C, dh, _round_up(max_context, 8)
        trips = {"heads:h": h, "rows:ti": math.ceil(L / mt), "cols:tj": math.ceil(n_out / (nt * split))}
        if op.name == "a2":
            trips["k:k"] = k_in
            trips["load:kw"] = math.ceil(k_in / 8)
        return Build("matmul", (1, mt, k_max, nt, mt, nt), trips, h * L * n_out // 2 // split, h * L * k_in // 8,
                     mt * nt, mt * nt, ("in", "buffer", "out"))
    (p,) = tile
    if op.kind == "softmax":
        width = _round_up(max_context, p)
        trips = {"rows:r": h * L, "load:c": C, "max:c": math.ceil(C / p), "exp:c": math.ceil(C / p),
                 "norm:c": math.ceil(C / p)}
        return Build("softmax", (1, width, p), trips, h * L * C, h * L * C, args=("in", "out"))
    if op.kind == "layer_norm":
        return Build("layer_norm", (1, d, p), {"rows:r": L}, L * d, L * d, args=("in", "in", "const", "const", "out"))
    if op.kind == "gelu":
        return Build("gelu", (1, ffn, p), {"gelu:r": L}, L * ffn, L * ffn, args=("in", "out"))
    raise ValueError(op.kind)


def _round_up(n: int, m: int) -> int:
    return max(m, math.ceil(n / m) * m)


def linear_ops() -> tuple:
    return ("q", "k", "v", "a1", "a2", "p", "f1", "f2")
