"""The LLM kernel library: composable, reusable Transformer kernels with their schedules and numpy references.

    from dsl.library import nn, systolic, gemv, quant
    s = dsl.customize(nn.layer_norm, instantiate=[float32, 512, 768])
    nn.schedule_layer_norm(s)

See ``dsl/library/README.md`` for every kernel, its template parameters, schedule, numerics and tests.
"""
from . import mathf, rows  # noqa: F401
from . import checks, packing, pe, quant, linalg, attention, systolic, gemv, nn, ref, schedules  # noqa: F401,E402
from .schedules import scheduled  # noqa: F401,E402
from . import registry  # noqa: F401,E402
