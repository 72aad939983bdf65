"""A light, pure-Python copy of a function's IR, as the estimator needs it: the objects.

The MLIR bindings are slow to query, and the estimator looks at every op of every unrolled copy of a body
many times; so each ``func.func`` is read once (``dsl.qor.reader``) into plain objects: ``Op`` (one
operation, classified for the operator tables), ``Loop``, ``If``, ``Call``. Values are small integers. Memory
accesses carry their index expressions as linear forms over values (``({value: coeff}, const)``), so that
unrolling can substitute constants for loop variables and compare addresses without MLIR; this module also
evaluates those forms and the expression trees of bounds that are not linear.

``read_module`` and ``Reader`` (the MLIR side) live in ``dsl.qor.reader``; the names still import from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir


@dataclass
class Op:
    name: str        # MLIR op name
    cls: str         # operator class: a table key, or load/store/free/unknown
    results: list    # value ids
    operands: list   # value ids
    bits: int = 32   # width of the (first) result, or of the stored value
    info: dict = field(default_factory=dict)
    line: int = 0


@dataclass
class Access:
    """A load or store: its memref, whether it is a stream get/put, and per dimension its index as a linear
    form over values ``(coeffs, const)`` (None where the index is not linear)."""

    memref: int
    kind: str  # "load" | "store"
    index: list
    stream: bool = False


@dataclass
class Loop:
    key: str               # "band:loop", as loops are named everywhere else
    loop_name: str
    band: str
    iv: int
    lower: tuple | None    # linear form of the lower bound (coeffs over enclosing values, const) or None
    upper: tuple | None
    step: int
    body: list
    pipeline_ii: int | None = None
    unroll: int | None = None      # 0 = full
    dataflow: bool = False
    carried: list = field(default_factory=list)  # (block arg, init value, yielded value, result value)
    line: int = 0
    lower_expr: tuple | None = None  # a bound that is not linear (n floordiv 8): (expression tree, operands)
    upper_expr: tuple | None = None
    tripcount: tuple | None = None  # (min, max, avg) the user gave (``dsl.tripcount``: Vitis's loop_tripcount)

    def lower_at(self, env: dict):
        return evaluate(self.lower, env) if self.lower is not None else evaluate_tree(self.lower_expr, env)

    def upper_at(self, env: dict):
        return evaluate(self.upper, env) if self.upper is not None else evaluate_tree(self.upper_expr, env)

    def trip_at(self, env: dict) -> int | None:
        """Trip count with the enclosing loop variables in ``env`` (value -> number); None if unknown."""
        lo, hi = self.lower_at(env), self.upper_at(env)
        if lo is None or hi is None:
            return None
        return max(0, -(-(hi - lo) // self.step))


@dataclass
class If:
    condition: int
    then: list
    other: list
    results: list  # value ids of the if's results
    then_yield: list = field(default_factory=list)
    else_yield: list = field(default_factory=list)


@dataclass
class Call:
    callee: str
    operands: list
    line: int = 0
    results: list = field(default_factory=list)  # value ids of the call's results


@dataclass
class View:
    """A ``memref.subview`` (what ``A[i]`` passes to a callee): per dimension of the source, the linear
    form of its offset and its stride; ``kept`` lists the source dimensions the view keeps, in order."""

    source: int
    offsets: list
    strides: list
    kept: list


@dataclass
class Function:
    name: str
    args: list            # value ids of the block arguments
    arg_names: list
    arg_attrs: list       # dict per argument (partition, stream depth)
    arg_bits: list        # element bits of memref arguments (0 for scalars)
    arg_shapes: list
    body: list
    buffers: dict         # value id of a local memref -> Buffer
    constants: dict       # value id -> Python number
    dataflow: bool = False
    inline: bool = False
    src: str = ""
    kernel: str = ""          # the dsl.kernel a PE instance comes from (regions), else the function's name
    returns: list = field(default_factory=list)  # value ids the function returns
    views: dict = field(default_factory=dict)    # value id of a subview -> View
    next_vid: int = 0                             # value ids used are below this


@dataclass
class Buffer:
    """A local memref (alloc/alloca/get_global): shape, element bits and directives."""

    name: str
    shape: tuple
    bits: int
    partition: list       # (kind, dim, factor)
    stream_depth: int | None = None
    storage: tuple = ("auto", "auto")  # (type, impl)
    constant: bool = False
    symbol: str = ""      # a constant global's symbol: its get_globals in one function are one ROM (one C++ array)


def evaluate(form, env: dict):
    if form is None:
        return None
    coeffs, const = form
    total = const
    for v, c in coeffs.items():
        if v not in env:
            return None
        total += c * env[v]
    return total


def affine_tree(expr, operands: list):
    """An affine expression over ``operands`` (dims then symbols) as plain tuples: ("c", n), ("v", value id),
    (op, lhs, rhs) with op in + * floordiv ceildiv mod."""
    expr = expr.maybe_downcast()
    if isinstance(expr, ir.AffineConstantExpr):
        return ("c", ir.AffineConstantExpr(expr).value)
    if isinstance(expr, ir.AffineDimExpr):
        return ("v", operands[ir.AffineDimExpr(expr).position])
    if isinstance(expr, ir.AffineSymbolExpr):
        return ("v", operands[operands.index(None) + 1 + ir.AffineSymbolExpr(expr).position])
    b = ir.AffineBinaryExpr(expr)
    for cls, name in ((ir.AffineAddExpr, "+"), (ir.AffineMulExpr, "*"), (ir.AffineFloorDivExpr, "floordiv"),
                      (ir.AffineCeilDivExpr, "ceildiv"), (ir.AffineModExpr, "mod")):
        if isinstance(expr, cls):
            lhs, rhs = affine_tree(b.lhs, operands), affine_tree(b.rhs, operands)
            return None if lhs is None or rhs is None else (name, lhs, rhs)
    return None


TREE_OPS = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "floordiv": lambda a, b: a // b if b else None,
            "ceildiv": lambda a, b: -(-a // b) if b else None, "mod": lambda a, b: a % b if b else None}


def evaluate_tree(bound, env: dict):
    """Value of an expression tree, or of several trees' minimum / maximum (("min" | "max", [trees]))."""
    def ev(t):
        if t is None:
            return None
        if t[0] == "c":
            return t[1]
        if t[0] == "v":
            return env.get(t[1])
        if t[0] in ("min", "max"):
            values = [ev(x) for x in t[1]]
            return None if any(v is None for v in values) else (min if t[0] == "min" else max)(values)
        a, b = ev(t[1]), ev(t[2])
        return None if a is None or b is None else TREE_OPS[t[0]](a, b)

    return ev(bound)


def tree_values(t) -> set:
    """The value ids an expression tree reads."""
    if t is None or t[0] == "c":
        return set()
    if t[0] == "v":
        return {t[1]}
    if t[0] in ("min", "max"):
        return set().union(*(tree_values(x) for x in t[1]))
    return tree_values(t[1]) | tree_values(t[2])


def element_bits(t) -> int:
    if isinstance(t, ir.IndexType):
        return 32
    if isinstance(t, ir.IntegerType):
        return ir.IntegerType(t).width
    if isinstance(t, ir.F16Type) or isinstance(t, ir.BF16Type):
        return 16
    if isinstance(t, ir.F64Type):
        return 64
    return 32


def partition_entries(attr) -> list:
    out = []
    for entry in ir.ArrayAttr(attr):
        items = list(ir.ArrayAttr(entry))
        kind = ir.StringAttr(items[0]).value
        dim = ir.IntegerAttr(items[1]).value if len(items) > 1 else 0
        factor = ir.IntegerAttr(items[2]).value if len(items) > 2 else 0
        out.append((kind, dim, factor))
    return out


def storage_of(attrs) -> tuple:
    if "dsl.bind_storage" not in attrs:
        return ("auto", "auto")
    attr = attrs["dsl.bind_storage"]
    if isinstance(attr, ir.ArrayAttr):
        items = [ir.StringAttr(a).value for a in attr]
        return (items[0], items[1] if len(items) > 1 else "auto")
    return (ir.StringAttr(attr).value, "auto")


_storage = storage_of  # the old private name


def read_module(module) -> dict:
    """name -> Function for every function with a body (``dsl.qor.reader.read_module``)."""
    from .reader import read_module as read

    return read(module)


def __getattr__(name):
    # the MLIR-reading names moved to dsl.qor.reader; they still import from here
    from . import reader

    if hasattr(reader, name):
        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
