"""``python -m dsl``: a tour that exercises the whole flow on one kernel and checks every result.

1. a typed Python gemm → MLIR, run on the CPU through the JIT and compared with numpy;
2. a schedule (split, reorder, pipeline, partition) applied, saved as YAML and replayed;
3. the scheduled kernel emitted as Vitis HLS C++ and run in csim (g++ against AMD's ap_int headers);
4. a spatial design (a systolic matrix-vector chain of PEs talking through FIFOs) on the FIFO simulator
   and in csim, and a FIFO too shallow for its design reported as a deadlock, by name, with the fix;
5. the analytical model's verdict for GPT2-medium on the U280 against an A100.
Writes the Vitis project to ``build/tour_gemm.prj`` (or the folder given with ``--out``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import dsl
from dsl import int8, int32

M, K, N = 64, 32, 16


def gemm(A: int8[M, K], B: int8[K, N]) -> int32[M, N]:
    C: int32[M, N] = 0
    for i, j in dsl.grid(M, N):
        for k in dsl.reduction(K):
            C[i, j] += A[i, k] * B[k, j]
    return C


P, T = 4, 8  # PEs of the chain; tokens through the diamond


@dsl.region()
def chain(W: int32[M, P], x: int32[P], y: int32[M]):
    """y = W @ x: PE k adds W[m, k] * x[k] to the partial sum flowing through it."""
    ps: dsl.Stream[int32, 2][P + 1]
    fw: dsl.Stream[int32, 2][P]
    fx: dsl.Stream[int32, 1][P]

    @dsl.kernel(mapping=[1])
    def load(W: int32[M, P], x: int32[P]):  # one reader per argument, as Vitis wants
        with dsl.meta_for(P) as k:
            fx[k].put(x[k])
        for m in range(M):
            ps[0].put(0)
            with dsl.meta_for(P) as k:
                fw[k].put(W[m, k])

    @dsl.kernel(mapping=[P])
    def pe():
        k = dsl.get_pid()
        xk: int32 = fx[k].get()
        for m in range(M):
            ps[k + 1].put(ps[k].get() + fw[k].get() * xk)

    @dsl.kernel(mapping=[1])
    def store(y: int32[M]):
        for m in range(M):
            y[m] = ps[P].get()


def diamond(depth):
    """src feeds sink directly and through a stage that reverses all T tokens: 'short' needs T - 1 slots."""
    @dsl.region()
    def dia(A: int32[T], B: int32[T]):
        short: dsl.Stream[int32, depth]
        long_in: dsl.Stream[int32, 2]
        long_out: dsl.Stream[int32, 2]

        @dsl.kernel(mapping=[1])
        def src(A: int32[T]):
            for i in range(T):
                short.put(A[i])
                long_in.put(A[i])

        @dsl.kernel(mapping=[1])
        def reverse():
            buf: int32[T]
            for i in range(T):
                buf[i] = long_in.get()
            for i in range(T):
                long_out.put(buf[T - 1 - i])

        @dsl.kernel(mapping=[1])
        def sink(B: int32[T]):
            for i in range(T):
                B[i] = short.get() + long_out.get()

    return dia


def step(title):
    print(f"\n== {title}")


def check(label, got, want):
    ok = np.array_equal(got, want)
    print(f"   {label}: {'matches numpy' if ok else 'DIFFERS from numpy'}")
    return ok


def tour(out_dir: str) -> bool:
    rng = np.random.default_rng(0)
    A = rng.integers(-128, 128, (M, K), dtype=np.int8)
    B = rng.integers(-128, 128, (K, N), dtype=np.int8)
    want = A.astype(np.int32) @ B.astype(np.int32)
    ok = True

    step("1. kernel -> MLIR -> CPU")
    t0 = time.perf_counter()
    s = dsl.customize(gemm)
    mod = s.build()
    print(f"   customize + build: {1e3 * (time.perf_counter() - t0):.1f} ms")
    ok &= check("CPU result", mod(A, B), want)

    step("2. schedule")
    s.split("i", factor=8)
    s.reorder("i.outer", "j", "i.inner")
    s.pipeline("j")
    s.partition(s.B, dsl.Partition.Cyclic, dim=2, factor=4)
    print(s.get_loops())
    path = os.path.join(out_dir, "gemm_schedule.yaml")
    s.save(path)
    s2 = dsl.customize(gemm, schedule=path)
    same = str(s2.module) == str(s.module)
    print(f"   saved {path}; replayed module identical: {same}")
    ok &= same
    ok &= check("scheduled CPU result", s.build()(A, B), want)

    step("3. Vitis HLS")
    code = dsl.build(s, target="vhls")
    lines = str(code).splitlines()
    print("\n".join("   " + line for line in lines if "pragma" in line or line.strip().startswith("l_"))[:1500])
    project = os.path.join(out_dir, "tour_gemm.prj")
    t0 = time.perf_counter()
    csim = dsl.build(s, target="vitis_hls", mode="csim", project=project)
    got = csim(A, B)
    print(f"   project written to {project}; csim compile + run: {time.perf_counter() - t0:.2f} s")
    ok &= check("csim result", got, want)

    ok &= dataflow_step(rng)

    step("5. analytical model: the paper's GPT2-medium design on the U280 against an A100")
    from dsl import perf
    from dsl.perf.table import format_result

    design = os.path.join(os.path.dirname(perf.__file__), "designs", "gpt2-medium-u280.yaml")
    result = perf.evaluate("gpt2-medium", device="u280", quant="w4a8", prompt=128, gen=128, gpu="a100", design=design)
    print(format_result(result))
    return bool(ok)


def dataflow_step(rng) -> bool:
    step(f"4. spatial dataflow: a chain of {P} PEs, FIFO simulator and csim; a deadlock found by name")
    W = rng.integers(-99, 99, (M, P)).astype(np.int32)
    x = rng.integers(-99, 99, P).astype(np.int32)
    sim = dsl.build(chain, target="sim")
    y = np.zeros(M, np.int32)
    sim(W, x, y)
    print(f"   sim: {len(sim.net.processes)} kernel instances, {len(sim.net.fifos)} FIFOs, {1e3 * sim.elapsed:.1f} ms")
    ok = check("sim result", y, W @ x)
    y2 = np.zeros(M, np.int32)
    dsl.build(chain, target="vitis_hls", mode="csim")(W, x, y2)
    ok &= check("csim result", y2, W @ x)
    A = np.arange(T, dtype=np.int32)
    try:
        dsl.build(diamond(2), target="sim")(A, np.zeros(T, np.int32))
        print("   the shallow diamond did NOT deadlock")
        return False
    except dsl.DeadlockError as err:
        print("\n".join("   " + line for line in str(err).splitlines()))
        depth = err.suggested_depths["short"]
    B = np.zeros(T, np.int32)
    dsl.build(diamond(depth), target="sim")(A, B)
    return ok & check(f"with depth {depth}, result", B, A + A[::-1])


def _out_problem(out: str):
    """Why the tour cannot write into ``out`` (None when it can; the folder is then created)."""
    if not out.strip():
        return "name a folder for the generated project (the default is build/)"
    if os.path.exists(out) and not os.path.isdir(out):
        return "it is a file; name a folder for the generated project"
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        return f"cannot create the folder: {exc.strerror}"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dsl", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build", help="folder for the generated project (default: build/)")
    args = parser.parse_args(argv)
    problem = _out_problem(args.out)
    if problem:
        print(f"error: --out {args.out!r}: {problem}", file=sys.stderr)
        return 2
    try:
        ok = tour(args.out)
    except dsl.DSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\nall results agree with numpy" if ok else "\nSOME RESULTS DIFFER", file=sys.stdout)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
