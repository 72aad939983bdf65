"""float32 elementary functions built from basic float32 operations, with their numpy twins.

Every function here is a scalar kernel (call it from another kernel: ``mathf.exp(x)``) made only of
``+ - * /``, comparisons, ``floor``, float/int conversions and a table read: operations that IEEE 754 rounds
the same way on every backend (the CPU JIT, csim's g++, numpy, and the Vitis floating-point cores). The
``*_ref`` functions perform the same operations in the same order on float32 numpy arrays, so a kernel and
its reference agree to the bit. This is also how a hardware unit computes them (range reduction, a short
polynomial, a power-of-two table), and it avoids ``libm``, whose results differ between libraries.

Accuracy against float64 (checked in ``tests/test_library_mathf.py``): exp and log within 2 ulp, erf/erfc
and the GeLU/SiLU/sigmoid built on them within the bounds stated in ``dsl/library/README.md``. Inputs must be
finite (NaN and infinities are not specified).
"""
from __future__ import annotations

import numpy as np

import dsl
from dsl import float32, int32

F = np.float32

# exp(x) = 2^k * exp(r), x = k*ln2 + r, |r| <= ln2/2; 2^k = POW2[k1] * POW2[k2] with k1 + k2 = k, so that
# both factors stay normal floats and only the final product can round (gradual underflow).
EXP_LO, EXP_HI = -104.0, 89.0      # exp(-104) underflows to 0, exp(89) overflows to inf
POW2_BIAS = 75
POW2 = np.array([2.0 ** j for j in range(-POW2_BIAS, 65)], dtype=np.float32)
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
LN2_HI = 0.693145751953125         # 16 significant bits: k * LN2_HI is exact for |k| <= 255
LN2_LO = 1.4286067653301870e-06    # LN2 - LN2_HI
SQRT2 = 1.4142135623730951
FLT_MAX = 3.4028234663852886e38

# erf(z) = z * P(z*z) for |z| < ERF_SPLIT; erfc(a) = exp(-a*a) * Q(1 / (1 + a/2)) above (mathf_fit.py)
ERF_SPLIT = 0.921875
ERF_P = (1.128379147770211, -0.3761248804814892, 0.11281774668068453, -0.02676543400867258,
         0.004991739789565963, -0.0005984545803070646)
ERFC_Q = (-5.2429633539364195e-06, 0.2822289251173058, 0.280667793440585, 0.25491665345034475,
          0.15094082449743448, 0.1213432270316875, 0.003247776597915369, -0.16856631692753682,
          0.07560364171435564)
ERFC_CLAMP = 16.0                  # erfc(16) is 0 in float32
GELU_TANH_C = 0.7978845608028654   # sqrt(2 / pi)
GELU_TANH_A = 0.044715
INV_SQRT2 = 0.7071067811865476
LOG_EXPS = (64.0, 32.0, 16.0, 8.0, 4.0, 2.0, 1.0)      # log: exponent steps (exact powers of two)
LOG_STEPS = tuple(2.0 ** k for k in LOG_EXPS)
LOG_INV_STEPS = tuple(2.0 ** -k for k in LOG_EXPS)

P0, P1, P2, P3, P4, P5 = ERF_P
Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8 = ERFC_Q


def _twin(fn):
    """numpy twins overflow where the kernels do (to inf, as IEEE says): no warnings for it."""
    import functools

    @functools.wraps(fn)
    def quiet(*args):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return fn(*args)

    return quiet


def _symbol(fn):
    """Name the kernel ``mathf_<name>`` in the IR and the C++: a kernel called ``exp`` or ``log`` would meet
    the C library's functions of the same name (in the JIT's symbol table and in the HLS translation unit)."""
    fn.__name__ = f"mathf_{fn.__name__}"
    return fn


# -- exp ------------------------------------------------------------------------------------------------
@_symbol
def exp(x: float32) -> float32:
    """e^x to within 2 ulp; 0 below -104, inf above 89."""
    xc: float32 = min(max(x, EXP_LO), EXP_HI)
    n: float32 = dsl.floor(xc * LOG2E + 0.5)
    r: float32 = (xc - n * LN2_HI) - n * LN2_LO
    p: float32 = r * (1.0 / 5040.0) + (1.0 / 720.0)
    p = p * r + (1.0 / 120.0)
    p = p * r + (1.0 / 24.0)
    p = p * r + (1.0 / 6.0)
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k: int32 = int32(n)
    k1: int32 = k >> 1
    return (p * POW2[k1 + POW2_BIAS]) * POW2[k - k1 + POW2_BIAS]


@_twin
def exp_ref(x):
    x = np.minimum(np.maximum(np.asarray(x, dtype=F), F(EXP_LO)), F(EXP_HI))
    n = np.floor(x * F(LOG2E) + F(0.5))
    r = (x - n * F(LN2_HI)) - n * F(LN2_LO)
    p = r * F(1.0 / 5040.0) + F(1.0 / 720.0)
    for c in (1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = p * r + F(c)
    k = n.astype(np.int32)
    k1 = k >> 1
    return (p * POW2[k1 + POW2_BIAS]) * POW2[k - k1 + POW2_BIAS]


# -- log ------------------------------------------------------------------------------------------------
@_symbol
def log(x: float32) -> float32:
    """Natural logarithm of a positive normal float (x >= 2^-126) to within 2 ulp.

    x = 2^e * m with m in [sqrt(2)/2, sqrt(2)) by exact power-of-two scalings; log(m) = 2*atanh(t),
    t = (m - 1) / (m + 1)."""
    m: float32 = x
    e: float32 = 0.0
    with dsl.meta_for(7) as s:  # binary search of the exponent: scale by 2^-64, 2^-32, ..., 2^-1 where it fits
        if m >= LOG_STEPS[s]:
            m = m * LOG_INV_STEPS[s]
            e = e + LOG_EXPS[s]
    with dsl.meta_for(7) as s2:
        if m < LOG_INV_STEPS[s2] * 2.0:
            m = m * LOG_STEPS[s2]
            e = e - LOG_EXPS[s2]
    if m > SQRT2:
        m = m * 0.5
        e = e + 1.0
    t: float32 = (m - 1.0) / (m + 1.0)
    u: float32 = t * t
    p: float32 = u * (1.0 / 11.0) + (1.0 / 9.0)
    p = p * u + (1.0 / 7.0)
    p = p * u + (1.0 / 5.0)
    p = p * u + (1.0 / 3.0)
    p = p * u + 1.0
    return e * LN2_HI + (e * LN2_LO + (t + t) * p)


@_twin
def log_ref(x):
    m = np.array(x, dtype=F)
    e = np.zeros_like(m)
    for step, inv, k in zip(LOG_STEPS, LOG_INV_STEPS, LOG_EXPS):
        big = m >= F(step)
        m = np.where(big, m * F(inv), m)
        e = np.where(big, e + F(k), e)
    for step, inv, k in zip(LOG_STEPS, LOG_INV_STEPS, LOG_EXPS):
        small = m < F(inv) * F(2.0)
        m = np.where(small, m * F(step), m)
        e = np.where(small, e - F(k), e)
    big = m > F(SQRT2)
    m = np.where(big, m * F(0.5), m)
    e = np.where(big, e + F(1.0), e)
    t = (m - F(1.0)) / (m + F(1.0))
    u = t * t
    p = u * F(1.0 / 11.0) + F(1.0 / 9.0)
    for c in (1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0):
        p = p * u + F(c)
    return e * F(LN2_HI) + (e * F(LN2_LO) + (t + t) * p)


# -- erf, erfc ------------------------------------------------------------------------------------------
@_symbol
def erf_small(z: float32) -> float32:
    """erf(z) for |z| < ERF_SPLIT."""
    u: float32 = z * z
    p: float32 = u * P5 + P4
    p = p * u + P3
    p = p * u + P2
    p = p * u + P1
    p = p * u + P0
    return z * p


@_symbol
def erfc_poly(a: float32) -> float32:
    """Q(t), t = 1 / (1 + a/2): erfc(a) = exp(-a*a) * Q(t) for ERF_SPLIT <= a <= ERFC_CLAMP."""
    t: float32 = 1.0 / (1.0 + 0.5 * a)
    q: float32 = t * Q8 + Q7
    q = q * t + Q6
    q = q * t + Q5
    q = q * t + Q4
    q = q * t + Q3
    q = q * t + Q2
    q = q * t + Q1
    return q * t + Q0


@_symbol
def exp_neg_square(v: float32, scale: float32, grid: float32) -> float32:
    """exp(-scale * v*v) for v >= 0 as exp(-scale*h*h) * exp(-scale*(v-h)*(v+h)), h = v rounded down to a
    multiple of 1/grid: with v < 32 and grid <= 128, h has at most 12 significant bits, so h*h is exact and
    the rounding of v*v does not reach the result."""
    h: float32 = dsl.floor(v * grid) * (1.0 / grid)
    d: float32 = (v - h) * (v + h)
    return exp(-(scale * (h * h))) * exp(-(scale * d))


@_symbol
def erfc_tail(a: float32) -> float32:
    """erfc(a) for a >= ERF_SPLIT."""
    ac: float32 = min(a, ERFC_CLAMP)
    return exp_neg_square(ac, 1.0, 256.0) * erfc_poly(ac)


@_twin
def erf_small_ref(z):
    z = np.asarray(z, dtype=F)
    u = z * z
    p = u * F(P5) + F(P4)
    for c in (P3, P2, P1, P0):
        p = p * u + F(c)
    return z * p


@_twin
def erfc_poly_ref(a):
    t = F(1.0) / (F(1.0) + F(0.5) * np.asarray(a, dtype=F))
    q = t * F(Q8) + F(Q7)
    for c in (Q6, Q5, Q4, Q3, Q2, Q1):
        q = q * t + F(c)
    return q * t + F(Q0)


@_twin
def exp_neg_square_ref(v, scale, grid):
    v = np.asarray(v, dtype=F)
    h = np.floor(v * F(grid)) * F(1.0 / grid)
    d = (v - h) * (v + h)
    return exp_ref(-(F(scale) * (h * h))) * exp_ref(-(F(scale) * d))


@_twin
def erfc_tail_ref(a):
    ac = np.minimum(np.asarray(a, dtype=F), F(ERFC_CLAMP))
    return exp_neg_square_ref(ac, 1.0, 256.0) * erfc_poly_ref(ac)


@_symbol
def erf(x: float32) -> float32:
    a: float32 = abs(x)
    y: float32 = 0.0
    if a < ERF_SPLIT:
        y = erf_small(x)
    else:
        e: float32 = 1.0 - erfc_tail(a)
        y = e if x > 0.0 else -e
    return y


@_twin
def erf_ref(x):
    x = np.asarray(x, dtype=F)
    a = np.abs(x)
    big = F(1.0) - erfc_tail_ref(a)
    return np.where(a < F(ERF_SPLIT), erf_small_ref(x), np.where(x > 0, big, -big))


# -- activations ----------------------------------------------------------------------------------------
@_symbol
def gelu_erf(x: float32) -> float32:
    """x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt 2)); the left tail as 0.5 * x * erfc(|x| / sqrt 2), which
    keeps its relative accuracy where 1 + erf would cancel."""
    z: float32 = x * INV_SQRT2
    a: float32 = abs(z)
    y: float32 = 0.0
    if a < ERF_SPLIT:
        y = (0.5 * x) * (1.0 + erf_small(z))
    else:
        # exp(-x*x/2) from x itself: the rounding of z = x/sqrt(2) would otherwise be amplified by z*z
        ax: float32 = min(abs(x), ERFC_CLAMP * SQRT2)
        c: float32 = exp_neg_square(ax, 0.5, 128.0) * erfc_poly(min(a, ERFC_CLAMP))
        y = x * (1.0 - 0.5 * c) if x > 0.0 else (0.5 * x) * c
    return y


@_twin
def gelu_erf_ref(x):
    x = np.asarray(x, dtype=F)
    z = x * F(INV_SQRT2)
    a = np.abs(z)
    ax = np.minimum(np.abs(x), F(ERFC_CLAMP * SQRT2))
    c = exp_neg_square_ref(ax, 0.5, 128.0) * erfc_poly_ref(np.minimum(a, F(ERFC_CLAMP)))
    tail = np.where(x > 0, x * (F(1.0) - F(0.5) * c), (F(0.5) * x) * c)
    return np.where(a < F(ERF_SPLIT), (F(0.5) * x) * (F(1.0) + erf_small_ref(z)), tail)


@_symbol
def gelu_tanh(x: float32) -> float32:
    """0.5 * x * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x^3), computed as x / (1 + exp(-2u)) (the
    same function, without the cancellation of 1 + tanh(u) for negative u)."""
    u: float32 = GELU_TANH_C * (x + GELU_TANH_A * ((x * x) * x))
    return x / (1.0 + exp(-2.0 * u))


@_twin
def gelu_tanh_ref(x):
    x = np.asarray(x, dtype=F)
    u = F(GELU_TANH_C) * (x + F(GELU_TANH_A) * ((x * x) * x))
    return x / (F(1.0) + exp_ref(F(-2.0) * u))


@_symbol
def sigmoid(x: float32) -> float32:
    return 1.0 / (1.0 + exp(-x))


@_twin
def sigmoid_ref(x):
    x = np.asarray(x, dtype=F)
    return F(1.0) / (F(1.0) + exp_ref(-x))


@_symbol
def silu(x: float32) -> float32:
    """x * sigmoid(x), as x / (1 + exp(-x)) (one rounding fewer)."""
    return x / (1.0 + exp(-x))


@_twin
def silu_ref(x):
    x = np.asarray(x, dtype=F)
    return x / (F(1.0) + exp_ref(-x))


@_symbol
def relu(x: float32) -> float32:
    return max(x, 0.0)


@_twin
def relu_ref(x):
    return np.maximum(np.asarray(x, dtype=F), F(0.0))


GELU = {"erf": gelu_erf, "tanh": gelu_tanh}
GELU_REF = {"erf": gelu_erf_ref, "tanh": gelu_tanh_ref}


# -- the vendor's cores (the MATH = VENDOR option of the row units) -------------------------------------
# ``dsl.exp`` / ``dsl.erf`` / ``dsl.tanh`` are emitted as ``hls::exp`` / ``hls::erf`` / ``hls::tanh``
# (hls_math.h: Vitis builds its floating-point exponential core and the library's erf / tanh datapaths,
# UG1399 "HLS Math Library"); the CPU JIT and csim call the C library (std::exp / erf / tanh, through the
# csim shim of hls_math.h). They are not bit-exact: UG1399 ("HLS Math Library Accuracy") gives the hls::
# functions as typically 1-4 ulp from the C library, so csim and the board may differ by a few ulp, and
# the numpy twins below are the C library's functions in float64 rounded once to float32.
# Tolerance against float64 (tests/test_library_mathf_vendor.py): exp relative 1e-6, the GeLU forms
# |err| <= 1e-6 * max(1, |x|) (the 1 + erf / 1 + tanh of their textbook forms cancels for x << 0).
LIBRARY, VENDOR = 0, 1  # MATH: the library's bit-exact polynomials above / the vendor's cores


@_symbol
def vendor_exp(x: float32) -> float32:
    return dsl.exp(x)


@_symbol
def vendor_gelu_erf(x: float32) -> float32:
    """0.5 x (1 + erf(x / sqrt 2)) on the vendor's erf."""
    return (0.5 * x) * (1.0 + dsl.erf(x * INV_SQRT2))


@_symbol
def vendor_gelu_tanh(x: float32) -> float32:
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) on the vendor's tanh."""
    u: float32 = GELU_TANH_C * (x + GELU_TANH_A * ((x * x) * x))
    return (0.5 * x) * (1.0 + dsl.tanh(u))


def _libm(fn, x):
    return np.vectorize(fn, otypes=[np.float64])(np.asarray(x, dtype=np.float64))


def vendor_exp_ref(x):
    with np.errstate(over="ignore"):
        return np.exp(np.asarray(x, dtype=np.float64)).astype(F)


def vendor_gelu_erf_ref(x):
    import math

    x = np.asarray(x, dtype=np.float64)
    return (0.5 * x * (1.0 + _libm(math.erf, x * INV_SQRT2))).astype(F)


def vendor_gelu_tanh_ref(x):
    x = np.asarray(x, dtype=np.float64)
    return (0.5 * x * (1.0 + np.tanh(GELU_TANH_C * (x + GELU_TANH_A * x ** 3)))).astype(F)


EXP = {LIBRARY: exp, VENDOR: vendor_exp}                 # MATH -> the exp a row kernel calls
GELU_FORMS = {LIBRARY: GELU, VENDOR: {"erf": vendor_gelu_erf, "tanh": vendor_gelu_tanh}}
GELU_FORMS_REF = {LIBRARY: GELU_REF, VENDOR: {"erf": vendor_gelu_erf_ref, "tanh": vendor_gelu_tanh_ref}}
ERF_FORM, TANH_FORM = 0, 1                               # FORM of a GeLU row kernel (``rows.gelu_row``)
GELU_BY_FORM = {math: (forms["erf"], forms["tanh"]) for math, forms in GELU_FORMS.items()}  # MATH -> FORM -> fn
