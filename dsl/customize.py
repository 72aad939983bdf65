"""``dsl.customize``: compile a typed Python kernel to MLIR and wrap it in a Schedule."""
from __future__ import annotations

from mlir import ir

from .errors import DSLError, user_facing
from .frontend.calls import Instantiation
from .frontend.narrow import narrow_module
from .frontend.scope import caller_names
from .frontend.unit import CompilationUnit
from .schedule import Schedule


_ALLO_ONLY = {
    "global_vars": "names come from the kernel's own scopes (globals, closure, enclosing function)",
    "context": "each schedule owns its MLIR context",
    "typing_rule_set": "one set of typing rules keeps the CPU, the simulator and csim identical",
    "unroll": "dsl.meta_for always unrolls",
}


@user_facing
def customize(kernel, instantiate=None, schedule=None, *, verbose=False, enable_tensor=False,
              lower_linalg=False, **options) -> Schedule:
    """Parse ``kernel`` (a typed Python function) into MLIR and return its Schedule.

    ``instantiate=[int8, 64]`` binds the kernel's type parameters; ``schedule="file.yaml"`` replays a
    saved schedule onto the new module. Allo's options are accepted: ``verbose=True`` prints the module;
    ``enable_tensor`` and ``lower_linalg`` choose Allo's internal IR and change no result, and this
    frontend always produces loops over memrefs, so they have no effect here.
    """
    for key in options:
        why = _ALLO_ONLY.get(key)
        raise DSLError(f"customize() option {key}= " + (f"(Allo's) is not provided: {why}" if why else
                       "is unknown; options: instantiate=, schedule=, verbose=, enable_tensor=, lower_linalg="))
    s = _customize(kernel, instantiate, schedule)
    if verbose:
        print(s.module)
    return s


def _customize(kernel, instantiate, schedule) -> Schedule:
    if hasattr(kernel, "__dsl_customize__"):  # a design that compiles itself (dsl.region)
        return kernel.__dsl_customize__(instantiate=instantiate, schedule=schedule)
    if isinstance(kernel, Instantiation):
        kernel, instantiate = kernel.fn, kernel.args
    context = ir.Context()
    context.allow_unregistered_dialects = False
    unit = CompilationUnit(context)
    unit.caller_names = caller_names()  # Allo's fallback for names no scope of the kernel defines
    top = unit.instance(kernel, instantiate, top=True)
    narrow_module(unit.module)
    with context:
        if not unit.module.operation.verify():
            raise DSLError(f"internal error: the module generated for {kernel.__name__!r} does not verify")
    s = Schedule(unit.module, top, context, kernel=kernel, instantiate=instantiate)
    if schedule is not None:
        _replay(s, schedule)
    return s


def _replay(s: Schedule, schedule):
    replay = getattr(s, "apply_schedule", None)
    if replay is None:
        raise DSLError("schedule files need the schedule primitives (dsl.schedule), which are not available")
    replay(schedule)
