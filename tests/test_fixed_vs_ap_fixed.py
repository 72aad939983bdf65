"""Fixed point on the CPU backend is bit-exact with AMD's ``ap_fixed`` (AP_TRN, AP_WRAP).

The reference is not our own emitter: a hand-written C++ program does the same operations with genuine
``ap_fixed``/``ap_ufixed`` variables from the headers shipped in the hls4ml wheel, compiled with g++.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import numpy as np
import pytest

import dsl
from dsl import Fixed, UFixed, float32, int32

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is needed to build the ap_fixed reference")

N = 64
FA, FB, FN, UF = Fixed(16, 8), Fixed(12, 4), Fixed(8, 6), UFixed(10, 3)


def fixed_ops(a: FA[N], b: FB[N], u: UF[N], x: float32[N], k: int32[N]) -> (
        FA[N], FA[N], FA[N], FA[N], FN[N], int32[N], FA[N], float32[N], FA[N], FA[N], FA[N]):
    add: FA[N] = 0.0
    mul: FA[N] = 0.0
    sub: FA[N] = 0.0
    div: FA[N] = 0.0
    narrow: FN[N] = 0.0
    to_int: int32[N] = 0
    from_float: FA[N] = 0.0
    to_float: float32[N] = 0.0
    mixed: FA[N] = 0.0
    by_int: FA[N] = 0.0
    mac: FA[N] = 0.0
    for i in range(N):
        add[i] = a[i] + b[i]
        mul[i] = a[i] * b[i]
        sub[i] = b[i] - a[i]
        div[i] = a[i] / b[i]
        narrow[i] = a[i]
        to_int[i] = int32(a[i])
        from_float[i] = x[i]
        to_float[i] = a[i]
        mixed[i] = u[i] * a[i] - u[i]
        by_int[i] = a[i] * k[i]
        mac[i] = a[i] * b[i] + u[i] * b[i]
    return add, mul, sub, div, narrow, to_int, from_float, to_float, mixed, by_int, mac


CPP = r"""
#include <ap_fixed.h>
#include <cstdio>
typedef ap_fixed<16, 8> fa;  typedef ap_fixed<12, 8> fb;  typedef ap_fixed<8, 2> fn;
typedef ap_ufixed<10, 7> uf;
int main() {
  int n; std::scanf("%d", &n);
  for (int i = 0; i < n; ++i) {
    long ra, rb, ru, k; float x;
    std::scanf("%ld %ld %ld %f %ld", &ra, &rb, &ru, &x, &k);
    fa a; fb b; uf u;
    a.range() = ra; b.range() = rb; u.range() = ru;
    fa add = a + b, mul = a * b, sub = b - a, div = a / b;
    fn narrow = a;
    int to_int = a.to_int();
    fa from_float = x;
    float to_float = a.to_float();
    fa mixed = u * a - u;
    fa by_int = a * ap_int<32>(k);
    fa mac = a * b + u * b;
    std::printf("%ld %ld %ld %ld %ld %d %ld %.9g %ld %ld %ld\n",
      (long)add.range().to_int64(), (long)mul.range().to_int64(), (long)sub.range().to_int64(),
      (long)div.range().to_int64(), (long)narrow.range().to_int64(), to_int,
      (long)from_float.range().to_int64(), to_float, (long)mixed.range().to_int64(),
      (long)by_int.range().to_int64(), (long)mac.range().to_int64());
  }
  return 0;
}
"""


def _ap_types_dir():
    spec = importlib.util.find_spec("hls4ml")
    return os.path.join(os.path.dirname(spec.origin), "templates", "vivado", "ap_types")


def _signed(raw, bits):
    raw = int(raw) & ((1 << bits) - 1)
    return raw - (1 << bits) if raw >> (bits - 1) else raw


@pytest.fixture(scope="module")
def reference_binary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("apfixed")
    src = folder / "ref.cpp"
    src.write_text(CPP)
    exe = folder / "ref"
    subprocess.run(["g++", "-std=c++14", "-O1", "-isystem", _ap_types_dir(), str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    return exe


def test_fixed_point_matches_ap_fixed(reference_binary):
    rng = np.random.default_rng(7)
    ra = rng.integers(-(2**15), 2**15, N)
    rb = rng.integers(-(2**11), 2**11, N)
    rb[rb == 0] = 5
    ru = rng.integers(0, 2**10, N)
    x = (rng.standard_normal(N) * 60).astype(np.float32)  # overflows Fixed(16, 8) sometimes: wrap
    k = rng.integers(-300, 300, N).astype(np.int32)
    a, b, u = ra / 2.0**8, rb / 2.0**4, ru / 2.0**3

    lines = [str(N)] + [f"{ra[i]} {rb[i]} {ru[i]} {x[i]:.9g} {k[i]}" for i in range(N)]
    out = subprocess.run([str(reference_binary)], input="\n".join(lines), capture_output=True, text=True,
                         check=True).stdout.split("\n")
    ref = np.array([line.split() for line in out if line.strip()], dtype=object)

    got = dsl.customize(fixed_ops).build()(a, b, u, x, k)
    names = ["add", "mul", "sub", "div", "narrow", "to_int", "from_float", "to_float", "mixed", "by_int", "mac"]
    fracs = {"add": 8, "mul": 8, "sub": 8, "div": 8, "narrow": 6, "from_float": 8, "mixed": 8, "by_int": 8,
             "mac": 8}
    widths = {"narrow": 8}
    for col, name in enumerate(names):
        want = ref[:, col]
        if name == "to_int":
            assert np.array_equal(got[col], want.astype(np.int64)), name
        elif name == "to_float":
            assert np.array_equal(got[col], want.astype(np.float32)), name
        else:
            bits = widths.get(name, 16)
            ours = np.array([_signed(round(v * 2 ** fracs[name]), bits) for v in got[col]])
            theirs = np.array([_signed(int(v), bits) for v in want])
            mismatch = np.nonzero(ours != theirs)[0]
            assert mismatch.size == 0, f"{name}: first mismatch at {mismatch[:5]}: ours {ours[mismatch[:5]]} " \
                                       f"ap_fixed {theirs[mismatch[:5]]}"
