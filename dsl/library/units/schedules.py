"""The schedules of the streaming units: ``schedule_units(s)`` on a design (the Schedule of a region that
uses them) schedules every unit instance in it, found by function name (a unit called twice is two
functions, ``_aw_gemm`` and ``_aw_gemm_1``, each scheduled).

What Vitis gets: the GEMMs' k loops pipelined at II=1 with the PE loops unrolled and the tiles partitioned
(Mt x Nt multiply-accumulates per cycle: the A tile by PE row, the B tile by PE column, the accumulators one
register per PE), every row buffer partitioned by the token width so that a 512-bit token is packed or
unpacked in one cycle, the weight loader reading one word per cycle (its unpacking is wiring), the memory
loops pipelined over consecutive addresses (bursts), the row kernels as ``dsl.library.schedules`` pipelines
them (lane reductions at II = LANES), and the small math functions inlined. The CPU and simulator results
never depend on these steps.
"""
from __future__ import annotations

import re

import dsl
from mlir import ir

from ...schedule import names as N
from ..rows import SUM_LANES
from ..schedules import GROUP_LANES, ROW_KERNELS, inline_math, pipeline_reduction
from ..schedules import _REDUCTIONS as REDUCTION_LOOPS

CYCLIC, COMPLETE = dsl.Partition.Cyclic, dsl.Partition.Complete


def _arg_shape(s, func, arg: str) -> list:
    fop = N.funcs(s.module)[func]
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
    return list(ir.MemRefType(fop.regions[0].blocks[0].arguments[names.index(arg)].type).shape)


def _token(s, func, stream: str) -> int:
    """Elements per token of the stream argument ``stream`` of ``func`` (a 1-D block)."""
    return _arg_shape(s, func, stream)[-1]


def _rows_by_token(s, func, stream, *buffers, dim=1):
    """Row buffers partitioned by the token width: a token is packed or unpacked in one cycle."""
    width = _token(s, func, stream)
    for buf in buffers:
        if width > 1:
            s.partition(f"{func}:{buf}", CYCLIC, dim=dim, factor=width)


def _pe_array(s, func, a, b, c, clear, drain):
    """Tiles by PE row / PE column, accumulators one register each, the k loop at II=1."""
    s.partition(f"{func}:{a}", COMPLETE, dim=2)
    s.partition(f"{func}:{b}", COMPLETE, dim=2)
    s.partition(f"{func}:{c}", COMPLETE, dim=0)
    s.pipeline(f"{func}:k")
    s.pipeline(f"{func}:clear:{clear}")  # the outer loops: every PE column at once
    s.pipeline(f"{func}:drain:{drain}")


def _aw_gemm(s, func):
    _pe_array(s, func, "At", "wb", "Ct", "i2", "i3")
    s.partition(f"{func}:wb", COMPLETE, dim=0)
    s.partition(f"{func}:Yb", COMPLETE, dim=1)
    _rows_by_token(s, func, "xs", "row")
    _rows_by_token(s, func, "ys", "Yb", dim=2)
    s.pipeline(f"{func}:transpose")


def _aw_gemm_shared(s, func):
    """``_aw_gemm``'s tiles and PE array (one for both phases), the operand muxes and the one-row phase's
    reduction of each column's Mt partial sums in one cycle (unrolled; the accumulators are registers)."""
    _pe_array(s, func, "At", "Bt", "Ct", "i2", "i4")
    for buf in ("wb", "Bt"):
        s.partition(f"{func}:{buf}", COMPLETE, dim=0)
    s.partition(f"{func}:Yb", COMPLETE, dim=1)
    _rows_by_token(s, func, "xs", "row")
    _rows_by_token(s, func, "ys", "Yb", dim=2)
    s.unroll(f"{func}:select:i5", 0)
    s.unroll(f"{func}:select:j5", 0)
    for loop in ("transpose", "split", "reduce"):
        s.pipeline(f"{func}:{loop}")
    s.unroll(f"{func}:reduce_rows", 0)


def _qk_gemm(s, func):
    _pe_array(s, func, "At", "Bt", "Ct", "i3", "i4")
    _rows_by_token(s, func, "qs", "Qb", dim=2)
    _rows_by_token(s, func, "ks", "Kb", dim=3)
    _rows_by_token(s, func, "ss", "Sb", dim=2)
    s.pipeline(f"{func}:split_q:k")
    s.pipeline(f"{func}:split_k:k2")


def _pv_gemm(s, func):
    _pe_array(s, func, "Pt", "Vt", "Ct", "i3", "i4")
    _rows_by_token(s, func, "ps", "prow")
    _rows_by_token(s, func, "vs", "Vb", dim=3)
    _rows_by_token(s, func, "outs", "Ob", dim=2)
    s.pipeline(f"{func}:transpose")
    s.pipeline(f"{func}:split_v:c")


def _unpack_words(s, func):
    s.partition(f"{func}:blk", COMPLETE, dim=0)
    s.pipeline(f"{func}:words")


def _pe_step(s, func):
    s.unroll(f"{func}:pe:i", 0)
    s.unroll(f"{func}:pe:{'jp' if 'packed' in func else 'j'}", 0)
    s.inline(func)


def _memory(stream, *loops):
    """A row's copy loops pipelined over consecutive addresses and unrolled by the token width: a token's
    elements are consecutive in memory, one 512-bit beat once Vitis widens the m_axi port (UG1399,
    automatic port widening), so a row moves a token a cycle (as far as its channel's bandwidth allows)."""
    def schedule(s, func):
        _rows_by_token(s, func, stream, "buf")
        width = _token(s, func, stream)
        for loop in loops:
            s.pipeline(f"{func}:{loop}")
            if width > 1:
                s.unroll(f"{func}:{loop}", width)
    return schedule


def _row_unit(*buffers, extra=()):
    def schedule(s, func):
        # the output row is packed by the output stream's token (an integer unit's int64 results: 8 a token
        # where its int16 / int32 input has 32 / 16), the rest by the input's
        _rows_by_token(s, func, "xs", *[b for b in buffers if b != "zb"])
        if "zb" in buffers:
            _rows_by_token(s, func, "zs", "zb")
        for loop in extra:
            s.pipeline(f"{func}:{loop}")
            if loop == "params":  # the parameter vectors a token at a time: 512-bit words once Vitis widens
                width = _token(s, func, "xs")  # the m_axi port (UG1399, automatic port widening)
                if width > 1:
                    s.unroll(f"{func}:{loop}", width)
    return schedule


# row kernels the units apply token by token (``_gelu_rows``)
TOKENWISE = ("gelu_row",)


def _row_kernel(s, func):
    if _base(func) in TOKENWISE:
        return _tokenwise_kernel(s, func)
    for loop in ROW_KERNELS[_base(func)][0]:
        s.pipeline(f"{func}:{loop}")


def _tokenwise_kernel(s, func):
    """An element-wise kernel applied to each token (CH elements): inlined into its caller's token loop, its
    element loop unrolled there (the caller's II then says how many elements a cycle share its operators)."""
    for loop in ROW_KERNELS[_base(func)][0]:
        s.unroll(f"{func}:{loop}", 0)
    s.inline(func)


# the row transfers of softmax and LayerNorm, with the passes that ride on them (rowwise): their stream
# argument (for the token width) and their lane registers (running maxima or partial sums)
TRANSFERS = {"_get_softmax": ("xs", "mx"), "_exchange_softmax": ("xs", "mx"), "_send_softmax": ("ys", None),
             "_get_sum": ("xs", "acc"), "_exchange_layer_norm": ("xs", "acc"), "_send_layer_norm": ("ys", None)}


def _transfer(s, func, lanes: int):
    """A row transfer of softmax / LayerNorm: ``lanes`` elements a cycle of the passes on it (a token every
    CH / lanes cycles; at one lane, one element a cycle), the token in registers, one register per lane
    of its reduction, set in one cycle."""
    stream, lane_regs = TRANSFERS[_base(func)]
    if "blk" in N.buffers_of(N.funcs(s.module)[func], func):
        s.partition(f"{func}:blk", COMPLETE, dim=0)
    if lane_regs is not None:
        s.partition(f"{func}:{lane_regs}", COMPLETE, dim=1)
        s.unroll(f"{func}:S_{lane_regs}_init:i0", 0)
    width = _token(s, func, stream)
    tokens = _arg_shape(s, func, "row_in")[0] // width if lane_regs == "acc" else 0  # tokens a row
    pair = lane_regs == "acc" and tokens % 2 == 0 and 2 * width == SUM_LANES
    if pair:
        # element j adds to partial sum j % 32, which alternates between the 16-element tokens: two tokens an
        # iteration make every lane's index a constant, so a lane's fadd recurrence spans one iteration of
        # 32 / lanes cycles, not two of 16 / lanes (read as one, it would hold the loop at the fadd latency)
        s.unroll(f"{func}:tokens:c", 2)
    s.pipeline(f"{func}:tokens", max(1, (2 if pair else 1) * width // lanes))


MATH_TABLES = ("mathf_exp:POW2",)  # constant tables of the inlined math functions


def _tokenwise_unit(s, func, lanes: int = 1):
    """``_gelu_rows``: one pipelined loop over the tokens; ``lanes`` elements a cycle (II = CH / lanes)."""
    s.partition(f"{func}:zb", COMPLETE, dim=0)
    s.pipeline(f"{func}:tokens", max(1, _token(s, func, "xs") // lanes))
    tables_in_registers(s)  # the erf form reads the exp table 4 times an element: more than a ROM's 2 ports


def tables_in_registers(s):
    """The math functions' constant tables completely partitioned: read by several lanes (or several exps
    of one element) in the same cycle, a table is constants in logic with as many read ports as the loop
    needs, instead of a dual-port ROM that would limit the II (UG1399 ``array_partition complete``)."""
    for table in MATH_TABLES:
        if table.split(":")[0] in N.funcs(s.module):
            s.partition(table, COMPLETE, dim=1)
    return s


def row_lanes(s, func, lanes: int):
    """``lanes`` elements a cycle in the row unit ``func``: the token loops of its row transfers at II =
    CH / lanes and each reduction's group loop at II = its partial sums / lanes (whole-row units), or its
    token loop at II = CH / lanes (token-wise units); with more than one lane the math tables in registers."""
    if _base(func) in ("_gelu_rows", "_gelu_rows_n"):
        _tokenwise_unit(s, func, lanes)
        return s
    for helper in sorted(_callees(s, func)):
        if _base(helper) in TRANSFERS:  # the first row in and the last out too: in decode (one row) they
            _transfer(s, helper, lanes)  # are the whole run
        elif _base(helper) in GROUP_LANES:  # a group of G partial sums every G / lanes cycles
            s.pipeline(f"{helper}:{REDUCTION_LOOPS[_base(helper)][0]}", max(1, GROUP_LANES[_base(helper)] // lanes))
    if lanes > 1:
        tables_in_registers(s)
    return s


def _callees(s, func) -> set:
    out = set()

    def walk(op):
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    if inner.operation.name == "func.call":
                        out.add(ir.FlatSymbolRefAttr(inner.operation.attributes["callee"]).value)
                    walk(inner.operation)

    walk(N.funcs(s.module)[func].operation)
    return out


UNIT_SCHEDULES = {
    "_aw_gemm": _aw_gemm, "_qk_gemm": _qk_gemm, "_pv_gemm": _pv_gemm, "_unpack_words": _unpack_words,
    "merge_words": lambda s, f: s.pipeline(f"{f}:words"),
    "pe_step": _pe_step, "pe_step_packed": _pe_step, "_aw_gemm_shared": _aw_gemm_shared,
    "pe_rows_step": _pe_step, "pe_rows_step_packed": _pe_step,
    "mul2": lambda s, f: s.inline(f), "mul2_at": lambda s, f: s.inline(f),
    "get_row": lambda s, f: (s.partition(f"{f}:blk", COMPLETE, dim=0), s.pipeline(f"{f}:tokens")),
    "put_row": lambda s, f: (s.partition(f"{f}:blk", COMPLETE, dim=0), s.pipeline(f"{f}:tokens")),
    "get_prefix": lambda s, f: (s.partition(f"{f}:blk", COMPLETE, dim=0), s.pipeline(f"{f}:tokens")),
    "exchange_row": lambda s, f: (s.partition(f"{f}:blk", COMPLETE, dim=0), s.pipeline(f"{f}:tokens")),
    **{name: (lambda s, f: _transfer(s, f, 1)) for name in TRANSFERS},
    "put_prefix": lambda s, f: (s.partition(f"{f}:blk", COMPLETE, dim=0), s.pipeline(f"{f}:tokens")),
    "load_rows": _memory("xs", "read"), "store_rows": _memory("ys", "write"),
    "kv_write": _memory("rows", "write"), "kv_read": _memory("rows", "read"),
    "kv_append": _memory("new", "read", "write"),
    "_softmax_rows": _row_unit("xb", "zb"), "_gelu_rows": _tokenwise_unit,
    "_int_gelu_rows": _row_unit("xb", "zb"), "_int_softmax_rows": _row_unit("xb", "zb"),
    "_int_layer_norm_rows": _row_unit("xb", "zb"),
    "_layer_norm_rows": _row_unit("xb", "zb", "g", "b", extra=("params",)),
    "_layer_norm_rows_n": _row_unit("xb", "zb", "g", "b", extra=("params",)),
    "_residual_add": _row_unit(extra=("tokens",)), "fork_rows": _row_unit(extra=("tokens",)),
    # rowcount: the same units over a run-time number of rows (the same loops, inside a ``rows`` loop)
    "load_rows_n": _memory("xs", "read"), "store_rows_n": _memory("ys", "write"),
    "merge_words_n": lambda s, f: s.pipeline(f"{f}:words"), "_gelu_rows_n": _tokenwise_unit,
    "_residual_add_n": _row_unit(extra=("tokens",)), "fork_rows_n": _row_unit(extra=("tokens",)),
    "causal_mask": lambda s, f: s.pipeline(f"{f}:rows:i"),
    "_dequantize_rows": lambda s, f: s.pipeline(f"{f}:scales"),
    **{name: _row_kernel for name in ROW_KERNELS},
    **{name: pipeline_reduction for name in ("row_sum", "row_max", "exp_sum", "square_sum")},
}


def _base(func: str) -> str:
    return re.sub(r"_\d+$", "", func)


def schedule_units(s):
    """Apply the schedule of every streaming unit (and of the library kernels they call) found in ``s``."""
    for func in list(N.funcs(s.module)):
        step = UNIT_SCHEDULES.get(_base(func))
        # a primitive may rebuild the module: look the function up afresh (an op of the old one is freed)
        fop = N.funcs(s.module).get(func)
        if step is not None and fop is not None and "dsl.kernel" not in fop.attributes:  # not a process wrapper
            step(s, func)
    return inline_math(s)
