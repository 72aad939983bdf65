"""The streaming forms of the library kernels (``dsl.library.units``) for ``bench_library.py``: each design,
its arguments made from the kernel's own inputs (``registry``) and checked bit for bit against the kernel's
numpy reference on the same data, timed on the simulator and in csim.

STREAMS: library kernel -> its streaming form (the unit alone between loaders and stores,
``tests/unit_designs_kernels.py``; the GEMMs: ``gemm.aw_gemm`` on an 8 x 16 PE array fed by the packed-weight
loader). The simulator runs it at the kernel's BERT-base instantiation, csim too except where that takes minutes
(then fewer rows, i.e. tokens): csim's ap_int arithmetic is slow, about 3e7 int8 multiply-accumulates a
second here (FFN1 512 x 768 x 3072: 38 s; DSP-packed: 124 s; the W4A8 FFN block at 512 tokens: 253 s).
DESIGNS: multi-unit designs (a FFN block, attention's integer GEMMs, GeLU + residual + LayerNorm).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import dsl  # noqa: E402
from dsl import float32, int8  # noqa: E402
from dsl.library import nn, ref  # noqa: E402
from dsl.library.units import memory, rowwise, schedule_units  # noqa: E402
import unit_designs as U  # noqa: E402
import unit_designs_kernels as K  # noqa: E402

F = np.float32
L, D, DFF, H = 512, 768, 3072, 12  # BERT-base


@dataclass(frozen=True)
class Stream:
    rows: tuple           # positions in the kernel's instantiation that count rows (tokens): csim shrinks them
    design: Callable      # instantiation -> region
    args: Callable        # (instantiation, *the kernel's arguments) -> the design's arguments
    outs: tuple           # the design's arguments that hold the kernel's result(s), in the reference's order
    csim_rows: int | None = None  # rows in csim, None: as on the simulator (the table shows the instantiation)


def _z(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def _linear(transposed: bool, pack: int):
    """gemm / packed_gemm (A[M, K] B[K, N]: W = B^T) and the linear forms (X[M, K] W[N, K]) as aw_gemm,
    PACK = 1: two PEs per DSP as the packed kernels."""
    def design(i):
        return U.linear(i[3], i[4], i[5], i[6], i[7], i[1], pack)

    def args(i, A, B):
        W = np.ascontiguousarray(B.T) if transposed else B
        return [A, memory.pack_weight_tiles(W, i[1].bits, i[7]), _z((i[3], i[5]), np.int32)]

    return design, args


def _attention_args(i, Q, Kx, V, past):
    if past != 0:
        raise ValueError("the attention design is built for past = 0")
    return [Q, Kx, V, np.zeros_like(Q)]


STREAMS = {
    "softmax": Stream((1,), lambda i: K.softmax(i[1], i[2]),
                      lambda i, X: [X, np.zeros_like(X), F(1), i[2] - 1], (1,)),  # past >= D - 1: every entry
    "masked_softmax": Stream((1,), lambda i: K.softmax(i[1], i[2]),
                             lambda i, X, s, p: [X, np.zeros_like(X), s, p], (1,)),
    "layer_norm": Stream((1,), lambda i: K.layer_norm(i[1], i[2]),
                         lambda i, X, g, b: [X, g, b, np.zeros_like(X), F(nn.LAYER_NORM_EPS)], (3,)),
    "layer_norm_eps": Stream((1,), lambda i: K.layer_norm(i[1], i[2]),
                             lambda i, X, g, b, e: [X, g, b, np.zeros_like(X), e], (3,)),
    "gelu": Stream((1,), lambda i: U.row_map(i[1], i[2], rowwise.gelu_rows),
                   lambda i, X: [X, np.zeros_like(X)], (1,)),
    "gelu_tanh": Stream((1,), lambda i: U.row_map(i[1], i[2], rowwise.gelu_tanh_rows),
                        lambda i, X: [X, np.zeros_like(X)], (1,)),
    "residual_add": Stream((1,), lambda i: K.residual_add(i[1], i[2]),
                           lambda i, a, b: [a, b, np.zeros_like(a)], (2,)),
    "quantize_per_token": Stream((2,), lambda i: K.quantize_per_token(i[2], i[3], i[1]),
                                 lambda i, X: [X, _z(X.shape, np.int8), _z(i[2])], (1, 2)),
    "dequantize_rows": Stream((2,), lambda i: K.dequantize_rows(i[2], i[3]),
                              lambda i, Q, a, b: [Q, a, b, _z(Q.shape)], (3,)),
    "requantize": Stream((1,), lambda i: K.requantize(i[1], i[2], i[0]),
                         lambda i, acc, m, s: [acc, _z(acc.shape, np.int8), m, s], (1,)),
    "gemm": Stream((3,), *_linear(True, 0), (2,)),
    "packed_gemm": Stream((3,), *_linear(True, 1), (2,), 128),
    "systolic_linear": Stream((3,), *_linear(False, 0), (2,)),
    "packed_linear": Stream((3,), *_linear(False, 1), (2,)),
    "scaled_dot_product_attention": Stream((2, 3), lambda i: U.attention(i[2], i[4], i[1], 8, 8),
                                           _attention_args, (3,)),
    "kv_append": Stream((3,), lambda i: K.kv_append(*i), lambda i, c, n, p: [c, n, p], (0,)),
    "kv_read": Stream((3,), lambda i: K.kv_read(*i), lambda i, c, p: [c, _z((i[3], i[2])), p], (1,)),
    "int_gelu": Stream((0,), lambda i: K.int_gelu(*i),
                       lambda i, X, *q: [X, _z(X.shape, np.int64), *q], (1,)),
    "int_softmax": Stream((0,), lambda i: K.int_softmax(*i),
                          lambda i, X, *q: [X, _z(X.shape, np.int32), *q], (1,)),
    "int_layer_norm": Stream((0,), lambda i: K.int_layer_norm(*i),
                             lambda i, X: [X, _z(X.shape, np.int64)], (1,)),
}


def resized(inst: tuple, stream: Stream, rows: int | None) -> tuple:
    """The instantiation with its row counts set to ``rows`` (None: as it is)."""
    return inst if rows is None else tuple(rows if k in stream.rows else v for k, v in enumerate(inst))


def kernel_case(entry, inst):
    """(design, design arguments, result positions, expected results) of a kernel's streaming form."""
    stream = STREAMS[entry.name]
    kargs = entry.inputs(inst, np.random.default_rng(0))
    expect = entry.reference(inst, *[a.copy() if isinstance(a, np.ndarray) else a for a in kargs])
    return stream.design(inst), stream.args(inst, *kargs), stream.outs, expect


# -- multi-unit designs (no memory-to-memory kernel of their own): rows -> case ---------------------------
def _rows_case(rows):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((rows, D)).astype(F)
    g, b = rng.standard_normal(D).astype(F), rng.standard_normal(D).astype(F)
    design = U.gelu_residual_norm(rows, D, 1e-12, rowwise.bypass_depth(D, float32, 1))
    return (design, [X, g, b, np.zeros_like(X)], (3,),
            ref.layer_norm_eps(ref.residual_add(ref.gelu(X), X), g, b, 1e-12))


def _attention_int8_case(rows):
    rng = np.random.default_rng(4)
    Q, Kx, V = (rng.integers(-128, 128, (rows, D)).astype(np.int8) for _ in range(3))
    mult, shift = ref.fixed_point_multiplier(1 / 4096)
    expect = ref.pv_output(ref.requantize(ref.qk_scores(Q, Kx, H, 8), mult, shift), V, H, 8)
    return (U.int_attention_gemms(rows, D, H, 8, 8), [Q, Kx, V, np.zeros((rows, D), np.int32), mult, shift],
            (3,), expect)


def _ffn_case(rows):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, D)).astype(F)
    W1, W2 = rng.integers(-8, 8, (DFF, D)).astype(np.int8), rng.integers(-8, 8, (D, DFF)).astype(np.int8)
    s1, s2 = rng.uniform(0.01, 0.05, DFF).astype(F), rng.uniform(0.01, 0.05, D).astype(F)
    g, b = rng.standard_normal(D).astype(F), rng.standard_normal(D).astype(F)
    q1, r1 = ref.quantize_per_token(X)
    h = ref.gelu(ref.dequantize_rows(ref.systolic_linear(q1, W1), r1, s1))
    q2, r2 = ref.quantize_per_token(h)
    y = ref.dequantize_rows(ref.systolic_linear(q2, W2), r2, s2)
    expect = ref.layer_norm_eps(ref.residual_add(y, X), g, b, 1e-12)
    args = [X, memory.pack_weight_tiles(W1, 4, 16), s1, memory.pack_weight_tiles(W2, 4, 16), s2, g, b,
            np.zeros_like(X)]
    return U.ffn_block(rows, D, DFF, 8, 16, 1e-12), args, (7,), expect


DESIGNS = {  # name -> (what, case(rows), rows in csim)
    "design:gelu_residual_norm": ("LayerNorm(GeLU(X) + X), f32, D=768", _rows_case, L),
    "design:attention_int8": ("int8 QK^T, requantise, PV, 12 heads", _attention_int8_case, L),
    "design:ffn_w4a8": ("W4A8 FFN + residual + LayerNorm", _ffn_case, 64),
}


# -- measurement ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def fresh_csim_cache():
    """csim binaries in an empty cache, so that the compile column is g++'s time and not a cache hit; the
    precompiled ap-types header (built once per compiler) is shared with the usual cache."""
    old = os.environ.get("DSL_CACHE_DIR")
    home = Path(old or Path.home() / ".cache" / "dsl").absolute()
    with tempfile.TemporaryDirectory(prefix="dsl-bench-csim-") as tmp:
        (home / "csim" / "pch").mkdir(parents=True, exist_ok=True)
        (Path(tmp) / "csim").mkdir()
        (Path(tmp) / "csim" / "pch").symlink_to(home / "csim" / "pch")
        os.environ["DSL_CACHE_DIR"] = tmp
        try:
            yield
        finally:
            if old is None:
                del os.environ["DSL_CACHE_DIR"]
            else:
                os.environ["DSL_CACHE_DIR"] = old


def _exact(args, outs, expect) -> bool:
    expects = expect if isinstance(expect, tuple) else (expect,)
    return all(np.array_equal(args[k], e) for k, e in zip(outs, expects))


def measure(case, target: str, repeat: int = 1) -> dict:
    """Build ``case`` for ``target`` ("sim" or "csim") and run it: build s (csim: HLS emission and g++, in
    an empty cache), run s (best of ``repeat``), and whether every result is bit-exact."""
    design, args, outs, expect = case
    with fresh_csim_cache() if target == "csim" else contextlib.nullcontext():  # the binary lives there
        start = time.perf_counter()
        s = dsl.customize(design)
        schedule_units(s)
        mod = dsl.build(s, target="sim") if target == "sim" else \
            dsl.build(s, target="vitis_hls", mode="csim", timeout=3600)
        build = time.perf_counter() - start
        runs = []
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            mod(*args)
            runs.append(time.perf_counter() - start)
    procs = len(mod.net.processes) if target == "sim" else None
    return {"build": build, "run": min(runs), "exact": _exact(args, outs, expect), "processes": procs}
