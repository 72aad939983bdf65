"""The call boundary's conversion of integers wider than 64 bits (``dsl.backend.wide_ints``): whole-array
byte rows, exact for every width, sign and edge value, against Python's own int arithmetic (issue 10: the
decode GEMV's packed words)."""
import numpy as np
import pytest

import dsl
from dsl import Int, UInt
from dsl.backend import wide_ints
from dsl.types import storage_bytes

WIDTHS = (65, 72, 100, 127, 128, 129, 200, 255, 256, 512, 1000)


def edge_values(bits, signed, rng, n=200):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    middle = [-1, 1 << (bits - 2), -(1 << (bits - 2))] if signed else [1 << (bits - 1)]
    edges = [lo, hi, 0, 1, lo + 1, hi - 1] + middle
    rand = [lo + int.from_bytes(rng.bytes(bits // 8 + 1), "little") % (hi - lo + 1) for _ in range(n)]
    return edges + rand


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("bits", WIDTHS)
def test_rows_round_trip_and_match_to_bytes(bits, signed):
    rng = np.random.default_rng(bits)
    values = edge_values(bits, signed, rng)
    nbytes = storage_bytes(bits)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    rows = wide_ints.to_rows(arr, nbytes, signed)
    assert rows.shape == (len(values), nbytes) and rows.flags.writeable
    for row, v in zip(rows, values):
        assert row.tobytes() == v.to_bytes(nbytes, "little", signed=signed)
    back = wide_ints.from_rows(rows, (len(values),), bits, signed)
    assert back.dtype == object and list(back) == values


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("bits", WIDTHS)
def test_unspecified_upper_bits_are_wrapped(bits, signed):
    """LLVM leaves the bits of the storage above the declared width unspecified: reading back wraps them."""
    rng = np.random.default_rng(bits + 1)
    nbytes = storage_bytes(bits)
    rows = rng.integers(0, 256, (300, nbytes), dtype=np.uint8)
    got = wide_ints.from_rows(rows, (300,), bits, signed)
    for row, g in zip(rows, got):
        v = int.from_bytes(row.tobytes(), "little") & ((1 << bits) - 1)
        assert g == (v - (1 << bits) if signed and v >> (bits - 1) else v)


def test_wrap_and_numpy_integers_inside_object_arrays():
    arr = np.array([np.int64(-3), 5, np.uint64(7), (1 << 80) + 9, -(1 << 90)], dtype=object)
    big = ((1 << 80) + 9) & ((1 << 72) - 1)                   # bit 71 clear: stays positive
    assert list(wide_ints.wrap(arr, 72, True)) == [-3, 5, 7, big, 0]
    rows = wide_ints.to_rows(np.array([np.int64(-3), 5, True], dtype=object), 16, True)
    assert [int.from_bytes(r.tobytes(), "little", signed=True) for r in rows] == [-3, 5, 1]


def copy_and_add(x: Int(72)[40], w: UInt(512)[3, 4]) -> (Int(72)[40], UInt(512)[3, 4]):
    y: Int(72)[40]
    v: UInt(512)[3, 4]
    for i in range(40):
        y[i] = x[i] + 1
    for r, c in dsl.grid(3, 4):
        v[r, c] = w[r, c] ^ (w[r, c] >> 1)
    return y, v


def test_kernel_round_trip_exact():
    rng = np.random.default_rng(3)
    xs = edge_values(72, True, rng, n=28)[:37]
    x = np.empty(40, dtype=object)
    x[:] = xs + [np.int64(-5)] * (40 - len(xs))            # numpy integers take the general path
    w = np.empty((3, 4), dtype=object)
    w[:] = np.array(edge_values(512, False, rng, n=5)[:12], dtype=object).reshape(3, 4)
    y, v = dsl.customize(copy_and_add).build()(x, w)
    wrap72 = lambda n: ((n + (1 << 71)) % (1 << 72)) - (1 << 71)  # noqa: E731
    assert list(y) == [wrap72(int(a) + 1) for a in x]
    assert all(v[r, c] == int(w[r, c]) ^ (int(w[r, c]) >> 1) for r in range(3) for c in range(4))


def test_out_of_range_and_non_integers_are_still_refused():
    mod = dsl.customize(copy_and_add).build()
    w = np.zeros((3, 4), dtype=object)
    w[:] = 0
    x = np.zeros(40, dtype=object)
    x[:] = 0
    x[7] = 1 << 71                                           # one above Int(72)'s range
    with pytest.raises(dsl.DSLError, match="range|Int\\(72\\)"):
        mod(x, w)
    x[7] = 1.5
    with pytest.raises(dsl.DSLError):
        mod(x, w)
    x[7] = 0
    w[1, 1] = -1                                             # UInt(512) holds no negatives
    with pytest.raises(dsl.DSLError):
        mod(x, w)
