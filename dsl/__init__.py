"""dsl: a Python-embedded accelerator design language lowered through MLIR to Vitis HLS."""
from .types import *  # noqa: F401,F403
from .types import Int, UInt, Fixed, UFixed, Float, Index, TensorType, DSLType  # noqa: F401
from .errors import (  # noqa: F401
    DSLError, DSLSyntaxError, DSLNameError, DSLTypeError, ShapeError, CallError, ScheduleError,
    BuildError, ToolNotFoundError, DeadlockError, StreamError, PerfModelError,
)
