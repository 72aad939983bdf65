"""The record every corpus entry is, and the numpy helpers the references share.

A ``Case`` is backend-neutral data: a kernel, a seeded input generator and a numpy reference. Any
executable backend (CPU JIT, HLS csim, ...) runs ``kernel`` on ``make_inputs(rng)`` and compares with
``reference(*inputs)``; ``exact`` cases must agree bit for bit, the others within ``RTOL``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

RTOL = 1e-5


@dataclass(frozen=True)
class Case:
    name: str
    kernel: Callable
    make_inputs: Callable  # rng -> tuple of kernel arguments (numpy arrays / Python scalars)
    reference: Callable  # (*inputs) -> expected result (value, or tuple for several returns)
    exact: bool = True
    instantiate: tuple | None = None  # type arguments of a template kernel
    inplace: bool = False  # the kernel returns nothing and writes the arguments at `written`
    written: tuple = field(default=())  # indices of the arguments an in-place kernel writes
    rtol: float = RTOL

    def inputs(self):
        """The case's inputs from its own seeded generator (the same on every backend and run)."""
        return self.make_inputs(np.random.default_rng(zlib.crc32(self.name.encode())))

    def expected(self, inputs):
        """The reference result; for in-place cases a tuple of the written arguments' final values."""
        copies = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]
        return self.reference(*copies)


# -- integer helpers ----------------------------------------------------------------------------------

def wrap(x, bits: int, signed: bool = True):
    """Wrap integers to ``bits`` two's complement (or unsigned), as a register of that width does."""
    if isinstance(x, int) or isinstance(x, np.ndarray) and x.dtype == object or bits > 63:
        mask = (1 << bits) - 1

        def one(v):
            v = int(v) & mask
            return v - (1 << bits) if signed and v >> (bits - 1) else v

        if isinstance(x, np.ndarray):
            out = np.empty(x.shape, dtype=object)
            out.reshape(-1)[:] = [one(v) for v in x.reshape(-1)]
            return out
        return one(x)
    v = np.asarray(x).astype(np.int64) & ((1 << bits) - 1)
    if signed:
        v = np.where((v >> (bits - 1)) & 1, v - (1 << bits), v)
    return v


def ints(rng, lo, hi, shape, dtype):
    """Uniform random integers in [lo, hi] of a numpy dtype."""
    return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)


def wide_ints(rng, bits, shape, signed=True):
    """Object array of random Python ints spanning ``bits``."""
    lo = -(1 << (bits - 1)) if signed else 0
    span = 1 << bits
    flat = [lo + int.from_bytes(rng.bytes((bits + 7) // 8), "little") % span for _ in range(int(np.prod(shape)))]
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = flat
    return out


def c_div(a, b):
    """C integer division (truncates toward zero) on int64 arrays."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def c_mod(a, b):
    """C remainder: takes the sign of the dividend."""
    return np.asarray(a, np.int64) - c_div(a, b) * np.asarray(b, np.int64)


# -- fixed point helpers (ap_fixed<W, W-F> with AP_TRN, AP_WRAP) ---------------------------------------

def fx_raw(x, bits, frac, signed=True):
    """Quantise reals to raw integers: floor at the LSB (AP_TRN), then wrap to ``bits`` (AP_WRAP)."""
    return wrap(np.floor(np.asarray(x, np.float64) * 2.0 ** frac).astype(np.int64), bits, signed)


def fx_value(raw, frac):
    return np.asarray(raw, np.float64) / 2.0 ** frac


def fx_grid(rng, bits, frac, shape, signed=True, span=None):
    """Random reals exactly on the fixed-point grid (so quantising the input is lossless)."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if span is not None:
        lo, hi = max(lo, -span), min(hi, span)
    return rng.integers(lo, hi, size=shape, endpoint=True) / 2.0 ** frac


def fx_align(raw, frac_from, frac_to):
    """Move the binary point of raw integers: left shifts exact, right shifts floor (AP_TRN)."""
    raw = np.asarray(raw, np.int64)
    return raw << (frac_to - frac_from) if frac_to >= frac_from else raw >> (frac_from - frac_to)
