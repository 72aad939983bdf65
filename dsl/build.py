"""``dsl.build``: one table from target name to backend entry point."""
from __future__ import annotations

import importlib

from .errors import BuildError, user_facing

# target -> "module:function"; each function takes (schedule, **options). Imported lazily so that a
# backend's dependencies load only when it is used.
TARGETS = {
    "llvm": "dsl.backend.llvm:build_llvm",
    "vhls": "dsl.backend.hls:build_vhls",
    "vitis_hls": "dsl.backend.hls:build_vitis_hls",
    "sim": "dsl.dataflow.sim:build_sim",
}


@user_facing
def build(kernel_or_schedule, target: str = "llvm", **options):
    """Build a kernel (a typed Python function) or a Schedule for ``target`` (one of ``TARGETS``)."""
    from .schedule import Schedule

    if target not in TARGETS:
        raise BuildError(f"unknown target {target!r}; valid targets: {', '.join(sorted(TARGETS))}")
    schedule = kernel_or_schedule
    if not isinstance(schedule, Schedule):
        from .customize import customize

        schedule = customize(kernel_or_schedule)
    module_name, func_name = TARGETS[target].split(":")
    return getattr(importlib.import_module(module_name), func_name)(schedule, **options)
