"""Function signatures: C++ parameters for memref/scalar arguments and results, and the top's interface.

The top function returns ``void``: each scalar result ``k`` leaves through an extra one-element array
parameter ``retK`` (an m_axi port like the arrays), so the host reads it as it reads any output buffer.
Sub-functions return a single scalar result by value and several through reference parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir

from ...errors import BuildError
from ...types import parse_type
from . import pragmas
from .emitter import Buffer, arg_dsl_types, c_function_name, str_list
from .identifiers import is_legal
from .types import dsl_ctype, value_ctype


@dataclass
class Param:
    name: str
    decl: str
    kind: str  # "array", "stream", "scalar", "result"
    value: object = None  # the block argument (None for results)
    dtype: object = None
    shape: tuple = ()
    attrs: object = None  # the argument's attribute dictionary (partitioning)
    user_name: str | None = None  # the argument's name in the Python kernel (``name`` is the C++ one)

    @property
    def label(self) -> str:
        """How messages and the project's README name the argument: ``dir`` (port ``v_dir``)."""
        user = self.user_name or self.name
        return user if user == self.name else f"{user} (port {self.name})"


@dataclass
class Signature:
    name: str
    return_type: str
    params: list = field(default_factory=list)
    result_names: list = field(default_factory=list)

    @property
    def param_names(self):
        return [p.name for p in self.params]

    @property
    def declaration(self) -> str:
        return f"{self.return_type} {self.name}({', '.join(p.decl for p in self.params)})"

    def bind(self, fe):
        """Bind block arguments to their C++ names (scalars of another C++ view get a converted local)."""
        for p in self.params:
            if p.kind in ("array", "stream"):
                fe.buffers[p.value] = Buffer(p.name if p.shape else f"{p.name}[0]", p.dtype, p.kind == "stream")
            elif p.kind == "scalar":
                _bind_scalar(fe, p)
        fe.yield_targets.append(("return", self.result_names))


def _bind_scalar(fe, p: Param):
    view = value_ctype(p.value.type)
    declared = p.decl.rsplit(" ", 1)[0]
    if declared == view:
        fe.bind(p.value, p.name)
        return
    local = fe.names.fresh(f"{p.name}_v")
    if p.dtype is not None and p.dtype.is_fixed:
        fe.need("fixed_bits")
        fe.raw(f"{view} {local} = dsl_bits<{view}>({p.name});")
    else:
        fe.raw(f"{view} {local} = {p.name};")
    fe.bind(p.value, local)


def function_signature(me, func, is_top: bool) -> Signature:
    attrs = func.attributes
    block = func.regions[0].blocks[0]
    names = str_list(attrs["dsl.arg_names"]) if "dsl.arg_names" in attrs else [
        f"arg{i}" for i in range(len(block.arguments))]
    dtypes = arg_dsl_types(func)
    arg_attrs = _arg_attr_dicts(func, len(block.arguments))
    sig = Signature(c_function_name(attrs["sym_name"].value), "void")
    functions = _function_names(func)
    for value, name, c_name, dtype, aattrs in zip(block.arguments, names, c_names(names, functions), dtypes,
                                                  arg_attrs):
        sig.params.append(_param(value, c_name, dtype, aattrs, is_top, name))
    _add_results(sig, func, is_top)
    return sig


def _function_names(func) -> set:
    """The C++ names of every function of the module (a parameter must not hide one of them)."""
    parent = func.operation.parent
    return {c_function_name(ir.StringAttr(op.attributes["sym_name"]).value)
            for op in parent.regions[0].blocks[0].operations if op.operation.name == "func.func"}


def c_names(names: list, taken=()) -> list:
    """The C++ parameter names of arguments named ``names``: each user name where it is legal and unique
    (the first of two equal names keeps it: ``return A`` names the output after the input ``A``), else a
    fresh legal name (``A1``, ``v_dir``, ...). Legal names are taken first, so a renamed argument never takes
    another argument's name."""
    from .emitter import Names

    scope = Names(taken)
    first = {}
    for k, name in enumerate(names):
        if is_legal(name) and name not in scope.used:
            scope.used.add(name)
            first[k] = name
    return [first[k] if k in first else scope.fresh(name) for k, name in enumerate(names)]


def _arg_attr_dicts(func, n):
    if "arg_attrs" not in func.attributes:
        return [None] * n
    return [ir.DictAttr(a) for a in ir.ArrayAttr(func.attributes["arg_attrs"])]


def _param(value, name, dtype, aattrs, is_top, user_name) -> Param:
    t = value.type
    if not isinstance(t, ir.MemRefType):
        ctype = dsl_ctype(dtype) if (is_top and dtype is not None) else value_ctype(t)
        return Param(name, f"{ctype} {name}", "scalar", value, dtype, user_name=user_name)
    mtype = ir.MemRefType(t)
    _check_layout(mtype, name)
    elem = dsl_ctype(dtype) if dtype is not None else value_ctype(mtype.element_type)
    shape = tuple(mtype.shape)
    if aattrs is not None and "dsl.stream_depth" in aattrs:
        return Param(name, f"hls::stream<{elem}> &{name}", "stream", value, dtype, shape, aattrs, user_name)
    dims = "".join(f"[{d}]" for d in shape) or "[1]"
    return Param(name, f"{elem} {name}{dims}", "array", value, dtype, shape, aattrs, user_name)


def _check_layout(mtype, name):
    if any(d < 0 for d in mtype.shape):
        raise BuildError(f"HLS backend: argument '{name}' has a dynamic shape {mtype}; HLS needs static shapes")
    layout = mtype.layout
    if isinstance(layout, ir.StridedLayoutAttr):
        expected, acc = [], 1
        for d in reversed(mtype.shape):
            expected.insert(0, acc)
            acc *= d
        if list(layout.strides) != expected:
            raise BuildError(f"HLS backend: argument '{name}' is a non-contiguous view {mtype}")


def _add_results(sig: Signature, func, is_top: bool):
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    results = list(ftype.results)
    dsl_results = (str_list(func.attributes["dsl.result_types"])
                   if "dsl.result_types" in func.attributes else [None] * len(results))
    if not is_top and len(results) == 1:
        sig.return_type = value_ctype(results[0])
        return
    for k, (t, d) in enumerate(zip(results, dsl_results)):
        name = f"ret{k}"
        if is_top:
            dtype = parse_type(d) if d else None
            ctype = dsl_ctype(dtype) if dtype else value_ctype(t)
            sig.params.append(Param(name, f"{ctype} {name}[1]", "result", None, dtype, (1,)))
            sig.result_names.append(_result_store(name, dtype))
        else:
            sig.params.append(Param(name, f"{value_ctype(t)} &{name}", "result"))
            sig.result_names.append(name)


def _result_store(name, dtype):
    """How func.return writes result ``name`` (fixed-point results convert from raw bits)."""
    if dtype is not None and dtype.is_fixed:
        return ("fixed", f"{name}[0]", dsl_ctype(dtype))
    return f"{name}[0]"


def top_interface(fe, sig: Signature):
    """m_axi (one bundle per array), s_axilite for scalars and control."""
    for k, p in enumerate(q for q in sig.params if q.kind in ("array", "result")):
        depth = 1
        for d in p.shape:
            depth *= d
        fe.pragma(f"interface m_axi port={p.name} offset=slave bundle=gmem{k} depth={depth}")
    for p in sig.params:
        if p.kind == "scalar":
            fe.pragma(f"interface s_axilite port={p.name} bundle=control")
        if p.kind == "stream":
            fe.pragma(f"interface axis port={p.name}")
    fe.pragma("interface s_axilite port=return bundle=control")
    from .axi_copies import copy_partitioned_ports

    copy_partitioned_ports(fe, sig)  # array_partition applies to on-chip copies, never to an m_axi port
