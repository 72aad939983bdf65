"""Scalar bit operations Allo kernels use: bitcast, reverse, bit slices with run-time bounds, fixed-point shifts,
float fields, integers wider than 512 bits, and struct locals (CPU against numpy/Python; csim where the HLS
spelling matters)."""
import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UInt, bfloat16, float16, float32, float64, int8, int32, uint8, uint32
from dsl.frontend.typing_rules import binary_result_type

RNG = np.random.default_rng(2)


def u32_to_f32(A: uint32[8]) -> float32[8]:
    B: float32[8] = 0.0
    for i in range(8):
        B[i] = A[i].bitcast()
    return B


def f32_to_u32(A: float32[8]) -> uint32[8]:
    B: uint32[8] = 0
    for i in range(8):
        B[i] = A[i].bitcast()      # the bits as int32, stored unsigned
    return B


def f32_to_i32(A: float32[8]) -> int32[8]:
    B: int32[8] = 0
    for i in range(8):
        B[i] = A[i].bitcast()
    return B


def low16_to_f16(A: int32[8]) -> float16[8]:
    B: float16[8] = 0.0
    for i in range(8):
        B[i] = A[i][0:16].bitcast()
    return B


def test_bitcast_both_ways():
    bits = RNG.integers(0, 2**31, 8).astype(np.uint32)
    np.testing.assert_array_equal(dsl.customize(u32_to_f32).build()(bits).view(np.uint32), bits)
    f = (RNG.random(8, dtype=np.float32) - 0.5) * 100
    np.testing.assert_array_equal(dsl.customize(f32_to_u32).build()(f), f.view(np.uint32))
    np.testing.assert_array_equal(dsl.customize(f32_to_i32).build()(f), f.view(np.int32))
    low = RNG.integers(0, 2**15, 8).astype(np.int32)
    np.testing.assert_array_equal(dsl.customize(low16_to_f16).build()(low), low.astype(np.int16).view(np.float16))


def test_bitcast_to_a_named_type():
    def k(a: UInt(16)) -> float32:
        return float(a.bitcast(bfloat16))

    assert dsl.customize(k).build()(0x3FC0) == 1.5  # bfloat16 0x3FC0 is 1.5


def test_bitcast_in_hls_is_a_union_and_agrees_in_csim():
    s = dsl.customize(f32_to_u32)
    code = str(dsl.build(s, target="vhls"))
    assert "union" in code and "dsl_bitcast<int32_t, float>" in code
    f = RNG.random(8, dtype=np.float32)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(f), f.view(np.uint32))


def test_bitcast_widths_are_checked():
    def narrow(a: int8) -> float32:
        return a.bitcast()

    def mismatch(a: int32) -> float64:
        return a.bitcast(float64)

    with pytest.raises(dsl.DSLTypeError, match="16-, 32- or 64-bit integers"):
        dsl.customize(narrow)
    with pytest.raises(dsl.DSLTypeError, match=r"bitcast keeps the bits: int32 \(32 bits\) cannot become float64"):
        dsl.customize(mismatch)


def test_reverse_bits():
    def k(A: uint8[6], B: UInt(16)[6]) -> (uint8[6], Int(12)[6]):
        C: uint8[6] = 0
        D: Int(12)[6] = 0
        for i in range(6):
            C[i] = (A[i][0:8]).reverse()
            v: Int(12) = B[i] - 2048           # negative values made inside the kernel
            D[i] = v.reverse()
        return C, D

    A = RNG.integers(0, 256, 6).astype(np.uint8)
    B = RNG.integers(0, 4096, 6).astype(np.uint16)
    C, D = dsl.customize(k).build()(A, B)
    B = B.astype(np.int64) - 2048

    def rev(v, w):
        v &= (1 << w) - 1
        r = int(format(v, f"0{w}b")[::-1], 2)
        return r - (1 << w) if r >= 1 << (w - 1) and w == 12 else r

    assert C.tolist() == [rev(int(a), 8) for a in A]
    assert D.tolist() == [rev(int(b), 12) for b in B]


def test_bit_slices_with_runtime_bounds():
    """Allo's dynamic slices: the bounds are run-time values, the width hi - lo a constant."""
    def bits_of(A: int32, B: int32[11]):
        for i in range(1, 12):
            B[i - 1] = A[i - 1:i]

    def nibbles(A: uint32, k: int32) -> int32:
        return A[4 * k:4 * k + 4]            # UInt(4)

    def set_nibble(A: uint32[1], k: int32, v: uint32):
        A[0][4 * k:4 * k + 4] = v

    def variable(A: uint32, lo: int32, hi: int32) -> int32:
        return A[lo:hi]

    B = np.zeros(11, np.int32)
    dsl.customize(bits_of).build()(1234, B)
    assert "".join(map(str, B[::-1])) == format(1234, "011b")
    n = dsl.customize(nibbles).build()
    assert [n(0xABCD0123, k) for k in range(8)] == [3, 2, 1, 0, 0xD, 0xC, 0xB, 0xA]
    A = np.array([0xFFFFFFFF], np.uint32)
    dsl.customize(set_nibble).build()(A, 2, 0)
    assert A[0] == 0xFFFFF0FF
    with pytest.raises(dsl.DSLTypeError, match="needs a constant width"):
        dsl.customize(variable)


def test_fixed_point_shifts_keep_the_type():
    """UG1399's ap_fixed example: ap_fixed<8,5> 5.375 << 2 wraps to -10.5, >> 2 gives 1.25."""
    def k(A: Fixed(8, 3)[2]) -> float32[2]:
        shl: Fixed(25, 10) = A[0] << 2
        shr: Fixed(25, 10) = A[1] >> 2
        res: float32[2] = 0.0
        res[0] = float(shl)
        res[1] = float(shr)
        return res

    s = dsl.customize(k)
    A = np.array([5.375, 5.375])
    assert s.build()(A).tolist() == [-10.5, 1.25]
    assert dsl.build(s, target="vitis_hls", mode="csim")(A).tolist() == [-10.5, 1.25]
    assert binary_result_type("LShift", Fixed(8, 3), int32) == Fixed(8, 3)


def test_float_fields_and_type_attributes():
    def k(x: float32, y: float64) -> (uint32, uint32, uint32, UInt(64)):
        return x.sign, x.exponent, x.mantissa, y.exponent

    x, y = np.float32(-6.5), np.float64(1e300)
    sign, exp, mant, yexp = dsl.customize(k).build()(x, y)
    bits = int(x.view(np.uint32))
    assert (sign, exp, mant) == (bits >> 31, (bits >> 23) & 0xFF, bits & 0x7FFFFF)
    assert yexp == (int(y.view(np.uint64)) >> 52) & 0x7FF
    assert (float32.fracs, float32.exponent, float32.bits) == (23, 8, 32)
    assert (float64.fracs, float64.exponent, float16.fracs, float16.exponent) == (52, 11, 10, 5)
    assert (Fixed(12, 5).fracs, Int(7).fracs, float32.mantissa) == (5, 0, 23)


def test_type_attributes_inside_a_template():
    @dsl.template("Ty")
    def k() -> int32:
        A: int32 = Ty.bits              # noqa: F821
        B: UInt(Ty.bits + 2) = 0        # noqa: F821
        C: UInt(Ty.fracs + 3) = 1       # noqa: F821
        return A + B + C

    assert dsl.customize(k, instantiate=[Int(7)]).build()() == 8


def test_integers_wider_than_512_bits():
    def k(a: Int(2000)[1], b: Int(345)[1], c: Int(2000)[1]):
        c[0] = a[0] + b[0]

    s = dsl.customize(k)
    a, b = np.array([2**1990 + 12345], dtype=object), np.array([-(2**300)], dtype=object)
    for build in (s.build, lambda: dsl.build(s, target="vitis_hls", mode="csim")):
        c = np.array([0], dtype=object)
        build()(a, b, c)
        assert c[0] == 2**1990 + 12345 - 2**300
    assert "#define AP_INT_MAX_W 4096" in dsl.build(s, target="vhls").header
    # intermediates grow to 512 bits, or to the widest operand's width when one is wider
    assert binary_result_type("Add", Int(1000), Int(8)) == Int(1000)
    assert binary_result_type("Mult", Int(400), Int(400)) == Int(512)


def test_widths_beyond_vitis_are_refused_with_the_reason():
    with pytest.raises(dsl.DSLError, match=r"1\.\.4096 \(the widest ap_int of Vitis HLS\)"):
        Int(65536)


Point = dsl.Struct({"x": int32, "y": float32})


def test_struct_locals():
    def k(x: int32[8], y: float32[8]) -> int32:
        total: int32 = 0
        for i in range(8):
            p: Point = {"x": x[i], "y": y[i]}
            q: Point = p                     # a copy
            q["x"] = q.x * 2
            total += p["x"] + int(p.y) + q.x + int(q.y) - int(q.y)
        return total

    x, y = np.arange(8, dtype=np.int32), np.arange(8, dtype=np.float32) + 0.5
    want = sum(3 * int(a) + int(b) for a, b in zip(x, y))
    s = dsl.customize(k)
    assert s.build()(x, y) == want
    assert dsl.build(s, target="vitis_hls", mode="csim")(x, y) == want


def test_struct_arguments_and_arrays_are_refused_with_the_reason():
    def arg(p: Point) -> int32:
        return 0

    with pytest.raises(dsl.DSLTypeError, match="structs are local values of a kernel.*one array per field"):
        dsl.customize(arg)
    with pytest.raises(dsl.DSLTypeError, match="arrays of structs are not supported"):
        Point[4]  # noqa: B018


def test_struct_field_errors():
    def unknown(a: int32) -> int32:
        p: Point = {"x": a, "y": 1.0}
        return p["z"]

    def missing(a: int32) -> int32:
        p: Point = {"x": a}
        return p.x

    with pytest.raises(dsl.DSLNameError, match="no field 'z'; its fields: x, y"):
        dsl.customize(unknown)
    with pytest.raises(dsl.DSLTypeError, match="missing: y"):
        dsl.customize(missing)
