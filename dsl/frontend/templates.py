"""Templates the way Allo writes them:

* instance ids: ``kernel[int8, 16, "Q"](...)`` (a trailing string after the type arguments; ``kernel["Q"]``
  for a kernel without type parameters) compiles a separate instance named ``kernel_Q`` whose call carries
  ``dsl.id = "Q"``, so ``s.compose(sub, id="Q")`` schedules that instance alone;
* type arguments inferred from the arguments: calling ``kernel(A, B)`` on a template whose annotations are
  ``"T[M, N]"`` binds T, M and N from A and B (every parameter must appear on its own in an annotation);
* ``x: dsl.ConstExpr[int32] = M // 2``: a value computed by Python while the kernel is compiled (module
  constants, type parameters, meta_for indices, earlier ConstExprs, calls of plain Python helpers), then a
  constant wherever it is used (loop bounds stay affine).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..errors import CallError, DSLNameError, DSLTypeError
from ..types import DSLType, TensorType


# -- instance ids ---------------------------------------------------------------------------------------

def split_instance_id(type_params: tuple, type_args):
    """(type arguments, instance id or None) from what a kernel was subscripted with."""
    if type_args is None:
        return None, None
    args = tuple(type_args) if isinstance(type_args, (list, tuple)) else (type_args,)
    if args and isinstance(args[-1], str) and len(args) == len(type_params) + 1:
        inst = args[-1]
        if not inst.isidentifier():
            raise CallError(f"an instance id names a function: it must be an identifier, got {inst!r}")
        return (args[:-1] or None), inst
    return type_args, None


# -- inferring type arguments from call arguments ---------------------------------------------------------

def infer_type_args(fc, fn, args, node) -> tuple:
    """Type arguments of template ``fn`` read off the types of the call's arguments."""
    from .values import Scalar, Tensor

    src = fc.unit.source(fn)
    names = src.type_params
    params = src.tree.args.args
    if len(params) != len(args):
        raise CallError(f"kernel {src.name!r} takes {len(params)} argument(s), got {len(args)}", fc.loc(node))
    bound: dict = {}
    for p, arg, a_node in zip(params, args, node.args):
        if isinstance(arg, Tensor):
            actual = arg.ttype
        elif isinstance(arg, Scalar):
            actual = arg.dtype
        else:
            continue  # an untyped constant tells nothing
        for expr in _annotation_exprs(p.annotation):
            _match(fc, expr, actual, names, bound, src.name, a_node)
    missing = [n for n in names if n not in bound]
    if missing:
        raise CallError(f"cannot infer the type parameter(s) {', '.join(missing)} of {src.name!r} from its "
                        "arguments", fc.loc(node),
                        hint=f"instantiate it explicitly: {src.name}[{', '.join(names)}](...)")
    return tuple(bound[n] for n in names)


def _annotation_exprs(ann):
    if ann is None:
        return []
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            return [ast.parse(ann.value, mode="eval").body]
        except SyntaxError:
            return []
    return [ann]


def _match(fc, expr, actual, names, bound, kernel, at):
    if isinstance(expr, ast.Name) and expr.id in names:
        _bind(fc, expr.id, actual, bound, kernel, at)
    elif isinstance(expr, ast.Subscript) and isinstance(actual, TensorType):
        _match(fc, expr.value, actual.dtype, names, bound, kernel, at)
        dims = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if len(dims) == len(actual.shape):
            for dim, extent in zip(dims, actual.shape):
                _match(fc, dim, extent, names, bound, kernel, at)


def _bind(fc, name, value, bound, kernel, at):
    if isinstance(value, TensorType):
        return  # a whole tensor type is no type parameter value
    if name in bound and bound[name] != value:
        raise CallError(f"type parameter {name} of {kernel!r} would be both {bound[name]!r} and {value!r} "
                        "from the arguments", fc.loc(at))
    bound[name] = value


# -- ConstExpr ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConstExprType:
    dtype: DSLType

    def __repr__(self):
        return f"ConstExpr[{self.dtype!r}]"


class _ConstExpr:
    """``dsl.ConstExpr[int32]``: the annotation of a compile-time constant local."""

    def __getitem__(self, dtype):
        if not isinstance(dtype, DSLType):
            raise DSLTypeError(f"ConstExpr[T] needs a scalar dsl type such as int32, got {dtype!r}")
        return ConstExprType(dtype)

    def __repr__(self):
        return "dsl.ConstExpr"


ConstExpr = _ConstExpr()


def declare_constexpr(fc, name: str, ctype: ConstExprType, node: ast.AnnAssign):
    from .values import Literal

    if node.value is None:
        raise DSLTypeError(f"ConstExpr '{name}' needs a value: it is computed when the kernel is compiled",
                           fc.loc(node))
    env = dict(fc.env)
    runtime = set()
    for scope in fc.scopes:
        for k, v in scope.items():
            if isinstance(v, Literal):
                env[k] = v.value
            else:  # a tensor, variable, loop index...: known only when the kernel runs
                runtime.add(k)
    used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & runtime
    if used:
        raise DSLTypeError(f"ConstExpr '{name}' must be computable at compile time; it uses the kernel "
                           f"value(s) {', '.join(sorted(used))}", fc.loc(node.value),
                           hint="use module constants, type parameters, meta_for indices and other ConstExprs")
    try:
        value = eval(compile(ast.Expression(node.value), fc.src.file, "eval"), env)  # noqa: S307 - user code
    except NameError as exc:
        raise DSLNameError(f"ConstExpr '{name}': {exc}", fc.loc(node.value)) from None
    except Exception as exc:
        raise DSLTypeError(f"ConstExpr '{name}' could not be computed: {type(exc).__name__}: {exc}",
                           fc.loc(node.value)) from None
    value = _as_type(fc, name, value, ctype.dtype, node)
    fc.bind(name, Literal(value))


def _as_type(fc, name, value, dtype, node):
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)):
        raise DSLTypeError(f"ConstExpr '{name}' must be a number, got {type(value).__name__}", fc.loc(node))
    if dtype.is_float:
        return float(value)
    if dtype.is_fixed:
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise DSLTypeError(f"ConstExpr '{name}' is declared {dtype!r} but its value is {value!r}", fc.loc(node))
    value = int(value)
    if dtype.is_int:
        lo, hi = (-(1 << (dtype.bits - 1)), 1 << (dtype.bits - 1)) if dtype.signed else (0, 1 << dtype.bits)
        if not lo <= value < hi:
            raise DSLTypeError(f"ConstExpr '{name}' = {value} does not fit {dtype!r}", fc.loc(node))
    return value
