"""Every library kernel at BERT-base sizes (L=512, D=768, D_FFN=3072, 12 heads): CPU time against numpy's on
the same data, and the simulator's and csim's time for the kernels with a streaming form.

    python benchmarks/bench_library.py                          # every kernel, then the multi-unit designs
    python benchmarks/bench_library.py --only softmax,gemm --skip-csim --repeat 5
    python benchmarks/bench_library.py --only gelu --quick      # small sizes (a smoke run)

CPU columns: the compiled module's call (numpy in, numpy out, the call boundary included), the kernel
alone (the JIT-compiled function on arguments converted once), numpy on the same data (float32 numpy as a
user would write it; for kernels numpy has no function for, the library's own numpy reference, marked *),
call / numpy (< 1: faster than numpy); best of --repeat samples, a sample of a call under 20 ms being the
mean over repeated calls. Target: the float kernels within 3x of numpy (`cpu ok` / `cpu MISS`).
Streaming columns (``library_streams``): the design built (customize, unit schedules, build) and run
(best of --repeat) on the simulator at the CPU's instantiation, with the same data; csim compiled (HLS
emission and g++, in an empty cache) and run at the instantiation shown (fewer rows where the full size
would take too long); exact: every result equals the kernel's numpy reference bit for bit (the script
exits 1 otherwise). Target: the systolic GEMM 512 x 768 x 3072 int8 on the simulator under 5 s (its run;
`sim ok` / `sim MISS`).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from dsl.library import registry, scheduled

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import library_streams as streams  # noqa: E402

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


def bench_cpu(entry, inst, repeat):
    """(compile s, call s, kernel-alone s, numpy s, '*' when numpy is the library's reference)."""
    args = entry.inputs(inst, np.random.default_rng(0))
    t0 = time.perf_counter()
    mod = scheduled(entry.kernel, inst, entry.schedule).build()
    mod(*args)  # the first call finishes the JIT compilation
    compile_s = time.perf_counter() - t0
    call = best_of(lambda: mod(*args), repeat)
    alone = best_of(kernel_only(mod, args), repeat)
    np_fn = NUMPY.get(entry.name)
    star = "" if np_fn else "*"
    np_fn = np_fn or (lambda i, *a: entry.reference(i, *a))
    numpy_s = best_of(lambda: np_fn(inst, *args), repeat)
    return compile_s, call, alone, numpy_s, star


CPU_TARGET = 3.0   # float kernels: call / numpy at most this
SIM_TARGET = {"gemm": 5.0}   # kernel -> simulator run time (s) it must stay under


def _inst(inst) -> str:
    return ",".join(map(repr, inst))


def _stream_cols(case_of, args) -> tuple:
    """(sim build, sim run, processes, csim instantiation, csim compile, csim run, exact) columns."""
    sim = streams.measure(case_of(None), "sim", args.repeat)
    csim, what = None, "-"
    if not args.skip_csim:
        what, case = case_of(args.csim_rows if args.csim_rows else "csim")
        csim = streams.measure(case, "csim", 1)
    return sim, what, csim


COLUMNS = (f"{'kernel':28s} {'CPU instantiation':36s} {'call ms':>9s} {'kern ms':>9s} {'numpy ms':>9s} "
           f"{'call/np':>7s} {'target':8s} | {'sim build':>9s} {'sim run':>8s} {'procs':>5s} | "
           f"{'csim instantiation':36s} {'compile':>8s} {'run':>8s} | exact")


def _row(name, inst, cpu, sim, csim_what, csim, target) -> str:
    if cpu:
        _, call, alone, numpy_s, star = cpu
        c = f"{call * 1e3:9.2f} {alone * 1e3:9.2f} {numpy_s * 1e3:8.2f}{star:1s} {call / numpy_s:6.2f}x"
    else:
        c = f"{'-':>9s} {'-':>9s} {'-':>9s} {'-':>7s}"
    if sim:
        st = f"{sim['build']:8.2f}s {sim['run']:7.3f}s {sim['processes']:5d}"
        cs = (f"{csim_what[:36]:36s} {csim['build']:7.2f}s {csim['run']:7.3f}s" if csim else
              f"{'(skipped)':36s} {'-':>8s} {'-':>8s}")
        exact = "yes" if sim["exact"] and (csim is None or csim["exact"]) else "NO"
    else:
        st, cs, exact = f"{'-':>9s} {'-':>8s} {'-':>5s}", f"{'-':36s} {'-':>8s} {'-':>8s}", "-"
    return f"{name[:28]:28s} {inst[:36]:36s} {c} {target:8s} | {st} | {cs} | {exact}"


def kernel_row(entry, args) -> tuple:
    inst = entry.small if args.quick else entry.bert_base
    cpu = bench_cpu(entry, inst, args.repeat)
    floaty = any(t is registry.float32 for t in inst if not isinstance(t, int))
    target = ("cpu ok" if cpu[1] / cpu[3] <= CPU_TARGET else "cpu MISS") if floaty else "-"
    stream = streams.STREAMS.get(entry.name)
    if stream is None:
        return _row(entry.name, _inst(inst), cpu, None, None, None, target), True

    def case_of(rows):
        if rows is None:   # the simulator: the CPU's instantiation (--quick: BERT widths, 8 rows)
            return streams.kernel_case(entry, streams.resized(entry.bert_base, stream, 8 if args.quick else None))
        n = 8 if args.quick else stream.csim_rows if rows == "csim" else rows
        small = streams.resized(entry.bert_base, stream, n)
        return _inst(small), streams.kernel_case(entry, small)

    sim, what, csim = _stream_cols(case_of, args)
    if entry.name in SIM_TARGET:
        target = "sim ok" if sim["run"] < SIM_TARGET[entry.name] else "sim MISS"
    row = _row(entry.name, _inst(inst), cpu, sim, what, csim, target)
    return row, sim["exact"] and (csim is None or csim["exact"])


def design_row(name, args) -> tuple:
    what, case, csim_rows = streams.DESIGNS[name]

    def case_of(rows):
        if rows is None:
            return case(8 if args.quick else streams.L)
        n = 8 if args.quick else csim_rows if rows == "csim" else rows
        return f"L={n}", case(n)

    sim, csim_what, csim = _stream_cols(case_of, args)
    row = _row(name, what, None, sim, csim_what, csim, "-")
    return row, sim["exact"] and (csim is None or csim["exact"])


def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="kernels and designs (comma-separated; default: all)")
    ap.add_argument("--skip-csim", action="store_true", help="no csim columns")
    ap.add_argument("--repeat", type=int, default=3, help="samples per CPU figure and simulator runs (best)")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run): the CPU at the kernel's "
                    "csim instantiation, the streaming forms at BERT widths with 8 rows (simulator and csim)")
    ap.add_argument("--csim-rows", type=int, default=0, help="rows in csim (default: per kernel)")
    args = ap.parse_args(argv)
    known = [e.name for e in registry.KERNELS] + list(streams.DESIGNS)
    names = [n for n in args.only.split(",") if n] or known
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"unknown kernel(s) {', '.join(unknown)}; known: {', '.join(known)}")
    print(f"bench_library {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; "
          f"{_load()}", flush=True)
    print(COLUMNS, flush=True)
    ok = True
    for name in names:
        row, exact = design_row(name, args) if name in streams.DESIGNS else \
            kernel_row(registry.BY_NAME[name], args)
        ok &= exact
        print(row, flush=True)
    print("* numpy has no such function: the library's numpy reference (same float32 operations) is timed")
    print(f"targets: float kernels call/numpy <= {CPU_TARGET:g}x; "
          + ", ".join(f"{k} simulator run < {v:g} s" for k, v in SIM_TARGET.items()))
    print(f"end: {_load()}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
