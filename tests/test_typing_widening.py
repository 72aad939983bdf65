"""The typing rules hold on both backends: intermediates never overflow, so each kernel below computes what
plain Python computes (then wraps to the declared type). Each one is a minimal kernel of issue 9 section 7,
run on the CPU and in csim against the value Python gives."""
import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UFixed, UInt, float32, int8, int16, int32, int64, uint8, uint64

from .randprog.batch_csim import Batch


def int8_div_int32(a: int8, b: int32) -> int32:
    return a / b


def int8_floordiv_uint8(a: int8, b: uint8) -> int32:
    return a // b


def int8_mod_int32(a: int8, b: int32) -> int32:
    return a % b


def fixed_div_int32(a: Fixed(8, 4), b: int32) -> Fixed(32, 4):
    return a / b


def int2_floordiv_16(x: int32) -> int32:
    return Int(2)(x) // 16


def wide_floordiv_sign(r: UInt(63)) -> int32:
    return (r // -7) < 0  # computed in 65 bits


def floordiv_int100(a: int64, b: int64) -> (int64, int64):
    q: Int(100) = Int(100)(a) // b
    return q, q >> 64  # the high bits too: truncating to int64 would hide a wrong adjustment


def abs_into_int16(x: int8) -> int16:
    return abs(x)


def abs_fixed(x: Fixed(8, 4)) -> Fixed(16, 4):
    return abs(x)


def min_uint64_negative(x: uint64) -> int32:
    return min(x, -4) & 7


def min_int72(x: int32) -> int32:
    return min(Int(72)(x), -1)


def invert_int72(x: int32) -> int32:
    return ~Int(72)(x) < 0


def wide_floordiv(a: int64, b: int64) -> int64:
    return (a * b + (-5)) // 7


def fixed_zero_int_bits_plus_one(A: Fixed(8, 8)[4]) -> Fixed(16, 8)[4]:
    B: Fixed(16, 8)[4] = 0
    for i in range(4):
        B[i] = A[i] + 1
    return B


def fixed_times_index(A: Fixed(16, 8)[4]) -> Fixed(32, 8)[4]:
    B: Fixed(32, 8)[4] = 0
    for i in range(4):
        B[i] = A[i] * i
    return B


def fixed_times_float_literal(a: Fixed(32, 16)) -> Fixed(32, 16):
    return a * 0.1


def one_bit_slice_write(x: int32) -> int32:
    v: int32 = x
    v[3:4] = 2  # a bit field takes the value's low bits (2 clears bit 3), as ap_int's range() = does
    return v


def wide_slice_writes(x: int64, v: int32) -> Int(96):
    y: Int(96) = x
    y[60:90] = v  # the field's mask is wider than 64 bits (it failed building its constant)
    y[95] = 0
    return y


def wide_local_slice(v: int32) -> Int(200):
    y: Int(200) = -1
    y[3:150] = v
    return y


def wide_tensor_slice(A: UInt(128)[2]) -> UInt(128)[2]:
    B: UInt(128)[2] = 0
    for i in range(2):
        B[i] = A[i]
        B[i][0:100] = -3
        B[i][127] = 1
    return B


def declared_without_value(x: int32) -> int32:
    y: int32
    f: Fixed(8, 4)
    return y + x + int(f)  # both start at 0 (the CPU read garbage, -1 once)


def declared_in_a_loop(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        y: int32  # no value: it keeps the previous iteration's, as in Python
        if A[i] > 0:
            y = A[i]
        B[i] = y
    return B


def float_specials(x: float32) -> (float32, float32, dsl.bool):
    low: float32 = float("-inf")
    nan: float32 = float("nan")
    return max(low, x), min(float("inf"), x), nan != nan


def float_remainder(x: float32, y: float32) -> float32:
    return x % y  # C's fmod: the sign of the dividend, as % on integers


def full_fraction_to_int(A: Fixed(6, 6)[4]) -> int32[4]:
    B: int32[4] = 0
    for i in range(4):
        if Int(32)(A[i]) == 0:  # |A[i]| < 1 truncates to 0 (was a shift by the full width: undefined)
            B[i] = 7 + int(UFixed(5, 5)(A[i])) + Int(8)(Fixed(8, 0)(A[i]))
    return B


def shifts(x: int32, n: int32) -> (int32, int32, UInt(8), int8):
    return x << n, x >> n, UInt(8)(x) >> n, int8(x) << n


def scalar_first(A: int32[4]) -> (int32, int32[4], dsl.bool):
    B: int32[4] = 0
    for i in range(4):
        B[i] = A[i] * 2
    return A[0] + 100, B, A[1] != 0


def bool_constants(x: int32) -> (dsl.bool, dsl.bool, dsl.bool):
    b: dsl.bool = 2
    return b, dsl.bool(0.25), UInt(1)(x)


def index_meets_wide_literal(A: int64[4]) -> int64[4]:
    B: int64[4] = 0
    for i in range(4):
        B[i] = min(i, 1099511627779) + (i - 4294967296)
    return B


def q16(v):
    """A value of Fixed(32, 16) as AP_TRN quantises it (toward -inf)."""
    return np.floor(v * 2**16) / 2**16


def _c_div(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _shift_ref(x, n):
    """Python's shifts wrapped to the operand types: int32 x, UInt(8)(x), int8(x)."""
    def wrap(v, bits, signed=True):
        v &= (1 << bits) - 1
        return v - (1 << bits) if signed and v >> (bits - 1) else v

    big = n < 0 or n >= 64  # beyond every width here: Python would shift everything out
    left = 0 if big else wrap(x << n, 32)
    right = (-1 if x < 0 else 0) if big else x >> n
    return left, right, 0 if big else wrap(x, 8, False) >> n, 0 if big else wrap(wrap(x, 8) << n, 8)


def _set_field(x, lo, hi, v, bits, signed=True):
    """x with bits lo..hi-1 replaced by the low bits of v, as a `bits`-wide integer."""
    mask = ((1 << (hi - lo)) - 1) << lo
    r = (x & ~mask | (v << lo) & mask) & ((1 << bits) - 1)
    return r - (1 << bits) if signed and r >> (bits - 1) else r


CASES = [
    # (kernel, args, what Python computes)
    (int8_div_int32, (100, 1000), 0),                 # the divisor was narrowed to 9 bits: -4
    (int8_div_int32, (-100, 7), _c_div(-100, 7)),
    (int8_floordiv_uint8, (100, 200), 0),             # was -2
    (int8_floordiv_uint8, (-100, 200), -1),
    (int8_mod_int32, (100, 1000), 100),
    (fixed_div_int32, (7.5, 2), 3.75),                # 7.5 / 2
    (fixed_div_int32, (7.5, 1000), 0.0),              # was -0.3125
    (int2_floordiv_16, (1,), 0),                      # csim died with SIGFPE (16 narrowed to 0)
    (int2_floordiv_16, (-1,), -1),
    (wide_floordiv_sign, (1,), 1),                    # was 0: MLIR's arith-expand adjusts by 2**64 - 1
    (floordiv_int100, (1, -7), (-1, -1)),
    (floordiv_int100, (-1, 7), (-1, -1)),
    (floordiv_int100, (-14, 7), (-2, -1)),
    (floordiv_int100, (7, -2), (-4, -1)),
    (floordiv_int100, (-2**63, -1), (-2**63, 0)),    # 2**63 wrapped to int64
    (declared_without_value, (5,), 5),
    (float_specials, (1.5,), (1.5, 1.5, True)),        # float("-inf") was refused
    (float_remainder, (-7.0, 2.0), -1.0),             # Python's float % would give 1.0
    (float_remainder, (7.0, -2.0), 1.0),
    (float_remainder, (5.5, 2.0), 1.5),
    (abs_into_int16, (-128,), 128),                   # was -128
    (abs_fixed, (-8.0,), 8.0),
    (min_uint64_negative, (10,), 4),                  # was 2: -4 was built as 2**64 - 4
    (min_int72, (3,), -1),                            # was 3
    (invert_int72, (3,), 1),                          # was 0
    (wide_floordiv, (3, -4), -3),                     # was -1840700273 (and sometimes an abort)
    (fixed_times_float_literal, (1000.5,), q16(1000.5 * q16(0.1))),  # the literal is a Fixed(32, 16)
    (one_bit_slice_write, (-1,), -9),                 # was -1 (the field was converted to a bool)
    (wide_slice_writes, (-1, -1), 2**95 - 1),         # these three failed in IntegerAttr.get
    (wide_slice_writes, (5, 2**29 + 3), _set_field(5, 60, 90, 2**29 + 3, 96)),
    (wide_local_slice, (0,), _set_field(-1, 3, 150, 0, 200)),
    (wide_local_slice, (-12345,), _set_field(-1, 3, 150, -12345, 200)),
]
ARRAY_CASES = [
    (fixed_zero_int_bits_plus_one, np.array([0.25, -0.5, 0.0, 0.125]), np.array([1.25, 0.5, 1.0, 1.125])),
    (fixed_times_index, np.array([0.5, -0.5, 0.25, 1.0]), np.array([0.0, -0.5, 0.5, 3.0])),
    (index_meets_wide_literal, np.zeros(4, np.int64), np.array([i - 4294967296 + i for i in range(4)])),
    (wide_tensor_slice, np.array([0, 2**127 + 5], dtype=object), np.array([2**127 + 2**100 - 3] * 2, dtype=object)),
    (declared_in_a_loop, np.array([0, 5, 0, 7], np.int32), np.array([0, 5, 5, 7])),
    (full_fraction_to_int, np.array([0.25, -0.5, -0.015625, 0.484375]), np.array([7, 6, 6, 7])),
]
SHIFTS = [(-5, 3), (5, 31), (-5, 31), (5, 32), (-5, 40), (1, -1), (-7, -2), (300, 7), (1, 2**31 - 1)]


def _name(case):
    return f"{case[0].__name__}{case[1]}" if not isinstance(case[1], np.ndarray) else case[0].__name__


KERNELS = sorted({c[0] for c in CASES + ARRAY_CASES} | {shifts, scalar_first, bool_constants}, key=lambda k: k.__name__)


class Built(dict):
    """Every kernel of this file built for one backend, on first use; csim builds them all with one g++ run.
    A kernel that cannot be built raises in the tests that use it (and only there)."""

    def __init__(self, backend, folder):
        super().__init__()
        self.backend, self.folder = backend, folder

    def __missing__(self, kernel):
        if self.backend == "llvm":
            self[kernel] = dsl.customize(kernel).build()
            return self[kernel]
        batch, errors = Batch(self.folder), {}
        with batch.collect():
            for k in KERNELS:
                try:
                    self[k] = dsl.build(dsl.customize(k), target="vitis_hls", mode="csim")
                except dsl.DSLError as exc:  # e.g. a kernel the frontend refuses
                    errors[k] = exc
        assert batch.compile() == {}
        if kernel in errors:
            raise errors[kernel]
        return self[kernel]


@pytest.fixture(scope="module", params=["llvm", "csim"])
def build(request, tmp_path_factory):
    return Built(request.param, tmp_path_factory.mktemp("csim"))


@pytest.mark.parametrize("kernel,args,expected", CASES, ids=[_name(c) for c in CASES])
def test_scalar_kernel_computes_what_python_does(build, kernel, args, expected):
    assert build[kernel](*args) == expected


@pytest.mark.parametrize("kernel,arg,expected", ARRAY_CASES, ids=[_name(c) for c in ARRAY_CASES])
def test_kernel_accepted_and_exact(build, kernel, arg, expected):
    np.testing.assert_array_equal(build[kernel](arg), expected)


def test_shift_amounts_beyond_the_width(build):
    for x, n in SHIFTS:
        assert tuple(int(v) for v in build[shifts](x, n)) == _shift_ref(x, n), (x, n)


def test_values_come_back_in_the_order_returned(build):
    total, doubled, flag = build[scalar_first](np.array([1, 0, 3, 4], np.int32))
    assert total == 101 and list(doubled) == [2, 0, 6, 8] and not flag


def test_bool_is_non_zero(build):
    assert tuple(bool(v) for v in build[bool_constants](2)) == (True, True, True)
    assert tuple(bool(v) for v in build[bool_constants](0)) == (True, True, False)
