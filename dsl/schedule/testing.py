"""Test support: run a function of a schedule's module on the CPU with numpy arrays (in place).

A small stand-alone JIT so that schedule tests can compare results before and after a primitive on
hand-written MLIR, independent of the frontend and the llvm backend.
"""
from __future__ import annotations

import ctypes

import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager
from mlir.runtime import get_ranked_memref_descriptor

_LOWER = ("builtin.module(lower-affine,convert-scf-to-cf,convert-math-to-llvm,expand-strided-metadata,"
          "finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
          "reconcile-unrealized-casts)")


def run(sched, arrays: list, func: str | None = None) -> list:
    """Run ``func`` (default: the top) on copies of ``arrays`` (memref arguments); returns the copies."""
    copies = [np.ascontiguousarray(a).copy() for a in arrays]
    with sched.context:
        module = ir.Module.parse(str(sched.module))
        for op in module.body.operations:
            if op.operation.name == "func.func":
                op.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        PassManager.parse(_LOWER).run(module.operation)
        engine = ExecutionEngine(module, opt_level=0)
        ptrs = [ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(a))) for a in copies]
        engine.invoke(func or sched.top, *ptrs)
    return copies
