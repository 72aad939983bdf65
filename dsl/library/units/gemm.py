"""Streaming GEMM units: activations x weights (``aw_gemm``, a linear layer) and activations x activations
(``qk_gemm``: S = Q K^T, ``pv_gemm``: O = P V, per head), each one process running its PE array.

The PE array is ``pe.pe_step`` (or ``pe_step_packed``: two PEs share a DSP), the same code the
memory-to-memory ``systolic`` kernels run, applied in the same k order, so a unit computes exactly what
``systolic.linear`` / ``nn.scaled_dot_product_attention`` compute: integers bit-exact, float32 to the bit
(each PE accumulates its products in k order, as ``linalg.matmul_into`` does). ``schedule_units`` unrolls
the PE loops and partitions the tiles: Mt x Nt multiply-accumulates per cycle in one kernel.

Token formats (what the units of one design agree on; a row travels as 512-bit tokens, see ``tokens``):
  activations   rows of X in row order;
  weights       ``TyW[KPW, Nt]`` blocks from ``memory.load_weights`` (see its layout);
  GEMM output   rows of Y: ``aw_gemm`` collects Mt rows of outputs, then sends them;
  scores        ``qk_gemm`` sends, for each tile of Mq query rows, for each head h, for each row i of the
                tile, the row S_h[i, :LK]; ``rowwise.causal_mask`` gives the kept length of each of these
                rows in the same order, ``rowwise.softmax_rows`` turns them into probabilities and
                ``pv_gemm`` takes them in that order and sends one output row (all heads) per query.
"""
from __future__ import annotations

import dsl
from dsl import int32

from .. import checks, packing, pe
from . import tokens
from .tokens import WORD, chunk, need_row  # noqa: F401  (chunk: used in the annotations)

PE_STEP = {0: pe.pe_step, 1: pe.pe_step_packed}  # PACK -> the PE array's step


# -- activations x weights ------------------------------------------------------------------------------
def _aw_check(TyA, TyW, TyC, M, K, N, Mt, Nt, PACK):
    for name, t in (("TyA", TyA), ("TyW", TyW), ("TyC", TyC)):
        checks.need_int_type(name, t, "aw_gemm (weights stream as packed integer words): ")
    checks.product_types("aw_gemm", TyA, TyW, TyC)
    checks.sizes(M=M, K=K, N=N, Mt=Mt, Nt=Nt)
    checks.need_multiple("M", M, "Mt", Mt, "aw_gemm tiles the M x N output with the Mt x Nt PE array")
    checks.need_multiple("N", N, "Nt", Nt, "aw_gemm tiles the M x N output with the Mt x Nt PE array")
    if PACK not in PE_STEP:
        raise dsl.DSLTypeError(f"aw_gemm: PACK = {PACK!r} must be 0 (one DSP per PE) or 1 (two PEs per DSP)")
    if PACK:
        packing._pair_check(TyA, TyW, "aw_gemm with PACK = 1")
        if Nt % 2:
            raise dsl.ShapeError(f"aw_gemm with PACK = 1: Nt = {Nt} must be even (PEs share DSPs two by two)")
    if Nt * TyW.bits > WORD or WORD % (Nt * TyW.bits):
        raise dsl.ShapeError(f"aw_gemm: Nt * {TyW.bits} bits (one k step of a weight block) must divide the "
                             f"{WORD}-bit word; Nt = {Nt} does not")
    checks.need_multiple("K", K, "KPW", WORD // (Nt * TyW.bits), "one weight word holds KPW k steps")
    need_row("K", TyA, K, "aw_gemm")
    need_row("N", TyC, N, "aw_gemm")


@dsl.template("TyA", "TyW", "TyC", "M", "K", "N", "Mt", "Nt", "PACK", check=_aw_check)
def aw_gemm(xs: "dsl.Stream[TyA[chunk(TyA, K)], 2]", ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]",
            ys: "dsl.Stream[TyC[chunk(TyC, N)], 2]"):
    """Y = X W^T (a linear layer, W [N, K]): X rows from ``xs``, weight blocks from ``load_weights`` (with
    PASSES = M // Mt), Y rows to ``ys``. Output-stationary: each Mt-row block of X is held (At) while every
    Nt-column block of W streams through; PACK = 1 shares each DSP between two PEs (int8 x int4/int8)."""
    _aw_gemm[TyA, TyW, TyC, M, K, N, Mt, Nt, PACK, WORD // (Nt * TyW.bits), min(K, WORD // TyA.bits),
             min(N, WORD // TyC.bits)](xs, ws, ys)


@dsl.template("TyA", "TyW", "TyC", "M", "K", "N", "Mt", "Nt", "PACK", "KPW", "CA", "CC")
def _aw_gemm(xs: "dsl.Stream[TyA[CA], 2]", ws: "dsl.Stream[TyW[KPW, Nt], 2]", ys: "dsl.Stream[TyC[CC], 2]"):
    At: TyA[K, Mt]
    Ct: TyC[Mt, Nt]
    Yb: TyC[Mt, N]
    row: TyA[K]
    wb: TyW[KPW, Nt]
    for mi in range(M // Mt, name="row_blocks"):
        for i in range(Mt, name="read_rows"):
            tokens.get_row[TyA, K, CA](xs, row)
            for k in range(K, name="transpose"):
                At[k, i] = row[k]
        for ni in range(N // Nt, name="col_blocks"):
            for i2, j2 in dsl.grid(Mt, Nt, name="clear"):
                Ct[i2, j2] = 0
            for k2 in range(K, name="k"):  # one loop at II=1: a weight word every KPW steps
                if k2 % KPW == 0:
                    wb = ws.get()
                PE_STEP[PACK][TyA, TyW, TyC, Mt, Nt](At[k2], wb[k2 % KPW], Ct)
            for i3, j3 in dsl.grid(Mt, Nt, name="drain"):
                Yb[i3, ni * Nt + j3] = Ct[i3, j3]
        for i4 in range(Mt, name="write_rows"):
            tokens.put_row[TyC, N, CC](Yb[i4], ys)


# -- one set of PEs for both phases of a decoder --------------------------------------------------------
PE_ROWS_STEP = {0: pe.pe_rows_step, 1: pe.pe_rows_step_packed}


def _shared_check(TyA, TyW, TyC, M, K, N, Mt, Nt, PACK):
    _aw_check(TyA, TyW, TyC, M, K, N, Mt, Nt, PACK)
    if Mt * Nt * TyW.bits != WORD:
        raise dsl.ShapeError(f"aw_gemm_shared: Mt x Nt x {TyW.bits} bits = {Mt * Nt * TyW.bits} must be one {WORD}-bit "
                             f"weight word (KPW = Mt): with one row its PE rows take the word's Mt k steps in one "
                             f"cycle (e.g. Mt = {max(1, WORD // (Nt * TyW.bits))} for Nt = {Nt})")


@dsl.template("TyA", "TyW", "TyC", "M", "K", "N", "Mt", "Nt", "PACK", check=_shared_check)
def aw_gemm_shared(xs: "dsl.Stream[TyA[chunk(TyA, K)], 2]", ws: "dsl.Stream[TyW[WORD // (Nt * TyW.bits), Nt], 2]",
                   ys: "dsl.Stream[TyC[chunk(TyC, N)], 2]", m: int32):
    """Y = X W^T for the m rows of X given at run time (m = 1, or a multiple of Mt up to M), on one Mt x Nt
    PE array whose weight word holds Mt k steps (Mt x Nt x bits = 512). m >= Mt (prefill): ``aw_gemm``'s
    output-stationary tiles, a weight word every Mt cycles, the words PASSES = m / Mt times. m = 1 (decode):
    the same PEs on the one row, a weight word every cycle, PE row i taking its k step i (PE (i, j): x[k] *
    W[j, k] for the k of the word's row i), the Mt partial sums of each column added when its block is done:
    Mt x Nt MACs a cycle in both phases, the words in the same order (``load_weights`` with PASSES = 1).
    Integer sums: the order of the additions does not change the result, so both phases are bit-exact."""
    _aw_gemm_shared[TyA, TyW, TyC, M, K, N, Mt, Nt, PACK, min(K, WORD // TyA.bits), min(N, WORD // TyC.bits)](
        xs, ws, ys, m)


@dsl.template("TyA", "TyW", "TyC", "M", "K", "N", "Mt", "Nt", "PACK", "CA", "CC")
def _aw_gemm_shared(xs: "dsl.Stream[TyA[CA], 2]", ws: "dsl.Stream[TyW[Mt, Nt], 2]", ys: "dsl.Stream[TyC[CC], 2]",
                    m: int32):
    # One k loop and one PE step for both phases (the same DSPs): only the operands differ. A tile (m >= Mt)
    # holds Mt rows, At[k] is column k of it, and every PE row takes the word's row k % Mt; one row (m = 1)
    # is held as At[g, i] = x[g * Mt + i], and PE row i takes the word's row i.
    At: TyA[K, Mt]
    Bt: TyW[Mt, Nt]
    Ct: TyC[Mt, Nt]
    Yb: TyC[Mt, N]
    row: TyA[K]
    wb: TyW[Mt, Nt]
    one: int32 = m == 1
    steps: int32 = K
    every: int32 = Mt
    blocks: int32 = m // Mt
    if one:
        steps = K // Mt
        every = 1
        blocks = 1
    for mi in range(blocks, name="row_blocks"):
        if one:
            tokens.get_row[TyA, K, CA](xs, row)
            for g0, i0 in dsl.grid(K // Mt, Mt, name="split"):
                At[g0, i0] = row[g0 * Mt + i0]
        else:
            for i in range(Mt, name="read_rows"):
                tokens.get_row[TyA, K, CA](xs, row)
                for k1 in range(K, name="transpose"):
                    At[k1, i] = row[k1]
        for ni in range(N // Nt, name="col_blocks"):
            for i2, j2 in dsl.grid(Mt, Nt, name="clear"):
                Ct[i2, j2] = 0
            due: int32 = 0  # steps since the last word (a counter, not a run-time modulo: no divider)
            for k2 in range(steps, name="k"):  # at II=1: a weight word every ``every`` steps
                if due == 0:
                    wb = ws.get()
                due = due + 1
                if due == every:
                    due = 0
                for i5, j5 in dsl.grid(Mt, Nt, name="select"):  # the operand muxes in front of the PEs
                    if one:
                        Bt[i5, j5] = wb[i5, j5]
                    else:
                        Bt[i5, j5] = wb[k2 % Mt, j5]
                PE_ROWS_STEP[PACK][TyA, TyW, TyC, Mt, Nt](At[k2], Bt, Ct)
            if one:
                for j3 in range(Nt, name="reduce"):  # a column's Mt partial sums (one per PE row)
                    total: TyC = 0
                    for i3 in range(Mt, name="reduce_rows"):
                        total += Ct[i3, j3]
                    Yb[0, ni * Nt + j3] = total
            else:
                for i4, j4 in dsl.grid(Mt, Nt, name="drain"):
                    Yb[i4, ni * Nt + j4] = Ct[i4, j4]
        written: int32 = Mt  # rows of the tile, or the one row
        if one:
            written = 1
        for i6 in range(written, name="write_rows"):
            tokens.put_row[TyC, N, CC](Yb[i6], ys)


# -- activations x activations --------------------------------------------------------------------------
def _aa_check(TyA, TyC, H, LQ, LK, D, Mq, Nk, PASSES):
    checks.product_types("qk_gemm / pv_gemm", TyA, TyA, TyC)
    checks.sizes(H=H, LQ=LQ, LK=LK, D=D, Mq=Mq, Nk=Nk, PASSES=PASSES)
    checks.need_multiple("D", D, "H", H, "the model dimension is split evenly over the heads")
    checks.need_multiple("LQ", LQ, "Mq", Mq, "the queries are processed Mq rows at a time")
    checks.need_multiple("LK", LK, "Nk", Nk, "the keys are processed Nk at a time")
    need_row("D", TyA, D, "qk_gemm / pv_gemm")
    need_row("LK", TyA, LK, "qk_gemm / pv_gemm")
    need_row("LK", TyC, LK, "qk_gemm / pv_gemm")
    need_row("D", TyC, D, "qk_gemm / pv_gemm")


def _pv_check(TyA, TyC, H, LQ, LK, D, Mq, Nk, PASSES):
    _aa_check(TyA, TyC, H, LQ, LK, D, Mq, Nk, PASSES)
    checks.need_multiple("D // H", D // H, "Nk", Nk, "pv_gemm's PE columns cover a head's channels Nk at a time")


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "Mq", "Nk", "PASSES", check=_aa_check)
def qk_gemm(qs: "dsl.Stream[TyA[chunk(TyA, D)], 2]", ks: "dsl.Stream[TyA[chunk(TyA, D)], 2]",
            ss: "dsl.Stream[TyC[chunk(TyC, LK)], 2]"):
    """S_h = Q_h K_h^T for each head h and each of PASSES independent sequences (LQ query rows, LK key rows
    each). K is held in a double (ping-pong) buffer: the keys of sequence p + 1 are taken while sequence p
    is computed (after each query tile, an equal share of them), so back-to-back sequences overlap. Score
    rows leave in the order (query tile, head, row of the tile); an Mq x Nk PE array, k order."""
    _qk_gemm[TyA, TyC, H, LQ, LK, D, D // H, Mq, Nk, PASSES, -(-LK // (LQ // Mq)), min(D, WORD // TyA.bits),
             min(LK, WORD // TyC.bits)](qs, ks, ss, LK)


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "Mq", "Nk", "PASSES", check=_aa_check)
def qk_gemm_n(qs: "dsl.Stream[TyA[chunk(TyA, D)], 2]", ks: "dsl.Stream[TyA[chunk(TyA, D)], 2]",
              ss: "dsl.Stream[TyC[chunk(TyC, LK)], 2]", n: int32):
    """``qk_gemm`` against the n keys present at run time (1 <= n <= LK; decode: the context in the KV
    cache): n key rows are taken per sequence, ceil(n / Nk) key tiles computed, and each score row leaves
    as its first ceil(n / chunk) tokens (``tokens.get_prefix`` takes them). The cycles follow n, not LK."""
    _qk_gemm[TyA, TyC, H, LQ, LK, D, D // H, Mq, Nk, PASSES, -(-LK // (LQ // Mq)), min(D, WORD // TyA.bits),
             min(LK, WORD // TyC.bits)](qs, ks, ss, n)


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "DH", "Mq", "Nk", "PASSES", "SHARE", "CA", "CS")
def _qk_gemm(qs: "dsl.Stream[TyA[CA], 2]", ks: "dsl.Stream[TyA[CA], 2]", ss: "dsl.Stream[TyC[CS], 2]", n: int32):
    Kb: TyA[2, LK, D]
    At: TyA[DH, Mq]
    Bt: TyA[DH, Nk]
    Ct: TyC[Mq, Nk]
    Sb: TyC[Mq, LK]
    Qb: TyA[Mq, D]
    for j in range(n, name="first_keys"):
        tokens.get_row[TyA, D, CA](ks, Kb[0, j])
    for p in range(PASSES, name="passes"):
        cur: int32 = p % 2
        taken: int32 = 0
        for mi in range(LQ // Mq, name="query_tiles"):
            for i in range(Mq, name="read_queries"):
                tokens.get_row[TyA, D, CA](qs, Qb[i])
            for h in range(H, name="heads"):
                for i2, k in dsl.grid(Mq, DH, name="split_q"):
                    At[k, i2] = Qb[i2, h * DH + k]
                for nj in range((n + Nk - 1) // Nk, name="key_tiles"):
                    for j2, k2 in dsl.grid(Nk, DH, name="split_k"):
                        Bt[k2, j2] = Kb[cur, nj * Nk + j2, h * DH + k2]
                    for i3, j3 in dsl.grid(Mq, Nk, name="clear"):
                        Ct[i3, j3] = 0
                    for k3 in range(DH, name="k"):
                        pe.pe_step[TyA, TyA, TyC, Mq, Nk](At[k3], Bt[k3], Ct)
                    for i4, j4 in dsl.grid(Mq, Nk, name="drain"):
                        Sb[i4, nj * Nk + j4] = Ct[i4, j4]
                for i5 in range(Mq, name="write_scores"):
                    tokens.put_prefix[TyC, LK, CS](Sb[i5], ss, n)
            if p + 1 < PASSES:  # the ping-pong: the other buffer fills while this one is in use
                for t in range(min(SHARE, n - taken), name="next_keys"):
                    tokens.get_row[TyA, D, CA](ks, Kb[1 - cur, taken + t])
                taken = taken + min(SHARE, n - taken)


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "Mq", "Nk", "PASSES", check=_pv_check)
def pv_gemm(ps: "dsl.Stream[TyA[chunk(TyA, LK)], 2]", vs: "dsl.Stream[TyA[chunk(TyA, D)], 2]",
            outs: "dsl.Stream[TyC[chunk(TyC, D)], 2]"):
    """O[:, h] = P_h V_h, the probability rows in ``qk_gemm``'s order, V held in a ping-pong buffer as K is
    there; one output row (all heads) per query. An Mq x Nk PE array over (query, head channel), j order."""
    _pv_gemm[TyA, TyC, H, LQ, LK, D, D // H, Mq, Nk, PASSES, -(-LK // (LQ // Mq)), min(LK, WORD // TyA.bits),
             min(D, WORD // TyA.bits), min(D, WORD // TyC.bits)](ps, vs, outs, LK)


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "Mq", "Nk", "PASSES", check=_pv_check)
def pv_gemm_n(ps: "dsl.Stream[TyA[chunk(TyA, LK)], 2]", vs: "dsl.Stream[TyA[chunk(TyA, D)], 2]",
              outs: "dsl.Stream[TyC[chunk(TyC, D)], 2]", n: int32):
    """``pv_gemm`` over the n values present at run time (``qk_gemm_n``'s partner): n value rows per
    sequence, each probability row its first ceil(n / chunk) tokens, the PE array's j loop n steps."""
    _pv_gemm[TyA, TyC, H, LQ, LK, D, D // H, Mq, Nk, PASSES, -(-LK // (LQ // Mq)), min(LK, WORD // TyA.bits),
             min(D, WORD // TyA.bits), min(D, WORD // TyC.bits)](ps, vs, outs, n)


@dsl.template("TyA", "TyC", "H", "LQ", "LK", "D", "DH", "Mq", "Nk", "PASSES", "SHARE", "CP", "CV", "CO")
def _pv_gemm(ps: "dsl.Stream[TyA[CP], 2]", vs: "dsl.Stream[TyA[CV], 2]", outs: "dsl.Stream[TyC[CO], 2]",
             n: int32):
    Vb: TyA[2, LK, D]
    Pt: TyA[LK, Mq]
    Vt: TyA[LK, Nk]
    Ct: TyC[Mq, Nk]
    Ob: TyC[Mq, D]
    prow: TyA[LK]
    for j in range(n, name="first_values"):
        tokens.get_row[TyA, D, CV](vs, Vb[0, j])
    for p in range(PASSES, name="passes"):
        cur: int32 = p % 2
        taken: int32 = 0
        for mi in range(LQ // Mq, name="query_tiles"):
            for h in range(H, name="heads"):
                for i in range(Mq, name="read_probs"):
                    tokens.get_prefix[TyA, LK, CP](ps, prow, n)
                    for j2 in range(n, name="transpose"):
                        Pt[j2, i] = prow[j2]
                for nc in range(DH // Nk, name="channel_tiles"):
                    for j3, c in dsl.grid(n, Nk, name="split_v"):
                        Vt[j3, c] = Vb[cur, j3, h * DH + nc * Nk + c]
                    for i3, c3 in dsl.grid(Mq, Nk, name="clear"):
                        Ct[i3, c3] = 0
                    for j4 in range(n, name="k"):
                        pe.pe_step[TyA, TyA, TyC, Mq, Nk](Pt[j4], Vt[j4], Ct)
                    for i4, c4 in dsl.grid(Mq, Nk, name="drain"):
                        Ob[i4, h * DH + nc * Nk + c4] = Ct[i4, c4]
            for i5 in range(Mq, name="write_rows"):
                tokens.put_row[TyC, D, CO](Ob[i5], outs)
            if p + 1 < PASSES:
                for t in range(min(SHARE, n - taken), name="next_values"):
                    tokens.get_row[TyA, D, CV](vs, Vb[1 - cur, taken + t])
                taken = taken + min(SHARE, n - taken)
