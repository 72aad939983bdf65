"""Streams in the HLS backend (owned by the dataflow part, see the Streams section of dsl/IR.md).

The emitter already prints a buffer or argument carrying ``dsl.stream_depth`` as ``hls::stream<T>`` (with
``#pragma HLS stream variable=... depth=N``) and its loads/stores as ``.read()``/``.write()``. What this
module adds is the step before emission: a local buffer made a stream by ``s.to`` is passed to kernels
whose argument is a plain array, so the callee's argument is marked ``{dsl.stream_depth = N}`` too.
"""
from __future__ import annotations


def prepare_streams(module):
    from ...dataflow.netlist import mark_stream_args

    mark_stream_args(module)
