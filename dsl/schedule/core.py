"""The Schedule object returned by ``dsl.customize``: an MLIR module plus the trace of primitives applied.

Every primitive in ``registry.REGISTRY`` becomes a method (``s.split(...)``); each call rewrites the module
at once, verifies it and appends a step to ``s.trace``. ``s.save(path)`` writes the trace as YAML and
``s.apply_schedule(path)`` replays one (``dsl.customize(fn, schedule=path)`` calls it).
"""
from __future__ import annotations

import os

from mlir import ir

from ..errors import ScheduleError, UnknownBufferError, user_facing
from . import names as N
from . import registry as R
from . import yaml_io


class Schedule:
    """A kernel's MLIR module (owned, with its own ``ir.Context``) and the primitives applied to it.

    ``print(s)`` shows the current MLIR; ``s.build(target=...)`` hands it to a backend.
    """

    def __init__(self, module: ir.Module, top: str, context: ir.Context, kernel=None, instantiate=None):
        self.module = module
        self.top = top
        self.context = context
        self.kernel = kernel
        self.instantiate = instantiate
        self.trace: list = []

    @property
    def top_func(self):
        return find_func(self.module, self.top)

    def __str__(self) -> str:
        return str(self.module)

    def __repr__(self) -> str:
        return f"<dsl.Schedule of {self.top!r}, {len(self.trace)} primitive(s)>"

    def _repr_html_(self) -> str:
        """Jupyter: the primitives applied, the loop tree with its directives, the MLIR folded."""
        from ..notebook import details, esc, pre, table, view

        parts = [f"<h3>Schedule of {esc(self.top)}</h3>"]
        if self.trace:
            parts.append(table(["#", "primitive", "arguments"], [
                [k + 1, step["primitive"], ", ".join(f"{a}={v}" for a, v in step["args"].items())]
                for k, step in enumerate(self.trace)]))
        else:
            parts.append('<p class="dsl-muted">no primitive applied yet</p>')
        parts += self._view_parts()
        parts.append(details("MLIR", pre(str(self))))
        return view("".join(parts))

    def _view_parts(self) -> list:
        return [self.get_loops()._tree_html()]

    def build(self, target: str | None = None, **options):
        from ..build import build

        return build(self, target=target, **options)

    def estimate(self, device: str = "u280", clock_mhz: float = 300, **options):
        """What Vitis HLS will make of this schedule: ``dsl.estimate(self, device, clock_mhz, ...)``."""
        from ..qor import estimate

        return estimate(self, device=device, clock_mhz=clock_mhz, **options)

    # -- handles --------------------------------------------------------------------------------------
    @user_facing
    def __getattr__(self, name):
        if name.startswith("_") or name in ("module", "top", "context", "trace", "kernel", "instantiate", "estimate"):
            raise AttributeError(name)
        with self.context:
            bufs = N.buffers_of(self.top_func, self.top)
        if name not in bufs:
            guess = R.did_you_mean(name)
            if guess:
                raise UnknownBufferError(f"no primitive '{name}'{guess}, and {self.top!r} has no buffer named "
                                         f"{name!r}", hint=f"buffers: {', '.join(bufs) or '(none)'}; "
                                                           f"primitives: {', '.join(R.REGISTRY)}")
            raise UnknownBufferError(f"{self.top!r} has no buffer (argument or local tensor) named {name!r}; "
                                     f"buffers: {', '.join(bufs) or '(none)'}")
        return _handle(bufs[name], self.top)

    @user_facing
    def __getitem__(self, path: str) -> N.BufferHandle:
        """A buffer handle by ``"name"`` or ``"func:name"``."""
        if isinstance(path, N.BufferHandle):
            path = path.path
        if not isinstance(path, str) or not path:
            raise ScheduleError(f"s[...] takes a buffer name such as 'B' or 'func:B', got {path!r}")
        with self.context:
            buf = R.Ctx(self, self.top, "buffer").buffer(path, "name")
        return _handle(buf, self.top)

    @user_facing
    def get_loops(self, func=None) -> N.LoopTree:
        """Loop handles of ``func`` (default: the top function) by band and loop name, printable as a tree:
        ``s.get_loops()["S_i_j_0"]["j"]``."""
        name = self.top if func is None else R.KINDS["func"](func)
        with self.context:
            func_op = R.Ctx(self, self.top, "get_loops").func_op(name)
            return N.loop_tree(func_op, name, "" if name == self.top else f"{name}:")

    # -- schedule files -------------------------------------------------------------------------------
    def to_yaml(self) -> str:
        return yaml_io.dump(self.top, self.trace)

    @user_facing
    def save(self, path) -> str:
        """Write the recorded steps to ``path`` as YAML (creating its folder); returns the path."""
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ScheduleError(f"save() takes a file path such as 'schedules/{self.top}.yaml', got {path!r}")
        if os.path.isdir(path):
            raise ScheduleError(f"cannot save the schedule to {os.fspath(path)!r}: it is a folder",
                                hint=f"name a file in it, e.g. {os.path.join(os.fspath(path), self.top + '.yaml')!r}")
        folder = os.path.dirname(os.fspath(path))
        try:
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.to_yaml())
        except OSError as exc:
            raise ScheduleError(f"cannot save the schedule to {os.fspath(path)!r}: {exc.strerror}") from None
        return os.fspath(path)

    @user_facing
    def apply_schedule(self, source) -> "Schedule":
        """Replay a schedule: a YAML file path, YAML text, or a list of ``{primitive, args}`` steps."""
        if isinstance(source, (list, tuple)):
            steps, where = [yaml_io._step(s, i + 1, "<steps>") for i, s in enumerate(source)], "<steps>"
        else:
            text, where = _read(source)
            data = yaml_io.parse(text, where)
            if data["kernel"] not in (None, self.top):
                raise ScheduleError(f"{where}: schedule is for kernel {data['kernel']!r}, not {self.top!r}")
            steps = data["steps"]
        return self.apply_trace(steps, where)

    def apply_trace(self, steps: list, where: str = "<steps>") -> "Schedule":
        for number, step in enumerate(steps, start=1):
            name = step["primitive"]
            R.apply(self, name, step["args"], where=f"{where}: step {number} ({name}): ")
        return self

    @classmethod
    def primitives(cls) -> dict:
        """The registry: primitive name -> entry (parameters, docstring)."""
        return dict(R.REGISTRY)


def _handle(buf: N.Buffer, top: str) -> N.BufferHandle:
    return N.BufferHandle(N.buffer_path(buf, top), buf.shape, str(buf.type.element_type))


def _read(source):
    """(text, where) of a schedule given as a file path or as YAML text. A one-line string is a path (YAML text
    of a schedule spans lines, or is one flow mapping ``{...}``), whatever its extension."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                           and not source.lstrip().startswith("{")):
        path = os.fspath(source)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read(), path
        except UnicodeDecodeError as exc:
            raise ScheduleError(f"cannot read schedule file {path!r}: it is not UTF-8 text (byte "
                                f"0x{exc.object[exc.start]:02x} at offset {exc.start}); a schedule file is YAML "
                                "as s.save() writes it") from None
        except OSError as exc:
            hint = None if path.endswith((".yaml", ".yml")) else "a schedule is a .yaml file path or YAML text"
            raise ScheduleError(f"cannot read schedule file {path!r}: {exc.strerror}", hint=hint) from None
    if isinstance(source, str):
        return source, "<schedule>"
    raise ScheduleError(f"a schedule is a YAML path, YAML text or a list of steps, got {type(source).__name__}")


def _make_method(prim: R.Primitive):
    def method(self, *args, **kwargs):
        return R.apply(self, prim.name, prim.bind(args, kwargs))

    method.__name__ = prim.name
    method.__qualname__ = f"Schedule.{prim.name}"
    method.__doc__ = prim.doc
    method.__signature__ = prim.signature()
    return user_facing(method)


def install_primitives():
    """Make every registered primitive a Schedule method (called once the primitive modules are imported)."""
    for prim in R.REGISTRY.values():
        setattr(Schedule, prim.name, _make_method(prim))


def find_func(module: ir.Module, name: str):
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            return op
    raise KeyError(name)
