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

from mlir import ir

from ..errors import DSLTypeError

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
