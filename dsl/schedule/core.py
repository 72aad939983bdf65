"""The Schedule object returned by ``dsl.customize``: an MLIR module plus the trace of primitives applied."""
from __future__ import annotations

from mlir import ir


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

    def build(self, target: str = "llvm", **options):
        from ..build import build

        return build(self, target=target, **options)


def find_func(module: ir.Module, name: str):
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            return op
    raise KeyError(name)
