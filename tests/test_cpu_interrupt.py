"""Stopping kernels: ``timeout=`` and Ctrl-C on the CPU backend and the simulator, with the caller's arrays
left as they were and the Python process intact afterwards (no crash at exit)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dsl
from dsl import int32
from dsl.backend import cpu_interrupt
from mlir import ir

N = 4


def spin(A: int32[N]) -> int32:
    x: int32 = 0
    while A[0] >= 0:
        x = x + 1
        A[1] = x
    return x


def _spin_helper(A: int32[N]) -> int32:
    x: int32 = 0
    while A[0] >= 0:
        x = x + 1
    return x


def calls_spin(A: int32[N]) -> int32:
    y: int32 = _spin_helper(A)
    A[2] = 7  # must not run with the helper's early result
    return y


def long_nest(A: int32[N]) -> int32:
    x: int32 = 0
    for i in range(1 << 30):  # 2**40 outer iterations, each bound within the 32 bits loops may count
        for k in range(1 << 10):
            for j in range(4):
                # not x + A[j]: LLVM sums that in closed form once it knows A is not written (noalias), and
                # the 2**40 iterations left are a few hundred million, which may end before the timeout
                x = x * 3 + A[j]
    return x


def _plus1(x: int32) -> int32:
    return x + 1


def long_nest_calling(A: int32[N]) -> int32:
    x: int32 = 0
    for i in range(1 << 30):
        for j in range(4):
            x = x * 3 + _plus1(A[j])  # a recurrence, as in long_nest: no closed form once _plus1 is inlined
    return x


@pytest.mark.parametrize("kernel", [spin, calls_spin, long_nest, long_nest_calling])
def test_a_cpu_call_stops_at_its_timeout_and_leaves_the_arguments(kernel):
    module = dsl.build(kernel, timeout=0.5)
    A = np.zeros(N, np.int32)
    with pytest.raises(dsl.BuildError, match=r"did not finish within 0.5 s .*it was stopped"):
        module(A)
    assert A.tolist() == [0, 0, 0, 0]
    if kernel not in (long_nest, long_nest_calling):  # the same module runs again: the stop request was cleared
        A[0] = -1
        assert module(A) == 0


def small_nest_calling(A: int32[64, 64]):
    for i, j in dsl.grid(64, 64):
        A[i, j] = _plus1(A[i, j])


def _polls(kernel) -> int:
    s = dsl.customize(kernel)
    with s.context:
        module = ir.Module.parse(str(s.module))
        return cpu_interrupt.insert_polls(module, cpu_interrupt.CPU_MARKER, after_calls=True,
                                          budget=cpu_interrupt.CPU_BUDGET)


def exp_over_run_time_length(A: int32[64], n: int32):
    for j in range(n):
        A[j] = _plus1(A[j])


def test_a_loop_of_run_time_length_calling_only_loop_free_functions_does_not_poll():
    """Regression: such a loop is an innermost loop once its callee is inlined; its poll (an early exit)
    kept LLVM from vectorising softmax's exp loop over a row's run-time length (5x slower)."""
    assert _polls(exp_over_run_time_length) == 0
    A = np.arange(64, dtype=np.int32)
    dsl.build(exp_over_run_time_length, timeout=5)(A, 10)
    assert A.tolist() == list(range(1, 11)) + list(range(10, 64))
    assert _polls(calls_spin) == 2  # a call of a function that loops still polls


def test_bounded_nests_and_calls_of_loop_free_functions_do_not_poll():
    # a poll (an early return) in a nest keeps LLVM from vectorising it: only unbounded work polls
    assert _polls(small_nest_calling) == 0
    assert _polls(long_nest_calling) == 1  # the outer loop; the call of _plus1 cannot return early
    assert _polls(calls_spin) == 2  # the helper's while, and after the call of the helper
    A = np.arange(64 * 64, dtype=np.int32).reshape(64, 64)
    expected = A + 1
    module = dsl.build(small_nest_calling, timeout=5)
    module(A)
    assert (A == expected).all()
    # a call known to be short runs in the caller's thread (no worker thread); one that may not, stoppably
    assert module.quick and not any(dsl.build(k, timeout=5).quick for k in (spin, long_nest, long_nest_calling))


def test_build_options_are_validated():
    for bad in (4, -1, "fast", 2.5, True):
        with pytest.raises(dsl.BuildError, match="opt_level must be one of 0, 1, 2, 3"):
            dsl.build(spin, opt_level=bad)
    for bad in (0, -1, float("nan"), "1", True):
        with pytest.raises(dsl.BuildError, match="timeout must be a positive number"):
            dsl.build(spin, timeout=bad)
    A = np.array([-1, 0, 0, 0], np.int32)
    assert dsl.build(spin, timeout=None)(A) == 0  # no limit: runs in the caller's thread


@dsl.region()
def _copy_region(A: int32[N], B: int32[N]):
    @dsl.kernel(mapping=[1])
    def copy(A: int32[N], B: int32[N]):
        for i in range(N):
            B[i] = A[i]


def test_simulator_timeout_is_validated():
    with pytest.raises(dsl.BuildError, match="timeout must be a positive number"):
        dsl.build(_copy_region, target="sim", timeout=-1)
    B = np.zeros(N, np.int32)
    dsl.build(_copy_region, target="sim", timeout=None)(np.arange(N, dtype=np.int32), B)
    assert B.tolist() == [0, 1, 2, 3]


_REGION = '''
import numpy as np
import dsl
from dsl import int32
from dsl.backend import cpu_interrupt
from mlir import ir

@dsl.region()
def endless(A: int32[4], B: int32[4]):
    @dsl.kernel(mapping=[1])
    def spin(A: int32[4], B: int32[4]):
        x: int32 = 0
        while A[0] >= 0:
            x = x + 1
        B[0] = x
'''


def _run(tmp_path, script: str, interrupt: bool = False):
    path = tmp_path / "case.py"  # the frontend reads kernels from their source file
    path.write_text(textwrap.dedent(script))
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if interrupt:
        assert proc.stdout.readline().strip() == "calling"
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_an_endless_simulation_stops_and_the_process_exits_cleanly(tmp_path):
    code, out, err = _run(tmp_path, _REGION + '''
sim = dsl.build(endless, target="sim", timeout=0.5)
B = np.zeros(4, np.int32)
try:
    sim(np.zeros(4, np.int32), B)
except dsl.BuildError as e:
    print("stopped:", "did not finish within 0.5 s" in str(e), B.tolist())
''')
    assert code == 0, err  # the process used to die with SIGSEGV at exit
    assert "stopped: True [0, 0, 0, 0]" in out


@pytest.mark.parametrize("build, n_args", [("dsl.build(spin_k, timeout=600)", 1),
                                           ("dsl.build(endless, target='sim', timeout=600)", 2)])
def test_ctrl_c_stops_a_running_kernel(tmp_path, build, n_args):
    code, out, err = _run(tmp_path, _REGION + f'''
def spin_k(A: int32[4]) -> int32:
    x: int32 = 0
    while A[0] >= 0:
        x = x + 1
    return x

m = {build}
args = [np.zeros(4, np.int32) for _ in range({n_args})]
try:
    print("calling", flush=True)
    m(*args)
except KeyboardInterrupt:
    print("interrupted")
''', interrupt=True)
    assert code == 0, err
    assert "interrupted" in out
