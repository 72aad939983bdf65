"""The CPU path's ``noalias`` on buffer arguments of private functions (``cpu_noalias``) and the inlining of
functions the schedule inlines: given only where every call passes buffers that cannot share memory, results
the same bits, and the schedule's module untouched.

Regression: the float PE step guarded each of its 16 vectorised rows with run-time overlap checks of its
three buffers and stayed a call per k step (linear2d at BERT-base: 25-43 ms of CPU time, now 11-16 ms)."""
from __future__ import annotations

import numpy as np
from mlir import ir

from dsl import float32
import dsl
from dsl.backend import cpu_noalias, cpu_opt
from dsl.frontend.narrow import walk_ops
from dsl.library import nn, ref, scheduled

RNG = np.random.default_rng(11)


def _plan(schedule) -> dict:
    with schedule.context:
        module = ir.Module.parse(str(schedule.module))
        cpu_opt.optimize_for_cpu(module)
        return {name: sorted(distinct) for name, (_, distinct) in cpu_noalias.distinct_arguments(module).items()}


def _noalias_pointers(mod, func: str) -> int:
    for op in walk_ops(mod.module.operation):
        if op.name == "llvm.func" and ir.StringAttr(op.attributes["sym_name"]).value == func:
            return str(op).splitlines()[0].split(") attributes")[0].count("llvm.noalias")
    raise AssertionError(func)


def add_row(a: float32[16], c: float32[16]):
    for j in range(16, name="add"):
        c[j] = c[j] + a[j]


def distinct_rows(M: float32[2, 16]) -> float32[2, 16]:
    Z: float32[2, 16] = 1.0
    add_row(M[0], Z[0])
    add_row(M[1], Z[1])
    return Z


def same_row_twice(M: float32[2, 16]) -> float32[2, 16]:
    Z: float32[2, 16] = 0.0
    for i, j in dsl.grid(2, 16, name="copy"):
        Z[i, j] = M[i, j]
    add_row(Z[0], Z[0])
    add_row(Z[0], Z[1])   # two rows of one buffer: not proven distinct either
    return Z


def once_distinct_once_not(M: float32[2, 16]) -> float32[2, 16]:
    Z: float32[2, 16] = 0.0
    for i, j in dsl.grid(2, 16, name="copy"):
        Z[i, j] = M[i, j]
    add_row(M[0], Z[1])
    add_row(Z[1], Z[1])
    return Z


def test_the_pe_step_and_tile_buffers_are_distinct_and_results_keep_their_bits():
    inst = [float32, float32, float32, 32, 48, 40]
    s = scheduled(nn.linear2d, inst)
    plan = _plan(s)
    assert plan["pe_step"] == [0, 1, 2] and plan["tile"] == [0, 1, 2]   # At[k], Bt[k], C: three allocations
    before = str(s.module)
    mod = s.build()
    # allocated and aligned pointer of each buffer (of the tile: the JIT inlines the PE step into the tile's
    # k loop, cpu_regblock, so no call of pe_step is left to mark)
    assert _noalias_pointers(mod, "tile") == 6
    assert str(s.module) == before
    X, W, b = (RNG.standard_normal(shape).astype(np.float32) for shape in ((32, 40), (48, 40), (48,)))
    assert np.array_equal(mod(X, W, b).view(np.int32), ref.linear2d(X, W, b).view(np.int32))


def test_a_top_argument_and_an_allocation_are_distinct():
    s = dsl.customize(distinct_rows)
    assert _plan(s) == {"add_row": [0, 1]}
    M = RNG.standard_normal((2, 16)).astype(np.float32)
    assert np.array_equal(s.build()(M), M + np.float32(1.0))


def test_views_of_one_buffer_are_never_marked_and_compute_as_written():
    for kernel in (same_row_twice, once_distinct_once_not):
        assert _plan(dsl.customize(kernel)) == {}, kernel.__name__
    M = RNG.standard_normal((2, 16)).astype(np.float32)
    got = dsl.customize(same_row_twice).build()(M)
    row0 = M[0] + M[0]
    assert np.array_equal(got, np.stack([row0, M[1] + row0]))
    got = dsl.customize(once_distinct_once_not).build()(M)
    row1 = M[1] + M[0]
    assert np.array_equal(got, np.stack([M[0], row1 + row1]))


def test_functions_the_schedule_inlines_are_always_inlined_by_llvm():
    s = scheduled(nn.linear2d, [float32, float32, float32, 32, 48, 40])
    with s.context:
        module = ir.Module.parse(str(s.module))
        assert cpu_opt.inline_scheduled_functions(module) >= 1
        marked = [ir.StringAttr(op.attributes["sym_name"]).value for op in module.body.operations
                  if "passthrough" in op.attributes]
    assert "pe_step" in marked and "tile" not in marked
