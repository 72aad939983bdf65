"""Wrap-around arithmetic is narrowed to the stored width (dsl/frontend/narrow.py) without changing results."""
from __future__ import annotations

import re

import numpy as np

import dsl
from dsl import int8, int32


def gemm(A: int32[8, 8], B: int32[8, 8]) -> int32[8, 8]:
    C: int32[8, 8] = 0
    for i, j in dsl.grid(8, 8):
        for k in dsl.reduction(8):
            C[i, j] += A[i, k] * B[k, j]
    return C


def scaled(A: int32[16], B: int32[16], D: int32[16]) -> (int32[16], int8[16]):
    Q: int32[16] = 0
    L: int8[16] = 0
    for i in range(16):
        Q[i] = (A[i] * B[i]) / D[i]          # the quotient needs the full 64-bit product: not narrowed
        L[i] = A[i] * B[i] + D[i] - 3         # only the low 8 bits are kept: narrowed to i8
    return Q, L


def test_int32_gemm_accumulates_in_32_bits():
    s = dsl.customize(gemm)
    ir_text = str(s.module)
    assert not re.search(r"\bi(6[4-9]|[7-9]\d|\d{3})\b", ir_text), "no intermediate wider than 64 bits"
    assert "i64" not in ir_text
    assert "arith.muli %" in ir_text and ": i32" in ir_text
    code = str(dsl.build(s, target="vhls"))
    assert "ap_int<65>" not in code and "int64_t" not in code
    rng = np.random.default_rng(1)
    a = rng.integers(-(2**31), 2**31, (8, 8), dtype=np.int64).astype(np.int32)
    b = rng.integers(-(2**31), 2**31, (8, 8), dtype=np.int64).astype(np.int32)
    want = (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)  # wraps modulo 2**32
    assert np.array_equal(s.build()(a, b), want)


def test_division_keeps_the_wide_product():
    s = dsl.customize(scaled)
    text = str(s.module)
    assert "arith.divsi" in text and re.search(r"arith\.divsi .*: i(6[4-9]|\d{3})", text)
    rng = np.random.default_rng(2)
    a = rng.integers(-(2**31), 2**31, 16, dtype=np.int64).astype(np.int32)
    b = rng.integers(-(2**31), 2**31, 16, dtype=np.int64).astype(np.int32)
    d = rng.integers(1, 2**20, 16).astype(np.int32)
    q, low = s.build()(a, b, d)
    prod = a.astype(np.int64) * b.astype(np.int64)
    exact = np.array([_c_div(int(x), int(y)) for x, y in zip(prod, d)], dtype=np.int64)
    assert np.array_equal(q, exact.astype(np.int32))
    assert np.array_equal(low, (prod + d - 3).astype(np.int8))


def _c_div(x, y):
    """C division: truncate toward zero."""
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q
