"""Designs assembled from the streaming units of ``dsl.library.units``, shared by the tests and
``benchmarks/library_streams.py`` (factories: sizes are parameters). Each top-level argument has one process
reading or writing it, as Vitis requires of a dataflow region's m_axi ports."""
import math

import dsl
from dsl import UInt, float32, int4, int8, int16, int32, int64
from dsl.library.units import gemm, integer, memory, quantize, rowwise, tokens
from dsl.library.units.memory import words_per_block
from dsl.library.units.tokens import chunk


def linear(M, K, N, Mt, Nt, TyW, PACK=0, TyA=int8, TyC=int32):
    """Y = X W^T: rows of X and packed weight words from memory, the Mt x Nt PE array in one process."""
    NW = N // Nt * (K // words_per_block(TyW, Nt))

    @dsl.region()
    def lin(X: TyA[M, K], W: UInt(512)[NW], Y: TyC[M, N]):
        xs: dsl.Stream[TyA[chunk(TyA, K)], 2]
        ws: dsl.Stream[TyW[words_per_block(TyW, Nt), Nt], 2]
        ys: dsl.Stream[TyC[chunk(TyC, N)], 2]
        memory.load_rows[TyA, M, K](X, xs)
        memory.load_weights[TyW, N, K, Nt, M // Mt](W, ws)
        gemm.aw_gemm[TyA, TyW, TyC, M, K, N, Mt, Nt, PACK](xs, ws, ys)
        memory.store_rows[TyC, M, N](ys, Y)

    return lin


def attention(L, D, H, Mq, Nk, passes=1, past=0):
    """softmax(Q_h K_h^T / sqrt(D/H), causal mask after ``past`` positions) V_h for ``passes`` independent
    sequences of L rows (K and V ping-ponged between them)."""
    scale = 1.0 / math.sqrt(D // H)
    R = passes * L
    cd, cl = chunk(float32, D), chunk(float32, L)

    @dsl.region()
    def att(Q: float32[R, D], K: float32[R, D], V: float32[R, D], O: float32[R, D]):
        qs: dsl.Stream[float32[cd], 2]
        ks: dsl.Stream[float32[cd], 2]
        vs: dsl.Stream[float32[cd], 2]
        ss: dsl.Stream[float32[cl], 2]
        ps: dsl.Stream[float32[cl], 2]
        ns: dsl.Stream[int32, 2]
        outs: dsl.Stream[float32[cd], 2]
        memory.load_rows[float32, R, D](Q, qs)
        memory.load_rows[float32, R, D](K, ks)
        memory.load_rows[float32, R, D](V, vs)
        gemm.qk_gemm[float32, float32, H, L, L, D, Mq, Nk, passes](qs, ks, ss)
        rowwise.causal_mask[L, L, H, Mq, passes](ns, past)
        rowwise.softmax_rows[float32, R * H, L](ss, ns, ps, scale)
        gemm.pv_gemm[float32, float32, H, L, L, D, Mq, Nk, passes](ps, vs, outs)
        memory.store_rows[float32, R, D](outs, O)

    return att



def int_qk(L, D, H, Mq, Nk, passes=1, TyA=int8, TyC=int32):
    """The integer score GEMM alone: S = Q_h K_h^T rows (int8 operands, int32 accumulators) to memory in
    qk_gemm's order (query tile, head, row), ``passes`` sequences of L rows with K ping-ponged."""
    R = passes * L

    @dsl.region()
    def qk(Q: TyA[R, D], K: TyA[R, D], S: TyC[R * H, L]):
        qs: dsl.Stream[TyA[chunk(TyA, D)], 2]
        ks: dsl.Stream[TyA[chunk(TyA, D)], 2]
        ss: dsl.Stream[TyC[chunk(TyC, L)], 2]
        memory.load_rows[TyA, R, D](Q, qs)
        memory.load_rows[TyA, R, D](K, ks)
        gemm.qk_gemm[TyA, TyC, H, L, L, D, Mq, Nk, passes](qs, ks, ss)
        memory.store_rows[TyC, R * H, L](ss, S)

    return qk


def int_pv(L, D, H, Mq, Nk, passes=1, TyA=int8, TyC=int32):
    """The integer output GEMM alone: O[:, h] = P_h V_h from probability rows in qk_gemm's order."""
    R = passes * L

    @dsl.region()
    def pv(P: TyA[R * H, L], V: TyA[R, D], O: TyC[R, D]):
        ps: dsl.Stream[TyA[chunk(TyA, L)], 2]
        vs: dsl.Stream[TyA[chunk(TyA, D)], 2]
        outs: dsl.Stream[TyC[chunk(TyC, D)], 2]
        memory.load_rows[TyA, R * H, L](P, ps)
        memory.load_rows[TyA, R, D](V, vs)
        gemm.pv_gemm[TyA, TyC, H, L, L, D, Mq, Nk, passes](ps, vs, outs)
        memory.store_rows[TyC, R, D](outs, O)

    return pv


def int_attention_gemms(L, D, H, Mq, Nk, passes=1):
    """Both integer GEMMs chained through a requantisation (int32 scores -> int8 by mult * 2^-shift): the
    streams and token formats an int8 attention block connects."""
    R = passes * L

    @dsl.region()
    def att8(Q: int8[R, D], K: int8[R, D], V: int8[R, D], O: int32[R, D], mult: int32, shift: int32):
        qs: dsl.Stream[int8[chunk(int8, D)], 2]
        ks: dsl.Stream[int8[chunk(int8, D)], 2]
        vs: dsl.Stream[int8[chunk(int8, D)], 2]
        ss: dsl.Stream[int32[chunk(int32, L)], 2]
        ps: dsl.Stream[int8[chunk(int8, L)], 2]
        outs: dsl.Stream[int32[chunk(int32, D)], 2]
        memory.load_rows[int8, R, D](Q, qs)
        memory.load_rows[int8, R, D](K, ks)
        memory.load_rows[int8, R, D](V, vs)
        gemm.qk_gemm[int8, int32, H, L, L, D, Mq, Nk, passes](qs, ks, ss)
        quantize.requantize_rows[int8, R * H, L](ss, ps, mult, shift)
        gemm.pv_gemm[int8, int32, H, L, L, D, Mq, Nk, passes](ps, vs, outs)
        memory.store_rows[int32, R, D](outs, O)

    return att8


def row_map(L, D, unit):
    """One row unit (X rows -> Z rows, e.g. ``rowwise.gelu_tanh_rows``) between a loader and a store."""
    c = chunk(float32, D)

    @dsl.region()
    def rows(X: float32[L, D], Z: float32[L, D]):
        xs: dsl.Stream[float32[c], 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, L, D](X, xs)
        unit[float32, L, D](xs, zs)
        memory.store_rows[float32, L, D](zs, Z)

    return rows


def gelu_residual_norm(L, D, eps, bypass):
    """Z = layer_norm(gelu(X) + X): the row units around a residual connection (``bypass``: its depth)."""
    c = chunk(float32, D)

    @dsl.region()
    def blk(X: float32[L, D], g: float32[D], b: float32[D], Z: float32[L, D]):
        xs: dsl.Stream[float32[c], 2]
        main: dsl.Stream[float32[c], 2]
        byp: dsl.Stream[float32[c], bypass]
        act: dsl.Stream[float32[c], 2]
        res: dsl.Stream[float32[c], 2]
        out: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, L, D](X, xs)
        rowwise.fork_rows[float32, L, D](xs, main, byp)
        rowwise.gelu_rows[float32, L, D](main, act)
        rowwise.residual_add[float32, L, D](act, byp, res)
        rowwise.layer_norm_rows[float32, L, D](res, g, b, out, eps)
        memory.store_rows[float32, L, D](out, Z)

    return blk


def norm_residual(L, D, eps, bypass):
    """Z = layer_norm(X) + X: a unit that holds a whole row (LayerNorm) inside a residual connection."""
    c = chunk(float32, D)

    @dsl.region()
    def nres(X: float32[L, D], g: float32[D], b: float32[D], Z: float32[L, D]):
        xs: dsl.Stream[float32[c], 2]
        main: dsl.Stream[float32[c], 2]
        byp: dsl.Stream[float32[c], bypass]
        act: dsl.Stream[float32[c], 2]
        res: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, L, D](X, xs)
        rowwise.fork_rows[float32, L, D](xs, main, byp)
        rowwise.layer_norm_rows[float32, L, D](main, g, b, act, eps)
        rowwise.residual_add[float32, L, D](act, byp, res)
        memory.store_rows[float32, L, D](res, Z)

    return nres


def kv_cache(LMAX, D, LN):
    """The K/V cache units: prefill writes LN rows of ``pre`` into ``cache_w`` at ``pos``; decode streams the
    ``pos`` past rows of ``cache`` and appends the LN rows of ``new`` (all pos + LN rows reach ``seen``);
    ``kv_read`` streams LN rows of ``cache_r`` from ``pos`` into ``got``."""
    c = chunk(int8, D)

    @dsl.region()
    def kv(pre: int8[LN, D], cache_w: int8[LMAX, D], new: int8[LN, D], cache: int8[LMAX, D],
           seen: int8[LMAX, D], cache_r: int8[LMAX, D], got: int8[LN, D], pos: int32):
        ps: dsl.Stream[int8[c], 2]
        ns: dsl.Stream[int8[c], 2]
        outs: dsl.Stream[int8[c], 2]
        rs: dsl.Stream[int8[c], 2]
        memory.load_rows[int8, LN, D](pre, ps)
        memory.kv_write[int8, LMAX, D, LN](ps, cache_w, pos)
        memory.load_rows[int8, LN, D](new, ns)
        memory.kv_append[int8, LMAX, D, LN](ns, cache, outs, pos)
        memory.kv_read[int8, LMAX, D, LN](cache_r, rs, pos)
        memory.store_rows[int8, LN, D](rs, got)

        @dsl.kernel(mapping=[1])
        def collect(seen: int8[LMAX, D], pos: int32):
            buf: int8[D]
            for i in range(pos + LN):
                tokens.get_row[int8, D, c](outs, buf)
                for j in range(D):
                    seen[i, j] = buf[j]

    return kv


def quantization(R, D, TQ=int8):
    """Per-token quantisation of X (Q, one scale per row in S), and of int32 accumulators ACC: dequantised
    with row scales Srow and column scales Scol (Z), requantised with mult * 2^-shift (Q2)."""
    cf, cq, ca = chunk(float32, D), chunk(TQ, D), chunk(int32, D)

    @dsl.region()
    def qz(X: float32[R, D], Q: TQ[R, D], S: float32[R], ACC: int32[R, D], Srow: float32[R],
           Scol: float32[D], Z: float32[R, D], Q2: TQ[R, D], mult: int32, shift: int32):
        xs: dsl.Stream[float32[cf], 2]
        qs: dsl.Stream[TQ[cq], 2]
        ss: dsl.Stream[float32, 2]
        acc: dsl.Stream[int32[ca], 2]
        acc1: dsl.Stream[int32[ca], 2]
        acc2: dsl.Stream[int32[ca], 2]
        rs: dsl.Stream[float32, 2]
        zs: dsl.Stream[float32[cf], 2]
        q2: dsl.Stream[TQ[cq], 2]
        memory.load_rows[float32, R, D](X, xs)
        quantize.quantize_rows[float32, TQ, R, D](xs, qs, ss)
        memory.store_rows[TQ, R, D](qs, Q)
        memory.load_rows[int32, R, D](ACC, acc)
        rowwise.fork_rows[int32, R, D](acc, acc1, acc2)
        quantize.dequantize_rows[int32, float32, R, D](acc1, rs, Scol, zs)
        memory.store_rows[float32, R, D](zs, Z)
        quantize.requantize_rows[TQ, R, D](acc2, q2, mult, shift)
        memory.store_rows[TQ, R, D](q2, Q2)

        @dsl.kernel(mapping=[1])
        def scales(S: float32[R], Srow: float32[R]):
            for r in range(R):
                S[r] = ss.get()
                rs.put(Srow[r])

    return qz


def ffn_block(L, D, F, Mt, Nt, eps, scale_depth=None, bypass=None, TyW=int4):
    """A BERT FFN with its residual, from units: LayerNorm(X + deq(W2 q(GeLU(deq(W1 q(X)))))), W4A8 with
    per-token activation scales and per-channel weight scales, two PE arrays sharing DSPs. The row scales
    wait beside each GEMM (``scale_depth``) and X waits around the block (``bypass``)."""
    from dsl.library.units.rowwise import bypass_depth

    cf, cq, ca, cff, cqf, caf = (chunk(float32, D), chunk(int8, D), chunk(int32, D), chunk(float32, F),
                                 chunk(int8, F), chunk(int32, F))
    kpw1, kpw2 = words_per_block(TyW, Nt), words_per_block(TyW, Nt)
    sd = Mt + 2 if scale_depth is None else scale_depth
    bd = bypass_depth(D, float32, 1, Mt, 1, 1, 1, Mt, 1) if bypass is None else bypass

    @dsl.region()
    def ffn(X: float32[L, D], W1: UInt(512)[F // Nt * (D // kpw1)], s1: float32[F],
            W2: UInt(512)[D // Nt * (F // kpw2)], s2: float32[D], g: float32[D], b: float32[D], Z: float32[L, D]):
        xs: dsl.Stream[float32[cf], 2]
        main: dsl.Stream[float32[cf], 2]
        byp: dsl.Stream[float32[cf], bd]
        q1: dsl.Stream[int8[cq], 2]
        r1: dsl.Stream[float32, sd]
        w1: dsl.Stream[TyW[kpw1, Nt], 2]
        a1: dsl.Stream[int32[caf], 2]
        h: dsl.Stream[float32[cff], 2]
        gl: dsl.Stream[float32[cff], 2]
        q2: dsl.Stream[int8[cqf], 2]
        r2: dsl.Stream[float32, sd]
        w2: dsl.Stream[TyW[kpw2, Nt], 2]
        a2: dsl.Stream[int32[ca], 2]
        y: dsl.Stream[float32[cf], 2]
        res: dsl.Stream[float32[cf], 2]
        out: dsl.Stream[float32[cf], 2]
        memory.load_rows[float32, L, D](X, xs)
        rowwise.fork_rows[float32, L, D](xs, main, byp)
        quantize.quantize_rows[float32, int8, L, D](main, q1, r1)
        memory.load_weights[TyW, F, D, Nt, L // Mt](W1, w1)
        gemm.aw_gemm[int8, TyW, int32, L, D, F, Mt, Nt, 1](q1, w1, a1)
        quantize.dequantize_rows[int32, float32, L, F](a1, r1, s1, h)
        rowwise.gelu_rows[float32, L, F](h, gl)
        quantize.quantize_rows[float32, int8, L, F](gl, q2, r2)
        memory.load_weights[TyW, D, F, Nt, L // Mt](W2, w2)
        gemm.aw_gemm[int8, TyW, int32, L, F, D, Mt, Nt, 1](q2, w2, a2)
        quantize.dequantize_rows[int32, float32, L, D](a2, r2, s2, y)
        rowwise.residual_add[float32, L, D](y, byp, res)
        rowwise.layer_norm_rows[float32, L, D](res, g, b, out, eps)
        memory.store_rows[float32, L, D](out, Z)

    return ffn


def linear_two_loaders(M, K, N, Mt, Nt, TyW):
    """``linear`` with its weight words split over two loaders (``load_weight_share``) merged in order."""
    kpw = words_per_block(TyW, Nt)
    NW, passes = N // Nt * (K // kpw), M // Mt
    blk = TyW[kpw, Nt]

    @dsl.region()
    def lin2(X: int8[M, K], W0: UInt(512)[NW // 2], W1: UInt(512)[NW // 2], Y: int32[M, N]):
        xs: dsl.Stream[int8[chunk(int8, K)], 2]
        w0: dsl.Stream[blk, 2]
        w1: dsl.Stream[blk, 2]
        ws: dsl.Stream[blk, 2]
        ys: dsl.Stream[int32[chunk(int32, N)], 2]
        memory.load_rows[int8, M, K](X, xs)
        memory.load_weight_share[TyW, N, K, Nt, passes, 2, 0](W0, w0)
        memory.load_weight_share[TyW, N, K, Nt, passes, 2, 1](W1, w1)
        memory.merge_words[TyW, kpw, Nt, NW * passes](w0, w1, ws)
        gemm.aw_gemm[int8, TyW, int32, M, K, N, Mt, Nt, 0](xs, ws, ys)
        memory.store_rows[int32, M, N](ys, Y)

    return lin2


@dsl.template("T", "L", "D")
def _first_rows(X: "T[L, D]", xs: "dsl.Stream[T[chunk(T, D)], 2]", n: int32):
    """The first n rows of X."""
    buf: T[D]
    for i in range(n, name="rows"):
        for j in range(D, name="read"):
            buf[j] = X[i, j]
        tokens.put_row[T, D, min(D, 512 // T.bits)](buf, xs)


@dsl.template("T", "R", "D")
def _row_prefixes(X: "T[R, D]", xs: "dsl.Stream[T[chunk(T, D)], 2]", n: int32):
    """Each row of X as its first ceil(n / chunk) tokens."""
    buf: T[D]
    for i in range(R, name="rows"):
        for j in range(D, name="read"):
            buf[j] = X[i, j]
        tokens.put_prefix[T, D, min(D, 512 // T.bits)](buf, xs, n)


@dsl.template("T", "R", "D")
def _store_prefixes(xs: "dsl.Stream[T[chunk(T, D)], 2]", X: "T[R, D]", n: int32):
    buf: T[D]
    for i in range(R, name="rows"):
        tokens.get_prefix[T, D, min(D, 512 // T.bits)](xs, buf, n)
        for j in range(n, name="write"):
            X[i, j] = buf[j]


def int8_attention_at_run_time(LQ, LK, D, H, Mq, Nk):
    """S_h = Q_h K_h^T (int8 -> int32) and O_h = P_h V_h over the n keys given at run time (``qk_gemm_n``,
    ``pv_gemm_n``): Q [LQ, D], the first n rows of K and V [LK, D], P [LQ * H, LK] (rows in qk's order)."""
    cd, cs, cp = chunk(int8, D), chunk(int32, LK), chunk(int8, LK)

    @dsl.region()
    def att_n(Q: int8[LQ, D], K: int8[LK, D], V: int8[LK, D], P: int8[LQ * H, LK], S: int32[LQ * H, LK],
              O: int32[LQ, D], n: int32):
        qs: dsl.Stream[int8[cd], 2]
        ks: dsl.Stream[int8[cd], 2]
        vs: dsl.Stream[int8[cd], 2]
        ps: dsl.Stream[int8[cp], 2]
        ss: dsl.Stream[int32[cs], 2]
        outs: dsl.Stream[int32[chunk(int32, D)], 2]
        memory.load_rows[int8, LQ, D](Q, qs)
        _first_rows[int8, LK, D](K, ks, n)
        _first_rows[int8, LK, D](V, vs, n)
        _row_prefixes[int8, LQ * H, LK](P, ps, n)
        gemm.qk_gemm_n[int8, int32, H, LQ, LK, D, Mq, Nk, 1](qs, ks, ss, n)
        gemm.pv_gemm_n[int8, int32, H, LQ, LK, D, Mq, Nk, 1](ps, vs, outs, n)
        _store_prefixes[int32, LQ * H, LK](ss, S, n)
        memory.store_rows[int32, LQ, D](outs, O)

    return att_n


def two_row_lengths():
    """LayerNorm over rows of 64 and over rows of 32: the row reduction helpers at two lengths."""

    @dsl.region()
    def two(X: float32[4, 64], g: float32[64], b: float32[64], S: float32[4, 32], g2: float32[32],
            b2: float32[32], Z: float32[4, 64], P: float32[4, 32]):
        xs: dsl.Stream[float32[16], 2]
        zs: dsl.Stream[float32[16], 2]
        ss: dsl.Stream[float32[16], 2]
        ps: dsl.Stream[float32[16], 2]
        memory.load_rows[float32, 4, 64](X, xs)
        rowwise.layer_norm_rows[float32, 4, 64](xs, g, b, zs, 1e-5)
        memory.store_rows[float32, 4, 64](zs, Z)
        memory.load_rows[float32, 4, 32](S, ss)
        rowwise.layer_norm_rows[float32, 4, 32](ss, g2, b2, ps, 1e-5)
        memory.store_rows[float32, 4, 32](ps, P)

    return two


def integer_rows(L, D):
    """The integer-only row units side by side on rows of D: GeLU and softmax of int32 rows, LayerNorm of
    int16 rows (each input and output array read or written by one loader or storer)."""
    return integer_rows_bert(L, 1, D, D, D)


def integer_rows_bert(L, H, LK, D, F):
    """``integer_rows`` at a Transformer's row lengths: GeLU of L rows of F, softmax of L * H score rows of
    LK, LayerNorm of L rows of D."""
    c = {(t, n): chunk(t, n) for t in (int16, int32, int64) for n in (LK, D, F)}

    @dsl.region()
    def int_rows(XG: int32[L, F], XS: int32[L * H, LK], XL: int16[L, D], G: int64[L, F], P: int32[L * H, LK],
                 N: int64[L, D], qb: int64, qc: int64, q1: int64, q_ln2: int64, sb: int64, sc: int64):
        xg: dsl.Stream[int32[c[int32, F]], 2]
        xs: dsl.Stream[int32[c[int32, LK]], 2]
        xl: dsl.Stream[int16[c[int16, D]], 2]
        gs: dsl.Stream[int64[c[int64, F]], 2]
        ps: dsl.Stream[int32[c[int32, LK]], 2]
        ns: dsl.Stream[int64[c[int64, D]], 2]
        memory.load_rows[int32, L, F](XG, xg)
        integer.int_gelu_rows[L, F](xg, gs, qb, qc, q1)
        memory.store_rows[int64, L, F](gs, G)
        memory.load_rows[int32, L * H, LK](XS, xs)
        integer.int_softmax_rows[L * H, LK](xs, ps, q_ln2, sb, sc)
        memory.store_rows[int32, L * H, LK](ps, P)
        memory.load_rows[int16, L, D](XL, xl)
        integer.int_layer_norm_rows[L, D](xl, ns)
        memory.store_rows[int64, L, D](ns, N)

    return int_rows
