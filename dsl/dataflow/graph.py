"""The dataflow graph of a design, as people draw it: kernels and kernel arrays as nodes, streams as edges,
the top-level arguments (off-chip memory) with the kernels that load and store them.

``DesignGraph.build(net, ...)`` groups the netlist: the instances of one ``@dsl.kernel`` definition (a PE
array) are one node, while separate calls of one kernel (a library unit used in several places) are nodes of
their own, named by their first instance; the FIFOs of one stream declaration between the same two nodes are
one edge (``expand=True`` keeps every instance and every FIFO). Statistics of a run, a deadlock
(``dsl.DeadlockError.blocked``), memory channels and per-kernel estimates are laid onto it. ``to_dot()``
gives the Graphviz source and ``svg()`` the drawing, laid out by Graphviz's ``dot`` (``GraphvizMissing`` when it is not installed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlir import ir

from ..errors import DSLError
from .check import static_tokens
from .netlist import LOADS, STORES, kernel_source

MAX_NODE_FIGURES = 4
SELF_LOOP_PORTS = ("n", "s")  # top and bottom of a node in a left-to-right layout


class GraphvizMissing(DSLError):
    """Graphviz's ``dot`` program is needed to lay out the graph and is not on PATH."""


@dataclass
class KernelNode:
    id: str
    name: str
    instances: list = field(default_factory=list)  # process labels
    functions: list = field(default_factory=list)  # the MLIR function of each instance
    pids: list = field(default_factory=list)
    source: str | None = None
    states: dict = field(default_factory=dict)  # process label -> "full" / "empty" / "waiting" (deadlock)
    figures: dict = field(default_factory=dict)  # from an estimate: {"latency": ..., "II": ...}
    slr: str | None = None

    @property
    def grid(self) -> str:
        """'2×2' for a PE array whose pids fill a grid, else the instance count."""
        if len(self.instances) <= 1:
            return ""
        if self.pids and all(self.pids):
            dims = [len({p[k] for p in self.pids}) for k in range(len(self.pids[0]))]
            count = 1
            for d in dims:
                count *= d
            if count == len(self.instances):
                return "×".join(map(str, dims))
        return f"×{len(self.instances)}"


@dataclass
class MemoryNode:
    id: str
    name: str
    type: str
    kind: str  # "argument" (off-chip, through m_axi) or "buffer" (on chip, between kernels)
    channel: str | None = None


@dataclass
class StreamEdge:
    id: str
    stream: str  # the declaration: 'fa'
    src: str
    dst: str
    fifos: list = field(default_factory=list)  # labels: 'fa[0, 1]'
    dtype: str = ""
    depths: list = field(default_factory=list)
    expected: list = field(default_factory=list)  # per FIFO, from the static trip counts (None: dynamic)
    tokens: int | None = None  # measured
    max_occupancy: int | None = None
    left: int | None = None
    blocked: dict = field(default_factory=dict)  # fifo label -> "full" / "empty"

    @property
    def name(self) -> str:
        return self.fifos[0] if len(self.fifos) == 1 else f"{_pattern(self.fifos)} ×{len(self.fifos)}"

    @property
    def expected_tokens(self) -> int | None:
        return None if not self.expected or None in self.expected else sum(self.expected)

    @property
    def full(self) -> bool:
        """Some FIFO of the edge filled up in the run (its producer waited on it)."""
        return self.max_occupancy is not None and self.max_occupancy >= min(self.depths)

    def label_lines(self) -> list:
        depth = f"{min(self.depths)}" if min(self.depths) == max(self.depths) else \
            f"{min(self.depths)}..{max(self.depths)}"
        lines = [self.name, f"{self.dtype} · depth {depth}"]
        if self.tokens is not None:
            lines.append(f"max {self.max_occupancy} · {self.tokens:,} tokens")
        elif self.expected_tokens is not None:
            lines.append(f"{self.expected_tokens:,} tokens expected")
        for fifo, state in self.blocked.items():
            lines.append(f"{'FULL' if state == 'full' else 'empty'}: {fifo}" if len(self.fifos) > 1
                         else ("FULL" if state == "full" else "empty"))
        return lines


@dataclass
class AccessEdge:
    memory: str
    kernel: str
    role: str  # "read", "write", "readwrite"


@dataclass
class DesignGraph:
    name: str
    kernels: dict
    memories: dict
    streams: list
    accesses: list
    deadlock: list | None = None  # DeadlockError.blocked
    ran: bool = False

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def build(cls, net, top_func, stats: dict | None = None, deadlock: list | None = None,
              channels: dict | None = None, kernels: dict | None = None, placement: dict | None = None,
              expand: bool = False, functions: dict | None = None) -> "DesignGraph":
        """``stats``: stream label -> {depth, max_occupancy, tokens, left}; ``deadlock``: the blocked
        records; ``channels``: argument name -> memory port ('HBM[0]'); ``kernels``: node name -> figures
        of an estimate; ``functions``: MLIR function -> figures (a node whose every instance has them gets
        them combined: see ``combine_figures``); ``placement``: node name -> SLR. Needs the schedule's
        MLIR context."""
        graph = cls(net.top, {}, {}, [], [], deadlock, bool(stats))
        names = _group_names(net, expand)
        group_of = {p.label: graph._add_process(net, p, names) for p in net.processes}
        named = {**{p.callee: group_of[p.label] for p in net.processes}, **group_of}  # csim names processes
        graph._add_memories(net, top_func, group_of, channels or {})
        graph._add_streams(net, group_of, stats or {}, expand)
        for record in deadlock or []:
            if record["kernel"] not in named:
                continue
            node = graph.kernels[named[record["kernel"]]]
            node.states[record["kernel"]] = record["state"]
            for edge in graph.streams:
                if record["stream"] in edge.fifos:
                    edge.blocked[record["stream"]] = record["state"]
        graph.add_figures(kernels, functions)
        for node in graph.kernels.values():
            node.slr = (placement or {}).get(node.name)
        return graph

    def add_figures(self, kernels: dict | None = None, functions: dict | None = None) -> None:
        """Lay one source's figures onto the nodes (a later source overrides a figure of the same name):
        a node whose every instance is in ``functions`` gets theirs combined, any other its entry in
        ``kernels``, by node name."""
        for node in self.kernels.values():
            node.figures.update(_figures(node, kernels or {}, functions or {}))

    def _add_process(self, net, proc, names: dict) -> str:
        fop = net.funcs[proc.callee]
        name = names[proc.label]
        nid = _ident("k", name)
        node = self.kernels.setdefault(nid, KernelNode(nid, name, source=kernel_source(fop)))
        node.instances.append(proc.label)
        node.functions.append(proc.callee)
        node.pids.append(tuple(ir.IntegerAttr(v).value for v in ir.ArrayAttr(fop.attributes["dsl.pid"]))
                         if "dsl.pid" in fop.attributes else ())
        return nid

    def _add_memories(self, net, top_func, group_of, channels):
        names = _str_list(top_func, "dsl.arg_names")
        types = _str_list(top_func, "dsl.arg_types")
        for proc in net.processes:
            fop = net.funcs[proc.callee]
            for pos, (kind, ref) in enumerate(proc.operands):
                if kind == "arg" and ref < len(names) and isinstance(top_func.type.inputs[ref], ir.MemRefType):
                    mid = _ident("m", names[ref])
                    shape = list(ir.MemRefType(top_func.type.inputs[ref]).shape)
                    dtype = f"{types[ref] if ref < len(types) else ''}{shape}"
                    self.memories.setdefault(mid, MemoryNode(mid, names[ref], dtype, "argument",
                                                             channels.get(names[ref])))
                elif kind == "buffer":
                    alloc = proc.call.operands[pos].owner
                    label = ir.StringAttr(alloc.attributes["dsl.name"]).value if "dsl.name" in alloc.attributes \
                        else f"buffer{ref}"
                    mid = _ident("b", label)
                    self.memories.setdefault(mid, MemoryNode(mid, label, str(net.buffers[ref]), "buffer"))
                else:
                    continue
                access = AccessEdge(mid, group_of[proc.label], _arg_role(fop, pos))
                if access.role is not None and access not in self.accesses:
                    self.accesses.append(access)

    def _add_streams(self, net, group_of, stats, expand):
        edges = {}
        for fifo in net.fifos:
            puts = [a.process.label for a in fifo.accesses if a.role == "put"]
            gets = [a.process.label for a in fifo.accesses if a.role == "get"]
            if not puts or not gets:
                continue
            src, dst = group_of[puts[0]], group_of[gets[0]]
            stream = fifo.label if expand else fifo.label.split("[")[0]
            key = (stream, src, dst)
            if key not in edges:
                edges[key] = StreamEdge(_ident("s", "_".join(key)), stream, src, dst, dtype=_dtype(fifo))
                self.streams.append(edges[key])
            edge = edges[key]
            edge.fifos.append(fifo.label)
            edge.depths.append(fifo.depth)
            edge.expected.append(static_tokens(fifo))
            stat = stats.get(fifo.label)
            if stat is not None:
                edge.tokens = (edge.tokens or 0) + stat["tokens"]
                edge.left = (edge.left or 0) + stat.get("left", 0)
                edge.max_occupancy = max(edge.max_occupancy or 0, stat["max_occupancy"])

    # -- drawing -------------------------------------------------------------------------------------
    def to_dot(self):
        import graphviz

        dot = graphviz.Digraph(self.name, graph_attr={
            "rankdir": "LR", "fontname": "Helvetica", "fontsize": "11", "nodesep": "0.35", "ranksep": "0.7",
            "bgcolor": "transparent"},
            node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "style": "rounded,filled",
                       "fillcolor": "#eef6ff", "color": "#54aeff"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#57606a", "fontcolor": "#24292f"})
        for mem in self.memories.values():
            if mem.kind == "argument":
                dot.node(mem.id, _label([mem.name, mem.type, mem.channel or ""]), id=mem.id, shape="cylinder",
                         fillcolor="#f6f8fa", color="#8c959f", **{"class": "memory"})
        with dot.subgraph(name="cluster_region") as region:
            region.attr(label=f"dataflow region {self.name}", color="#d0d7de", style="rounded", fontsize="11")
            slrs = sorted({n.slr for n in self.kernels.values() if n.slr})
            for slr in slrs:
                with region.subgraph(name=f"cluster_{_ident('slr', slr)}") as sub:
                    sub.attr(label=slr, style="dashed", color="#8c959f")
                    for node in self.kernels.values():
                        if node.slr == slr:
                            self._draw_kernel(sub, node)
            for node in self.kernels.values():
                if not node.slr:
                    self._draw_kernel(region, node)
            for mem in self.memories.values():
                if mem.kind == "buffer":
                    region.node(mem.id, _label([mem.name, "buffer (not a stream)"]), id=mem.id, shape="note",
                                fillcolor="#fff8c5", color="#d4a72c", **{"class": "memory buffer"})
        for access in self.accesses:
            ends = (access.kernel, access.memory) if access.role == "write" else (access.memory, access.kernel)
            dot.edge(*ends, id=f"acc_{access.memory}_{access.kernel}", style="dashed", color="#8c959f",
                     dir="both" if access.role == "readwrite" else "forward", **{"class": "access"})
        loops = 0
        for edge in self.streams:
            ports = {}
            if edge.src == edge.dst:  # several self-loops of a PE array: alternate sides so labels stay apart
                side = SELF_LOOP_PORTS[loops % len(SELF_LOOP_PORTS)]
                ports, loops = {"tailport": side, "headport": side}, loops + 1
            self._draw_stream(dot, edge, ports)
        return dot

    def _draw_kernel(self, graph, node: KernelNode):
        lines = [node.name + (f"  [{node.grid}]" if node.grid else "")]
        if node.source:
            lines.append(node.source)
        lines += [f"{k}: {_short(v)}" for k, v in list(node.figures.items())[:MAX_NODE_FIGURES]]
        blocked = [s for s in node.states.values() if s in ("full", "empty")]
        waiting = [s for s in node.states.values() if s == "waiting"]
        cls, colors = "kernel", {}
        if blocked or waiting:
            lines.append(f"{len(blocked)} blocked" + (f", {len(waiting)} not started" if waiting else "")
                         + (f" of {len(node.instances)}" if len(node.instances) > 1 else ""))
            cls += " blocked"
            colors = {"fillcolor": "#ffebe9", "color": "#cf222e", "penwidth": "2"}
        elif self.deadlock is not None:
            cls += " done"
        tooltip = ", ".join(node.instances) if len(node.instances) > 1 else node.name
        graph.node(node.id, _label(lines), id=node.id, tooltip=tooltip, **colors, **{"class": cls})

    def _draw_stream(self, dot, edge: StreamEdge, ports: dict):
        cls, attrs = "stream", {}
        if edge.blocked:
            cls += " blocked" + "".join(f" {s}" for s in sorted(set(edge.blocked.values())))
            attrs = {"color": "#cf222e", "fontcolor": "#cf222e", "penwidth": "2.5"}
        elif edge.full:
            cls += " filled"
            attrs = {"color": "#bf8700", "penwidth": "1.6"}
        tooltip = ", ".join(edge.fifos)
        dot.edge(edge.src, edge.dst, label=_label(edge.label_lines()), id=edge.id, tooltip=tooltip,
                 **attrs, **ports, **{"class": cls})

    def svg(self) -> str:
        """The drawing as an SVG element (without the XML prolog, for inlining)."""
        import graphviz

        try:
            text = self.to_dot().pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            raise GraphvizMissing("drawing the dataflow graph needs Graphviz's 'dot' program, which is not on "
                                  "PATH: install Graphviz (Debian/Ubuntu: apt-get install graphviz; "
                                  "macOS: brew install graphviz)") from None
        except graphviz.CalledProcessError as exc:
            raise DSLError(f"Graphviz 'dot' failed on the graph of '{self.name}': {exc.stderr!r}") from None
        return text[text.index("<svg"):]

    # -- text --------------------------------------------------------------------------------------
    def summary(self) -> str:
        return (f"{len(self.kernels)} kernel node(s) ({sum(len(n.instances) for n in self.kernels.values())} "
                f"instances), {len(self.streams)} stream edge(s) "
                f"({sum(len(e.fifos) for e in self.streams)} FIFOs)")


def graph_of(schedule, net=None, **layers) -> DesignGraph:
    """The graph of a dataflow Schedule (``layers``: the keyword arguments of ``DesignGraph.build``)."""
    from .netlist import extract

    with schedule.context:
        net = net or extract(schedule.module, schedule.top)
        return DesignGraph.build(net, schedule.top_func, **layers)


def is_dataflow(schedule) -> bool:
    """Whether the schedule's top runs its kernels concurrently (a region, or ``s.dataflow`` on the top)."""
    if getattr(schedule, "concurrent_kernels", False):
        return True
    with schedule.context:
        return "dsl.dataflow" in schedule.top_func.attributes


def module_html(module) -> str:
    """Notebook view of a simulator or csim module: its streams after a run and its graph."""
    from ..notebook import esc, stats_html, view

    parts = [f"<h3>{esc(type(module).__name__)} {esc(module.name)}</h3>"]
    deadlock = getattr(module, "deadlock", None)
    if deadlock is not None:
        parts.append(f'<pre class="dsl-pre dsl-error">{esc(deadlock)}</pre>')
    stats = getattr(module, "stats", {})
    by_label = {s.get("label", k): s for k, s in stats.items()}
    if by_label:
        parts.append(stats_html(by_label))
    schedule = getattr(module, "schedule", None)
    if schedule is not None and is_dataflow(schedule):
        graph = graph_of(schedule, getattr(module, "net", None), stats=by_label,
                         deadlock=deadlock.blocked if deadlock is not None else None)
        try:
            parts.append(graph.svg())
        except GraphvizMissing as exc:
            parts.append(f'<p class="dsl-muted">{esc(exc.message)}</p>')
    return view("".join(parts))


# -- helpers -------------------------------------------------------------------------------------------

def _kernel_of(fop, callee: str) -> str:
    return ir.StringAttr(fop.attributes["dsl.kernel"]).value if "dsl.kernel" in fop.attributes else callee


def _group_names(net, expand: bool) -> dict:
    """Process label -> the name of its node. Instances of one kernel definition (same ``dsl.kernel`` and
    source line: a PE array) share a node named by the kernel; a kernel defined (called) at several places
    gets one node per place, named by its first instance's label, as the simulator names processes."""
    if expand:
        return {p.label: p.label for p in net.processes}
    groups: dict = {}
    for p in net.processes:
        fop = net.funcs[p.callee]
        groups.setdefault((_kernel_of(fop, p.callee), kernel_source(fop) or p.callee), []).append(p.label)
    places: dict = {}
    for kernel, _ in groups:
        places[kernel] = places.get(kernel, 0) + 1
    return {label: (kernel if places[kernel] == 1 else labels[0])
            for (kernel, _), labels in groups.items() for label in labels}


# how the figures of a node's instances combine: times are the slowest instance's, resources add up
COMBINE = {"latency": max, "II": max, "interval": max}


def combine_figures(records: list) -> dict:
    out: dict = {}
    for rec in records:
        for key, value in rec.items():
            if value is None:  # kept as None (the node still says "II: None") unless an instance has a value
                out.setdefault(key, None)
                continue
            out[key] = value if out.get(key) is None else COMBINE.get(key, lambda a, b: a + b)(out[key], value)
    return out


def _figures(node, kernels: dict, functions: dict) -> dict:
    if node.functions and all(f in functions for f in node.functions):
        return combine_figures([functions[f] for f in node.functions])
    return dict(kernels.get(node.name, {}))


def _ident(prefix: str, text: str) -> str:
    return f"{prefix}_" + re.sub(r"[^A-Za-z0-9_]", "_", text)


def _label(lines) -> str:
    """A Graphviz label of several centred lines (user text escaped for DOT)."""
    return "\\n".join(str(line).replace("\\", "\\\\") for line in lines if line != "")


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _pattern(labels: list) -> str:
    """'fa[*, 0]' for fa[0, 0], fa[1, 0]: the indices that vary become '*'."""
    parts = [re.match(r"([^\[]*)\[(.*)\]$", label) for label in labels]
    if not all(parts):
        return labels[0]
    indices = [[x.strip() for x in m.group(2).split(",")] for m in parts]
    if len({len(i) for i in indices}) != 1:
        return f"{parts[0].group(1)}[*]"
    cols = [c[0] if len(set(c)) == 1 else "*" for c in zip(*indices)]
    return f"{parts[0].group(1)}[{', '.join(cols)}]"


def _dtype(fifo) -> str:
    owner = fifo.value.owner if fifo.value is not None else None
    attrs = owner.attributes if owner is not None else {}
    if owner is not None and "dsl.type" in attrs:
        return ir.StringAttr(attrs["dsl.type"]).value
    return str(ir.MemRefType(fifo.mtype).element_type)


def _str_list(fop, name: str) -> list:
    if name not in fop.attributes:
        return []
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes[name])]


def _arg_role(fop, pos: int) -> str:
    """How a kernel uses its argument ``pos``: only loads ('read'), only stores ('write'), not at all
    (None), else both."""
    arg = fop.regions[0].blocks[0].arguments[pos]
    roles = set()
    for use in arg.uses:
        op = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if op.name in LOADS and op.operands[0] == arg:
            roles.add("read")
        elif op.name in STORES and op.operands[1] == arg:
            roles.add("write")
        else:
            return "readwrite"
    if not roles:
        return None
    return roles.pop() if len(roles) == 1 else "readwrite"
