"""Buffers and their accesses: alloc/alloca, get_global, subview, load/store (affine and memref), copy,
and the affine index ops. Fixed-point buffers are ``ap_fixed`` arrays; the IR computes on their raw bits,
so accesses go through ``dsl_bits``/``dsl_fixed``. Streams (``dsl.stream_depth``) read and write in order."""
from __future__ import annotations

import numpy as np
from mlir import ir

from ...types import parse_type
from ..dense import dense_ints
from . import pragmas, streams
from .affine_print import map_ctype, map_nonneg, map_results
from .emitter import Buffer, attr_str, element_ctype, op_error
from .types import dsl_ctype, float_literal, int_literal, needs_cmath, value_ctype


def _buffer(fe, op, memref) -> Buffer:
    try:
        return fe.buffers[memref]
    except KeyError:
        raise op_error(op, "access to a buffer the HLS backend does not know") from None


def _element(buffer: Buffer, indices) -> str:
    return buffer.expr + "".join(f"[{i}]" for i in indices)


def read_expr(fe, buffer: Buffer, indices, value_type) -> str:
    """The C++ expression reading one element as the signless value type."""
    place = f"{buffer.expr}.read()" if buffer.stream else _element(buffer, indices)
    if buffer.is_fixed:
        fe.need("fixed_bits")
        return f"dsl_bits<{value_ctype(value_type)}>({place})"
    return place


def write_stmt(fe, buffer: Buffer, indices, value: str) -> str:
    if buffer.is_fixed:
        fe.need("fixed_from_bits")
        value = f"dsl_fixed<{dsl_ctype(buffer.dtype)}>({value})"
    if buffer.stream:
        return f"{buffer.expr}.write({value});"
    return f"{_element(buffer, indices)} = {value};"


def _affine_indices(fe, op, operands):
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    return map_results(fe, amap, operands)


def _affine_load(fe, op):
    buffer = _buffer(fe, op, op.operands[0])
    indices = _affine_indices(fe, op, list(op.operands)[1:])
    if buffer.stream and not list(op.result.uses):
        fe.stmt(op, f"{buffer.expr}.read();")
        return
    fe.declare(op, op.result, read_expr(fe, buffer, indices, op.result.type))


def _affine_store(fe, op):
    value, memref, *operands = list(op.operands)
    buffer = _buffer(fe, op, memref)
    fe.stmt(op, write_stmt(fe, buffer, _affine_indices(fe, op, operands), fe.expr(value)))


def _memref_load(fe, op):
    memref, *indices = list(op.operands)
    buffer = _buffer(fe, op, memref)
    if buffer.stream and not list(op.result.uses):
        fe.stmt(op, f"{buffer.expr}.read();")
        return
    fe.declare(op, op.result, read_expr(fe, buffer, [fe.expr(i) for i in indices], op.result.type))


def _memref_store(fe, op):
    value, memref, *indices = list(op.operands)
    buffer = _buffer(fe, op, memref)
    fe.stmt(op, write_stmt(fe, buffer, [fe.expr(i) for i in indices], fe.expr(value)))


def _alloc(fe, op):
    attrs = op.attributes
    mtype = ir.MemRefType(op.result.type)
    if any(d < 0 for d in mtype.shape):
        raise op_error(op, f"buffer of dynamic shape {mtype} (HLS needs static shapes)")
    dtype = parse_type(attr_str(attrs, "dsl.type")) if "dsl.type" in attrs else None
    name = fe.names.fresh(attr_str(attrs, "dsl.name", "buf"))
    if not mtype.shape and "dsl.stream_depth" not in attrs:
        # A scalar variable: held in its raw (value) type; initialised so every path defines it.
        fe.stmt(op, f"{value_ctype(mtype.element_type)} {name} = 0;")
        _mark_if_never_read(fe, op, name)
        fe.buffers[op.result] = Buffer(name, None)
        return
    buffer = Buffer(name, dtype, "dsl.stream_depth" in attrs)
    elem = element_ctype(buffer, mtype)
    if streams.is_block_stream(attrs):
        buffer.token = streams.token_type(fe.module, elem, mtype.shape)
        fe.stmt(op, f"hls::stream<{buffer.token}> {name};")
    elif buffer.stream:
        fe.stmt(op, f"hls::stream<{elem}> {name};")
    else:
        fe.stmt(op, f"{elem} {name}{''.join(f'[{d}]' for d in mtype.shape)};")
    pragmas.partition_pragmas(fe, name, attrs)
    pragmas.storage_pragmas(fe, name, attrs)
    streams.csim_depth(fe, op, name, attrs)
    if not buffer.stream:
        _mark_if_never_read(fe, op, name)
    fe.buffers[op.result] = buffer


def _mark_if_never_read(fe, op, name: str):
    """A local the kernel only writes (``x = A[i]`` with ``x`` unused): ``(void)x;`` says so, as g++ wants
    (-Wunused-but-set-variable); the writes stay, as in the user's code."""
    for use in op.result.uses:
        owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        writes = owner.name in ("affine.store", "memref.store") and owner.operands[1] == op.result
        if not writes and owner.name != "memref.dealloc":
            return
    fe.raw(f"(void){name};")


def _get_global(fe, op):
    symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
    c_name, _ = fe.module.globals[symbol]
    fe.buffers[op.result] = Buffer(c_name, None)


def emit_global(me, op) -> str:
    """A constant global as a ``static const`` array of the raw storage type, with nested initialisers."""
    symbol = op.attributes["sym_name"].value
    from .emitter import Names

    taken = {c for c, _ in me.globals.values()} | me.global_scope
    c_name = Names(taken).fresh(attr_str(op.attributes, "dsl.name", symbol))
    me.globals[symbol] = (c_name, None)
    mtype = ir.MemRefType(ir.TypeAttr(op.attributes["type"]).value)
    if "dsl.stateful" in op.attributes and "initial_value" in op.attributes:
        return _stateful_global(op, symbol, c_name, mtype)
    if "initial_value" not in op.attributes or "constant" not in op.attributes:
        raise op_error(op, f"global '{symbol}' is not a constant with an initial value")
    values = _dense_values(op.attributes["initial_value"], mtype)
    elem_t = mtype.element_type
    literal = (lambda v: float_literal(float(v), elem_t)) if not isinstance(elem_t, (ir.IntegerType, ir.IndexType)) \
        else (lambda v: int_literal(int(v), elem_t))
    body = _nested_init(np.asarray(values, dtype=object).reshape(mtype.shape or (1,)), literal)
    if needs_cmath(body):
        me.includes.add("#include <cmath>")
    dims = "".join(f"[{d}]" for d in mtype.shape) or "[1]"
    if not mtype.shape:
        me.globals[symbol] = (c_name, None)
    return f"static const {value_ctype(elem_t)} {c_name}{dims} = {body};"


def _stateful_global(op, symbol, c_name, mtype) -> str:
    """A stateful variable: static storage with its initial value, kept from one call to the next
    (UG1399, "Static variables": their value is held between function calls and initialised once). In csim
    here the testbench carries it from one run to the next (shims/dsl_csim_state.h)."""
    values = _dense_values(op.attributes["initial_value"], mtype)
    elem_t = mtype.element_type
    literal = (lambda v: float_literal(float(v), elem_t)) if not isinstance(elem_t, (ir.IntegerType, ir.IndexType)) \
        else (lambda v: int_literal(int(v), elem_t))
    if mtype.shape:  # a tensor
        decl = f"{c_name}{''.join(f'[{d}]' for d in mtype.shape)} = " + _nested_init(
            np.asarray(values, dtype=object).reshape(mtype.shape), literal)
    else:  # a scalar: the IR reads and writes it as a rank-0 buffer, the C++ as a plain variable
        decl = f"{c_name} = {literal(values[0])}"
    return "\n".join([f"static {value_ctype(elem_t)} {decl};", "#ifdef DSL_CSIM", '#include "dsl_csim_state.h"',
                      f'static dsl_csim_state {c_name}_csim_state("{symbol}", &{c_name}, sizeof {c_name});',
                      "#endif"])


def _dense_values(attr, mtype) -> list:
    count = int(np.prod(mtype.shape)) if mtype.shape else 1
    if attr.is_splat:
        first = attr.get_splat_value()
        return [_scalar_attr_value(first)] * count
    return dense_ints(attr)


def _scalar_attr_value(attr):
    return attr.value if hasattr(attr, "value") else attr


def _nested_init(values, literal) -> str:
    if values.ndim == 1:
        return "{" + ", ".join(literal(v) for v in values) + "}"
    return "{" + ", ".join(_nested_init(v, literal) for v in values) + "}"


def _subview(fe, op):
    """``A[i]`` passed to a sub-kernel: leading indices fixed, trailing dimensions whole (C array decay). The
    offsets may be values or, once canonicalisation folded them, constants in ``static_offsets``."""
    source = _buffer(fe, op, op.operands[0])
    src_shape = list(ir.MemRefType(op.operands[0].type).shape)
    dynamic = iter(op.offsets)
    offsets = [fe.expr(next(dynamic)) if v == ir.ShapedType.get_dynamic_stride_or_offset() else str(v)
               for v in ir.DenseI64ArrayAttr(op.attributes["static_offsets"])]
    sizes = list(ir.DenseI64ArrayAttr(op.attributes["static_sizes"]))
    k = len(src_shape)  # the leading dimensions indexed: size 1; the rest whole, from 0
    dropped = len(src_shape) - len(ir.MemRefType(op.result.type).shape)  # always indexed (A[0] of A[1, N])
    while k > dropped and sizes[k - 1] == src_shape[k - 1] and offsets[k - 1] == "0":
        k -= 1
    if list(ir.DenseI64ArrayAttr(op.attributes["static_strides"])) != [1] * len(src_shape) or \
            any(size != 1 for size in sizes[:k]):
        raise op_error(op, "only sub-views A[i, ...] of whole trailing dimensions can be emitted")
    fe.buffers[op.result] = Buffer(_element(source, offsets[:k]), source.dtype, source.stream)


def _cast(fe, op):
    """memref.cast only changes the static type (a layout made dynamic): the same buffer."""
    fe.buffers[op.result] = _buffer(fe, op, op.operands[0])


def _copy(fe, op):
    """memref.copy as a loop nest (element by element keeps fixed-point views consistent); into or out of
    a stream of blocks it is one token (``streams.block_copy``)."""
    if "dsl.stream_op" in op.attributes:
        return streams.block_copy(fe, op)
    src, dst = (_buffer(fe, op, v) for v in op.operands)
    shape = ir.MemRefType(op.operands[0].type).shape
    elem_t = ir.MemRefType(op.operands[0].type).element_type
    counters = [fe.names.fresh(f"c{k}") for k in range(len(shape))]
    for counter, extent in zip(counters, shape):
        fe.stmt(op, f"for (int {counter} = 0; {counter} < {extent}; ++{counter}) {{")
        fe.depth += 1
    fe.stmt(op, write_stmt(fe, dst, counters, read_expr(fe, src, counters, elem_t)))
    for _ in shape:
        fe.depth -= 1
        fe.raw("}")


def _affine_apply(fe, op):
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    operands = list(op.operands)
    (text,) = map_results(fe, amap, operands)
    fe.declare(op, op.result, text)
    if map_nonneg(fe, amap, operands):
        fe.nonneg.add(op.result)


def _affine_min_max(kind):
    def emit(fe, op):
        amap = ir.AffineMapAttr(op.attributes["map"]).value
        texts = map_results(fe, amap, list(op.operands))
        fe.module.includes.add("#include <algorithm>")
        fe.declare(op, op.result, fold_min_max(kind, texts, map_ctype(fe, amap, list(op.operands))))
    return emit


def fold_min_max(kind: str, texts: list, ctype: str = "int") -> str:
    """``std::min``/``std::max`` need one type: ``int``, or ``int64_t`` for a wide map (index_ranges.py)."""
    out = texts[0]
    for t in texts[1:]:
        out = f"std::{kind}<{ctype}>({out}, {t})"
    return out


def _no_op(fe, op):
    """Deallocation has no C++ counterpart: buffers are function-scoped arrays."""


OPS = {
    "affine.load": _affine_load, "affine.store": _affine_store,
    "memref.load": _memref_load, "memref.store": _memref_store,
    "memref.alloc": _alloc, "memref.alloca": _alloc, "memref.dealloc": _no_op,
    "memref.get_global": _get_global, "memref.subview": _subview, "memref.cast": _cast, "memref.copy": _copy,
    "affine.apply": _affine_apply, "affine.min": _affine_min_max("min"), "affine.max": _affine_min_max("max"),
}
