"""HLS directives written in a loop header, as Allo allows: ``dsl.grid(10, 20, pipeline=True)``.

``pipeline=`` and ``unroll=`` of ``range``/``grid``/``reduction`` record the same attributes as
``s.pipeline(loop, ii)`` and ``s.unroll(loop, factor)`` (``dsl.pipeline_ii``, ``dsl.unroll``), so the HLS
backend and the estimates see no difference; the CPU result is unchanged. Allo's meaning, kept:

- one value applies to the innermost loop of the header; a list gives one value per loop, outermost first;
- ``pipeline=True`` is II 1, ``pipeline=n`` is II n; ``unroll=True`` unrolls fully, ``unroll=n`` by n;
- ``False`` and ``0`` leave a loop without the directive (``unroll=[0, 4]`` unrolls only the inner loop),
  unlike ``s.unroll(loop, 0)``, which unrolls fully.
"""
from __future__ import annotations

import inspect

from mlir import ir

from ..errors import DSLSyntaxError, DSLTypeError

# keyword -> (IR attribute, the value True stands for)
KEYWORDS = {"pipeline": ("dsl.pipeline_ii", 1), "unroll": ("dsl.unroll", 0)}


def parse(fe, call, kind: str, count: int) -> list:
    """Per loop of the header (outermost first), the attributes its directives add."""
    per_loop = [{} for _ in range(count)]
    for kw in call.keywords:
        if kw.arg not in KEYWORDS:
            continue
        value = fe._python_arg(kw.value)
        values = list(value) if isinstance(value, (list, tuple)) else [False] * (count - 1) + [value]
        if len(values) > count:
            raise DSLTypeError(f"{kw.arg}= of {kind}() gives {len(values)} values for {count} loop(s)",
                               fe.loc(kw.value), hint=f"one value per loop variable, outermost first")
        attr, true_value = KEYWORDS[kw.arg]
        for level, v in enumerate(values):
            number = _directive(v, kw.arg, kind, fe.loc(kw.value))
            if number is not None:
                per_loop[level][attr] = ir.IntegerAttr.get(ir.IntegerType.get_signless(32),
                                                           true_value if v is True else number)
    return per_loop


def _directive(v, keyword: str, kind: str, loc):
    """The number a value stands for, or None for no directive."""
    if v is False or v is None or (isinstance(v, int) and not isinstance(v, bool) and v == 0):
        return None
    if v is True:
        return 1
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    what = "an initiation interval" if keyword == "pipeline" else "an unroll factor"
    raise DSLTypeError(f"{keyword}= of {kind}() takes True, False or {what} (a positive int), or a list of "
                       f"those, one per loop; got {v!r}", loc)


_LOOP_BODIES = {"affine.for": 0, "scf.for": 0, "scf.while": 1}  # loop op -> the region that is its body


def tripcount_statement(fe, call):
    """``dsl.loop_tripcount(max, min=0, avg=None)`` in a loop's body: ``dsl.tripcount = [min, max, avg]`` on
    that loop, as ``s.tripcount`` records it (see ``dsl/backend/hls/tripcounts.py``)."""
    from . import lang
    from .values import PyObject

    block = ir.InsertionPoint.current.block
    loop = block.owner
    if loop is None or loop.name not in _LOOP_BODIES or block != loop.regions[_LOOP_BODIES[loop.name]].blocks[0]:
        raise DSLSyntaxError("dsl.loop_tripcount() belongs directly in the body of a for or while loop (as the "
                             "pragma does in C++)", fe.loc(call))
    if "dsl.tripcount" in loop.attributes:
        raise DSLSyntaxError("this loop's trip count is given twice", fe.loc(call))
    try:
        bound = inspect.signature(lang.loop_tripcount).bind(*[fe._python_arg(a) for a in call.args],
                                                            **{k.arg: fe._python_arg(k.value) for k in call.keywords})
    except TypeError as e:
        raise DSLTypeError(f"dsl.loop_tripcount(): {e}", fe.loc(call), hint="loop_tripcount(max, min=0, avg=None)")
    bound.apply_defaults()
    low, high, avg = bound.arguments["min"], bound.arguments["max"], bound.arguments["avg"]
    avg = (low + high) // 2 if avg is None and _is_count(low) and _is_count(high) else avg
    if not all(_is_count(v) for v in (low, high, avg)) or not low <= avg <= high:
        raise DSLTypeError(f"dsl.loop_tripcount() takes counts with 0 <= min <= avg <= max < 2**31, got "
                           f"min={low!r}, max={high!r}, avg={avg!r}", fe.loc(call))
    i32 = ir.IntegerType.get_signless(32)
    loop.attributes["dsl.tripcount"] = ir.ArrayAttr.get([ir.IntegerAttr.get(i32, v) for v in (low, high, avg)])
    return PyObject(None)


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 31
