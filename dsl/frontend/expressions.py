"""Expressions: names, literals, operators, subscripts and bit access, with the typing rules applied."""
from __future__ import annotations

import ast
import operator

from mlir import ir
from mlir.dialects import arith, math, scf

from ..errors import DSLSyntaxError, DSLTypeError, ShapeError
from ..types import DSLType, Index, Int, TensorType, UInt, int32
from . import access, bitops, builder, index_ranges, structs, typing_rules
from .calls import CallMixin
from .subscripts import SubscriptMixin
from .tensor_ops import TensorOpsMixin
from .values import Literal, LoopVar, PyObject, Scalar, Tensor, TupleValue, Variable, compile_time, describe

_PY_BINOPS = {
    "Add": operator.add, "Sub": operator.sub, "Mult": operator.mul, "Div": operator.truediv,
    "FloorDiv": operator.floordiv, "Mod": operator.mod, "Pow": operator.pow, "LShift": operator.lshift,
    "RShift": operator.rshift, "BitOr": operator.or_, "BitAnd": operator.and_, "BitXor": operator.xor,
}
_DIVISIONS = ("Div", "FloorDiv", "Mod")
MAX_INT_EXPONENT = 16  # x ** n on integers and fixed point: n - 1 multiplications, each widening
_PY_CMP = {"Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
           "GtE": operator.ge}
_PY_UNARY = {"USub": operator.neg, "UAdd": operator.pos, "Not": operator.not_, "Invert": operator.invert}


class ExpressionMixin(CallMixin, TensorOpsMixin, SubscriptMixin):
    def expr(self, node):
        return self.visit(node)

    # -- leaves ------------------------------------------------------------------------------------
    def visit_Constant(self, node):
        if isinstance(node.value, (bool, int, float)):
            return Literal(node.value)
        if isinstance(node.value, str):
            return PyObject(node.value)
        raise DSLSyntaxError(f"unsupported constant {node.value!r}", self.loc(node))

    def visit_Name(self, node):
        return self.read_name(node)

    def read_name(self, node):
        bound = self.lookup(node.id, node)
        if isinstance(bound, Variable):
            return Scalar(access.load_var(bound.ref, bound.dtype), bound.dtype)
        if isinstance(bound, LoopVar):
            return Scalar(bound.value, Index())
        return bound

    def visit_Attribute(self, node):
        base = self.expr(node.value)
        if isinstance(base, Tensor) and node.attr in ("shape", "dtype"):
            return PyObject(getattr(base.ttype, node.attr))
        if isinstance(base, structs.StructValue):  # p.x
            return structs.read_attribute(self, base, node.attr, node)
        if isinstance(base, Scalar) and node.attr in bitops.FLOAT_FIELDS:  # f.exponent (bitops.py)
            return bitops.float_field(self, base, node.attr, node)
        if isinstance(base, Tensor) and node.attr == "T":  # numpy's .T: all axes reversed
            from .named_ops import transpose

            return transpose(self, base, None, node)
        if isinstance(base, PyObject):
            if not hasattr(base.obj, node.attr):
                raise DSLSyntaxError(f"'{ast.unparse(node.value)}' has no attribute '{node.attr}'", self.loc(node))
            return self.python_value(getattr(base.obj, node.attr), node.attr)
        raise DSLSyntaxError(f"attribute '{node.attr}' is not supported here", self.loc(node))

    def visit_Dict(self, node):  # a struct value (structs.py)
        return structs.dict_literal(self, node)

    def visit_Tuple(self, node):
        return TupleValue([self.expr(e) for e in node.elts])

    visit_List = visit_Tuple

    # -- typing helpers ----------------------------------------------------------------------------
    def literal_dtype(self, lit: Literal, other: DSLType | None = None) -> DSLType:
        return typing_rules.literal_type(lit.value, other)

    def dtype_of(self, v, other=None) -> DSLType:
        if isinstance(v, Scalar):
            return v.dtype
        if isinstance(v, Literal):
            return self.literal_dtype(v, other)
        raise DSLTypeError(f"expected a scalar, got {describe(v)}")

    def coerce(self, v, dtype: DSLType, node=None) -> ir.Value:
        """An ``ir.Value`` of ``dtype`` for a scalar or literal (casting as the store/typing rules say)."""
        if isinstance(v, Literal):
            return builder.constant(v.value, dtype)
        if isinstance(v, Scalar):
            return builder.cast(v.value, v.dtype, dtype)
        raise DSLTypeError(f"expected a scalar of type {dtype!r}, got {describe(v)}",
                           self.loc(node) if node is not None else None)

    def stored(self, v, dtype: DSLType, node) -> ir.Value:
        """``coerce`` for a store: an index value into an index place wraps to 32 bits, as HLS's ``int`` does."""
        value = self.coerce(v, dtype, node)
        return index_ranges.wrapped_for_store(value) if isinstance(dtype, Index) else value

    def as_index(self, v, node) -> ir.Value:
        if isinstance(v, Literal) and isinstance(v.value, int):
            return builder.index_const(builder.check_extent(v.value, "an index"))
        if isinstance(v, Scalar) and (v.dtype.is_int or isinstance(v.dtype, Index)) and not v.dtype.is_fixed:
            return access.index_value(v.value, v.dtype)
        raise DSLTypeError(f"an index must be an integer, got {describe(v)}", self.loc(node))

    def as_bool(self, v, node) -> ir.Value:
        if isinstance(v, Literal):
            return builder.constant(bool(v.value), UInt(1))
        return self.coerce(v, UInt(1), node)

    def static_int(self, node):
        """The value of ``node`` if it is a compile-time integer (literal or Python constant), else None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        try:
            value = self._static_value(node)
        except Exception:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _static_value(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            bound = self.lookup_quiet(node.id)
            return bound.value if isinstance(bound, Literal) else None
        if isinstance(node, ast.BinOp):
            a, b = self._static_value(node.left), self._static_value(node.right)
            return None if a is None or b is None else _PY_BINOPS[type(node.op).__name__](a, b)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            a = self._static_value(node.operand)
            return None if a is None else -a
        return None

    # -- operators ---------------------------------------------------------------------------------
    def visit_BinOp(self, node):
        op = type(node.op).__name__
        if op == "MatMult":
            return self.matmul(self.expr(node.left), self.expr(node.right), node)
        lhs, rhs = self.expr(node.left), self.expr(node.right)
        if isinstance(lhs, Tensor) or isinstance(rhs, Tensor):
            return self.tensor_binop(op, lhs, rhs, node)
        return self.binop(op, lhs, rhs, node)

    def binop(self, op: str, lhs, rhs, node):
        if op not in _PY_BINOPS:
            raise DSLSyntaxError(f"operator {op} is not supported", self.loc(node))
        if isinstance(lhs, Literal) and isinstance(rhs, Literal):
            return self.fold(_PY_BINOPS[op], node, lhs.value, rhs.value)  # folded with Python semantics
        for v in (lhs, rhs):
            if not isinstance(v, (Scalar, Literal)):
                raise DSLTypeError(f"operator {op} needs scalars or tensors, got {describe(v)}", self.loc(node))
        if op == "Pow":
            return self.power(lhs, rhs, node)
        if op in _DIVISIONS and isinstance(rhs, Literal) and rhs.value == 0 and not self.dtype_of(lhs).is_float:
            raise DSLTypeError(f"'{ast.unparse(node)}' divides by the constant 0: Python raises "
                               "ZeroDivisionError, the hardware leaves it undefined", self.loc(node))
        lhs, rhs = index_ranges.as_mixed(lhs, rhs)
        lt = self.dtype_of(lhs, rhs.dtype if isinstance(rhs, Scalar) else None)
        rt = self.dtype_of(rhs, lhs.dtype if isinstance(lhs, Scalar) and not (
            op in ("LShift", "RShift") and lhs.dtype.is_fixed) else None)  # a shift amount stays an integer
        if isinstance(rhs, Literal) and isinstance(rhs.value, float) and not lt.is_float and not lt.is_fixed:
            rt = typing_rules.float_literal_type(None)
        if isinstance(lhs, Literal) and isinstance(lhs.value, float) and not rt.is_float and not rt.is_fixed:
            lt = typing_rules.float_literal_type(None)
        if op in ("LShift", "RShift") and isinstance(rhs, Literal) and isinstance(rhs.value, int) and rhs.value < 0:
            raise DSLTypeError(f"negative shift count {rhs.value}", self.loc(node),
                               hint="shift the other way: x << -k is x >> k")
        result = typing_rules.binary_result_type(op, lt, rt)
        a, b = self.coerce(lhs, lt), self.coerce(rhs, rt)
        if isinstance(lt, Index) != isinstance(rt, Index):  # a loop index meeting an integer acts as int32
            a, lt = (builder.cast(a, lt, int32), int32) if isinstance(lt, Index) else (a, lt)
            b, rt = (builder.cast(b, rt, int32), int32) if isinstance(rt, Index) else (b, rt)
        return Scalar(self._emit_binop(op, a, lt, b, rt, result), result)

    def fold(self, fn, node, *values):
        """A constant expression computed with Python's semantics; Python's refusal becomes the user's error."""
        try:
            return Literal(fn(*values))
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise DSLTypeError(f"the constant expression '{ast.unparse(node)}' cannot be computed: {exc}",
                               self.loc(node)) from None

    def _emit_binop(self, op, a, lt, b, rt, result):
        if result.is_fixed or ((lt.is_fixed or rt.is_fixed) and not result.is_float):
            return self._fixed_binop(op, a, lt, b, rt, result)
        if op in ("LShift", "RShift") and not isinstance(result, Index):
            return builder.shift(op, a, lt, b, rt, result)
        if op in ("Div", "Mod", "FloorDiv") and result.is_int:
            return builder.int_divide(op, a, lt, b, rt, result)
        a, b = builder.cast(a, lt, result), builder.cast(b, rt, result)
        return builder.ARITH_TABLE[_kind(result)][op](a, b, result)

    def _fixed_binop(self, op, a, lt, b, rt, result):
        if op in ("LShift", "RShift"):  # the raw bits move; the type (and so the binary point) stays
            b = builder._resize_int(b, rt.bits, lt.bits, rt.signed)
            if op == "LShift":
                return arith.shli(a, b)
            return arith.shrsi(a, b) if lt.signed else arith.shrui(a, b)
        if op in ("Add", "Sub"):
            return builder.ARITH_TABLE["int"][op](builder.cast(a, lt, result), builder.cast(b, rt, result), result)
        if op == "Div":
            return builder.fixed_div(a, b, lt, rt, result)
        if op == "Mult":  # the raw integers widened to the result width (type rules)
            return arith.muli(builder._resize_int(a, lt.bits, result.bits, lt.signed),
                              builder._resize_int(b, rt.bits, result.bits, rt.signed))
        raise DSLTypeError(f"operator {op} is not defined on fixed point ({lt!r}, {rt!r})")

    def power(self, lhs, rhs, node):
        exponent = rhs.value if isinstance(rhs, Literal) else None
        lt = self.dtype_of(lhs)
        if isinstance(exponent, int) and not lt.is_float and 0 <= exponent <= MAX_INT_EXPONENT:
            if exponent == 0:
                return Literal(1)
            result = lhs
            for _ in range(exponent - 1):
                result = self.binop("Mult", result, lhs, node)
            return result
        if lt.is_float or (isinstance(rhs, Scalar) and rhs.dtype.is_float) or isinstance(exponent, float):
            t = lt if lt.is_float else (rhs.dtype if isinstance(rhs, Scalar) and rhs.dtype.is_float else
                                        typing_rules.float_literal_type(None))
            return Scalar(math.powf(self.coerce(lhs, t), self.coerce(rhs, t)), t)
        got = f"the exponent {exponent}" if exponent is not None else f"a run-time exponent ({describe(rhs)})"
        raise DSLTypeError(f"'{ast.unparse(node)}': a power of {lt!r} is repeated multiplication and needs a "
                           f"constant exponent in 0..{MAX_INT_EXPONENT}, got {got}", self.loc(node),
                           hint="for a negative or run-time exponent compute in float (`float(x) ** n`, as "
                                "Python gives a float for a negative one), or multiply in a loop")

    def visit_UnaryOp(self, node):
        op = type(node.op).__name__
        v = self.expr(node.operand)
        if isinstance(v, Literal):
            return self.fold(_PY_UNARY[op], node, v.value)
        if isinstance(v, Tensor):
            if op != "USub":
                raise DSLTypeError(f"unary {op} is not defined on tensors", self.loc(node))
            return self.tensor_binop("Sub", Literal(0), v, node)
        if op == "Not":
            return Scalar(arith.xori(self.as_bool(v, node), builder.constant(1, UInt(1))), UInt(1))
        if op == "UAdd":
            return v
        t = typing_rules.unary_result_type(op, v.dtype)
        if op == "USub":
            return self.binop("Sub", Scalar(builder.constant(0, t), t), v, node)
        x = self.coerce(v, t)
        return Scalar(arith.xori(x, builder.constant(-1, t)), t)

    def visit_BoolOp(self, node):
        values = [self.expr(v) for v in node.values]
        if all(isinstance(v, Literal) for v in values):
            result = all(v.value for v in values) if isinstance(node.op, ast.And) else any(v.value for v in values)
            return Literal(bool(result))
        bits = [self.as_bool(v, n) for v, n in zip(values, node.values)]
        combine = arith.andi if isinstance(node.op, ast.And) else arith.ori
        acc = bits[0]
        for b in bits[1:]:
            acc = combine(acc, b)
        return Scalar(acc, UInt(1))

    def visit_Compare(self, node):
        result, left = None, self.expr(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node)
            bit = self.compare(type(op).__name__, left, right, node)
            result = bit if result is None else self.visit_bool_and(result, bit)
            left = right
        return result

    def visit_bool_and(self, a, b):
        if isinstance(a, Literal) and isinstance(b, Literal):
            return Literal(a.value and b.value)
        return Scalar(arith.andi(self.as_bool(a, None), self.as_bool(b, None)), UInt(1))

    def compare(self, op, lhs, rhs, node):
        if op not in _PY_CMP:
            raise DSLSyntaxError(f"comparison {op} is not supported", self.loc(node))
        if isinstance(lhs, Literal) and isinstance(rhs, Literal):
            return Literal(_PY_CMP[op](lhs.value, rhs.value))
        lhs, rhs = index_ranges.as_mixed(lhs, rhs)
        lt = self.dtype_of(lhs, getattr(rhs, "dtype", None))
        rt = self.dtype_of(rhs, getattr(lhs, "dtype", None))
        t = typing_rules.common_type(lt, rt)
        return Scalar(builder.compare(op, self.coerce(lhs, t), self.coerce(rhs, t), t), UInt(1))

    def visit_IfExp(self, node):
        cond = self.expr(node.test)
        if isinstance(cond, Literal):
            return self.expr(node.body if cond.value else node.orelse)
        # Evaluate each side only on its branch: a guarded out-of-bounds read must never happen.
        probe_t, probe_f = self._probe(node.body), self._probe(node.orelse)
        # a literal branch adopts the other branch's type, as a literal meeting an operand does
        types = [self.dtype_of(v, self.dtype_of(w) if isinstance(w, Scalar) else None)
                 for v, w in ((probe_t, probe_f), (probe_f, probe_t))]
        t = typing_rules.common_type(*types)
        if_op = scf.IfOp(self.as_bool(cond, node.test), [t.mlir()], has_else=True)
        for block, branch in ((if_op.then_block, node.body), (if_op.else_block, node.orelse)):
            with ir.InsertionPoint(block):
                scf.YieldOp([self.coerce(self.expr(branch), t, branch)])
        return Scalar(if_op.results[0], t)

    def _probe(self, node):
        """An expression compiled inside a throwaway ``scf.if`` that is then erased: a Literal, or a Scalar
        whose type alone may be used."""
        cond = builder.constant(0, UInt(1))
        probe = scf.IfOp(cond, [], has_else=False)
        try:
            with ir.InsertionPoint(probe.then_block):
                v = self.expr(node)
                scf.YieldOp([])
            if isinstance(v, Tensor):
                raise DSLTypeError("a conditional expression must give scalars, not tensors", self.loc(node))
            if not isinstance(v, (Scalar, Literal)):
                raise DSLTypeError(f"a conditional expression must give scalars, got {describe(v)}", self.loc(node))
            return v
        finally:
            probe.operation.erase()
            cond.owner.erase()

    def _python_arg(self, node):
        value = compile_time(self.expr(node))
        if value is None:
            raise DSLTypeError("expected a compile-time constant or type here", self.loc(node))
        return value


def _kind(t: DSLType) -> str:
    if isinstance(t, Index):
        return "index"
    return "float" if t.is_float else "int"


__all__ = ["ExpressionMixin", "TensorType", "ShapeError"]
