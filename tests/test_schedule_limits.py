"""Limits lifted in the schedule primitives: directives survive split, generated copy loops are addressable,
reorder checks dependences, replay after a refused step is byte-identical, reuse_at emits no affine.if."""
import numpy as np
import pytest

import dsl

from .test_schedule_primitives import INPUTS, conv, gemm
from .test_schedule_properties import wave


def _text(s):
    return s.module.operation.get_asm(enable_debug_info=True)


def test_split_moves_pipeline_and_unroll_to_the_inner_loop():
    s = dsl.customize(gemm)
    s.pipeline("j", initiation_interval=2, rewind=True)
    s.unroll("j", 2)
    s.split("j", 5)
    band = s.get_loops()["S_i_j_k_0"]
    assert band["j.inner"].info.endswith("[pipeline II=2, unroll 2, rewind]")
    assert "[" not in band["j.outer"].info
    args = INPUTS[gemm]()
    np.testing.assert_array_equal(s.build()(*args), dsl.customize(gemm).build()(*args))


def test_buffer_at_copy_loops_have_unique_addressable_names():
    s = dsl.customize(gemm)
    first = s.buffer_at(s.C, "i")
    second = s.buffer_at(s.C, "i")
    assert (first.name, second.name) == ("C_buf", "C_buf_1")
    loops = s.get_loops()["S_i_j_k_0"]
    assert {"C_buf_init_0", "C_buf_back_0", "C_buf_1_init_0", "C_buf_1_back_0"} <= set(loops)
    s.pipeline("C_buf_init_0")
    s.unroll("C_buf_back_0", 0)
    assert "pipeline II=1" in s.get_loops()["S_i_j_k_0"]["C_buf_init_0"].info


def test_reuse_at_copy_loops_are_named_by_role_and_guard_is_scf_if():
    s = dsl.customize(conv)
    s.reuse_at(s.A, "y")
    assert {"A_reuse_y_fill_0", "A_reuse_y_shift_0", "A_reuse_y_load_0"} <= set(s.get_loops()["S_y_x_r_c_0"])
    assert "affine.if" not in str(s) and "scf.if" in str(s)  # dsl/IR.md: affine.if is never produced
    s.pipeline("A_reuse_y_shift_1")


def test_reorder_refuses_a_reversed_dependence_and_keeps_legal_ones():
    s = dsl.customize(wave)
    with pytest.raises(dsl.ScheduleError, match=r"reverse a dependence through buffer 'B'.*'i': 1, 'j': -1"):
        s.reorder("j", "i")
    g = dsl.customize(gemm)
    g.split("i", 4)
    g.reorder(["k", "i.outer", "j", "i.inner"])  # a list works too; the reduction loop may move out
    g.reorder(loops=["j", "k"])
    args = INPUTS[gemm]()
    np.testing.assert_array_equal(g.build()(*args), dsl.customize(gemm).build()(*args))


def test_replay_is_byte_identical_after_a_refused_step():
    s = dsl.customize(conv)
    s.fuse("y", "x")
    with pytest.raises(dsl.ScheduleError):
        s.reorder("S_B_init:i0", "S_y_x_r_c_0:r")  # refused: restores the module from its copy
    s.split("r", 2)
    replay = dsl.customize(conv, schedule=s.to_yaml())
    assert _text(replay) == _text(s)


def test_an_interrupted_step_leaves_the_schedule_as_it_was(monkeypatch):
    """Ctrl-C in the middle of a rewrite (after the IR changed): the module and the trace are restored."""
    from dsl.schedule import registry as R

    s = dsl.customize(conv)
    s.fuse("y", "x")
    before, trace = _text(s), list(s.trace)
    split = R.REGISTRY["split"]

    def interrupted(ctx, **args):
        split.fn(ctx, **args)
        raise KeyboardInterrupt

    monkeypatch.setitem(R.REGISTRY, "split", R.Primitive("split", split.params, interrupted, split.doc, split.cleanup))
    with pytest.raises(KeyboardInterrupt):
        s.split("r", 2)
    assert _text(s) == before and s.trace == trace
    monkeypatch.undo()
    s.split("r", 2)
    assert _text(dsl.customize(conv, schedule=s.to_yaml())) == _text(s)


def _scaled(A: dsl.int32[10, 7]) -> dsl.int32[10, 7]:
    B: dsl.int32[10, 7] = 0
    for i, j in dsl.grid(10, 7):
        B[i, j] = A[i, j] * 2 + i  # `i` used as a value, not only as an index
    return B


def test_a_guarded_loop_splits_again_and_reorders_past_a_value_use():
    A = np.arange(70, dtype=np.int32).reshape(10, 7)
    expected = A * 2 + np.arange(10, dtype=np.int32)[:, None]
    s = dsl.customize(_scaled)
    s.split("i", 3)                       # i.inner runs min(3, 10 - 3 * i.outer) times
    s.split("i.inner", 2)                 # a guarded loop can be split again
    s.reorder("i.outer", "j", "i.inner.outer", "i.inner.inner")  # still one perfect band
    assert [lp for lp in s.get_loops()["S_i_j_0"]] == ["i.outer", "j", "i.inner.outer", "i.inner.inner"]
    np.testing.assert_array_equal(s.build()(A), expected)
    replay = dsl.customize(_scaled, schedule=s.to_yaml())
    assert _text(replay) == _text(s)


def _int_total(A: dsl.int8[6, 5]) -> dsl.int8[2]:
    s: dsl.int8[2] = 0
    for i, j in dsl.grid(6, 5):
        s[0] += A[i, j] * 3   # wraps at 8 bits: still exact in any order
        s[1] -= A[i, j]
    return s


def _float_total(A: dsl.float32[6, 5]) -> dsl.float32[1]:
    s: dsl.float32[1] = 0.0
    for i, j in dsl.grid(6, 5):
        s[0] += A[i, j]
    return s


def _horner(A: dsl.int32[6, 5]) -> dsl.int32[1]:
    s: dsl.int32[1] = 0
    for i, j in dsl.grid(6, 5):
        s[0] = s[0] * 3 + A[i, j]   # the order of the terms matters
    return s


def test_reorder_accepts_integer_accumulations_and_refuses_the_rest():
    rng = np.random.default_rng(5)
    A = rng.integers(-128, 128, (6, 5)).astype(np.int8)
    s = dsl.customize(_int_total)
    s.reorder("j", "i")
    np.testing.assert_array_equal(s.build()(A), dsl.customize(_int_total).build()(A))
    for kernel, buffer in ((_float_total, "s"), (_horner, "s")):
        with pytest.raises(dsl.ScheduleError, match=f"reverse a dependence through buffer '{buffer}'"):
            dsl.customize(kernel).reorder("j", "i")


def _row_sum(R: dsl.int32[8]) -> dsl.int32:
    t: dsl.int32 = 0
    for j in range(8):
        t += R[j]
    return t


def _row_sums(A: dsl.int32[4, 8]) -> dsl.int32[4]:
    T: dsl.int32[4, 8] = 0
    out: dsl.int32[4] = 0
    for i, j in dsl.grid(4, 8):
        T[i, j] = A[i, j] * 2
    for i in range(4):
        out[i] = _row_sum(T[i])   # a row view of T: T's second dimension is R's first
    return out


def _signature_line(s, func):
    return next(line for line in str(s.module).splitlines() if f"func.func private @{func}(" in line)


@pytest.mark.parametrize("kind, dim, on_T, on_R", [
    ("cyclic", 2, '[["cyclic", 2, 4]]', '[["cyclic", 1, 4]]'),
    ("cyclic", 1, '[["cyclic", 1, 4]]', None),             # rows are not in the view
    ("complete", 0, '[["complete", 0, 0]]', '[["complete", 1, 0]]'),
])
def test_partition_follows_a_buffer_through_a_view_into_the_callee(kind, dim, on_T, on_R):
    s = dsl.customize(_row_sums)
    s.partition(s.T, getattr(dsl.Partition, kind.capitalize()), dim=dim, factor=4 if kind != "complete" else 0)
    assert f"dsl.partition = {on_T}" in str(s.module)
    callee_line = _signature_line(s, "_row_sum")
    assert (f"dsl.partition = {on_R}" in callee_line) if on_R else ("dsl.partition" not in callee_line)
    code = str(dsl.build(s, target="vhls"))
    callee = code[code.index("_row_sum(int32_t R[8]) {"):code.index("}")]
    assert ("array_partition variable=R" in callee) == (on_R is not None)
    A = np.arange(32, dtype=np.int32).reshape(4, 8)
    np.testing.assert_array_equal(s.build()(A), (2 * A).sum(axis=1))
    assert str(dsl.customize(_row_sums, schedule=s.to_yaml()).module) == str(s.module)


def test_partition_of_a_view_argument_reaches_the_buffer_behind_it():
    s = dsl.customize(_row_sums)
    s.partition("_row_sum:R", dsl.Partition.Cyclic, dim=1, factor=2)
    assert 'dsl.partition = [["cyclic", 2, 2]]' in str(s.module)  # on T, its second dimension
