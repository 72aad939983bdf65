"""The primitive registry: one entry per schedule primitive, shared by Python calls, YAML files and compose.

An entry has a name, typed parameters, a docstring with a before/after example, and the function that
rewrites the IR. ``apply`` is the only way a primitive runs: it normalises the arguments to plain data (the
trace form: strings, ints, lists), runs the rewrite, verifies the module, and records the step. If anything
fails the module is restored from the copy taken before the step, so a failed primitive changes nothing.
"""
from __future__ import annotations

import difflib
import enum
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from mlir import ir
from mlir.passmanager import PassManager

from ..errors import ScheduleError
from ..types import MAX_EXTENT
from . import names as N

REQUIRED = inspect.Parameter.empty


class Partition(enum.Enum):
    """Array partitioning kinds for ``partition``: ``dsl.Partition.Complete / Block / Cyclic``."""

    Complete = "complete"
    Block = "block"
    Cyclic = "cyclic"


# -- argument kinds: each turns a user value into trace data or says what would be valid ---------------------
def _name_like(value, what):
    if isinstance(value, (N.LoopHandle, N.BufferHandle, N.Band)):
        return value.path
    if isinstance(value, str) and value:
        return value
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    raise ValueError(f"expected a {what} name (string or handle), got {value!r}")


def _int(value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"expected an integer >= {minimum}, got {value}")
    if abs(value) > MAX_EXTENT:  # factors, depths and sizes become 32-bit attributes and C++ ints
        raise ValueError(f"expected an integer of at most {MAX_EXTENT} (2**31 - 1), got {value}")
    return value


def _partition(value):
    if isinstance(value, Partition):
        return value.value
    if isinstance(value, str) and value.lower() in {p.value for p in Partition}:
        return value.lower()
    raise ValueError(f"expected dsl.Partition.Complete, Block or Cyclic (or 'complete', 'block', 'cyclic'), "
                     f"got {value!r}")


def _shape(value):
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"expected a non-empty list of positive integers, got {value!r}")
    return [_int(v, 1) for v in value]


def _schedule(value):
    from .yaml_io import _step

    if hasattr(value, "trace") and hasattr(value, "top"):
        return {"kernel": value.top, "steps": [dict(step) for step in value.trace]}
    if isinstance(value, dict) and isinstance(value.get("kernel"), str) and isinstance(value.get("steps"), list):
        steps = [_step(s, k + 1, f"sub-schedule {value['kernel']}") for k, s in enumerate(value["steps"])]
        return {"kernel": value["kernel"], "steps": steps}
    raise ValueError(f"expected a Schedule (or {{kernel: name, steps: [...]}}), got {value!r}")


def _axes(value):
    if isinstance(value, (str, int, N.LoopHandle)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"expected a list of loop names (or positions), got {value!r}")
    return [v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else _name_like(v, "loop")
            for v in value]


KINDS: dict[str, Callable[[Any], Any]] = {
    "loop": lambda v: _name_like(v, "loop"),
    "buffer": lambda v: _name_like(v, "buffer"),
    "func": lambda v: _name_like(v, "function"),
    "target": lambda v: _name_like(v, "function or loop"),
    "loops": lambda v: [_name_like(x, "loop") for x in v],
    "int": _int,
    "pos_int": lambda v: _int(v, 1),
    "nat": lambda v: _int(v, 0),
    "opt_pos_int": lambda v: None if v is None else _int(v, 1),
    "opt_nat": lambda v: None if v is None else _int(v, 0),
    "opt_str": lambda v: None if v is None else _name_like(v, "instance id"),
    "bool": lambda v: v if isinstance(v, bool) else (_ for _ in ()).throw(ValueError(f"expected True/False, got {v!r}")),
    "partition": _partition,
    "shape": _shape,
    "schedule": _schedule,
    "axes": _axes,
}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = REQUIRED

    @property
    def variadic(self):
        return self.kind == "loops"


@dataclass
class Primitive:
    name: str
    params: tuple
    fn: Callable
    doc: str
    cleanup: bool = False  # run canonicalize afterwards (folds the affine.apply ops a rewrite leaves)
    extra: dict = field(default_factory=dict)

    def signature(self) -> inspect.Signature:
        ps = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
        for p in self.params:
            kind = inspect.Parameter.VAR_POSITIONAL if p.variadic else inspect.Parameter.POSITIONAL_OR_KEYWORD
            ps.append(inspect.Parameter(p.name, kind, default=REQUIRED if p.variadic else p.default))
        return inspect.Signature(ps)

    def bind(self, args: tuple, kwargs: dict) -> dict:
        """Python call arguments -> {param: value} (positional, keyword, varargs for ``loops``).

        A ``loops`` parameter also takes one list (``s.reorder(["k", "j"])``) or a keyword
        (``s.reorder(loops=["k", "j"])``), the form schedule files use."""
        variadic = next((p.name for p in self.params if p.variadic), None)
        if variadic and variadic in kwargs and not args:
            kwargs = dict(kwargs)
            value = kwargs.pop(variadic)
            args = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        elif variadic and len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        for key in kwargs:
            if key not in {p.name for p in self.params}:
                raise self.unknown_argument(key)
        try:
            bound = self.signature().bind(None, *args, **kwargs)
        except TypeError as exc:
            raise ScheduleError(f"{self.name}: {exc}", hint=f"signature: {self.name}{self._sig_text()}") from None
        bound.apply_defaults()
        out = dict(bound.arguments)
        out.pop("self")
        return out

    def normalize(self, args: dict, where: str = "") -> dict:
        """Check every argument against its kind; returns the trace form. ``where`` prefixes errors."""
        known = {p.name for p in self.params}
        for extra in sorted(set(args) - known):
            raise self.unknown_argument(extra, where)
        out = {}
        for p in self.params:
            if p.name not in args and p.default is REQUIRED:
                raise ScheduleError(f"{where}{self.name}: missing argument '{p.name}'",
                                    hint=f"signature: {self.name}{self._sig_text()}")
            value = args.get(p.name, p.default)
            try:
                out[p.name] = KINDS[p.kind](value)
            except (ValueError, TypeError) as exc:
                raise ScheduleError(f"{where}{self.name}: bad argument '{p.name}': {exc}") from None
        return out

    def unknown_argument(self, name, where: str = "") -> ScheduleError:
        names = [p.name for p in self.params]
        close = difflib.get_close_matches(str(name), names, n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        return ScheduleError(f"{where}{self.name}: unknown argument '{name}'{guess}",
                             hint=f"signature: {self.name}{self._sig_text()}")

    def _sig_text(self):
        params = [("*" if p.variadic else "") + p.name + ("" if p.default is REQUIRED or p.variadic else
                                                          f"={p.default!r}") for p in self.params]
        return f"({', '.join(params)})"


REGISTRY: dict[str, Primitive] = {}


def did_you_mean(name) -> str:
    """`` (did you mean 'split'?)`` for a misspelt primitive name, else ''."""
    close = difflib.get_close_matches(str(name), list(REGISTRY), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def primitive(*params: Param, cleanup: bool = False):
    """Register the decorated ``fn(ctx, **args)`` as a schedule primitive named after the function."""

    def register(fn):
        name = fn.__name__.rstrip("_")
        REGISTRY[name] = Primitive(name, tuple(params), fn, inspect.cleandoc(fn.__doc__ or ""), cleanup)
        return fn

    return register


# -- running one step ---------------------------------------------------------------------------------------
class Ctx:
    """What a primitive sees: the schedule, the function names default to, and error helpers."""

    def __init__(self, sched, func: str, prim: str):
        self.sched = sched
        self.func = func
        self.prim = prim

    @property
    def module(self):
        return self.sched.module

    def error(self, arg: str, message: str, valid=None) -> ScheduleError:
        hint = None if valid is None else f"valid {arg}: {valid}"
        return ScheduleError(f"{self.prim}: argument '{arg}': {message}", hint=hint)

    def func_op(self, name: str, arg: str = "func"):
        fs = N.funcs(self.module)
        if name not in fs:
            raise self.error(arg, f"no function named '{name}'", ", ".join(fs))
        return fs[name]

    def loop(self, path: str, arg: str = "loop"):
        func, rest = N.split_func(self.module, path, self.func)
        func_op = self.func_op(func, arg)
        found = N.match_loops(func_op, rest)
        if len(found) == 1:
            return found[0]
        existing = ", ".join(N.qualified(lp) for lp in N.loops_of(func_op)) or "(none)"
        if not found:
            raise self.error(arg, f"no loop '{rest}' in function '{func}'", existing)
        raise self.error(arg, f"loop name '{rest}' is ambiguous in function '{func}' "
                              f"({len(found)} loops); qualify it with its band",
                         ", ".join(N.qualified(lp) for lp in found))

    def buffer(self, path: str, arg: str = "buffer") -> N.Buffer:
        func, name = N.split_func(self.module, path, self.func)
        bufs = N.buffers_of(self.func_op(func, arg), func)
        if name not in bufs:
            raise self.error(arg, f"no buffer '{name}' in function '{func}'", ", ".join(bufs) or "(none)")
        return bufs[name]

    def loop_handle(self, loop) -> N.LoopHandle:
        func = func_name_of(loop)
        return N.LoopHandle(("" if func == self.sched.top else f"{func}:") + N.qualified(loop))

    def buffer_handle(self, buf: N.Buffer) -> N.BufferHandle:
        return N.BufferHandle(N.buffer_path(buf, self.sched.top), buf.shape, str(buf.type.element_type))


def func_name_of(op) -> str:
    cur = op
    while cur.name != "func.func":
        cur = cur.parent.operation
    return ir.StringAttr(cur.attributes["sym_name"]).value


_CLEANUP = "builtin.module(func.func(canonicalize))"


def snapshot(sched) -> ir.Operation:
    """A detached copy of the module (an in-memory clone: a small fraction of the cost of printing it)."""
    with sched.context:
        return sched.module.operation.clone()


def restore(sched, copy: ir.Operation):
    """Make the schedule's module the ``snapshot`` ``copy`` (which it consumes): exactly the module as it was,
    in memory, so a refused step changes nothing, not even how the module prints."""
    with sched.context:
        module = ir.Module.create(copy.location)
        for key in [a.name for a in copy.attributes]:
            module.operation.attributes[key] = copy.attributes[key]
        for op in list(copy.regions[0].blocks[0].operations):
            module.body.append(op.operation)
        copy.erase()
        sched.module = module


def apply(sched, name: str, args: dict, func: str | None = None, where: str = "", record: bool = True):
    """Run primitive ``name`` with ``args`` (already bound by parameter name) on ``sched``; atomic."""
    if name not in REGISTRY:
        raise ScheduleError(f"{where}unknown primitive '{name}'{did_you_mean(name)}",
                            hint=f"primitives: {', '.join(REGISTRY)}")
    prim = REGISTRY[name]
    norm = prim.normalize(args, where)
    before = snapshot(sched)
    try:
        with sched.context, ir.Location.unknown():
            result = prim.fn(Ctx(sched, func or sched.top, name), **norm)
            if prim.cleanup:
                PassManager.parse(_CLEANUP).run(sched.module.operation)
            sched.module.operation.verify()
    except ScheduleError as exc:
        restore(sched, before)
        if where:
            exc.message = where + exc.message
            exc.args = (exc._render(),)
        raise
    except Exception as exc:  # an IR rewrite went wrong: keep the schedule usable and say so
        import os, traceback
        if os.environ.get("DSL_SCHEDULE_DEBUG"):
            traceback.print_exc()
        restore(sched, before)
        raise ScheduleError(f"{where}{name}: could not be applied ({type(exc).__name__}: {exc})".strip()) from exc
    except BaseException:  # Ctrl-C in the middle of a rewrite: the schedule stays as it was
        restore(sched, before)
        raise
    before.erase()
    if record:
        sched.trace.append({"primitive": name, "args": norm})
    return result
