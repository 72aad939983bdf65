"""Programs written the way Allo users write them, running on dsl (see docs/allo.md for the renames).

    python examples/allo_programs.py

1. an output-stationary systolic array whose edge PEs (feeders, drains, corners) are chosen per PE with
   ``dsl.meta_if`` on ``get_pid()``, fed by one load kernel and drained by one store kernel (the only
   kernels that touch memory, as Vitis requires of a dataflow region): the simulator and csim;
2. a stateful accumulator (``x: T @ dsl.Stateful``) keeping a running mean across calls: the CPU and csim;
3. a PolyBench Jacobi-2D with line and window buffers (``reuse_at`` on its cross-shaped stencil), the two
   sweeps scheduled separately and composed into the time loop, the template's type arguments inferred;
4. a hierarchical design: a region whose kernel calls a parametrised region twice, with different tilings:
   the simulator only, since all its PEs read the same memory arguments (the HLS build warns that Vitis
   would reject that; a board design streams them from one loader, as program 1 does).

Each program is checked against numpy; ``run_all`` returns the largest error of each.
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import float32, int32

# -- 1. systolic array with meta_if edge PEs --------------------------------------------------------------
M, N, K = 3, 3, 4
P0, P1 = M + 2, N + 2


@dsl.region()
def systolic(A: float32[M, K], B: float32[K, N], C: float32[M, N]):
    a_in: dsl.Stream[float32, 2][M]          # loader -> left edge, one FIFO per row of A
    b_in: dsl.Stream[float32, 2][N]          # loader -> top edge, one per column of B
    east: dsl.Stream[float32, 2][P0, P1]
    south: dsl.Stream[float32, 2][P0, P1]
    result: dsl.Stream[float32, 2][M, N]     # compute PEs -> store

    # one kernel reads each memory argument: Vitis accepts a dataflow region only so (UG1399, dataflow)
    @dsl.kernel(mapping=[1], args=[A, B])
    def load(a: float32[M, K], b: float32[K, N]):
        for k in range(K):
            with dsl.meta_for(M) as i:           # stream indices are compile-time: one put per FIFO
                a_in[i].put(a[i, k])
            with dsl.meta_for(N) as j:
                b_in[j].put(b[k, j])

    @dsl.kernel(mapping=[P0, P1])
    def pe():
        r, c = dsl.get_pid()
        with dsl.meta_if((r == 0 or r == M + 1) and (c == 0 or c == N + 1)):
            pass                                                # the four corners
        with dsl.meta_elif(c == 0):                             # left edge: feeds row r - 1 of A
            for k in range(K):
                east[r, 1].put(a_in[r - 1].get())
        with dsl.meta_elif(r == 0):                             # top edge: feeds column c - 1 of B
            for k in range(K):
                south[1, c].put(b_in[c - 1].get())
        with dsl.meta_elif(r == M + 1):                         # bottom drains
            for k in range(K):
                south[r, c].get()
        with dsl.meta_elif(c == N + 1):                         # right drains
            for k in range(K):
                east[r, c].get()
        with dsl.meta_else():                                   # a compute PE
            acc: float32 = 0.0
            for k in range(K):
                x: float32 = east[r, c].get()
                y: float32 = south[r, c].get()
                acc += x * y
                east[r, c + 1].put(x)
                south[r + 1, c].put(y)
            result[r - 1, c - 1].put(acc)

    @dsl.kernel(mapping=[1], args=[C])
    def store(c_out: float32[M, N]):
        with dsl.meta_for(M) as i:
            with dsl.meta_for(N) as j:
                c_out[i, j] = result[i, j].get()


def run_systolic(rng, csim: bool) -> float:
    A, B = rng.random((M, K), dtype=np.float32), rng.random((K, N), dtype=np.float32)
    targets = [dict(target="simulator")] + ([dict(target="vitis_hls", mode="csim")] if csim else [])
    err = 0.0
    for options in targets:
        C = np.zeros((M, N), np.float32)
        dsl.build(systolic, **options)(A, B, C)
        err = max(err, float(np.abs(C - A @ B).max()))
    return err


# -- 2. stateful accumulator ------------------------------------------------------------------------------
def running_mean(x: float32) -> float32:
    total: float32 @ dsl.Stateful = 0.0
    count: int32 @ dsl.Stateful = 0
    total = total + x
    count = count + 1
    return total / count


def run_stateful(rng, csim: bool) -> float:
    xs = rng.random(6, dtype=np.float32) * 10
    want = np.cumsum(xs, dtype=np.float64) / np.arange(1, 7)
    s = dsl.customize(running_mean)
    builds = [s.build()] + ([dsl.build(s, target="vitis_hls", mode="csim")] if csim else [])
    return max(float(np.abs(np.array([mod(x) for x in xs]) - want).max()) for mod in builds)


# -- 3. PolyBench Jacobi-2D with reuse_at -----------------------------------------------------------------
STEPS, SIZE = 3, 12


@dsl.template("T", "L")
def sweep_a(src: "T[L, L]", dst: "T[L, L]"):
    for p, q in dsl.grid(L - 2, L - 2, name="sweep_a"):  # noqa: F821 - L is a type parameter
        dst[p + 1, q + 1] = 0.2 * (src[p, q + 1] + src[p + 1, q] + src[p + 1, q + 1] + src[p + 1, q + 2]
                                   + src[p + 2, q + 1])


@dsl.template("T", "L")
def sweep_b(src: "T[L, L]", dst: "T[L, L]"):
    for u, v in dsl.grid(L - 2, L - 2, name="sweep_b"):  # noqa: F821
        dst[u + 1, v + 1] = 0.2 * (src[u, v + 1] + src[u + 1, v] + src[u + 1, v + 1] + src[u + 1, v + 2]
                                   + src[u + 2, v + 1])


@dsl.template("T", "L")
def jacobi_2d(A: "T[L, L]", B: "T[L, L]"):
    for t in range(STEPS):
        sweep_a(A, B)        # T and L inferred from A and B
        sweep_b(B, A)


def jacobi_2d_reference(A, B):
    for _ in range(STEPS):
        for src, dst in ((A, B), (B, A)):
            dst[1:-1, 1:-1] = 0.2 * (src[:-2, 1:-1] + src[1:-1, :-2] + src[1:-1, 1:-1] + src[1:-1, 2:]
                                     + src[2:, 1:-1])


def jacobi_schedule():
    subs = []
    for kernel, (src, row, col) in ((sweep_a, ("src", "p", "q")), (sweep_b, ("src", "u", "v"))):
        sub = dsl.customize(kernel, instantiate=[float32, SIZE])
        line = sub.reuse_at(sub[src], row)          # three rows of the grid
        window = sub.reuse_at(line, col)           # the 3 x 3 window around the cross
        sub.partition(line, dim=1)
        sub.partition(window)
        sub.pipeline(col)
        subs.append(sub)
    s = dsl.customize(jacobi_2d, instantiate=[float32, SIZE])
    s.compose(subs)
    return s


def run_jacobi(rng, csim: bool) -> float:
    A, B = rng.random((SIZE, SIZE), dtype=np.float32), rng.random((SIZE, SIZE), dtype=np.float32)
    want_a, want_b = A.astype(np.float64), B.astype(np.float64)
    jacobi_2d_reference(want_a, want_b)
    s = jacobi_schedule()
    err = 0.0
    for build in [s.build] + ([lambda: dsl.build(s, target="vitis_hls", mode="csim")] if csim else []):
        a, b = A.copy(), B.copy()
        build()(a, b)
        err = max(err, float(np.abs(a - want_a).max()), float(np.abs(b - want_b).max()))
    return err


# -- 4. hierarchical regions ------------------------------------------------------------------------------
H = 8


@dsl.region()
@dsl.template("R", "C")
def tiled(A: float32[H, H], B: float32[H, H], Out: float32[H, H]):
    @dsl.kernel(mapping=[R, C], args=[A, B, Out])  # noqa: F821 - type parameters
    def tile(a: float32[H, H], b: float32[H, H], out: float32[H, H]):
        ti, tj = dsl.get_pid()
        rows: dsl.ConstExpr[int32] = H // R  # noqa: F821
        cols: dsl.ConstExpr[int32] = H // C  # noqa: F821
        for i in range(ti * rows, (ti + 1) * rows):
            for j in range(tj * cols, (tj + 1) * cols):
                acc: float32 = 0.0
                for k in range(H):
                    acc += a[i, k] * b[k, j]
                out[i, j] = acc


@dsl.region()
def two_designs(A: float32[H, H], B: float32[H, H], C1: float32[H, H], C2: float32[H, H]):
    @dsl.kernel(mapping=[2], args=[A, B, C1, C2])
    def pick(a: float32[H, H], b: float32[H, H], c1: float32[H, H], c2: float32[H, H]):
        which = dsl.get_pid()
        with dsl.meta_if(which == 0):
            tiled[2, 2](a, b, c1)
        with dsl.meta_else():
            tiled[1, 4](a, b, c2)


def run_hierarchy(rng, csim: bool) -> float:
    A, B = rng.random((H, H), dtype=np.float32), rng.random((H, H), dtype=np.float32)
    C1, C2 = np.zeros((H, H), np.float32), np.zeros((H, H), np.float32)
    dsl.build(two_designs, target="simulator")(A, B, C1, C2)
    return float(max(np.abs(C1 - A @ B).max(), np.abs(C2 - A @ B).max()))


PROGRAMS = {"systolic array with meta_if edge PEs": run_systolic, "stateful running mean": run_stateful,
            "PolyBench Jacobi-2D with reuse_at": run_jacobi, "hierarchical regions": run_hierarchy}


def run_all(csim: bool = True, seed: int = 0) -> dict:
    """Largest absolute error against numpy of each program."""
    rng = np.random.default_rng(seed)
    return {name: run(rng, csim) for name, run in PROGRAMS.items()}


if __name__ == "__main__":
    for name, err in run_all().items():
        print(f"{name:42s} max |error| = {err:.2e}  {'ok' if err < 1e-4 else 'WRONG'}")
