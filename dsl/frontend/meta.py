"""Compile-time control flow, resolved on the kernel's AST before it is compiled (per instance, so that type
parameters and ``get_pid()`` values are known):

* ``with dsl.meta_for(N) as p:`` repeats its body for each p, with p a constant in each copy (it may index
  arrays of streams, pick a PE's neighbour, size a slice);
* ``with dsl.meta_if(cond):`` / ``dsl.meta_elif(cond)`` / ``dsl.meta_else()`` keep the body of the first
  true branch of a chain and drop the others, so that a dropped branch is never type-checked (an edge PE of
  a systolic array does not see the streams only inner PEs use). Bodies are inlined: a ``with`` block is no
  scope in Python, and a ``return`` in the kept branch is the kernel's last statement;
* a plain ``if`` whose test is a compile-time constant (the same names, no kernel variable) keeps only the
  branch that runs.

Used by every kernel (``unit.py``) and by regions before they look for the streams a PE touches.
"""
from __future__ import annotations

import ast
import copy

from ..errors import DSLNameError, DSLSyntaxError

MAX_COPIES = 4096  # copies of a meta_for body: one per PE row or column, not a loop's worth


def meta_if(cond):
    """``with dsl.meta_if(cond):`` inside a kernel keeps its body only if ``cond`` (a compile-time
    expression of type parameters, ``get_pid()`` values, ``meta_for`` indices and module constants) holds."""
    from ..errors import StreamError

    raise StreamError("dsl.meta_if(...) can only be used as `with dsl.meta_if(cond):` inside a kernel")


def meta_elif(cond):
    """``with dsl.meta_elif(cond):`` right after a ``meta_if``/``meta_elif`` block: the next branch."""
    from ..errors import StreamError

    raise StreamError("dsl.meta_elif(...) can only be used as `with dsl.meta_elif(cond):` inside a kernel")


def meta_else():
    """``with dsl.meta_else():`` closes a ``meta_if`` chain: kept when no branch before it was."""
    from ..errors import StreamError

    raise StreamError("dsl.meta_else() can only be used as `with dsl.meta_else():` inside a kernel")


def has_meta_for(tree) -> bool:
    """Whether the AST holds anything resolved here (a ``with`` block or an ``if``)."""
    return any(isinstance(node, (ast.With, ast.If)) for node in ast.walk(tree))


def unroll_meta_for(src, body: list, penv, params=None) -> list:
    """Resolve every compile-time construct of ``body`` (see the module docstring). ``params`` are the
    kernel's argument names (default: those of ``src.tree``): like its other variables they are no
    compile-time values even when a module constant has the same name."""
    if params is None:
        params = [a.arg for a in src.tree.args.args]
    local = set(params) | _stored_names(body)
    return _Resolver(src, penv, local, frozenset(params)).block(body)


class _Resolver:
    def __init__(self, src, penv, local, bound=frozenset()):
        self.src, self.penv, self.local = src, penv, local
        self.bound = bound  # arguments and the variables of enclosing loops: no meta_for index may hide them

    def block(self, body: list) -> list:
        out, chain = [], None  # chain: None outside a meta_if chain, else "open" / "taken"
        for stmt in body:
            kind, call = self._meta_kind(stmt)
            if kind in ("meta_elif", "meta_else") and chain is None:
                raise DSLSyntaxError(f"dsl.{kind} must follow a `with dsl.meta_if(...)` or `dsl.meta_elif(...)` "
                                     "block at the same level", self.src.loc(stmt))
            if kind == "meta_if":
                keep = self._condition(call, kind)
            elif kind == "meta_elif":  # a branch after a taken one is dropped unseen
                keep = chain == "open" and self._condition(call, kind)
            if kind in ("meta_if", "meta_elif"):
                if keep:
                    out.extend(self.block(copy.deepcopy(stmt.body)))
                chain = "taken" if keep or chain == "taken" and kind == "meta_elif" else "open"
                continue
            if kind == "meta_else":
                self._no_args(call, kind)
                if chain != "taken":
                    out.extend(self.block(copy.deepcopy(stmt.body)))
                chain = None
                continue
            chain = None
            if kind == "meta_for":
                out.extend(self._meta_for(stmt, call))
            elif isinstance(stmt, ast.If):
                out.append(self._if(stmt))
            else:
                self._descend(stmt)
                out.append(stmt)
        return out or [ast.copy_location(ast.Pass(), body[0]) if body else ast.Pass()]

    # -- which construct --------------------------------------------------------------------------
    def _meta_kind(self, stmt):
        from ..dataflow.lang import meta_for

        if not (isinstance(stmt, ast.With) and len(stmt.items) == 1 and isinstance(stmt.items[0].context_expr, ast.Call)):
            return None, None
        call = stmt.items[0].context_expr
        kinds = {meta_for: "meta_for", meta_if: "meta_if", meta_elif: "meta_elif", meta_else: "meta_else"}
        try:
            fn = eval(compile(ast.Expression(call.func), "<meta>", "eval"), self.penv)  # noqa: S307
        except NameError:
            # Allo recognises these by their spelling (`allo.meta_if` works in a file that never imports
            # allo); a name that resolves to nothing can mean nothing else, so it is taken the same way
            spelled = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            fn = next((f for f, k in kinds.items() if k == spelled), None)
        except Exception:
            return None, None
        try:
            kind = kinds.get(fn)
        except TypeError:  # an unhashable object
            return None, None
        if kind not in (None, "meta_for") and stmt.items[0].optional_vars is not None:
            raise DSLSyntaxError(f"write `with dsl.{kind}(...):` without `as`", self.src.loc(stmt))
        return kind, call

    # -- meta_if ----------------------------------------------------------------------------------
    def _condition(self, call, kind) -> bool:
        if call.keywords or len(call.args) != 1:
            raise DSLSyntaxError(f"dsl.{kind} takes one condition", self.src.loc(call))
        cond = call.args[0]
        used = {n.id for n in ast.walk(cond) if isinstance(n, ast.Name)} & self.local
        if used:
            raise DSLSyntaxError(
                f"the condition of dsl.{kind} must be known at compile time, but it uses the kernel "
                f"variable(s) {', '.join(sorted(used))}", self.src.loc(cond),
                hint="use type parameters, get_pid() values, meta_for indices and module constants; "
                     "a run-time condition is a plain `if`")
        try:
            value = eval(compile(ast.Expression(cond), self.src.file, "eval"), self.penv)  # noqa: S307
        except Exception as exc:
            raise DSLSyntaxError(f"the condition of dsl.{kind} must be known at compile time: {exc}",
                                 self.src.loc(cond),
                                 hint="use type parameters, get_pid() values, meta_for indices and module "
                                      "constants") from None
        return bool(value)

    def _no_args(self, call, kind):
        if call.args or call.keywords:
            raise DSLSyntaxError(f"dsl.{kind}() takes no arguments", self.src.loc(call))

    # -- plain if with a compile-time test --------------------------------------------------------
    def _if(self, stmt):
        value = self._static(stmt.test)
        if value is None:
            self._descend(stmt)
            return stmt
        branch = stmt.body if value else stmt.orelse
        kept = self.block(branch) if branch else []
        # keep the branch under `if True:` so the frontend still gives it its own scope
        test = ast.copy_location(ast.Constant(True), stmt.test)
        return ast.copy_location(ast.If(test=test, body=kept or [ast.copy_location(ast.Pass(), stmt)], orelse=[]),
                                 stmt)

    _STATIC_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Attribute, ast.Compare, ast.BoolOp, ast.UnaryOp,
                     ast.BinOp, ast.Set, ast.Tuple, ast.List, ast.Load, ast.expr_context, ast.boolop, ast.cmpop,
                     ast.unaryop, ast.operator)

    def _static(self, test):
        """The value of ``test`` when it depends on compile-time names only, else None."""
        nodes = list(ast.walk(test))
        if not all(isinstance(n, self._STATIC_NODES) for n in nodes):
            return None
        names = {n.id for n in nodes if isinstance(n, ast.Name)}
        if names & self.local or not names <= set(self.penv):
            return None
        try:
            value = eval(compile(ast.Expression(test), "<if>", "eval"), self.penv)  # noqa: S307
        except Exception:
            return None
        if isinstance(value, bool) or (isinstance(value, int) and not hasattr(value, "shape")):
            return bool(value)
        return None

    # -- meta_for ---------------------------------------------------------------------------------
    def _meta_for(self, stmt, call):
        target = stmt.items[0].optional_vars
        if not isinstance(target, ast.Name) or call.keywords or not 1 <= len(call.args) <= 3:
            raise DSLSyntaxError("write `with dsl.meta_for(N) as p:` (or meta_for(lo, hi[, step])) with one name",
                                 self.src.loc(stmt))
        try:
            bounds = [eval(compile(ast.Expression(a), self.src.file, "eval"), self.penv) for a in call.args]  # noqa: S307
        except Exception as exc:
            raise DSLSyntaxError(f"the bounds of dsl.meta_for must be compile-time constants (module constants, "
                                 f"type parameters, get_pid() values): {exc}", self.src.loc(call)) from None
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            raise DSLSyntaxError(f"the bounds of dsl.meta_for must be ints, got {bounds}", self.src.loc(call))
        if len(bounds) == 3 and bounds[2] == 0:
            raise DSLSyntaxError("the step of dsl.meta_for must not be zero", self.src.loc(call.args[2]))
        if len(range(*bounds)) > MAX_COPIES:
            raise DSLSyntaxError(f"dsl.meta_for{tuple(bounds)} would make {len(range(*bounds))} copies of its body; "
                                 f"at most {MAX_COPIES} (it unrolls at compile time: use a loop)", self.src.loc(call))
        if target.id in self.bound:
            raise DSLNameError(f"the dsl.meta_for index '{target.id}' reuses the name of an argument or of an "
                               "enclosing loop's variable, which it would hide inside its body and not after it: "
                               "give it its own name", self.src.loc(target), hint=f"e.g. `as {target.id}2`")
        out = []
        for value in range(*bounds):
            copies = [_Substitute(self.src, target.id, value).visit(inner) for inner in copy.deepcopy(stmt.body)]
            out.extend(self.block(copies))
        return out

    def _descend(self, stmt):
        outer = self.bound
        if isinstance(stmt, ast.For):
            self.bound = outer | {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
        try:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(stmt, field, None), list) and getattr(stmt, field):
                    setattr(stmt, field, self.block(getattr(stmt, field)))
        finally:
            self.bound = outer


def _stored_names(body) -> set:
    """Names the kernel binds at run time (assignments, loop variables, nested defs)."""
    names = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
    return names


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
