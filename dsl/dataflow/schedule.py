"""The Schedule of a ``dsl.region``: an ordinary Schedule whose kernels run concurrently, so ``build``
defaults to the simulator and refuses the sequential CPU path (see ``dsl.build``)."""
from __future__ import annotations

from ..schedule import Schedule


class RegionSchedule(Schedule):
    concurrent_kernels = True

    def _view_parts(self) -> list:
        """Jupyter: the dataflow graph instead of the top's (empty) loop tree."""
        from ..notebook import esc
        from .graph import GraphvizMissing, graph_of

        graph = graph_of(self)
        try:
            return [f"<p>{esc(graph.summary())}</p>", graph.svg()]
        except GraphvizMissing as exc:
            return [f"<p>{esc(graph.summary())}</p>", f'<p class="dsl-muted">{esc(exc.message)}</p>']
