"""Streams inside kernels: ``s.put(v)``, ``v = s.get()``, ``dsl.get_pid()`` and streams passed to kernels.

A stream a kernel uses is one of its arguments, a memref marked ``{dsl.stream_depth = N}``: ``memref<1xT>``
for a stream of scalars, the block's own shape (``memref<16xi8>``) for a stream of blocks, which also carries
``dsl.stream_block``. The dataflow region compiler adds these arguments to its kernels, named after the FIFO
(e.g. ``fa_0_1``); a kernel may also declare one itself (``xs: dsl.Stream[int8[16], 2]``) and be called with a
stream by a kernel of a region. A scalar ``put`` stores into element 0 and ``get`` loads from it; a block
``put``/``get`` is one ``memref.copy`` into / out of the stream buffer. Every backend thus sees stream traffic as
ordered accesses to a stream buffer, one op per token (see the Streams section of dsl/IR.md). The handlers
are registered in ``calls.INTRINSICS`` under the shared ``put``/``get`` method objects of ``dsl.dataflow.lang``.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref

from ..errors import CallError, DSLNameError, StreamError
from ..dataflow.lang import GET, PUT, StreamType, get_pid
from .calls import INTRINSICS
from .values import Literal, PyObject, Scalar, Tensor, TupleValue

PID_KEY = "__dsl_pid__"
FIFO_PREFIX = "__dsl_fifo_"  # the name a kernel's stream argument is bound to (see dsl/dataflow/region.py)


class StreamEnd:
    """A kernel argument declared as a stream (``xs: dsl.Stream[int8[16], 2]``): what ``xs`` is in its body."""

    put, get = PUT, GET

    def __init__(self, value, stream: StreamType, label: str):
        self.value, self.stream, self.label = value, stream, label

    def __repr__(self):
        return f"<stream argument {self.label}: {self.stream!r}>"


def stream_attrs(stream: StreamType, label: str) -> dict:
    """What marks a FIFO (a local buffer or a kernel argument): its depth, the name the user wrote and, for
    a stream of blocks, ``dsl.stream_block`` (one token is the whole buffer)."""
    attrs = {"dsl.stream_depth": ir.IntegerAttr.get(ir.IntegerType.get_signless(32), stream.depth),
             "dsl.stream": ir.StringAttr.get(label)}
    if stream.is_block:
        attrs["dsl.stream_block"] = ir.UnitAttr.get()
    return attrs


def mark_stream_params(fop, params):
    """Arguments declared as streams carry the stream attributes (as the region's FIFO arguments do)."""
    if not any(isinstance(p.type, StreamType) for p in params):
        return
    dicts = [ir.DictAttr.get(stream_attrs(p.type, p.name) if isinstance(p.type, StreamType) else {})
             for p in params]
    dicts += [ir.DictAttr.get({})] * (len(fop.arguments) - len(params))
    fop.attributes["arg_attrs"] = ir.ArrayAttr.get(dicts)


def resolve_stream(fc, obj, node):
    """(label, StreamType, memref value) of a stream value in a kernel (a region's stream or a stream argument),
    or None when ``obj`` is not a stream."""
    if isinstance(obj, StreamEnd):
        return obj.label, obj.stream, obj.value
    if not hasattr(obj, "flat_name"):
        return None
    bound = fc.lookup_quiet(FIFO_PREFIX + obj.flat_name)
    if not isinstance(bound, Tensor):
        raise DSLNameError(f"stream {obj.label} is not connected to this kernel: streams are used by kernels "
                           "defined inside the dsl.region that declares them", fc.loc(node))
    return obj.label, obj.stream, bound.value


def _stream_of(fc, node):
    """The stream a ``X.put(...)`` / ``X[i].get()`` call is about."""
    base = fc.expr(node.func.value)
    found = resolve_stream(fc, base.obj, node) if isinstance(base, PyObject) else None
    if found is None:
        raise StreamError(f"'{node.func.attr}' needs a stream, got '{_text(node.func.value)}'", fc.loc(node))
    return found


def _index0():
    return arith.ConstantOp(ir.IndexType.get(), 0).result


def _mark(op, role):
    op.attributes["dsl.stream_op"] = ir.StringAttr.get(role)


def _put(fc, node):
    label, stream, fifo = _stream_of(fc, node)
    (value,) = fc.call_args(node, 1, 1, f"{label}.put")
    if stream.is_block:
        src = _block_value(fc, value, stream, label, node.args[0])
        _mark(memref.CopyOp(src, fifo), "put")
        return Literal(None)
    if isinstance(value, (Tensor, TupleValue)):
        got = f"a tensor {value.ttype!r}" if isinstance(value, Tensor) else "a tuple"
        raise StreamError(f"{label}.put() takes one scalar of type {stream.dtype!r} (the stream is "
                          f"{stream!r}), got {got}", fc.loc(node))
    v = fc.coerce(value, stream.dtype, node.args[0])
    _mark(memref.StoreOp(v, fifo, [_index0()]), "put")
    return Literal(None)


def _block_value(fc, value, stream: StreamType, label: str, node) -> ir.Value:
    """The buffer a block put sends: a tensor of exactly the stream's block type (no implicit casts of whole
    blocks: a cast is written, e.g. ``int8(X)``)."""
    block = stream.dtype
    if not isinstance(value, Tensor):
        got = f"scalar {value.dtype!r}" if isinstance(value, Scalar) else repr(getattr(value, "value", value))
        raise StreamError(f"{label}.put() takes a block {block!r} (the stream is {stream!r}), got {got}",
                          fc.loc(node))
    if tuple(value.shape) != tuple(block.shape) or value.dtype != block.dtype:
        raise StreamError(f"{label}.put() takes a block {block!r} (the stream is {stream!r}), got a tensor "
                          f"{value.ttype!r}", fc.loc(node),
                          hint=f"cast the elements with {block.dtype!r}(...)" if value.shape == block.shape else
                          "put one block of the stream's shape per token")
    return value.value


def _get(fc, node):
    label, stream, fifo = _stream_of(fc, node)
    fc.call_args(node, 0, 0, f"{label}.get")
    if stream.is_block:
        # allocated once at the kernel's entry (a get in a loop reuses it, as the function-scope array of the
        # HLS code does) and filled by the one copy that takes the token
        with ir.InsertionPoint.at_block_begin(fc.entry_block):
            tmp = fc.alloc_tensor(stream.dtype, fc.new_name())
        _mark(memref.CopyOp(fifo, tmp.value), "get")
        return tmp
    op = memref.LoadOp(fifo, [_index0()])
    _mark(op, "get")
    return Scalar(op.result, stream.dtype)


def stream_argument(fc, param, value, node, callee: str) -> ir.Value:
    """The operand passed for a kernel argument declared as a stream: a stream of the same token type."""
    found = resolve_stream(fc, value.obj, node) if isinstance(value, PyObject) else None
    if found is None:
        raise CallError(f"argument '{param.name}' of {callee!r} is a stream {param.type!r}, got "
                        f"'{_text(node)}'", fc.loc(node),
                        hint="pass a stream of the region (an element of a stream array: pipe[i])")
    label, stream, fifo = found
    if stream.dtype != param.type.dtype:
        raise CallError(f"argument '{param.name}' of {callee!r} is a stream of {param.type.dtype!r}, but stream "
                        f"{label} carries {stream.dtype!r}", fc.loc(node))
    return fifo


def _get_pid(fc, node):
    fc.call_args(node, 0, 0, "get_pid")
    pid = fc.env.get(PID_KEY)
    if pid is None:
        raise StreamError("dsl.get_pid() is only available in a @dsl.kernel of a dsl.region", fc.loc(node))
    if isinstance(pid, tuple):
        return TupleValue([Literal(v) for v in pid])
    return Literal(pid)


def _text(node):
    import ast

    return ast.unparse(node)


INTRINSICS.update({PUT: _put, GET: _get, get_pid: _get_pid})
