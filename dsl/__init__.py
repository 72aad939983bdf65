"""dsl: a Python-embedded accelerator design language lowered through MLIR to Vitis HLS.

    import dsl
    from dsl import int8, int32

    def gemm(A: int8[64, 32], B: int8[32, 16]) -> int32[64, 16]:
        C: int32[64, 16] = 0
        for i, j in dsl.grid(64, 16):
            for k in dsl.reduction(32):
                C[i, j] += A[i, k] * B[k, j]
        return C

    s = dsl.customize(gemm)     # print(s) shows the MLIR
    C = s.build()(A, B)         # run on the CPU with numpy arrays
"""
from .types import *  # noqa: F401,F403
from .types import Int, UInt, Fixed, UFixed, Float, Index, TensorType, DSLType  # noqa: F401
from .errors import (  # noqa: F401
    DSLError, DSLSyntaxError, DSLNameError, DSLTypeError, ShapeError, CallError, ScheduleError,
    BuildError, ToolNotFoundError, DeadlockError, StreamError, PerfModelError,
)
from .frontend.lang import (  # noqa: F401
    grid, reduction, loop_tripcount, exp, exp2, log, log2, log10, sqrt, rsqrt, tanh, sin, cos, tan, erf, floor, ceil, atan,
    sinh, cosh, pow, abs, min, max, matmul, transpose, relu, sum, mean,
)
from .frontend.source import template  # noqa: F401
from .customize import customize  # noqa: F401
from .build import build  # noqa: F401
from .schedule import Schedule, Partition, LoopHandle, BufferHandle, LoopTree  # noqa: F401

from .dataflow import Stream, StreamWarning, get_pid, kernel, meta_for, region  # noqa: F401  (spatial designs)
from . import progress  # noqa: F401,E402  (progress lines for long work)
from .viz import report  # noqa: F401,E402  (the HTML design report)
from .qor import estimate  # noqa: F401,E402  (QoR estimates before synthesis)
from .frontend.meta import meta_elif, meta_else, meta_if  # noqa: F401,E402  (compile-time branches)
from .frontend.stateful import Stateful  # noqa: F401,E402  (state kept across calls)
from .frontend.lang_ops import (  # noqa: F401,E402  (Allo's named tensor operations)
    add, bmm, concat, copy, div, gelu, layernorm, linear, mul, ones, power, softmax, sub, tril, view, zeros,
)
from .frontend import named_ops as _named_ops  # noqa: F401,E402  (registers them with the frontend)
from .frontend.structs import Struct  # noqa: F401,E402  (struct locals)
from .frontend.templates import ConstExpr  # noqa: F401,E402  (compile-time constants)
from .schedule import register_schedule  # noqa: F401,E402  (library kernels' schedules for compose)


def __getattr__(name):  # Allo names deliberately not provided say why (PEP 562)
    from .allo_names import missing_attribute

    raise missing_attribute(__name__, name)
