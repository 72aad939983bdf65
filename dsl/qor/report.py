"""What ``dsl.estimate`` returns: plain dataclasses, one record per loop, function, region, buffer and
resource, plus the text ``print(r)`` shows and the table a notebook shows.

Data API (for tools that draw it, such as an HTML report):

- ``Estimate.loops``: ``{"band:loop": LoopEstimate}`` (loops of callees are ``"func:band:loop"``).
- ``Estimate.functions``: ``{name: FunctionEstimate}`` for the top and every function it calls.
- ``Estimate.regions``: ``{name: RegionEstimate}`` for every dataflow function (its processes and streams).
- ``Estimate.buffers``: ``[BufferEstimate]``; ``Estimate.resources``: ``{kind: ResourceUse}`` against the device.
- ``Estimate.latency`` / ``.interval`` (cycles), ``.latency_ms``, ``.clock_mhz``, ``.device``, ``.notes``.
- ``Estimate.to_dict()``: the same as nested dicts (JSON-ready).
"""
from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass, field

RESOURCE_KINDS = ("DSP", "BRAM18K", "URAM", "LUT", "FF")


@dataclass
class Limit:
    """One bound on a pipelined loop's II: ``ii`` and why, in words; ``kind`` is "requested", "memory",
    "m_axi", "bandwidth", "stream", "recurrence" or "call"; ``what`` names the buffer or value."""

    ii: int
    kind: str
    reason: str
    what: str = ""


@dataclass
class LoopEstimate:
    key: str
    function: str
    trip: int | None            # iterations (of the flattened nest when flattened)
    pipelined: bool
    ii: int | None              # achieved initiation interval (pipelined loops)
    ii_target: int | None       # requested II (1 for Vitis's automatic pipelining)
    ii_reason: str              # why ii > ii_target, in words ("" when it is not)
    depth: int | None           # pipeline depth, or the iteration latency of a sequential loop
    latency: int | None         # cycles of the whole loop
    auto: bool = False          # pipelined by Vitis's default (no directive)
    flattened: list = field(default_factory=list)  # keys of the outer loops merged into this one
    unroll: int | None = None   # unroll factor (0: full)
    mode: str = "sequential"    # "pipelined" | "sequential" | "unrolled" | "flattened"
    limits: list = field(default_factory=list)     # [Limit], every bound at or above the target
    line: int = 0
    notes: list = field(default_factory=list)


@dataclass
class BufferEstimate:
    name: str
    function: str
    kind: str          # "ram" | "rom" | "reg" | "stream" | "maxi" | "axis"
    shape: tuple
    bits: int
    impl: str          # what it is built of, in words
    banks: int = 1
    bram18k: int = 0
    uram: int = 0
    lut: int = 0
    ff: int = 0


@dataclass
class ResourceUse:
    used: float
    available: float

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else float("inf")


@dataclass
class ProcessEstimate:
    name: str          # instance label (as the simulator names it)
    function: str
    latency: int | None
    interval: int | None
    start: int = 0     # cycle it starts, relative to its region
    finish: int = 0


@dataclass
class StreamEstimate:
    name: str
    depth: int
    bits: int
    producer: str
    consumer: str


@dataclass
class RegionEstimate:
    name: str
    latency: int | None
    interval: int | None
    critical: list = field(default_factory=list)   # process labels on the critical path, first to last
    bottleneck: str = ""                          # the process whose interval is the region's
    processes: list = field(default_factory=list)  # [ProcessEstimate]
    streams: list = field(default_factory=list)    # [StreamEstimate]


@dataclass
class FunctionEstimate:
    name: str
    latency: int | None
    interval: int | None
    dataflow: bool = False
    resources: dict = field(default_factory=dict)  # kind -> count (this function and what it instantiates)
    loops: list = field(default_factory=list)      # keys of its loops
    calls: list = field(default_factory=list)      # callee names
    line: int = 0
    kernel: str = ""                               # the dsl.kernel of a region's PE instance, else the name


@dataclass
class Estimate:
    top: str
    device: str
    clock_mhz: float
    latency: int | None
    interval: int | None
    loops: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)
    regions: dict = field(default_factory=dict)
    buffers: list = field(default_factory=list)
    resources: dict = field(default_factory=dict)   # kind -> ResourceUse (whole device)
    per_slr: dict = field(default_factory=dict)     # kind -> available per SLR
    notes: list = field(default_factory=list)
    tables: str = ""

    @property
    def latency_ms(self) -> float | None:
        return None if self.latency is None else self.latency / (self.clock_mhz * 1e3)

    @property
    def over_budget(self) -> dict:
        return {k: r for k, r in self.resources.items() if r.used > r.available}

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["latency_ms"] = self.latency_ms
        return data

    # -- text -------------------------------------------------------------------------------------
    def explanations(self) -> list[str]:
        """Every II above the requested one and every resource over budget, in words."""
        lines = []
        for loop in self.loops.values():
            if loop.pipelined and loop.ii is not None and loop.ii_target is not None and loop.ii > loop.ii_target:
                lines.append(f"loop {loop.key} in {loop.function}: II {loop.ii} instead of {loop.ii_target}: "
                             f"{loop.ii_reason}")
        for kind, use in self.over_budget.items():
            lines.append(f"{kind}: {use.used:,.0f} used, {use.available:,.0f} available "
                         f"({use.fraction:.0%}) on {self.device}; {self._largest(kind)}")
        return lines

    def _largest(self, kind: str) -> str:
        if kind in ("BRAM18K", "URAM"):
            attr = kind.lower()
            top = sorted(self.buffers, key=lambda b: -getattr(b, attr))[:3]
            parts = [f"{b.name} in {b.function}: {getattr(b, attr)} ({b.impl})" for b in top if getattr(b, attr)]
            return "largest buffers: " + "; ".join(parts) if parts else "no single buffer dominates"
        users = sorted(((f.resources.get(kind, 0), f.name) for f in self.functions.values()
                        if not f.dataflow), reverse=True)[:3]
        return "largest users: " + ", ".join(f"{name} ({n:,.0f})" for n, name in users if n)

    def __str__(self) -> str:
        return render_text(self)

    def __repr__(self) -> str:
        lat = "?" if self.latency is None else f"{self.latency:,} cycles"
        return f"<Estimate of {self.top!r} on {self.device} at {self.clock_mhz:g} MHz: {lat}>"

    def _repr_html_(self) -> str:
        return render_html(self)

    def __dsl_report__(self) -> dict:
        """The estimate as a design-report contribution (see dsl.notebook): per kernel its latency, worst
        II and resources (PE instances of one kernel summed), the loops, buffers and explanations."""
        return contribution(self)


def _n(value) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:,.3g}"
    return f"{value:,}"


def _table(rows: list) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in
                               enumerate(zip(r, widths))) for r in rows)


def loop_rows(e: Estimate) -> list:
    rows = [["loop", "function", "trip", "II", "depth", "latency", "mode"]]
    for loop in e.loops.values():
        if loop.mode in ("unrolled", "flattened"):
            continue
        ii = "-" if not loop.pipelined else (f"{loop.ii}" + (f" (asked {loop.ii_target})"
                                                              if loop.ii_target and loop.ii != loop.ii_target else ""))
        mode = loop.mode + (" (auto)" if loop.auto else "") + (f", flattened {len(loop.flattened) + 1}"
                                                              if loop.flattened else "")
        rows.append([loop.key, loop.function, _n(loop.trip), ii, _n(loop.depth), _n(loop.latency), mode])
    return rows


def render_text(e: Estimate) -> str:
    head = (f"estimate of {e.top} on {e.device} at {e.clock_mhz:g} MHz: latency {_n(e.latency)} cycles"
            + (f" ({e.latency_ms:.4g} ms)" if e.latency is not None else "") + f", interval {_n(e.interval)}")
    parts = [head]
    rows = loop_rows(e)
    if len(rows) > 1:
        parts.append(_table(rows))
    frows = [["function", "latency", "interval", *RESOURCE_KINDS]]
    for f in e.functions.values():
        frows.append([f.name + (" (dataflow)" if f.dataflow else ""), _n(f.latency), _n(f.interval),
                      *[_n(int(f.resources.get(k, 0))) for k in RESOURCE_KINDS]])
    parts.append(_table(frows))
    for region in e.regions.values():
        parts.append(f"region {region.name}: latency {_n(region.latency)}, interval {_n(region.interval)} "
                     f"(slowest process: {region.bottleneck}); critical path: {' -> '.join(region.critical)}")
    rrows = [["resource", "used", "available", "use"]]
    for kind, use in e.resources.items():
        mark = " !" if use.used > use.available else ""
        rrows.append([kind, _n(int(use.used)), _n(int(use.available)), f"{use.fraction:.1%}{mark}"])
    parts.append(_table(rrows))
    explained = e.explanations()
    if explained:
        parts.append("why:\n" + "\n".join(f"  - {line}" for line in explained))
    if e.notes:
        parts.append("notes:\n" + "\n".join(f"  - {n}" for n in e.notes))
    return "\n\n".join(parts)


def function_figures(e: Estimate) -> dict:
    """Per function (each process of a region is one): latency, worst pipelined II, resources. The
    design report draws them into the graph's nodes, in this order."""
    out = {}
    for f in e.functions.values():
        if f.dataflow:
            continue
        iis = [e.loops[k].ii for k in _loops_within(e, f.name, set())
               if k in e.loops and e.loops[k].pipelined and e.loops[k].ii]
        out[f.name] = {"latency": f.latency, "II": max(iis) if iis else None,
                       **{k: int(f.resources.get(k, 0)) for k in REPORT_KINDS}}
    return out


REPORT_KINDS = ("DSP", "BRAM18K", "URAM", "LUT", "FF")


def _loops_within(e: Estimate, name: str, seen: set) -> list:
    """The loops of function ``name`` and of every function it calls (a process's II may be its callee's)."""
    f = e.functions.get(name)
    if f is None or name in seen:
        return []
    seen.add(name)
    return list(f.loops) + [k for callee in f.calls for k in _loops_within(e, callee, seen)]


def kernel_figures(e: Estimate) -> dict:
    """Per dsl.kernel (a region's PE array counted once, its instances summed): latency, II, resources."""
    out: dict = {}
    for name, fig in function_figures(e).items():
        f = e.functions[name]
        rec = out.setdefault(f.kernel or f.name, {"latency": 0, "II": None, **{k: 0 for k in REPORT_KINDS},
                                                  "instances": 0})
        rec["instances"] += 1
        rec["latency"] = max(rec["latency"], fig["latency"] or 0)
        if fig["II"]:
            rec["II"] = max(fig["II"], rec["II"] or 0)
        for k in REPORT_KINDS:
            rec[k] += fig[k]
    return out


def contribution(e: Estimate) -> dict:
    rows = loop_rows(e)
    return {
        "title": f"QoR estimate of {e.top} on {e.device} at {e.clock_mhz:g} MHz",
        "summary": {"latency (cycles)": e.latency, "latency (ms)": e.latency_ms, "interval (cycles)": e.interval},
        "kernels": kernel_figures(e),
        "functions": function_figures(e),
        "device": e.device,
        "resources": {k: {"used": r.used, "available": r.available} for k, r in e.resources.items()},
        "tables": [{"title": "loops", "columns": rows[0], "rows": rows[1:]},
                   {"title": "buffers", "columns": ["buffer", "function", "kind", "built of", "BRAM18K", "URAM"],
                    "rows": [[b.name, b.function, b.kind, b.impl, b.bram18k, b.uram] for b in e.buffers]}],
        "notes": e.explanations() + e.notes,
    }


def render_html(e: Estimate) -> str:
    """The notebook view: summary, loops (slow ones marked), resources as bars, and the explanations."""
    from .. import notebook as nb

    rows = loop_rows(e)
    shown = [l for l in e.loops.values() if l.mode not in ("unrolled", "flattened")]
    marks = ["dsl-bad" if l.pipelined and l.ii and l.ii_target and l.ii > l.ii_target else "" for l in shown]
    lat = _n(e.latency) + (f" cycles ({e.latency_ms:.4g} ms)" if e.latency is not None else "")
    parts = [f"<h3>{nb.esc(e.top)} on {nb.esc(e.device)} at {e.clock_mhz:g} MHz: latency {nb.esc(lat)}, "
             f"interval {nb.esc(_n(e.interval))}</h3>"]
    if len(rows) > 1:
        parts.append(nb.table(rows[0], rows[1:], marks))
    frows = [[f.name, f.latency, f.interval, *[int(f.resources.get(k, 0)) for k in RESOURCE_KINDS]]
             for f in e.functions.values()]
    parts.append(nb.table(["function", "latency", "interval", *RESOURCE_KINDS], frows))
    parts.append(nb.resource_bars({k: {"used": r.used, "available": r.available} for k, r in e.resources.items()}))
    why = e.explanations()
    if why:
        parts.append("<ul>" + "".join(f'<li class="dsl-error">{nb.esc(w)}</li>' for w in why) + "</ul>")
    return nb.view("".join(parts))
