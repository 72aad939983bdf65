"""Splitting the emitted HLS of a layer design into one Vitis kernel per SLR.

The emitter writes the layer as one ``extern "C"`` dataflow top: interface pragmas, stream declarations
(``hls::stream<T> s;`` + its depth pragma) and one ``DSL_PROCESS(unit(...));  // <design>:<line>`` per
process. Each process line's source line says its SLR (``LayerDesign.slr_of_line``). A kernel per SLR gets
the processes placed there, the m_axi/s_axilite arguments they use and, for every stream that crosses to
another SLR, an AXI4-Stream port (``#pragma HLS interface axis``; UG1399, "AXI4-Stream Interfaces"); v++
links the ports with ``stream_connect`` (UG1393, "Specifying Streaming Connections between Compute Units").
The original top keeps its signature and runs the three kernels as the board does: concurrently, each a
process of a dataflow region (``DSL_PROCESS``), the streams between them FIFOs of the ``stream_connect`` depth
(``DSL_CSIM_DEPTH``). So csim is not more forgiving than hardware: called one after another on C++'s
unbounded ``hls::stream``, a layer whose cross-SLR FIFO is too shallow would complete in csim and hang on the
board; here it is a ``DeadlockError`` naming the full stream. For Vitis the macros are the plain calls and
nothing (the top is not one of the project's kernels).

The ports are ``hls::stream<ap_axiu<W, 0, 0, 0>>`` (``ap_axi_sdata.h``): UG1393 ("Streaming Data Transfers
Between Kernels") and Vitis_Accel_Examples' kernel-to-kernel examples declare a kernel's stream ports with
the AXI4-Stream side-channel struct, TDATA in ``data``, TKEEP/TSTRB all set, TLAST on the final token, not
as a user struct. Inside the kernel the units keep their token streams; one adapter process per port packs
(or unpacks) each token, its bits in element order, and the number of tokens per run is the design's static
count (``dsl.dataflow.check.static_tokens``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .axis import AxisPort, adapters, block_types, rename
from .errors import ModelError

PROCESS = re.compile(r"^\s*DSL_PROCESS\((\w+)\((.*)\)\);\s*//.*:(\d+)\s*$")
STREAM = re.compile(r"^\s*hls::stream<([^>]+)> (\w+);")
PRAGMA_PORT = re.compile(r"^\s*#pragma HLS interface (m_axi|s_axilite) port=(\w+)")


@dataclass
class Kernel:
    name: str
    slr: int
    params: list = field(default_factory=list)  # (name, C declaration, kind) of the top's arguments used
    inputs: list = field(default_factory=list)  # cross-SLR streams read: (name, token type)
    outputs: list = field(default_factory=list)  # cross-SLR streams written
    body: list = field(default_factory=list)  # local stream declarations and process lines

    @property
    def streams(self) -> list:
        return self.inputs + self.outputs


@dataclass
class Split:
    top: str
    kernels: list
    cross: dict  # stream -> (token type, depth, producer SLR, consumer SLR)
    code: str  # the whole kernel file: helpers, the per-SLR kernels, the top calling them
    header: str


def split_top(code: str, header: str, top: str, params: list, slr_of_line: dict, tokens: dict) -> Split:
    """``params``: the top's ``Param``s (dsl.backend.hls.signature), in order; ``tokens``: stream -> tokens
    carried in one run (for the cross-SLR ports' adapters)."""
    start = code.index(f'extern "C" void {top}(')
    body_start = code.index("{\n", start) + 2
    end = code.rindex("\n}")
    helpers, lines = code[:start], code[body_start:end].splitlines()
    pragmas, decls, procs = {}, {}, []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = PRAGMA_PORT.match(line)
        if m:
            pragmas[m.group(2)] = line
        s = STREAM.match(line)
        if s:
            decl = [line]
            while i + 1 < len(lines) and ("#pragma HLS stream" in lines[i + 1] or "DSL_CSIM_DEPTH" in lines[i + 1]):
                i += 1
                decl.append(lines[i])
            depth = int(re.search(r"depth=(\d+)", decl[1]).group(1)) if len(decl) > 1 else 2
            decls[s.group(2)] = (s.group(1), decl, depth)
        p = PROCESS.match(line)
        if p:
            slr = slr_of_line.get(int(p.group(3)))
            if slr is None:
                raise ModelError(f"internal: process {p.group(1)} at design line {p.group(3)} has no SLR")
            procs.append((slr, line, [a.strip() for a in p.group(2).split(",")]))
        i += 1
    users: dict = {}
    for slr, _, operands in procs:
        for name in operands:
            users.setdefault(name, set()).add(slr)
    cross = {}
    for name, (token, _, depth) in decls.items():
        slrs = sorted(users.get(name, ()))
        if len(slrs) > 2:
            raise ModelError(f"internal: stream {name} is used on SLRs {slrs}")
        if len(slrs) == 2:
            cross[name] = (token, depth, slrs[0], slrs[1])  # the layer flows SLR0 -> SLR1 -> SLR2
    blocks = block_types(header)
    taken = set(re.findall(r"\w+", code))
    ports = {n: AxisPort(n, c[0], blocks, tokens.get(n), taken) for n, c in cross.items()}
    kernels = []
    for slr in sorted({p[0] for p in procs}):
        k = Kernel(f"{top}_slr{slr}", slr)
        used = {n for s, _, ops in procs if s == slr for n in ops}
        k.params = [(p.name, p.decl, p.kind) for p in params if p.name in used]
        k.outputs = [(n, ports[n].axis) for n, c in cross.items() if c[2] == slr]
        k.inputs = [(n, ports[n].axis) for n, c in cross.items() if c[3] == slr]
        local = [n for n in decls if n in used and n not in cross]
        k.body = [ln for n in local for ln in decls[n][1]]
        mine = [n for n, _ in k.streams]
        for n in mine:
            k.body += ports[n].declaration()
        k.body += [rename(ln, {n: ports[n].inner for n in mine}) for s, ln, _ in procs if s == slr]
        k.body += [ports[n].adapter(n in dict(k.outputs)) for n in mine]
        k.body.append("  DSL_JOIN_PROCESSES();")
        kernels.append((k, [pragmas[n] for n, _, _ in k.params if n in pragmas]))
    text = helpers + adapters(ports.values()) + "\n".join(_kernel_text(k, prag) for k, prag in kernels) + "\n" + \
        _top_text(code[start:body_start], lines, pragmas, [k for k, _ in kernels], cross, ports)
    protos = "\n".join(f'extern "C" void {k.name}({_signature(k)});' for k, _ in kernels)
    header = header.replace(f'extern "C" void {top}(', f'{protos}\nextern "C" void {top}(')
    header = header.replace("#include <hls_stream.h>\n", "#include <hls_stream.h>\n#include <ap_axi_sdata.h>\n", 1)
    return Split(top, [k for k, _ in kernels], cross, text, header)


def _signature(k: Kernel) -> str:
    return ", ".join([decl for _, decl, _ in k.params] + [f"hls::stream<{t}> &{n}" for n, t in k.streams])


def _kernel_text(k: Kernel, pragmas: list) -> str:
    out = [f"// SLR{k.slr}: one Vitis kernel; its cross-SLR streams are AXI4-Stream ports (stream_connect)",
           f'extern "C" void {k.name}({_signature(k)}) {{', *pragmas]
    out += [f"  #pragma HLS interface axis port={n}" for n, _ in k.streams]
    out += ["  #pragma HLS interface s_axilite port=return bundle=control", "  #pragma HLS dataflow", *k.body, "}"]
    return "\n".join(out) + "\n"


def _top_text(head: str, lines: list, pragmas: dict, kernels: list, cross: dict, ports: dict) -> str:
    """The layer as one function again: the cross streams, then each SLR kernel called in turn."""
    out = [head.rstrip("\n")]
    out += [ln for ln in lines if PRAGMA_PORT.match(ln)]
    out.append("  // the three kernels at once, as on the board; csim: the cross-SLR streams are FIFOs of the depth")
    out.append("  // v++ gives them (stream_connect), so a FIFO too shallow for the layer deadlocks here as there")
    for n, (_, depth, _, _) in cross.items():
        out += [f"  hls::stream<{ports[n].axis}> {n};", f'  DSL_CSIM_DEPTH({n}, {depth}, "{n}");']
    for k in kernels:
        args = [n for n, _, _ in k.params] + [n for n, _ in k.streams]
        out.append(f"  DSL_PROCESS({k.name}({', '.join(args)}));")
    out.append("  DSL_JOIN_PROCESSES();")
    return "\n".join(out) + "\n}\n"
