"""Streaming units: the building blocks of spatial designs (the paper's BERT/GPT2 accelerators).

Each unit is a kernel over streams (``dsl.Stream`` arguments) that drops into a ``dsl.region`` as one
process, called in the region's body (or from a ``@dsl.kernel`` of it)::

    @dsl.region()
    def ffn1(X: int8[L, D], W: UInt(512)[NW], Y: int32[L, F]):
        xs: dsl.Stream[int8[D], 2]
        ws: dsl.Stream[int8[KPW, 16], 2]
        ys: dsl.Stream[int32[F], 2]
        memory.load_rows[int8, L, D](X, xs)
        memory.load_weights[int8, F, D, 16, L // 8](W, ws)
        gemm.aw_gemm[int8, int8, int32, L, D, F, 8, 16, 0](xs, ws, ys)
        memory.store_rows[int32, L, F](ys, Y)

A unit computes exactly what the corresponding memory-to-memory kernel of the library computes (it calls
the same row kernels and PE array): see each module. ``schedule_units(s)`` applies every unit's schedule
to a design that uses them.

  memory    load_rows, store_rows, load_weights (+ pack_weight_tiles), load_weight_share + merge_words (one
            operator's words over several loaders/channels), kv_write, kv_read, kv_append
  gemm      aw_gemm (activations x weights), qk_gemm (Q K^T), pv_gemm (P V), ping-pong K/V buffers; qk_gemm_n /
            pv_gemm_n take the key count at run time
  rowwise   softmax_rows, causal_mask, layer_norm_rows, gelu_rows, gelu_tanh_rows, fork_rows,
            residual_add (+ bypass_depth)
  quantize  quantize_rows (per token), dequantize_rows, requantize_rows
  integer   int_gelu_rows, int_softmax_rows, int_layer_norm_rows (I-BERT-style integer-only rows, intops)
  rowcount  the row-wise and memory units over a run-time number of rows (``_n``: a layer serving both
            phases of a decoder, with ``gemm.aw_gemm_shared``)
  tokens    how rows travel (512-bit tokens), get_row / put_row, get_prefix / put_prefix (run-time lengths)
"""
from . import gemm, integer, memory, quantize, rowcount, rowwise, tokens  # noqa: F401
from .schedules import schedule_units  # noqa: F401

__all__ = ["gemm", "integer", "memory", "quantize", "rowcount", "rowwise", "tokens", "schedule_units"]
