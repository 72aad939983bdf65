"""Stateful variables: locals that keep their value from one call of a kernel to the next.

    def counter(x: int32) -> int32:
        total: int32 @ dsl.Stateful = 0      # Allo's spelling; dsl.Stateful[int32] is the same
        total = total + x
        return total

The initial value is given once, when the design is loaded (a compile-time constant: a number, a list or a
numpy array); every call sees what the previous one left. In the IR a stateful variable is a private,
non-constant ``memref.global`` marked ``dsl.stateful`` (IR.md), read through ``memref.get_global``: the CPU
JIT keeps it in the module's memory, HLS emits it with static storage (UG1399: static variables keep their
value between calls of the function), and csim carries it from one run of the testbench to the next.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import memref

from ..errors import DSLNameError, DSLTypeError
from ..types import DSLType, TensorType

STATEFUL_ATTR = "dsl.stateful"


@dataclass(frozen=True)
class StatefulType:
    """``int32 @ Stateful`` / ``Stateful[float32[8]]``: a scalar or tensor type whose value persists."""

    inner: object  # DSLType or TensorType

    def __repr__(self):
        return f"{self.inner!r} @ Stateful"


class _Stateful:
    """The ``dsl.Stateful`` marker: ``T @ dsl.Stateful`` or ``dsl.Stateful[T]``."""

    def _wrap(self, inner):
        if not isinstance(inner, (DSLType, TensorType)):
            raise DSLTypeError(f"Stateful applies to a dsl type such as int32 or float32[8], got {inner!r}")
        return StatefulType(inner)

    def __rmatmul__(self, inner):
        return self._wrap(inner)

    def __getitem__(self, inner):
        return self._wrap(inner)

    def __repr__(self):
        return "dsl.Stateful"


Stateful = _Stateful()


def declare(fc, name: str, stype: StatefulType, node: ast.AnnAssign):
    """Compile ``name: T @ Stateful = init``: a global holding the state, bound in the current scope."""
    from .source import check_type
    from .values import Tensor, Variable

    inner = check_type(stype.inner, node.annotation, fc.src, f"declaration of '{name}'")
    shape = inner.shape if isinstance(inner, TensorType) else ()
    dtype = inner.dtype if isinstance(inner, TensorType) else inner
    init = _initial_value(fc, name, node.value, shape)
    mtype = ir.MemRefType.get(list(shape), dtype.mlir())
    symbol = fc.unit._fresh_symbol(f"__state_{fc.symbol}_{name}")
    with ir.InsertionPoint.at_block_begin(fc.unit.module.body), ir.Location.unknown():
        glob = memref.GlobalOp(sym_name=symbol, type_=mtype, sym_visibility=ir.StringAttr.get("private"),
                               initial_value=_dense(init, dtype, shape))
    for attr, value in ((STATEFUL_ATTR, ir.UnitAttr.get()), ("dsl.name", ir.StringAttr.get(name)),
                        ("dsl.type", ir.StringAttr.get(repr(dtype)))):
        glob.attributes[attr] = value
    with ir.InsertionPoint.at_block_begin(fc.entry_block):  # dominates every use, wherever it is declared
        ref = memref.GetGlobalOp(mtype, symbol)
    for attr, value in (("dsl.name", ir.StringAttr.get(name)), ("dsl.type", ir.StringAttr.get(repr(dtype))),
                        (STATEFUL_ATTR, ir.UnitAttr.get())):
        ref.attributes[attr] = value
    fc.bind(name, Tensor(ref.result, inner, name) if shape else Variable(ref.result, dtype, name))


def _initial_value(fc, name, value_node, shape) -> np.ndarray:
    """The initial value as an array of ``shape``: it must be known when the kernel is compiled."""
    if value_node is None:
        return np.zeros(shape or (), dtype=object)
    used = {n.id for n in ast.walk(value_node) if isinstance(n, ast.Name)}
    runtime = sorted(n for n in used if any(n in scope for scope in fc.scopes))
    if runtime:
        raise DSLTypeError(f"the initial value of stateful '{name}' must be a compile-time constant; it uses "
                           f"the kernel value(s) {', '.join(runtime)}", fc.loc(value_node),
                           hint="the state is initialised once, when the design is loaded: assign run-time "
                                "values in a statement after the declaration")
    try:
        value = eval(compile(ast.Expression(value_node), fc.src.file, "eval"), fc.env)  # noqa: S307 - user code
    except NameError as exc:
        raise DSLNameError(f"initial value of stateful '{name}': {exc}", fc.loc(value_node)) from None
    except Exception as exc:
        raise DSLTypeError(f"initial value of stateful '{name}' is not a compile-time constant: {exc}",
                           fc.loc(value_node)) from None
    try:
        array = np.array(value, dtype=object)
        return np.broadcast_to(array, shape or ()).copy()
    except ValueError:
        raise DSLTypeError(f"initial value of stateful '{name}' has shape {list(np.shape(value))}, which does "
                           f"not fit {list(shape)}", fc.loc(value_node)) from None


def _dense(values: np.ndarray, dtype: DSLType, shape) -> ir.Attribute:
    """A dense attribute of the storage values (integers wrapped to the width, fixed point as raw bits)."""
    words = [_literal(v, dtype) for v in values.reshape(-1)]
    body = words[0] if len(set(words)) == 1 else "[" + ", ".join(words) + "]"
    tensor = f"tensor<{'x'.join(map(str, shape)) + 'x' if shape else ''}{dtype.mlir()}>"
    return ir.Attribute.parse(f"dense<{body}> : {tensor}")


def _literal(v, dtype: DSLType) -> str:
    if dtype.is_float:
        if not np.isfinite(float(v)):
            raise DSLTypeError(f"a stateful initial value must be finite, got {v!r}")
        return repr(float(v))
    if dtype.is_index:
        return str(int(v))
    if dtype.is_fixed:
        import math

        v = math.floor(float(v) * (1 << dtype.frac))
    raw = int(v) & ((1 << dtype.bits) - 1)
    if dtype.bits == 1:
        return "true" if raw else "false"
    if raw >= 1 << (dtype.bits - 1):  # MLIR prints and parses the signed view of signless integers
        raw -= 1 << dtype.bits
    return str(raw)


def is_stateful(op) -> bool:
    return STATEFUL_ATTR in op.attributes
