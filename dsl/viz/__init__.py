"""``dsl.report``: one self-contained HTML page for a design.

    sim = dsl.build(design); sim(*args)
    dsl.report(sim, "build/design.html")                          # a simulator run (or its deadlock)
    dsl.report(s, "build/design.html")                            # a Schedule, before any run
    dsl.report(prj, "build/design.html", schedule=s)              # a VitisProject (memory ports, files)
    dsl.report(sim, "build/design.html", also=[dsl.perf.evaluate("gpt2-medium")], configs={"hbm": {"A": 0}})

The page holds the dataflow graph (laid out by Graphviz's ``dot``), the kernels, the streams with their
depth, maximum occupancy and tokens, a deadlock drawn on the graph, the off-chip memory ports, whatever
``also`` contributes (the analytical model with its plots, a QoR estimate, a models/ run: see
``dsl.notebook`` for the contribution interface) and the schedule. Nothing in it refers to the network.
"""
from __future__ import annotations

import html as _html
import os
from pathlib import Path

from ..errors import DSLError, user_facing
from .page import ReportWarning, render
from .sources import Subject, contribution_of, subject_of

__all__ = ["DesignReport", "ReportWarning", "Subject", "report", "contribution_of"]


class DesignReport:
    """A rendered report: ``.html`` (the page), ``save(path)``; shown inline in Jupyter."""

    def __init__(self, subject: Subject, graph, html: str):
        self.subject, self.graph, self.html = subject, graph, html

    def __repr__(self):
        what = self.graph.summary() if self.graph is not None else "no dataflow graph"
        return f"<dsl report of {self.subject.kind} '{self.subject.name}': {what}>"

    def _repr_html_(self) -> str:
        # an iframe keeps the page's styles and script to itself inside the notebook
        return (f'<iframe srcdoc="{_html.escape(self.html, quote=True)}" style="width:100%;height:720px;'
                'border:1px solid #d0d7de"></iframe>')

    def save(self, path) -> Path:
        """Write the page (creating its folder) through a temporary file: never half a file."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f".{path.name}.tmp")
            scratch.write_text(self.html, encoding="utf-8")
            os.replace(scratch, path)
        except OSError as exc:
            raise DSLError(f"cannot write the report to '{path}': {exc.strerror or exc}") from None
        return path


@user_facing
def report(obj, path=None, *, also=(), schedule=None, configs: dict | None = None, expand: bool = False,
           title: str | None = None):
    """The design report of ``obj`` (a simulator or csim module, a Schedule, a VitisProject, or an object with
    ``__dsl_report__``), written to ``path`` (returns the Path), or returned as a ``DesignReport`` when no
    path is given.

    ``also``: more contributions (``dsl.perf`` results, QoR estimates, dicts); ``schedule``: the design's
    Schedule where ``obj`` does not keep it (a VitisProject opened from its folder); ``configs``: the
    ``vitis_hls`` configs whose memory mapping the report shows (``{"device": "u280", "hbm": {...}}``);
    ``expand``: one node per kernel instance and one edge per FIFO instead of one per kernel and stream.
    """
    subject = subject_of(obj, schedule, configs)
    subject.contributions += [contribution_of(c) for c in (also if isinstance(also, (list, tuple)) else [also])]
    graph = _graph(subject, expand)
    page = DesignReport(subject, graph, render(subject, graph, title))
    return page.save(path) if path is not None else page


def _graph(subject: Subject, expand: bool):
    from ..dataflow.graph import graph_of, is_dataflow

    if subject.schedule is None or not is_dataflow(subject.schedule):
        return None
    kernels, placement = {}, {}
    for c in subject.contributions:
        kernels.update(c.get("kernels", {}))
        placement.update(c.get("placement", {}))
    blocked = getattr(subject.deadlock, "blocked", None) if subject.deadlock is not None else None
    return graph_of(subject.schedule, subject.net, stats=subject.stats, deadlock=blocked,
                    channels=subject.channels, kernels=kernels, placement=placement, expand=expand)
