"""Small C++ helper functions emitted at the top of kernel.cpp when the kernel needs them.

They keep the generated file self-contained (it builds with stock Vitis HLS headers only).
"""
from __future__ import annotations

HELPERS = {
    # Affine and Python-style floor division/modulo: C++ '/' and '%' truncate toward zero.
    "floordiv": """template <typename T>
static inline T dsl_floordiv(T a, T b) {
  T q = a / b;
  return (q * b != a && ((a < 0) != (b < 0))) ? T(q - 1) : q;
}""",
    "ceildiv": """template <typename T>
static inline T dsl_ceildiv(T a, T b) {
  T q = a / b;
  return (q * b != a && ((a < 0) == (b < 0))) ? T(q + 1) : q;
}""",
    "mod": """template <typename T>
static inline T dsl_mod(T a, T b) {
  T r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? T(r + b) : r;
}""",
    # Fixed-point buffers hold ap_fixed values; the IR computes on their raw two's complement bits.
    "fixed_bits": """template <typename Raw, typename Fx>
static inline Raw dsl_bits(const Fx &x) {
  ap_int<Fx::width> raw;
  raw.range(Fx::width - 1, 0) = x.range(Fx::width - 1, 0);
  return Raw(raw);
}""",
    "fixed_from_bits": """template <typename Fx, typename Raw>
static inline Fx dsl_fixed(Raw raw) {
  Fx x;
  x.range(Fx::width - 1, 0) = ap_int<Fx::width>(raw);
  return x;
}""",
    # x.bitcast(): reinterpret the bits of a value as another type of the same width.
    "bitcast": """template <typename To, typename From>
static inline To dsl_bitcast(From x) {
  union {
    From from;
    To to;
  } u;
  u.from = x;
  return u.to;
}""",
}
ORDER = list(HELPERS)


def render(used: set) -> list:
    return [HELPERS[name] for name in ORDER if name in used]
