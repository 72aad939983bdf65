"""``dsl.report``: one self-contained HTML page for a design.

    sim = dsl.build(design); sim(*args)
    dsl.report(sim, "build/design.html")                          # a simulator run (or its deadlock)
    dsl.report(s, "build/design.html")                            # a Schedule, before any run
    dsl.report(VitisProject(folder), "build/design.html")         # a Vitis project (its design, ports, files)
    dsl.report(sim, "build/design.html", also=[dsl.perf.evaluate("gpt2-medium")], configs={"hbm": {"A": 0}})
    dsl.report(sim, "build/design.html", estimate={"clock_mhz": 250})  # dsl.estimate's options

The page holds the dataflow graph (laid out by Graphviz's ``dot``), the kernels with the QoR estimate of
each (``dsl.estimate`` of the design's schedule, run by the report: latency, II and resources per kernel in
the graph's nodes and the kernel table, the design's resources as bars against the device), the streams
with their depth, maximum occupancy and tokens, a deadlock drawn on the graph, the off-chip memory ports,
whatever ``also`` contributes (the analytical model with its plots, a QoR estimate, a models/ run: see
``dsl.notebook`` for the contribution interface) and the schedule. Nothing in it refers to the network.
"""
from __future__ import annotations

import html as _html
import inspect
import os
import warnings
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
           title: str | None = None, estimate=True):
    """The design report of ``obj`` (a simulator or csim module, a Schedule, a VitisProject, or an object with
    ``__dsl_report__``), written to ``path`` (returns the Path), or returned as a ``DesignReport`` when no
    path is given.

    ``also``: more contributions (``dsl.perf`` results, QoR estimates, dicts); ``schedule``: the design's
    Schedule where ``obj`` does not keep it (a VitisProject reads it back from the folder's ``design.mlir``;
    a project written before dsl kept it shows its ports only, with a ``ReportWarning``); ``configs``: the
    ``vitis_hls`` configs whose memory mapping the report shows (``{"device": "u280", "hbm": {...}}``);
    ``expand``: one node per kernel instance and one edge per FIFO instead of one per kernel and stream;
    ``estimate``: the QoR estimate of the design's schedule (True: ``dsl.estimate`` on the report's device,
    else the U280, with ``configs["hbm"]``; a dict: ``dsl.estimate``'s keyword arguments; False: none). An
    estimate given in ``also`` is used instead. When the estimator cannot estimate the design, the page
    says why (a ``ReportWarning``); with a dict its error is raised.
    """
    subject = subject_of(obj, schedule, configs)
    extras = list(also) if isinstance(also, (list, tuple)) else [also]
    if estimate is not False and subject.schedule is not None and not any(_is_estimate(c) for c in extras):
        subject.contributions.append(estimate_contribution(subject, estimate, configs))
    subject.contributions += [contribution_of(c) for c in extras]
    graph = _graph(subject, expand)
    page = DesignReport(subject, graph, render(subject, graph, title))
    return page.save(path) if path is not None else page


def _graph(subject: Subject, expand: bool):
    from ..dataflow.graph import graph_of, is_dataflow

    if subject.schedule is None or not is_dataflow(subject.schedule):
        return None
    placement = {}
    for c in subject.contributions:
        placement.update(c.get("placement", {}))
    blocked = getattr(subject.deadlock, "blocked", None) if subject.deadlock is not None else None
    graph = graph_of(subject.schedule, subject.net, stats=subject.stats, deadlock=blocked,
                     channels=subject.channels, placement=placement, expand=expand)
    for c in subject.contributions:  # in the page's order: what ``also`` gives overrides the estimate
        graph.add_figures(c.get("kernels"), c.get("functions"))
    return graph


def _is_estimate(obj) -> bool:
    from ..qor import Estimate

    return isinstance(obj, Estimate)


def estimate_contribution(subject: Subject, options, configs: dict | None) -> dict:
    """The contribution of ``dsl.estimate`` on the subject's schedule (see ``report``'s ``estimate``)."""
    from ..qor import estimate

    explicit = isinstance(options, dict)
    if not explicit and options is not True:
        raise DSLError(f"estimate= takes True, False or a dict of dsl.estimate's options, got {options!r}")
    kwargs = dict(options) if explicit else {}
    allowed = [p for p in inspect.signature(estimate).parameters if p != "schedule"]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise DSLError(f"estimate={options!r}: dsl.estimate has no option {', '.join(map(repr, unknown))}; its "
                       f"options are {', '.join(allowed)}")
    if subject.device is not None:
        kwargs.setdefault("device", subject.device.name)
    if configs and configs.get("hbm"):
        kwargs.setdefault("hbm", configs["hbm"])
    try:
        return estimate(subject.schedule, **kwargs).__dsl_report__()
    except Exception as exc:  # noqa: BLE001  (an optional section: the rest of the page still stands)
        if explicit:
            raise
        what = exc.message if isinstance(exc, DSLError) else f"internal error {type(exc).__name__}: {exc}"
        why = f"dsl.estimate could not estimate '{subject.name}': {what}"
        warnings.warn(ReportWarning(f"the report has no QoR estimate: {why}"), stacklevel=4)
        return {"title": "QoR estimate", "notes": [why]}
