"""Integers wider than 64 bits at the call boundary: object arrays of Python ints <-> the little-endian byte
rows LLVM lays an ``iN`` memref out as (``types.storage_bytes(N)`` bytes per element).

A Python int has to be touched once to read or make it, so the floor is one ``int.to_bytes`` /
``int.from_bytes`` per element; everything else is numpy on whole arrays: the bytes of all elements are one
``bytes`` object (``b"".join`` going in, one buffer sliced coming out), the bits above the declared width are
cleared or sign-filled on the byte rows at once, and the range check of a call is one ``min`` / ``max``
pass. Before, each element took a numpy ``frombuffer`` and a row copy, a masking loop in Python and a
per-element type check: the decode GEMV's 18,432 words of 512 bits took a 108 ms call for a 4-9 ms kernel,
now 24 ms (``benchmarks/bench_library.py --only gemv``, load average 5; dsl/library/README.md, "Speed").
"""
from __future__ import annotations

import functools

import numpy as np


def python_ints(values) -> list:
    """The elements of ``values`` (any array of integers) as a flat list of Python ints."""
    flat = np.asarray(values).reshape(-1).tolist()   # numpy integers become Python ints here
    return flat if set(map(type, flat)) <= {int} else [int(v) for v in flat]


def in_range(flat: list, lo: int, hi: int) -> bool:
    """Whether every Python int of ``flat`` lies in [lo, hi] (an empty list does)."""
    return not flat or (lo <= min(flat) and max(flat) <= hi)


def to_rows(values, nbytes: int, signed: bool) -> np.ndarray:
    """[size, nbytes] uint8: each value's two's complement, little-endian, ``nbytes`` wide (sign-extended when
    ``signed``). Values must fit (the call's checks have proved it); a value that does not raises
    OverflowError rather than being cut."""
    convert = functools.partial(int.to_bytes, length=nbytes, byteorder="little", signed=signed)
    flat = np.asarray(values).reshape(-1).tolist()
    data = b"".join(map(convert, map(int, flat)))   # int(): numpy integers an object array may hold
    return np.frombuffer(data, dtype=np.uint8).reshape(len(flat), nbytes).copy()   # writable: the kernel's


def fix_width(rows: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Byte rows whose bits above ``bits`` are unspecified (LLVM stores an ``iN`` in whole bytes) -> the same
    rows with those bits cleared, or copies of bit ``bits - 1`` when ``signed``: the value wrapped to its
    declared width, as hardware registers hold it. Whole-array numpy operations."""
    nbytes = rows.shape[1]
    if bits >= nbytes * 8:
        return rows
    full, part = divmod(bits, 8)
    rows = rows.copy()
    if signed:
        sign_byte = full if part else full - 1
        negative = (rows[:, sign_byte] >> np.uint8((bits - 1) % 8)) & np.uint8(1)
        fill = (negative * np.uint8(0xFF)).astype(np.uint8)[:, None]
    else:
        fill = np.zeros((rows.shape[0], 1), dtype=np.uint8)
    if part:
        keep = np.uint8((1 << part) - 1)
        rows[:, full] = (rows[:, full] & keep) | (fill[:, 0] & np.uint8(~keep & 0xFF))
        full += 1
    rows[:, full:] = fill
    return rows


def from_rows(rows: np.ndarray, shape, bits: int, signed: bool) -> np.ndarray:
    """The object array of Python ints (of ``shape``) that byte rows hold, wrapped to ``bits``."""
    rows = fix_width(np.ascontiguousarray(rows, dtype=np.uint8), bits, signed)
    nbytes = rows.shape[1]
    data = memoryview(rows.tobytes())
    make = int.from_bytes
    out = np.empty(rows.shape[0], dtype=object)
    out[:] = [make(data[k:k + nbytes], "little", signed=signed) for k in range(0, len(data), nbytes)]
    return out.reshape(shape)


def wrap(values, bits: int, signed: bool) -> np.ndarray:
    """Python ints wrapped to ``bits`` (two's complement when signed): an object array of ``values``'s shape."""
    mask, top, span = (1 << bits) - 1, 1 << (bits - 1), 1 << bits
    flat = [v & mask for v in python_ints(values)]
    if signed:
        flat = [v - span if v >= top else v for v in flat]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(np.shape(values))
