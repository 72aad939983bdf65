"""The output-stationary PE array, one k step at a time (``pe_step``) or a whole tile (``tile``): the GEMM core
that ``systolic``, ``linalg`` and the streaming units call, so that they all compute the same bits.

A tile holds the A operand transposed (``At[k]`` is column k of the A tile, one value per PE row) and the B
operand by rows (``Bt[k]``, one value per PE column); the accumulators ``C`` stay in place (one per PE).
"""
from __future__ import annotations

import dsl

from . import checks, packing


def _packed_check(TyA, TyB, TyC, Mt, Nt):
    packing._pair_check(TyA, TyB, "pe_step_packed")
    checks.need_type("TyC", TyC, (checks.ACCUMULATOR,), "pe_step_packed accumulates into ")
    checks.sizes(Mt=Mt, Nt=Nt)
    if Nt % 2:
        raise dsl.ShapeError(f"pe_step_packed: Nt = {Nt} must be even: the PEs of a row share DSPs two by two")


def _pe_check(TyA, TyB, TyC, Mt, Nt):
    checks.product_types("pe_step", TyA, TyB, TyC)
    checks.sizes(Mt=Mt, Nt=Nt)


@dsl.template("TyA", "TyB", "TyC", "Mt", "Nt", check=_pe_check)
def pe_step(a: "TyA[Mt]", b: "TyB[Nt]", C: "TyC[Mt, Nt]"):
    for i, j in dsl.grid(Mt, Nt, name="pe"):
        C[i, j] += a[i] * b[j]


@dsl.template("TyA", "TyB", "TyC", "Mt", "Nt", check=_packed_check)
def pe_step_packed(a: "TyA[Mt]", b: "TyB[Nt]", C: "TyC[Mt, Nt]"):
    for i, jp in dsl.grid(Mt, Nt // 2, name="pe"):
        lo, hi = packing.mul2[TyA, TyB](a[i], b[2 * jp], b[2 * jp + 1])
        C[i, 2 * jp] += lo
        C[i, 2 * jp + 1] += hi


@dsl.template("TyA", "TyB", "TyC", "Mt", "Nt", check=_pe_check)
def pe_rows_step(a: "TyA[Mt]", B: "TyB[Mt, Nt]", C: "TyC[Mt, Nt]"):
    """The PE array on one row of A (``gemm.aw_gemm_shared``'s one-row phase): PE (i, j) multiplies a[i]
    (k step i of a group of Mt) by B[i, j] (that k step's weight of column j): each PE row a k step."""
    for i, j in dsl.grid(Mt, Nt, name="pe"):
        C[i, j] += a[i] * B[i, j]


@dsl.template("TyA", "TyB", "TyC", "Mt", "Nt", check=_packed_check)
def pe_rows_step_packed(a: "TyA[Mt]", B: "TyB[Mt, Nt]", C: "TyC[Mt, Nt]"):
    """``pe_rows_step`` with two PEs of a row sharing a DSP (one activation, two weights, as in
    ``pe_step_packed``)."""
    for i, jp in dsl.grid(Mt, Nt // 2, name="pe"):
        lo, hi = packing.mul2[TyA, TyB](a[i], B[i, 2 * jp], B[i, 2 * jp + 1])
        C[i, 2 * jp] += lo
        C[i, 2 * jp + 1] += hi


@dsl.template("TyA", "TyB", "TyC", "K", "Mt", "Nt")
def tile(At: "TyA[K, Mt]", Bt: "TyB[K, Nt]", C: "TyC[Mt, Nt]"):
    """C = sum over k of At[k] (column k of the A tile) times Bt[k] (row k of the B tile)."""
    for i, j in dsl.grid(Mt, Nt, name="clear"):
        C[i, j] = 0
    for k in range(K, name="k"):
        pe_step[TyA, TyB, TyC, Mt, Nt](At[k], Bt[k], C)


@dsl.template("TyA", "TyB", "TyC", "K", "Mt", "Nt")
def tile_packed(At: "TyA[K, Mt]", Bt: "TyB[K, Nt]", C: "TyC[Mt, Nt]"):
    for i, j in dsl.grid(Mt, Nt, name="clear"):
        C[i, j] = 0
    for k in range(K, name="k"):
        pe_step_packed[TyA, TyB, TyC, Mt, Nt](At[k], Bt[k], C)
