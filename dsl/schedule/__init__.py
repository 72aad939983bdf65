"""Schedules: the recorded, replayable transformations applied to a kernel's MLIR."""
from .core import Schedule  # noqa: F401
