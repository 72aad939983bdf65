"""Templates as Allo writes them: instance ids (``kernel[T, 16, "id"]``), type arguments inferred from the
arguments, ``ConstExpr`` locals, and ``compose`` with a list or a kernel and its library schedule."""
import math

import numpy as np
import pytest

import dsl
from dsl import float32, int8, int16, int32

M, K = 4, 6


def add(A: float32[M, K], B: float32[M, K], C: float32[M, K]):
    for i, j in dsl.grid(M, K, name="add"):
        C[i, j] = A[i, j] + B[i, j]


@dsl.template("N")
def add_const(A: "float32[M, K]", B: "float32[M, K]", C: "float32[M, K]"):
    for i, j in dsl.grid(M, K, name="shift"):
        C[i, j] = A[i, j] + B[i, j] + N  # noqa: F821 - a type parameter


def two_instances() -> float32[M, K]:
    A: float32[M, K] = 1.0
    B: float32[M, K] = 2.0
    C: float32[M, K] = 0.0
    D: float32[M, K] = 0.0
    add_const[5, "const5"](A, B, C)
    add_const[7, "const7"](C, B, D)
    return D


def _funcs(s):
    return [str(op.attributes["sym_name"]).strip('"') for op in s.module.body.operations]


def test_instance_ids_make_named_instances():
    s = dsl.customize(two_instances)
    assert {"add_const_const5", "add_const_const7"} <= set(_funcs(s))
    assert 'dsl.id = "const7"' in str(s.module)
    np.testing.assert_array_equal(s.build()(), np.full((M, K), (1 + 2 + 5) + 2 + 7, np.float32))


def test_compose_with_an_id_schedules_that_instance_only():
    s = dsl.customize(two_instances)
    sub = dsl.customize(add_const, instantiate=[7])
    sub.pipeline("j")
    s.compose(sub, id="const7")
    tree5, tree7 = str(s.get_loops("add_const_const5")), str(s.get_loops("add_const_const7"))
    assert "pipeline" in tree7 and "pipeline" not in tree5
    code = str(dsl.build(s, target="vhls"))
    assert "add_const_const7(" in code and code.count("#pragma HLS pipeline II=1") == 1
    replay = dsl.customize(two_instances, schedule=s.to_yaml())
    assert str(replay.module) == str(s.module)
    np.testing.assert_array_equal(s.build()(), np.full((M, K), 17, np.float32))
    csim = dsl.build(s, target="vitis_hls", mode="csim")  # the instances are two C++ functions
    np.testing.assert_array_equal(csim(), np.full((M, K), 17, np.float32))


def test_inferred_type_arguments_in_csim():
    def top(A: int16[3, 5]) -> int16[3, 5]:
        return scale(A, A[0, 0])  # scale[int16, 3, 5] from the arguments

    A = np.random.default_rng(4).integers(-20, 20, (3, 5), dtype=np.int16)
    s = dsl.customize(top)
    want = (A.astype(np.int64) * A[0, 0]).astype(np.int16)  # int16 results wrap as C++'s do
    np.testing.assert_array_equal(s.build()(A), want)
    np.testing.assert_array_equal(dsl.build(s, target="vitis_hls", mode="csim")(A), want)


def test_instance_id_on_a_kernel_without_type_parameters():
    def top(A: float32[M, K], B: float32[M, K]) -> float32[M, K]:
        C: float32[M, K] = 0.0
        add["first"](A, B, C)
        add["second"](C, B, C)
        return C

    s = dsl.customize(top)
    assert {"add_first", "add_second"} <= set(_funcs(s))
    A, B = np.ones((M, K), np.float32), np.full((M, K), 2, np.float32)
    np.testing.assert_array_equal(s.build()(A, B), A + 2 * B)


def test_instance_id_must_be_an_identifier():
    def top(A: float32[M, K], B: float32[M, K], C: float32[M, K]):
        add_const[5, "not an id"](A, B, C)

    with pytest.raises(dsl.CallError, match="instance id names a function"):
        dsl.customize(top)


@dsl.template("T", "R", "C")
def scale(A: "T[R, C]", f: "T") -> "T[R, C]":
    B: T[R, C] = 0  # noqa: F821
    for i, j in dsl.grid(R, C):  # noqa: F821
        B[i, j] = A[i, j] * f
    return B


def test_type_arguments_inferred_from_the_arguments():
    def top(A: int16[3, 5], f: int16) -> int16[3, 5]:
        return scale(A, f)

    A = np.arange(15, dtype=np.int16).reshape(3, 5)
    np.testing.assert_array_equal(dsl.customize(top).build()(A, 3), A * 3)


def test_inference_conflict_and_gaps_are_named():
    def conflict(A: int16[3, 5], f: int32) -> int16[3, 5]:
        return scale(A, f)

    @dsl.template("N")
    def padded(A: "int32[N + 1]") -> int32:
        return A[0]

    def gap(A: int32[5]) -> int32:
        return padded(A)

    with pytest.raises(dsl.CallError, match="T of 'scale' would be both int16 and int32"):
        dsl.customize(conflict)
    with pytest.raises(dsl.CallError, match="cannot infer the type parameter\\(s\\) N of 'padded'"):
        dsl.customize(gap)


def _cos8(i):
    return math.cos(2.0 * math.pi * i / 8)


def test_constexpr_bounds_chains_and_python_helpers():
    def k(A: int32[10]) -> int32[10]:
        half: dsl.ConstExpr[int32] = K // 2 + 2          # 5
        bump: dsl.ConstExpr[int32] = half * 2 + 1        # 11
        B: int32[10] = 0
        for i in range(half):
            B[i] = A[i] + bump
        for i in range(half, 10):
            B[i] = A[i]
        return B

    s = dsl.customize(k)
    assert "scf.for" not in str(s.module)  # constant bounds: affine loops
    np.testing.assert_array_equal(s.build()(np.arange(10, dtype=np.int32)), np.r_[11:16, 5:10])

    def dft_row(A: float32[8], B: float32[8]):
        with dsl.meta_for(8) as i:
            c: dsl.ConstExpr[float32] = _cos8(i)
            j: dsl.ConstExpr[int32] = (i + 3) % 8
            B[i] = A[j] * c

    A, B = np.arange(8, dtype=np.float32), np.zeros(8, np.float32)
    dsl.customize(dft_row).build()(A, B)
    np.testing.assert_allclose(B, [A[(i + 3) % 8] * _cos8(i) for i in range(8)], rtol=1e-6)


def test_constexpr_errors():
    def uninitialised(A: int32[2]):
        n: dsl.ConstExpr[int32]
        A[0] = 1

    def runtime(A: int32[2], x: int32):
        n: dsl.ConstExpr[int32] = x + 1
        A[0] = n

    def too_big(A: int8[2]):
        n: dsl.ConstExpr[int8] = 300
        A[0] = n

    with pytest.raises(dsl.DSLTypeError, match="ConstExpr 'n' needs a value"):
        dsl.customize(uninitialised)
    with pytest.raises(dsl.DSLTypeError, match="uses the kernel value\\(s\\) x"):
        dsl.customize(runtime)
    with pytest.raises(dsl.DSLTypeError, match="300 does not fit int8"):
        dsl.customize(too_big)


# -- compose forms ---------------------------------------------------------------------------------------

def blur(A: int32[8, 8]) -> int32[6, 6]:
    B: int32[6, 6] = 0
    for y, x in dsl.grid(6, 6):
        B[y, x] = A[y, x] + A[y + 1, x + 1] + A[y + 2, x + 2]
    return B


def blur2(B: int32[6, 6]) -> int32[4, 4]:
    C: int32[4, 4] = 0
    for y, x in dsl.grid(4, 4):
        C[y, x] = B[y, x] + B[y + 1, x + 1] + B[y + 2, x + 2]
    return C


def two_blurs(A: int32[8, 8]) -> int32[4, 4]:
    return blur2(blur(A))


def _blur_ref(A, n):
    return np.array([[A[y, x] + A[y + 1, x + 1] + A[y + 2, x + 2] for x in range(n)] for y in range(n)])


def test_compose_a_list_of_schedules():
    s0, s1 = dsl.customize(blur), dsl.customize(blur2)
    s0.pipeline("x")
    s1.unroll("x", 2)
    s = dsl.customize(two_blurs)
    s.compose([s0, s1])
    tree = str(s.get_loops("blur")) + str(s.get_loops("blur2"))
    assert "pipeline II=1" in tree and "unroll 2" in tree
    A = np.random.default_rng(1).integers(0, 10, (8, 8)).astype(np.int32)
    np.testing.assert_array_equal(s.build()(A), _blur_ref(_blur_ref(A, 6), 4))


@dsl.template("T", "N")
def vadd(A: "T[N]", B: "T[N]") -> "T[N]":
    C: T[N] = 0  # noqa: F821
    for i in range(N):  # noqa: F821
        C[i] = A[i] + B[i]
    return C


@dsl.register_schedule(vadd)
def _schedule_vadd(s):
    s.split("i", 4)
    s.pipeline("i.inner")
    return s


def test_compose_a_kernel_with_its_library_schedule():
    def top(A: int32[16], B: int32[16]) -> int32[16]:
        return vadd[int32, 16](A, B)

    s = dsl.customize(top)
    s.compose(vadd, instantiate=[int32, 16])
    assert "i.outer" in str(s.get_loops("vadd")) and "pipeline" in str(s.get_loops("vadd"))
    A, B = np.arange(16, dtype=np.int32), np.arange(16, dtype=np.int32) * 3
    np.testing.assert_array_equal(s.build()(A, B), A * 4)
    assert str(dsl.customize(top, schedule=s.to_yaml()).module) == str(s.module)


def test_compose_a_kernel_without_a_library_schedule():
    s = dsl.customize(two_blurs)
    with pytest.raises(dsl.ScheduleError, match="kernel 'blur' has no library schedule"):
        s.compose(blur)
    with pytest.raises(dsl.ScheduleError, match="instantiate= goes with a kernel function"):
        s.compose(dsl.customize(blur), instantiate=[int32])
