"""The XRT host program's data path, end to end, without XRT: ``mode="hw_emu"`` writes the project (and
raises ToolNotFoundError here), Python writes the inputs, host.cpp + kernel.cpp are linked against a mock of
the XRT native API (tests/hls_mock_xrt: buffers in host memory, the kernel call runs the emitted kernel),
the host runs with the arguments the Makefile gives it, and Python reads the outputs back.

Also the device layout of the data files, byte for byte, and VitisProject's errors without the tools."""
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest

import dsl
from dsl import Fixed, Int, UInt, float16, float32, index, int8, int32
from dsl.backend.hls import hostdata
from dsl.backend.hls.csim import CXXFLAGS, SHIMS, ap_types_dir, precompiled_header_flags
from dsl.backend.hls.vitis_project import VitisProject

MOCK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hls_mock_xrt")
pytestmark = pytest.mark.skipif(shutil.which("v++") is not None, reason="v++ installed: use the real flow")


def gemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def scale(A: Fixed(16, 8)[6], w: float32) -> float32[6]:
    B: float32[6] = 0.0
    for i in range(6):
        B[i] = float(A[i]) * w
    return B


def twice(X: Int(12)[5], data: int8):  # in place; a scalar named like host.cpp's data directory variable
    for i in range(5):
        X[i] = X[i] * 2 + data


def dot(A: int32[4], n: Fixed(16, 8)) -> Fixed(16, 8):
    s: Fixed(16, 8) = 0.0
    for i in range(4):
        s += A[i] * n
    return s


@dataclass
class Case:
    kernel: object
    args: object  # () -> the call's arguments
    check: object  # (args, returned) -> None


def _check_gemm(args, C):
    A, B = args
    np.testing.assert_array_equal(C, A.astype(np.int32) @ B.astype(np.int32))
    assert C.dtype == np.int32


def _check_scale(args, B):
    A, w = args
    np.testing.assert_array_equal(B, (A * np.float32(w)).astype(np.float32))


def _check_twice(args, returned):
    X, data = args
    assert returned is None
    np.testing.assert_array_equal(X, [2 * 1 + data, 2 * -3 + data, 2 * 1000 + data, 2 * -1000 + data,
                                      (2 * 2047 + data) - 4096])  # int12 wraps


def _check_dot(args, s):
    A, n = args
    assert s == float(np.sum(A) * n) == 4.5


rng = np.random.default_rng(7)
CASES = {
    "gemm": Case(gemm, lambda: (rng.integers(-128, 128, (8, 4), dtype=np.int8),
                                rng.integers(-128, 128, (4, 6), dtype=np.int8)), _check_gemm),
    "scale": Case(scale, lambda: (np.array([1.5, -2.25, 0.0, 127.99609375, -128.0, 0.00390625]), 3.0),
                  _check_scale),
    "twice": Case(twice, lambda: (np.array([1, -3, 1000, -1000, 2047], dtype=np.int16), 5), _check_twice),
    "dot": Case(dot, lambda: (np.array([1, 2, -3, 6], dtype=np.int32), 0.75), _check_dot),
}


def _host_command(folder, target):
    """The host invocation of ``make run TARGET=...`` (a dry run): environment and argv."""
    proc = subprocess.run(["make", "-n", "run", f"TARGET={target}"], cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "./host.exe" in ln)
    words = shlex.split(line)
    env = dict(w.split("=", 1) for w in words[:words.index("./host.exe")])
    return env, words[words.index("./host.exe"):]


def _build_host_with_mock_xrt(folder, top):
    """host.cpp as the Makefile compiles it (C++17), kernel.cpp as csim does, linked with the mock XRT."""
    flags = [*CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", str(SHIMS), "-I", MOCK, "-I", "."]
    host_flags = [f for f in flags if not f.startswith("-std=")] + ["-std=c++17"]
    for cmd in (["g++", *host_flags, "-c", "host.cpp", "-o", "host.o"],
                ["g++", *flags, *precompiled_header_flags(), f"-DXRT_MOCK_TOP={top}", "kernel.cpp",
                 os.path.join(MOCK, "xrt_mock.cpp"), "host.o", "-o", "host.exe"]):
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.parametrize("name", list(CASES))
def test_host_data_path_through_mock_xrt(tmp_path, name):
    case = CASES[name]
    folder = tmp_path / f"{name}.prj"
    with pytest.raises(dsl.ToolNotFoundError) as err:
        dsl.build(dsl.customize(case.kernel), target="vitis_hls", mode="hw_emu", project=str(folder))
    assert "'v++'" in str(err.value) and f"cd {folder} && make run TARGET=hw_emu PLATFORM=xilinx_u280" in str(err.value)

    project = VitisProject(folder, "hw_emu")
    args = case.args()
    user_args = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    written = project.write_inputs(*user_args)
    assert sorted(p.name for p in written) == sorted(f"{f}.bin" for f, a in zip(
        project.interface.files, project.interface.sig.args) if not a.is_output)
    with pytest.raises(dsl.ToolNotFoundError, match=r"'v\+\+'.*make run TARGET=hw_emu"):
        project(*user_args)

    env, argv = _host_command(folder, "hw_emu")
    assert env == {"XCL_EMULATION_MODE": "hw_emu"} and argv[1:] == [f"build/hw_emu/{name}.xclbin", "data"]
    _build_host_with_mock_xrt(folder, name)
    proc = subprocess.run(argv, cwd=folder, env={**os.environ, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"xrt_mock: ran {name}" in proc.stderr
    case.check(user_args, project.read_outputs(*user_args))


# -- the device layout of the data files ------------------------------------------------------------

@pytest.mark.parametrize("dtype, values, raw", [
    (int8, [-1, 5], b"\xff\x05"),
    (Int(12), [-3, 2047], b"\xfd\xff\xff\x07"),  # 2 bytes, sign-extended
    (UInt(12), [4095], b"\xff\x0f"),
    (Int(24), [-2], b"\xfe\xff\xff\xff"),  # 3 bytes of bits -> 4 bytes
    (UInt(1), [True, False], b"\x01\x00"),
    (Fixed(16, 8), [1.5, -0.00390625], b"\x80\x01\xff\xff"),  # raw bits: value * 2**8
    (float16, [1.0], b"\x00\x3c"),
    (float32, [1.0], b"\x00\x00\x80\x3f"),
    (index, [-2], b"\xfe\xff\xff\xff"),
    (Int(72), [-1], b"\xff" * 16),  # 9 bytes -> 16
])
def test_device_layout(dtype, values, raw):
    spec = dsl.backend.interface.ArgSpec("x", dtype, (len(values),), False)
    storage = dsl.backend.interface.to_storage(spec, np.array(values))
    assert hostdata.encode(dtype, storage) == raw
    back = hostdata.decode(dtype, raw, (len(values),))
    np.testing.assert_array_equal(dsl.backend.interface.from_storage(spec, back), values)


def test_decode_ignores_padding_bits():
    assert list(hostdata.decode(Int(12), b"\xfd\x7f", (1,))) == [-3]  # bits 12..15 are not the value's
    assert list(hostdata.decode(UInt(4), b"\xf3", (1,))) == [3]
    with pytest.raises(dsl.BuildError, match="expected 2 x 2 bytes"):
        hostdata.decode(Int(12), b"\x00" * 3, (2,))


def test_project_errors(tmp_path):
    with pytest.raises(dsl.BuildError, match="interface.json not found"):
        VitisProject(tmp_path, "hw_emu")
    dsl.build(dsl.customize(gemm), target="vitis_hls", mode="csim", project=str(tmp_path))
    with pytest.raises(dsl.BuildError, match="valid modes"):
        VitisProject(tmp_path, "emu")
    with pytest.raises(dsl.BuildError, match="does not run the kernel"):
        VitisProject(tmp_path, "csyn")(np.zeros((8, 4), np.int8), np.zeros((4, 6), np.int8))
    with pytest.raises(dsl.BuildError, match=r"data/A\.out\.bin not found: run the host"):
        VitisProject(tmp_path, "hw_emu").read_outputs()
    with pytest.raises(dsl.CallError, match="must have shape"):
        VitisProject(tmp_path, "hw_emu").write_inputs(np.zeros((4, 8), np.int8), np.zeros((4, 6), np.int8))


@pytest.mark.parametrize("name", list(CASES))
def test_cosim_testbench_data_path(tmp_path, name, monkeypatch):
    """What ``vitis_hls -f run.tcl -tclargs cosim`` runs on the C side: the project's csim_tb.cpp on the
    files ``write_inputs`` puts in data/tb (compiled here with g++ as csim does), read back by a cosim
    project. The RTL half of co-simulation needs the AMD tools."""
    case = CASES[name]
    folder = tmp_path / f"{name}.prj"
    monkeypatch.setenv("PATH", os.path.dirname(shutil.which("g++")))
    with pytest.raises(dsl.ToolNotFoundError) as err:
        dsl.build(dsl.customize(case.kernel), target="vitis_hls", mode="cosim", project=str(folder))
    assert (f"cd {folder} && DSL_HLS_MODE=csyn vitis-run --mode hls --tcl run.tcl (Vitis 2024.2 and later; "
            "before: vitis_hls -f run.tcl -tclargs csyn); then write the inputs") in str(err.value)
    assert (f"cd {folder} && DSL_HLS_MODE=cosim DSL_HLS_DATA=data/tb vitis-run --mode hls --tcl run.tcl (Vitis "
            "2024.2 and later; before: vitis_hls -f run.tcl -tclargs cosim data/tb), or call the project") in str(err.value)
    assert 'DSL_HLS_DATA data/tb' in (folder / "run.tcl").read_text()
    project = VitisProject(folder, "cosim")
    args = case.args()
    user_args = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises(dsl.ToolNotFoundError, match=r"'vitis-run' \(Vitis 2024.2 and later\) or 'vitis_hls'.*"
                                                    r"-tclargs cosim data/tb"):
        project(*user_args)
    project.write_inputs(*user_args)
    flags = [*CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", str(SHIMS), "-I", "."]
    compile_tb = ["g++", *flags, *precompiled_header_flags(), "kernel.cpp", "csim_tb.cpp", "-o", "tb.exe"]
    for argv in (compile_tb, ["./tb.exe", "data/tb"]):
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
    case.check(user_args, project.read_outputs(*user_args))


def widen(A: float16[4]) -> float32[4]:
    B: float32[4] = 0.0
    for i in range(4):
        B[i] = float(A[i]) * 2.0
    return B


def test_float16_testbench_files_under_a_half_class_like_amds(tmp_path, monkeypatch):
    """The project's csim_tb.cpp as vitis_hls compiles it, with a hls_half.h whose half is a class (as AMD's
    is; tests/hls_fake_half): float16 data files carry IEEE bits and must not be read as integers."""
    folder = tmp_path / "widen.prj"
    monkeypatch.setenv("PATH", os.path.dirname(shutil.which("g++")))
    with pytest.raises(dsl.ToolNotFoundError):
        dsl.build(dsl.customize(widen), target="vitis_hls", mode="cosim", project=str(folder))
    project = VitisProject(folder, "cosim")
    A = np.array([1.5, -0.25, 65504.0, 3.0e-5], np.float16)
    project.write_inputs(A)
    fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hls_fake_half")
    flags = [*CXXFLAGS, "-isystem", str(ap_types_dir()), "-I", fake, "-I", str(SHIMS), "-I", "."]
    for argv in (["g++", *flags, "kernel.cpp", "csim_tb.cpp", "-o", "tb.exe"], ["./tb.exe", "data/tb"]):
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
    np.testing.assert_array_equal(project.read_outputs(A), A.astype(np.float32) * 2)


@pytest.mark.parametrize("state", [5, 6, 8])  # ERT_CMD_STATE_ERROR, _ABORT, _TIMEOUT
def test_the_host_exits_non_zero_and_reads_nothing_back_when_the_run_does_not_complete(tmp_path, state):
    folder = tmp_path / "gemm.prj"
    with pytest.raises(dsl.ToolNotFoundError):
        dsl.build(dsl.customize(gemm), target="vitis_hls", mode="hw_emu", project=str(folder))
    project = VitisProject(folder, "hw_emu")
    args = CASES["gemm"].args()
    project.write_inputs(*args)
    env, argv = _host_command(folder, "hw_emu")
    _build_host_with_mock_xrt(folder, "gemm")
    proc = subprocess.run(argv, cwd=folder, env={**os.environ, **env, "XRT_MOCK_RUN_STATE": str(state)},
                          capture_output=True, text=True)
    assert proc.returncode != 0 and f"kernel gemm did not complete (ert_cmd_state {state})" in proc.stderr
    assert not list((folder / "data").glob("*.out.bin"))
