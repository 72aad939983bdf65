"""``dsl.build(s, check_bounds=True)``: every memory access of the CPU build checks its indices.

Compiled kernels index memory as C does: an index out of range reads or corrupts whatever lies there and may
crash the Python process. With bounds checking, each ``memref.load``/``memref.store`` (after ``lower-affine``)
runs only when every index is within the buffer's extent; otherwise the access is skipped (a load gives 0)
and the kernel calls back into Python with the number of the access. The call raises ``dsl.BuildError``
naming the Python line, the buffer and its shape once the kernel returns. It costs time in inner loops,
so it is a debugging switch, off by default.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import arith, func, scf

from ..errors import BuildError, SourceLoc
from ..frontend.narrow import walk_ops

FAIL = "dsl_bounds_fail"
CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int64)


@dataclass
class Site:
    loc: SourceLoc | None
    buffer: str
    shape: tuple
    is_store: bool


@dataclass
class BoundsChecks:
    """The checked accesses of one compiled module and the callback its code calls on a violation."""

    sites: list = field(default_factory=list)
    hits: list = field(default_factory=list)
    callback: object = None

    def __post_init__(self):
        self.callback = CALLBACK(self._fail)

    def _fail(self, site: int):
        if len(self.hits) < 16:
            self.hits.append(site)

    def raise_if_hit(self, kernel: str):
        if not self.hits:
            return
        site = self.sites[self.hits[0]]
        self.hits.clear()
        what = "a write to" if site.is_store else "a read of"
        where = "" if site.loc else " (line unknown)"
        raise BuildError(f"index out of range in kernel '{kernel}': {what} '{site.buffer}' (shape "
                         f"{list(site.shape)}){where}; the access was skipped, so the results are not valid",
                         site.loc, hint="found because check_bounds=True")


def insert_checks(module: ir.Module, checks: BoundsChecks) -> None:
    """Lower affine accesses to memref.load/store, then guard each by a bounds test."""
    from mlir.passmanager import PassManager

    from .hls.emitter import source_loc

    PassManager.parse("builtin.module(lower-affine)").run(module.operation)

    with ir.InsertionPoint(module.body), ir.Location.unknown():
        func.FuncOp(FAIL, ir.FunctionType.get([ir.IntegerType.get_signless(64)], []), visibility="private")
    for fop in [op for op in module.body.operations if op.operation.name == "func.func"]:
        names = _arg_names(fop)
        for op in list(walk_ops(fop.operation)):
            if op.name not in ("memref.load", "memref.store"):
                continue
            is_store = op.name == "memref.store"
            mem = op.operands[1 if is_store else 0]
            indices = list(op.operands)[2 if is_store else 1:]
            if not indices:
                continue
            shape = tuple(ir.MemRefType(mem.type).shape)
            checks.sites.append(Site(source_loc(op), _buffer_name(mem, names), shape, is_store))
            _guard(op, mem, indices, is_store, len(checks.sites) - 1)


def _guard(op, mem, indices, is_store, site):
    from mlir.dialects import memref

    index = ir.IndexType.get()
    with op.location, ir.InsertionPoint(op):
        ok = None
        for k, idx in enumerate(indices):
            extent = memref.DimOp(mem, arith.ConstantOp(index, k)).result
            inside = arith.CmpIOp(arith.CmpIPredicate.ult, idx, extent).result  # also rejects negatives
            ok = inside if ok is None else arith.AndIOp(ok, inside).result
        results = [] if is_store else [op.results[0].type]
        branch = scf.IfOp(ok, results, has_else=True)
        if not is_store:
            op.results[0].replace_all_uses_with(branch.results[0])
    with op.location, ir.InsertionPoint(branch.then_block):
        done = scf.YieldOp([] if is_store else [op.results[0]])
    op.move_before(done)
    with op.location, ir.InsertionPoint(branch.else_block):
        func.CallOp([], ir.FlatSymbolRefAttr.get(FAIL), [arith.ConstantOp(ir.IntegerType.get_signless(64), site)])
        scf.YieldOp([] if is_store else [_zero(op.results[0].type)])


def _zero(t):
    if isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)):
        return arith.ConstantOp(t, ir.FloatAttr.get(t, 0.0)).result
    return arith.ConstantOp(t, ir.IntegerAttr.get(t, 0)).result


def _arg_names(fop) -> list:
    if "dsl.arg_names" not in fop.attributes:
        return []
    return [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]


def _buffer_name(mem, names) -> str:
    """The Python name of the buffer an access reads: a kernel argument, a local, or what a view shows."""
    while True:
        owner = mem.owner
        if isinstance(owner, ir.Block):
            number = ir.BlockArgument(mem).arg_number
            is_arg = owner.owner.operation.name == "func.func" and number < len(names)
            return names[number] if is_arg else "a buffer"
        op = owner.operation if hasattr(owner, "operation") else owner
        if op.name in ("memref.subview", "memref.reinterpret_cast", "memref.cast"):
            mem = op.operands[0]
            continue
        return ir.StringAttr(op.attributes["dsl.name"]).value if "dsl.name" in op.attributes else "a buffer"
