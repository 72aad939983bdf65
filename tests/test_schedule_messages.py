"""Schedule, call-time and build mistakes: a DSLError that says what is wrong and what is valid, whose
traceback shows the user's frames and the one public entry (dsl/errors.py), no frame of the compiler."""
import os

import numpy as np
import pytest

import dsl
from dsl import int32

from .test_lang_errors import assert_clean

N = 8


def gemm(A: int32[N, N], B: int32[N, N]) -> int32[N, N]:
    C: int32[N, N] = 0
    for i, j in dsl.grid(N, N):
        for k in dsl.reduction(N):
            C[i, j] += A[i, k] * B[k, j]
    return C


@dsl.region()
def design(A: int32[N], B: int32[N]):
    pipe: dsl.Stream[int32, 2]

    @dsl.kernel(mapping=[1])
    def producer(A: int32[N]):
        for i in range(N):
            pipe.put(A[i])

    @dsl.kernel(mapping=[1])
    def consumer(B: int32[N]):
        for i in range(N):
            B[i] = pipe.get()


def _error(exc_type, fn, *fragments):
    with pytest.raises(exc_type) as info:
        fn()
    assert_clean(info.value)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return info.value


@pytest.fixture
def s():
    return dsl.customize(gemm)


def test_misspelt_primitive_names_the_primitive(s):
    err = _error(AttributeError, lambda: s.splt("i", 4), "no primitive 'splt'", "did you mean 'split'",
                 "buffers: A, B, C")
    assert isinstance(err, dsl.ScheduleError)
    assert not hasattr(s, "splt") and getattr(s, "splt", 5) == 5  # still an AttributeError for Python


def test_unknown_buffer_keeps_its_message(s):
    _error(dsl.ScheduleError, lambda: s.Z, "no buffer (argument or local tensor) named 'Z'", "A, B, C")


def test_misspelt_keyword_argument(s):
    _error(dsl.ScheduleError, lambda: s.split("i", factr=4), "unknown argument 'factr'", "did you mean 'factor'",
           "split(loop, factor)")


def test_unknown_primitive_in_a_schedule_file(s):
    _error(dsl.ScheduleError, lambda: s.apply_schedule([{"primitive": "reordr", "args": {}}]),
           "unknown primitive 'reordr'", "did you mean 'reorder'")


def test_index_with_a_non_name(s):
    _error(dsl.ScheduleError, lambda: s[3], "s[...] takes a buffer name", "got 3")
    assert s["B"].path == "B" and s[s.B].path == "B"


def test_save_into_a_folder(s, tmp_path):
    _error(dsl.ScheduleError, lambda: s.save(tmp_path), "it is a folder", os.path.join(str(tmp_path), "gemm.yaml"))
    (tmp_path / "file").write_text("x")
    _error(dsl.ScheduleError, lambda: s.save(tmp_path / "file" / "s.yaml"), "cannot save the schedule")


def test_non_utf8_schedule_file(s, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"\xff\xfe kernel: gemm\n")
    _error(dsl.ScheduleError, lambda: s.apply_schedule(str(path)), "not UTF-8 text", "0xff at offset 0")


def test_schedule_path_without_yaml_suffix(s, tmp_path):
    _error(dsl.ScheduleError, lambda: dsl.customize(gemm, schedule=str(tmp_path / "gemm.txt")),
           "cannot read schedule file", "No such file")
    s.split("i", 2)
    path = tmp_path / "gemm.schedule"
    path.write_text(s.to_yaml())
    assert dsl.customize(gemm, schedule=str(path)).trace == s.trace  # any extension is read as a file
    assert dsl.customize(gemm, schedule="{kernel: gemm, steps: []}").trace == []  # one-line YAML text


def test_compute_at_names_the_nest_and_buffers_in_between():
    def three(A: int32[N]) -> int32[N]:
        B: int32[N] = 0
        D: int32[N] = 0
        C: int32[N] = 0
        for i in range(N):
            B[i] = A[i] + 1
        for i in range(N):
            D[i] = B[i] * 3  # reads the producer's B: it cannot run before it
        for i in range(N):
            C[i] = B[i] * 2 + D[i]
        return C

    s = dsl.customize(three)
    _error(dsl.ScheduleError, lambda: s.compute_at("S_i_0:i", "S_i_2:i"), "the loop nest 'S_i_1'",
           "buffer 'B', buffer 'D'", "sits between the producer and the consumer")


def test_region_called_like_a_function():
    _error(dsl.StreamError, lambda: design(np.zeros(N, np.int32), np.zeros(N, np.int32)),
           "is a design, not a Python function")


def test_stream_and_kernel_declarations_outside_regions():
    _error(dsl.DSLTypeError, lambda: dsl.kernel(mapping=[0]), "positive ints")
    _error(dsl.DSLTypeError, lambda: dsl.Stream[int32, 0], "depth must be an int in 1..")
    _error(dsl.StreamError, lambda: dsl.get_pid(), "inside a kernel of a dsl.region")


def test_call_and_build_errors_stay_clean(s):
    _error(dsl.CallError, lambda: s.build()(np.zeros((N, N), np.int32)), "takes 2 argument(s)")
    _error(dsl.BuildError, lambda: dsl.build(s, target="gpu"), "unknown target 'gpu'")
    _error(dsl.BuildError, lambda: dsl.build(s, target="vhls", mode="csim"), "takes no options")
    sim = dsl.build(design, target="sim")
    _error(dsl.CallError, lambda: sim(np.zeros(N, np.int32)), "takes 2 argument(s)")


@pytest.mark.parametrize("apply", [
    lambda s: s.split("i", factor=2**70),
    lambda s: s.unroll("i", factor=2**40),
    lambda s: s.pipeline("j", initiation_interval=2**40),
], ids=["split", "unroll", "pipeline"])
def test_sizes_that_reach_mlir_are_checked_in_schedules(s, apply):
    before = s.module.operation.get_asm(enable_debug_info=True)
    _error(dsl.ScheduleError, lambda: apply(s), "at most 2147483647")
    assert s.module.operation.get_asm(enable_debug_info=True) == before


def test_sizes_of_streams_and_pe_grids_are_checked():
    _error(dsl.DSLTypeError, lambda: dsl.Stream[int32, 2**40], "depth must be an int in 1..2147483647")
    _error(dsl.DSLTypeError, lambda: dsl.Stream[int32, 2][2**40], "at most 4096")
    _error(dsl.DSLTypeError, lambda: dsl.kernel(mapping=[2**20, 2]), "2097152 processing elements")
