"""Output-stationary systolic GEMM (``allo.library.systolic``'s structure): an Mt x Nt PE array tiled over
the M x N output, the K reduction streamed through it one step per cycle.

Building blocks, smallest first (a streaming unit calls the same ones):
  pe_step[TyA, TyB, TyC, Mt, Nt](a, b, C)   one k step of every PE: C[i, j] += a[i] * b[j]
  pe_step_packed[...]                       the same, two PEs of a row sharing one DSP (``packing.mul2``)
  tile / tile_packed[..., K, Mt, Nt]        a whole output tile: C = At^T Bt over K steps
  gemm / packed_gemm[TyA, TyB, TyC, M, K, N, Mt, Nt](A, B) -> C        C = A @ B (B is [K, N])
  linear / packed_linear[...](X, W) -> C                               C = X @ W^T (W is [N, K], PyTorch)
  gemm_wide / packed_gemm_wide[...](Ap, Bp) -> C   C = A @ B from wide m_axi words (A in column-major
                                                   tiles, B by rows): no operand tile, the paper's kernel

``schedule_gemm`` (and the others) makes it the hardware the paper describes: the k loop pipelined at II=1
with the PE loops unrolled (Mt*Nt multiply-accumulates per cycle, or Mt*Nt/2 DSPs when packed), the output
tile fully partitioned (one register per PE), the A tile partitioned by PE row and the B tile by PE column
(each PE row/column reads its own bank every cycle); the A tile is loaded once per row of tiles, loads and
stores are pipelined over contiguous addresses (bursts). As in AMD's ``systolic_array`` example, Vitis builds
the PE grid from the unrolled loops; the PE-to-PE forwarding through FIFOs is the streaming form's.
Integers are exact (accumulated in TyC, wrapping like the hardware); float32 accumulates in k order.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import UInt

from . import checks, packing
from .schedules import functions, inline_pe_step, schedule_tiles
from .pe import pe_step, pe_step_packed, tile, tile_packed  # noqa: F401  (the PE array)


def _gemm_check(TyA, TyB, TyC, M, K, N, Mt, Nt, what="gemm"):
    checks.product_types(what, TyA, TyB, TyC)
    checks.sizes(M=M, K=K, N=N, Mt=Mt, Nt=Nt)
    checks.need_multiple("M", M, "Mt", Mt, f"{what} tiles the M x N output with the Mt x Nt PE array")
    checks.need_multiple("N", N, "Nt", Nt, f"{what} tiles the M x N output with the Mt x Nt PE array")


def _packed_check(TyA, TyB, TyC, M, K, N, Mt, Nt, what="packed_gemm"):
    packing._pair_check(TyA, TyB, what)
    checks.need_type("TyC", TyC, (checks.ACCUMULATOR,), f"{what} accumulates into ")
    _gemm_check(TyA, TyB, TyC, M, K, N, Mt, Nt, what)
    if Nt % 2:
        raise dsl.ShapeError(f"{what}: Nt = {Nt} must be even: the PEs of a row share DSPs two by two")


# -- whole products -------------------------------------------------------------------------------------
@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_gemm_check)
def gemm(A: "TyA[M, K]", B: "TyB[K, N]") -> "TyC[M, N]":
    C: TyC[M, N]
    At: TyA[K, Mt]
    Bt: TyB[K, Nt]
    Ct: TyC[Mt, Nt]
    for mi in range(M // Mt):
        for i, k in dsl.grid(Mt, K, name="load_a"):
            At[k, i] = A[mi * Mt + i, k]
        for ni in range(N // Nt):
            for k2, j in dsl.grid(K, Nt, name="load_b"):
                Bt[k2, j] = B[k2, ni * Nt + j]
            tile[TyA, TyB, TyC, K, Mt, Nt](At, Bt, Ct)
            for i2, j2 in dsl.grid(Mt, Nt, name="store_c"):
                C[mi * Mt + i2, ni * Nt + j2] = Ct[i2, j2]
    return C


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_packed_check)
def packed_gemm(A: "TyA[M, K]", B: "TyB[K, N]") -> "TyC[M, N]":
    C: TyC[M, N]
    At: TyA[K, Mt]
    Bt: TyB[K, Nt]
    Ct: TyC[Mt, Nt]
    for mi in range(M // Mt):
        for i, k in dsl.grid(Mt, K, name="load_a"):
            At[k, i] = A[mi * Mt + i, k]
        for ni in range(N // Nt):
            for k2, j in dsl.grid(K, Nt, name="load_b"):
                Bt[k2, j] = B[k2, ni * Nt + j]
            tile_packed[TyA, TyB, TyC, K, Mt, Nt](At, Bt, Ct)
            for i2, j2 in dsl.grid(Mt, Nt, name="store_c"):
                C[mi * Mt + i2, ni * Nt + j2] = Ct[i2, j2]
    return C


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_gemm_check)
def linear(X: "TyA[M, K]", W: "TyB[N, K]") -> "TyC[M, N]":
    """X @ W^T with W in PyTorch's [out, in] layout: each W row is read as one burst."""
    C: TyC[M, N]
    At: TyA[K, Mt]
    Bt: TyB[K, Nt]
    Ct: TyC[Mt, Nt]
    for mi in range(M // Mt):
        for i, k in dsl.grid(Mt, K, name="load_a"):
            At[k, i] = X[mi * Mt + i, k]
        for ni in range(N // Nt):
            for j, k2 in dsl.grid(Nt, K, name="load_b"):
                Bt[k2, j] = W[ni * Nt + j, k2]
            tile[TyA, TyB, TyC, K, Mt, Nt](At, Bt, Ct)
            for i2, j2 in dsl.grid(Mt, Nt, name="store_c"):
                C[mi * Mt + i2, ni * Nt + j2] = Ct[i2, j2]
    return C


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_packed_check)
def packed_linear(X: "TyA[M, K]", W: "TyB[N, K]") -> "TyC[M, N]":
    C: TyC[M, N]
    At: TyA[K, Mt]
    Bt: TyB[K, Nt]
    Ct: TyC[Mt, Nt]
    for mi in range(M // Mt):
        for i, k in dsl.grid(Mt, K, name="load_a"):
            At[k, i] = X[mi * Mt + i, k]
        for ni in range(N // Nt):
            for j, k2 in dsl.grid(Nt, K, name="load_b"):
                Bt[k2, j] = W[ni * Nt + j, k2]
            tile_packed[TyA, TyB, TyC, K, Mt, Nt](At, Bt, Ct)
            for i2, j2 in dsl.grid(Mt, Nt, name="store_c"):
                C[mi * Mt + i2, ni * Nt + j2] = Ct[i2, j2]
    return C


# -- schedules ------------------------------------------------------------------------------------------
def schedule_gemm(s):
    """Partition the tiles, pipeline the k loop with the PE loops unrolled, pipeline the loads and stores
    (the outer loop of load_b/store_c when its inner loop is contiguous: one wide access)."""
    s.pipeline("load_a:k")
    s.pipeline("load_b:k2")   # gemm: B rows are contiguous, j unrolled (one wide read); linear: W rows
    s.pipeline("store_c:i2")
    return schedule_tiles(s, s.top)


schedule_packed_gemm = schedule_linear = schedule_packed_linear = schedule_gemm


# -- references -----------------------------------------------------------------------------------------
def gemm_ref(A, B, out_bits=32):
    """A @ B exactly (int64), wrapped to the accumulator; float32 in k order."""
    from .ref import matmul

    return matmul(A, B, out_bits)


def linear_ref(X, W, out_bits=32):
    from .ref import matmul

    return matmul(X, np.asarray(W).T, out_bits)

# -- operands streamed from wide m_axi words (the paper's HLS kernel) -----------------------------------
# ``gemm`` above copies its operand tiles on chip (At, Bt: 32 BRAM18K at 16 x 16) and loads, computes and
# stores each tile one after another. ``gemm_wide`` is the kernel of the paper's HLS report: each k step
# reads one word of A and one of B straight from m_axi into the array's edges (no operand tile), the
# accumulators stay in registers, and the output tile drains while the next one computes.
#
# Layout (a documented host-side choice, as the paper's host packs its weights):
#   Ap: UInt(bits(TyA) * Mt)[M // Mt, K]   Ap[mi, k] holds A[mi*Mt + i, k] in bits [i*b, (i+1)*b): column k
#        of row tile mi, one value per PE row (``pack_a_tiles``: A in column-major tiles)
#   Bp: UInt(bits(TyB) * Nt)[K, N // Nt]   Bp[k, ni] holds B[k, ni*Nt + j] in bits [j*b, ...): row k of
#        column tile ni, one value per PE column: for whole-byte types B's own row-major bytes
#        (``pack_b_rows``); a word is at most 512 bits (16 int8 = 128)
#   C: TyC[M, N] row-major, as ``gemm``.
# One pipelined loop over every (row tile, column tile, k): Vitis flattens the perfect nest mi/ni/k
# (UG1399 ``loop_flatten``, on by default), so the pipeline fills once for the whole product, not once per
# tile. Iteration (t, k) gives the array column k of A and row k of B (one m_axi read per bundle and
# iteration: II=1; the port is as wide as its word, UG1399's manual data packing of m_axi ports, so no
# automatic widening, ``max_widen_bitwidth``, is relied on), clears the accumulators at k = 0 (the DSP's P
# register loaded rather than accumulated) and copies them to the drain registers Cd at k = K - 1; meanwhile
# the previous tile's results leave Cd, one per iteration while k < Mt*Nt (one m_axi write a cycle), hence
# K >= Mt*Nt. The last tile drains after the loop (Mt*Nt cycles).
def _wide_check(TyA, TyB, TyC, M, K, N, Mt, Nt, what="gemm_wide"):
    from .gemv import WORD_BITS

    _gemm_check(TyA, TyB, TyC, M, K, N, Mt, Nt, what)
    for name, t, n, side in (("A", TyA, Mt, "Mt"), ("B", TyB, Nt, "Nt")):
        if t.bits * n > WORD_BITS:
            raise dsl.ShapeError(f"{what}: a word of {name} holds {side} = {n} values of {t!r}, {t.bits * n} bits; "
                                 f"an m_axi word is at most {WORD_BITS} bits ({side} <= {WORD_BITS // t.bits})")
    if K < Mt * Nt:
        raise dsl.ShapeError(f"{what}: K = {K} is smaller than Mt * Nt = {Mt * Nt}: a tile's results drain one "
                             f"per k step while the next tile computes, so K must be at least Mt * Nt")


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", "BA", "BB", "PACK")
def gemm_wide_words(Ap: "UInt(BA * Mt)[M // Mt, K]", Bp: "UInt(BB * Nt)[K, N // Nt]", C: "TyC[M, N]"):
    """C = A B from the packed words (BA, BB: the operand widths, as names the slices can use; PACK: two
    PEs of a row share a DSP, ``pe_step_packed``)."""
    Ct: TyC[Mt, Nt]   # the accumulators: one register per PE
    Cd: TyC[Mt, Nt]   # the previous tile's results, draining
    a: TyA[Mt]        # the array's edges: one A value per PE row, one B value per PE column
    b: TyB[Nt]
    for mi, ni, k in dsl.grid(M // Mt, N // Nt, K, name="tiles"):
        if k < Mt * Nt:   # result k of the previous tile leaves
            if mi + ni > 0:
                pm: dsl.index = mi if ni > 0 else mi - 1
                pn: dsl.index = ni - 1 if ni > 0 else N // Nt - 1
                C[pm * Mt + k // Nt, pn * Nt + k % Nt] = Cd[k // Nt, k % Nt]
        wa: UInt(BA * Mt) = Ap[mi, k]
        wb: UInt(BB * Nt) = Bp[k, ni]
        with dsl.meta_for(Mt) as i:
            a[i] = TyA(wa[i * BA:(i + 1) * BA])
        with dsl.meta_for(Nt) as j:
            b[j] = TyB(wb[j * BB:(j + 1) * BB])
        if k == 0:
            for i2, j2 in dsl.grid(Mt, Nt, name="clear"):
                Ct[i2, j2] = 0
        with dsl.meta_if(PACK):
            pe_step_packed[TyA, TyB, TyC, Mt, Nt](a, b, Ct)
        with dsl.meta_else():
            pe_step[TyA, TyB, TyC, Mt, Nt](a, b, Ct)
        if k == K - 1:
            for i3, j3 in dsl.grid(Mt, Nt, name="hold"):
                Cd[i3, j3] = Ct[i3, j3]
    for d in range(Mt * Nt, name="drain"):   # the last tile
        C[M - Mt + d // Nt, N - Nt + d % Nt] = Cd[d // Nt, d % Nt]


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_wide_check)
def gemm_wide(Ap: "UInt(TyA.bits * Mt)[M // Mt, K]", Bp: "UInt(TyB.bits * Nt)[K, N // Nt]") -> "TyC[M, N]":
    """C = A @ B with A given as ``pack_a_tiles(A, bits, Mt)`` and B as ``pack_b_rows(B, bits, Nt)``."""
    C: TyC[M, N]
    gemm_wide_words[TyA, TyB, TyC, M, K, N, Mt, Nt, TyA.bits, TyB.bits, 0](Ap, Bp, C)
    return C


def _packed_wide_check(TyA, TyB, TyC, M, K, N, Mt, Nt):
    _packed_check(TyA, TyB, TyC, M, K, N, Mt, Nt, "packed_gemm_wide")
    _wide_check(TyA, TyB, TyC, M, K, N, Mt, Nt, "packed_gemm_wide")


@dsl.template("TyA", "TyB", "TyC", "M", "K", "N", "Mt", "Nt", check=_packed_wide_check)
def packed_gemm_wide(Ap: "UInt(TyA.bits * Mt)[M // Mt, K]", Bp: "UInt(TyB.bits * Nt)[K, N // Nt]") -> "TyC[M, N]":
    """``gemm_wide`` with two PEs of a row sharing one DSP (``packing.mul2``): Mt*Nt/2 DSPs."""
    C: TyC[M, N]
    gemm_wide_words[TyA, TyB, TyC, M, K, N, Mt, Nt, TyA.bits, TyB.bits, 1](Ap, Bp, C)
    return C


def schedule_gemm_wide(s):
    """The registers completely partitioned (UG1399 ``array_partition complete``: the accumulators, the
    drain registers and the array's edges, every one used each cycle), the flattened tile loop pipelined at
    II=1 with the PE loops unrolled and the PE step inlined (UG1399 ``pipeline``, ``unroll``, ``inline``),
    the last tile's drain pipelined."""
    owner = "" if s.top == "gemm_wide_words" else "gemm_wide_words:"
    for reg in ("Ct", "Cd", "a", "b"):
        s.partition(f"{owner}{reg}", dsl.Partition.Complete, dim=0)
    s.pipeline(f"{owner}tiles:k")
    s.pipeline(f"{owner}drain")
    for func in functions(s):   # the PE step (and the DSP packing) unrolled and inlined into the k loop
        inline_pe_step(s, func)
    return s


schedule_packed_gemm_wide = schedule_gemm_wide


def pack_a_tiles(A, bits: int, Mt: int) -> np.ndarray:
    """[M, K] -> [M // Mt, K] words: word (mi, k) holds A[mi*Mt + i, k] in bits [i*bits, (i+1)*bits)."""
    from .gemv import pack_words

    A = np.asarray(A)
    m, k = A.shape
    cols = A.reshape(m // Mt, Mt, k).transpose(0, 2, 1).reshape(m // Mt * k, Mt)
    return pack_words(cols, bits, Mt).reshape(m // Mt, k)


def pack_b_rows(B, bits: int, Nt: int) -> np.ndarray:
    """[K, N] -> [K, N // Nt] words: word (k, ni) holds B[k, ni*Nt + j] in bits [j*bits, (j+1)*bits)."""
    from .gemv import pack_words

    B = np.asarray(B)
    k, n = B.shape
    return pack_words(B.reshape(k * n // Nt, Nt), bits, Nt).reshape(k, n // Nt)


def unpack_a_tiles(Ap, bits: int, Mt: int) -> np.ndarray:
    """The inverse of ``pack_a_tiles`` (int64)."""
    from .gemv import unpack_words

    Ap = np.asarray(Ap)
    tiles, k = Ap.shape
    cols = unpack_words(Ap.reshape(-1, 1), bits, Mt)
    return cols.reshape(tiles, k, Mt).transpose(0, 2, 1).reshape(tiles * Mt, k)


def unpack_b_rows(Bp, bits: int, Nt: int) -> np.ndarray:
    """The inverse of ``pack_b_rows`` (int64)."""
    from .gemv import unpack_words

    Bp = np.asarray(Bp)
    return unpack_words(Bp.reshape(-1, 1), bits, Nt).reshape(Bp.shape[0], -1)


def gemm_wide_ref(Ap, Bp, bits_a: int, bits_b: int, Mt: int, Nt: int, out_bits=32):
    """The reference on the unpacked operands."""
    return gemm_ref(unpack_a_tiles(Ap, bits_a, Mt), unpack_b_rows(Bp, bits_b, Nt), out_bits)
