"""HLS pragmas from the directives a schedule recorded as discardable attributes (see IR.md)."""
from __future__ import annotations

from mlir import ir

LOOP_PRAGMAS = []  # filled below: functions (attrs) -> pragma text or None


def _pipeline(attrs):
    if "dsl.pipeline_ii" not in attrs:
        return None
    ii = ir.IntegerAttr(attrs["dsl.pipeline_ii"]).value
    return f"pipeline II={ii}" + (" rewind" if "dsl.rewind" in attrs else "")


def _unroll(attrs):
    if "dsl.unroll" not in attrs:
        return None
    factor = ir.IntegerAttr(attrs["dsl.unroll"]).value
    return "unroll" if factor == 0 else f"unroll factor={factor}"


def _dataflow(attrs):
    return "dataflow" if "dsl.dataflow" in attrs else None


LOOP_PRAGMAS.extend([_pipeline, _unroll, _dataflow])
FUNC_PRAGMAS = [_dataflow, lambda attrs: "inline" if "dsl.inline" in attrs else None]


def loop_pragmas(fe, op):
    from . import quality, tripcounts

    texts = [text for text in (rule(op.attributes) for rule in LOOP_PRAGMAS) if text]
    loop = op.operation
    if not texts and quality.in_region_kernel(fe.func) and quality.is_innermost(loop):
        texts.append("pipeline II=1")  # a PE takes a token per cycle (quality.py)
    tripcount = tripcounts.tripcount_pragma(loop)
    for text in texts + ([tripcount] if tripcount else []):
        fe.pragma(text)
    if "dsl.pipeline_ii" in op.attributes and ir.IntegerAttr(op.attributes["dsl.pipeline_ii"]).value == 1:
        _warn_float_recurrence(fe, loop)  # asked for II=1


def while_pragmas(fe, op):
    """A ``while`` loop's only pragma: the trip count the user gave (``tripcounts.py``)."""
    from . import tripcounts

    text = tripcounts.tripcount_pragma(op.operation)
    if text:
        fe.pragma(text)


def _warn_float_recurrence(fe, loop):
    import os
    import warnings

    from . import quality
    from .emitter import source_loc

    found = quality.float_recurrence(loop)
    if found is None:
        return
    what, op = found
    name = ir.StringAttr(loop.attributes["loop_name"]).value if "loop_name" in loop.attributes else "a loop"
    here, there = source_loc(loop), source_loc(op)
    where = f" ({os.path.basename(here.file)}:{here.line})" if here else ""
    line = f" at line {there.line}" if there else ""
    message = (f"loop '{name}'{where} is pipelined at II=1, but each iteration adds into {what}{line} that the "
               "next iteration reads: a floating-point add takes several cycles, so Vitis cannot start an "
               "iteration every cycle and schedules a larger II (HLS 200-880). Pipeline a loop that does not "
               "carry the sum (reorder so the reduction loop is inside it), keep partial sums, or accumulate "
               "in fixed point")
    fe.raw(f"// II=1 is not reachable here: a float accumulation into {what} is carried from one iteration "
           "to the next")
    warnings.warn(quality.HLSQualityWarning(message), stacklevel=2)


def function_pragmas(fe, func):
    for rule in FUNC_PRAGMAS:
        text = rule(func.attributes)
        if text:
            fe.pragma(text)


def partition_pragmas(fe, variable: str, attrs):
    """``dsl.partition = [["cyclic", dim, factor], ...]`` -> array_partition (dim 1-based, 0 = all)."""
    if attrs is None or "dsl.partition" not in attrs:
        return
    for entry in ir.ArrayAttr(attrs["dsl.partition"]):
        items = list(ir.ArrayAttr(entry))
        kind = ir.StringAttr(items[0]).value
        dim = ir.IntegerAttr(items[1]).value if len(items) > 1 else 0
        factor = ir.IntegerAttr(items[2]).value if len(items) > 2 else 0
        text = f"array_partition variable={variable} type={kind}"
        if kind != "complete" and factor:
            text += f" factor={factor}"
        fe.pragma(f"{text} dim={dim}")


def partition_from_arg(fe, param):
    partition_pragmas(fe, param.name, param.attrs)


def storage_pragmas(fe, variable: str, attrs):
    """``dsl.bind_storage = "ram_2p"`` or ``["ram_2p", "bram"]`` (type, impl), and stream depths."""
    if "dsl.bind_storage" in attrs:
        attr = attrs["dsl.bind_storage"]
        items = ([ir.StringAttr(a).value for a in ir.ArrayAttr(attr)] if isinstance(attr, ir.ArrayAttr)
                 else [ir.StringAttr(attr).value])
        impl = f" impl={items[1]}" if len(items) > 1 else ""
        fe.pragma(f"bind_storage variable={variable} type={items[0]}{impl}")
    if "dsl.stream_depth" in attrs:
        fe.pragma(f"stream variable={variable} depth={ir.IntegerAttr(attrs['dsl.stream_depth']).value}")
