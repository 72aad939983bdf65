"""Library kernels on the CPU backend at BERT-base sizes (L=512, D=768, D_FFN=3072, 12 heads) against numpy.

    python benchmarks/bench_library.py                 # every kernel
    python benchmarks/bench_library.py softmax gemm    # some

For each kernel: the call of the compiled module (numpy in, numpy out, the call boundary included), the
kernel alone (the JIT-compiled function, without the boundary's argument conversion and copies), numpy on the
same data (float32 numpy as a user would write it; for kernels numpy has no function for, the library's own
numpy reference, marked *), and the ratios (< 1: faster than numpy). Figures are the best of a few runs.
"""
from __future__ import annotations

import ctypes
import sys
import time

import numpy as np

import dsl
from dsl.library import ref, registry, scheduled

F = np.float32


def _np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_layer_norm(x, g, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + F(eps)) * g + b


def _np_attention(i, Q, K, V, past):
    H, LQ, D = i[1], Q.shape[0], Q.shape[1]
    dh = D // H
    out = np.empty_like(Q)
    mask = np.arange(K.shape[0])[None, :] > (past + np.arange(LQ))[:, None]
    for h in range(H):
        c = slice(h * dh, (h + 1) * dh)
        out[:, c] = _np_softmax(np.where(mask, -np.inf, Q[:, c] @ K[:, c].T * F(1 / np.sqrt(dh)))) @ V[:, c]
    return out


NUMPY = {
    "softmax": lambda i, X: _np_softmax(X),
    "masked_softmax": lambda i, X, s, p: _np_softmax(np.where(
        np.arange(X.shape[1])[None, :] > (p + np.arange(X.shape[0]))[:, None], -np.inf, X * s)),
    "log_softmax": lambda i, X: (X - X.max(axis=-1, keepdims=True)) - np.log(
        np.exp(X - X.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)),
    "layer_norm": lambda i, X, g, b: _np_layer_norm(X, g, b, 1e-5),
    "layer_norm_eps": lambda i, X, g, b, e: _np_layer_norm(X, g, b, e),
    "rms_norm": lambda i, X, g: X / np.sqrt((X * X).mean(axis=-1, keepdims=True) + F(1e-6)) * g,
    "gelu_tanh": lambda i, X: F(0.5) * X * (F(1) + np.tanh(F(0.7978845608) * (X + F(0.044715) * X ** 3))),
    "silu": lambda i, X: X / (F(1) + np.exp(-X)),
    "relu": lambda i, X: np.maximum(X, F(0)),
    "residual_add": lambda i, a, b: a + b,
    "linear2d": lambda i, X, W, b: X @ W.T + b,
    "linear3d": lambda i, X, W, b: X @ W.T + b,
    "matmul": lambda i, A, B: A @ B,
    "bmm": lambda i, A, B: A @ B,
    "scaled_dot_product_attention": _np_attention,
    "embedding": lambda i, ids, t, p, s: t[ids] + p[s:s + len(ids)],
    "kv_read": lambda i, c, p: c[p:p + i[3]].copy(),
    "quantize": lambda i, X, s: np.clip(np.rint(X / s), -127, 127).astype(np.int8),
    "quantize_rows": lambda i, X, s: np.clip(np.rint(X / s[:, None]), -127, 127).astype(np.int8),
    "dequantize": lambda i, Q, s: Q.astype(F) * s,
    "dequantize_rows": lambda i, Q, a, b: Q.astype(F) * a[:, None] * b[None, :],
    "smooth": lambda i, X, s: X / s,
    "smooth_weight": lambda i, W, s: W * s,
    "gemm": lambda i, A, B: A.astype(np.int32) @ B.astype(np.int32),
    "packed_gemm": lambda i, A, B: A.astype(np.int32) @ B.astype(np.int32),
    "systolic_linear": lambda i, X, W: X.astype(np.int32) @ W.T.astype(np.int32),
    "packed_linear": lambda i, X, W: X.astype(np.int32) @ W.T.astype(np.int32),
}


SAMPLE_S = 0.02  # a sample of a short function repeats it for at least this long (the clock's and the
                 # machine's noise dominate single calls of 0.1 ms)


def best_of(fn, repeat=3):
    """The best, over ``repeat`` samples, of the mean time of one call in a sample."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    calls = max(1, min(1000, int(SAMPLE_S / max(once, 1e-7))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return min(times)


def kernel_only(mod, args):
    """A function that runs only the JIT-compiled kernel on arguments converted once (no boundary)."""
    from dsl.backend import llvm
    from dsl.backend.interface import check_args

    storage = check_args(mod.sig, args)
    outputs = [np.zeros(a.shape, dtype=llvm._carrier(a)) for a in mod.sig.outputs]
    keep, packed = [], []
    for spec, buf in zip(mod.sig.args, storage + outputs):
        packed.append(llvm._pack(spec, buf, keep))
    return lambda: (keep, mod._invoke(packed))  # keep: the buffers must outlive the call


def bench(entry, repeat):
    args = entry.inputs(entry.bert_base, np.random.default_rng(0))
    t0 = time.perf_counter()
    mod = scheduled(entry.kernel, entry.bert_base, entry.schedule).build()
    mod(*args)  # the first call finishes the JIT compilation
    compile_s = time.perf_counter() - t0
    call = best_of(lambda: mod(*args), repeat)
    alone = best_of(kernel_only(mod, args), repeat)
    np_fn = NUMPY.get(entry.name)
    star = "" if np_fn else "*"
    np_fn = np_fn or (lambda i, *a: entry.reference(i, *a))
    numpy_s = best_of(lambda: np_fn(entry.bert_base, *args), repeat)
    return compile_s, call, alone, numpy_s, star


def main(names):
    entries = [registry.BY_NAME[n] for n in names] if names else registry.KERNELS
    print(f"{'kernel':30s} {'instantiation':44s} {'compile':>8s} {'call':>9s} {'kernel':>9s} {'numpy':>9s} "
          f"{'call/np':>8s} {'kern/np':>8s}")
    for entry in entries:
        repeat = 2 if entry.name in ("packed_gemm", "linear2d", "linear3d") else 3
        compile_s, call, alone, numpy_s, star = bench(entry, repeat)
        inst = ", ".join(map(repr, entry.bert_base))
        print(f"{entry.name:30s} {inst[:44]:44s} {compile_s:7.2f}s {call * 1e3:7.2f}ms {alone * 1e3:7.2f}ms "
              f"{numpy_s * 1e3:7.2f}ms{star:1s} {call / numpy_s:7.2f}x {alone / numpy_s:7.2f}x", flush=True)
    print("* numpy has no such function: the library's numpy reference (same float32 operations) is timed")


if __name__ == "__main__":
    main(sys.argv[1:])
