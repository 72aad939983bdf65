"""Naming: turning the strings and handles users pass to primitives into functions, loops and buffers.

Loops are found by ``loop_name`` (the Python iteration variable), bands by ``op_name``; a path is
``[func:][band:]loop`` and the function defaults to the one the schedule (or a composed sub-schedule)
targets. Buffers are ``[func:]name`` for arguments (``dsl.arg_names``) and locals (``dsl.name``).
Handles are thin wrappers around such paths, so they stay valid when a primitive rebuilds the IR.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from mlir import ir

from . import irutil as U


# -- handles ----------------------------------------------------------------------------------------------
class LoopHandle:
    """A loop, by path (``"S_i_j_0:j"``, ``"gemm:S_i_j_0:j"``); pass it wherever a loop name is expected."""

    def __init__(self, path: str, info: str = ""):
        self.path = path
        self.info = info

    def __str__(self):
        return self.path

    def __repr__(self):
        return f"<loop {self.path}{' ' + self.info if self.info else ''}>"


class BufferHandle:
    """A buffer (argument or local tensor), by ``[func:]name``; ``s.B`` returns one."""

    def __init__(self, path: str, shape=(), element=""):
        self.path = path
        self.shape = tuple(shape)
        self.element = element

    @property
    def name(self):
        return self.path.rsplit(":", 1)[-1]

    def __str__(self):
        return self.path

    def __repr__(self):
        return f"<buffer {self.path}: {self.element}{list(self.shape)}>"


class Band(dict):
    """Loops of one band by name: ``band["j"]``; ``str(band)`` is the band's name.

    Iterating gives the band's own loops, outermost first. A lookup also finds a loop nested deeper, in
    another band inside this one, as Allo's bands hold their whole loop nest (``loops["outer"]["k"]``);
    ``nested`` maps those names to their handles (``None`` where two nested loops share the name).
    """

    def __init__(self, path: str, loops: dict, nested: dict | None = None):
        super().__init__(loops)
        self.path = path
        self.nested = dict(nested or {})

    def __str__(self):
        return self.path

    def __missing__(self, key):
        return self._nested(key, KeyError)

    def __getattr__(self, name):  # Allo's style: loops.C.j
        if name.startswith("_") or name == "nested":
            raise AttributeError(name)
        if name in self:
            return self[name]
        return self._nested(name, AttributeError)

    def _nested(self, key, error):
        handle = self.nested.get(key, False)
        if handle:
            return handle
        if handle is None:
            raise error(f"band {self.path!r} holds several loops named {key!r} in the bands nested in it: "
                        f"name the inner band (its path is 'band:loop', see print(s.get_loops()))")
        inner = f"; nested in it: {', '.join(self.nested)}" if self.nested else ""
        raise error(f"band {self.path!r} has no loop {key!r}; its loops: {', '.join(self)}{inner}")

    @property
    def loops(self) -> dict:
        """The loops by name, outermost first (Allo's ``band.loops``)."""
        return dict(self)


class LoopTree(dict):
    """``s.get_loops()``: bands by name, each a ``Band``; prints as an indented tree."""

    def __init__(self, func: str, bands: dict, text: str):
        super().__init__(bands)
        self.func = func
        self.text = text

    REPR_LINES = 40

    def __str__(self):
        return self.text

    def __repr__(self):
        lines = self.text.splitlines()
        if len(lines) <= self.REPR_LINES:
            return self.text
        return "\n".join(lines[:self.REPR_LINES] + [f"... {len(lines) - self.REPR_LINES} more lines "
                                                      "(print() shows all)"])

    def _tree_html(self) -> str:
        import html
        import re

        text = html.escape(self.text)
        text = re.sub(r"\[([^\]\n]*)\]$", r'<span class="dsl-tag">[\1]</span>', text, flags=re.M)
        return f'<pre class="dsl-pre">{text}</pre>'

    def _repr_html_(self) -> str:
        from ..notebook import view

        return view(self._tree_html())

    def __missing__(self, key):
        raise KeyError(f"function {self.func!r} has no band {key!r}; its bands: {', '.join(self)}")

    def __getattr__(self, name):  # Allo's style: s.get_loops().C.j
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        raise AttributeError(f"function {self.func!r} has no band {name!r}; its bands: {', '.join(self)}")


# -- lookups ----------------------------------------------------------------------------------------------
def funcs(module) -> dict:
    out = {}
    for op in module.body.operations:
        if op.operation.name == "func.func":
            out[ir.StringAttr(op.attributes["sym_name"]).value] = op.operation
    return out


def split_func(module, path: str, default_func: str):
    """(function name, rest of the path) for ``[func:]rest``."""
    head, sep, rest = path.partition(":")
    if sep and head in funcs(module):
        return head, rest
    return default_func, path


def loops_of(func_op) -> list:
    return U.collect(func_op, U.is_loop)


def band_of(loop) -> str:
    """The band a loop belongs to: the ``op_name`` of the nearest enclosing-or-self loop that has one."""
    cur = loop
    while cur is not None and cur.name != "func.func":
        if U.is_loop(cur) and "op_name" in cur.attributes:
            return U.str_attr(cur, "op_name")
        cur = U.parent_op(cur)
    return ""


def qualified(loop) -> str:
    band, name = band_of(loop), U.str_attr(loop, "loop_name") or "?"
    return f"{band}:{name}" if band else name


_GENERATED_BAND = re.compile(r"^S_\w+_(init|copy)$|^S_tmp\d+")  # fills and copies the frontend writes


def match_loops(func_op, rest: str) -> list:
    parts = rest.split(":")
    everything = loops_of(func_op)
    if len(parts) == 1:
        (name,) = parts
        by_band = [lp for lp in everything if U.str_attr(lp, "op_name") == name]
        found = by_band or [lp for lp in everything if U.str_attr(lp, "loop_name") == name]
        if len(found) > 1:  # a loop the user wrote wins over the frontend's fill of a buffer (`B: T[N] = 0`)
            written = [lp for lp in found if not _GENERATED_BAND.match(band_of(lp))]
            found = written if len(written) == 1 else found
        return found
    band, name = parts[-2], parts[-1]
    return [lp for lp in everything if U.str_attr(lp, "loop_name") == name and band_of(lp) == band]


@dataclass
class Buffer:
    """A resolved buffer: ``kind`` is "arg" (``index`` into the function arguments) or "alloc" (``op``)."""

    name: str
    func: str
    func_op: object
    kind: str
    value: ir.Value
    op: object = None
    index: int = -1
    dsl_type: str = ""

    @property
    def type(self) -> ir.MemRefType:
        return ir.MemRefType(self.value.type)

    @property
    def shape(self) -> list:
        return list(self.type.shape)


def arg_names(func_op) -> list:
    if "dsl.arg_names" not in func_op.attributes:
        return [f"arg{i}" for i in range(len(func_op.regions[0].blocks[0].arguments))]
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(func_op.attributes["dsl.arg_names"])]


def buffers_of(func_op, func_name: str) -> dict:
    entry = func_op.regions[0].blocks[0]
    found = {}
    types = [ir.StringAttr(a).value for a in ir.ArrayAttr(func_op.attributes["dsl.arg_types"])] \
        if "dsl.arg_types" in func_op.attributes else []
    for i, (name, arg) in enumerate(zip(arg_names(func_op), entry.arguments)):
        if isinstance(arg.type, ir.MemRefType):
            found[name] = Buffer(name, func_name, func_op, "arg", arg, index=i, dsl_type=types[i] if i < len(types) else "")
    for op in U.collect(func_op, lambda o: o.name in ("memref.alloc", "memref.alloca", "memref.get_global")):
        name = U.str_attr(op, "dsl.name")
        if name is not None and name not in found:
            found[name] = Buffer(name, func_name, func_op, "alloc", op.results[0], op=op,
                                 dsl_type=U.str_attr(op, "dsl.type") or "")
    return found


def buffer_path(buf: Buffer, top: str) -> str:
    return buf.name if buf.func == top else f"{buf.func}:{buf.name}"


# -- printing ---------------------------------------------------------------------------------------------
def describe(loop) -> str:
    """``0..64`` style bounds plus the directives on a loop, for trees and error messages."""
    b = U.const_bounds(loop) if loop.name == "affine.for" else None
    rng = (f"{b[0]}..{b[1]}" + (f" step {b[2]}" if b[2] != 1 else "")) if b else "(variable bounds)"
    tags = []
    for attr, label in (("dsl.pipeline_ii", "pipeline II="), ("dsl.unroll", "unroll "),
                        ("dsl.reduction", "reduction"), ("dsl.dataflow", "dataflow"), ("dsl.rewind", "rewind"),
                        ("dsl.parallel", "parallel")):
        if attr in loop.attributes:
            a = loop.attributes[attr]
            tags.append(label + (str(ir.IntegerAttr(a).value) if isinstance(a, ir.IntegerAttr) else ""))
    if "dsl.tripcount" in loop.attributes:
        low, high, avg = (ir.IntegerAttr(a).value for a in ir.ArrayAttr(loop.attributes["dsl.tripcount"]))
        tags.append(f"tripcount {low}..{high} avg {avg}")
    return rng + ("  [" + ", ".join(tags) + "]" if tags else "")


def loop_tree(func_op, func_name: str, prefix: str) -> LoopTree:
    bands: dict = {}
    nested: dict = {}  # band -> loops of the bands inside it (a name seen twice: None)
    lines = [f"{func_name}"]

    def visit(block, depth, outer):
        for op in U.block_ops(block):
            if U.is_loop(op):
                name = U.str_attr(op, "loop_name") or "?"
                band = band_of(op)
                if "op_name" in op.attributes:
                    lines.append(f"{'  ' * depth}+ {band}")
                    depth_here = depth + 1
                else:
                    depth_here = depth
                path = f"{prefix}{band}:{name}" if band else f"{prefix}{name}"
                handle = LoopHandle(path, describe(op))
                bands.setdefault(band, {})[name] = handle
                for enclosing in outer:
                    if enclosing != band:
                        seen = nested.setdefault(enclosing, {})
                        seen[name] = handle if name not in seen else None
                lines.append(f"{'  ' * depth_here}{name}  {describe(op)}")
                inside = outer if band in outer else outer + [band]
                for blk in op.regions[0].blocks:
                    visit(blk, depth_here + 1, inside)
            else:
                for region in op.regions:
                    for blk in region.blocks:
                        visit(blk, depth + 1 if op.name != "func.func" else depth, outer)

    visit(func_op.regions[0].blocks[0], 1, [])
    return LoopTree(func_name, {b: Band(prefix + b, loops, nested.get(b)) for b, loops in bands.items()},
                    "\n".join(lines))
