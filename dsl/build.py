"""``dsl.build``: one table from target name to backend entry point."""
from __future__ import annotations

import importlib
import inspect

from .errors import BuildError, user_facing

# target -> "module:function"; each function takes (schedule, **options). Imported lazily so that a
# backend's dependencies load only when it is used.
TARGETS = {
    "llvm": "dsl.backend.llvm:build_llvm",
    "vhls": "dsl.backend.hls:build_vhls",
    "vitis_hls": "dsl.backend.hls:build_vitis_hls",
    "sim": "dsl.dataflow.sim:build_sim",
    "simulator": "dsl.dataflow.sim:build_sim",  # Allo's name for the dataflow simulator
}


@user_facing
def build(kernel_or_schedule, target: str | None = None, **options):
    """Build a kernel (a typed Python function) or a Schedule for ``target`` (one of ``TARGETS``).

    The default target is the CPU (``"llvm"``) for kernels and the simulator (``"sim"``) for dataflow
    regions, whose kernels run concurrently and cannot run one after another on the CPU path.
    """
    from .schedule import Schedule

    schedule = kernel_or_schedule
    if not isinstance(schedule, Schedule):
        from .customize import customize

        schedule = customize(kernel_or_schedule)
    concurrent = getattr(schedule, "concurrent_kernels", False)
    target = target or ("sim" if concurrent else "llvm")
    if target not in TARGETS:
        from .allo_names import TARGETS_NOT_PROVIDED

        if target in TARGETS_NOT_PROVIDED:
            raise BuildError(f"target {target!r} ({TARGETS_NOT_PROVIDED[target]}) is an Allo backend dsl does not "
                             f"provide: dsl targets AMD Vitis HLS on Alveo; valid targets: {', '.join(sorted(TARGETS))}")
        raise BuildError(f"unknown target {target!r}; valid targets: {', '.join(sorted(TARGETS))}")
    if concurrent and target == "llvm":
        raise BuildError(f"{schedule.top!r} is a dataflow region: its kernels run concurrently and talk through "
                         "streams, so it runs on target='sim' (the FIFO simulator) or 'vitis_hls', not 'llvm'")
    module_name, func_name = TARGETS[target].split(":")
    entry = getattr(importlib.import_module(module_name), func_name)
    _check_options(target, entry, schedule, options)
    return entry(schedule, **options)


def _check_options(target: str, entry, schedule, options: dict):
    """A misspelt option is a BuildError listing the valid ones, not a TypeError from a backend function."""
    sig = inspect.signature(entry)
    try:
        sig.bind(schedule, **options)
    except TypeError:
        valid = [name for name, p in list(sig.parameters.items())[1:]
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        takes = f"the options {', '.join(v + '=' for v in valid)}" if valid else "no options"
        unknown = sorted(set(options) - set(valid)) or sorted(options)
        raise BuildError(f"target {target!r} takes {takes}; unknown: {', '.join(k + '=' for k in unknown)}"
                         ) from None
