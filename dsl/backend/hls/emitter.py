"""The HLS C++ emitter: walks a scheduled module and prints Vitis HLS C++.

Each MLIR op is printed by one small function found in a table (op name -> function); the tables live in
``ops_arith``, ``ops_memref`` and ``ops_control``. This module holds what they share: value names, buffers,
indentation, source-line comments, helper functions the kernel needs, and the module/function skeleton.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from mlir import ir

from ...errors import BuildError, SourceLoc
from ...types import DSLType, parse_type
from . import helpers, pragmas
from .identifiers import is_legal, legal_base
from .streams import VITIS_MACROS, stream_load_is_live
from ...frontend.index_ranges import IndexRanges
from .types import dsl_ctype, value_ctype

_LOC = re.compile(r'loc\("([^"]*)":(\d+):(\d+)')
PURE_DIALECTS = ("arith.", "math.")
PURE_OPS = {"affine.load", "memref.load", "affine.apply", "affine.min", "affine.max", "memref.get_global",
            "memref.subview", "memref.cast"}


def source_loc(op) -> SourceLoc | None:
    """The Python file/line/column an op came from (``loc("f.py":L:C)``, innermost of fused/call-site locs)."""
    match = _LOC.search(str(op.location))
    if match is None:
        return None
    return SourceLoc(match.group(1), int(match.group(2)), max(int(match.group(3)) - 1, 0))


def c_function_name(name: str) -> str:
    """The C++ name of a kernel function: the Python name, or with a ``_kernel`` suffix where that is not a
    legal identifier (a C library function such as ``exp``, a keyword, a reserved name; ``identifiers``)."""
    if is_legal(name):
        return name
    base = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9_]", "_", name)).lstrip("_") or "k"
    return f"{'k_' if base[0].isdigit() else ''}{base}_kernel"


def op_error(op, message: str) -> BuildError:
    loc = source_loc(op)
    where = f" (from {loc.file}:{loc.line})" if loc else ""
    return BuildError(f"HLS backend: {message}{where}", loc)


def attr_str(attrs, name, default=None):
    return ir.StringAttr(attrs[name]).value if name in attrs else default


def attr_int(attrs, name, default=None):
    return ir.IntegerAttr(attrs[name]).value if name in attrs else default


def str_list(attr) -> list:
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(attr)]


@dataclass
class Buffer:
    """A memref the kernel reads or writes: its C++ expression and dsl element type."""

    expr: str
    dtype: DSLType | None  # None: element type is the storage type itself (no fixed-point view)
    stream: bool = False
    token: str | None = None  # a stream of blocks: the struct one token is (streams.token_type)

    @property
    def is_fixed(self) -> bool:
        return self.dtype is not None and self.dtype.is_fixed


class Names:
    """C++ identifiers, unique within a function, readable (Python names, loop variables), legal
    (``identifiers.legal_base``: a reserved or illegal name becomes ``v_<name>``)."""

    def __init__(self, reserved=()):
        self.used = set(reserved)
        self.counter = 0

    def fresh(self, hint: str) -> str:
        base = legal_base(hint)
        name, n = base, 1
        while name in self.used or not is_legal(name):
            name, n = f"{base}{n}", n + 1
        self.used.add(name)
        return name

    def temp(self) -> str:
        while True:
            self.counter += 1
            name = f"v{self.counter}"
            if name not in self.used:
                self.used.add(name)
                return name


@dataclass
class FunctionEmitter:
    """Emits one func.func body. ``ops`` is the merged op table."""

    module: "ModuleEmitter"
    func: object
    ops: dict
    lines: list = field(default_factory=list)
    depth: int = 1
    values: dict = field(default_factory=dict)  # ir.Value -> C++ expression
    buffers: dict = field(default_factory=dict)  # memref ir.Value -> Buffer
    nonneg: set = field(default_factory=set)  # index values known to be >= 0 (plain / and % are exact)
    yield_targets: list = field(default_factory=list)  # stack of (kind, [var names]) for yields
    labels: Names = field(default_factory=Names)
    names: Names = field(default_factory=Names)
    band: list = field(default_factory=list)  # stack of enclosing band names
    epilogue: list = field(default_factory=list)  # callables emitting what runs before the function returns
    index_ranges: IndexRanges = field(default_factory=IndexRanges)  # index values wider than `int` (index_ranges.py)

    # -- values ---------------------------------------------------------------------------------
    def expr(self, value) -> str:
        try:
            return self.values[value]
        except KeyError:
            raise BuildError(f"HLS backend: value {value.get_name()} used before it is defined") from None

    def bind(self, value, expr: str):
        self.values[value] = expr

    def declare(self, op, value, rhs: str, hint: str | None = None) -> str:
        """``T name = rhs;`` for an op result; the name is bound to the value."""
        name = self.names.fresh(hint) if hint else self.names.temp()
        self.stmt(op, f"{self.ctype(value)} {name} = {rhs};")
        self.bind(value, name)
        return name

    def ctype(self, value) -> str:
        """The C++ type of an SSA value: an index value is ``int`` unless it can leave 32 bits."""
        if isinstance(value.type, ir.IndexType):
            return "int64_t" if self.index_ranges.wide(value) else "int"
        return value_ctype(value.type)

    # -- output ---------------------------------------------------------------------------------
    def stmt(self, op, text: str):
        loc = source_loc(op) if op is not None else None
        comment = f"  // {os.path.basename(loc.file)}:{loc.line}" if loc else ""
        self.lines.append(f"{'  ' * self.depth}{text}{comment}")

    def raw(self, text: str):
        self.lines.append(f"{'  ' * self.depth}{text}")

    def pragma(self, text: str):
        self.raw(f"#pragma HLS {text}")

    def need(self, helper: str):
        self.module.helpers.add(helper)

    # -- walking --------------------------------------------------------------------------------
    def emit_block(self, block):
        for op in block.operations:
            self.emit_op(op)

    def emit_op(self, op):
        name = op.operation.name
        if _is_dead(self, op.operation):
            return
        handler = self.ops.get(name)
        if handler is None:
            raise op_error(op, f"cannot emit op '{name}'")
        handler(self, op)


def _is_dead(fe, op) -> bool:
    """Pure ops whose results nobody reads are skipped (no unused variables in the C++): no op uses them, or
    only dead ops and comparisons whose outcome is known without their operands (``i < i``). A read of a
    stream is never dead: it takes a token."""
    name = op.name
    if not (name.startswith(PURE_DIALECTS) or name in PURE_OPS) or not len(op.results):
        return False
    if name in ("affine.load", "memref.load") and stream_load_is_live(fe, op):
        return False
    return not any(_reads(fe, use.owner) for r in op.results for use in r.uses)


def _reads(fe, owner) -> bool:
    from .ops_arith import known_cmpi

    owner = owner.operation if hasattr(owner, "operation") else owner
    if owner.name == "arith.cmpi" and known_cmpi(owner, fe) is not None:
        return False
    return not _is_dead(fe, owner)


class ModuleEmitter:
    """Emits a whole module: globals, sub-functions (callees first), the top function, its header."""

    def __init__(self, module: ir.Module, top: str, ops: dict):
        self.module = module
        self.top = top
        self.ops = ops
        self.helpers: set = set()
        self.includes: set = set()
        self.tokens: dict = {}  # struct name -> definition, for streams of blocks (kernel.h)
        self.globals: dict = {}  # symbol name -> (C name, dsl type or None)
        self.funcs = {f.attributes["sym_name"].value: f for f in module.body.operations
                      if f.operation.name == "func.func"}

    def emit(self) -> tuple[str, str]:
        from .signature import function_signature, top_interface

        global_lines = self._globals()
        bodies, prototypes = [], []
        for fname in self._call_order():
            func = self.funcs[fname]
            is_top = fname == self.top
            sig = function_signature(self, func, is_top)
            fe = FunctionEmitter(self, func, self.ops)
            fe.names.used.update(sig.param_names)
            fe.names.used.update(c_function_name(name) for name in self.funcs)
            fe.names.used.update(c for c, _ in self.globals.values())
            sig.bind(fe)
            if is_top:
                top_interface(fe, sig)
            else:  # a partitioned buffer passed to a kernel: the argument is partitioned the same way
                for p in sig.params:
                    if p.kind == "array":
                        pragmas.partition_from_arg(fe, p)
            pragmas.function_pragmas(fe, func)
            fe.emit_block(func.regions[0].blocks[0])
            prefix = 'extern "C" ' if is_top else "static "
            bodies.append("\n".join([f"{prefix}{sig.declaration} {{", *fe.lines, "}"]))
            if is_top:
                prototypes.append(f'extern "C" {sig.declaration};')
        header = self._header(prototypes)
        parts = ['#include "kernel.h"', *sorted(self.includes), *helpers.render(self.helpers),
                 *global_lines, *bodies]
        return "\n\n".join(p for p in parts if p) + "\n", header

    def _header(self, prototypes) -> str:
        guard = f"DSL_{self.top.upper()}_H"
        incl = ["#include <ap_fixed.h>", "#include <ap_int.h>", "#include <cstdint>", "#include <hls_stream.h>"]
        if widest_int(self.module) > 1024:  # ap_int's default limit; UG1399 allows up to 4096 with the macro
            incl.insert(0, f"#define AP_INT_MAX_W {AP_INT_MAX_W}")
        if "half" in " ".join(prototypes) or self.uses_half:
            incl.append("#include <hls_half.h>")
        macros = [VITIS_MACROS, ""] if self.dataflow else []
        tokens = [*self.tokens.values(), ""] if self.tokens else []
        return "\n".join([f"#ifndef {guard}", f"#define {guard}", "", *incl, "", *macros, *tokens, *prototypes, "",
                          f"#endif  // {guard}", ""])

    uses_half = False
    dataflow = False  # a dataflow function was emitted: kernel.h defines the csim process macros

    def _globals(self) -> list:
        from .ops_memref import emit_global
        from .signature import function_signature

        # a constant's C++ name must not be hidden by a parameter of any function, nor hide a function
        self.global_scope = {c_function_name(name) for name in self.funcs} | {
            n for name, f in self.funcs.items() for n in function_signature(self, f, name == self.top).param_names}
        return [emit_global(self, op) for op in self.module.body.operations
                if op.operation.name == "memref.global"]

    def _call_order(self) -> list:
        """Functions reachable from the top, callees before callers (C++ needs declarations first)."""
        order, seen = [], set()

        def visit(name):
            if name in seen:
                return
            seen.add(name)
            if name not in self.funcs:
                raise BuildError(f"HLS backend: call to unknown function '{name}'")
            for callee in _callees(self.funcs[name]):
                visit(callee)
            order.append(name)

        visit(self.top)
        return order


AP_INT_MAX_W = 4096


def widest_int(module) -> int:
    """The widest integer type in the module (``iN`` in its text)."""
    return max((int(w) for w in re.findall(r"\bi(\d+)\b", str(module))), default=0)


def _callees(func) -> list:
    found = []

    def walk(op):
        if op.operation.name == "func.call":
            found.append(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
        return ir.WalkResult.ADVANCE

    func.operation.walk(walk)
    return found


def arg_dsl_types(func) -> list:
    attrs = func.attributes
    if "dsl.arg_types" not in attrs:
        return [None] * len(func.regions[0].blocks[0].arguments)
    return [parse_type(t) for t in str_list(attrs["dsl.arg_types"])]


def element_ctype(buffer: Buffer, mtype) -> str:
    return dsl_ctype(buffer.dtype) if buffer.dtype is not None else value_ctype(mtype.element_type)
