"""The dsl type system: scalar types, tensor types and their MLIR / numpy / C++ views.

Every scalar type knows
  * its MLIR storage type (integers and fixed point are signless ``iN`` in MLIR; signedness lives here),
  * the numpy dtype that carries it across the CPU calling convention,
  * its HLS C++ spelling.
Tensor types are made by subscripting a scalar type: ``int32[32, 32]``.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass

import numpy as np

from .errors import DSLTypeError

# Vitis HLS's ap_int allows up to 4096 bits (with AP_INT_MAX_W, UG1399 "Arbitrary Precision Integer Types")
MAX_INT_WIDTH = 4096
# Largest tensor dimension, element count and loop bound: the HLS code indexes and counts with C++ `int`
# (and MLIR's own size arithmetic overflows far beyond it), so every size stays within 32 bits.
MAX_EXTENT = 2**31 - 1


class DSLType:
    """Base class of scalar types. Subscript to make a tensor type: ``float32[4, 8]``."""

    def __getitem__(self, shape) -> "TensorType":
        if not isinstance(shape, tuple):
            shape = (shape,)
        return TensorType(self, tuple(shape))

    # -- classification -------------------------------------------------------------------------
    @property
    def is_int(self) -> builtins.bool:
        return isinstance(self, (Int, UInt))

    @property
    def is_fixed(self) -> builtins.bool:
        return isinstance(self, (Fixed, UFixed))

    @property
    def is_float(self) -> builtins.bool:
        return isinstance(self, Float)

    @property
    def is_index(self) -> builtins.bool:
        return isinstance(self, Index)

    @property
    def signed(self) -> builtins.bool:
        return True

    @property
    def frac(self) -> int:
        """Fraction bits (0 for integers)."""
        return 0

    @property
    def fracs(self) -> int:
        """Allo's name: fraction bits of fixed point, stored significand bits of a float, 0 for integers."""
        return self.frac

    # -- views ----------------------------------------------------------------------------------
    def mlir(self):
        """The MLIR storage type (needs an active ``mlir.ir.Context``)."""
        from mlir import ir

        if self.is_float:
            return {"f16": ir.F16Type, "bf16": ir.BF16Type, "f32": ir.F32Type, "f64": ir.F64Type}[
                self.mlir_name
            ].get()
        if self.is_index:
            return ir.IndexType.get()
        return ir.IntegerType.get_signless(self.bits)

    @property
    def mlir_name(self) -> str:
        return f"i{self.bits}"

    @property
    def np_dtype(self) -> np.dtype:
        """numpy dtype carrying values of this type (integers: the next wider numpy integer)."""
        raise NotImplementedError

    def __call__(self, value):
        """``int8(x)`` inside a kernel is a cast; outside a kernel it quantises a Python value."""
        return value


@dataclass(frozen=True, eq=True, repr=False)
class Int(DSLType):
    bits: int

    def __post_init__(self):
        _check_width(self.bits, "Int")

    def __repr__(self):
        return f"int{self.bits}" if self.bits in _ALIAS_WIDTHS else f"Int({self.bits})"

    @property
    def np_dtype(self):
        return _int_carrier(self.bits, True)


@dataclass(frozen=True, eq=True, repr=False)
class UInt(DSLType):
    bits: int

    def __post_init__(self):
        _check_width(self.bits, "UInt")

    def __repr__(self):
        if self.bits == 1:
            return "bool"
        return f"uint{self.bits}" if self.bits in _ALIAS_WIDTHS else f"UInt({self.bits})"

    @property
    def signed(self):
        return False

    @property
    def np_dtype(self):
        if self.bits == 1:
            return np.dtype(np.bool_)
        return _int_carrier(self.bits, False)


@dataclass(frozen=True, eq=True, repr=False)
class Fixed(DSLType):
    """Signed fixed point with ``bits`` total and ``fbits`` fraction bits: ``ap_fixed<bits, bits-fbits>``."""

    bits: int
    fbits: int

    def __post_init__(self):
        _check_width(self.bits, type(self).__name__)
        if not isinstance(self.fbits, int) or isinstance(self.fbits, builtins.bool) or not 0 <= self.fbits <= self.bits:
            raise DSLTypeError(f"{type(self).__name__}({self.bits}, {self.fbits!r}): fraction bits must be an int in "
                               f"0..{self.bits} (the total width)")

    def __repr__(self):
        return f"{type(self).__name__}({self.bits}, {self.fbits})"

    @property
    def frac(self):
        return self.fbits

    @property
    def np_dtype(self):
        return np.dtype(np.float64)

    @property
    def raw_dtype(self) -> np.dtype:
        return _int_carrier(self.bits, self.signed)


@dataclass(frozen=True, eq=True, repr=False)
class UFixed(Fixed):
    """Unsigned fixed point: ``ap_ufixed<bits, bits-fbits>``."""

    @property
    def signed(self):
        return False


@dataclass(frozen=True, eq=True, repr=False)
class Float(DSLType):
    bits: int
    name: str

    def __repr__(self):
        return self.name

    @property
    def mlir_name(self):
        return {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}[self.name]

    @property
    def fracs(self) -> int:
        """Stored significand (mantissa) bits: 10, 7, 23, 52 (Allo's ``float32.fracs``)."""
        return {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}[self.name]

    mantissa = fracs

    @property
    def exponent(self) -> int:
        """Exponent bits: 5, 8, 8, 11."""
        return self.bits - self.fracs - 1

    @property
    def np_dtype(self):
        # numpy has no bfloat16: it travels as float32 and is rounded on the way in.
        return np.dtype({"float16": np.float16, "bfloat16": np.float32, "float32": np.float32,
                         "float64": np.float64}[self.name])


@dataclass(frozen=True, eq=True, repr=False)
class Index(DSLType):
    bits: int = 64

    def __repr__(self):
        return "index"

    @property
    def mlir_name(self):
        return "index"

    @property
    def np_dtype(self):
        return np.dtype(np.int64)


@dataclass(frozen=True)
class TensorType:
    """A tensor (memref) type: element type and a static shape of positive ints."""

    dtype: DSLType
    shape: tuple

    def __repr__(self):
        return f"{self.dtype!r}[{', '.join(map(str, self.shape))}]"

    @property
    def rank(self):
        return len(self.shape)

    @property
    def size(self):
        size = 1
        for extent in self.shape:
            size *= int(extent)
        return size

    def size_problem(self) -> str | None:
        """Why this shape cannot be built (a dimension or the element count beyond ``MAX_EXTENT``), or None."""
        if any(extent > MAX_EXTENT for extent in self.shape):
            return f"a dimension of {self!r} exceeds {MAX_EXTENT} (2**31 - 1)"
        if self.size > MAX_EXTENT:
            return f"{self!r} has {self.size} elements, more than {MAX_EXTENT} (2**31 - 1)"
        return None

    def mlir(self):
        from mlir import ir

        return ir.MemRefType.get(list(self.shape), self.dtype.mlir())


_ALIAS_WIDTHS = (1, 2, 4, 8, 16, 32, 64)


def _check_width(bits, kind):
    if not isinstance(bits, int) or isinstance(bits, builtins.bool) or not 1 <= bits <= MAX_INT_WIDTH:
        raise DSLTypeError(f"{kind}({bits!r}): width must be an int in 1..{MAX_INT_WIDTH} (the widest ap_int of Vitis HLS)")


def _int_carrier(bits: int, signed: builtins.bool) -> np.dtype:
    for width in (8, 16, 32, 64):
        if bits <= width:
            return np.dtype(f"{'i' if signed else 'u'}{width // 8}")
    return np.dtype(object)  # wider than 64 bits: Python ints


def storage_bytes(bits: int) -> int:
    """Bytes LLVM allocates per element of ``iN`` on x86-64 (store size rounded to ABI alignment)."""
    if bits <= 8:
        return 1
    if bits <= 16:
        return 2
    if bits <= 32:
        return 4
    if bits <= 64:
        return 8
    return -(-bits // 128) * 16


int1, int2, int4, int8, int16, int32, int64 = (Int(b) for b in (1, 2, 4, 8, 16, 32, 64))
uint1, uint2, uint4, uint8, uint16, uint32, uint64 = (UInt(b) for b in (1, 2, 4, 8, 16, 32, 64))
bool = UInt(1)  # noqa: A001 - the dsl spelling of a 1-bit flag
float16 = Float(16, "float16")
bfloat16 = Float(16, "bfloat16")
float32 = Float(32, "float32")
float64 = Float(64, "float64")
index = Index()

NAMED_TYPES = {
    "int1": int1, "int2": int2, "int4": int4, "int8": int8, "int16": int16, "int32": int32, "int64": int64,
    "uint1": uint1, "uint2": uint2, "uint4": uint4, "uint8": uint8, "uint16": uint16, "uint32": uint32,
    "uint64": uint64, "bool": bool, "float16": float16, "bfloat16": bfloat16, "float32": float32,
    "float64": float64, "index": index,
}
TYPE_CONSTRUCTORS = {"Int": Int, "UInt": UInt, "Fixed": Fixed, "UFixed": UFixed}


def parse_type(text: str) -> DSLType:
    """Parse the textual form used in IR attributes: ``int8``, ``Int(12)``, ``Fixed(16, 8)``, ``float32``."""
    text = text.strip()
    if text in NAMED_TYPES:
        return NAMED_TYPES[text]
    name, _, rest = text.partition("(")
    if name in TYPE_CONSTRUCTORS and rest.endswith(")"):
        args = [int(a) for a in rest[:-1].split(",")]
        return TYPE_CONSTRUCTORS[name](*args)
    raise TypeError(f"unknown dsl type {text!r}")


def type_of_python_value(value) -> DSLType:
    """The dsl type a Python or numpy constant gets when it appears in a kernel."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int32 if -(2**31) <= int(value) < 2**31 else int64
    if isinstance(value, (float, np.floating)):
        return float32
    raise TypeError(f"no dsl type for {type(value).__name__}")


NUMPY_TO_DSL = {
    np.dtype(np.bool_): bool, np.dtype(np.int8): int8, np.dtype(np.int16): int16, np.dtype(np.int32): int32,
    np.dtype(np.int64): int64, np.dtype(np.uint8): uint8, np.dtype(np.uint16): uint16,
    np.dtype(np.uint32): uint32, np.dtype(np.uint64): uint64, np.dtype(np.float16): float16,
    np.dtype(np.float32): float32, np.dtype(np.float64): float64,
}
