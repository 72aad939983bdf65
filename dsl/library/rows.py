"""Row kernels: softmax, log_softmax, layer_norm, rms_norm and GeLU over one row, with their numpy twins.

These are the building blocks of both forms of the library: the tensor kernels of ``nn`` apply them to each
row of a matrix (``X[i]`` passes row i by reference), and the streaming units of ``dsl.library.units`` apply
them to each row read from a stream, so both compute exactly the same bits. A row kernel writes its result
into the ``z`` argument.

Float sums are taken in ``SUM_LANES`` = 32 interleaved partial sums: element j goes to lane j % 32, each lane
adds its elements in order, and the lanes are combined in a fixed order (lane l + 16 into lane l, then l + 8
into l, then the pairwise tree ((0+1)+(2+3))+((4+5)+(6+7))). The order is part of the result (float addition
is not associative), and the ``*_ref`` twins follow it exactly. It is also what hardware needs: a lane's
running sum is used again only 32 elements later, so up to 8 elements a cycle (a row unit's lanes,
``dsl.library.units.schedules.row_lanes``) reach each lane once every 32 / 8 = 4 cycles, the float adder's
latency at 300 MHz (dsl/qor/tables: fadd 4): the group loop runs at II = SUM_LANES / elements per cycle, its
fadd recurrence hidden (UG1399 "loop-carried dependencies": II >= latency / distance). Running maxima keep
``LANES`` = 8 lanes: a float compare takes one cycle, so 8 lanes at II = 1 are 8 elements a cycle.
``lane_total`` / ``lane_max`` combine the lanes; the streaming units take the same sums and maxima as a row
arrives (``dsl.library.units.rowwise``), in the same lanes and order.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import float32, int32

from . import checks, mathf

F = np.float32
LANES = 8             # lanes of a running max
SUM_LANES = 32        # interleaved partial sums of a row sum: up to 8 elements a cycle x the fadd latency (4)
NEG_MAX = -mathf.FLT_MAX   # start of a running max: below every finite float


# -- row reductions -------------------------------------------------------------------------------------
def lane_total(acc: "float32[SUM_LANES]") -> float32:
    """The 32 partial sums combined: l + 16 into l, l + 8 into l (one loop of 8: three adds each), then a
    pairwise tree of the 8."""
    q: float32[8]
    for l in range(8, name="fold"):
        q[l] = (acc[l] + acc[l + 16]) + (acc[l + 8] + acc[l + 24])
    return ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]))


@dsl.template("T", "D", check=checks.float_row)
def row_sum(x: "T[D]", n: int32) -> "T":
    """x[0] + ... + x[n-1] in SUM_LANES interleaved partial sums."""
    acc: T[SUM_LANES] = 0.0
    for j0 in range(n // SUM_LANES, name="sum_groups"):
        for l in range(SUM_LANES, name="sum_lanes"):
            acc[l] += x[j0 * SUM_LANES + l]
    base: int32 = (n // SUM_LANES) * SUM_LANES
    for l2 in range(n - base, name="sum_tail"):
        acc[l2] += x[base + l2]
    return lane_total(acc)


@dsl.template("T", "D", check=checks.float_row)
def row_max(x: "T[D]", n: int32, scale: "T") -> "T":
    """max(x[j] * scale for j < n), NEG_MAX when n <= 0."""
    acc: T[LANES] = NEG_MAX
    for j0 in range(n // LANES, name="max_groups"):
        for l in range(LANES, name="max_lanes"):
            acc[l] = max(acc[l], x[j0 * LANES + l] * scale)
    base: int32 = (n // LANES) * LANES
    for l2 in range(n - base, name="max_tail"):
        acc[l2] = max(acc[l2], x[base + l2] * scale)
    return lane_max(acc)


def lane_max(acc: "float32[LANES]") -> float32:
    """The LANES running maxima combined (a pairwise tree: the order fixes which zero a tie of -0 and +0
    gives)."""
    return max(max(max(acc[0], acc[1]), max(acc[2], acc[3])), max(max(acc[4], acc[5]), max(acc[6], acc[7])))


def _math_row(T, D, MATH):
    checks.float_row(T, D)
    if MATH not in mathf.EXP:
        raise dsl.DSLTypeError(f"MATH = {MATH!r} must be mathf.LIBRARY (0: the library's bit-exact polynomials) "
                               "or mathf.VENDOR (1: the vendor's hls::exp / hls::erf / hls::tanh cores)")


@dsl.template("T", "D", "MATH", check=_math_row)
def exp_sum(x: "T[D]", z: "T[D]", n: int32, scale: "T", m: "T") -> "T":
    """z[j] = exp(x[j] * scale - m) for j < n, and their sum in row_sum's order: the exponentials and their
    sum in one pass (each z[j] added to its partial sum as it is made), the same bits as the two passes.
    The exp is ``mathf.EXP[MATH]``: the library's polynomial or the vendor's core."""
    acc: T[SUM_LANES] = 0.0
    for j0 in range(n // SUM_LANES, name="sum_groups"):
        for l in range(SUM_LANES, name="sum_lanes"):
            e: T = mathf.EXP[MATH](x[j0 * SUM_LANES + l] * scale - m)
            z[j0 * SUM_LANES + l] = e
            acc[l] += e
    base: int32 = (n // SUM_LANES) * SUM_LANES
    for l2 in range(n - base, name="sum_tail"):
        e2: T = mathf.EXP[MATH](x[base + l2] * scale - m)
        z[base + l2] = e2
        acc[l2] += e2
    return lane_total(acc)


@dsl.template("T", "D", check=checks.float_row)
def square_sum(x: "T[D]", z: "T[D]", mean: "T") -> "T":
    """z[j] = x[j] - mean (the deviations, which the normalisation reuses) and the sum of their squares in
    row_sum's order, in one pass."""
    acc: T[SUM_LANES] = 0.0
    for j0 in range(D // SUM_LANES, name="sum_groups"):
        for l in range(SUM_LANES, name="sum_lanes"):
            d: T = x[j0 * SUM_LANES + l] - mean
            z[j0 * SUM_LANES + l] = d
            acc[l] += d * d
    for l2 in range(D - (D // SUM_LANES) * SUM_LANES, name="sum_tail"):
        d2: T = x[(D // SUM_LANES) * SUM_LANES + l2] - mean
        z[(D // SUM_LANES) * SUM_LANES + l2] = d2
        acc[l2] += d2 * d2
    return lane_total(acc)


@dsl.template("T", "D", check=checks.float_row)
def row_absmax(x: "T[D]", n: int32) -> "T":
    """max(|x[j]| for j < n), 0 when n <= 0. In lanes as ``row_max``: max is exact, so this is also the bits of
    one sequential max over the row (what ``np.abs(x).max()`` gives), and the lanes keep the loop at one
    element per cycle on the hardware and vectorised on the CPU."""
    acc: T[LANES] = 0.0
    for j0 in range(n // LANES, name="absmax_groups"):
        for l in range(LANES, name="absmax_lanes"):
            acc[l] = max(acc[l], abs(x[j0 * LANES + l]))
    base: int32 = (n // LANES) * LANES
    for l2 in range(n - base, name="absmax_tail"):
        acc[l2] = max(acc[l2], abs(x[base + l2]))
    return lane_max(acc)


def _lanes_ref(x, n, init, combine, lanes=LANES):
    """Lane accumulation of rows of ``x`` (shape [R, D]) over their first ``n`` columns (``n``: int or [R])."""
    x = np.asarray(x, dtype=F)
    rows, d = x.shape
    n = np.broadcast_to(np.asarray(n), (rows,))
    groups = -(-d // lanes)
    padded = np.full((rows, groups * lanes), F(init), dtype=F)
    padded[:, :d] = x
    padded[np.arange(groups * lanes)[None, :] >= n[:, None]] = F(init)
    padded = padded.reshape(rows, groups, lanes)
    acc = np.full((rows, lanes), F(init), dtype=F)
    for g in range(groups):
        acc = combine(acc, padded[:, g, :])
    return acc


def row_sum_ref(x, n):
    """Row sums of ``x`` [R, D] over the first ``n`` columns, in the kernel's order (adding 0.0 for a masked
    element changes nothing: a lane that starts at +0.0 never becomes -0.0)."""
    a = _lanes_ref(x, n, 0.0, np.add, SUM_LANES)
    h = a[:, :16] + a[:, 16:]
    q = h[:, :8] + h[:, 8:]
    return ((q[:, 0] + q[:, 1]) + (q[:, 2] + q[:, 3])) + ((q[:, 4] + q[:, 5]) + (q[:, 6] + q[:, 7]))


def row_max_ref(x, n, scale=1.0):
    a = _lanes_ref(np.asarray(x, dtype=F) * F(scale), n, NEG_MAX, np.maximum)
    return np.maximum(np.maximum(np.maximum(a[:, 0], a[:, 1]), np.maximum(a[:, 2], a[:, 3])),
                      np.maximum(np.maximum(a[:, 4], a[:, 5]), np.maximum(a[:, 6], a[:, 7])))


# -- softmax --------------------------------------------------------------------------------------------
@dsl.template("T", "D", check=checks.float_row)
def softmax_row(x: "T[D]", z: "T[D]", n: int32, scale: "T"):
    """z = softmax(x * scale) over the first n entries (the causal mask keeps n = past + i + 1 of row i);
    z[j] = 0 for j >= n. With scale = 1 the scaling is exact, so this is also the plain softmax."""
    m: T = row_max[T, D](x, n, scale)
    s: T = exp_sum[T, D, mathf.LIBRARY](x, z, n, scale, m)
    for j2 in range(n, name="normalize"):
        z[j2] = z[j2] / s
    for j3 in range(n, D, name="masked"):
        z[j3] = 0.0


@dsl.template("T", "D", "MATH", check=_math_row)
def softmax_exp_row(x: "T[D]", z: "T[D]", n: int32, scale: "T") -> "T":
    """``softmax_row`` before its division: z[j] = exp(x[j] * scale - max) for j < n, 0 beyond, and the
    sum it divides by (a streaming unit divides z[j] by it, j < n, as the row leaves: the same bits with
    MATH = mathf.LIBRARY)."""
    m: T = row_max[T, D](x, n, scale)
    s: T = exp_sum[T, D, MATH](x, z, n, scale, m)
    for j3 in range(n, D, name="masked"):
        z[j3] = 0.0
    return s


def softmax_rows_ref(x, n=None, scale=1.0, math=mathf.LIBRARY):
    """softmax_row applied to every row of ``x`` [R, D]; ``n`` per row (int or [R]), default D; ``math``:
    whose exp (``mathf.VENDOR``: the C library's, as csim computes it)."""
    x = np.asarray(x, dtype=F)
    rows, d = x.shape
    n = np.broadcast_to(np.asarray(d if n is None else n), (rows,))
    keep = np.arange(d)[None, :] < n[:, None]
    m = row_max_ref(x, n, scale)
    exp_ref = mathf.exp_ref if math == mathf.LIBRARY else mathf.vendor_exp_ref
    e = np.where(keep, exp_ref(x * F(scale) - m[:, None]), F(0.0))
    s = row_sum_ref(e, n)
    return np.where(keep, e / s[:, None], F(0.0))


@dsl.template("T", "D", check=checks.float_row)
def log_softmax_row(x: "T[D]", z: "T[D]"):
    """z = (x - max x) - log(sum exp(x - max x))."""
    m: T = row_max[T, D](x, D, 1.0)
    for j in range(D, name="exp"):
        z[j] = mathf.exp(x[j] - m)
    ls: T = mathf.log(row_sum[T, D](z, D))
    for j2 in range(D, name="normalize"):
        z[j2] = (x[j2] - m) - ls


def log_softmax_rows_ref(x):
    x = np.asarray(x, dtype=F)
    d = x.shape[1]
    m = row_max_ref(x, d)
    ls = mathf.log_ref(row_sum_ref(mathf.exp_ref(x - m[:, None]), d))
    return (x - m[:, None]) - ls[:, None]


# -- normalisation --------------------------------------------------------------------------------------
@dsl.template("T", "D", check=checks.float_row)
def layer_norm_row(x: "T[D]", gamma: "T[D]", beta: "T[D]", z: "T[D]", eps: "T"):
    """z = (x - mean) / sqrt(var + eps) * gamma + beta, var the biased variance (two passes, as PyTorch)."""
    mean: T = row_sum[T, D](x, D) / D
    rstd: T = 1.0 / dsl.sqrt(square_sum[T, D](x, z, mean) / D + eps)
    for j2 in range(D, name="normalize"):  # z holds x - mean
        z[j2] = (z[j2] * rstd) * gamma[j2] + beta[j2]


def layer_norm_rows_ref(x, gamma, beta, eps):
    x = np.asarray(x, dtype=F)
    d = x.shape[1]
    mean = row_sum_ref(x, d) / F(d)
    dev = x - mean[:, None]
    rstd = F(1.0) / np.sqrt(row_sum_ref(dev * dev, d) / F(d) + F(eps))
    return (dev * rstd[:, None]) * np.asarray(gamma, dtype=F) + np.asarray(beta, dtype=F)


@dsl.template("T", "D", check=checks.float_row)
def rms_norm_row(x: "T[D]", gamma: "T[D]", z: "T[D]", eps: "T"):
    """z = x / sqrt(mean(x^2) + eps) * gamma (LLaMA's RMSNorm)."""
    for j in range(D, name="square"):
        z[j] = x[j] * x[j]
    r: T = 1.0 / dsl.sqrt(row_sum[T, D](z, D) / D + eps)
    for j2 in range(D, name="normalize"):
        z[j2] = (x[j2] * r) * gamma[j2]


def rms_norm_rows_ref(x, gamma, eps):
    x = np.asarray(x, dtype=F)
    d = x.shape[1]
    r = F(1.0) / np.sqrt(row_sum_ref(x * x, d) / F(d) + F(eps))
    return (x * r[:, None]) * np.asarray(gamma, dtype=F)


# -- element-wise rows ----------------------------------------------------------------------------------
def _gelu_row_check(T, D, FORM, MATH):
    _math_row(T, D, MATH)
    if FORM not in (mathf.ERF_FORM, mathf.TANH_FORM):
        raise dsl.DSLTypeError(f"FORM = {FORM!r} must be mathf.ERF_FORM (0: the exact erf form, BERT's gelu) or "
                               "mathf.TANH_FORM (1: the tanh approximation, GPT2's gelu_new)")


@dsl.template("T", "D", "FORM", "MATH", check=_gelu_row_check)
def gelu_row(x: "T[D]", z: "T[D]"):
    """z = GeLU(x) in the form FORM (``mathf.ERF_FORM`` / ``TANH_FORM``) on the math of MATH
    (``mathf.GELU_BY_FORM``: the library's bit-exact polynomials or the vendor's erf / tanh cores)."""
    for j in range(D, name="gelu"):
        z[j] = mathf.GELU_BY_FORM[MATH][FORM](x[j])


__all__ = ["LANES", "SUM_LANES", "row_sum", "row_max", "exp_sum", "square_sum", "softmax_row", "softmax_exp_row",
           "log_softmax_row", "layer_norm_row", "rms_norm_row",
           "gelu_row", "lane_total", "lane_max", "row_sum_ref", "row_max_ref", "softmax_rows_ref",
           "log_softmax_rows_ref", "layer_norm_rows_ref", "rms_norm_rows_ref", "float32"]
