"""The cross-SLR AXI4-Stream ports of the per-SLR kernels: ``hls::stream<ap_axiu<W, 0, 0, 0>>``.

Rule followed: UG1393 ("Streaming Data Transfers Between Kernels") and Vitis_Accel_Examples' kernel-to-kernel
streaming examples give a kernel's stream ports the AXI4-Stream side-channel struct ``ap_axiu<W, 0, 0, 0>``
of ``ap_axi_sdata.h`` with ``#pragma HLS interface axis``: TDATA in ``data``, TKEEP and TSTRB with every byte
valid, TLAST on the last token of a run. The units inside a kernel keep their own token streams (a struct of
one block per token); an adapter process per port moves the tokens between the two, one per cycle, the
block's elements in order in ``data`` (element e at bits [w·e, w·e + w)). Floats go to bits by a pointer cast
between native types, which Vitis HLS synthesises (UG1399, "Pointer Limitations"); csim uses ``memcpy``, the
defined C++ way to the same bits.
"""
from __future__ import annotations

import re

from .errors import ModelError

BLOCK = re.compile(r"^struct (\w+) \{ (\w+) v\[(\d+)\]; \};$", re.M)
# element C type -> (bits, expression of its bits from `x`, expression of the element from uint32_t `b`)
ELEMENTS = {
    "float": (32, "dsl_axis_bits({x})", "dsl_axis_float({b})"),
    "int32_t": (32, "ap_uint<32>((uint32_t){x})", "(int32_t){b}"),
    "int8_t": (8, "ap_uint<8>((uint8_t){x})", "(int8_t)(uint8_t){b}"),
}

HELPERS = """#include <cstring>
// Bits of a float for a stream port's TDATA and back (see models.axis): a pointer cast between native types
// for Vitis HLS (UG1399 "Pointer Limitations"), memcpy in C simulation.
static inline uint32_t dsl_axis_bits(float x) {
#ifdef DSL_CSIM
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#else
  return *reinterpret_cast<uint32_t *>(&x);
#endif
}
static inline float dsl_axis_float(uint32_t b) {
#ifdef DSL_CSIM
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#else
  return *reinterpret_cast<float *>(&b);
#endif
}
"""


def block_types(header: str) -> dict:
    """Token struct name -> (element C type, elements), from the kernel header's ``struct dsl_block_...``."""
    return {m.group(1): (m.group(2), int(m.group(3))) for m in BLOCK.finditer(header)}


def rename(line: str, names: dict) -> str:
    """A process line with the stream arguments ``names`` renamed (whole identifiers, arguments only)."""
    head, sep, comment = line.partition("//")
    for old, new in names.items():
        head = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, head)
    return head + sep + comment


class AxisPort:
    """One cross-SLR stream: its port type, the kernel-local token stream, the adapter between them."""

    def __init__(self, name: str, token: str, blocks: dict, count, taken: set):
        if token in blocks:
            self.element, self.lanes = blocks[token]
        elif token in ELEMENTS:
            self.element, self.lanes = token, 1
        else:
            raise ModelError(f"internal: stream {name} crosses SLRs with tokens of type {token}, which the AXI "
                             f"stream adapters do not take (blocks of {', '.join(ELEMENTS)})")
        if self.element not in ELEMENTS:
            raise ModelError(f"internal: stream {name}: no AXI stream packing for elements of type {self.element}")
        if not count:
            raise ModelError(f"internal: stream {name} crosses SLRs without a static token count")
        self.name, self.token, self.count = name, token, int(count)
        self.bits = ELEMENTS[self.element][0] * self.lanes
        self.axis = f"ap_axiu<{self.bits}, 0, 0, 0>"
        inner = f"{name}_tok"
        while inner in taken:
            inner += "_"
        self.inner = inner

    @property
    def suffix(self) -> str:
        return re.sub(r"\W", "_", self.token)

    def declaration(self) -> list:
        return [f"  hls::stream<{self.token}> {self.inner};", f"  #pragma HLS stream variable={self.inner} depth=2",
                f'  DSL_CSIM_DEPTH({self.inner}, 2, "{self.inner}");']

    def adapter(self, output: bool) -> str:
        kind = "put" if output else "get"
        args = f"{self.inner}, {self.name}" if output else f"{self.name}, {self.inner}"
        return f"  DSL_PROCESS(dsl_axis_{kind}_{self.suffix}<{self.count}>({args}));  // AXI4-Stream port {self.name}"


def _functions(port) -> str:
    bits, to_bits, from_bits = ELEMENTS[port.element]
    t, ax, s = port.token, port.axis, port.suffix
    elem = "tok.v[e]" if port.token != port.element else "tok"
    rng = f"w.data.range({bits} * e + {bits - 1}, {bits} * e)"
    return f"""template <int N>
static void dsl_axis_put_{s}(hls::stream<{t}> &in, hls::stream<{ax}> &out) {{
  for (int t = 0; t < N; t++) {{
    #pragma HLS pipeline II=1
    {t} tok = in.read();
    {ax} w;
    for (int e = 0; e < {port.lanes}; e++) {{
      #pragma HLS unroll
      {rng} = {to_bits.format(x=elem)};
    }}
    w.keep = -1;
    w.strb = -1;
    w.last = t == N - 1;
    out.write(w);
  }}
}}

template <int N>
static void dsl_axis_get_{s}(hls::stream<{ax}> &in, hls::stream<{t}> &out) {{
  for (int t = 0; t < N; t++) {{
    #pragma HLS pipeline II=1
    {ax} w = in.read();
    {t} tok;
    for (int e = 0; e < {port.lanes}; e++) {{
      #pragma HLS unroll
      {elem} = {from_bits.format(b=f"(uint32_t){rng}.to_uint()")};
    }}
    out.write(tok);
  }}
}}
"""


def adapters(ports) -> str:
    """The helper and the adapter templates the ports need (once per token type)."""
    seen, out = set(), []
    for port in ports:
        if port.token not in seen:
            seen.add(port.token)
            out.append(_functions(port))
    return (HELPERS + "\n" + "\n".join(out) + "\n") if out else ""
