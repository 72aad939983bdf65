"""Loops and control flow: ``for`` over range/grid/reduction, ``while``, ``if``/``elif``/``else``.

Loops are ``affine.for`` when their bounds are affine in outer loop variables and index symbols, otherwise
``scf.for``. Each loop carries ``loop_name``; the outermost loop of a band carries ``op_name`` (IR.md).
"""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import affine, arith, scf

from ..errors import DSLError, DSLNameError, DSLSyntaxError, DSLTypeError
from . import builder, lang, loop_directives
from .access import AffineBuilder, affine_expr
from .values import Literal, LoopVar, PyObject

_ITERATORS = {range: "range", lang.grid: "grid", lang.reduction: "reduction"}


class LoopMixin:
    # -- for ---------------------------------------------------------------------------------------
    def visit_For(self, node):
        if node.orelse:
            raise DSLSyntaxError("'for ... else' is not supported in kernels", self.loc(node))
        kind, args, name = self._iterator(node)
        names = self._target_names(node.target, kind, len(args) if kind != "range" else 1)
        self._check_fresh_loop_vars(node.target)
        inner = node in getattr(self, "_inner_band_loops", set())
        band = None if inner and name is None else (name or self._band_name(node))
        if kind == "range":
            specs = [self._range_spec(args, node)]
        else:
            specs = [(Literal(0), a, 1) for a in args]
        directives = loop_directives.parse(self, node.iter, kind, len(names))
        self._emit_nest(names, specs, band, kind == "reduction", node.body, directives)

    def _iterator(self, node):
        it = node.iter
        if not isinstance(it, ast.Call):
            raise DSLSyntaxError("a kernel loop must iterate over range(...), dsl.grid(...) or dsl.reduction(...)",
                                 self.loc(it))
        callee = self.expr(it.func)
        kind = _ITERATORS.get(callee.obj) if isinstance(callee, PyObject) else None
        if kind is None:
            raise DSLSyntaxError(f"cannot iterate over '{ast.unparse(it.func)}' in a kernel: use range, "
                                 "dsl.grid or dsl.reduction", self.loc(it))
        name = None
        for kw in it.keywords:
            if kw.arg in loop_directives.KEYWORDS:  # pipeline=, unroll=: read by visit_For
                continue
            if kw.arg != "name":
                raise DSLSyntaxError(f"{kind}() takes only the keywords name=, pipeline= and unroll=", self.loc(kw))
            name = self._python_arg(kw.value)
            if not isinstance(name, str):
                raise DSLTypeError(f"name= of {kind}() must be a string, got {name!r}", self.loc(kw.value))
        if not it.args or (kind == "range" and len(it.args) > 3):
            raise DSLSyntaxError(f"{kind}() takes {'1 to 3' if kind == 'range' else 'at least 1'} argument(s)",
                                 self.loc(it))
        return kind, it.args, name

    def _target_names(self, target, kind, count):
        elts = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(e, ast.Name) for e in elts):
            raise DSLSyntaxError("loop variables must be plain names", self.loc(target))
        if len(elts) != count:
            raise DSLSyntaxError(f"{kind}() with {count} extent(s) needs {count} loop variable(s), "
                                 f"got {len(elts)}", self.loc(target))
        return [e.id for e in elts]

    def _check_fresh_loop_vars(self, target):
        """A loop variable may not reuse a name already bound in the kernel: Python would overwrite the outer
        variable for the rest of its scope, while a hardware loop nest keeps both (Allo refuses it too)."""
        for elt in target.elts if isinstance(target, ast.Tuple) else [target]:
            bound = next((scope[elt.id] for scope in reversed(self.scopes) if elt.id in scope), None)
            if bound is None:
                continue
            what = "the variable of an enclosing loop" if isinstance(bound, LoopVar) else "a variable of the kernel"
            raise DSLNameError(f"loop variable '{elt.id}' is already {what}: Python would overwrite that '{elt.id}' "
                               "for the rest of its scope; give this loop its own variable", self.loc(elt),
                               hint=f"e.g. `for {elt.id}2 in ...`")

    def _band_name(self, node):
        """``S_<vars>_<n>`` over this loop and the loops perfectly nested in it."""
        names, cur = [], node
        while True:
            tgt = cur.target
            names += [e.id for e in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt]) if isinstance(e, ast.Name)]
            body = [s for s in cur.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.For) and not _has_name_kw(body[0]):
                cur = body[0]
                if not hasattr(self, "_inner_band_loops"):
                    self._inner_band_loops = set()
                self._inner_band_loops.add(cur)
                continue
            break
        self.band_counter += 1
        return f"S_{'_'.join(names)}_{self.band_counter - 1}"

    def _range_spec(self, args, node):
        if len(args) == 1:
            return (Literal(0), args[0], 1)
        step = 1
        if len(args) == 3:
            step = self.static_int(args[2])
            if step is None:  # known at run time only (dynamic_step.py)
                from .dynamic_step import DynamicStep

                return (args[0], args[1], DynamicStep(args[2]))
            if step == 0:
                raise DSLTypeError("range() step must not be zero", self.loc(args[2]))
        return (args[0], args[1], step)

    def _emit_nest(self, names, specs, band, reduction, body, directives=None):
        def emit(level):
            if level == len(names):
                self.visit_body(body)
                return
            lo, hi, step = specs[level]
            attrs = {"loop_name": ir.StringAttr.get(names[level])}
            if level == 0 and band is not None:
                attrs["op_name"] = ir.StringAttr.get(band)
            if reduction:
                attrs["dsl.reduction"] = ir.UnitAttr.get()
            attrs.update(directives[level] if directives else {})
            self._emit_loop(names[level], lo, hi, step, attrs, lambda: emit(level + 1))

        emit(0)

    def _emit_loop(self, name, lo, hi, step, attrs, body_fn):
        """One loop: affine when possible; its body is built by ``body_fn`` in a new scope."""
        from . import dynamic_step

        if isinstance(step, dynamic_step.DynamicStep):
            return dynamic_step.emit(self, name, lo, hi, step, attrs, body_fn)
        ab = AffineBuilder()
        lo_e = self._affine_bound(lo, ab)
        lo_ops = list(ab.operands)
        ab_hi = AffineBuilder()
        hi_e = self._affine_bound(hi, ab_hi)
        if lo_e is not None and hi_e is not None and step > 0:
            loop = affine.AffineForOp(ab.map([lo_e]), ab_hi.map([hi_e]), step,
                                      lower_bound_operands=lo_ops, upper_bound_operands=ab_hi.operands)
            iv, affine_iv, terminator = loop.induction_variable, True, affine.AffineYieldOp
        else:
            loop, iv = self._scf_loop(lo, hi, step)
            affine_iv, terminator = False, scf.YieldOp
        for key, value in attrs.items():
            loop.attributes[key] = value
        with ir.InsertionPoint(loop.body):
            self.scopes.append({name: LoopVar(iv, affine_iv, name)})
            try:
                if not affine_iv and step < 0:
                    self._bind_descending(name, lo, step, iv)
                body_fn()
            finally:
                self.pop_scope("loop")
            terminator([])
        return loop

    def _affine_bound(self, bound, ab):
        if isinstance(bound, Literal):
            return ir.AffineConstantExpr.get(int(bound.value))
        value = self.static_int(bound)
        if value is not None:
            try:
                builder.check_extent(value, "a loop bound")
            except DSLError as exc:
                raise exc.at(self.loc(bound))
        return affine_expr(self, bound, ab)

    def _bound_value(self, bound):
        if isinstance(bound, Literal):
            return builder.index_const(int(bound.value))
        return self.as_index(self.expr(bound), bound)

    def _scf_loop(self, lo, hi, step):
        lo_v, hi_v = self._bound_value(lo), self._bound_value(hi)
        if step > 0:
            loop = scf.ForOp(lo_v, hi_v, builder.index_const(step))
            return loop, loop.induction_variable
        # descending range(lo, hi, -s): count k = 0 .. ceil((lo - hi) / s) and use i = lo - k*s
        span = arith.subi(lo_v, hi_v)
        trips = arith.ceildivsi(span, builder.index_const(-step))
        trips = arith.maxsi(trips, builder.index_const(0))
        loop = scf.ForOp(builder.index_const(0), trips, builder.index_const(1))
        self._descending_start = lo_v
        return loop, loop.induction_variable

    def _bind_descending(self, name, lo, step, k):
        i = arith.addi(self._descending_start, arith.muli(k, builder.index_const(step)))
        self.scopes[-1][name] = LoopVar(i, False, name)

    def static_nest(self, names, extents, body, band, reductions=()):
        """A constant-bound loop nest (for tensor-level ops); ``body(ivs)`` builds the innermost body."""
        ivs = []

        def emit(level):
            if level == len(names):
                body(ivs)
                return
            attrs = {"loop_name": ir.StringAttr.get(names[level])}
            if level == 0:
                attrs["op_name"] = ir.StringAttr.get(band)
            if level in reductions:
                attrs["dsl.reduction"] = ir.UnitAttr.get()
            loop = affine.AffineForOp(0, int(extents[level]), 1)
            for key, value in attrs.items():
                loop.attributes[key] = value
            with ir.InsertionPoint(loop.body):
                ivs.append(loop.induction_variable)
                emit(level + 1)
                affine.AffineYieldOp([])

        emit(0)

    # -- while / if --------------------------------------------------------------------------------
    def visit_While(self, node):
        if node.orelse:
            raise DSLSyntaxError("'while ... else' is not supported in kernels", self.loc(node))
        loop = scf.WhileOp([], [])
        before = loop.before.blocks.append()
        after = loop.after.blocks.append()
        with ir.InsertionPoint(before):
            cond = self.expr(node.test)
            scf.ConditionOp(self.as_bool(cond, node.test), [])
        with ir.InsertionPoint(after):
            self.scopes.append({})
            try:
                self.visit_body(node.body)
            finally:
                self.pop_scope("while loop")
            scf.YieldOp([])

    def visit_If(self, node):
        cond = self.expr(node.test)
        if isinstance(cond, Literal):  # decided at compile time (sizes, type parameters)
            self.scopes.append({})
            try:
                self.visit_body(node.body if cond.value else node.orelse)
            finally:
                self.pop_scope("if statement")
            return
        if_op = scf.IfOp(self.as_bool(cond, node.test), [], has_else=bool(node.orelse))
        branches = [(if_op.then_block, node.body)]
        if node.orelse:
            branches.append((if_op.else_block, node.orelse))
        for block, stmts in branches:
            with ir.InsertionPoint(block):
                self.scopes.append({})
                try:
                    self.visit_body(stmts)
                finally:
                    self.pop_scope("if statement")
                scf.YieldOp([])


def _has_name_kw(for_node):
    it = for_node.iter
    return isinstance(it, ast.Call) and any(kw.arg == "name" for kw in it.keywords)
