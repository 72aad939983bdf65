"""Schedule primitives in the forms Allo programs use them: reuse_at on diagonal/cross/strided windows, to()
between loop nests of one function, unfold by position and after buffer_at, parallel, compute_at across an
independent initialisation, reorder past private scalars, and Allo's argument names. Each is checked
before/after on the CPU, replayed from its YAML trace, and (where the HLS spelling matters) in csim."""
import numpy as np
import pytest

import dsl
from dsl import Fixed, int8, int16, int32

RNG = np.random.default_rng(13)


def _replays(kernel, s):
    assert str(dsl.customize(kernel, schedule=s.to_yaml()).module) == str(s.module)


def diagonal(A: int32[10, 10]) -> int32[8, 8]:
    B: int32[8, 8] = 0
    for y, x in dsl.grid(8, 8):
        B[y, x] = A[y, x] + A[y + 1, x + 1] + A[y + 2, x + 2]
    return B


def cross(A: int32[10, 10]) -> int32[8, 8]:
    B: int32[8, 8] = 0
    for y, x in dsl.grid(8, 8):
        B[y, x] = A[y, x + 1] + A[y + 1, x] + A[y + 1, x + 1] + A[y + 1, x + 2] + A[y + 2, x + 1]
    return B


def strided(A: int32[11, 11]) -> int32[5, 5]:
    B: int32[5, 5] = 0
    for y, x in dsl.grid(5, 5):
        v: int32 = 0
        for r, c in dsl.reduction(3, 3):
            v += A[y * 2 + r, x * 2 + c]
        B[y, x] = v
    return B


@pytest.mark.parametrize("kernel", [diagonal, cross, strided], ids=lambda k: k.__name__)
def test_reuse_at_line_then_window_buffer(kernel):
    n = 11 if kernel is strided else 10
    A = RNG.integers(0, 10, (n, n)).astype(np.int32)
    s = dsl.customize(kernel)
    before = s.build()(A)
    line = s.reuse_at(s.A, "y")
    window = s.reuse_at(line, "x")
    assert window.name == "A_reuse_y_reuse_x"
    np.testing.assert_array_equal(s.build()(A), before)
    _replays(kernel, s)
    if kernel is strided:  # the window moves by 2: the buffers hold 3 rows / 3 x 3, as for stride 1
        assert line.shape == (3, n) and window.shape == (3, 3)


def test_reuse_at_strided_window_in_csim():
    A = RNG.integers(0, 10, (11, 11)).astype(np.int32)
    s = dsl.customize(strided)
    s.reuse_at(s.reuse_at(s.A, "y"), "x")
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(A), dsl.customize(strided).build()(A))


def test_reuse_at_refuses_windows_that_share_nothing():
    def hop(A: int32[12]) -> int32[4]:
        B: int32[4] = 0
        for x in range(4):
            B[x] = A[3 * x] + A[3 * x + 1]
        return B

    with pytest.raises(dsl.ScheduleError, match="2 wide and moves by 3"):
        dsl.customize(hop).reuse_at("A", "x")


def conv(A: int32[10, 10]) -> int32[8, 8]:
    B: int32[8, 8] = 0
    for y, x in dsl.grid(8, 8):
        v: int32 = 0
        for r, c in dsl.reduction(3, 3):
            v += A[y + r, x + c]
        B[y, x] = v
    return B


def test_allo_line_and_window_buffer_schedule():
    """Allo's conv schedule: split, reorder past the private accumulator, reuse along the split loop."""
    A = RNG.integers(0, 10, (10, 10)).astype(np.int32)
    s = dsl.customize(conv)
    before = s.build()(A)
    s.split("x", 4)
    s.reorder("x.outer", "y", "x.inner")        # v is written first in every iteration: no dependence
    lb = s.reuse_at(s.A, "y")
    wb = s.reuse_at(lb, "x.inner")              # the window starts at 4 * x.outer: an outer-loop offset
    s.partition(lb, dim=2)
    s.partition(wb)
    s.pipeline("y")
    np.testing.assert_array_equal(s.build()(A), before)
    _replays(conv, s)


def test_reorder_still_refuses_a_scalar_live_after_the_nest():
    def last(A: int32[4, 4]) -> int32:
        t: int32 = 0
        for y, x in dsl.grid(4, 4):
            t = A[y, x] * (y + 1)
        return t                             # depends on which iteration runs last

    with pytest.raises(dsl.ScheduleError, match="reverse a dependence through buffer 't'"):
        dsl.customize(last).reorder("x", "y")


T = Fixed(12, 4)


def two_bands(A: T[4, 5, 6]) -> T[4, 5, 6]:
    B: T[4, 5, 6]
    for i, j, m in dsl.grid(4, 5, 6):
        B[i, j, m] = A[i, j, m] * 2
    C: T[4, 5, 6]
    for ii, jj, mm in dsl.grid(4, 5, 6, name="C"):
        C[ii, jj, mm] = B[ii, jj, mm] + 1
    return C


def test_to_between_loop_nests_of_one_function():
    A = RNG.random((4, 5, 6)) * 4
    s = dsl.customize(two_bands)
    before = s.build()(A)
    s.to(s.B, "C")
    names = [str(op.attributes["sym_name"]).strip('"') for op in s.module.body.operations]
    assert {"two_bands_S_i_j_m_0", "two_bands_C"} <= set(names)
    with s.context:
        assert "dsl.dataflow" in s.top_func.attributes
    assert "dsl.stream_depth = 120" in str(s.module)  # the default depth is the buffer's size, as in Allo
    _replays(two_bands, s)
    code = str(dsl.build(s, target="vhls"))
    assert "B.write(" in code and "B.read()" in code and "#pragma HLS dataflow" in code
    np.testing.assert_array_equal(s.build()(A), before)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(A), before)


def test_to_a_nest_that_does_not_read_the_buffer():
    def k(A: int32[4]) -> int32[4]:
        B: int32[4]
        for i in range(4):
            B[i] = A[i]
        C: int32[4]
        for i in range(4, name="other"):
            C[i] = A[i]
        return C

    with pytest.raises(dsl.ScheduleError, match="loop nest 'other' does not read 'B'"):
        dsl.customize(k).to("B", "other")
    with pytest.raises(dsl.ScheduleError, match="no kernel or loop nest named 'nowhere' reads 'B'"):
        dsl.customize(k).to("B", "nowhere")


M = N = 2


def pe_matmul(A: int32[M, 3], B: int32[3, N]) -> int32[M, N]:
    C: int32[M, N] = 0
    for i, j in dsl.grid(M, N, name="PE"):
        for k in range(3):
            C[i, j] += A[i, k] * B[k, j]
    return C


@pytest.mark.parametrize("axes, bands", [([0], ["PE_0", "PE_1"]), ([1], ["PE", "PE_0", "PE_1"]),
                                         ([0, 1], ["PE_0_0", "PE_0_1", "PE_1_0", "PE_1_1"]),
                                         (["j"], ["PE", "PE_0", "PE_1"])])
def test_unfold_by_position_or_name(axes, bands):
    A, B = RNG.integers(0, 9, (M, 3)).astype(np.int32), RNG.integers(0, 9, (3, N)).astype(np.int32)
    s = dsl.customize(pe_matmul)
    s.unfold("PE", axes)
    assert set(bands) <= set(s.get_loops())
    np.testing.assert_array_equal(s.build()(A, B), A @ B)
    _replays(pe_matmul, s)


def test_unfold_after_buffer_at():
    def gemm(A: int8[4, 4], B: int8[4, 4], C: int16[4, 4]):
        for i, j in dsl.grid(4, 4, name="PE"):
            for k in range(4):
                C[i, j] += A[i, k] * B[k, j]

    s = dsl.customize(gemm)
    s.buffer_at(s.A, "i")
    s.buffer_at(s.B, "j")
    s.unfold("PE", [0, 1])
    assert {"PE_0_0", "PE_3_3"} <= set(s.get_loops())
    A, B = RNG.integers(0, 10, (4, 4)).astype(np.int8), RNG.integers(0, 10, (4, 4)).astype(np.int8)
    C = np.zeros((4, 4), np.int16)
    s.build()(A, B, C)
    np.testing.assert_array_equal(C, A.astype(np.int16) @ B.astype(np.int16))
    assert "void gemm(" in str(dsl.build(s, target="vhls"))


def test_parallel_checks_independence():
    def k(A: int32[8], B: int32[8]) -> int32[8]:
        C: int32[8] = 0
        total: int32[1] = 0
        for i in range(8):
            C[i] = A[i] * 2
        for i in range(8):
            total[0] += A[i]                 # an integer sum: any order gives the same bits
        for i in range(7):
            B[i + 1] = B[i] + 1              # iteration i + 1 needs iteration i
        C[0] += total[0]
        return C

    s = dsl.customize(k)
    s.parallel("S_i_0:i")
    s.parallel("S_i_1:i")
    assert "parallel" in str(s.get_loops()) and "#pragma HLS unroll" in str(dsl.build(s, target="vhls"))
    with pytest.raises(dsl.ScheduleError, match="through buffer 'B' \\(distance 1"):
        s.parallel("S_i_2:i")
    A, B = np.arange(8, dtype=np.int32), np.zeros(8, np.int32)
    np.testing.assert_array_equal(s.build()(A, B), A * 2 + np.r_[A.sum(), np.zeros(7, int)])
    _replays(k, s)


def test_compute_at_across_an_independent_initialisation():
    def k(A: int32[6, 6]) -> int32[6, 6]:
        B: int32[6, 6] = 0
        for i, j in dsl.grid(6, 6):
            B[i, j] = A[i, j] + 1
        C: int32[6, 6] = 0                   # between the stages, touching neither's inputs
        for i, j in dsl.grid(6, 6):
            C[i, j] = B[i, j] * 2
        return C

    A = RNG.integers(-9, 9, (6, 6)).astype(np.int32)
    s = dsl.customize(k)
    s.compute_at("S_i_j_0:j", "S_i_j_1:j")
    np.testing.assert_array_equal(s.build()(A), (A + 1) * 2)
    _replays(k, s)

    def overwrites(A: int32[6, 6]) -> int32[6, 6]:
        B: int32[6, 6] = 0
        for i, j in dsl.grid(6, 6):
            B[i, j] = A[i, j] + 1
        for i, j in dsl.grid(6, 6):
            B[i, j] = 5                      # writes what the producer writes: order matters
        C: int32[6, 6] = 0
        for i, j in dsl.grid(6, 6):
            C[i, j] = B[i, j] * 2
        return C

    with pytest.raises(dsl.ScheduleError, match="sits between the producer and the consumer"):
        dsl.customize(overwrites).compute_at("S_i_j_0:j", "S_i_j_2:j")


def test_allo_argument_names():
    def k(A: int32[8, 8]) -> int32[8, 8]:
        B: int32[8, 8] = 0
        for i, j in dsl.grid(8, 8):
            B[i, j] = A[i, j] + 1
        C: int32[8, 8] = 0
        for i, j in dsl.grid(8, 8):
            C[i, j] = B[i, j] * 3
        return C

    s = dsl.customize(k)
    s.split(axis="S_i_j_1:i", factor=4)
    s.partition(target=s.A, partition_type=2, dim=1, factor=2)    # Allo's Partition.Cyclic is 2
    s.partition(s.C, 1, dim=2, factor=4)                           # 1: Block
    s.pipeline(axis="S_i_j_1:j", initiation_interval=2)
    assert s.top_func_name == "k"
    assert s.trace[0] == {"primitive": "split", "args": {"loop": "S_i_j_1:i", "factor": 4}}
    assert s.trace[1]["args"]["kind"] == "cyclic" and s.trace[2]["args"]["kind"] == "block"
    with pytest.raises(dsl.ScheduleError, match="'axis' and 'loop' name the same argument"):
        s.unroll(axis="S_i_j_0:j", loop="S_i_j_0:j")
    with pytest.raises(dsl.ScheduleError, match="partition_type 7"):
        s.partition(s.B, partition_type=7)
    A = RNG.integers(-9, 9, (8, 8)).astype(np.int32)
    np.testing.assert_array_equal(s.build()(A), (A + 1) * 3)
    _replays(k, s)


def test_a_loop_name_the_user_wrote_wins_over_a_generated_fill():
    def k(A: int32[4, 4]) -> int32[4, 4]:
        buf: int32[4, 4] = 0                 # its fill loops are i0, i1 too
        for i0, j0 in dsl.grid(4, 4):
            buf[i0, j0] = A[i0, j0] + 1
        return buf

    s = dsl.customize(k)
    s.pipeline("i0")
    assert "pipeline" in str(s.get_loops()["S_i0_j0_0"]["i0"].info)
    assert "pipeline" not in str(s.get_loops()["S_buf_init"]["i0"].info)
