"""Storage arrays <-> the csim harness's raw 64-bit words (see ``shims/dsl_csim_io.h``)."""
from __future__ import annotations

import numpy as np

from ...types import DSLType, Float, Index
from ..interface import parse_carrier

_FLOAT_BITS = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}


def words_per_element(dtype: DSLType) -> int:
    if isinstance(dtype, (Float, Index)):
        return 1
    return -(-dtype.bits // 64)


def carrier(dtype: DSLType):
    if isinstance(dtype, Float):
        return dtype.np_dtype
    if isinstance(dtype, Index):
        return np.dtype(np.int64)
    if dtype.bits == 1 and not dtype.signed and not dtype.is_fixed:
        return np.dtype(np.bool_)
    return parse_carrier(dtype.bits, dtype.signed)


def zeros(spec) -> np.ndarray:
    return np.zeros(spec.shape, dtype=carrier(spec.dtype))


def encode(dtype: DSLType, storage) -> np.ndarray:
    arr = np.ascontiguousarray(storage).reshape(-1)
    if isinstance(dtype, Float):
        return arr.astype(dtype.np_dtype).view(_FLOAT_BITS[dtype.name]).astype(np.uint64)
    if arr.dtype == object:
        n = words_per_element(dtype)
        mask = (1 << 64) - 1
        return np.array([(int(v) >> (64 * c)) & mask for v in arr for c in range(n)], dtype=np.uint64)
    if arr.dtype == np.uint64:
        return arr
    return arr.astype(np.int64).view(np.uint64)


def decode(dtype: DSLType, data: np.ndarray, shape) -> np.ndarray:
    """Words -> storage array of ``shape`` in the dtype's numpy carrier (integers wrapped to their width)."""
    if isinstance(dtype, Float):
        return data.astype(_FLOAT_BITS[dtype.name]).view(dtype.np_dtype).reshape(shape)
    bits = 64 if isinstance(dtype, Index) else dtype.bits
    if bits > 64:
        n = words_per_element(dtype)
        out = np.empty(len(data) // n, dtype=object)
        for k in range(len(out)):
            v = sum(int(data[k * n + c]) << (64 * c) for c in range(n)) & ((1 << bits) - 1)
            out[k] = v - (1 << bits) if dtype.signed and v >> (bits - 1) else v
        return out.reshape(shape)
    signed = isinstance(dtype, Index) or dtype.signed
    if bits < 64:
        shift = np.uint64(64 - bits)
        data = data << shift
        data = (data.view(np.int64) >> np.int64(64 - bits)) if signed else (data >> shift)
    elif signed:
        data = data.view(np.int64)
    return data.astype(carrier(dtype)).reshape(shape)


def scalar(dtype: DSLType, raw: np.ndarray):
    """A scalar result as the CPU module returns it."""
    value = raw.reshape(-1)[0]
    if isinstance(dtype, Float):
        return value
    if dtype.is_fixed:
        return int(value) / (1 << dtype.frac)
    if dtype.bits == 1 and not dtype.signed:
        return bool(value)
    return int(value)
