"""Affine expressions printed as C++ index expressions.

Affine ``floordiv``/``mod``/``ceildiv`` round toward -inf; C++ ``/`` and ``%`` truncate toward zero. They agree
when the dividend is non-negative (the usual case: loop counters from 0), so the plain operators are used
when that is provable and the ``dsl_floordiv``/``dsl_mod``/``dsl_ceildiv`` helpers otherwise.
An expression any part of which can leave the 32-bit ``int`` (``(i * 2147483647) % 4``) is computed in
``int64_t``, as the CPU computes index maps in 64 bits (``index_ranges.py``).
"""
from __future__ import annotations

from mlir import ir

_ADD, _MUL, _ATOM = 1, 2, 3


class AffinePrinter:
    def __init__(self, fe, operands, n_dims: int):
        self.fe = fe
        self.operands = list(operands)
        self.n_dims = n_dims

    def text(self, expr) -> str:
        self.ctype = "int64_t" if self.fe.index_ranges.map_is_wide(expr, self.operands, self.n_dims) else "int"
        return self._print(expr.maybe_downcast())[0]

    def nonneg(self, e) -> bool:
        e = e.maybe_downcast()
        if isinstance(e, ir.AffineConstantExpr):
            return e.value >= 0
        if isinstance(e, (ir.AffineDimExpr, ir.AffineSymbolExpr)):
            return self._operand(e) in self.fe.nonneg
        if isinstance(e, ir.AffineAddExpr):
            return self.nonneg(e.lhs) and self.nonneg(e.rhs)
        if isinstance(e, (ir.AffineMulExpr, ir.AffineFloorDivExpr, ir.AffineCeilDivExpr)):
            return self.nonneg(e.lhs) and self.nonneg(e.rhs)
        return isinstance(e, ir.AffineModExpr)  # affine mod by a positive constant is in [0, c)

    def _operand(self, e):
        if isinstance(e, ir.AffineDimExpr):
            return self.operands[e.position]
        return self.operands[self.n_dims + e.position]

    def _print(self, e):
        if isinstance(e, ir.AffineConstantExpr):
            return str(e.value), (_ATOM if e.value >= 0 else _ADD)
        if isinstance(e, (ir.AffineDimExpr, ir.AffineSymbolExpr)):
            text = self.fe.expr(self._operand(e))
            return (f"(int64_t){text}", _ATOM) if self.ctype != "int" else (text, _ATOM)
        if isinstance(e, ir.AffineAddExpr):
            return self._add(e)
        if isinstance(e, ir.AffineMulExpr):
            return self._mul(e)
        return self._division(e)

    def _wrap(self, e, level):
        text, prec = self._print(e.maybe_downcast())
        return f"({text})" if prec < level else text

    def _add(self, e):
        lhs = self._wrap(e.lhs, _ADD)
        rhs = e.rhs.maybe_downcast()
        if isinstance(rhs, ir.AffineConstantExpr) and rhs.value < 0:
            return f"{lhs} - {-rhs.value}", _ADD
        if isinstance(rhs, ir.AffineMulExpr):
            factor = rhs.rhs.maybe_downcast()
            if isinstance(factor, ir.AffineConstantExpr) and factor.value < 0:
                scaled = self._wrap(rhs.lhs, _MUL)
                tail = scaled if factor.value == -1 else f"{scaled} * {-factor.value}"
                return f"{lhs} - {tail}", _ADD
        return f"{lhs} + {self._wrap(rhs, _ADD + 1)}", _ADD

    def _mul(self, e):
        factor = e.rhs.maybe_downcast()
        if isinstance(factor, ir.AffineConstantExpr) and factor.value == -1:
            return f"-{self._wrap(e.lhs, _ATOM)}", _ADD
        return f"{self._wrap(e.lhs, _MUL)} * {self._wrap(factor, _MUL + 1)}", _MUL

    def _division(self, e):
        lhs, rhs = self._wrap(e.lhs, _MUL), self._wrap(e.rhs, _MUL + 1)
        plain = self.nonneg(e.lhs) and self.nonneg(e.rhs)
        if isinstance(e, ir.AffineModExpr):
            return (f"{lhs} % {rhs}", _MUL) if plain else self._helper("mod", e)
        if isinstance(e, ir.AffineFloorDivExpr):
            return (f"{lhs} / {rhs}", _MUL) if plain else self._helper("floordiv", e)
        if plain:
            return f"({self._wrap(e.lhs, _ADD)} + {rhs} - 1) / {rhs}", _MUL
        return self._helper("ceildiv", e)

    def _helper(self, name, e):
        self.fe.need(name)
        ctype = self.ctype
        text = f"dsl_{name}<{ctype}>({self._print(e.lhs.maybe_downcast())[0]}, {self._print(e.rhs.maybe_downcast())[0]})"
        return text, _ATOM


def map_results(fe, amap, operands) -> list:
    printer = AffinePrinter(fe, operands, amap.n_dims)
    return [printer.text(e) for e in amap.results]


def map_ctype(fe, amap, operands) -> str:
    wide = any(fe.index_ranges.map_is_wide(e, operands, amap.n_dims) for e in amap.results)
    return "int64_t" if wide else "int"


def map_nonneg(fe, amap, operands) -> bool:
    printer = AffinePrinter(fe, operands, amap.n_dims)
    return all(printer.nonneg(e) for e in amap.results)
