"""One design per library kernel that has a streaming form: the unit alone between loaders and stores, so
that it computes what the memory-to-memory kernel computes on the same arrays (``benchmarks/
bench_library.py`` times these on the simulator and in csim; ``unit_designs`` holds the multi-unit ones)."""
import dsl
from dsl import float32, int16, int32, int64
from dsl.library.units import integer, memory, quantize, rowwise
from dsl.library.units.tokens import chunk


def softmax(R, D):
    """softmax(X * scale) per row, row i over its first min(D, past + i + 1) entries: ``masked_softmax``;
    with past >= D - 1 every entry (``softmax``, scale 1)."""
    c = chunk(float32, D)

    @dsl.region()
    def smax(X: float32[R, D], Z: float32[R, D], scale: float32, past: int32):
        xs: dsl.Stream[float32[c], 2]
        ns: dsl.Stream[int32, 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, R, D](X, xs)
        rowwise.causal_mask[R, D, 1, 1, 1](ns, past)
        rowwise.softmax_rows[float32, R, D](xs, ns, zs, scale)
        memory.store_rows[float32, R, D](zs, Z)

    return smax


def layer_norm(R, D):
    c = chunk(float32, D)

    @dsl.region()
    def norm(X: float32[R, D], g: float32[D], b: float32[D], Z: float32[R, D], eps: float32):
        xs: dsl.Stream[float32[c], 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, R, D](X, xs)
        rowwise.layer_norm_rows[float32, R, D](xs, g, b, zs, eps)
        memory.store_rows[float32, R, D](zs, Z)

    return norm


def residual_add(R, D):
    c = chunk(float32, D)

    @dsl.region()
    def resid(A: float32[R, D], B: float32[R, D], Z: float32[R, D]):
        xs: dsl.Stream[float32[c], 2]
        bs: dsl.Stream[float32[c], 2]
        zs: dsl.Stream[float32[c], 2]
        memory.load_rows[float32, R, D](A, xs)
        memory.load_rows[float32, R, D](B, bs)
        rowwise.residual_add[float32, R, D](xs, bs, zs)
        memory.store_rows[float32, R, D](zs, Z)

    return resid


def quantize_per_token(R, D, TQ):
    cf, cq = chunk(float32, D), chunk(TQ, D)

    @dsl.region()
    def qpt(X: float32[R, D], Q: TQ[R, D], S: float32[R]):
        xs: dsl.Stream[float32[cf], 2]
        qs: dsl.Stream[TQ[cq], 2]
        ss: dsl.Stream[float32, 2]
        memory.load_rows[float32, R, D](X, xs)
        quantize.quantize_rows[float32, TQ, R, D](xs, qs, ss)
        memory.store_rows[TQ, R, D](qs, Q)

        @dsl.kernel(mapping=[1])
        def scales(S: float32[R]):
            for r in range(R):
                S[r] = ss.get()

    return qpt


def dequantize_rows(R, D):
    ca, cf = chunk(int32, D), chunk(float32, D)

    @dsl.region()
    def deq(ACC: int32[R, D], Srow: float32[R], Scol: float32[D], Z: float32[R, D]):
        acc: dsl.Stream[int32[ca], 2]
        rs: dsl.Stream[float32, 2]
        zs: dsl.Stream[float32[cf], 2]
        memory.load_rows[int32, R, D](ACC, acc)

        @dsl.kernel(mapping=[1])
        def scales(Srow: float32[R]):
            for r in range(R):
                rs.put(Srow[r])

        quantize.dequantize_rows[int32, float32, R, D](acc, rs, Scol, zs)
        memory.store_rows[float32, R, D](zs, Z)

    return deq


def requantize(R, D, TQ):
    ca, cq = chunk(int32, D), chunk(TQ, D)

    @dsl.region()
    def req(ACC: int32[R, D], Q: TQ[R, D], mult: int32, shift: int32):
        acc: dsl.Stream[int32[ca], 2]
        qs: dsl.Stream[TQ[cq], 2]
        memory.load_rows[int32, R, D](ACC, acc)
        quantize.requantize_rows[TQ, R, D](acc, qs, mult, shift)
        memory.store_rows[TQ, R, D](qs, Q)

    return req


def kv_append(T, LMAX, D, LN):
    """Prefill: LN new rows written into the cache at ``pos`` (``nn.kv_append``, in place)."""
    c = chunk(T, D)

    @dsl.region()
    def kvw(cache: T[LMAX, D], new: T[LN, D], pos: int32):
        ns: dsl.Stream[T[c], 2]
        memory.load_rows[T, LN, D](new, ns)
        memory.kv_write[T, LMAX, D, LN](ns, cache, pos)

    return kvw


def kv_read(T, LMAX, D, LN):
    c = chunk(T, D)

    @dsl.region()
    def kvr(cache: T[LMAX, D], got: T[LN, D], pos: int32):
        rs: dsl.Stream[T[c], 2]
        memory.kv_read[T, LMAX, D, LN](cache, rs, pos)
        memory.store_rows[T, LN, D](rs, got)

    return kvr


def int_gelu(R, D):
    ci, co = chunk(int32, D), chunk(int64, D)

    @dsl.region()
    def igelu(X: int32[R, D], Z: int64[R, D], qb: int64, qc: int64, q1: int64):
        xs: dsl.Stream[int32[ci], 2]
        zs: dsl.Stream[int64[co], 2]
        memory.load_rows[int32, R, D](X, xs)
        integer.int_gelu_rows[R, D](xs, zs, qb, qc, q1)
        memory.store_rows[int64, R, D](zs, Z)

    return igelu


def int_softmax(R, D):
    c = chunk(int32, D)

    @dsl.region()
    def isoft(X: int32[R, D], Z: int32[R, D], q_ln2: int64, qb: int64, qc: int64):
        xs: dsl.Stream[int32[c], 2]
        zs: dsl.Stream[int32[c], 2]
        memory.load_rows[int32, R, D](X, xs)
        integer.int_softmax_rows[R, D](xs, zs, q_ln2, qb, qc)
        memory.store_rows[int32, R, D](zs, Z)

    return isoft


def int_layer_norm(R, D):
    ci, co = chunk(int16, D), chunk(int64, D)

    @dsl.region()
    def inorm(X: int16[R, D], Z: int64[R, D]):
        xs: dsl.Stream[int16[ci], 2]
        zs: dsl.Stream[int64[co], 2]
        memory.load_rows[int16, R, D](X, xs)
        integer.int_layer_norm_rows[R, D](xs, zs)
        memory.store_rows[int64, R, D](zs, Z)

    return inorm
