"""Table tests of dsl.frontend.typing_rules: one row per rule of its docstring table (and the notes below it)."""
import pytest

from dsl import Fixed, Int, UFixed, UInt, bfloat16, float16, float32, float64, index
from dsl.frontend import typing_rules as tr

BINARY = [
    # + - grow one bit
    ("Add", Int(8), Int(8), Int(9)),
    ("Add", Int(8), Int(16), Int(17)),
    ("Sub", Int(8), Int(3), Int(9)),
    ("Add", UInt(8), UInt(8), UInt(9)),
    ("Sub", UInt(8), UInt(8), Int(9)),  # a difference of unsigned values can be negative
    # * adds the widths
    ("Mult", Int(8), Int(16), Int(24)),
    ("Mult", UInt(4), UInt(4), UInt(8)),
    # / (C) and // (floor) grow one bit (INT_MIN / -1), % keeps the wider width
    ("Div", Int(16), Int(8), Int(17)),
    ("FloorDiv", Int(16), Int(8), Int(17)),
    ("Div", UInt(16), UInt(8), UInt(16)),
    ("Mod", Int(16), Int(8), Int(16)),
    ("Mod", Int(8), Int(16), Int(16)),
    # bitwise: the wider width
    ("BitAnd", Int(8), Int(32), Int(32)),
    ("BitOr", Int(12), Int(3), Int(12)),
    ("BitXor", UInt(8), UInt(4), UInt(8)),
    # shifts: the left operand's type
    ("LShift", Int(8), Int(32), Int(8)),
    ("RShift", UInt(16), Int(8), UInt(16)),
    # mixing signed and unsigned: signed, the unsigned side one bit wider
    ("Add", UInt(8), Int(8), Int(10)),
    ("Mult", UInt(8), Int(8), Int(17)),
    ("BitAnd", UInt(8), Int(8), Int(9)),
    # widths are capped
    ("Mult", Int(400), Int(400), Int(512)),
    ("Add", Int(512), Int(512), Int(512)),
    # floats win
    ("Add", Int(32), float32, float32),
    ("Mult", float16, float64, float64),
    ("Add", float16, bfloat16, float32),
    ("Div", float32, float32, float32),
    ("Mult", Fixed(16, 8), float32, float32),
    # index
    ("Add", index, index, index),
    ("Add", index, Int(8), Int(33)),  # index mixed with an integer acts as int32
    # fixed point
    ("Add", Fixed(16, 8), Fixed(12, 4), Fixed(17, 8)),
    ("Sub", Fixed(16, 8), Fixed(16, 8), Fixed(17, 8)),
    ("Mult", Fixed(16, 8), Fixed(12, 4), Fixed(28, 12)),
    ("Div", Fixed(16, 8), Fixed(12, 4), Fixed(21, 8)),
    ("Add", UFixed(8, 4), UFixed(8, 4), UFixed(9, 4)),
    ("Sub", UFixed(8, 4), UFixed(8, 4), Fixed(9, 4)),
    ("Add", Fixed(16, 8), Int(8), Fixed(17, 8)),
    ("Mult", Fixed(8, 0), Fixed(8, 0), Int(16)),
]


@pytest.mark.parametrize("op,a,b,expected", BINARY, ids=[f"{o}-{a!r}-{b!r}" for o, a, b, _ in BINARY])
def test_binary_result_type(op, a, b, expected):
    assert tr.binary_result_type(op, a, b) == expected


@pytest.mark.parametrize("op,a,b", [
    ("Mod", Fixed(16, 8), Fixed(16, 8)),
    ("LShift", Int(16), Fixed(16, 8)),  # a fixed-point shift amount (a fixed value may be shifted)
    ("BitAnd", float32, Int(8)),
    ("BitXor", Int(8), float64),
])
def test_binary_rejects(op, a, b):
    with pytest.raises(TypeError):
        tr.binary_result_type(op, a, b)


UNARY = [
    ("USub", Int(8), Int(9)),
    ("USub", UInt(8), Int(9)),
    ("USub", UFixed(8, 4), Fixed(9, 4)),
    ("USub", float32, float32),
    ("Invert", Int(8), Int(8)),
    ("Invert", UInt(5), UInt(5)),
]


@pytest.mark.parametrize("op,a,expected", UNARY, ids=[f"{o}-{a!r}" for o, a, _ in UNARY])
def test_unary_result_type(op, a, expected):
    assert tr.unary_result_type(op, a) == expected


def test_invert_needs_integer():
    with pytest.raises(TypeError, match="integer"):
        tr.unary_result_type("Invert", float32)


COMMON = [
    (Int(8), Int(8), Int(8)),
    (Int(8), Int(16), Int(16)),
    (UInt(8), UInt(16), UInt(16)),
    (UInt(8), Int(8), Int(9)),
    (Int(8), float32, float32),
    (float16, bfloat16, float32),
    (Fixed(16, 8), Fixed(12, 4), Fixed(16, 8)),
    (Fixed(16, 8), Int(32), Fixed(40, 8)),
    (UFixed(8, 4), Fixed(8, 4), Fixed(9, 4)),
    (index, index, index),
]


@pytest.mark.parametrize("a,b,expected", COMMON, ids=[f"{a!r}-{b!r}" for a, b, _ in COMMON])
def test_common_type(a, b, expected):
    assert tr.common_type(a, b) == expected
    assert tr.common_type(b, a) == expected


LITERALS = [
    (5, Int(8), Int(8)),
    (-128, Int(8), Int(8)),
    (300, Int(8), Int(10)),
    (-1, UInt(8), Int(2)),
    (255, UInt(8), UInt(8)),
    (True, None, UInt(1)),
    (3, None, Int(32)),
    (2**40, None, Int(42)),
    (1.5, float16, float16),
    (1.5, Int(8), float32),
    (1.5, None, float64),
    (2, Fixed(16, 8), Fixed(16, 8)),
    (1000, Fixed(16, 8), Int(11)),
    (5, float32, float32),
    (5, index, index),
    (2**40, index, Int(42)),  # beyond int32 the index acts as int32 (C++ int in HLS), the literal keeps its width
    (1.5, Fixed(16, 8), Fixed(16, 8)),  # a float literal meeting fixed point is a fixed-point constant
    (1000.5, Fixed(16, 8), Fixed(19, 8)),
    (-0.01, UFixed(8, 8), Fixed(9, 8)),
]


@pytest.mark.parametrize("value,other,expected", LITERALS, ids=[f"{v!r}-{o!r}" for v, o, _ in LITERALS])
def test_literal_type(value, other, expected):
    assert tr.literal_type(value, other) == expected


def test_literals_beyond_the_widest_type_are_refused():
    tr.literal_type(2**600, Int(8))  # 602 bits: an ap_int of up to MAX_INT_WIDTH (4096) bits holds it
    with pytest.raises(TypeError, match="needs 5002 bits"):
        tr.literal_type(2**5000, Int(8))


@pytest.mark.parametrize("other,expected", [(Fixed(16, 8), Fixed(16, 8)), (float16, float16), (Int(8), float32),
                                            (None, float32)])
def test_float_literal_type(other, expected):
    assert tr.float_literal_type(other) == expected
