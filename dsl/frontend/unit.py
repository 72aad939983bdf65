"""A compilation unit: one MLIR module holding a top kernel and every sub-kernel instance it calls."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
from mlir import ir
from mlir.dialects import memref

from ..errors import DSLError, DSLSyntaxError, DSLTypeError, SourceLoc
from ..types import NUMPY_TO_DSL, TensorType
from .meta import has_meta_for, unroll_meta_for
from .source import bind_type_params, read_kernel, read_signature


class CompilationUnit:
    def __init__(self, context: ir.Context):
        self.context = context
        with context, ir.Location.unknown():
            self.module = ir.Module.create()
        self._instances: dict = {}   # (fn, type args, arg types) -> symbol
        self._sources: dict = {}     # fn -> KernelSource
        self._symbols: set = set()
        self._in_progress: set = set()
        self._globals: dict = {}     # id(array) -> (symbol, array)

    # -- kernels -----------------------------------------------------------------------------------
    def source(self, fn):
        extra = getattr(self, "extra_sources", None)  # PE kernels rewritten by a region compiled in here
        if extra and fn in extra:
            return extra[fn]
        if fn not in self._sources:
            self._sources[fn] = read_kernel(fn)
        return self._sources[fn]

    def env_for(self, fn, type_args, loc=None):
        src = self.source(fn)
        env = dict(getattr(self, "caller_names", {}))  # names of customize's callers, lowest precedence
        env.update(src.env)
        if src.type_params:
            if type_args is None:
                raise DSLTypeError(f"kernel {src.name!r} has type parameters [{', '.join(src.type_params)}]: "
                                   f"instantiate it, e.g. {src.name}[int8, 16](...)", loc)
            env.update(bind_type_params(src, type_args, loc))
        elif type_args is not None:
            raise DSLTypeError(f"kernel {src.name!r} has no type parameters", loc)
        return src, env

    def signature_of(self, fn, type_args, loc=None):
        src, env = self.env_for(fn, type_args, loc)
        return src, _instance_signature(src, env, type_args, loc)

    def instance(self, fn, type_args, arg_types=None, loc: SourceLoc | None = None, top=False,
                 instance_id: str | None = None) -> str:
        """Compile (once) the instance of ``fn`` for these type arguments and argument memref types (and
        instance id: ``kernel[T, "id"]`` is a function of its own, ``kernel_id``)."""
        from .function import FunctionCompiler

        key = (fn, _hashable(type_args), tuple(str(t) for t in arg_types or ()), instance_id)
        if key in self._instances:
            return self._instances[key]
        if key in self._in_progress:
            raise DSLSyntaxError(f"kernel {fn.__name__!r} calls itself: recursion is not supported in hardware; "
                                 "write the recursion as a loop", loc)
        src, env = self.env_for(fn, type_args, loc)
        sig = _instance_signature(src, env, type_args, loc)
        if has_meta_for(src.tree):  # per instance: the bounds may use type parameters
            tree = copy.deepcopy(src.tree)
            tree.body = unroll_meta_for(src, tree.body, env)
            src = dataclasses.replace(src, tree=tree)
        symbol = self._fresh_symbol(fn.__name__ if instance_id is None else f"{fn.__name__}_{instance_id}")
        self._in_progress.add(key)
        try:
            with self.context, ir.InsertionPoint(self.module.body), ir.Location.file(src.file, src.tree.lineno, 1):
                fc = FunctionCompiler(self, src, sig, env, symbol, list(arg_types) if arg_types else None)
                fop = fc.compile()
                if top:
                    fop.attributes["dsl.top"] = ir.UnitAttr.get()
                else:
                    fop.attributes["sym_visibility"] = ir.StringAttr.get("private")
        finally:
            self._in_progress.discard(key)
        self._instances[key] = symbol
        return symbol

    def _fresh_symbol(self, name):
        symbol, n = name, 0
        while symbol in self._symbols:
            n += 1
            symbol = f"{name}_{n}"
        self._symbols.add(symbol)
        return symbol

    # -- constants ---------------------------------------------------------------------------------
    def constant_tensor(self, array: np.ndarray, name: str, fc):
        from .values import Tensor

        dtype = NUMPY_TO_DSL.get(array.dtype)
        if dtype is None:
            raise DSLTypeError(f"numpy array '{name}' has dtype {array.dtype}, which has no dsl type")
        ttype = TensorType(dtype, tuple(int(x) for x in array.shape))
        key = id(array)
        if key not in self._globals:
            symbol = self._fresh_symbol(f"__const_{name or 'array'}")
            with ir.InsertionPoint.at_block_begin(self.module.body), ir.Location.unknown():
                data = np.ascontiguousarray(array)
                attr = ir.DenseElementsAttr.get(data, type=ttype.mlir().element_type, shape=list(data.shape)) \
                    if data.dtype != np.bool_ else ir.DenseElementsAttr.get(data.astype(np.int8).astype(bool))
                memref.GlobalOp(sym_name=symbol, type_=ttype.mlir(), sym_visibility=ir.StringAttr.get("private"),
                                initial_value=attr, constant=True)
            self._globals[key] = (symbol, array)
        symbol = self._globals[key][0]
        op = memref.GetGlobalOp(ttype.mlir(), symbol)
        op.attributes["dsl.name"] = ir.StringAttr.get(name)
        op.attributes["dsl.type"] = ir.StringAttr.get(repr(dtype))
        return Tensor(op.result, ttype, name, role="const")


def _instance_signature(src, env, type_args, loc):
    """The signature of one instance; an error in it (at the template's line) also names the instantiation."""
    try:
        return read_signature(src, env)
    except DSLError as exc:
        if type_args is not None and loc is not None:
            args = ", ".join(repr(a) for a in _hashable(type_args))
            note = f"in {src.name}[{args}], instantiated at {loc}"
            exc.hint = f"{exc.hint}; {note}" if exc.hint else note
            exc.args = (exc._render(),)
        raise


def _hashable(args):
    if args is None:
        return None
    return tuple(args) if isinstance(args, (list, tuple)) else (args,)
