"""Operator kernels the design-space exploration estimates, one factory per operator kind.

Each factory returns ``(kernel, schedule_steps)`` for one size and one array shape: a DSL kernel written the
way the paper's accelerators are (an output-stationary Mt x Nt array of processing elements unrolled inside
one pipelined loop, partitioned on-chip buffers, packed words on the ports) and the schedule that makes it so.
They are the exploration's stand-ins until ``dsl.library`` provides the same operators: a template is looked
up in ``TEMPLATES`` by operator kind, so a library kernel replaces one by registering under the same kind.

Ports carry packed words (8 activations of 8 bits, or a tile row of 2*Nt int4 weights, per word), so that one
read a cycle feeds a whole row of the array, as the paper's loaders do.
"""
# no "from __future__ import annotations": the kernels' annotations use the factories' sizes
import dsl
from dsl import Int, UInt, float32, int8, int32

ACT_PER_WORD = 8  # int8 activations per 64-bit word


def linear_w4a8(L: int, K: int, N: int, Mt: int, Nt: int):
    """Y = X · W for X: L x K int8, W: K x N int4, Y: L x N int32, on an Mt x Nt array whose every PE holds
    two outputs: two int4 weights share one 27 x 18 DSP multiply (w1 * 2^18 + w0) * x, and the two products
    are recovered from the low and high bits (the low one sign-extended, the high one corrected by it).

    Ports: Xp[L, K/8] (8 activations per word); the weights of a tile's first Nt columns in Wlo[K, N/(2 Nt)]
    and of its other Nt in Whi (Nt weights of 4 bits per word each: two loaders, so that a 1 x 128 array
    still reads words of at most 512 bits); Yp[L, N/2] (2 results of 32 bits per word: slice stores into
    integers wider than 64 bits do not build)."""
    _check(L % Mt == 0 and N % (2 * Nt) == 0 and K % ACT_PER_WORD == 0 and 4 * Nt <= 512,
           f"linear_w4a8 needs Mt | L, 2 Nt | N, 8 | K and Nt <= 128 (a weight word of 4 Nt bits, at most the "
           f"512 of an m_axi port; L={L}, K={K}, N={N}, Mt={Mt}, Nt={Nt})")
    KW, P = K // ACT_PER_WORD, 2 * Nt

    def linear(Xp: Int(64)[L, KW], Wlo: UInt(4 * Nt)[K, N // (2 * Nt)], Whi: UInt(4 * Nt)[K, N // (2 * Nt)],
               Yp: Int(64)[L, N // 2]):
        for ti in range(L // Mt, name="rows"):
            Xt: int8[Mt, K]
            for i, kw in dsl.grid(Mt, KW, name="load"):
                word: Int(64) = Xp[ti * Mt + i, kw]
                with dsl.meta_for(ACT_PER_WORD) as b:
                    Xt[i, kw * ACT_PER_WORD + b] = word[8 * b:8 * b + 8]
            for tj in range(N // (2 * Nt), name="cols"):
                acc: int32[Mt, P]       # registers (completely partitioned), cleared in one cycle
                prod: Int(45)[Mt, Nt]   # registers: one 27 x 18 product per PE
                with dsl.meta_for(Mt) as i:
                    with dsl.meta_for(P) as j:
                        acc[i, j] = 0
                for k in range(K, name="k"):
                    lo: UInt(4 * Nt) = Wlo[k, tj]
                    hi: UInt(4 * Nt) = Whi[k, tj]
                    with dsl.meta_for(Mt) as i:
                        with dsl.meta_for(Nt) as j:
                            prod[i, j] = Int(27)((Int(27)(Int(4)(hi[4 * j:4 * j + 4])) << 18)
                                                 + Int(4)(lo[4 * j:4 * j + 4])) * Xt[i, k]
                            acc[i, j] += Int(18)(prod[i, j])          # the low 18 bits, signed: w0 * x
                            acc[i, j + Nt] += (prod[i, j] - Int(18)(prod[i, j])) >> 18  # w1 * x
                for i, j in dsl.grid(Mt, Nt, name="out"):
                    pair: Int(64) = 0
                    pair[0:32] = acc[i, 2 * j]
                    pair[32:64] = acc[i, 2 * j + 1]
                    Yp[ti * Mt + i, tj * Nt + j] = pair

    steps = [_partition("Xt", 1), _partition("Xt", 2, ACT_PER_WORD), _partition("acc", 0), _partition("prod", 0)]
    return linear, steps


def matmul_a8(H: int, L: int, K: int, N: int, Mt: int, Nt: int):
    """H independent products Y[h] = A[h] · B[h] of int8 matrices (attention: Q·Kᵀ and scores·V per head) on
    an Mt x Nt array, one int8 x int8 DSP multiply per PE; B comes from an on-chip buffer (the K/V cache).

    Ports: Ap[H*L, K/8], Bp[H*K, N/Nt] (Nt int8 per word), Yp[H*L, N/2] (2 int32 per word)."""
    _check(L % Mt == 0 and N % Nt == 0 and Nt % 2 == 0 and K % ACT_PER_WORD == 0 and 8 * Nt <= 512,
           f"matmul_a8 needs Mt | L, Nt | N and 8 | K (L={L}, K={K}, N={N}, Mt={Mt}, Nt={Nt})")
    TM, KW = L // Mt, K // ACT_PER_WORD

    def matmul(Ap: Int(64)[H * L, KW], Bp: Int(8 * Nt)[H * K, N // Nt], Yp: Int(64)[H * L, N // 2]):
        for h in range(H, name="heads"):
            for ti in range(TM, name="rows"):
                At: int8[Mt, K]
                for i, kw in dsl.grid(Mt, KW, name="load"):
                    word: Int(64) = Ap[h * L + ti * Mt + i, kw]
                    with dsl.meta_for(ACT_PER_WORD) as b:
                        At[i, kw * ACT_PER_WORD + b] = word[8 * b:8 * b + 8]
                for tj in range(N // Nt, name="cols"):
                    acc: int32[Mt, Nt]
                    with dsl.meta_for(Mt) as i:
                        with dsl.meta_for(Nt) as j:
                            acc[i, j] = 0
                    for k in range(K, name="k"):
                        w: Int(8 * Nt) = Bp[h * K + k, tj]
                        with dsl.meta_for(Mt) as i:
                            with dsl.meta_for(Nt) as j:
                                acc[i, j] += int8(w[8 * j:8 * j + 8]) * At[i, k]
                    for i, j in dsl.grid(Mt, Nt // 2, name="out"):
                        pair: Int(64) = 0
                        pair[0:32] = acc[i, 2 * j]
                        pair[32:64] = acc[i, 2 * j + 1]
                        Yp[h * L + ti * Mt + i, tj * (Nt // 2) + j] = pair

    steps = [_partition("At", 1), _partition("At", 2, ACT_PER_WORD), _partition("acc", 0)]
    return matmul, steps


def softmax_rows(R: int, C: int, P: int):
    """Row-wise softmax of R rows of C int32 scores (scaled), P lanes: the row is kept on chip, its maximum,
    the sum of exponentials and the normalised values are computed P elements a cycle (float32, as the
    paper's non-linear units)."""
    _check(C % P == 0, f"softmax_rows needs P | C (C={C}, P={P})")
    CP = C // P

    def softmax(S: int32[R, C], Y: float32[R, C]):
        for r in range(R, name="rows"):
            row: float32[C]
            part: float32[P]  # per-lane partial sums (registers)
            with dsl.meta_for(P) as p:
                part[p] = 0.0
            for c in range(C, name="load"):
                row[c] = float(S[r, c]) * 0.125
            lane: float32[P]  # per-lane maxima: P independent recurrences of one compare each
            with dsl.meta_for(P) as p:
                lane[p] = -1e30
            for c in range(CP, name="max"):
                with dsl.meta_for(P) as p:
                    lane[p] = max(lane[p], row[c * P + p])
            m: float32 = -1e30
            with dsl.meta_for(P) as p:
                m = max(m, lane[p])
            for c in range(CP, name="exp"):
                with dsl.meta_for(P) as p:
                    row[c * P + p] = dsl.exp(row[c * P + p] - m)
                    part[p] += row[c * P + p]
            total: float32 = 0.0
            with dsl.meta_for(P) as p:
                total += part[p]
            inv: float32 = 1.0 / total
            for c in range(CP, name="norm"):
                with dsl.meta_for(P) as p:
                    Y[r, c * P + p] = row[c * P + p] * inv

    steps = [_partition("row", 1, P), _partition("part", 0), _partition("lane", 0)]
    return softmax, steps


def layer_norm_rows(R: int, C: int, P: int):
    """Row-wise residual add and LayerNorm of R rows of C float32 values, P lanes."""
    _check(C % P == 0, f"layer_norm_rows needs P | C (C={C}, P={P})")
    CP = C // P

    def layer_norm(X: float32[R, C], Res: float32[R, C], g: float32[C], b: float32[C], Y: float32[R, C]):
        for r in range(R, name="rows"):
            row: float32[C]
            s1: float32[P]
            s2: float32[P]
            with dsl.meta_for(P) as p:
                s1[p] = 0.0
                s2[p] = 0.0
            for c in range(CP, name="stats"):
                with dsl.meta_for(P) as p:
                    row[c * P + p] = X[r, c * P + p] + Res[r, c * P + p]
                    s1[p] += row[c * P + p]
                    s2[p] += row[c * P + p] * row[c * P + p]
            mean: float32 = 0.0
            sq: float32 = 0.0
            with dsl.meta_for(P) as p:
                mean += s1[p]
                sq += s2[p]
            mean = mean / C
            rstd: float32 = 1.0 / dsl.sqrt(sq / C - mean * mean + 1e-5)
            for c in range(CP, name="norm"):
                with dsl.meta_for(P) as p:
                    Y[r, c * P + p] = (row[c * P + p] - mean) * rstd * g[c * P + p] + b[c * P + p]

    steps = [_partition("row", 1, P), _partition("s1", 0), _partition("s2", 0), _arg_partition("g", P),
             _arg_partition("b", P)]
    return layer_norm, steps


def gelu_rows(R: int, C: int, P: int):
    """GeLU (tanh form) of R x C float32 values, P lanes."""
    _check(C % P == 0, f"gelu_rows needs P | C (C={C}, P={P})")

    def gelu(X: float32[R, C], Y: float32[R, C]):
        for r, c in dsl.grid(R, C // P, name="gelu"):
            with dsl.meta_for(P) as p:
                Y[r, c * P + p] = 0.5 * X[r, c * P + p] * (1.0 + dsl.tanh(0.7978845608 * (
                    X[r, c * P + p] + 0.044715 * X[r, c * P + p] * X[r, c * P + p] * X[r, c * P + p])))

    return gelu, []


def stream_copy(W: int):
    """A loader or storer: W words of 64 bits from one port to another, one a cycle (the layer's input from
    HBM into the array's stream, or the output back)."""

    def copy(X: Int(64)[W], Y: Int(64)[W]):
        for i in range(W, name="copy"):
            Y[i] = X[i]

    return copy, []


def _partition(buffer: str, dim: int, factor: int = 0):
    kind = "complete" if factor == 0 else "cyclic"
    return {"primitive": "partition", "args": {"buffer": buffer, "kind": kind, "dim": dim, "factor": factor}}


def _arg_partition(buffer: str, factor: int):
    return _partition(buffer, 1, factor)


def _check(ok: bool, message: str):
    if not ok:
        raise dsl.DSLError(message)


# operator kind -> factory(dims..., tile...) -> (kernel, steps)
TEMPLATES = {
    "linear": linear_w4a8,
    "matmul": matmul_a8,
    "softmax": softmax_rows,
    "layer_norm": layer_norm_rows,
    "gelu": gelu_rows,
    "copy": stream_copy,
}


def build(kind: str, *params):
    """The scheduled kernel of one operator: ``build("linear", L, K, N, Mt, Nt)``."""
    kernel, steps = TEMPLATES[kind](*params)
    s = dsl.customize(kernel)
    s.apply_trace(steps)
    return s


__all__ = ["TEMPLATES", "build", "gelu_rows", "layer_norm_rows", "linear_w4a8", "matmul_a8", "softmax_rows",
           "stream_copy"]
