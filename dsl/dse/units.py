"""The operators the exploration estimates: the streaming units of ``dsl.library.units``, one process each,
with their own schedules (``schedule_units``) and the configuration the paper's kernels have, set through the
same schedule primitives (``paper_steps``):

- ``aw_gemm`` (a linear operator's PE array): the Mt rows of activations are turned into the A tile one 512-bit
  token a cycle (the transpose loop unrolled by the token width, the tile partitioned to match), and every PE
  clears and drains its accumulator in the same cycle (the clear and drain nests fully unrolled), as the
  paper's PEs hold their accumulators locally; the k loop runs at II=1.
- ``qk_gemm``: a key row of the head into the B tile per cycle (the tile in registers); ``pv_gemm``: a row of
  probabilities into the A tile a token a cycle (as ``aw_gemm``'s activations).
- row units (softmax, LayerNorm, GeLU): ``lanes`` elements a cycle in every pass (``row_lanes``: the row
  transfers' token loops at II = 16 / lanes, a sum's 32 partial sums at II = 32 / lanes, GeLU's token loop at
  II = 16 / lanes). The sums keep the library's order, so the results are the library's bits.
  ``row_lanes_for`` picks the fewest lanes that keep pace with a producer's row rate
  (``producer_row_cycles``), as ``models.validate`` does for the kernel rows.
- ``quantize_rows``: its per-element loop pipelined with the rounding inlined (the unit has no schedule of its
  own).

``paper_schedule(s)`` applies the same configuration to every unit instance of a whole design (the layers of
``models.design``, estimated by ``models.validate``): ``schedule_units`` first, then these steps per instance,
the quantiser / dequantiser of ``models.units`` with their row buffers by token and element loops pipelined,
and its attention probabilities with LANES elements a cycle in every pass (dequantisation, max, exp with its
sum, fold, and the quantised row leaving while the next comes in) where Q·Kᵀ sends it tiles of several query
rows, one in decode on the paper's 8 columns (``probs_lanes``: the lanes follow Q·Kᵀ's rate per key).

``build(kind, *params)`` returns the scheduled unit; ``KINDS`` says, per kind, which argument positions are
input and output streams and which are off-chip arrays (``evaluate`` gives those their memories).
"""
from __future__ import annotations

from dataclasses import dataclass

import dsl
from dsl import float32, int4, int8, int32

from ..library.mathf import VENDOR
from ..library.units import gemm, memory, quantize, rowwise, schedule_units
from ..library.units.schedules import row_lanes
from ..library.units.tokens import WORD

WEIGHT_TYPES = {4: int4, 8: int8}
ONE_LANE_CYCLES_PER_KEY = 5  # the attention-probability unit's five passes over a row, one lane
LANES = 8  # elements a cycle in the row units (running maxima keep 8 lanes, sums 32 = 8 x the fadd latency)
CYCLIC = dsl.Partition.Cyclic


@dataclass(frozen=True)
class Kind:
    kernel: object
    ins: tuple          # argument positions of input streams
    outs: tuple         # argument positions of output streams
    arrays: tuple = ()  # argument positions of off-chip (m_axi) arrays


KINDS = {
    "weights": Kind(memory.load_weights, (), (1,), (0,)),
    "linear": Kind(gemm.aw_gemm, (0, 1), (2,)),
    "qk": Kind(gemm.qk_gemm, (0, 1), (2,)),
    "pv": Kind(gemm.pv_gemm, (0, 1), (2,)),
    "mask": Kind(rowwise.causal_mask, (), (0,)),
    "softmax": Kind(rowwise.softmax_rows, (0, 1), (2,)),
    "layer_norm": Kind(rowwise.layer_norm_rows, (0,), (3,), (1, 2)),
    "gelu": Kind(rowwise.gelu_rows, (0,), (1,)),
    "gelu_tanh": Kind(rowwise.gelu_tanh_rows, (0,), (1,)),
    # the row units on the vendor's exp / erf / tanh cores (MATH = mathf.VENDOR): same streams, same params
    "softmax_vendor": Kind(rowwise.softmax_rows_math, (0, 1), (2,)),
    "gelu_vendor": Kind(rowwise.gelu_rows_math, (0,), (1,)),
    "gelu_tanh_vendor": Kind(rowwise.gelu_tanh_rows_math, (0,), (1,)),
    "residual": Kind(rowwise.residual_add, (0, 1), (2,)),
    "fork": Kind(rowwise.fork_rows, (0,), (1, 2)),
    "quantize": Kind(quantize.quantize_rows, (0,), (1, 2)),
    "dequantize": Kind(quantize.dequantize_rows, (0, 1), (3,), (2,)),
    "load_rows": Kind(memory.load_rows, (), (1,), (0,)),
    "store_rows": Kind(memory.store_rows, (0,), (), (1,)),
    "kv_write": Kind(memory.kv_write, (0,), (), (1,)),
    "kv_append": Kind(memory.kv_append, (0,), (2,), (1,)),
}


VENDOR_KINDS = {"softmax_vendor": "softmax", "gelu_vendor": "gelu", "gelu_tanh_vendor": "gelu_tanh"}
ROW_KINDS = ("softmax", "layer_norm", "gelu", "gelu_tanh", *VENDOR_KINDS)


def instantiation(kind: str, params: tuple) -> list:
    """The unit's template arguments for ``params`` (plain numbers, so that jobs pickle)."""
    if kind in VENDOR_KINDS:
        return [*instantiation(VENDOR_KINDS[kind], params), VENDOR]
    if kind == "weights":
        bits, N, K, Nt, passes = params
        return [WEIGHT_TYPES[bits], N, K, Nt, passes]
    if kind == "linear":
        bits, M, K, N, Mt, Nt, pack = params
        return [int8, WEIGHT_TYPES[bits], int32, M, K, N, Mt, Nt, pack]
    if kind in ("qk", "pv"):
        H, LQ, LK, D, Mq, Nk = params
        return [int8, int32, H, LQ, LK, D, Mq, Nk, 1]
    if kind == "mask":
        LQ, LK, H, Mq = params
        return [LQ, LK, H, Mq, 1]
    if kind in ("softmax", "layer_norm", "gelu", "gelu_tanh", "residual", "fork"):
        R, D = params[:2]
        return [float32, R, D]
    if kind == "quantize":
        R, D = params
        return [float32, int8, R, D]
    if kind == "dequantize":
        R, D = params
        return [int32, float32, R, D]
    if kind in ("load_rows", "store_rows"):
        bits, L, D = params
        return [{8: int8, 32: float32}[bits], L, D]
    if kind in ("kv_write", "kv_append"):
        LMAX, D, LN = params
        return [int8, LMAX, D, LN]
    raise KeyError(kind)


def lanes_of(kind: str, params: tuple) -> int:
    return params[2] if kind in ROW_KINDS and len(params) > 2 else 1


def build(kind: str, *params):
    """The scheduled unit of one operator: ``build("linear", 4, 512, 768, 3072, 8, 32, 1)``."""
    s = dsl.customize(KINDS[kind].kernel, instantiate=instantiation(kind, params))
    schedule_units(s)
    paper_steps(s, kind, params)
    return s


# -- the paper's configuration, through schedule primitives ----------------------------------------------
def paper_steps(s, kind: str, params: tuple):
    step = PAPER_STEPS.get(kind)
    if step is not None:
        step(s, params)
    return s


def _func(s, prefix: str) -> str:
    from ..schedule import names as N

    return next(f for f in N.funcs(s.module) if f == prefix or f.startswith(prefix + "_"))


def _aw_gemm(s, params):
    f = _func(s, "_aw_gemm")
    token = WORD // 8  # int8 activations per token
    K = params[2]
    width = min(K, token)
    s.partition(f"{f}:At", CYCLIC, dim=1, factor=width)
    s.unroll(f"{f}:transpose:k", width)
    _pe_local(s, f, ("clear:i2", "clear:j2", "drain:i3", "drain:j3"))


def _qk_gemm(s, params):
    """A key row of the head (DH int8) into the B tile per cycle: the tile in registers."""
    f = _func(s, "_qk_gemm")
    H, LQ, LK, D, Mq, Nk = params
    s.partition(f"{f}:Bt", dsl.Partition.Complete, dim=0)
    s.unroll(f"{f}:split_k:k2", D // H)
    _pe_local(s, f, ("clear:i3", "clear:j3", "drain:i4", "drain:j4"))


def _pv_gemm(s, params):
    """A row of probabilities into the A tile a token a cycle (as ``aw_gemm``'s activations)."""
    f = _func(s, "_pv_gemm")
    H, LQ, LK, D, Mq, Nk = params
    width = min(LK, WORD // 8)
    s.partition(f"{f}:Pt", CYCLIC, dim=1, factor=width)
    s.unroll(f"{f}:transpose:j2", width)
    s.pipeline(f"{f}:split_v:j3")  # a row of the V block (Nk channels) per cycle, not one element
    _pe_local(s, f, ("clear:i3", "clear:c3", "drain:i4", "drain:c4"))


def _pe_local(s, f, loops):
    """Every PE clears and drains its accumulator in the same cycle (the nests fully unrolled)."""
    for loop in loops:
        s.unroll(f"{f}:{loop}", 0)


ROW_UNITS = {"softmax": "_softmax_rows", "layer_norm": "_layer_norm_rows", "gelu": "_gelu_rows",
             "gelu_tanh": "_gelu_rows"}  # the unit's process function
REDUCTION_GROUPS = {"row_sum": "sum_groups:j0", "row_max": "max_groups:j0", "exp_sum": "sum_groups:j0",
                    "square_sum": "sum_groups:j0"}


def _row_lanes(kind):
    def steps(s, params):
        row_lanes(s, _func(s, ROW_UNITS[kind]), lanes_of(kind, params))
    return steps


def _quantize(s, params):
    s.pipeline(f"{_func(s, 'quantize_per_token')}:quantize:j2")
    s.inline(_func(s, "round_clamp"))


PAPER_STEPS = {"linear": _aw_gemm, "qk": _qk_gemm, "pv": _pv_gemm,
               "softmax": _row_lanes("softmax"), "layer_norm": _row_lanes("layer_norm"),
               "gelu": _row_lanes("gelu"), "gelu_tanh": _row_lanes("gelu_tanh"), "quantize": _quantize,
               **{kind: _row_lanes(base) for kind, base in VENDOR_KINDS.items()}}


# -- the same configuration on every instance of a whole design (``models.design`` layers) ----------------
def _token_of(s, func: str, stream: str) -> int:
    from ..library.units.schedules import _token

    return _token(s, func, stream)


def _aw_instance(s, f):
    width = _token_of(s, f, "xs")
    s.partition(f"{f}:At", CYCLIC, dim=1, factor=width)
    s.unroll(f"{f}:transpose:k", width)
    _pe_local(s, f, ("clear:i2", "clear:j2", "drain:i3", "drain:j3"))


def _aw_shared_instance(s, f):
    """``_aw_instance`` for the shared array: a token of a row a cycle into the tile (prefill) or into the
    row's k groups (decode)."""
    width = _token_of(s, f, "xs")
    s.partition(f"{f}:At", CYCLIC, dim=1, factor=width)
    s.unroll(f"{f}:transpose:k1", width)
    # every PE clears, drains (prefill) or adds its column's partial sums (decode) in the same cycle
    _pe_local(s, f, ("clear:i2", "clear:j2", "drain:i4", "drain:j4", "reduce:j3", "reduce_rows:i3"))
    mt = _mt_of(s, f)
    s.unroll(f"{f}:split:i0", 0)
    if width // mt > 1:
        s.unroll(f"{f}:split:g0", width // mt)


def _mt_of(s, f) -> int:
    """The PE rows of an ``_aw_gemm_shared`` instance: the k steps of its weight word (``ws``'s token is
    TyW[Mt, Nt])."""
    from mlir import ir

    from ..schedule import names as N

    fop = N.funcs(s.module)[f]
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
    return ir.MemRefType(fop.regions[0].blocks[0].arguments[names.index("ws")].type).shape[-2]


def _qk_instance(s, f):
    s.partition(f"{f}:Bt", dsl.Partition.Complete, dim=0)
    s.unroll(f"{f}:split_k:k2", 0)  # the head's DH channels of a key row in one cycle
    _pe_local(s, f, ("clear:i3", "clear:j3", "drain:i4", "drain:j4"))


def _pv_instance(s, f):
    width = _token_of(s, f, "ps")
    s.partition(f"{f}:Pt", CYCLIC, dim=1, factor=width)
    s.unroll(f"{f}:transpose:j2", width)
    s.pipeline(f"{f}:split_v:j3")
    _pe_local(s, f, ("clear:i3", "clear:c3", "drain:i4", "drain:c4"))


def _row_instance(s, f):
    row_lanes(s, f, LANES)


def _reduction_instance(s, f):
    s.pipeline(f"{f}:{REDUCTION_GROUPS[_base(f)]}", 1)


def _smooth_quantize_instance(s, f):
    """The quantiser of ``models``: row buffers by token, its element loops pipelined, the rounding inlined."""
    from ..library.units.schedules import _rows_by_token

    _rows_by_token(s, f, "xs", "xb")
    _rows_by_token(s, f, "qs", "qb")
    s.partition(f"{f}:smv", CYCLIC, dim=1, factor=LANES)  # LANES smoothing factors a cycle
    s.pipeline(f"{f}:smooth:j2")
    s.pipeline(f"{f}:quantize:j3")
    for loop in ("smooth:j2", "quantize:j3"):  # LANES elements a cycle, as in the row units
        s.unroll(f"{f}:{loop}", LANES)
    s.pipeline(f"{f}:absmax:g")  # a group of 8 lanes a cycle (the lanes in registers: schedule_model_units)
    s.unroll(f"{f}:params:j", LANES)  # LANES parameters a cycle: one widened m_axi beat (UG1399)


def _smooth_quantize_n_instance(s, f):
    """``models.dual_units``' quantiser: its token loop pipelined at LANES elements a cycle (a token's
    smoothing and max; the factors read LANES a cycle), the quantisation LANES elements a cycle, as the
    fixed-R unit's passes."""
    from ..library.units.schedules import _rows_by_token, _token

    _rows_by_token(s, f, "xs", "xb")
    _rows_by_token(s, f, "qs", "qb")
    width = _token(s, f, "xs")
    s.partition(f"{f}:smv", CYCLIC, dim=1, factor=min(width, LANES))
    s.pipeline(f"{f}:smooth:t", max(1, width // LANES))  # LANES divisions a cycle, as the fixed-R unit's
    s.pipeline(f"{f}:quantize:j3")
    s.unroll(f"{f}:quantize:j3", LANES)


def _dequantize_bias_instance(s, f):
    from ..library.units.schedules import _rows_by_token

    _rows_by_token(s, f, "accs", "ab")
    _rows_by_token(s, f, "ys", "yb")
    for buffer in ("sw", "bias"):  # LANES reads a cycle of the per-column parameters
        s.partition(f"{f}:{buffer}", CYCLIC, dim=1, factor=LANES)
    s.pipeline(f"{f}:dequantize:j2")
    s.unroll(f"{f}:dequantize:j2", LANES)
    s.unroll(f"{f}:params:j", LANES)  # LANES scales and biases a cycle: a widened m_axi beat each (UG1399)




def probs_lanes(s, f) -> int:
    """Elements a cycle of the attention-probability unit ``f``: LANES where its producer makes a score row's
    keys faster than one lane takes them, else 1. The rule is the producer's rate: Q·Kᵀ's Mq x Nk array
    makes Mq rows of n scores every n·DH / Nk cycles, DH / (Mq·Nk) cycles a key of a row; one lane takes
    ONE_LANE_CYCLES_PER_KEY (five passes: dequantise, max, exp with its sum, fold, quantise). The paper's 8 x 8
    arrays (prefill, encoder: 1 cycle a key) take the lanes (BERT-base: 3,252 cycles a row at one lane, 555
    at eight); one query row per head on 8 columns (decode, 1 x 8: 8 cycles a key) comes slower than one lane
    takes it (GPT2-medium decode: the unit ends 21 cycles after ``qk_gemm_n`` with one lane or eight), on
    16 or more columns faster. Without a Q·Kᵀ in the module, Mq alone decides (the 8 columns assumed)."""
    from ..schedule import names as N

    mq = N.buffers_of(N.funcs(s.module)[f], f)["sq"].shape[0]
    rates = []
    for name, fop in N.funcs(s.module).items():
        if _base(name) == "_qk_gemm":
            dh, nk = N.buffers_of(fop, name)["Bt"].shape
            rates.append(dh / (mq * nk))
    per_key = min(rates) if rates else 8 / mq
    return LANES if per_key < ONE_LANE_CYCLES_PER_KEY else 1


def _attention_probs_instance(s, f):
    """``models.units``' attention probabilities, ``probs_lanes`` elements a cycle in every pass, applied
    the way ``row_lanes`` gives the row units theirs: with LANES, the score row buffers by the ss token (16
    int32: LANES reads and writes a cycle), the K/V scales by LANES, the dequantisation unrolled by LANES,
    the reductions as the row units' (``_reduction_instance``), the exp table in registers; with one lane
    the reductions keep ``schedule_units``' one element a cycle. The fold and the quantising exchange: below."""
    from ..library.units.schedules import _callees, _rows_by_token, tables_in_registers

    lanes = probs_lanes(s, f)
    s.pipeline(f"{f}:dequantize:j2")
    if lanes > 1:
        _rows_by_token(s, f, "ss", "acc", "x", "z")
        for buffer in ("sk", "sv"):
            s.partition(f"{f}:{buffer}", CYCLIC, dim=1, factor=lanes)
        s.unroll(f"{f}:dequantize:j2", lanes)
        tables_in_registers(s)
    for helper in sorted(_callees(s, f)):
        step = PROBS_HELPERS.get(_base(helper))
        if step is not None:
            step(s, helper, lanes)
        elif lanes > 1 and _base(helper) in REDUCTION_GROUPS:
            _reduction_instance(s, helper)


def _fold_probs_instance(s, f, lanes):
    s.partition(f"{f}:lane", dsl.Partition.Complete, dim=0)  # one register per lane
    s.pipeline(f"{f}:fold_groups:g", LANES // lanes)  # a group of LANES every LANES / lanes cycles


def _exchange_probs_instance(s, f, lanes):
    """A probability token of CP int8 every CP / lanes cycles (lanes divisions and roundings a cycle), the
    next row's int32 tokens of the same elements taken in the same iteration."""
    s.partition(f"{f}:blk", dsl.Partition.Complete, dim=0)
    s.pipeline(f"{f}:tokens:c", max(1, _token_of(s, f, "ps") // lanes))


PROBS_HELPERS = {"_fold_probs": _fold_probs_instance, "_exchange_probs": _exchange_probs_instance}


INSTANCE_STEPS = {"_aw_gemm": _aw_instance, "_aw_gemm_shared": _aw_shared_instance, "_qk_gemm": _qk_instance, "_pv_gemm": _pv_instance,
                  "_softmax_rows": _row_instance, "_layer_norm_rows": _row_instance, "_gelu_rows": _row_instance,
                  "row_sum": _reduction_instance, "row_max": _reduction_instance,
                  "exp_sum": _reduction_instance, "square_sum": _reduction_instance,
                  "_smooth_quantize_rows": _smooth_quantize_instance,
                  "_dequantize_bias_rows": _dequantize_bias_instance,
                  "_attention_probs": _attention_probs_instance,
                  # the same units over a run-time number of rows (rowcount, models.dual_units): same loops
                  "_smooth_quantize_rows_n": _smooth_quantize_n_instance,
                  "_dequantize_bias_rows_n": _dequantize_bias_instance,
                  "_layer_norm_rows_n": _row_instance, "_gelu_rows_n": _row_instance}


def _base(func: str) -> str:
    import re

    return re.sub(r"_\d+$", "", func)


def paper_schedule(s):
    """``schedule_units`` and then the paper's configuration on every instance of the units in ``s``."""
    from ..schedule import names as N

    from ..library.units.schedules import _callees

    schedule_units(s)
    owned = set()  # the attention units' helpers: scheduled by their unit, at its lanes
    for func in list(N.funcs(s.module)):
        if _base(func) == "_attention_probs":
            owned |= _callees(s, func)
    for func in list(N.funcs(s.module)):
        step = INSTANCE_STEPS.get(_base(func))
        fop = N.funcs(s.module).get(func)
        if step is not None and fop is not None and "dsl.kernel" not in fop.attributes and func not in owned:
            step(s, func)
    for func in list(N.funcs(s.module)):
        if _base(func) == "round_clamp":
            s.inline(func)
    return s  # each weight block keeps schedule_units' complete partition (the schedule layer no longer
    # lets another caller of the shared pe_step_packed cut it to one dimension)


# -- how many lanes a row unit needs ----------------------------------------------------------------------
LANE_CHOICES = (1, 2, 4, 8, 16)  # up to a whole 512-bit token of float32 a cycle


def producer_row_cycles(K: int, N: int, macs_per_cycle: int) -> float:
    """Cycles a GEMM spends per output row of N elements (K * N MACs at ``macs_per_cycle``): the row rate
    the row unit after it must keep so as not to slow the dataflow down."""
    return K * N / macs_per_cycle


def row_lanes_for(kind: str, R: int, D: int, cycles_per_row: float, clock: float = 300.0) -> int:
    """The fewest lanes (``LANE_CHOICES``) at which the row unit ``kind`` over R rows of D takes at most
    ``cycles_per_row`` cycles a row (its estimated interval / R): the lanes its producer's row rate needs,
    so that the unit spends no DSP on a throughput the design cannot use (the widest choice when none
    keeps up)."""
    for lanes in LANE_CHOICES:
        params = (R, D, lanes)
        r = dsl.estimate(build(kind, *params), clock_mhz=clock, tripcount=row_tripcount(kind, params, None) or None)
        if r.interval / R <= cycles_per_row:
            return lanes
    return LANE_CHOICES[-1]


def row_tripcount(kind: str, params: tuple, kept: int | None) -> dict:
    """Loops whose bounds come from a stream (softmax's kept row length): Vitis's ``loop_tripcount`` for
    the mean row ``kept`` long (the whole row when None)."""
    if VENDOR_KINDS.get(kind, kind) != "softmax":
        return {}
    R, D = params[:2]
    n = D if kept is None else kept
    from ..library.rows import SUM_LANES

    return {"exp_sum:sum_groups:j0": n // SUM_LANES, "exp_sum:sum_tail:l2": n % SUM_LANES}


__all__ = ["KINDS", "build", "instantiation", "paper_schedule", "paper_steps", "row_tripcount", "row_lanes_for",
           "producer_row_cycles"]
