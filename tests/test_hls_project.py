"""The Vitis project: files, XRT host against the mock of the native API (declarations), Makefile dry runs, connectivity,
byte-identical rebuilds, and vendor modes without the tools."""
import os
import shutil
import subprocess

import pytest

import dsl
from dsl import int8, int32

MOCK_XRT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hls_mock_xrt")
FILES = {"kernel.cpp", "kernel.h", "host.cpp", "Makefile", "connectivity.cfg", "run.tcl", "README.md",
         "csim_tb.cpp", "dsl_csim_io.h", "interface.json", "design.mlir", "schedule.yaml", ".dsl-project"}


def gemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def dot(A: int32[4], n: int32) -> int32:
    s: int32 = 0
    for i in range(4):
        s += A[i] * n
    return s


def _csim_project(kernel, folder, **configs):
    return dsl.build(dsl.customize(kernel), target="vitis_hls", mode="csim", project=str(folder), configs=configs)


def test_project_files_and_byte_identical_rebuild(tmp_path):
    _csim_project(gemm, tmp_path / "a")
    _csim_project(gemm, tmp_path / "b")
    assert set(os.listdir(tmp_path / "a")) == FILES
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("kernel", [gemm, dot])
def test_host_compiles_against_xrt_declarations(tmp_path, kernel):
    _csim_project(kernel, tmp_path)
    host = (tmp_path / "host.cpp").read_text()
    for api in ("xrt::device", "xrt::kernel", "xrt::bo", "xrt::run", "load_xclbin", "group_id"):
        assert api in host
    assert "xcl2" not in host and "cl::" not in host
    proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-I", MOCK_XRT, "host.cpp"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
@pytest.mark.parametrize("target", ["sw_emu", "hw_emu", "hw"])
def test_makefile_dry_run(tmp_path, target):
    _csim_project(gemm, tmp_path, device="u55c")
    proc = subprocess.run(["make", "-n", "run", f"TARGET={target}"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"v++ -c -t {target} --platform xilinx_u55c_gen3x16_xdma_3_202210_1" in out
    assert f"v++ -l -t {target}" in out and "--config connectivity.cfg" in out
    assert ("XCL_EMULATION_MODE=" in out) == (target != "hw")


def test_connectivity_names_every_argument_auto_and_user_mapping(tmp_path):
    _csim_project(gemm, tmp_path / "auto")
    auto = (tmp_path / "auto" / "connectivity.cfg").read_text().splitlines()
    assert auto == ["[connectivity]", "nk=gemm:1:gemm_1", "sp=gemm_1.A:HBM[0]", "sp=gemm_1.B:HBM[1]",
                    "sp=gemm_1.C:HBM[2]"]
    _csim_project(gemm, tmp_path / "user", device="u280", frequency=250, hbm={"A": 5, "B": 7, "return": 9})
    user = (tmp_path / "user" / "connectivity.cfg").read_text()
    assert "sp=gemm_1.A:HBM[5]" in user and "sp=gemm_1.B:HBM[7]" in user and "sp=gemm_1.C:HBM[9]" in user
    assert "FREQUENCY_MHZ ?= 250" in (tmp_path / "user" / "Makefile").read_text()
    _csim_project(dot, tmp_path / "ddr", device="u250")
    ddr = (tmp_path / "ddr" / "connectivity.cfg").read_text()
    assert "sp=dot_1.A:DDR[0]" in ddr and "sp=dot_1.ret0:DDR[1]" in ddr
    assert "set_part {xcu250-figd2104-2L-e}" in (tmp_path / "ddr" / "run.tcl").read_text()


def test_bad_configs_are_clear(tmp_path):
    with pytest.raises(dsl.BuildError, match="unknown device 'u999'"):
        _csim_project(gemm, tmp_path, device="u999")
    with pytest.raises(dsl.BuildError, match="unknown argument"):
        _csim_project(gemm, tmp_path, hbm={"Q": 1})
    assert not tmp_path.exists() or not os.listdir(tmp_path)  # nothing half written


@pytest.mark.parametrize("mode, tool", [("hw_emu", "v++"), ("csyn", "vitis_hls")])
def test_vendor_mode_without_tools_writes_project_and_names_command(tmp_path, mode, tool, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(shutil.which("g++")))
    if shutil.which(tool):
        pytest.skip(f"{tool} is installed")
    folder = tmp_path / "gemm.prj"
    with pytest.raises(dsl.ToolNotFoundError) as err:
        dsl.build(dsl.customize(gemm), target="vitis_hls", mode=mode, project=str(folder))
    assert f"'{tool}'" in str(err.value) and f"cd {folder} && " in str(err.value)
    assert set(os.listdir(folder)) == FILES


def test_unknown_mode():
    with pytest.raises(dsl.BuildError, match="valid modes"):
        dsl.build(dsl.customize(gemm), target="vitis_hls", mode="synth")


def test_memory_mapping_must_match_the_device_and_hbm_ranges_work(tmp_path):
    with pytest.raises(dsl.BuildError, match=r"configs\['hbm'\] maps arguments to HBM, but u250 has DDR"):
        _csim_project(dot, tmp_path / "x", device="u250", hbm={"A": 0})
    with pytest.raises(dsl.BuildError, match=r"but u280 has HBM memory"):
        _csim_project(dot, tmp_path / "x", ddr={"A": 0})
    with pytest.raises(dsl.BuildError, match=r"'lo:hi' with 0 <= lo <= hi <= 31"):
        _csim_project(gemm, tmp_path / "x", hbm={"A": "3:40"})
    with pytest.raises(dsl.BuildError, match=r"give a bank number 0..3$"):
        _csim_project(dot, tmp_path / "x", device="u250", ddr={"A": "0:1"})
    assert not (tmp_path / "x").exists()
    _csim_project(gemm, tmp_path / "range", hbm={"A": "0:3", "B": 4})
    cfg = (tmp_path / "range" / "connectivity.cfg").read_text()
    assert "sp=gemm_1.A:HBM[0:3]" in cfg and "sp=gemm_1.B:HBM[4]" in cfg


def test_misspelt_build_option_names_the_valid_ones(tmp_path):
    with pytest.raises(dsl.BuildError) as err:
        dsl.build(dsl.customize(gemm), target="vitis_hls", project=str(tmp_path / "p"), hbm={"A": 0})
    assert "takes the options mode=, project=, configs=, timeout=; unknown: hbm=" in str(err.value)
    assert not (tmp_path / "p").exists()


def test_project_files_have_default_permissions_and_a_file_is_not_a_project(tmp_path):
    _csim_project(dot, tmp_path / "p")
    mask = os.umask(0)
    os.umask(mask)
    assert {oct((tmp_path / "p" / n).stat().st_mode & 0o777) for n in FILES} == {oct(0o666 & ~mask)}
    assert oct((tmp_path / "p").stat().st_mode & 0o777) == oct(0o777 & ~mask)
    (tmp_path / "f").write_text("keep me")
    with pytest.raises(dsl.BuildError, match="is an existing file, not a folder"):
        _csim_project(dot, tmp_path / "f")
    assert (tmp_path / "f").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["f", "p"]  # no scratch folder left behind


def test_a_failed_write_leaves_no_half_written_project(tmp_path, monkeypatch):
    from dsl.backend.hls import project

    real_open = open
    written = []

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("run.tcl"):
            raise OSError(28, "No space left on device")
        written.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(project, "open", failing_open, raising=False)
    with pytest.raises(dsl.BuildError, match="No space left on device"):
        _csim_project(dot, tmp_path / "p")
    assert written and os.listdir(tmp_path) == []  # the files written before the failure are gone too


def spin(A: int32[4]) -> int32[4]:
    B: int32[4] = 0
    i: int32 = 0
    while i < 4:  # never ends: i does not change
        B[0] = B[0] + A[0]
    return B


def test_csim_of_an_endless_kernel_stops_at_the_timeout():
    import numpy as np

    module = dsl.build(dsl.customize(spin), target="vitis_hls", mode="csim", timeout=0.5)
    with pytest.raises(dsl.BuildError, match="did not finish within 0.5 s"):
        module(np.ones(4, np.int32))
    with pytest.raises(dsl.BuildError, match="timeout must be a positive number"):
        dsl.build(dsl.customize(spin), target="vitis_hls", timeout=0)


def wild(A: int32[4], n: dsl.index) -> int32[4]:
    B: int32[4] = 0
    for i in range(n):
        B[i * 100000000] = A[0]  # far out of range: C++ has no bounds check
    return B


def test_a_crashing_csim_names_the_signal_and_its_likely_causes():
    import numpy as np

    module = dsl.build(dsl.customize(wild), target="vitis_hls", mode="csim")
    with pytest.raises(dsl.BuildError, match=r"failed \(SIGSEGV: an array index out of range"):
        module(np.ones(4, np.int32), 4)
