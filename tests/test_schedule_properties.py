"""Random legal schedules preserve semantics: seeded sequences of primitives on varied kernels.

Each sequence draws primitives and arguments from the current loops and buffers of the schedule. A step
the primitive refuses (``ScheduleError``) must leave the MLIR and the trace exactly as they were and must be
a precondition message, not an internal failure; a step it accepts must keep the CPU result bit-identical
to the unscheduled kernel. Every final schedule round-trips through YAML to byte-identical MLIR.
"""
import numpy as np
import pytest

import dsl
from dsl import Fixed, float32, index, int8, int32
from dsl.schedule import names as N

# -- kernels --------------------------------------------------------------------------------------------


def gemm(A: int32[7, 5], B: int32[5, 9]) -> int32[7, 9]:
    C: int32[7, 9] = 0
    for i, j in dsl.grid(7, 9):
        for k in dsl.reduction(5):
            C[i, j] += A[i, k] * B[k, j]
    return C


def fgemm(A: float32[6, 7], B: float32[7, 5]) -> float32[6, 5]:
    C: float32[6, 5] = 0.0
    for i, j in dsl.grid(6, 5):
        for k in dsl.reduction(7):
            C[i, j] += A[i, k] * B[k, j]
    return C


def tri(A: int32[9, 9]) -> int32[9, 9]:
    B: int32[9, 9] = 0
    for i in range(9):
        B[i, 0] = A[i, 0]
        for j in range(i, 9):
            B[i, j] = A[i, j] + B[i, 0] * i
    return B


def bounds(A: int32[12, 12], n: index) -> int32[12, 12]:
    B: int32[12, 12] = 0
    for i in range(n):
        for j in range(i, n):
            B[i, j] = A[i, j] * 2 + A[j, i]
    return B


def add1(X: int32[4, 6]) -> int32[4, 6]:
    Y: int32[4, 6] = 0
    for i, j in dsl.grid(4, 6):
        Y[i, j] = X[i, j] + 1
    return Y


def calls(X: int32[4, 6]) -> int32[4, 6]:
    T = add1(X)
    U: int32[4, 6] = 0
    for i, j in dsl.grid(4, 6):
        U[i, j] = T[i, j] * 3
    return add1(U)


def conv(A: int32[8, 9], W: int32[3, 3]) -> int32[6, 7]:
    B: int32[6, 7] = 0
    for y, x in dsl.grid(6, 7):
        for r, c in dsl.reduction(3, 3):
            B[y, x] += A[y + r, x + c] * W[r, c]
    return B


def redif(A: int32[6, 7]) -> int32[6]:
    s: int32[6] = 0
    for i in range(6):
        for k in dsl.reduction(7):
            if A[i, k] > 0:
                s[i] += A[i, k]
            else:
                s[i] -= 1
    return s


def stages(A: int32[6, 5]) -> int32[6, 5]:
    B: int32[6, 5] = 0
    C: int32[6, 5] = 0
    for i, j in dsl.grid(6, 5):
        B[i, j] = A[i, j] * 3 + 1
    for i, j in dsl.grid(6, 5):
        C[i, j] = B[i, j] - A[i, j]
    return C


def fixed(A: Fixed(16, 8)[6, 5], W: Fixed(16, 8)[5, 4]) -> Fixed(16, 8)[6, 4]:
    C: Fixed(16, 8)[6, 4] = 0
    for i, j in dsl.grid(6, 4):
        for k in dsl.reduction(5):
            C[i, j] += A[i, k] * W[k, j]
    return C


def wave(A: int32[6, 8]) -> int32[6, 8]:  # distance (1, -1): i and j must not be swapped
    B: int32[6, 8] = 0
    for i in range(1, 6):
        for j in range(7):
            B[i, j] = B[i - 1, j + 1] * 2 + A[i, j]
    return B


def itotal(A: int32[6, 8]) -> int8[2]:  # integer sums (wrapping at 8 bits): any loop order is exact
    s: int8[2] = 0
    for i, j in dsl.grid(6, 8):
        for k in dsl.reduction(3):
            s[0] += A[i, j] * (k + 1)
            s[1] -= A[i, j]
    return s


def ftotal(A: float32[6, 8]) -> float32[1]:  # a float sum: its order is part of the result
    s: float32[1] = 0.0
    for i, j in dsl.grid(6, 8):
        s[0] += A[i, j]
    return s


def _i(r, *shape):
    return r.integers(-30, 30, shape).astype(np.int32)


def _fx(r, *shape):  # exactly representable in Fixed(16, 8)
    return (r.integers(-64, 64, shape) / 16).astype(np.float32)


INPUTS = {
    gemm: lambda r: [_i(r, 7, 5), _i(r, 5, 9)],
    fgemm: lambda r: [r.standard_normal((6, 7)).astype(np.float32), r.standard_normal((7, 5)).astype(np.float32)],
    tri: lambda r: [_i(r, 9, 9)],
    bounds: lambda r: [_i(r, 12, 12), 10],
    calls: lambda r: [_i(r, 4, 6)],
    conv: lambda r: [_i(r, 8, 9), _i(r, 3, 3)],
    redif: lambda r: [_i(r, 6, 7)],
    stages: lambda r: [_i(r, 6, 5)],
    fixed: lambda r: [_fx(r, 6, 5), _fx(r, 5, 4)],
    wave: lambda r: [_i(r, 6, 8)],
    itotal: lambda r: [_i(r, 6, 8)],
    ftotal: lambda r: [r.standard_normal((6, 8)).astype(np.float32)],
}

# -- drawing a step from the schedule's current loops and buffers -----------------------------------------


def _state(s):
    """(bands: {band path: [loop paths, outermost first]}, loops: [path], buffers: {path: shape})."""
    bands, bufs = {}, {}
    with s.context:
        for fname, fop in N.funcs(s.module).items():
            prefix = "" if fname == s.top else f"{fname}:"
            for band in s.get_loops(fname).values():
                bands[str(band)] = [h.path for h in band.values()]
            for name, buf in N.buffers_of(fop, fname).items():
                bufs[prefix + name] = buf.shape
    return bands, [p for b in bands.values() for p in b], bufs


def _pick(r, xs):
    return xs[int(r.integers(len(xs)))]


def _split(r, bands, loops, bufs):
    return {"loop": _pick(r, loops), "factor": int(r.integers(2, 6))}


def _reorder(r, bands, loops, bufs):
    band = _pick(r, [b for b in bands.values() if len(b) > 1] or [loops])
    k = int(r.integers(2, min(3, len(band)) + 1)) if len(band) > 1 else 1
    chosen = list(r.choice(band, size=k, replace=False))
    return {"loops": [str(c) for c in chosen]}


def _fuse(r, bands, loops, bufs):
    band = _pick(r, list(bands.values()))
    at = int(r.integers(max(1, len(band) - 1)))
    return {"loops": band[at:at + 2]}


def _unroll(r, bands, loops, bufs):
    return {"loop": _pick(r, loops), "factor": int(_pick(r, [0, 2, 3]))}


def _pipeline(r, bands, loops, bufs):
    return {"loop": _pick(r, loops), "initiation_interval": int(r.integers(1, 3)), "rewind": bool(r.integers(2))}


def _partition(r, bands, loops, bufs):
    name = _pick(r, list(bufs))
    shape = bufs[name]
    dim = int(r.integers(len(shape) + 1))
    factor = int(r.integers(1, (shape[dim - 1] if dim else min(shape)) + 1))
    return {"buffer": name, "kind": _pick(r, ["complete", "block", "cyclic"]), "dim": dim, "factor": factor}


def _reshape(r, bands, loops, bufs):
    name = _pick(r, list(bufs))
    total = int(np.prod(bufs[name]))
    divisors = [d for d in range(2, total) if total % d == 0]
    shape = [total] if not divisors or r.integers(2) else [_pick(r, divisors)]
    if len(shape) == 1 and shape[0] != total:
        shape.append(total // shape[0])
    return {"buffer": name, "shape": shape}


def _buffer_at(r, bands, loops, bufs):
    return {"buffer": _pick(r, list(bufs)), "loop": _pick(r, loops)}


def _compute_at(r, bands, loops, bufs):
    """Two bands of one function (in either order), at the same depth: legal often enough to matter."""
    pairs = [(a, b) for a in bands.values() for b in bands.values() if a != b and a[0].count(":") == b[0].count(":")]
    if not pairs:
        return {"producer_loop": _pick(r, loops), "consumer_loop": _pick(r, loops)}
    a, b = _pick(r, pairs)
    depth = int(r.integers(min(len(a), len(b))))
    return {"producer_loop": a[depth], "consumer_loop": b[depth]}


DRAW = {"split": _split, "reorder": _reorder, "fuse": _fuse, "unroll": _unroll, "pipeline": _pipeline,
        "partition": _partition, "reshape": _reshape, "buffer_at": _buffer_at, "reuse_at": _buffer_at,
        "compute_at": _compute_at}
WEIGHTS = {"split": 4, "reorder": 4, "fuse": 2, "unroll": 1, "pipeline": 2, "partition": 1, "reshape": 1,
           "buffer_at": 2, "reuse_at": 2, "compute_at": 2}


def _text(s):
    return s.module.operation.get_asm(enable_debug_info=True)


def _random_schedule(kernel, seed, length=6):
    r = np.random.default_rng(seed)
    s = dsl.customize(kernel)
    names = list(WEIGHTS)
    p = np.array([WEIGHTS[n] for n in names], float)
    for _ in range(length):
        name = str(r.choice(names, p=p / p.sum()))
        args = DRAW[name](r, *_state(s))
        before, trace = _text(s), list(s.trace)
        try:
            getattr(s, name)(**args)
        except dsl.ScheduleError as exc:
            assert "could not be applied" not in str(exc), f"{name}{args}: internal failure: {exc}"
            assert name in str(exc), f"error does not name the primitive: {exc}"
            assert _text(s) == before and s.trace == trace, f"failed {name}{args} changed the schedule"
    return s


def _first_bad_step(kernel, trace, args, expected):
    """The first step after which the result differs (for a readable failure)."""
    s = dsl.customize(kernel)
    for step in trace:
        s.apply_trace([step])
        if not np.array_equal(np.asarray(s.build()(*args)), expected):
            return step, str(s)
    return None, ""


SEEDS = range(6)


@pytest.mark.parametrize("kernel", list(INPUTS), ids=lambda k: k.__name__)
def test_random_schedules_keep_results(kernel):
    applied = 0
    args = INPUTS[kernel](np.random.default_rng(11))
    expected = np.asarray(dsl.customize(kernel).build()(*args))
    for seed in SEEDS:
        s = _random_schedule(kernel, seed * 101 + len(kernel.__name__))
        applied += len(s.trace)
        got = np.asarray(s.build()(*args))
        if not np.array_equal(got, expected):
            step, text = _first_bad_step(kernel, s.trace, args, expected)
            pytest.fail(f"seed {seed}: {s.trace} changed the result; first bad step {step}\n{text}")
        replay = dsl.customize(kernel, schedule=s.to_yaml())
        assert replay.trace == s.trace
        assert _text(replay) == _text(s)
    assert applied >= len(SEEDS), f"only {applied} steps applied for {kernel.__name__}: the draws are too weak"
