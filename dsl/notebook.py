"""HTML pieces shared by the notebook views (``_repr_html_``) and the design report (``dsl.report``).

A leaf module: it imports nothing else of the package, so every layer may use it. Everything returns a
string of HTML whose classes (``dsl-...``) are styled by ``STYLE`` (inlined once per view).

Report contributions
--------------------
Anything that wants to appear in a design report or a notebook view (a QoR estimate, a models/ run, ...)
gives a *contribution*: a plain dict, returned by the object's ``__dsl_report__()`` method, with any of

``title``      heading of its section (str)
``summary``    a few key figures: {name: value}
``kernels``    per kernel (or kernel array, by the kernel's name): {name: {figure: value}}, e.g.
               ``{"pe": {"latency": 4096, "II": 1, "DSP": 1}}``; drawn inside the graph's nodes and tabled
``functions``  per MLIR function (a process of a region): {function: {figure: value}}; a graph node gets
               the figures of its instances combined (times: the slowest; resources: summed), which
               ``kernels`` cannot give a kernel called at several places (a QoR estimate gives both)
``resources``  {kind: {"used": x, "available": y}}: bars against the device (as ``dsl.perf`` gives them)
``tables``     [{"title": str, "columns": [...], "rows": [[...], ...]}]
``figures``    [{"title": str, "svg": text} or {"title": str, "png": bytes}]: embedded in the page
``notes``      [str]
``placement``  {kernel name: "SLR0"}: the graph groups kernels by SLR
``design``     an object the report can draw (a Schedule, a simulator or csim module) when the contributor
               has one (a models/ run brings the design it ran)

``contribution_html(c)`` renders one; ``dsl.report`` places it in the page.
"""
from __future__ import annotations

import base64
import html

STYLE = """<style>
.dsl-view{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;color:#1f2328}
.dsl-view h3{font-size:14px;margin:10px 0 4px}
.dsl-view table.dsl-table{border-collapse:collapse;margin:4px 0 8px}
.dsl-view table.dsl-table th,.dsl-view table.dsl-table td{border:1px solid #d0d7de;padding:2px 8px;
 text-align:left;vertical-align:top}
.dsl-view table.dsl-table th{background:#f6f8fa}
.dsl-view table.dsl-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.dsl-view tr.dsl-bad td{background:#ffebe9}
.dsl-view tr.dsl-warn td{background:#fff8c5}
.dsl-view pre.dsl-pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;overflow:auto;
 max-height:420px;font-size:12px;line-height:1.35}
.dsl-view .dsl-tag{color:#8250df;font-weight:600}
.dsl-view .dsl-bar{display:inline-block;width:140px;height:10px;background:#eaeef2;border-radius:3px;
 vertical-align:middle;margin-right:6px;overflow:hidden}
.dsl-view .dsl-bar>span{display:block;height:100%;background:#2da44e}
.dsl-view .dsl-bar>span.dsl-over{background:#cf222e}
.dsl-view .dsl-bar>span.dsl-full{background:#bf8700}
.dsl-view .dsl-muted{color:#656d76}
.dsl-view .dsl-error{color:#cf222e;font-weight:600}
.dsl-view pre.dsl-error{white-space:pre-wrap}
.dsl-view details>summary{cursor:pointer;margin:4px 0}
.dsl-view img.dsl-figure{max-width:100%;border:1px solid #d0d7de}
</style>"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value) -> str:
    """A figure as people read it: thousands separated, floats to 3 significant digits, None as '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def view(body: str) -> str:
    """A notebook view: the styles and the body in one ``dsl-view`` block."""
    return f'{STYLE}<div class="dsl-view">{body}</div>'


def table(columns: list | None, rows: list, row_classes: list | None = None, cls: str = "") -> str:
    """An HTML table (``columns`` None: no header row); numbers are right-aligned, cells given as
    ``("html", text)`` are inserted as is."""
    head = "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead>" if columns else ""
    body = []
    for k, row in enumerate(rows):
        rc = row_classes[k] if row_classes and row_classes[k] else ""
        cells = "".join(_cell(v) for v in row)
        body.append(f'<tr class="{rc}">{cells}</tr>' if rc else f"<tr>{cells}</tr>")
    return f'<table class="dsl-table {cls}">{head}<tbody>{"".join(body)}</tbody></table>'


def _cell(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "html":
        return f"<td>{value[1]}</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{esc(fmt(value))}</td>'
    return f"<td>{esc(fmt(value))}</td>"


def pre(text: str) -> str:
    return f'<pre class="dsl-pre">{esc(text)}</pre>'


def details(summary: str, body_html: str, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{body_html}</details>"


def bar(used, available, cls: str = "") -> str:
    """A horizontal bar of ``used`` out of ``available`` (red past 100 %)."""
    if not available:
        return ""
    share = used / available
    over = " dsl-over" if share > 1 else ""
    width = max(0.0, min(1.0, share)) * 100
    return f'<span class="dsl-bar"><span class="{cls}{over}" style="width:{width:.1f}%"></span></span>'


def resource_bars(resources: dict) -> str:
    """{kind: {"used", "available"}} as a table of bars."""
    rows, classes = [], []
    for kind, r in resources.items():
        used, available = r.get("used"), r.get("available")
        share = f"{used / available:.0%}" if available else "—"
        rows.append([kind, ("html", bar(used or 0, available) + esc(share)), used, available])
        classes.append("dsl-bad" if available and used and used > available else "")
    return table(["resource", "share", "used", "available"], rows, classes, cls="dsl-resources")


def stats_html(stats: dict, design: str = "") -> str:
    """Per-stream statistics ({label: {depth, max_occupancy, tokens, left}}) as a table; a stream that
    filled up (maximum occupancy = depth: its producer waited) is marked."""
    if not stats:
        return view(f'<p class="dsl-muted">no run of {esc(design)!s} yet: call the module first</p>')
    rows, classes = [], []
    for label, s in stats.items():
        full = s["max_occupancy"] >= s["depth"]
        rows.append([label, s["depth"], ("html", bar(s["max_occupancy"], s["depth"], "dsl-full" if full else "")
                                          + esc(s["max_occupancy"])), s["tokens"], s.get("left", 0)])
        classes.append("dsl-bad" if s.get("left") else ("dsl-warn" if full else ""))
    head = f"<h3>streams of {esc(design)}</h3>" if design else ""
    note = ('<p class="dsl-muted">yellow: the stream filled up (its producer waited); red: tokens left at the '
            "end</p>")
    return view(head + table(["stream", "depth", "max occupancy", "tokens", "left"], rows, classes) + note)


def figure_html(fig: dict) -> str:
    """An embedded figure (``svg`` text or ``png`` bytes) as a data-URL image: no file, no network."""
    if "svg" in fig:
        data, mime = fig["svg"].encode() if isinstance(fig["svg"], str) else fig["svg"], "image/svg+xml"
    else:
        data, mime = fig["png"], "image/png"
    title = esc(fig.get("title", ""))
    src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    caption = f"<figcaption>{title}</figcaption>" if title else ""
    return f'<figure><img class="dsl-figure" alt="{title}" src="{src}">{caption}</figure>'


def contribution_html(c: dict) -> str:
    """One report contribution (see the module docstring) as HTML."""
    parts = []
    if c.get("title"):
        parts.append(f"<h3>{esc(c['title'])}</h3>")
    if c.get("summary"):
        parts.append(table(None, [[k, v] for k, v in c["summary"].items()], cls="dsl-summary"))
    if c.get("kernels"):
        figures = sorted({f for rec in c["kernels"].values() for f in rec})
        parts.append(table(["kernel", *figures], [[k, *(rec.get(f) for f in figures)]
                                                 for k, rec in c["kernels"].items()], cls="dsl-kernels"))
    if c.get("resources"):
        parts.append(resource_bars(c["resources"]))
    for t in c.get("tables", []):
        parts.append(f"<h3>{esc(t.get('title', ''))}</h3>" + table(t["columns"], t["rows"]))
    for fig in c.get("figures", []):
        parts.append(figure_html(fig))
    for note in c.get("notes", []):
        parts.append(f'<p class="dsl-muted">{esc(note)}</p>')
    return "".join(parts)
