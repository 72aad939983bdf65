"""Reading a kernel: its source and AST, the Python scope it closes over, and its typed signature."""
from __future__ import annotations

import __future__
import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass, field

from ..errors import CallError, DSLError, DSLNameError, DSLSyntaxError, DSLTypeError, ShapeError, SourceLoc, caller_loc
from ..types import DSLType, TensorType
from .scope import enclosing_names


@dataclass
class KernelSource:
    """A kernel function's AST with line numbers matching the file it lives in."""

    fn: object
    tree: ast.FunctionDef
    file: str
    env: dict  # globals, closure cells and instantiated type parameters
    type_params: tuple = ()

    @property
    def name(self) -> str:
        return self.fn.__name__

    def loc(self, node) -> SourceLoc:
        return SourceLoc(self.file, getattr(node, "lineno", self.tree.lineno), getattr(node, "col_offset", 0))


def read_kernel(fn) -> KernelSource:
    """Parse ``fn``'s source into an AST whose line numbers are those of its file."""
    outer, fn = fn, inspect.unwrap(fn) if callable(fn) else fn  # functools.wraps decorators: compile the kernel
    if not callable(fn) or not hasattr(fn, "__code__"):
        raise DSLTypeError(f"expected a Python function as a kernel, got {type(fn).__name__}")
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise DSLError(f"cannot read the source of kernel {fn.__name__!r}: {exc}") from None
    source = textwrap.dedent("".join(lines))
    tree = ast.parse(source)
    ast.increment_lineno(tree, first_line - 1)
    indent = len(lines[0]) - len(lines[0].lstrip())
    for node in ast.walk(tree):  # columns of the dedented text -> columns in the file
        if hasattr(node, "col_offset"):
            node.col_offset += indent
        if getattr(node, "end_col_offset", None) is not None:
            node.end_col_offset += indent
    fdef = tree.body[0]
    file = inspect.getsourcefile(fn) or fn.__code__.co_filename
    if not isinstance(fdef, ast.FunctionDef):
        what = "'async def'" if isinstance(fdef, ast.AsyncFunctionDef) else "a lambda or an expression"
        raise DSLSyntaxError(f"kernel {fn.__name__!r} is {what}: a kernel is a plain 'def' function",
                             SourceLoc(file, getattr(fdef, "lineno", first_line), getattr(fdef, "col_offset", 0)))
    env = dict(builtins.__dict__)
    env.update(fn.__globals__)
    env.update(enclosing_names(fn, fdef))  # sizes from the enclosing function's locals (scope.py)
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                env[name] = cell.cell_contents
            except ValueError:  # a cell not filled yet
                pass
    return KernelSource(fn, fdef, file, env, type_param_names(outer) or type_param_names(fn))


def type_param_names(fn) -> tuple:
    """Names of a kernel's type parameters: PEP 695 ``def k[T, N](...)`` (Python >= 3.12) or the
    ``@dsl.template("T", "N")`` spelling that works on every Python."""
    params = getattr(fn, "__dsl_type_params__", None)
    if params is None:
        params = tuple(p.__name__ for p in getattr(fn, "__type_params__", ()))
    return tuple(params)


def template(*names: str, check=None):
    """Declare type parameters of a kernel, the spelling of PEP 695's ``def k[T, N]`` for Python 3.11::

        @dsl.template("T", "N")
        def add(A: "T[N]", B: "T[N]") -> "T[N]": ...

    ``check(T, N)``, when given, runs at every instantiation and refuses arguments the kernel cannot
    take by raising a ``dsl.DSLError`` that says what is allowed; the error is reported at the line that
    instantiated the kernel (the call inside a kernel, or the user's ``dsl.customize``).
    """

    def mark(fn):
        fn.__dsl_type_params__ = tuple(names)
        if check is not None:
            fn.__dsl_template_check__ = check
        return fn

    return mark


def bind_type_params(src: KernelSource, args, loc: SourceLoc | None = None) -> dict:
    """Bind instantiation arguments (types or ints) to the kernel's type parameters."""
    names = src.type_params
    args = list(args) if isinstance(args, (list, tuple)) else [args]
    if len(args) != len(names):
        raise CallError(
            f"kernel {src.name!r} has type parameters [{', '.join(names)}] and was instantiated with "
            f"{len(args)} argument(s)", loc)
    for name, value in zip(names, args):
        if not isinstance(value, (DSLType, int)):
            raise DSLTypeError(f"type parameter {name} of {src.name!r} must be a dsl type or an int, got {value!r}", loc)
    check = getattr(src.fn, "__dsl_template_check__", None)
    if check is not None:
        try:
            check(*args)
        except DSLError as exc:
            raise exc.at(loc or caller_loc()) from None
    return dict(zip(names, args))


@dataclass
class Param:
    name: str
    type: object  # TensorType or DSLType
    node: ast.AST = None


@dataclass
class Signature:
    params: list
    returns: list = field(default_factory=list)  # TensorType / DSLType per returned value
    returns_tuple: bool = False


def eval_annotation(node: ast.AST, src: KernelSource, env: dict):
    """Evaluate a type annotation (an expression or a string holding one) to a dsl type."""
    try:
        expr = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # errors point at the string
            expr = ast.parse(node.value, mode="eval").body
        value = eval(compile(ast.Expression(expr), src.file, "eval"), env)  # noqa: S307 - user's own code
    except NameError as exc:
        raise _annotation_name_error(exc, node, src) from None
    except DSLTypeError as exc:  # e.g. Fixed(8, 10): a type that cannot exist
        raise (exc if exc.loc else DSLTypeError(f"invalid type annotation: {exc.message}", src.loc(node))) from None
    except DSLError:
        raise
    except Exception as exc:  # the annotation is the user's expression: report what Python said
        raise DSLTypeError(f"invalid type annotation: {exc}", src.loc(node)) from None
    return value


def _annotation_name_error(exc: NameError, node, src: KernelSource) -> DSLError:
    """A name an annotation cannot see: a kernel argument or local is a run-time value, not a size."""
    name = getattr(exc, "name", None)
    runtime = {a.arg for a in src.tree.args.args} | {
        n.id for n in ast.walk(src.tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if name in runtime:
        what = "a kernel argument" if name in {a.arg for a in src.tree.args.args} else "a variable of the kernel"
        return DSLTypeError(f"tensor shapes must be compile-time constants: '{name}' is {what}, known only when "
                            "the kernel runs", src.loc(node),
                            hint="use a module-level constant, or make the size a type parameter (@dsl.template)")
    hint = None
    fn = src.fn
    if "<locals>" in getattr(fn, "__qualname__", "") and getattr(fn, "__code__", None) is not None \
            and fn.__code__.co_flags & __future__.annotations.compiler_flag:
        hint = (f"'{fn.__qualname__}' is defined inside a function, in a module with `from __future__ import "
                f"annotations`: a name used only in annotations is then no closure variable; use "
                f"@dsl.template, a module-level constant, or refer to '{name}' in the kernel's body")
    return DSLNameError(f"undefined name in type annotation: {exc}", src.loc(node), hint=hint)


def check_type(value, node, src: KernelSource, what: str):
    if isinstance(value, TensorType):
        for dim in value.shape:
            if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
                raise DSLTypeError(f"{what}: tensor shapes must be positive compile-time ints, got {dim!r}",
                                   src.loc(node), hint="use module-level constants or type parameters for sizes")
        if value.size_problem():
            raise ShapeError(f"{what}: {value.size_problem()}", src.loc(node),
                             hint="sizes are indexed with 32-bit ints in the generated hardware")
        return value
    if isinstance(value, DSLType):
        return value
    from .structs import StructType, refuse_aggregate

    if isinstance(value, StructType):
        raise DSLTypeError(refuse_aggregate(f"{what} is a {value!r}"), src.loc(node))
    raise DSLTypeError(f"{what}: expected a dsl type such as int32 or float32[4, 4], got {value!r}", src.loc(node))


def _is_stream_type(value) -> bool:
    """``xs: dsl.Stream[int8[16], 2]``: a kernel argument that is a stream (see frontend/streams.py)."""
    from ..dataflow.lang import StreamType

    return isinstance(value, StreamType)


def read_signature(src: KernelSource, env: dict) -> Signature:
    fdef = src.tree
    args = fdef.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs or args.defaults:
        raise DSLSyntaxError("kernels take plain positional arguments only (no *args, **kwargs, defaults)",
                             src.loc(fdef))
    params = []
    for a in args.args:
        if a.annotation is None:
            raise DSLTypeError(f"argument {a.arg!r} of kernel {src.name!r} has no type annotation",
                               src.loc(a), hint=f"write e.g. `{a.arg}: int32[16]` or `{a.arg}: float32`")
        value = eval_annotation(a.annotation, src, env)
        t = value if _is_stream_type(value) else check_type(value, a.annotation, src, f"argument {a.arg!r}")
        params.append(Param(a.arg, t, a))
    sig = Signature(params)
    ret = fdef.returns
    if ret is None or (isinstance(ret, ast.Constant) and ret.value is None):
        return sig
    if isinstance(ret, ast.Tuple):
        sig.returns_tuple = True
        sig.returns = [check_type(eval_annotation(e, src, env), e, src, "return type") for e in ret.elts]
    else:
        value = eval_annotation(ret, src, env)
        if isinstance(value, tuple):
            sig.returns_tuple = True
            sig.returns = [check_type(v, ret, src, "return type") for v in value]
        else:
            sig.returns = [check_type(value, ret, src, "return type")]
    return sig
