"""Struct types (Allo's ``Struct({"x": int32, "y": float32})``): named fields of scalar types, used as local
values inside a kernel::

    Point = dsl.Struct({"x": int32, "y": float32})

    def k(xs: int32[16], ys: float32[16]) -> int32:
        total: int32 = 0
        for i in range(16):
            p: Point = {"x": xs[i], "y": ys[i]}
            total += p["x"] + int(p.y)
        return total

A struct local is its fields, each an ordinary scalar variable (``p.x`` and ``p["x"]`` are the same), so
every backend sees plain scalars. Deliberately not supported: structs as kernel arguments or results and
arrays of structs: the CPU boundary passes numpy arrays of numbers and an HLS interface maps each
argument to one memory port; pass one array per field instead (what an HLS array_partition of a struct
array would do anyway).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..errors import DSLNameError, DSLTypeError
from ..types import DSLType, TensorType

_NO_AGGREGATES = ("structs are local values of a kernel: they cannot be kernel arguments, results or array "
                  "elements (the CPU boundary passes numpy arrays of numbers and each HLS argument is one "
                  "memory port); pass one array per field instead")


class StructType:
    """A struct type: an ordered mapping from field name to scalar dsl type."""

    def __init__(self, fields=None, **kwargs):
        fields = dict(fields or {}, **kwargs)
        if not fields:
            raise DSLTypeError("Struct needs at least one field, e.g. Struct({'x': int32})")
        for name, t in fields.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise DSLTypeError(f"struct field names must be identifiers, got {name!r}")
            if not isinstance(t, DSLType) or t.is_index:
                raise DSLTypeError(f"struct field '{name}' must have a scalar dsl type such as int32, got {t!r}")
        self.fields = fields

    def __getitem__(self, shape):
        raise DSLTypeError(f"arrays of structs are not supported: {_NO_AGGREGATES}")

    def __eq__(self, other):
        return isinstance(other, StructType) and list(self.fields.items()) == list(other.fields.items())

    def __hash__(self):
        return hash(tuple(self.fields.items()))

    def __repr__(self):
        return "Struct({" + ", ".join(f"{k!r}: {v!r}" for k, v in self.fields.items()) + "})"


Struct = StructType


@dataclass
class StructValue:
    stype: StructType
    fields: dict  # field name -> Variable
    name: str


@dataclass
class DictValue:
    """A ``{"x": ..., "y": ...}`` literal inside a kernel (only meaningful as a struct's value)."""

    items: dict
    node: ast.AST = None


def dict_literal(fc, node: ast.Dict) -> DictValue:
    items = {}
    for k, v in zip(node.keys, node.values):
        if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
            raise DSLTypeError("a dict in a kernel is a struct value: its keys are field names (strings)",
                               fc.loc(k if k is not None else node))
        items[k.value] = fc.expr(v)
    return DictValue(items, node)


def declare(fc, name: str, stype: StructType, node: ast.AnnAssign):
    fields = {f: fc.alloc_variable(t, f"{name}.{f}") for f, t in stype.fields.items()}
    value = StructValue(stype, fields, name)
    if node.value is not None:
        assign(fc, value, fc.expr(node.value), node.value)
    fc.bind(name, value)


def assign(fc, dst: StructValue, value, node):
    """``p = {...}`` (every field given) or ``p = q`` (a struct of the same type)."""
    if isinstance(value, StructValue):
        if value.stype != dst.stype:
            raise DSLTypeError(f"cannot assign a {value.stype!r} to '{dst.name}' of type {dst.stype!r}", fc.loc(node))
        items = {f: _load(var) for f, var in value.fields.items()}
    elif isinstance(value, DictValue):
        items = value.items
    else:
        raise DSLTypeError(f"'{dst.name}' is a struct {dst.stype!r}: assign a dict of its fields or another "
                           "struct", fc.loc(node))
    missing = [f for f in dst.stype.fields if f not in items]
    unknown = [f for f in items if f not in dst.stype.fields]
    if missing or unknown:
        raise DSLTypeError(f"struct '{dst.name}' has the fields {', '.join(dst.stype.fields)}"
                           + (f"; missing: {', '.join(missing)}" if missing else "")
                           + (f"; unknown: {', '.join(unknown)}" if unknown else ""), fc.loc(node))
    for f, v in items.items():
        fc.store_scalar(dst.fields[f], v, node)


def _load(var):
    from . import access
    from .values import Scalar

    return Scalar(access.load_var(var.ref, var.dtype), var.dtype)


def _field_name(fc, s: StructValue, key_node, node) -> str:
    key = key_node.value if isinstance(key_node, ast.Constant) else None
    if not isinstance(key, str):
        raise DSLTypeError(f"index struct '{s.name}' with a field name string, e.g. {s.name}['x']", fc.loc(node))
    if key not in s.fields:
        raise DSLNameError(f"struct '{s.name}' has no field '{key}'; its fields: {', '.join(s.fields)}",
                           fc.loc(node))
    return key


def read_field(fc, s: StructValue, key_node, node):
    return _load(s.fields[_field_name(fc, s, key_node, node)])


def read_attribute(fc, s: StructValue, attr, node):
    return read_field(fc, s, ast.Constant(attr), node)


def store_field(fc, s: StructValue, key_node, value, node):
    fc.store_scalar(s.fields[_field_name(fc, s, key_node, node)], value, node)


def refuse_aggregate(what: str) -> str:
    return f"{what}: {_NO_AGGREGATES}"


__all__ = ["Struct", "StructType", "StructValue", "DictValue", "TensorType"]
