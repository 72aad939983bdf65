"""Schedules: the recorded, replayable transformations applied to a kernel's MLIR."""
from .core import Schedule, install_primitives  # noqa: F401
from .registry import REGISTRY, Partition, Param, Primitive, primitive  # noqa: F401
from .names import BufferHandle, LoopHandle, LoopTree  # noqa: F401
from . import primitives as _primitives  # noqa: F401  (registers the primitives)

install_primitives()

from .compose_forms import install as _install_compose_forms, register_schedule  # noqa: E402,F401

_install_compose_forms(Schedule)  # s.compose([s0, s1]), s.compose(kernel, instantiate=...)

from .allo_forms import install as _install_allo_keywords  # noqa: E402

_install_allo_keywords(Schedule)  # Allo's argument names: split(axis=...), partition(partition_type=...)
