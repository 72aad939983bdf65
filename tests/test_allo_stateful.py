"""Stateful variables (Allo's ``x: int32 @ Stateful = 0``): they keep their value from one call to the next on
the CPU backend, the dataflow simulator and csim, and are static storage in the HLS C++."""
import zlib

import numpy as np
import pytest

import dsl
from dsl import Fixed, Stateful, float32, int8, int32, uint8, uint32

SEED = 12345


def counter(x: int32) -> int32:
    total: int32 @ Stateful = 0
    total = total + x
    return total


def fresh(x: int32) -> int32:
    total: int32 = 0  # not stateful: starts again at every call
    total = total + x
    return total


def crc32_step(data: uint8) -> uint32:
    crc: uint32 @ Stateful = 0xFFFFFFFF
    crc = crc ^ data
    for j in range(8):
        crc = (crc >> 1) ^ (0xEDB88320 & (0 - (crc & 1)))
    return crc ^ 0xFFFFFFFF


def histogram(value: int8) -> int32[8]:
    bins: int32[8] @ Stateful = 0
    bins[value] += 1
    return bins


def moving_average(x: float32) -> float32:
    window: float32[4] @ Stateful = 0.0
    pos: int32 @ Stateful = 0
    seen: int32 @ Stateful = 0
    total: float32 @ Stateful = 0.0
    total = total - window[pos] + x
    window[pos] = x
    pos = (pos + 1) % 4
    if seen < 4:
        seen = seen + 1
    return total / seen


def lcg() -> int32:
    seed: dsl.Stateful[int32] = SEED          # the other spelling, a module constant as initial value
    seed = (1103515245 * seed + 12345) & 0x7FFFFFFF
    return seed & 0xFFFF


def _lcg_reference(n):
    seed, out = SEED, []
    for _ in range(n):
        seed = (1103515245 * seed + 12345) & 0x7FFFFFFF
        out.append(seed & 0xFFFF)
    return out


def test_scalar_state_accumulates_across_calls():
    mod = dsl.customize(counter).build()
    assert [mod(5), mod(10), mod(3)] == [5, 15, 18]
    plain = dsl.customize(fresh).build()
    assert [plain(5), plain(10)] == [5, 10]


def test_each_build_has_its_own_state():
    s = dsl.customize(counter)
    first, second = s.build(), s.build()
    assert [first(1), first(1), second(1)] == [1, 2, 1]


def test_unsigned_state_wraps_like_hardware():
    mod = dsl.customize(crc32_step).build()
    got = [int(mod(b)) for b in b"ABC"]
    assert got[-1] == zlib.crc32(b"ABC")
    assert got[0] == zlib.crc32(b"A")


def test_tensor_state_and_returning_it():
    mod = dsl.customize(histogram).build()
    for v in (5, 1, 5, 5, 1):
        bins = mod(v)
    assert bins.tolist() == [0, 2, 0, 0, 0, 3, 0, 0]


def test_several_states_in_one_kernel():
    mod = dsl.customize(moving_average).build()
    got = [float(mod(v)) for v in (10.0, 20.0, 30.0, 40.0, 50.0)]
    assert got == [10.0, 15.0, 20.0, 25.0, 35.0]


def test_module_constant_initial_value_and_subscript_spelling():
    mod = dsl.customize(lcg).build()
    assert [int(mod()) for _ in range(5)] == _lcg_reference(5)


def inner_acc(x: int32) -> int32:
    total: int32 @ Stateful = 100
    total = total + x
    return total


def outer_acc(x: int32) -> int32:
    total: int32 @ Stateful = 0       # same name as the callee's: a different variable
    total = total + x
    inner: int32 = inner_acc(x)
    return total * 1000 + inner


def test_state_of_a_callee_is_its_own():
    mod = dsl.customize(outer_acc).build()
    assert [mod(5), mod(10), mod(3)] == [5105, 15115, 18118]


def test_fixed_point_and_list_initial_values():
    def k(i: int32) -> float32:
        table: Fixed(12, 4)[3] @ Stateful = [1.5, -2.25, 3.0625]
        table[i] = table[i] * 2
        return float(table[i])

    s = dsl.customize(k)
    # i12 storage: MLIR's Python bindings cannot index such a dense attribute (dsl/backend/dense.py)
    for mod in (s.build(), dsl.build(s, target="vitis_hls", mode="csim")):
        assert [mod(0), mod(0), mod(1), mod(2)] == [3.0, 6.0, -4.5, 6.125]


def test_hls_code_declares_static_storage():
    code = str(dsl.build(dsl.customize(histogram), target="vhls"))
    # the output argument is named after the returned local, so the state takes the next free name
    assert "static int32_t bins1[8] = {0, 0, 0, 0, 0, 0, 0, 0};" in code
    assert "int32_t bins[8])" in code


def test_state_persists_across_csim_calls():
    mod = dsl.build(dsl.customize(counter), target="vitis_hls", mode="csim")
    assert [mod(5), mod(10), mod(3)] == [5, 15, 18]
    hist = dsl.build(dsl.customize(histogram), target="vitis_hls", mode="csim")
    for v in (2, 2, 7):
        bins = hist(v)
    assert bins.tolist() == [0, 0, 2, 0, 0, 0, 0, 1]
    again = dsl.build(dsl.customize(counter), target="vitis_hls", mode="csim")
    assert again(1) == 1  # a new module starts from the initial value


N = 4


@dsl.region()
def running_total(A: int32[N], B: int32[N]):
    pipe: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        for i in range(N):
            pipe.put(A[i])

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        total: int32 @ Stateful = 0
        for i in range(N):
            total = total + pipe.get()
            B[i] = total


def test_state_of_a_region_kernel_on_the_simulator():
    sim = dsl.build(running_total, target="sim")
    A, B = np.arange(N, dtype=np.int32), np.zeros(N, np.int32)
    sim(A, B)
    assert B.tolist() == [0, 1, 3, 6]
    sim(A, B)
    assert B.tolist() == [6, 7, 9, 12]


def test_initial_value_must_be_a_compile_time_constant():
    def k(x: int32) -> int32:
        s: int32 @ Stateful = x
        return s

    with pytest.raises(dsl.DSLTypeError, match=r"stateful 's' must be a compile-time constant.*\bx\b"):
        dsl.customize(k)


def test_initial_value_of_the_wrong_shape():
    def k(i: int32) -> int32:
        t: int32[3] @ Stateful = [1, 2]
        return t[i]

    with pytest.raises(dsl.DSLTypeError, match=r"shape \[2\].*\[3\]"):
        dsl.customize(k)


def test_stateful_of_something_that_is_no_type():
    with pytest.raises(dsl.DSLTypeError, match="Stateful applies to a dsl type"):
        3 @ Stateful  # noqa: B018
