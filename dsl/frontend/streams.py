"""Streams inside kernels: ``s.put(v)``, ``v = s.get()`` and ``dsl.get_pid()``.

A stream a kernel uses is one of its arguments, a ``memref<1xT>`` marked ``{dsl.stream_depth = N}`` (the
dataflow region compiler adds it, named after the FIFO, e.g. ``fa_0_1``); ``put`` stores into element 0 and
``get`` loads from it, so every backend sees stream traffic as ordered accesses to a stream buffer (see
the Streams section of dsl/IR.md). The handlers are registered in ``calls.INTRINSICS`` under the shared
``put``/``get`` method objects of ``dsl.dataflow.lang``.
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref

from ..errors import DSLNameError, StreamError
from ..dataflow.lang import GET, PUT, get_pid
from .calls import INTRINSICS
from .values import Literal, PyObject, Scalar, Tensor, TupleValue

PID_KEY = "__dsl_pid__"
FIFO_PREFIX = "__dsl_fifo_"  # the name a kernel's stream argument is bound to (see dsl/dataflow/region.py)


def _stream_of(fc, node):
    """The stream a ``X.put(...)`` / ``X[i].get()`` call is about, and the kernel argument holding it."""
    base = fc.expr(node.func.value)
    ref = base.obj if isinstance(base, PyObject) else None
    if not hasattr(ref, "flat_name"):
        raise StreamError(f"'{node.func.attr}' needs a stream, got '{_text(node.func.value)}'", fc.loc(node))
    bound = fc.lookup_quiet(FIFO_PREFIX + ref.flat_name)
    if not isinstance(bound, Tensor):
        raise DSLNameError(f"stream {ref.label} is not connected to this kernel: streams are used by kernels "
                           "defined inside the dsl.region that declares them", fc.loc(node))
    return ref, bound


def _index0():
    return arith.ConstantOp(ir.IndexType.get(), 0).result


def _put(fc, node):
    ref, fifo = _stream_of(fc, node)
    (value,) = fc.call_args(node, 1, 1, f"{ref.label}.put")
    if isinstance(value, (Tensor, TupleValue)):
        raise StreamError(f"{ref.label}.put() takes one scalar of type {ref.dtype!r}", fc.loc(node))
    v = fc.coerce(value, ref.dtype, node.args[0])
    op = memref.StoreOp(v, fifo.value, [_index0()])
    op.attributes["dsl.stream_op"] = ir.StringAttr.get("put")
    return Literal(None)


def _get(fc, node):
    ref, fifo = _stream_of(fc, node)
    fc.call_args(node, 0, 0, f"{ref.label}.get")
    op = memref.LoadOp(fifo.value, [_index0()])
    op.attributes["dsl.stream_op"] = ir.StringAttr.get("get")
    return Scalar(op.result, ref.dtype)


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
