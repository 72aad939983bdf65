"""dsl.dse: design-space exploration of spatial Transformer accelerators, ranked by the design-level estimate.

    python -m dsl.dse gpt2-medium --device u280 --quant w4a8 --out schedules/gpt2-medium-u280/

Operators are built from the templates in ``templates.py`` (to be replaced by ``dsl.library`` kernels
registered under the same kinds), estimated by ``dsl.estimate`` through a pluggable executor (``evaluate``:
local processes, a Ray cluster) and rolled up per layer (``search``).
"""
from .evaluate import ExplorationError, LocalExecutor, RayExecutor, SerialExecutor, make_executor
from .search import Choice, Explorer, explore

__all__ = ["Choice", "ExplorationError", "Explorer", "LocalExecutor", "RayExecutor", "SerialExecutor", "explore",
           "make_executor"]
