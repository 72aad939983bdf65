"""``def`` inside a kernel (Allo allows it): a helper kernel of its own, compiled like a module-level one
when it is called::

    def kernel(A: int32[10]) -> int32[10]:
        def inc(x: int32) -> int32:
            return x + 1
        B: int32[10] = 0
        for i in range(10):
            B[i] = inc(A[i])
        return B

The helper sees what a module-level kernel would (globals, closure values, type parameters and the
enclosing kernel's compile-time constants), and its own parameters and locals. It cannot read the enclosing
kernel's run-time variables (a separate function in hardware has no access to them): that is refused at
the use, naming the variable, with the advice to pass it as an argument.
"""
from __future__ import annotations

import ast
import copy

from ..errors import DSLNameError, DSLSyntaxError
from .values import Literal, PyObject


class NestedKernel:
    """A ``def`` inside a kernel: calling it compiles it once per argument types (``__dsl_call__``)."""

    def __init__(self, name, qualname):
        self.__name__ = name
        self.__qualname__ = qualname

    def __dsl_call__(self, fc, type_args, node):
        return fc.call_kernel(self, type_args, node)

    def __repr__(self):
        return f"<nested kernel {self.__qualname__}>"


def define(fc, node: ast.FunctionDef):
    from .source import KernelSource

    if node.decorator_list:
        raise DSLSyntaxError(f"a nested kernel takes no decorators ('{node.name}')", fc.loc(node))
    bound = fc.lookup_quiet(node.name) if any(node.name in s for s in fc.scopes) else None
    if bound is not None:
        raise DSLNameError(f"'{node.name}' is already a name of this kernel; a nested def cannot reuse it",
                           fc.loc(node))
    _refuse_captures(fc, node)
    env = dict(fc.env)
    for scope in fc.scopes:  # compile-time values of the enclosing kernel (ConstExpr, meta indices)
        env.update({k: v.value for k, v in scope.items() if isinstance(v, Literal)})
    tree = copy.deepcopy(node)
    obj = NestedKernel(node.name, f"{fc.src.name}.{node.name}")
    if not hasattr(fc.unit, "extra_sources"):
        fc.unit.extra_sources = {}
    fc.unit.extra_sources[obj] = KernelSource(obj, tree, fc.src.file, env)
    fc.bind(node.name, PyObject(obj))


def _refuse_captures(fc, node):
    """A name the helper reads that is none of its own and is a run-time value of the enclosing kernel."""
    own = {a.arg for a in node.args.args}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            own.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.arg)) and n is not node:
            own.add(n.name if isinstance(n, ast.FunctionDef) else n.arg)
    for n in ast.walk(node):
        if not (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)) or n.id in own:
            continue
        outer = next((s[n.id] for s in reversed(fc.scopes) if n.id in s), None)
        if outer is not None and not isinstance(outer, (Literal, PyObject)):
            raise DSLNameError(f"nested kernel '{node.name}' reads '{n.id}', a run-time value of the enclosing "
                               "kernel; a nested def is a function of its own", fc.loc(n),
                               hint=f"pass '{n.id}' to '{node.name}' as an argument")
