"""The design report as one self-contained HTML page: styles, the graph (inline SVG), tables, embedded
figures and a few lines of script, with no reference to anything outside the file."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from .. import notebook as nb
from ..errors import DSLError
from ..notebook import esc

ASSETS = Path(__file__).parent


class ReportWarning(UserWarning):
    """Part of a design report could not be drawn (e.g. Graphviz is missing); the page says which."""


def render(subject, graph, title: str | None = None) -> str:
    title = title or f"{subject.name}: {subject.kind}"
    sections = [_header(subject, graph), _deadlock(subject), _graph(graph), _kernels(graph, subject),
                _streams(graph), _memory(graph, subject), *(_contribution(c) for c in subject.contributions),
                _schedule(subject, graph)]
    data = json.dumps({"edges": {e.id: [e.src, e.dst] for e in graph.streams} if graph else {}})
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{esc(title)}</title>",
        f"<style>{(ASSETS / 'report.css').read_text()}</style>",
        nb.STYLE, "</head><body><main class=\"dsl-view\">",
        f"<h1>{esc(title)}</h1>", *[s for s in sections if s],
        "</main>",
        f'<script type="application/json" id="dsl-graph-data">{_script_safe(data)}</script>',
        f"<script>{(ASSETS / 'report.js').read_text()}</script>",
        "</body></html>\n"])


def _section(sid: str, heading: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(heading)}</h2>{body}</section>'


def _header(subject, graph) -> str:
    rows = [["design", subject.name], ["what", subject.kind], *[[k, v] for k, v in subject.facts.items()]]
    if graph is not None:
        rows.append(["graph", graph.summary()])
    if subject.device is not None:
        d = subject.device
        rows.append(["device", f"{d.name} ({d.part}, {d.memory} × {d.banks}, {d.frequency} MHz)"])
    return f'<section id="summary">{nb.table(None, rows, cls="dsl-summary")}</section>'


def _deadlock(subject) -> str:
    err = subject.deadlock
    if err is None:
        return ""
    rows = [[r["kernel"], STATES[r["state"]], r.get("stream") or ", ".join(r.get("waits_for", [])), r.get("depth"),
             r.get("occupancy"), r.get("line")] for r in getattr(err, "blocked", [])]
    body = f'<pre class="dsl-pre dsl-error">{esc(err.message)}</pre>'
    body += nb.table(["kernel", "blocked on", "stream (or waits for)", "depth", "occupancy", "at"], rows,
                     ["dsl-bad"] * len(rows), cls="dsl-blocked")
    suggested = getattr(err, "suggested_depths", None)
    if suggested:
        body += "<p>depths that avoid this deadlock: " + ", ".join(
            f"<code>{esc(k)}</code> ≥ {v}" for k, v in suggested.items()) + "</p>"
    return _section("deadlock", "deadlock", body)


def _graph(graph) -> str:
    if graph is None:
        return ""
    from ..dataflow.graph import GraphvizMissing

    try:
        svg = graph.svg()
    except GraphvizMissing as exc:
        warnings.warn(ReportWarning(f"{exc.message}; the report lists the graph's nodes and edges as tables"),
                      stacklevel=4)
        return _section("graph", "dataflow graph", f'<p class="dsl-error" id="graph-missing">{esc(exc.message)}; '
                        "the tables below list the same kernels and streams.</p>")
    legend = ('<p class="dsl-muted legend">boxes: kernels (a PE array is one box, [P0×P1] instances); '
              "cylinders: top-level arguments in off-chip memory, with their port; dashed: memory accesses; "
              "solid: streams (element type, depth, maximum occupancy, tokens); amber: a stream that filled up "
              "(its producer waited); red: blocked in the deadlock.</p>")
    return _section("graph", "dataflow graph", f'<div class="graph">{svg}</div>{legend}')


def _kernels(graph, subject) -> str:
    if graph is None:
        return ""
    figures = list(dict.fromkeys(f for n in graph.kernels.values() for f in n.figures))
    slr = any(n.slr for n in graph.kernels.values())
    rows, classes = [], []
    for n in graph.kernels.values():
        states = sorted(set(n.states.values()))
        row = [n.name, len(n.instances), n.grid.strip("×") or "1", n.source]
        row += [n.slr] if slr else []
        if subject.deadlock is not None:
            row.append(", ".join(STATES[s] for s in states) if states else "finished")
        rows.append(row + [n.figures.get(f) for f in figures])
        classes.append("dsl-bad" if states else "")
    head = ["kernel", "instances", "grid", "source", *(["SLR"] if slr else []),
            *(["state"] if subject.deadlock is not None else []), *figures]
    return _section("kernels", "kernels", nb.table(head, rows, classes, cls="dsl-kernel-table"))


STATES = {"full": "put (stream full)", "empty": "get (stream empty)", "waiting": "not started"}


def _streams(graph) -> str:
    if graph is None or not graph.streams:
        return ""
    rows, classes = [], []
    for e in graph.streams:
        src, dst = graph.kernels[e.src].name, graph.kernels[e.dst].name
        depth = min(e.depths) if min(e.depths) == max(e.depths) else f"{min(e.depths)}..{max(e.depths)}"
        occupancy = ("html", nb.bar(e.max_occupancy, min(e.depths), "dsl-full" if e.full else "") +
                     esc(e.max_occupancy)) if e.max_occupancy is not None else None
        blocked = ", ".join(f"{f}: {s}" for f, s in e.blocked.items())
        rows.append([e.name, src, dst, e.dtype, depth, occupancy, e.tokens, e.expected_tokens, blocked])
        classes.append("dsl-bad" if e.blocked or e.left else ("dsl-warn" if e.full else ""))
    table = nb.table(["stream", "from", "to", "type", "depth", "max occupancy", "tokens", "tokens expected",
                      "blocked"], rows, classes, cls="dsl-stream-table")
    return _section("streams", "streams", table)


def _memory(graph, subject) -> str:
    if graph is None and not subject.channels:
        return ""
    users = {}
    for a in graph.accesses if graph else []:
        users.setdefault(a.memory, []).append(f"{graph.kernels[a.kernel].name} ({a.role})")
    rows = [[m.name, m.type, m.channel or subject.channels.get(m.name), ", ".join(users.get(m.id, []))]
            for m in (graph.memories.values() if graph else []) if m.kind == "argument"]
    if graph is None:
        rows = [[name, "", port, ""] for name, port in subject.channels.items()]
    body = nb.table(["argument", "type", "memory port", "loaded / stored by"], rows, cls="dsl-memory")
    device = subject.device
    if device is not None and subject.channels:
        used = len({c for port in subject.channels.values() for c in _channels(port)})
        body += nb.resource_bars({f"{device.memory} channels ({device.name})": {"used": used,
                                                                                "available": device.banks}})
    return _section("memory", "off-chip memory", body)


def _channels(port: str) -> list:
    """'HBM[3]' -> [3]; 'HBM[0:3]' -> [0, 1, 2, 3]; anything else counts as one port."""
    inside = port[port.find("[") + 1:port.rfind("]")] if "[" in port else port
    lo, sep, hi = inside.partition(":")
    if sep and lo.isdigit() and hi.isdigit():
        return list(range(int(lo), int(hi) + 1))
    return [inside]


def _contribution(c: dict) -> str:
    sid = "contribution-" + "".join(ch if ch.isalnum() else "-" for ch in c.get("title", "extra").lower())[:40]
    return f'<section class="contribution" id="{esc(sid)}">{nb.contribution_html(c)}</section>'


def _schedule(subject, graph) -> str:
    s = subject.schedule
    if s is None:
        return ""
    parts = []
    if s.trace:
        parts.append(nb.table(["#", "primitive", "arguments"], [[k + 1, step["primitive"], _args(step["args"])]
                                                               for k, step in enumerate(s.trace)]))
    for name in _loop_functions(s, graph):
        try:
            tree = s.get_loops(name) if name != s.top else s.get_loops()
        except DSLError:  # not a function of the schedule: it still shows in the IR below
            continue
        parts.append(nb.details(f"loop tree of {name}", nb.pre(str(tree)), open_=graph is None))
    parts.append(nb.details("MLIR", nb.pre(str(s))))
    return _section("schedule", "schedule", "".join(parts))


def _loop_functions(s, graph) -> list:
    """The top (a plain kernel) or one instance of each kernel of a dataflow design."""
    if graph is None:
        return [s.top]
    return list(dict.fromkeys(n.functions[0] for n in graph.kernels.values()))


def _args(args) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items()) if isinstance(args, dict) else str(args)


def _script_safe(text: str) -> str:
    return text.replace("</", "<\\/")
