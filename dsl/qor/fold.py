"""Integer constants a function's loop bounds depend on, from the constant scalars its caller passes.

``nn.softmax`` calls ``rows.softmax_row(x, z, D, 1.0)``, whose loops run ``n // LANES`` and ``n`` times: the
hardware of that call runs D elements, and the estimate of the call must know it. ``fold(func, env)`` adds
to ``env`` (value id -> int) every integer op result of ``func`` computable from ``env`` and the function's
constants, outside the loop variables (those the loop walks bind later).
"""
from __future__ import annotations

from .model import If, Loop, Op


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


FOLD = {
    "arith.addi": lambda a, b: a + b,
    "arith.subi": lambda a, b: a - b,
    "arith.muli": lambda a, b: a * b,
    "arith.divsi": lambda a, b: _c_div(a, b) if b else None,
    "arith.divui": lambda a, b: a // b if b else None,
    "arith.floordivsi": lambda a, b: a // b if b else None,
    "arith.ceildivsi": lambda a, b: -(-a // b) if b else None,
    "arith.ceildivui": lambda a, b: -(-a // b) if b else None,
    "arith.remsi": lambda a, b: a - b * _c_div(a, b) if b else None,
    "arith.remui": lambda a, b: a % b if b else None,
    "arith.minsi": min, "arith.minui": min, "arith.maxsi": max, "arith.maxui": max,
}
CASTS = ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.trunci", "inline.result")


def fold(func, env: dict) -> dict:
    """``env`` extended in place with the foldable integer values of ``func`` (also returned)."""
    def value(v):
        if v in env:
            return env[v]
        c = func.constants.get(v)
        return c if isinstance(c, int) and not isinstance(c, bool) else None

    scalars: dict = {}  # rank-0 local buffer -> the value stored in it (straight-line code only)

    def walk(items, top):
        for item in items:
            access = item.info.get("access") if isinstance(item, Op) else None
            if access is not None and not access.index and access.memref in func.buffers and not access.stream:
                if access.kind == "store":
                    stored = value(item.operands[0])
                    if top and stored is not None:
                        scalars[access.memref] = stored
                    else:
                        scalars.pop(access.memref, None)
                elif access.memref in scalars and top:
                    env[item.results[0]] = scalars[access.memref]
                continue
            if isinstance(item, Op) and item.results:
                args = [value(v) for v in item.operands]
                if any(a is None for a in args):
                    continue
                if item.name in CASTS and len(args) == 1:
                    env[item.results[0]] = args[0]
                elif item.name in FOLD and len(args) == 2:
                    out = FOLD[item.name](*args)
                    if out is not None:
                        env[item.results[0]] = out
            elif isinstance(item, Loop):
                walk(item.body, False)
            elif isinstance(item, If):
                walk(item.then, False)
                walk(item.other, False)

    walk(func.body, True)
    return env


def call_values(call, func, env: dict) -> tuple:
    """The integer value of each operand of ``call`` known in the caller (None where not known)."""
    out = []
    for v in call.operands:
        c = env.get(v, func.constants.get(v))
        out.append(c if isinstance(c, int) and not isinstance(c, bool) else None)
    return tuple(out)
