"""``with dsl.meta_for(N) as p:``: a loop unrolled while the kernel is parsed, so that ``p`` is a compile-time
constant in each copy of the body (it may index arrays of streams, pick a PE's neighbour, size a slice).
Used by every kernel, and by regions before they look for the streams a PE touches."""
from __future__ import annotations

import ast
import copy

from ..errors import DSLNameError, DSLSyntaxError

MAX_COPIES = 4096  # copies of a meta_for body: one per PE row or column, not a loop's worth


def has_meta_for(tree) -> bool:
    return any(isinstance(node, ast.With) for node in ast.walk(tree))


def unroll_meta_for(src, body: list, penv, bound: frozenset | None = None) -> list:
    """Expand ``with dsl.meta_for(...) as p:`` (nested ones too, outer first so that inner bounds may use
    p): one copy of the body per value of p, with p replaced by that constant. ``p`` may not reuse the name
    of an argument or of an enclosing loop's variable (``bound``), as a loop variable may not."""
    if bound is None:
        bound = frozenset(a.arg for a in src.tree.args.args)
    out = []
    for stmt in body:
        bounds = _meta_for_bounds(src, stmt, penv)
        if bounds is None:
            inner = bound | _loop_targets(stmt)
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(stmt, field, None), list) and getattr(stmt, field):
                    setattr(stmt, field, unroll_meta_for(src, getattr(stmt, field), penv, inner))
            out.append(stmt)
            continue
        target = stmt.items[0].optional_vars
        if target.id in bound:
            raise DSLNameError(f"the dsl.meta_for index '{target.id}' reuses the name of an argument or of an "
                               "enclosing loop's variable, which it would hide inside its body and not after it: "
                               "give it its own name", src.loc(target), hint=f"e.g. `as {target.id}2`")
        for value in range(*bounds):
            copies = [_Substitute(src, target.id, value).visit(inner) for inner in copy.deepcopy(stmt.body)]
            out.extend(unroll_meta_for(src, copies, penv, bound))
    return out or [ast.Pass()]


def _loop_targets(stmt) -> frozenset:
    if not isinstance(stmt, ast.For):
        return frozenset()
    return frozenset(n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name))


def _meta_for_bounds(src, stmt, penv):
    from ..dataflow.lang import meta_for

    if not (isinstance(stmt, ast.With) and len(stmt.items) == 1 and isinstance(stmt.items[0].context_expr, ast.Call)):
        return None
    call = stmt.items[0].context_expr
    try:
        is_meta = eval(compile(ast.Expression(call.func), "<meta_for>", "eval"), penv) is meta_for  # noqa: S307
    except Exception:
        return None
    if not is_meta:
        return None
    target = stmt.items[0].optional_vars
    if not isinstance(target, ast.Name) or call.keywords or not 1 <= len(call.args) <= 3:
        raise DSLSyntaxError("write `with dsl.meta_for(N) as p:` (or meta_for(lo, hi[, step])) with one name",
                             src.loc(stmt))
    try:
        bounds = [eval(compile(ast.Expression(a), src.file, "eval"), penv) for a in call.args]  # noqa: S307
    except Exception as exc:
        raise DSLSyntaxError(f"the bounds of dsl.meta_for must be compile-time constants (module constants, "
                             f"type parameters, get_pid() values): {exc}", src.loc(call)) from None
    if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
        raise DSLSyntaxError(f"the bounds of dsl.meta_for must be ints, got {bounds}", src.loc(call))
    if len(bounds) == 3 and bounds[2] == 0:
        raise DSLSyntaxError("the step of dsl.meta_for must not be zero", src.loc(call.args[2]))
    if len(range(*bounds)) > MAX_COPIES:
        raise DSLSyntaxError(f"dsl.meta_for{tuple(bounds)} would make {len(range(*bounds))} copies of its body; at "
                             f"most {MAX_COPIES} (it unrolls at compile time: use a loop)", src.loc(call))
    return bounds


class _Substitute(ast.NodeTransformer):
    """Replace reads of one name by a constant; writing it is an error (it is a compile-time value)."""

    def __init__(self, src, name, value):
        self.src, self.name, self.value = src, name, value

    def visit_Name(self, node):
        if node.id != self.name:
            return node
        if not isinstance(node.ctx, ast.Load):
            raise DSLSyntaxError(f"'{self.name}' is a dsl.meta_for index: it cannot be assigned",
                                 self.src.loc(node))
        return ast.copy_location(ast.Constant(self.value), node)
