"""Dataflow designs shared by the tests and benchmarks/bench_sim.py (regions are built by factories so
that sizes are parameters)."""
import dsl
from dsl import int8, int32


def producer_consumer(N, depth=4):
    @dsl.region()
    def pc(A: int32[N], B: int32[N]):
        pipe: dsl.Stream[int32, depth]

        @dsl.kernel(mapping=[1])
        def producer(A: int32[N]):
            for i in range(N):
                pipe.put(A[i] + 1)

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[N]):
            for i in range(N):
                B[i] = pipe.get() * 2

    return pc


def fork_join(N):
    @dsl.region()
    def fj(A: int32[N], B: int32[N]):
        left: dsl.Stream[int32, 2]
        right: dsl.Stream[int32, 2]
        left2: dsl.Stream[int32, 2]
        right2: dsl.Stream[int32, 2]

        @dsl.kernel(mapping=[1])
        def fork(A: int32[N]):
            for i in range(N):
                left.put(A[i])
                right.put(A[i] * 3)

        @dsl.kernel(mapping=[1])
        def add_one(A: int32[N]):
            for i in range(N):
                left2.put(left.get() + 1)

        @dsl.kernel(mapping=[1])
        def square(A: int32[N]):
            for i in range(N):
                v = right.get()
                right2.put(v * v)

        @dsl.kernel(mapping=[1])
        def join(B: int32[N]):
            for i in range(N):
                B[i] = left2.get() + right2.get()

    return fj


def systolic_1d(M, P):
    """y = A @ x on a chain of P PEs: PE k adds A[m, k] * x[k] to the partial sum flowing through. One
    loader reads A and x and one sink writes y, so every top-level argument has a single reader or writer
    (what Vitis requires of a dataflow region's m_axi ports)."""
    @dsl.region()
    def mv(A: int32[M, P], x: int32[P], y: int32[M]):
        ps: dsl.Stream[int32, 2][P + 1]
        fw: dsl.Stream[int32, 1][P]
        fa: dsl.Stream[int32, 2][P]

        @dsl.kernel(mapping=[1])
        def load(A: int32[M, P], x: int32[P]):
            with dsl.meta_for(P) as k:
                fw[k].put(x[k])
            for m in range(M):
                ps[0].put(0)
                with dsl.meta_for(P) as k:
                    fa[k].put(A[m, k])

        @dsl.kernel(mapping=[P])
        def pe():
            k = dsl.get_pid()
            w: int32 = fw[k].get()
            for m in range(M):
                ps[k + 1].put(ps[k].get() + fa[k].get() * w)

        @dsl.kernel(mapping=[1])
        def sink(y: int32[M]):
            for m in range(M):
                y[m] = ps[P].get()

    return mv


def systolic_gemm(M, N, K, P0, P1, depth=2):
    """Output-stationary P0 x P1 systolic array, int8 in, int32 out. The loaders tile the M x N output into
    P0 x P1 blocks and stream rows of A from the left and columns of B from the top; PE (i, j) accumulates
    C[ti * P0 + i, tj * P1 + j], forwards its operands right and down and sends its sum to the one kernel
    that writes C; drains absorb the operands leaving the edges. Each top-level argument has one reader or
    writer (``dsl.meta_for`` unrolls the loaders over the rows/columns), as Vitis requires."""
    TM, TN = M // P0, N // P1

    @dsl.region()
    def gemm(A: int8[M, K], B: int8[K, N], C: int32[M, N]):
        fa: dsl.Stream[int8, depth][P0, P1 + 1]
        fb: dsl.Stream[int8, depth][P0 + 1, P1]
        fc: dsl.Stream[int32, 1][P0, P1]

        @dsl.kernel(mapping=[1])
        def load_a(A: int8[M, K]):
            for ti, tj in dsl.grid(TM, TN):
                for k in range(K):
                    with dsl.meta_for(P0) as i:
                        fa[i, 0].put(A[ti * P0 + i, k])

        @dsl.kernel(mapping=[1])
        def load_b(B: int8[K, N]):
            for ti, tj in dsl.grid(TM, TN):
                for k in range(K):
                    with dsl.meta_for(P1) as j:
                        fb[0, j].put(B[k, tj * P1 + j])

        @dsl.kernel(mapping=[P0, P1])
        def pe():
            i, j = dsl.get_pid()
            for ti, tj in dsl.grid(TM, TN):
                acc: int32 = 0
                for k in range(K):
                    a = fa[i, j].get()
                    b = fb[i, j].get()
                    acc += a * b
                    fa[i, j + 1].put(a)
                    fb[i + 1, j].put(b)
                fc[i, j].put(acc)

        @dsl.kernel(mapping=[1])
        def store_c(C: int32[M, N]):
            for ti, tj in dsl.grid(TM, TN):
                with dsl.meta_for(P0) as i:
                    with dsl.meta_for(P1) as j:
                        C[ti * P0 + i, tj * P1 + j] = fc[i, j].get()

        @dsl.kernel(mapping=[P0])
        def drain_a():
            i = dsl.get_pid()
            for t in range(TM * TN * K):
                fa[i, P1].get()

        @dsl.kernel(mapping=[P1])
        def drain_b():
            j = dsl.get_pid()
            for t in range(TM * TN * K):
                fb[P0, j].get()

    return gemm


def systolic_gemm_shared(M, N, K, P0, P1):
    """The systolic GEMM written carelessly: one loader per row/column and every PE writing C itself. It
    simulates, but Vitis would reject its top-level arguments shared by several processes."""
    TM, TN = M // P0, N // P1

    @dsl.region()
    def gemm(A: int8[M, K], B: int8[K, N], C: int32[M, N]):
        fa: dsl.Stream[int8, 2][P0, P1 + 1]
        fb: dsl.Stream[int8, 2][P0 + 1, P1]

        @dsl.kernel(mapping=[P0])
        def load_a(A: int8[M, K]):
            i = dsl.get_pid()
            for ti, tj in dsl.grid(TM, TN):
                for k in range(K):
                    fa[i, 0].put(A[ti * P0 + i, k])

        @dsl.kernel(mapping=[P1])
        def load_b(B: int8[K, N]):
            j = dsl.get_pid()
            for ti, tj in dsl.grid(TM, TN):
                for k in range(K):
                    fb[0, j].put(B[k, tj * P1 + j])

        @dsl.kernel(mapping=[P0, P1])
        def pe(C: int32[M, N]):
            i, j = dsl.get_pid()
            for ti, tj in dsl.grid(TM, TN):
                acc: int32 = 0
                for k in range(K):
                    a = fa[i, j].get()
                    b = fb[i, j].get()
                    acc += a * b
                    fa[i, j + 1].put(a)
                    fb[i + 1, j].put(b)
                C[ti * P0 + i, tj * P1 + j] = acc

        @dsl.kernel(mapping=[P0])
        def drain_a(C: int32[M, N]):
            i = dsl.get_pid()
            for t in range(TM * TN * K):
                fa[i, P1].get()

        @dsl.kernel(mapping=[P1])
        def drain_b(C: int32[M, N]):
            j = dsl.get_pid()
            for t in range(TM * TN * K):
                fb[P0, j].get()

    return gemm


def diamond(N, short_depth):
    """src feeds the sink directly (short) and through a stage that needs all N tokens before it emits any
    (long): the short FIFO must hold N - 1 tokens."""
    @dsl.region()
    def dia(A: int32[N], B: int32[N]):
        short: dsl.Stream[int32, short_depth]
        long_in: dsl.Stream[int32, 2]
        long_out: dsl.Stream[int32, 2]

        @dsl.kernel(mapping=[1])
        def src(A: int32[N]):
            for i in range(N):
                short.put(A[i])
                long_in.put(A[i])

        @dsl.kernel(mapping=[1])
        def reverse(A: int32[N]):
            buf: int32[N]
            for i in range(N):
                buf[i] = long_in.get()
            for i in range(N):
                long_out.put(buf[N - 1 - i])

        @dsl.kernel(mapping=[1])
        def sink(B: int32[N]):
            for i in range(N):
                a = short.get()
                B[i] = a + long_out.get()

    return dia
