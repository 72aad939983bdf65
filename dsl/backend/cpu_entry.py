"""Scalar results of the top function become output buffers on the CPU path (the JIT's private copy).

MLIR returns several results as one LLVM struct, which the C interface stores through a pointer: the
caller must then know LLVM's struct layout, and LLVM's code generator takes time quadratic in the number
of fields (a kernel returning 64 scalars of wide integers took minutes to compile). Instead, each scalar
result of the top function becomes a trailing ``memref<1xT>`` argument that the function stores into
before it returns, the way returned tensors already travel (destination-passing style).
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref


def results_to_buffers(module: ir.Module, top: str) -> int:
    """Rewrite ``top``'s results into trailing one-element buffer arguments; returns how many."""
    with ir.Location.unknown():
        return _rewrite(module, top)


def _rewrite(module, top):
    fop = next(op for op in module.body.operations if op.operation.name == "func.func"
               and ir.StringAttr(op.attributes["sym_name"]).value == top)
    ftype = ir.FunctionType(ir.TypeAttr(fop.attributes["function_type"]).value)
    results = list(ftype.results)
    if not results or not fop.regions[0].blocks:
        return 0
    block = fop.regions[0].blocks[0]
    buffers = [block.add_argument(ir.MemRefType.get([1], t), fop.location) for t in results]
    returns = []

    def collect(op):
        if op.operation.name == "func.return":
            returns.append(op.operation)
        return ir.WalkResult.ADVANCE

    fop.operation.walk(collect)
    for ret in returns:
        with ret.location, ir.InsertionPoint(ret):
            zero = arith.constant(ir.IndexType.get(), 0)
            for value, buf in zip(list(ret.operands), buffers):
                memref.store(value, buf, [zero])
            func.ReturnOp([])
        ret.erase()
    inputs = list(ftype.inputs) + [b.type for b in buffers]
    fop.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, []))
    if "arg_attrs" in fop.attributes:
        attrs = list(ir.ArrayAttr(fop.attributes["arg_attrs"]))
        fop.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs + [ir.DictAttr.get({})] * len(buffers))
    return len(buffers)
