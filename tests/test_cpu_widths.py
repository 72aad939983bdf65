"""Every integer width from 1 to 512, signed and unsigned, through memory on the CPU backend and the
simulator: arguments, local buffers, returned tensors and scalars.

Widths whose byte size is not a power of two (``Int(17)``, ``Int(68)``, ``Int(200)``) used to be read with
undefined upper bits or to overflow their allocations (MLIR sized ``memref<Nxi68>`` at 12 bytes per
element, the JIT's code strides by 16); ``cpu_narrow.pad_storage`` carries them in padded storage.
"""
from __future__ import annotations

import runpy

import numpy as np
import pytest

import dsl
from dsl import Int, UInt

N = 4
CHUNK = 64  # widths per test
PER_KERNEL = 8  # widths per kernel (LLVM's code generation time grows with the square of the arguments)
WIDTHS = list(range(1, 513))
# at the default optimisation level, the widths around every storage boundary
ODD = [1, 2, 7, 9, 12, 13, 15, 17, 24, 31, 33, 40, 48, 63, 65, 68, 70, 72, 80, 96, 127, 129, 160, 192, 200, 255,
       257, 300, 384, 500, 511, 512]


def _type(w, signed):
    return f"Int({w})" if signed else f"UInt({w})"


def _lanes(chunk):
    return [(w, signed) for w in chunk for signed in (True, False)]


def _kernel_source(name, lanes):
    """A kernel that writes each argument reversed into a local buffer (declared without a value), then (after every lane's local is
    written, so that an allocation too small for its element shows as wrong values) copies the locals into
    the returned tensors, and returns A[0] ^ x for each lane."""
    params, tensors, scalars, writes, reads, returns, xors = [], [], [], [], [], [], []
    for k, (w, signed) in enumerate(lanes):
        t = _type(w, signed)
        params += [f"A{k}: {t}[N]", f"x{k}: {t}"]
        tensors.append(f"{t}[N]")
        scalars.append(t)
        writes += [f"    L{k}: {t}[N]", f"    R{k}: {t}[N]", "    for i in range(N):",
                   f"        L{k}[i] = A{k}[N - 1 - i]"]
        reads += ["    for i in range(N):", f"        R{k}[i] = L{k}[i]"]
        returns.append(f"R{k}")
        xors.append(f"A{k}[0] ^ x{k}")
    return (f"def {name}({', '.join(params)}) -> ({', '.join(tensors + scalars)}):\n"
            + "\n".join(writes + reads) + f"\n    return {', '.join(returns + xors)}\n")


def _range(w, signed):
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)


def _values(w, signed, rng):
    lo, hi = _range(w, signed)
    picks = [lo, hi, lo + (hi - lo) // 3, hi - (hi - lo) // 5]
    picks += [lo + int(rng.integers(0, 1 << 62)) * (hi - lo) // (1 << 62) for _ in range(N - len(picks))]
    return [max(lo, min(hi, v)) for v in picks]


def _array(values, w, signed):
    if w > 64:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    if w == 1 and not signed:
        return np.array(values, dtype=bool)
    return np.array(values, dtype=(Int(w) if signed else UInt(w)).np_dtype)


def _wrap(v, w, signed):
    v &= (1 << w) - 1
    return v - (1 << w) if signed and v >> (w - 1) else v


def _load(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(f"import dsl\nfrom dsl import Int, UInt\nN = {N}\n\n\n{source}")
    return runpy.run_path(str(path))[name]


def _inputs(lanes, rng):
    """(arguments, per lane: the values, the scalar x) with each type's extremes among the values."""
    args, lanes_in = [], []
    for w, signed in lanes:
        values = _values(w, signed, rng)
        x = _range(w, signed)[0] if signed else _range(w, signed)[1]
        args += [_array(values, w, signed), x]
        lanes_in.append((values, x))
    return args, lanes_in


def _check_cpu(tmp_path, widths, seed, **options):
    for at in range(0, len(widths), PER_KERNEL):
        lanes = _lanes(widths[at:at + PER_KERNEL])
        kernel = _load(tmp_path, f"widths{at}", _kernel_source(f"widths{at}", lanes))
        args, lanes_in = _inputs(lanes, np.random.default_rng(seed + at))
        got = dsl.build(kernel, **options)(*args)
        tensors, scalars = got[:len(lanes)], got[len(lanes):]  # returned tensors come first
        for k, ((w, signed), (values, x)) in enumerate(zip(lanes, lanes_in)):
            assert [int(v) for v in tensors[k]] == values[::-1], (w, signed)
            assert int(scalars[k]) == _wrap(values[0] ^ x, w, signed), (w, signed)


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, len(WIDTHS), CHUNK))
def test_every_width_through_memory_on_the_cpu(tmp_path, start):
    _check_cpu(tmp_path, WIDTHS[start:start + CHUNK], start, opt_level=0)  # O0: 512 widths compile fast


def test_odd_widths_through_memory_on_the_cpu_optimised(tmp_path):
    _check_cpu(tmp_path, ODD, 1)


def _region_source(name, lanes):
    """A region whose one kernel copies each argument reversed through a local buffer into an in-place
    output, whose first element then gets ^ x."""
    params, body = [], []
    for k, (w, signed) in enumerate(lanes):
        t = _type(w, signed)
        params += [f"A{k}: {t}[N]", f"B{k}: {t}[N]", f"x{k}: {t}"]
        body += [f"        L{k}: {t}[N]", "        for i in range(N):", f"            L{k}[i] = A{k}[N - 1 - i]"]
    for k in range(len(lanes)):
        body += ["        for i in range(N):", f"            B{k}[i] = L{k}[i]", f"        B{k}[0] = B{k}[0] ^ x{k}"]
    return (f"@dsl.region()\ndef {name}({', '.join(params)}):\n    @dsl.kernel(mapping=[1])\n"
            f"    def copy({', '.join(params)}):\n" + "\n".join(body) + "\n")


def test_odd_widths_through_memory_on_the_simulator(tmp_path):
    for at in range(0, len(ODD), PER_KERNEL):
        lanes = _lanes(ODD[at:at + PER_KERNEL])
        region = _load(tmp_path, f"region{at}", _region_source(f"region{at}", lanes))
        args, lanes_in = _inputs(lanes, np.random.default_rng(at))
        full = []
        for k, (w, signed) in enumerate(lanes):
            full += [args[2 * k], _array([0] * N, w, signed), args[2 * k + 1]]
        dsl.build(region, target="sim")(*full)
        for k, ((w, signed), (values, x)) in enumerate(zip(lanes, lanes_in)):
            expect = values[::-1]
            expect[0] = _wrap(expect[0] ^ x, w, signed)
            assert [int(v) for v in full[3 * k + 1]] == expect, (w, signed)
