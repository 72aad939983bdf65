"""Helpers the library's schedule functions are made of, and the YAML copies under ``schedules/library/``.

A schedule function takes the Schedule of its kernel (``dsl.customize(nn.softmax, instantiate=[...])``),
applies recorded primitives and returns it; ``s.save(...)`` writes the same steps as YAML and ``compose``
replays them inside a caller: ``s.compose(library.scheduled(nn.softmax, [float32, L, D]))``.

What the steps give Vitis: every innermost loop pipelined at II=1 (lane reductions one element a cycle: a
row sum's group of SUM_LANES at II=SUM_LANES, a running max's group of LANES at II=LANES), the combination
of the partial sums in one pipelined fold of 8 (three adders, not 24), the lanes' initial values set at once
(the init loop unrolled: constants into registers), small scalar functions inlined, and every
top-level array read and written by sequential pipelined loops, so that the m_axi adapter bursts.

``python -m dsl.library schedules`` rewrites ``schedules/library/*.yaml`` from the functions (at each
kernel's BERT-base instantiation in ``registry``); ``tests/test_library_schedules.py`` checks that they agree.
"""
from __future__ import annotations

import os

from .rows import LANES, SUM_LANES

# reduction helpers of the row kernels: group loop (pipelined, lanes unrolled), tail loop, partial sums per group
_SUM_LOOPS = ("sum_groups", "sum_lanes", "sum_tail")
_REDUCTIONS = {"row_sum": _SUM_LOOPS, "exp_sum": _SUM_LOOPS, "square_sum": _SUM_LOOPS,
               "row_max": ("max_groups", "max_lanes", "max_tail"),
               "row_absmax": ("absmax_groups", "absmax_lanes", "absmax_tail")}
GROUP_LANES = {"row_sum": SUM_LANES, "exp_sum": SUM_LANES, "square_sum": SUM_LANES, "row_max": LANES,
               "row_absmax": LANES}
# the element-wise loops of each row kernel and the reductions it calls
ROW_KERNELS = {
    "softmax_row": (("normalize", "masked"), ("row_max", "exp_sum")),
    "softmax_exp_row": (("masked",), ("row_max", "exp_sum")),
    "log_softmax_row": (("exp", "normalize"), ("row_max", "row_sum")),
    "layer_norm_row": (("normalize",), ("row_sum", "square_sum")),
    "rms_norm_row": (("square", "normalize"), ("row_sum",)),
    "gelu_row": (("gelu",), ()),
    # the integer-only rows (intops): integer recurrences close in one cycle, all II=1; the square root's
    # Newton steps (through a divider) stay sequential
    "int_gelu_row": (("gelu",), ()),
    "int_softmax_row": (("max", "exp", "normalize"), ()),
    "int_layer_norm_row": (("sum", "square", "normalize"), ()),
}


def functions(s) -> list:
    from ..schedule import names as N

    return list(N.funcs(s.module))


def inline_math(s):
    """Inline the scalar functions of ``mathf`` (a few float operations each) and the lane combination into
    their callers."""
    for name in functions(s):
        if name.startswith("mathf_") or name in ("lane_total", "lane_max"):
            s.inline(name)
    return s


def pipeline_row_kernel(s, row_kernel: str, tensor_kernel: str | None = None):
    """The row load/store loops of ``tensor_kernel`` (default: the top) and everything in ``row_kernel``."""
    prefix = "" if tensor_kernel in (None, s.top) else f"{tensor_kernel}:"
    for band in ("params", "load", "store") if row_kernel in ("layer_norm_row", "rms_norm_row") else ("load", "store"):
        s.pipeline(prefix + band)
    loops, reductions = ROW_KERNELS[row_kernel]
    for loop in loops:
        s.pipeline(f"{row_kernel}:{loop}")
    for helper in reductions:
        pipeline_reduction(s, helper)
    return inline_math(s)


def pipeline_reduction(s, helper: str):
    import dsl

    import re

    # a helper called from two kernels is two functions (row_sum, row_sum_1): same loops, same steps
    base = re.sub(r"_\d+$", "", helper)
    groups, lanes, tail = _REDUCTIONS[base]
    s.partition(f"{helper}:acc", dsl.Partition.Complete, dim=1)   # one register per lane
    s.unroll(f"{helper}:{lanes}", 0)
    s.unroll(f"{helper}:S_acc_init:i0", 0)                        # the lanes' initial values: one cycle
    s.pipeline(f"{helper}:{groups}", GROUP_LANES[base])           # one element a cycle
    s.pipeline(f"{helper}:{tail}")
    return s


def pipeline_loops(s, func: str, bands):
    """Pipeline the named bands of ``func`` (``func`` may be the top)."""
    prefix = "" if func == s.top else f"{func}:"
    for band in bands:
        s.pipeline(f"{prefix}{band}")
    return s


FLOAT_ACCUMULATE_II = 4   # a float adder's latency at 250-300 MHz: a float accumulation issues every 4 cycles


def schedule_tiles(s, owner: str):
    """The PE array in ``owner`` (the function declaring the At, Bt, Ct tiles): At partitioned by PE row, Bt by
    PE column, Ct completely (one register per PE); each tile's k loop pipelined (II=1 for integers, the
    float adder's latency for floats, whose accumulation is a recurrence) with the PE loops unrolled and
    the PE step and DSP packing inlined into it."""
    import dsl

    prefix = "" if owner == s.top else f"{owner}:"
    s.partition(f"{prefix}At", dsl.Partition.Complete, dim=2)
    s.partition(f"{prefix}Bt", dsl.Partition.Complete, dim=2)
    s.partition(f"{prefix}Ct", dsl.Partition.Complete, dim=0)
    for func in functions(s):
        if func.startswith("tile"):
            s.pipeline(f"{func}:clear:i")
            s.pipeline(f"{func}:k", FLOAT_ACCUMULATE_II if _accumulates_floats(s, func) else 1)
        inline_pe_step(s, func)
    return s


def inline_pe_step(s, func: str) -> None:
    """A PE step (and its DSP packing, ``mul2``) fully unrolled over the array and inlined into its caller's k
    loop; any other function is left alone."""
    if func.startswith("pe_step"):
        s.unroll(f"{func}:pe:i", 0)
        s.unroll(f"{func}:pe:{'jp' if 'packed' in func else 'j'}", 0)
        s.inline(func)
    if func.startswith("mul2"):
        s.inline(func)


def _accumulates_floats(s, func: str) -> bool:
    from ..schedule import names as N

    with s.context:
        types = N.funcs(s.module)[func].attributes["dsl.arg_types"]
        return "float" in str(types)


def pipeline_all(s):
    """Element-wise kernels: pipeline the innermost loop of every band of the top (Vitis flattens the
    perfect nest above it), inline the math functions."""
    for band, loops in s.get_loops().items():
        if band:
            s.pipeline(list(loops.values())[-1])
    return inline_math(s)


def scheduled(kernel, instantiate, schedule_fn=None):
    """The kernel's Schedule with its predefined schedule applied: what ``s.compose`` takes."""
    import dsl

    from . import registry

    s = dsl.customize(kernel, instantiate=list(instantiate))
    (schedule_fn or registry.schedule_of(kernel))(s)
    return s


def yaml_path(name: str, root: str | None = None) -> str:
    root = root or os.path.join(os.path.dirname(__file__), "..", "..", "schedules", "library")
    return os.path.normpath(os.path.join(root, f"{name}.yaml"))


def write_all(root: str | None = None) -> list:
    """Write ``schedules/library/<kernel>.yaml`` for every kernel of the registry (BERT-base sizes)."""
    from . import registry

    written = []
    for entry in registry.KERNELS:
        s = scheduled(entry.kernel, entry.bert_base)
        written.append(s.save(yaml_path(entry.name, root)))
    return written
