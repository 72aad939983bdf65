"""What the emitted loops tell Vitis and what they cannot reach (issue 9, 6.9): float accumulations asked to
run at II=1, pipelined region kernels, loop_tripcount on variable-bound loops, and vitis-run instead of the
deprecated vitis_hls -f."""
import os
import re
import shutil
import stat
import subprocess
import warnings

import numpy as np
import pytest

import dsl
from dsl import float32, index, int8, int32
from dsl.backend.hls.quality import HLSQualityWarning
from dsl.backend.hls.vitis_project import VitisProject

from .dataflow_designs import producer_consumer
from .markers import line_of


def fgemm(A: float32[8, 4], B: float32[4, 6]) -> float32[8, 6]:
    C: float32[8, 6] = 0.0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]  # fgemm-acc
    return C


def fsum(A: float32[16]) -> float32:
    s: float32 = 0.0
    for i in range(16):
        s += A[i]  # fsum-acc
    return s


def igemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def _emit(s):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code = dsl.build(s, target="vhls")
    return code, [w for w in seen if issubclass(w.category, HLSQualityWarning)]


@pytest.mark.parametrize("kernel, loop, what, marker", [
    (fgemm, "k", "'C'", "fgemm-acc"), (fsum, "i", "'s'", "fsum-acc")])
def test_a_float_accumulation_pipelined_at_ii_1_is_reported(kernel, loop, what, marker):
    s = dsl.customize(kernel)
    s.pipeline(loop)
    code, seen = _emit(s)
    assert len(seen) == 1
    message = str(seen[0].message)
    assert f"loop '{loop}' (test_hls_quality.py:" in message and "is pipelined at II=1" in message
    assert f"adds into {what} at line {line_of(__file__, marker)}" in message and "HLS 200-880" in message
    lines = code.splitlines()
    pragma = next(k for k, line in enumerate(lines) if "#pragma HLS pipeline II=1" in line)
    assert "II=1 is not reachable here: a float accumulation" in lines[pragma + 1]


@pytest.mark.parametrize("kernel, loop, ii", [(fgemm, "j", 1), (igemm, "k", 1), (fgemm, "k", 4)])
def test_no_report_where_ii_is_reachable_or_not_asked_for(kernel, loop, ii):
    s = dsl.customize(kernel)
    s.pipeline(loop, ii)
    code, seen = _emit(s)
    assert seen == [] and "not reachable" not in code


def col_sums(A: float32[32, 16]) -> float32[16]:
    out: float32[16] = 0.0
    for j in range(16, name="cols"):
        acc: float32 = 0.0  # cleared in every iteration of j: nothing carries from one j to the next
        for i in range(32, name="red"):
            acc = acc + A[i, j]
        out[j] = acc
    return out


def running_col_sums(A: float32[32, 16]) -> float32[16]:
    out: float32[16] = 0.0
    acc: float32 = 0.0
    for j in range(16, name="cols"):
        for i in range(32, name="red"):
            acc = acc + A[i, j]  # running-acc
        out[j] = acc
    return out


def test_a_sum_cleared_in_every_iteration_is_no_recurrence_of_the_outer_loop():
    """Regression: the sum of col_sums is set to 0 at the top of each j iteration, so j pipelined at II=1
    (red unrolled into it) carries no float result across iterations; it was reported as one."""
    s = dsl.customize(col_sums)
    s.pipeline("cols:j")
    code, seen = _emit(s)
    assert seen == [] and "not reachable" not in code
    s = dsl.customize(running_col_sums)  # the same sum never cleared: j needs the previous j's sum
    s.pipeline("cols:j")
    code, seen = _emit(s)
    assert len(seen) == 1 and f"adds into 'acc' at line {line_of(__file__, 'running-acc')}" in str(seen[0].message)


def test_region_kernels_pipeline_their_innermost_loops():
    code = dsl.build(producer_consumer(8), target="vhls")
    for kernel in ("producer", "consumer"):
        body = code[code.index(f"void {kernel}("):]
        loop = body.index(": for (")
        assert body[loop:].splitlines()[1].strip() == "#pragma HLS pipeline II=1", kernel
    plain = dsl.build(dsl.customize(igemm), target="vhls")  # ordinary kernels keep what the schedule says
    assert "pipeline" not in plain


def bounds(A: int32[8, 8], n: index) -> int32[8]:
    B: int32[8] = 0
    for i in range(8):
        for j in range(i + 1):  # a triangle: 1 to 8 iterations
            B[i] += A[i, j]
    for i in range(n):  # bounded by B's extent in a valid kernel
        B[i] += 1
    for i in range(2, 6):
        B[i] += 2
    return B


def test_variable_bound_loops_get_a_tripcount():
    code = dsl.build(dsl.customize(bounds), target="vhls")
    lines = code.splitlines()

    def after(pattern):
        k = next(k for k, line in enumerate(lines) if re.search(pattern, line))
        return lines[k + 1].strip()

    assert after(r"for \(int j = 0; j < i \+ 1; \+\+j\)") == "#pragma HLS loop_tripcount min=1 max=8 avg=5"
    assert after(r"for \(int i1 = 0; i1 < n; \+\+i1\)") == "#pragma HLS loop_tripcount min=0 max=8 avg=4"
    assert after(r"for \(int i2 = 2; i2 < 6; \+\+i2\)").startswith("int32_t")  # constant bounds: none
    assert code.count("loop_tripcount") == 2
    A = np.arange(64, dtype=np.int32).reshape(8, 8)
    expect = np.array([A[i, :i + 1].sum() for i in range(8)]) + np.array([1] * 5 + [0] * 3) + \
        np.array([0, 0, 2, 2, 2, 2, 0, 0])
    np.testing.assert_array_equal(dsl.build(dsl.customize(bounds), target="vitis_hls", mode="csim")(A, 5), expect)


def _fake_tool(folder, name):
    """A stand-in that records how it was called (argv and run.tcl's environment variables)."""
    path = folder / name
    path.write_text('#!/bin/sh\necho "$0 $* | mode=$DSL_HLS_MODE data=$DSL_HLS_DATA" >> "$PWD/tool-calls.txt"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("tools, expected", [
    (("vitis-run", "vitis_hls"), "vitis-run --mode hls --tcl run.tcl | mode=csyn data="),  # 2024.2+: both exist
    (("vitis_hls",), "vitis_hls -f run.tcl -tclargs csyn | mode= data="),
])
def test_synthesis_runs_vitis_run_when_present(tmp_path, monkeypatch, tools, expected):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        _fake_tool(bin_dir, tool)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.path.dirname(shutil.which('g++'))}")
    folder = tmp_path / "p"
    project = dsl.build(dsl.customize(igemm), target="vitis_hls", mode="csyn", project=str(folder))
    calls = (folder / "tool-calls.txt").read_text().splitlines()
    assert len(calls) == 1 and calls[0].endswith(expected) and os.path.basename(calls[0].split()[0]) == tools[0]
    assert project.mode == "csyn"
    cosim = " ".join(VitisProject(folder, "cosim").command)  # what a call runs, as words (as it used to be)
    assert cosim == ("DSL_HLS_MODE=cosim DSL_HLS_DATA=data/tb vitis-run --mode hls --tcl run.tcl"
                     if tools[0] == "vitis-run" else "vitis_hls -f run.tcl -tclargs cosim data/tb")


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
@pytest.mark.parametrize("argv, env, expected", [
    ([], {"DSL_HLS_MODE": "cosim"}, "csynth_design|cosim_design -argv {data}/data/tb"),  # as vitis-run runs it
    (["cosim", "elsewhere"], {}, "csynth_design|cosim_design -argv {data}/elsewhere"),  # as vitis_hls -f runs it
    ([], {}, "csynth_design"),
])
def test_run_tcl_takes_its_step_from_tclargs_or_the_environment(tmp_path, argv, env, expected):
    dsl.build(dsl.customize(igemm), target="vitis_hls", mode="csim", project=str(tmp_path / "p"))
    stubs = "".join(f"proc {cmd} {{args}} {{ puts \"{cmd} [join $args]\" }}\n" for cmd in (
        "open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "csim_design",
        "csynth_design", "cosim_design", "export_design"))
    script = f"{stubs}proc exit {{}} {{}}\nset argv [list {' '.join(argv)}]\nsource run.tcl\n"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DSL_HLS_")}
    proc = subprocess.run(["tclsh"], input=script, cwd=tmp_path / "p", capture_output=True, text=True,
                          env={**environment, **env})
    assert proc.returncode == 0, proc.stderr
    steps = [line.strip() for line in proc.stdout.splitlines() if line.split()[0] in (
        "csynth_design", "cosim_design", "csim_design")]
    assert "|".join(steps) == expected.format(data=tmp_path / "p")
