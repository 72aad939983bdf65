"""Values the frontend passes around while it walks a kernel's AST."""
from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir

from ..types import DSLType, TensorType


@dataclass
class Scalar:
    """An SSA scalar of a dsl type."""

    value: ir.Value
    dtype: DSLType


@dataclass
class Literal:
    """A Python number not yet given a type: it adopts the type of what it meets."""

    value: object  # int | float | bool


@dataclass
class Tensor:
    """A memref of a dsl element type (a kernel argument, a local buffer or a sub-view)."""

    value: ir.Value
    ttype: TensorType
    name: str = ""
    role: str = "local"  # "arg" (the caller's array), "const" (a module-level numpy constant) or "local"

    @property
    def dtype(self) -> DSLType:
        return self.ttype.dtype

    @property
    def shape(self) -> tuple:
        return self.ttype.shape


@dataclass
class Variable:
    """A mutable scalar local: a rank-0 memref that is loaded on each read."""

    ref: ir.Value
    dtype: DSLType
    name: str


@dataclass
class LoopVar:
    """A loop's induction variable (``index``); affine loops can use it in affine maps."""

    value: ir.Value
    affine: bool
    name: str


@dataclass
class PyObject:
    """A compile-time Python object (a module, function, type, tuple of constants...)."""

    obj: object


@dataclass
class TupleValue:
    items: list = field(default_factory=list)


def compile_time(value):
    """The Python value of a compile-time constant (literal, Python object, tuple of those), else None."""
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, PyObject):
        return value.obj
    if isinstance(value, TupleValue):
        items = [compile_time(v) for v in value.items]
        return None if any(v is None for v in items) else tuple(items)
    return None


def describe(v) -> str:
    if isinstance(v, Tensor):
        return f"tensor {v.ttype!r}"
    if isinstance(v, Scalar):
        return f"scalar {v.dtype!r}"
    if isinstance(v, Literal):
        return f"constant {v.value!r}"
    if isinstance(v, TupleValue):
        return "a tuple"
    if isinstance(v, PyObject):
        return f"Python object {v.obj!r}"
    return type(v).__name__
