"""What a call may pass for each declared type, checked before the kernel runs (every executable backend).

The rule: *magnitude is never lost*. An integer argument must hold whole numbers within its type's range
(an ``int32`` array holding 300 is refused for an ``int8`` argument instead of arriving as 44), fixed
point refuses NaN, infinity and values outside its range, and a float argument refuses finite values its
type would turn into infinity. *Precision* follows the declared type's own rounding rule, as an assignment
in C++ does: floats round to nearest, fixed point truncates toward -inf (``AP_TRN``). An argument the
kernel may write must be an array that is writeable and whose dtype can hold every value of the declared
type, because the results are copied back into it.
"""
from __future__ import annotations

import numpy as np

from ..errors import CallError
from ..types import Float, Index

_NUMBER_KINDS = "biufO"
_MANTISSA = {2: 11, 4: 24, 8: 53}  # bits of precision of float16/32/64 (sign aside)


def check_scalar(spec, value, kernel: str) -> None:
    if type(value) in (int, float):  # the common case, without numpy's conversions
        return
    if np.ndim(value) != 0:
        raise CallError(f"argument '{spec.name}' of {kernel} is a scalar {spec.dtype!r}, "
                        f"got an array of shape {np.shape(value)}")
    kind = np.asarray(value).dtype.kind
    if kind == "c":
        raise CallError(f"argument '{spec.name}' of {kernel} is a scalar {spec.dtype!r}, got the complex "
                        f"number {value!r}; pass a real number (its .real, if that is what you mean)")
    if kind not in _NUMBER_KINDS or (kind == "O" and not isinstance(value, (int, np.integer))):
        hint = f"; convert it explicitly, e.g. int({value!r}) or float({value!r})" if isinstance(value, str) else ""
        raise CallError(f"argument '{spec.name}' of {kernel} is a scalar {spec.dtype!r}, got "
                        f"{type(value).__name__} {value!r}: pass a number{hint}")


def check_dtype(spec, value: np.ndarray, kernel: str, written: bool = False) -> None:
    t, kind = spec.dtype, value.dtype.kind
    if kind not in "biuf" and value.dtype.name == "bfloat16":  # ml_dtypes' bfloat16 (a numpy extension type),
        kind = "f"                                            # as Allo users pass it (the name costs: last)
    ok = {
        "float": kind in "fiub",
        "int": kind in "iub" or (kind == "O" and t.bits > 64),
        "fixed": kind in "fiu",
    }["float" if t.is_float else "fixed" if t.is_fixed else "int"]
    if not ok:
        raise CallError(f"argument '{spec.name}' of {kernel} has dtype {value.dtype}, which cannot hold {t!r}")
    if t.is_int and kind == "f":
        raise CallError(f"argument '{spec.name}' of {kernel} is {t!r}: pass an integer array, not {value.dtype}")
    if written and not value.flags.writeable:
        raise CallError(f"argument '{spec.name}' of {kernel} is written by the kernel, but the array passed is "
                        f"read-only; pass a writeable copy ({spec.name}.copy())")
    if written and not holds(value.dtype, t):
        raise CallError(f"argument '{spec.name}' of {kernel} is written by the kernel, and an array of dtype "
                        f"{value.dtype} cannot hold every {t!r} value it may write back; pass an array of dtype "
                        f"{_suggested_dtype(t)}")


def holds(dtype: np.dtype, t) -> bool:
    """Whether every value of dsl type ``t`` fits exactly in a numpy array of ``dtype``."""
    kind, bits = dtype.kind, dtype.itemsize * 8
    if dtype.name == "bfloat16":  # ml_dtypes'
        return t.is_float and t.name == "bfloat16"
    if kind == "O":
        return t.is_int
    if t.is_float:
        rank = {"float16": 0, "bfloat16": 1, "float32": 1, "float64": 2}[t.name]
        return kind == "f" and (bits == 16 and rank == 0 or bits == 32 and rank <= 1 or bits == 64)
    if t.is_fixed and kind == "f":
        return t.bits <= _MANTISSA[dtype.itemsize] or bits == 64  # float64 is the best numpy has
    if (t.is_fixed and t.frac) or isinstance(t, Index) and kind != "i":
        return False
    if kind == "b":
        return t.bits == 1 and not t.signed
    if kind == "i":
        return bits >= t.bits + (0 if t.signed else 1)
    return kind == "u" and not t.signed and bits >= t.bits


def _fits(dtype: np.dtype, t) -> bool:
    """Whether every value of an integer ``dtype`` is a value of the integer (or index) type ``t``."""
    lo, hi = _integer_range(t)
    info = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    return lo <= info[0] and info[1] <= hi


def _suggested_dtype(t) -> str:
    if t.is_float:
        return {"float16": "float16", "bfloat16": "float32"}.get(t.name, t.name)
    if t.is_fixed:
        return "float64"
    if t.bits > 64:
        return "object (Python ints)"
    return str(t.np_dtype)


# -- values ---------------------------------------------------------------------------------------------

def check_values(spec, arr: np.ndarray, kernel: str) -> None:
    """Raise CallError when a value of ``arr`` cannot become a value of the declared type."""
    t = spec.dtype
    if arr.size == 0:
        return
    if isinstance(t, Float):
        _check_float(spec, arr, kernel)
    elif t.is_fixed:
        _check_fixed(spec, arr, kernel)
    else:
        _check_integer(spec, arr, kernel)


def _fail(spec, arr, bad, kernel, what, how):
    where = "" if arr.ndim == 0 else f" at {list(int(i) for i in np.argwhere(bad)[0])}"
    value = arr[bad].reshape(-1)[0] if arr.ndim else arr[()]
    value = value.item() if isinstance(value, np.generic) else value
    raise CallError(f"argument '{spec.name}' of {kernel} is {spec.dtype!r}{what}, but holds {value!r}{where}; "
                    f"{how}")


def _integer_range(t):
    if isinstance(t, Index):  # HLS holds index values in a C++ int (the ports are `int` too)
        return -(1 << 31), (1 << 31) - 1
    return (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, (1 << t.bits) - 1)


def _check_integer(spec, arr, kernel):
    t, name = spec.dtype, spec.name
    if arr.ndim == 0 and arr.dtype.kind in "iu":  # a scalar: compare as a Python int (numpy's ops cost more)
        lo, hi = _integer_range(t)
        if lo <= int(arr) <= hi:
            return
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.trunc(np.where(np.isfinite(arr), arr, 0)))
        if bad.any():
            _fail(spec, arr, bad, kernel, "", "pass whole numbers (np.trunc or np.round first, if that is what "
                  "you mean)")
    if arr.dtype == object and _plain_ints_in_range(arr, t):
        return  # (one pass over the Python ints: a call's wide words are checked in a few ms)
    if arr.dtype == object:
        bad = np.array([not isinstance(v, (int, np.integer)) for v in arr.reshape(-1)]).reshape(arr.shape)
        if bad.any():
            _fail(spec, arr, bad, kernel, "", "pass Python ints (an object array of int)")
    if arr.dtype.kind in "biu" and _fits(arr.dtype, t):
        return  # every value of the dtype fits
    lo, hi = _integer_range(t)
    values = arr if arr.dtype != object else np.vectorize(int, otypes=[object])(arr)
    bad = (values < lo) | (values > hi)
    if np.any(bad):
        _fail(spec, np.asarray(values), np.asarray(bad), kernel, f" ({lo}..{hi})",
              _convert_int(t, name, lo, hi, scalar=arr.ndim == 0))


def _plain_ints_in_range(arr, t) -> bool:
    """Whether every element is a Python int (not a bool or a numpy integer: those take the general path)
    within ``t``'s range."""
    flat = arr.reshape(-1).tolist()
    if flat and set(map(type, flat)) != {int}:
        return False
    from .wide_ints import in_range

    return in_range(flat, *_integer_range(t))


def _convert_int(t, name, lo, hi, scalar=False) -> str:
    bits = 32 if isinstance(t, Index) else t.bits
    if scalar:
        wrap = f"({name} - {lo}) % 2**{bits} + {lo}" if lo else f"{name} % 2**{bits}"
        return f"convert it explicitly: min(max({name}, {lo}), {hi}) saturates, {wrap} wraps"
    clip = f"np.clip({name}, {lo}, {hi}) saturates"
    if isinstance(t, Index) or t.bits == 1 and not t.signed:
        return f"convert it explicitly: {clip}" if not t.bits == 1 else f"convert it explicitly: {name} != 0"
    if t.bits in (8, 16, 32, 64):
        return f"convert it explicitly: {name}.astype(np.{t.np_dtype}) wraps, {clip}"
    wrap = f"({name} - {lo}) % 2**{t.bits} + {lo}" if t.signed else f"{name} % 2**{t.bits}"
    return f"convert it explicitly: {wrap} wraps, {clip}"


def _check_fixed(spec, arr, kernel):
    t, name = spec.dtype, spec.name
    values = arr.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        _fail(spec, arr, bad, kernel, "", f"fixed point has no NaN or infinity: replace them explicitly "
              f"(np.nan_to_num({name}, ...))")
    scale = 2.0 ** t.frac
    lo, hi = ((-(2.0 ** (t.bits - 1))) if t.signed else 0.0), 2.0 ** (t.bits - 1 if t.signed else t.bits)
    raw = np.floor(values * scale)
    bad = (raw < lo) | (raw >= hi)
    if bad.any():
        top = (hi - 1) / scale
        _fail(spec, arr, bad, kernel, f" ({lo / scale:g}..{top:g})",
              f"convert it explicitly: np.clip({name}, {lo / scale:g}, {top:g}) saturates")


def _check_float(spec, arr, kernel):
    t, name = spec.dtype, spec.name
    target = np.float32 if t.name == "bfloat16" else t.np_dtype
    if t.name != "bfloat16" and arr.dtype.kind == "f" and arr.dtype.itemsize <= np.dtype(target).itemsize:
        return  # a float as wide as the target or narrower: no value can overflow
    with np.errstate(over="ignore", invalid="ignore"):
        source = arr.astype(np.float64)
        converted = source.astype(target)
        if t.name == "bfloat16":
            from .interface import _bf16_bits, _bf16_value

            converted = _bf16_value(_bf16_bits(converted))
    bad = np.isinf(converted) & np.isfinite(source)
    if bad.any():
        largest = float(np.finfo(np.float16).max) if t.name == "float16" else 3.3895e38 if t.name == "bfloat16" \
            else float(np.finfo(target).max)
        _fail(spec, arr, bad, kernel, "", f"it is beyond the largest {t!r} ({largest:g}) and would become "
              f"infinity; convert it explicitly: np.clip({name}, {-largest:g}, {largest:g}) saturates")
