"""Compiling one kernel function: its signature, scopes and statements. Expressions live in
``expressions.py``, loops in ``loops.py``; this is where errors get their locations attached."""
from __future__ import annotations

import ast

from mlir import ir
from mlir.dialects import func, memref

from ..errors import DSLError, DSLNameError, DSLSyntaxError, DSLTypeError, ShapeError
from ..types import DSLType, Index, TensorType
from . import access, builder, nested, stateful, streams, structs, templates
from .expressions import ExpressionMixin
from .loops import LoopMixin
from .source import KernelSource, Signature
from .values import Literal, LoopVar, PyObject, Scalar, Tensor, TupleValue, Variable

_UNSUPPORTED_STMTS = {
    ast.Break: "'break' is not supported in kernels: hardware loops need known trip counts; use a while "
               "loop with a flag",
    ast.Continue: "'continue' is not supported in kernels: guard the rest of the body with an 'if'",
    ast.With: "'with' is not supported in kernels",
    ast.Try: "'try' is not supported in kernels",
    ast.Raise: "'raise' is not supported in kernels",
    ast.Delete: "'del' is not supported in kernels",
    ast.Global: "'global' is not supported in kernels: kernels read module constants, never write them",
    ast.Nonlocal: "'nonlocal' is not supported in kernels",
    ast.Import: "imports are not supported inside kernels: import at module level",
    ast.ImportFrom: "imports are not supported inside kernels: import at module level",
    ast.ClassDef: "classes cannot be defined inside kernels",
    ast.Lambda: "lambdas are not supported in kernels",
    ast.Assert: "'assert' is not supported in kernels",
}


class FunctionCompiler(ExpressionMixin, LoopMixin):
    def __init__(self, unit, src: KernelSource, sig: Signature, env: dict, symbol: str, arg_types=None):
        self.unit = unit  # the CompilationUnit (module-wide state: other functions, globals)
        self.src = src
        self.sig = sig
        self.env = env
        self.symbol = symbol
        self.arg_types = arg_types  # MLIR memref types of the arguments (sub-views at call sites)
        self.scopes: list[dict] = [{}]
        self.expired: dict = {}  # name -> (statement kind, line, is a loop variable) of an ended scope
        self.band_counter = 0
        self.tmp_counter = 0
        self._index_symbols: dict[str, ir.Value] = {}
        self.current_node = src.tree

    # -- locations and errors ----------------------------------------------------------------------
    def loc(self, node):
        return self.src.loc(node)

    def mlir_loc(self, node) -> ir.Location:
        line = getattr(node, "lineno", self.src.tree.lineno)
        col = getattr(node, "col_offset", 0) + 1
        return ir.Location.file(self.src.file, line, col)

    def visit(self, node):
        """Visit a statement or expression with its location set; attach it to any error raised inside."""
        previous, self.current_node = self.current_node, node
        try:
            with self.mlir_loc(node):
                method = getattr(self, f"visit_{type(node).__name__}", None)
                if method is None:
                    raise self.unsupported(node)
                return method(node)
        except DSLError as exc:
            raise exc.at(self.loc(node))
        except (TypeError, ValueError) as exc:  # a type rule or builder refused: report at the user's line
            raise DSLTypeError(str(exc), self.loc(node)) from None
        finally:
            self.current_node = previous

    def unsupported(self, node) -> DSLError:
        kind = type(node)
        if kind in _UNSUPPORTED_STMTS:
            return DSLSyntaxError(_UNSUPPORTED_STMTS[kind], self.loc(node))
        return DSLSyntaxError(f"unsupported syntax in a kernel: {kind.__name__} "
                              f"('{ast.unparse(node)[:40]}')", self.loc(node))

    # -- scopes ------------------------------------------------------------------------------------
    def lookup_quiet(self, name):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.env:
            return self.python_value(self.env[name], name)
        return None

    def lookup(self, name, node):
        value = self.lookup_quiet(name)
        if value is None:
            known = sorted(k for scope in self.scopes for k in scope)
            hint = f"names in scope: {', '.join(known)}" if known else None
            if name in self.expired:
                kind, line, loop_var = self.expired[name]
                hint = (f"'{name}' is the variable of the loop at line {line} and exists only inside it; to keep "
                        f"its last value, assign it to a variable declared before the loop" if loop_var else
                        f"'{name}' was first assigned inside the {kind} at line {line} and exists only there; "
                        f"declare it before the {kind} (e.g. `{name}: int32 = 0`) and assign it inside")
            raise DSLNameError(f"name '{name}' is not defined", self.loc(node), hint=hint)
        return value

    def pop_scope(self, kind: str):
        """Leave a block scope, remembering its names for the hint of a later use."""
        line = getattr(self.current_node, "lineno", self.src.tree.lineno)
        for name, value in self.scopes.pop().items():
            if not any(name in scope for scope in self.scopes):
                self.expired[name] = (kind, line, isinstance(value, LoopVar))

    def bind(self, name, value):
        self.scopes[-1][name] = value

    def rebind(self, name, value):
        for scope in reversed(self.scopes):
            if name in scope:
                scope[name] = value
                return
        self.scopes[-1][name] = value

    def python_value(self, obj, name=""):
        """A module-level/closure Python object as a kernel value."""
        if isinstance(obj, (bool, int, float)):
            return Literal(obj)
        if type(obj).__module__ == "numpy" and hasattr(obj, "shape"):
            if obj.shape == ():
                return Literal(obj.item())
            return self.unit.constant_tensor(obj, name, self)
        return PyObject(obj)

    def index_symbol(self, name):
        """``index`` view of an immutable integer scalar argument (a valid affine symbol), or None."""
        if name in self._index_symbols:
            return self._index_symbols[name]
        bound = self.lookup_quiet(name)
        if not isinstance(bound, Scalar) or not getattr(bound, "is_arg", False):
            return None
        if not (bound.dtype.is_int or isinstance(bound.dtype, Index)):
            return None
        with ir.InsertionPoint.at_block_begin(self.entry_block), ir.Location.unknown():
            value = access.index_value(bound.value, bound.dtype)
        self._index_symbols[name] = value
        return value

    # -- the function ------------------------------------------------------------------------------
    def compile(self) -> func.FuncOp:
        sig = self.sig
        inputs = [p.type for p in sig.params]
        outputs = [t for t in sig.returns if isinstance(t, TensorType)]
        scalar_results = [t for t in sig.returns if not isinstance(t, TensorType)]
        in_types = self.arg_types or [_buffer_type(t).mlir() for t in inputs]
        ftype = ir.FunctionType.get(in_types + [t.mlir() for t in outputs], [t.mlir() for t in scalar_results])
        with self.mlir_loc(self.src.tree):
            fop = func.FuncOp(self.symbol, ftype)
        self.func_op = fop
        self.entry_block = fop.add_entry_block()
        self.outputs = list(fop.arguments)[len(inputs):]
        out_names = self._output_names()
        _set_func_attrs(fop, [p.name for p in sig.params] + out_names,
                        [_dtype_of(t) for t in inputs + outputs], len(outputs), scalar_results, self.loc(self.src.tree),
                        sig.returns)
        streams.mark_stream_params(fop, sig.params)
        for p, arg in zip(sig.params, fop.arguments):
            if isinstance(p.type, streams.StreamType):
                self.bind(p.name, PyObject(streams.StreamEnd(arg, p.type, p.name)))
            elif isinstance(p.type, TensorType):
                self.bind(p.name, Tensor(arg, p.type, p.name, role="arg"))
            else:
                scalar = Scalar(arg, p.type)
                scalar.is_arg = True
                self.bind(p.name, scalar)
        with ir.InsertionPoint(self.entry_block):
            body = self.src.tree.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # docstring
            self.visit_body(body)
            if not self._ends_with_return(body):
                if sig.returns:
                    raise DSLSyntaxError(f"kernel {self.src.name!r} declares a return type but does not end with "
                                         "a return statement", self.loc(self.src.tree))
                with self.mlir_loc(body[-1] if body else self.src.tree):
                    func.ReturnOp([])
        return fop

    def _output_names(self):
        names = [f"out{i}" for i, t in enumerate(self.sig.returns) if isinstance(t, TensorType)]
        last = self.src.tree.body[-1] if self.src.tree.body else None
        if isinstance(last, ast.Return) and last.value is not None:
            elts = last.value.elts if isinstance(last.value, ast.Tuple) else [last.value]
            tensor_positions = [i for i, t in enumerate(self.sig.returns) if isinstance(t, TensorType)]
            for k, pos in enumerate(tensor_positions):
                if pos < len(elts) and isinstance(elts[pos], ast.Name):
                    names[k] = elts[pos].id
        return names

    @staticmethod
    def _ends_with_return(body):
        return bool(body) and isinstance(body[-1], ast.Return)

    def visit_body(self, stmts):
        for stmt in stmts:
            self.visit(stmt)

    def new_name(self, prefix="tmp"):
        self.tmp_counter += 1
        return f"{prefix}{self.tmp_counter - 1}"

    # -- allocation --------------------------------------------------------------------------------
    def alloc_tensor(self, ttype: TensorType, name: str) -> Tensor:
        if ttype.size_problem():  # e.g. the result of a tensor operation on large operands
            raise ShapeError(f"cannot allocate '{name}': {ttype.size_problem()}")
        op = memref.AllocOp(ttype.mlir(), [], [])
        op.attributes["dsl.name"] = ir.StringAttr.get(name)
        op.attributes["dsl.type"] = ir.StringAttr.get(repr(ttype.dtype))
        return Tensor(op.result, ttype, name)

    def alloc_variable(self, dtype: DSLType, name: str) -> Variable:
        """A mutable scalar: a rank-0 buffer allocated at function entry so that it dominates every use."""
        with ir.InsertionPoint.at_block_begin(self.entry_block):
            op = memref.AllocaOp(ir.MemRefType.get([], dtype.mlir()), [], [])
        op.attributes["dsl.name"] = ir.StringAttr.get(name)
        op.attributes["dsl.type"] = ir.StringAttr.get(repr(dtype))
        return Variable(op.result, dtype, name)

    # -- statements --------------------------------------------------------------------------------
    def visit_Pass(self, node):
        pass

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant):
            return  # a stray string / docstring
        self.expr(node.value)

    def visit_AnnAssign(self, node):
        if not isinstance(node.target, ast.Name):
            raise DSLSyntaxError("annotated assignment needs a plain name on the left", self.loc(node))
        from .source import check_type, eval_annotation

        name = node.target.id
        existing = self.scopes[-1].get(name)
        annotation = eval_annotation(node.annotation, self.src, self.env)
        if isinstance(existing, (Tensor, Variable)):
            return self._redeclare(name, existing, annotation, node)
        if isinstance(annotation, stateful.StatefulType):  # `x: int32 @ dsl.Stateful = 0`
            return stateful.declare(self, name, annotation, node)
        if isinstance(annotation, structs.StructType):  # `p: Point = {"x": 1, "y": 2.0}`
            return structs.declare(self, name, annotation, node)
        if isinstance(annotation, templates.ConstExprType):  # `n: dsl.ConstExpr[int32] = M // 2`
            return templates.declare_constexpr(self, name, annotation, node)
        t = check_type(annotation, node.annotation, self.src, f"declaration of '{name}'")
        if isinstance(t, TensorType):
            self.declare_tensor(name, t, node.value, node)
            return
        var = self.alloc_variable(t, name)
        if node.value is not None:
            self.store_scalar(var, self.expr(node.value), node.value)
        else:  # `y: int32` alone: 0 until assigned, on every backend (a C++ local would hold anything); set
            # where the variable is allocated, so that a declaration inside a loop keeps the value of the
            # previous iteration, as Python's annotation without a value does
            with ir.InsertionPoint.after(var.ref.owner), self.mlir_loc(node):
                self.store_scalar(var, Literal(0), node)
        self.bind(name, var)

    def _redeclare(self, name, existing, annotation, node):
        """``x: int32 = 1`` again for a declared ``x``: with the same type it is an assignment (as Allo
        allows); with another type it is refused."""
        old = existing.ttype if isinstance(existing, Tensor) else existing.dtype
        if annotation != old:
            raise DSLNameError(f"'{name}' is already declared in this kernel as {old!r}; it cannot be "
                               f"re-declared as {annotation!r}", self.loc(node),
                               hint="use another name, or assign to it without an annotation")
        if node.value is not None:
            self.assign_to(node.target, self.expr(node.value), node.value)

    def visit_FunctionDef(self, node):  # a helper kernel defined inside this one (nested.py)
        nested.define(self, node)

    def declare_tensor(self, name, ttype: TensorType, init, node):
        if init is not None:
            value = self.expr(init)
            if isinstance(value, Tensor) and value.name.startswith("tmp") and value.ttype == ttype:
                value.value.owner.attributes["dsl.name"] = ir.StringAttr.get(name)  # adopt a fresh temporary
                value.name = name
                self.bind(name, value)
                return
            tensor = self.alloc_tensor(ttype, name)
            self.bind(name, tensor)
            self.assign_tensor(tensor, value, init)
            return
        self.bind(name, self.alloc_tensor(ttype, name))

    def visit_Assign(self, node):
        if len(node.targets) != 1:
            raise DSLSyntaxError("chained assignment (a = b = ...) is not supported", self.loc(node))
        target = node.targets[0]
        if isinstance(target, ast.Tuple):
            value = self.expr(node.value)
            items = value.items if isinstance(value, TupleValue) else None
            if items is None or len(items) != len(target.elts):
                raise DSLSyntaxError(f"cannot unpack into {len(target.elts)} names", self.loc(node))
            for t, v in zip(target.elts, items):
                self.assign_to(t, v, node.value)
            return
        self.assign_to(target, self.expr(node.value), node.value)

    def assign_to(self, target, value, value_node):
        if isinstance(target, ast.Subscript):
            return self.store_subscript(target, value, value_node)
        if not isinstance(target, ast.Name):
            raise DSLSyntaxError(f"cannot assign to {ast.unparse(target)!r}", self.loc(target))
        name = target.id
        bound = self.lookup_quiet(name) if any(name in s for s in self.scopes) else None
        if isinstance(bound, Variable):
            return self.store_scalar(bound, value, value_node)
        if isinstance(bound, Tensor):
            if bound.role == "arg":
                raise DSLTypeError(f"'{name} = ...' would overwrite the caller's array '{name}' (Python would only "
                                   "rebind the name)", self.loc(target),
                                   hint=f"write elements to update it in place (`{name}[i] = ...`), or give the new "
                                        "value its own name")
            return self.assign_tensor(bound, value, value_node)
        if isinstance(bound, LoopVar):
            raise DSLSyntaxError(f"cannot assign to loop variable '{name}'", self.loc(target))
        if isinstance(value, PyObject):  # `f = helper`: another name for a compile-time object
            return self.rebind(name, value)
        if isinstance(bound, structs.StructValue):
            return structs.assign(self, bound, value, value_node)
        if isinstance(value, (Tensor, TupleValue)):
            if isinstance(value, Tensor) and value.name.startswith("tmp"):
                value.value.owner.attributes["dsl.name"] = ir.StringAttr.get(name)
                value.name = name
            return self.rebind(name, value)
        if isinstance(bound, Scalar):  # an argument being reassigned becomes a mutable local
            var = self.alloc_variable(bound.dtype, name)
            self.store_scalar(var, value, value_node)
            return self.rebind(name, var)
        dtype = value.dtype if isinstance(value, Scalar) else self.literal_dtype(value)
        var = self.alloc_variable(dtype, name)
        self.store_scalar(var, value, value_node)
        self.rebind(name, var)

    def store_scalar(self, var: Variable, value, node):
        if isinstance(value, Tensor):
            raise DSLTypeError(f"cannot assign tensor {value.ttype!r} to scalar '{var.name}' of type {var.dtype!r}",
                               self.loc(node))
        access.store_var(self.stored(value, var.dtype, node), var.ref)

    def visit_AugAssign(self, node):
        op = type(node.op).__name__
        target = node.target
        current = self.expr(target) if not isinstance(target, ast.Name) else self.read_name(target)
        if isinstance(current, Tensor):
            result = self.tensor_binop(op, current, self.expr(node.value), node)
            return self.assign_tensor(current, result, node)
        result = self.binop(op, current, self.expr(node.value), node)
        self.assign_to(target, result, node)

    def visit_Return(self, node):
        if node is not self.src.tree.body[-1]:
            raise DSLSyntaxError("'return' must be the last statement of a kernel", self.loc(node))
        expected = self.sig.returns
        if isinstance(node.value, ast.Constant) and node.value.value is None:  # `return None`
            node = ast.copy_location(ast.Return(value=None), node)
        if node.value is None:
            if expected:
                raise DSLTypeError(f"kernel declares return type {expected!r} but returns nothing", self.loc(node))
            func.ReturnOp([])
            return
        if not expected:
            raise DSLTypeError("kernel returns a value but declares no return type",
                               self.loc(node), hint="annotate the function, e.g. `-> int32[8]`")
        values = self.expr(node.value)
        if isinstance(values, TupleValue) and not self.sig.returns_tuple:
            raise DSLTypeError(f"returns {len(values.items)} values but the signature declares one ({expected[0]!r})",
                               self.loc(node), hint="declare every returned value, e.g. `-> (int32[8], int32[8])`")
        values = values.items if isinstance(values, TupleValue) else [values]
        if len(values) != len(expected):
            raise DSLTypeError(f"kernel declares {len(expected)} return value(s) but returns {len(values)}",
                               self.loc(node))
        outputs = iter(self.outputs)
        scalars = []
        for value, t in zip(values, expected):
            if isinstance(t, TensorType):
                self.return_tensor(value, t, next(outputs), node)
            else:
                if isinstance(value, Tensor):
                    raise DSLTypeError(f"returns tensor {value.ttype!r} where the signature says scalar {t!r}",
                                       self.loc(node))
                scalars.append(self.coerce(value, t, node))
        func.ReturnOp(scalars)

    def return_tensor(self, value, t: TensorType, out: ir.Value, node):
        if not isinstance(value, Tensor):
            raise DSLTypeError(f"returns a scalar where the signature says tensor {t!r}", self.loc(node))
        if value.shape != t.shape:
            raise ShapeError(f"returned tensor has shape {list(value.shape)} but the signature says {list(t.shape)}",
                             self.loc(node))
        owner = value.value.owner  # a Block for an argument, else the defining op
        if value.dtype == t.dtype and not isinstance(owner, ir.Block) and owner.name == "memref.alloc":
            # The returned local *is* the output: write it in place (destination-passing style).
            value.value.replace_all_uses_with(out)
            owner.erase()
            return
        self.assign_tensor(Tensor(out, t, "out"), value, node)


def _dtype_of(t):
    if isinstance(t, streams.StreamType):
        return repr(t.element)
    return repr(t.dtype if isinstance(t, TensorType) else t)


def _buffer_type(t):
    """The MLIR-facing type of an argument: a stream argument is its FIFO buffer."""
    return t.buffer_type if isinstance(t, streams.StreamType) else t


def _set_func_attrs(fop, names, types, num_outputs, scalar_results, loc, returns=()):
    fop.attributes["dsl.arg_names"] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in names])
    fop.attributes["dsl.arg_types"] = ir.ArrayAttr.get([ir.StringAttr.get(t) for t in types])
    fop.attributes["dsl.num_outputs"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), num_outputs)
    fop.attributes["dsl.result_types"] = ir.ArrayAttr.get([ir.StringAttr.get(repr(t)) for t in scalar_results])
    fop.attributes["dsl.return_kinds"] = ir.ArrayAttr.get([ir.StringAttr.get("out" if isinstance(t, TensorType)
                                                                            else "ret") for t in returns])
    fop.attributes["dsl.src"] = ir.StringAttr.get(f"{loc.file}:{loc.line}")


__all__ = ["FunctionCompiler", "builder"]
