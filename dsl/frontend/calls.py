"""Calls inside kernels: casts, builtins, math intrinsics, tensor operations and sub-kernels.

What a call does is looked up by the Python object it resolves to (``INTRINSICS``), never by its
spelling, so ``dsl.exp``, ``from dsl import exp`` and ``import dsl as d; d.exp`` are the same thing.
"""
from __future__ import annotations

import builtins
import inspect

from mlir import ir
from mlir.dialects import arith, func, math

from ..errors import CallError, DSLSyntaxError, DSLTypeError, ShapeError
from ..types import MAX_INT_WIDTH, TYPE_CONSTRUCTORS, DSLType, Fixed, Index, Int, TensorType, float32, int32
from . import builder, lang, loop_directives
from .values import Literal, PyObject, Scalar, Tensor, TupleValue

# name of a math intrinsic -> MLIR op builder on a float value
FLOAT_MATH = {
    "exp": math.exp, "exp2": math.exp2, "log": math.log, "log2": math.log2, "log10": math.log10,
    "sqrt": math.sqrt, "rsqrt": math.rsqrt, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "erf": math.erf, "floor": math.floor, "ceil": math.ceil, "atan": math.atan,
    "sinh": math.sinh, "cosh": math.cosh,
}


class Instantiation:
    """``kernel[int8, 16]``: a parametrised kernel bound to type/size arguments."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, tuple(args) if isinstance(args, tuple) else (args,)


class CallMixin:
    def visit_Call(self, node):
        if isinstance(node.func, ast_Attribute()) and not self._is_python_path(node.func.value):
            base = self.expr(node.func.value)
            if not isinstance(base, PyObject):
                return self.method_call(base, node.func.attr, node)
        callee = self.expr(node.func)
        if not isinstance(callee, PyObject):
            raise DSLTypeError(f"'{ast_unparse(node.func)}' is not callable", self.loc(node))
        obj = callee.obj
        if isinstance(obj, DSLType):
            return self.explicit_cast(obj, node)
        handler = INTRINSICS.get(_key(obj))
        if handler is not None:
            return handler(self, node)
        if isinstance(obj, Instantiation) and hasattr(obj.fn, "__dsl_call__"):  # inner[2, 2](...): a region
            return obj.fn.__dsl_call__(self, obj.args, node)
        if hasattr(obj, "__dsl_call__"):  # an object that compiles its own calls (a dsl.region)
            return obj.__dsl_call__(self, None, node)
        if isinstance(obj, Instantiation):
            return self.call_kernel(obj.fn, obj.args, node)
        if inspect.isfunction(obj):
            return self.call_kernel(obj, None, node)
        raise DSLSyntaxError(f"calling {ast_unparse(node.func)!r} is not supported in a kernel", self.loc(node),
                             hint="kernels may call dsl intrinsics, casts, min/max/abs and other typed kernels")

    def _is_python_path(self, node) -> bool:
        """True when ``node`` names a Python module or object (``dsl``, ``np``), not a kernel value."""
        import ast

        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name):
            return False
        bound = self.lookup_quiet(node.id)
        return bound is None or isinstance(bound, PyObject)

    def method_call(self, base, attr, node):
        from .bitops import METHODS

        if attr in METHODS and not isinstance(base, Tensor):  # x.bitcast(), x.reverse() (bitops.py)
            return METHODS[attr](self, base, node)
        raise DSLSyntaxError(f"method '{attr}' is not supported on {type(base).__name__.lower()} values",
                             self.loc(node))

    def call_args(self, node, min_args, max_args, name):
        if node.keywords and name not in ("sum", "max", "min", "transpose", "mean"):
            raise DSLSyntaxError(f"{name}() takes no keyword arguments here", self.loc(node))
        if not min_args <= len(node.args) <= max_args:
            expect = min_args if min_args == max_args else f"{min_args} to {max_args}"
            raise CallError(f"{name}() takes {expect} argument(s), got {len(node.args)}", self.loc(node))
        return [self.expr(a) for a in node.args]

    # -- casts -------------------------------------------------------------------------------------
    def explicit_cast(self, dtype: DSLType, node):
        (value,) = self.call_args(node, 1, 1, repr(dtype))
        if isinstance(value, Tensor):
            return self.tensor_map(value, lambda v: Scalar(builder.cast(v.value, v.dtype, dtype), dtype), node, dtype)
        if isinstance(value, Literal):
            return Scalar(builder.constant(value.value, dtype), dtype)
        if not isinstance(value, Scalar):
            from .values import describe as _describe

            raise DSLTypeError(f"cannot cast {_describe(value)} to {dtype!r}: a cast takes a number, a scalar or "
                               "a tensor", self.loc(node))
        return Scalar(builder.cast(value.value, value.dtype, dtype), dtype)

    # -- sub-kernels -------------------------------------------------------------------------------
    def call_kernel(self, fn, type_args, node):
        from . import templates

        type_params = self.unit.source(fn).type_params
        type_args, instance_id = templates.split_instance_id(type_params, type_args)  # kernel[T, "id"]
        args = [self.expr(a) for a in node.args]
        if node.keywords:
            raise CallError("sub-kernels take positional arguments only", self.loc(node))
        if type_params and type_args is None:  # kernel(A, B) on a template: T, M, N from A and B
            type_args = templates.infer_type_args(self, fn, args, node)
        src, sig = self.unit.signature_of(fn, type_args, self.loc(node))
        if len(args) != len(sig.params):
            raise CallError(f"kernel {src.name!r} takes {len(sig.params)} argument(s) "
                            f"({', '.join(p.name for p in sig.params)}), got {len(args)}", self.loc(node))
        operands, arg_types = [], []
        for p, a, a_node in zip(sig.params, args, node.args):
            if _is_stream(p.type):
                from .streams import stream_argument

                operands.append(stream_argument(self, p, a, a_node, src.name))
                arg_types.append(operands[-1].type)
            elif isinstance(p.type, TensorType):
                if not isinstance(a, Tensor):
                    raise CallError(f"argument '{p.name}' of {src.name!r} must be a tensor {p.type!r}, "
                                    f"got {_what(a)}", self.loc(a_node))
                if a.shape != p.type.shape or a.dtype != p.type.dtype:
                    raise CallError(f"argument '{p.name}' of {src.name!r} expects {p.type!r}, got {a.ttype!r}",
                                    self.loc(a_node))
                operands.append(a.value)
                arg_types.append(a.value.type)
            else:
                if isinstance(a, (Tensor, TupleValue)):
                    raise CallError(f"argument '{p.name}' of {src.name!r} must be a scalar {p.type!r}, "
                                    f"got {_what(a)}", self.loc(a_node))
                operands.append(self.coerce(a, p.type, a_node))
                arg_types.append(p.type.mlir())
        symbol = self.unit.instance(fn, type_args, arg_types, self.loc(node), instance_id=instance_id)
        for k, (p, a, a_node) in enumerate(zip(sig.params, args, node.args)):
            if isinstance(a, Tensor) and a.role == "const" and writes_argument(self.unit.module, symbol, k):
                self.check_writable(a, a_node)
        outs = [self.alloc_tensor(t, self.new_name()) for t in sig.returns if isinstance(t, TensorType)]
        scalar_types = [t for t in sig.returns if not isinstance(t, TensorType)]
        call = func.CallOp([t.mlir() for t in scalar_types], ir.FlatSymbolRefAttr.get(symbol),
                           operands + [o.value for o in outs])
        if instance_id is not None:
            call.attributes["dsl.id"] = ir.StringAttr.get(instance_id)
        for a in args:  # a tensor slice was passed as a copy: what the callee wrote goes back (slices.py)
            if getattr(a, "write_back", None) is not None:
                a.write_back()
        results, outs_iter, res_iter = [], iter(outs), iter(call.results)
        for t in sig.returns:
            results.append(next(outs_iter) if isinstance(t, TensorType) else Scalar(next(res_iter), t))
        if not sig.returns:
            return Literal(None)
        return TupleValue(results) if sig.returns_tuple else results[0]


def writes_argument(module, symbol: str, position: int) -> bool:
    """Whether function ``symbol`` may write its memref argument ``position`` (directly, through a sub-view,
    or by passing it to a function that writes it)."""
    fop = next(op for op in module.body.operations if op.operation.name == "func.func"
               and ir.StringAttr(op.attributes["sym_name"]).value == symbol)
    todo = [fop.arguments[position]]
    while todo:
        value = todo.pop()
        for use in value.uses:
            op = use.owner if isinstance(use.owner, ir.Operation) else use.owner.operation
            if op.name in ("affine.store", "memref.store") and use.operand_number == 1:
                return True
            if op.name == "memref.subview":
                todo.append(op.results[0])
            elif op.name == "func.call" and writes_argument(module, ir.FlatSymbolRefAttr(
                    op.attributes["callee"]).value, use.operand_number):
                return True
    return False


# -- intrinsic handlers ------------------------------------------------------------------------------

def _minmax(which):
    def handler(fc, node):
        args = fc.call_args(node, 1, 8, which.lower())
        if len(args) == 1 or node.keywords:
            return fc.reduce(which.lower(), args[0], node)
        if any(isinstance(a, Tensor) for a in args):
            raise DSLTypeError(f"{which.lower()}() of tensors: use dsl.{which.lower()}(A, axis=...) to reduce, "
                               "or compare elements", fc.loc(node))
        acc = args[0]
        for a in args[1:]:
            acc = fc.scalar_minmax(which, acc, a, node)
        return acc

    return handler


def _abs(fc, node):
    (v,) = fc.call_args(node, 1, 1, "abs")
    if isinstance(v, Literal):
        return Literal(abs(v.value))
    if isinstance(v, Tensor):
        return fc.tensor_map(v, lambda x: _abs_scalar(fc, x, node), node)
    return _abs_scalar(fc, v, node)


def _abs_scalar(fc, v, node):
    t = v.dtype
    if t.is_float:
        return Scalar(math.absf(v.value), t)
    if not t.signed:
        return v
    if isinstance(t, Index):
        return Scalar(math.absi(v.value), t)
    # |most negative| needs one more bit (abs(int8(-128)) is 128): the result widens, as + and - do
    wide = Int(min(t.bits + 1, MAX_INT_WIDTH)) if t.is_int else Fixed(min(t.bits + 1, MAX_INT_WIDTH), t.frac)
    x = builder.cast(v.value, t, wide)
    negative = arith.cmpi(arith.CmpIPredicate.slt, x, builder.constant(0, wide))
    return Scalar(arith.select(negative, arith.subi(builder.constant(0, wide), x), x), wide)


def _float(fc, node):
    (v,) = fc.call_args(node, 1, 1, "float")
    if isinstance(v, PyObject) and isinstance(v.obj, str):  # float("-inf"), float("nan"): read as Python reads them
        return fc.fold(float, node, v.obj)
    return fc.fold(float, node, v.value) if isinstance(v, Literal) else Scalar(fc.coerce(v, float32, node), float32)


def _int(fc, node):
    (v,) = fc.call_args(node, 1, 1, "int")
    return fc.fold(int, node, v.value) if isinstance(v, Literal) else Scalar(fc.coerce(v, int32, node), int32)


def _len(fc, node):
    (v,) = fc.call_args(node, 1, 1, "len")
    if not isinstance(v, Tensor):
        raise DSLTypeError("len() needs a tensor", fc.loc(node))
    return Literal(v.shape[0])


def _loop_only(name):
    def handler(fc, node):
        raise DSLSyntaxError(f"{name}() can only be used as the iterator of a for loop", fc.loc(node))

    return handler


def _float_math(name):
    def handler(fc, node):
        args = fc.call_args(node, 1, 1, name)
        v = args[0]
        if isinstance(v, Tensor):
            return fc.tensor_map(v, lambda x: _float_math_scalar(fc, name, x), node,
                                 v.dtype if v.dtype.is_float else float32)
        return _float_math_scalar(fc, name, v)

    return handler


def _float_math_scalar(fc, name, v):
    t = v.dtype if isinstance(v, Scalar) and v.dtype.is_float else float32
    return Scalar(FLOAT_MATH[name](fc.coerce(v, t)), t)


def _pow(fc, node):
    a, b = fc.call_args(node, 2, 2, "pow")
    return fc.binop("Pow", a, b, node)


def _type_constructor(fc, node):
    """``Int(12)``, ``Fixed(16, 8)`` inside a kernel: a compile-time type (then usable as a cast)."""
    ctor = fc.expr(node.func).obj
    try:
        return PyObject(ctor(*[fc._python_arg(a) for a in node.args]))
    except TypeError as exc:
        raise DSLTypeError(str(exc), fc.loc(node)) from None


def _tensor_op(method):
    def handler(fc, node):
        return getattr(fc, method)(node)

    return handler


def _key(obj):
    try:
        hash(obj)
    except TypeError:
        return None
    return obj


INTRINSICS = {
    builtins.min: _minmax("Min"), builtins.max: _minmax("Max"), builtins.abs: _abs,
    builtins.float: _float, builtins.int: _int, builtins.len: _len,
    builtins.range: _loop_only("range"), lang.grid: _loop_only("dsl.grid"),
    lang.reduction: _loop_only("dsl.reduction"), lang.loop_tripcount: loop_directives.tripcount_statement,
    lang.min: _minmax("Min"), lang.max: _minmax("Max"), lang.pow: _pow, lang.abs: _abs,
    lang.matmul: _tensor_op("call_matmul"), lang.transpose: _tensor_op("call_transpose"),
    lang.relu: _tensor_op("call_relu"), lang.sum: _tensor_op("call_sum"), lang.mean: _tensor_op("call_mean"),
}
INTRINSICS.update({getattr(lang, name): _float_math(name) for name in FLOAT_MATH})
INTRINSICS.update({ctor: _type_constructor for ctor in TYPE_CONSTRUCTORS.values()})


def _is_stream(t) -> bool:
    from ..dataflow.lang import StreamType

    return isinstance(t, StreamType)


def _what(v):
    if isinstance(v, Tensor):
        return f"tensor {v.ttype!r}"
    if isinstance(v, Scalar):
        return f"scalar {v.dtype!r}"
    return repr(getattr(v, "value", v))


def ast_Attribute():
    import ast

    return ast.Attribute


def ast_unparse(node):
    import ast

    return ast.unparse(node)


__all__ = ["CallMixin", "INTRINSICS", "Instantiation", "ShapeError"]
