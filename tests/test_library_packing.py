"""DSP packing (issue 10, part 3): two products from one 27x18 multiplication, proved exact over every value
triple (a, w0, w1) of int8 x int4 and int8 x int8, in numpy, on the CPU backend and in csim, and emitted as one
``ap_int<27> * ap_int<18>``."""
import re

import numpy as np
import pytest

import dsl
from dsl import Int, int4, int8
from dsl.library import packing

PAIRS = [(int8, int4), (int8, int8)]


def all_triples(tw):
    """Every (a, w0, w1) with a int8 and w0, w1 of type tw (65536 for int4, 16.7 M for int8)."""
    a = np.arange(-128, 128)
    w = np.arange(-(1 << (tw.bits - 1)), 1 << (tw.bits - 1))
    grid = np.meshgrid(a, w, w, indexing="ij")
    return [g.reshape(-1).astype(np.int8) for g in grid]


def mul2_over(ta, tw, n):
    """A kernel applying packing.mul2 to n triples."""
    prod = Int(ta.bits + tw.bits)

    @dsl.template("N")
    def apply(a: "int8[N]", w0: "tw[N]", w1: "tw[N]") -> ("prod[N]", "prod[N]"):
        lo: prod[N]
        hi: prod[N]
        for i in range(N):
            x, y = packing.mul2[ta, tw](a[i], w0[i], w1[i])
            lo[i] = x
            hi[i] = y
        return lo, hi

    return dsl.customize(apply, instantiate=[n])


@pytest.mark.parametrize("ta, tw", PAIRS, ids=["int8xint4", "int8xint8"])
def test_packing_arithmetic_is_exact_for_every_triple(ta, tw):
    a, w0, w1 = all_triples(tw)
    lo, hi = packing.mul2_ref(a, w0, w1, packing.PACKED_PAIRS[ta, tw])
    assert np.array_equal(lo, a.astype(np.int64) * w0) and np.array_equal(hi, a.astype(np.int64) * w1)
    # the operands fit the DSP ports and the product its 45 bits
    wide = w1.astype(np.int64) * (1 << packing.PACKED_PAIRS[ta, tw]) + w0
    assert np.abs(wide).max() < 1 << (packing.WIDE_A - 1)
    assert np.abs(wide * a).max() < 1 << (packing.WIDE_P - 1)


def test_an_offset_too_small_is_caught():
    """The proof can fail: with S = 11 the low int8 x int4 product (up to 1024) overflows its field."""
    a, w0, w1 = all_triples(int4)
    lo, hi = packing.mul2_ref(a, w0, w1, 11)
    assert not np.array_equal(lo, a.astype(np.int64) * w0)


@pytest.mark.parametrize("ta, tw", PAIRS, ids=["int8xint4", "int8xint8"])
def test_packed_kernel_on_cpu_for_every_triple(ta, tw):
    a, w0, w1 = all_triples(tw)
    lo, hi = mul2_over(ta, tw, a.size).build()(a, w0, w1)
    assert np.array_equal(lo, a.astype(np.int64) * w0) and np.array_equal(hi, a.astype(np.int64) * w1)


def test_packed_kernel_in_csim_for_every_int4_triple():
    a, w0, w1 = all_triples(int4)
    lo, hi = dsl.build(mul2_over(int8, int4, a.size), target="vitis_hls", mode="csim")(a, w0, w1)
    assert np.array_equal(lo, a.astype(np.int64) * w0) and np.array_equal(hi, a.astype(np.int64) * w1)


@pytest.mark.slow
def test_packed_kernel_in_csim_for_every_int8_triple():
    a, w0, w1 = all_triples(int8)
    lo, hi = dsl.build(mul2_over(int8, int8, a.size), target="vitis_hls", mode="csim")(a, w0, w1)
    assert np.array_equal(lo, a.astype(np.int64) * w0) and np.array_equal(hi, a.astype(np.int64) * w1)


@pytest.mark.parametrize("ta, tw", PAIRS, ids=["int8xint4", "int8xint8"])
def test_one_packed_product_is_one_27x18_multiply(ta, tw):
    code = dsl.build(mul2_over(ta, tw, 4), target="vhls")
    body = code[code.index("mul2_at("):code.index("}", code.index("mul2_at("))]
    products = re.findall(r"[^*/]\*[^*/]", body)
    assert len(products) == 1
    assert re.search(r"ap_int<45> \w+ = \(ap_int<27>\)\w+ \* \(ap_int<18>\)\w+;", body)


def test_unsupported_pair_is_refused_at_the_users_line():
    @dsl.template("N")
    def bad(a: "int8[N]", w: "int8[N]") -> "int8[N]":
        z: int8[N]
        for i in range(N):
            x, y = packing.mul2[int4, int8](a[i], w[i], w[i])  # the bad pair
            z[i] = x
        return z

    with pytest.raises(dsl.DSLTypeError) as err:
        dsl.customize(bad, instantiate=[4])
    assert err.value.loc.file == __file__ and "the bad pair" in open(__file__).readlines()[err.value.loc.line - 1]
    assert "int8 x int4" in str(err.value) and "int8 x int8" in str(err.value)
