"""The design a Vitis project was written from, kept in the project folder: ``design.mlir`` (the scheduled
MLIR, with the source locations of the user's Python) and ``schedule.yaml`` (the primitives applied). A tool
that opens the folder later (``dsl.report(VitisProject(folder))``) reads the design back without the Python
that made it. Neither file is an input of the AMD tools."""
from __future__ import annotations

import re
from pathlib import Path

from mlir import ir

from ...errors import BuildError

DESIGN_FILE = "design.mlir"
SCHEDULE_FILE = "schedule.yaml"
_HEAD = re.compile(r"^// dsl design: top=(\S+) concurrent=([01])$")


def design_files(schedule) -> dict:
    """name -> text of the two files, for the project's file set."""
    with schedule.context:
        asm = schedule.module.operation.get_asm(enable_debug_info=True)
    concurrent = int(bool(getattr(schedule, "concurrent_kernels", False)))
    head = (f"// dsl design: top={schedule.top} concurrent={concurrent}\n"
            "// The scheduled design this project was written from (dsl.report reads it back).\n")
    return {DESIGN_FILE: head + asm, SCHEDULE_FILE: schedule.to_yaml()}


def read_design(folder):
    """The Schedule kept in a project folder (its primitives in ``trace``), or None when the folder has no
    ``design.mlir`` (a project written before dsl kept it)."""
    from ...schedule import Schedule
    from ...schedule.yaml_io import parse

    path = Path(folder) / DESIGN_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    head = _HEAD.match(text.split("\n", 1)[0])
    if head is None:
        raise BuildError(f"'{path}' is not a design file written by dsl (its first line must read "
                         "'// dsl design: top=<name> concurrent=<0|1>'); rebuild the project to rewrite it")
    context = ir.Context()
    try:
        module = ir.Module.parse(text, context)
    except ir.MLIRError as exc:
        raise BuildError(f"'{path}' does not parse as MLIR ({exc}); rebuild the project to rewrite it") from None
    top, concurrent = head.group(1), head.group(2) == "1"
    if concurrent:
        from ...dataflow.schedule import RegionSchedule as cls
    else:
        cls = Schedule
    schedule = cls(module, top, context)
    steps = Path(folder) / SCHEDULE_FILE
    if steps.is_file():
        schedule.trace = parse(steps.read_text(encoding="utf-8"), str(steps))["steps"]
    return schedule
