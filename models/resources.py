"""First-order resources of a generated layer per SLR, from the design's parameters (what the project README
states; synthesis decides): PE-array DSPs, operand tiles, K/V buffers and FIFOs in BRAM18K / URAM."""
from __future__ import annotations

import math

BRAM18K_BYTES = 36 * 512 // 8  # 18 Kb at its widest shape
URAM_BYTES = 288 * 1024 // 8
URAM_FROM = 64 * 1024  # buffers above this go to URAM
INT8_PE_DSP = 1  # an int8 x int8 multiply-accumulate into int32: one DSP48E2 (unpacked)


def _blocks(nbytes: int) -> tuple[int, int]:
    if nbytes > URAM_FROM:
        return 0, math.ceil(nbytes / URAM_BYTES)
    return math.ceil(nbytes / BRAM18K_BYTES), 0


def resources_per_slr(acc) -> dict:
    """SLR -> {units, dsp, bram18k, uram, kb} summed over the designs of the accelerator (each variant is
    its own set of kernels on the same SLRs)."""
    out = {s: {"units": [], "dsp": 0, "bram18k": 0, "uram": 0, "kb": 0.0} for s in range(3)}

    def add(slr, name, dsp=0, buffers=()):
        r = out[slr]
        r["units"].append(name)
        r["dsp"] += dsp
        for nbytes in buffers:
            b, u = _blocks(nbytes)
            r["bram18k"] += b
            r["uram"] += u
            r["kb"] += nbytes / 1024

    for design in acc.designs:
        tag = design.variant
        for op, s in design.linears.items():
            slr = 0 if op in "qkv" else 1 if op == "p" else 2
            dsp = s.Mt * s.Nt // (2 if s.pack else 1)
            add(slr, f"{op}/{tag}", dsp, (s.K * s.Mt, 4 * s.Mt * s.N))  # At (int8), Yb (int32)
        att, d = design.attention, design.config.hidden
        pe = att["Mq"] * att["Nk"] * INT8_PE_DSP  # the int8 attention's PE arrays
        add(1, f"a1/{tag}", pe, (2 * att["LK"] * d,))  # K ping-pong buffer (int8)
        add(1, f"a2/{tag}", pe, (2 * att["LK"] * d,))  # V ping-pong buffer (int8)
        for name, depth in design.depths.items():
            if name in ("q_rows", "attn_bypass"):
                add(0 if name == "q_rows" else 1, f"fifo {name}/{tag}", 0, (depth * 64,))
            elif name == "ffn_bypass":
                add(2, f"fifo {name}/{tag}", 0, (depth * 64,))
    for r in out.values():
        r["units"] = len(r["units"])
    return out
