"""dsl.dse: design-space exploration of spatial Transformer accelerators, ranked by the design-level estimate.

    python -m dsl.dse gpt2-medium --device u280 --quant w4a8 --out schedules/gpt2-medium-u280/

Candidates are layer accelerators built by a builder module (``models.explore`` by default: ``models.design``
of the ``dsl.library`` units, scheduled as the paper's kernels by ``units.paper_schedule``), estimated by
``dsl.estimate`` through a pluggable executor (``evaluate``: local processes, a Ray cluster) and rolled up over
the layers and the host loop by ``dsl.qor.design`` (``search``).
"""
from .evaluate import ExplorationError, LocalExecutor, RayExecutor, SerialExecutor, make_executor
from .search import Choice, Explorer, explore

__all__ = ["Choice", "ExplorationError", "Explorer", "LocalExecutor", "RayExecutor", "SerialExecutor", "explore",
           "make_executor"]
