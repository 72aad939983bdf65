"""Statements and expressions of the reference interpreter (values and typing in ``interp.py``)."""
from __future__ import annotations

import ast

import numpy as np

import dsl
from dsl import Index, TensorType, UInt

from . import types as T
from .interp import (AST_OPS, CMP, NAMED, TYPE_CTORS, Lit, Tensor, Undefined, V, as_bool, binop, cast, compare,
                     from_input, minmax, output)

MAX_WHILE = 10_000


class _Return(Exception):
    def __init__(self, values):
        self.values = values


def run(source: str, name: str, args: list):
    """Run kernel ``name`` defined in ``source`` on ``args`` (numpy arrays / Python scalars). Returns what the
    dsl's module returns: None for in-place kernels (the arrays are updated), else a value or a tuple."""
    functions = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    fdef = functions[name]
    ex = _Exec(functions)
    params = [ex.annotation(a.annotation) for a in fdef.args.args]
    tensors = {}
    for a, t, value in zip(fdef.args.args, params, args):
        if isinstance(t, TensorType):
            data = np.empty(t.shape, dtype=object)
            for idx in np.ndindex(*t.shape):
                data[idx] = from_input(value[idx], t.dtype).v
            tensors[a.arg] = Tensor(data, t.dtype)
            ex.scopes[0][a.arg] = tensors[a.arg]
        else:
            ex.scopes[0][a.arg] = from_input(value, t)
    returns = ex.return_types(fdef.returns)
    try:
        ex.body(fdef.body)
        results = None
    except _Return as r:
        results = r.values
    for a, value in zip(fdef.args.args, args):  # tensors are passed by reference
        if a.arg in tensors:
            for idx in np.ndindex(*value.shape):
                value[idx] = output(V(tensors[a.arg].data[idx], tensors[a.arg].t))
    if not returns:
        return None
    out = []
    for t, value in zip(returns, results):
        if isinstance(t, TensorType):
            arr = np.empty(t.shape, dtype=object)
            for idx in np.ndindex(*t.shape):
                arr[idx] = output(cast(V(value.data[idx], value.t), t.dtype))
            out.append(arr)
        else:
            out.append(output(cast(value, t)))
    return tuple(out) if len(out) > 1 or isinstance(fdef.returns, ast.Tuple) else out[0]


class _Exec:
    def __init__(self, functions=None):
        self.scopes = [{}]
        self.functions = functions or {}

    def call(self, fdef, args):
        """A scalar sub-kernel: arguments converted to the parameter types, the result to the return type."""
        inner = _Exec(self.functions)
        for a, value in zip(fdef.args.args, args):
            inner.scopes[0][a.arg] = cast(value, self.annotation(a.annotation))
        try:
            inner.body(fdef.body)
        except _Return as r:
            return cast(r.values[0], self.annotation(fdef.returns))
        raise Undefined("sub-kernel without return")

    # -- names and types -------------------------------------------------------------------------------
    def annotation(self, node):
        return eval(compile(ast.Expression(node), "<annotation>", "eval"),  # noqa: S307 - generated text
                    {**TYPE_CTORS, **NAMED, "dsl": dsl})

    def return_types(self, node):
        if node is None:
            return []
        value = self.annotation(node)
        return list(value) if isinstance(value, tuple) else [value]

    def lookup(self, name):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise NameError(name)

    def assign_name(self, name, value):
        for scope in reversed(self.scopes):
            if name in scope:
                old = scope[name]
                if isinstance(old, Tensor):  # a local tensor is filled (an argument never is)
                    for idx in np.ndindex(*old.data.shape):
                        old.data[idx] = cast(value, old.t).v
                else:
                    scope[name] = cast(value, old.t)
                return
        raise Undefined(f"untyped new variable {name}")

    # -- statements --------------------------------------------------------------------------------------
    def body(self, stmts):
        for s in stmts:
            getattr(self, f"s_{type(s).__name__}")(s)

    def scoped(self, stmts, bindings=None):
        self.scopes.append(dict(bindings or {}))
        try:
            self.body(stmts)
        finally:
            self.scopes.pop()

    def s_Pass(self, node):
        pass

    def s_Expr(self, node):
        if not isinstance(node.value, ast.Constant):
            self.expr(node.value)

    def s_AnnAssign(self, node):
        t = self.annotation(node.annotation)
        if isinstance(t, TensorType):
            init = self.expr(node.value)
            data = np.empty(t.shape, dtype=object)
            for idx in np.ndindex(*t.shape):
                element = V(np.broadcast_to(init.data, t.shape)[idx], init.t) if isinstance(init, Tensor) else init
                data[idx] = cast(element, t.dtype).v
            self.scopes[-1][node.target.id] = Tensor(data, t.dtype)
        else:
            self.scopes[-1][node.target.id] = cast(self.expr(node.value), t)

    def s_Assign(self, node):
        (target,) = node.targets
        self.store(target, self.expr(node.value))

    def s_AugAssign(self, node):
        current = self.expr(node.target)
        self.store(node.target, binop(AST_OPS[type(node.op)], current, self.expr(node.value)))

    def store(self, target, value):
        if isinstance(target, ast.Name):
            return self.assign_name(target.id, value)
        base = self.lookup(target.value.id)
        if isinstance(base, Tensor):
            idx = self.indices(target)
            base.data[idx] = cast(value, base.t).v
            return
        self.bit_write(target, base, value)

    def bit_write(self, target, var: V, value):
        t, sl = var.t, target.slice
        bits = var.v & ((1 << t.bits) - 1)
        if isinstance(sl, ast.Slice):
            lo, hi = self.int_of(sl.lower), self.int_of(sl.upper)
            field = cast(value, t).v & ((1 << (hi - lo)) - 1)  # the low bits, as ap_int's range() = does
            mask = ((1 << (hi - lo)) - 1) << lo
            bits = (bits & ~mask) | ((field << lo) & mask)
        else:
            k = self.int_of(sl)
            bits = (bits & ~(1 << k)) | (int(as_bool(value)) << k)
        self.assign_name(target.value.id, cast(V(bits, UInt(t.bits)), t) if t.bits > 1 else V(bits, t))

    def s_For(self, node):
        call = node.iter
        kind = ast.unparse(call.func)
        args = [self.int_of(a) for a in call.args]
        names = [e.id for e in node.target.elts] if isinstance(node.target, ast.Tuple) else [node.target.id]
        if kind == "range":
            spaces = [range(*args)]
        else:  # dsl.grid / dsl.reduction
            spaces = [range(a) for a in args]
        self._nest(names, spaces, node.body)

    def _nest(self, names, spaces, body, bound=None):
        bound = dict(bound or {})
        if not names:
            return self.scoped(body, bound)
        for value in spaces[0]:
            bound[names[0]] = V(value, Index())
            self._nest(names[1:], spaces[1:], body, bound)

    def s_While(self, node):
        for _ in range(MAX_WHILE):
            if not as_bool(self.expr(node.test)):
                return
            self.scoped(node.body)
        raise Undefined("while loop does not end")

    def s_If(self, node):
        self.scoped(node.body if as_bool(self.expr(node.test)) else node.orelse)

    def s_Return(self, node):
        value = node.value
        items = value.elts if isinstance(value, ast.Tuple) else [value]
        raise _Return([self.expr(e) for e in items])

    # -- expressions -------------------------------------------------------------------------------------
    def int_of(self, node) -> int:
        value = self.expr(node)
        return int(value.v)

    def indices(self, sub):
        sl = sub.slice
        return tuple(self.int_of(e) for e in (sl.elts if isinstance(sl, ast.Tuple) else [sl]))

    def expr(self, node):
        return getattr(self, f"e_{type(node).__name__}")(node)

    def e_Constant(self, node):
        return Lit(node.value)

    def e_Name(self, node):
        value = self.lookup(node.id)
        return value

    def e_BinOp(self, node):
        a, b = self.expr(node.left), self.expr(node.right)
        if isinstance(a, Tensor) or isinstance(b, Tensor):  # elementwise, numpy broadcasting
            shape = np.broadcast_shapes(*[x.data.shape for x in (a, b) if isinstance(x, Tensor)])
            at, bt = (np.broadcast_to(x.data, shape) if isinstance(x, Tensor) else None for x in (a, b))
            out = np.empty(shape, dtype=object)
            result_t = None
            for idx in np.ndindex(*shape):
                v = binop(AST_OPS[type(node.op)], V(at[idx], a.t) if at is not None else a,
                          V(bt[idx], b.t) if bt is not None else b)
                out[idx], result_t = v.v, v.t
            return Tensor(out, result_t)
        return binop(AST_OPS[type(node.op)], a, b)

    def e_UnaryOp(self, node):
        x = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return Lit(not x.v) if isinstance(x, Lit) else V(int(not as_bool(x)), T.BOOL)
        if isinstance(x, Lit):
            return Lit({ast.USub: lambda v: -v, ast.UAdd: lambda v: v, ast.Invert: lambda v: ~v}[type(node.op)](x.v))
        if isinstance(node.op, ast.UAdd):
            return x
        if isinstance(node.op, ast.USub):
            return binop("-", cast(Lit(0), x.t) if not T.is_fixed(x.t) else V(0, x.t), x)
        t = x.t
        return V(~x.v if T.signed(t) else (1 << t.bits) - 1 - x.v, t)

    def e_BoolOp(self, node):
        values = [as_bool(self.expr(v)) for v in node.values]
        result = all(values) if isinstance(node.op, ast.And) else any(values)
        return V(int(result), T.BOOL)

    def e_Compare(self, node):
        left, result = self.expr(node.left), None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node)
            bit = compare(CMP[type(op)], left, right)
            result = bit if result is None else V(int(as_bool(result) and as_bool(bit)), T.BOOL)
            left = right
        return result

    def e_IfExp(self, node):
        cond = self.expr(node.test)
        a, b = self.expr(node.body), self.expr(node.orelse)  # side-effect free: both typed, one taken
        if isinstance(cond, Lit):
            return a if cond.v else b
        at = T.literal(a.v, None) if isinstance(a, Lit) else a.t
        bt = T.literal(b.v, None) if isinstance(b, Lit) else b.t
        ct = T.common(at, bt)
        return cast(a if as_bool(cond) else b, ct)

    def e_Subscript(self, node):
        base = self.expr(node.value)
        if isinstance(base, Tensor):
            return V(base.data[self.indices(node)], base.t)
        t, sl = base.t, node.slice
        bits = base.v & ((1 << t.bits) - 1)
        if isinstance(sl, ast.Slice):
            lo = self.int_of(sl.lower) if sl.lower is not None else 0
            hi = self.int_of(sl.upper) if sl.upper is not None else t.bits
            return V((bits >> lo) & ((1 << (hi - lo)) - 1), UInt(hi - lo))
        k = self.int_of(sl)
        if not 0 <= k < t.bits:
            raise Undefined(f"bit {k} of {t!r}")
        return V((bits >> k) & 1, T.BOOL)

    def e_Call(self, node):
        func = node.func
        if isinstance(func, ast.Call):  # Int(12)(x), Fixed(16, 8)(x)
            ctor = TYPE_CTORS[func.func.id]
            return cast(self.expr(node.args[0]), ctor(*[a.value for a in func.args]))
        name = ast.unparse(func)
        args = [self.expr(a) for a in node.args]
        if name in self.functions:
            return self.call(self.functions[name], args)
        if name in ("min", "max", "dsl.min", "dsl.max"):
            return minmax(min if "min" in name else max, args)
        if name in ("abs", "dsl.abs"):
            (x,) = args
            if isinstance(x, Lit):
                return Lit(abs(x.v))
            return V(abs(x.v) if not T.is_float(x.t) else np.float32(abs(x.v)), T.absolute(x.t))
        if name in ("float", "int") and isinstance(args[0], Lit):  # a constant stays a Python constant
            return Lit(float(args[0].v) if name == "float" else int(args[0].v))
        if name == "float":
            return cast(args[0], dsl.float32)
        if name == "int":
            return cast(args[0], T.INT32)
        if name in NAMED:
            return cast(args[0], NAMED[name])
        raise Undefined(f"call of {name}")
