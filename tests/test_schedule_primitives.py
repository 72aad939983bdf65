"""Every schedule primitive: CPU results before == after on random inputs, YAML round trip, misuse errors."""
import numpy as np
import pytest

import dsl
from dsl import int32
from dsl.schedule import Partition

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.integers(-20, 20, shape).astype(np.int32)


def gemm(A: int32[10, 7], B: int32[7, 12]) -> int32[10, 12]:
    C: int32[10, 12] = 0
    for i, j in dsl.grid(10, 12):
        for k in dsl.reduction(7):
            C[i, j] += A[i, k] * B[k, j]
    return C


def tri(A: int32[9, 9]) -> int32[9, 9]:
    B: int32[9, 9] = 0
    for i in range(9):
        B[i, 0] = A[i, 0]  # imperfect nest: a statement before the inner loop
        for j in range(i, 9):  # triangular
            B[i, j] = A[i, j] + B[i, 0] * i
    return B


def conv(A: int32[8, 9], W: int32[3, 3]) -> int32[6, 7]:
    B: int32[6, 7] = 0
    for y, x in dsl.grid(6, 7):
        for r, c in dsl.reduction(3, 3):
            B[y, x] += A[y + r, x + c] * W[r, c]
    return B


def prod_cons(A: int32[8, 6]) -> int32[8, 6]:
    B: int32[8, 6] = 0
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        B[i, j] = A[i, j] + 1
    for i, j in dsl.grid(8, 6):
        C[i, j] = B[i, j] * 2
    return C


def local(A: int32[4, 6]) -> int32[4, 6]:
    T: int32[4, 6] = 0
    C: int32[4, 6] = 0
    for i, j in dsl.grid(4, 6):
        T[i, j] = A[i, j] * 3
    for i, j in dsl.grid(4, 6):
        C[i, j] = T[i, j] - A[i, j]
    return C


def add1(X: int32[4, 4]) -> int32[4, 4]:
    Y: int32[4, 4] = 0
    for i, j in dsl.grid(4, 4):
        Y[i, j] = X[i, j] + 1
    return Y


def two(X: int32[4, 4]) -> int32[4, 4]:
    T = add1(X)
    return add1(T)


def pe(A: int32[2, 3, 5]) -> int32[2, 3]:
    B: int32[2, 3] = 0
    for i, j in dsl.grid(2, 3, name="PE"):
        for k in range(5):
            B[i, j] += A[i, j, k]
    return B


INPUTS = {gemm: lambda: [rand(10, 7), rand(7, 12)], tri: lambda: [rand(9, 9)], conv: lambda: [rand(8, 9), rand(3, 3)],
          prod_cons: lambda: [rand(8, 6)], local: lambda: [rand(4, 6)], two: lambda: [rand(4, 4)],
          pe: lambda: [rand(2, 3, 5)]}

# (kernel, steps applied through the Python methods)
CASES = {
    "split": (gemm, lambda s: s.split("i", 4)),
    "split_divisible": (gemm, lambda s: s.split("j", 4)),
    "split_triangular": (tri, lambda s: s.split("j", 4)),
    "split_imperfect_outer": (tri, lambda s: s.split("i", 2)),
    "reorder": (gemm, lambda s: s.reorder("k", "j", "i")),
    "reorder_after_split": (gemm, lambda s: (s.split("i", 3), s.reorder("i.outer", "j", "i.inner"))),
    "fuse": (gemm, lambda s: s.fuse("i", "j")),
    "fuse_three": (gemm, lambda s: s.fuse("i", "j", "k")),
    "unroll": (gemm, lambda s: s.unroll("k", 0)),
    "pipeline": (gemm, lambda s: s.pipeline("j", initiation_interval=2, rewind=True)),
    "partition": (gemm, lambda s: (s.partition(s.B, Partition.Cyclic, dim=2, factor=4),
                                   s.partition(s.A, "complete"))),
    "reshape": (local, lambda s: s.reshape(s.T, [24])),
    "reshape_3d": (local, lambda s: s.reshape(s.T, [2, 3, 4])),
    "buffer_at": (gemm, lambda s: s.buffer_at(s.C, "i")),
    "buffer_at_scalar": (gemm, lambda s: s.buffer_at(s.C, "S_i_j_k_0:j")),
    "reuse_at": (conv, lambda s: s.reuse_at(s.A, "y")),
    "reuse_at_chain": (conv, lambda s: s.reuse_at(s.reuse_at(s.A, "y"), "x")),
    "compute_at": (prod_cons, lambda s: s.compute_at("S_i_j_0:j", "S_i_j_1:j")),
    "compute_at_outer": (prod_cons, lambda s: s.compute_at("S_i_j_0:i", "S_i_j_1:i")),
    "to": (two, lambda s: s.to(s.T, "add1", depth=4)),
    "dataflow": (two, lambda s: (s.dataflow("two"), s.dataflow("add1:S_i_j_0"))),
    "inline": (two, lambda s: s.inline("add1")),
    "unfold": (pe, lambda s: s.unfold("PE", ["i", "j"])),
    "compose": (two, lambda s: s.compose(_sub())),
    "compose_ids": (two, lambda s: (s.compose(_sub(), id="0"), s.compose(_sub2(), id="1"))),
}


def _sub():
    sub = dsl.customize(add1)
    sub.split("i", 3)
    sub.pipeline("j")
    return sub


def _sub2():
    sub = dsl.customize(add1)
    sub.unfold("S_i_j_0", ["i"])
    return sub


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_unchanged_and_yaml_round_trip(case, tmp_path):
    kernel, steps = CASES[kernel_case := case]
    s = dsl.customize(kernel)
    args = INPUTS[kernel]()
    before = s.build()(*args)
    steps(s)
    assert s.trace, kernel_case
    np.testing.assert_array_equal(s.build()(*args), before)
    path = s.save(tmp_path / "sched.yaml")
    s2 = dsl.customize(kernel, schedule=str(path))
    assert s2.trace == s.trace
    assert s2.module.operation.get_asm(enable_debug_info=True) == s.module.operation.get_asm(enable_debug_info=True)


def test_split_shapes_the_loops():
    s = dsl.customize(gemm)
    outer, inner = s.split("i", 4)
    loops = s.get_loops()["S_i_j_k_0"]
    assert {"i.outer", "i.inner", "j", "k"} <= set(loops)
    assert str(outer) == "S_i_j_k_0:i.outer" and "min" in str(s)


def test_directives_are_recorded():
    s = dsl.customize(gemm)
    s.pipeline("j")
    s.unroll("k", 2)
    s.partition(s.B, Partition.Block, dim=1, factor=7)
    text = str(s)
    assert "dsl.pipeline_ii = 1 : i32" in text and "dsl.unroll = 2 : i32" in text
    assert '[["block", 1, 7]]' in text


def test_partition_follows_buffer_into_callee():
    s = dsl.customize(two)
    s.partition(s.T, Partition.Cyclic, dim=1, factor=2)
    assert str(s).count('dsl.partition = [["cyclic", 1, 2]]') >= 3  # the alloc and both callee arguments


def test_compute_at_removes_intermediate():
    s = dsl.customize(prod_cons)
    s.compute_at("S_i_j_0:j", "S_i_j_1:j")
    assert '"B"' not in str(s)


def test_unfold_names_copies():
    s = dsl.customize(pe)
    s.unfold("PE", ["i", "j"])
    assert {f"PE_{i}_{j}" for i in range(2) for j in range(3)} <= set(s.get_loops())


def test_loop_tree_prints():
    text = str(dsl.customize(gemm).get_loops())
    assert "S_i_j_k_0" in text and "k  0..7  [reduction]" in text


# -- misuse ----------------------------------------------------------------------------------------------------
NEGATIVE = [
    (gemm, lambda s: s.split("q", 4), "no loop 'q'", "S_i_j_k_0:i"),
    (gemm, lambda s: s.split("i", 0), "bad argument 'factor'", None),
    (tri, lambda s: s.reorder("i", "S_j_1:j"), "not perfectly nested", None),
    (tri, lambda s: s.reorder("i", "S_B_init:i1"), "not nested in one another", None),
    (gemm, lambda s: s.fuse("j", "i"), "consecutive", None),
    (gemm, lambda s: s.partition(s.B, Partition.Cyclic, dim=3, factor=2), "out of range", "1..2"),
    (gemm, lambda s: s.partition(s.B, "diagonal"), "bad argument 'kind'", None),
    (gemm, lambda s: s.partition(s.B, Partition.Cyclic, dim=1), "needs a factor", None),
    (local, lambda s: s.reshape(s.T, [5, 5]), "has 25 elements", None),
    (gemm, lambda s: s.reshape(s.A, [70]), "function argument", None),
    (gemm, lambda s: s.buffer_at(s.Z, "i"), None, None),
    (gemm, lambda s: s.buffer_at("Z", "i"), "no buffer 'Z'", "A, B, C"),
    (conv, lambda s: s.reuse_at(s.W, "y"), "not a sliding window", None),
    (conv, lambda s: s.reuse_at(s.B, "y"), "written inside the loop", None),
    (prod_cons, lambda s: s.compute_at("S_i_j_0:j", "S_i_j_1:i"), "depth", None),
    (gemm, lambda s: s.compute_at("S_C_init:i1", "S_i_j_k_0:k"), "depth", None),
    (two, lambda s: s.to(s.T, "two"), "not passed to a call", "add1"),
    (two, lambda s: s.inline("two"), "cannot be inlined", None),
    (pe, lambda s: s.unfold("PE", ["j", "i"]), "outermost first", None),
    (two, lambda s: s.compose(_sub(), id="7"), "instance id '7'", "0, 1"),
]


@pytest.mark.parametrize("n", range(len(NEGATIVE)))
def test_misuse_raises_and_leaves_schedule_unchanged(n):
    kernel, call, message, valid = NEGATIVE[n]
    s = dsl.customize(kernel)
    band = next(iter(s.get_loops().values()), None)
    if band:  # some prior state that the failed primitive must preserve
        s.pipeline(next(iter(band.values())))
    before, trace = str(s), list(s.trace)
    with pytest.raises(dsl.ScheduleError) as err:
        call(s)
    if message:
        assert message in str(err.value)
    if valid:
        assert valid in str(err.value)
    assert str(s) == before and s.trace == trace


def pc_bounds(A: int32[8, 6]) -> int32[8, 6]:
    B: int32[8, 6] = 0
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        B[i, j] = A[i, j] + 1
    for i, j in dsl.grid(8, 3):
        C[i, j] = B[i, j] * 2
    return C


def pc_reversed(A: int32[8, 6]) -> int32[8, 6]:
    B: int32[8, 6] = 0
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        B[i, j] = A[i, j] + 1
    for i, j in dsl.grid(8, 6):
        C[i, j] = B[7 - i, j]
    return C


def test_compute_at_incompatible_bounds():
    s = dsl.customize(pc_bounds)
    with pytest.raises(dsl.ScheduleError, match="incompatible bounds"):
        s.compute_at("S_i_j_0:j", "S_i_j_1:j")


def test_compute_at_illegal_dependence():
    s = dsl.customize(pc_reversed)
    with pytest.raises(dsl.ScheduleError, match="would change the result"):
        s.compute_at("S_i_j_0:i", "S_i_j_1:i")
