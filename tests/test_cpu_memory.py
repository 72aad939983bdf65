"""Local tensors are freed: a tensor allocated in a loop (a local, or the result of a kernel called in the
loop) used to stay allocated until the process ended, on the CPU backend and in the simulator, and so did
every call's top-level locals. Measured by counting the bytes the C heap has in use (glibc's
``mallinfo2``, summed over every thread's arena), not by timing."""
from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

import dsl
from dsl import float32, int32

N = 1024  # 4 KiB per tensor
ITERATIONS = 300  # leaking 3 tensors per iteration would be 3.6 MiB
SLACK = 256 * 1024  # what the interpreter itself may hold on to between two measurements


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


_LIBC = ctypes.CDLL(None)
if not hasattr(_LIBC, "mallinfo2"):  # glibc >= 2.33 (Debian 12 has 2.36)
    pytest.skip("the C library has no mallinfo2 to count heap bytes with", allow_module_level=True)
_LIBC.mallinfo2.restype = _MallInfo2


def heap_in_use() -> int:
    gc.collect()
    info = _LIBC.mallinfo2()
    return info.uordblks + info.hblkhd  # allocated chunks + mmap'd blocks


def _growth(call, repeat=1) -> int:
    call()  # the first call builds what is cached (ctypes types, engines)
    before = heap_in_use()
    for _ in range(repeat):
        call()
    return heap_in_use() - before


def twice(A: float32[N]) -> float32[N]:
    L: float32[N] = 0.0  # the callee's own local, allocated at every call
    B: float32[N] = 0.0
    for i in range(N):
        L[i] = A[i] * 2.0
        B[i] = L[i]
    return B


def looping(A: float32[N], n: int32) -> float32:
    s: float32 = 0.0
    for t in range(n):
        T: float32[N] = 0.0  # a local allocated in the loop
        for i in range(N):
            T[i] = A[i] + 1.0
        R = twice(T)  # the callee's result tensor, allocated in the loop
        s = s + R[t % N]
    return s


@dsl.region()
def looping_region(A: float32[N], S: float32[1], n: int32):
    @dsl.kernel(mapping=[1])
    def body(A: float32[N], S: float32[1], n: int32):
        for t in range(n):
            T: float32[N] = 0.0
            for i in range(N):
                T[i] = A[i] + 1.0
            R = twice(T)
            S[0] += R[t % N]


def test_tensors_allocated_in_a_loop_are_freed_on_the_cpu():
    module = dsl.build(looping)
    A = np.ones(N, np.float32)
    assert module(A, 3) == 12.0
    assert _growth(lambda: module(A, ITERATIONS)) < SLACK


def test_each_call_frees_its_locals_on_the_cpu():
    module = dsl.build(looping)
    A = np.ones(N, np.float32)
    assert _growth(lambda: module(A, 1), repeat=ITERATIONS) < SLACK


def test_tensors_allocated_in_a_loop_are_freed_in_the_simulator():
    module = dsl.build(looping_region, target="sim")
    A, S = np.ones(N, np.float32), np.zeros(1, np.float32)
    module(A, S, 3)
    assert S.tolist() == [12.0]
    assert _growth(lambda: module(A, S, ITERATIONS)) < SLACK


def test_each_simulation_frees_what_it_used():
    module = dsl.build(looping_region, target="sim")
    A, S = np.ones(N, np.float32), np.zeros(1, np.float32)
    assert _growth(lambda: module(A, S, 1), repeat=ITERATIONS) < SLACK
