"""Every C++ identifier the HLS backend writes is legal and unique: the user's names where they are legal,
renamed otherwise, with the host program, data files, connectivity and README following the ports
(issue 9, section 3)."""
import os
import subprocess

import numpy as np
import pytest

import dsl
from dsl import int32
from dsl.backend.hls.csim import SHIMS, ap_types_dir
from dsl.backend.hls.identifiers import is_legal, legal_base
from dsl.backend.hls.vitis_project import VitisProject

from .test_hls_host_mock import _build_host_with_mock_xrt, _host_command


def ident(A: int32[4]) -> int32[4]:
    return A  # the returned tensor is named after the input: two arguments called A


def with_dir(dir: int32[4], out: int32[4]):  # dir was the harness's data folder; out is an HDL keyword
    for i in range(4):
        out[i] = dir[i] + 1


def reserved(new: int32[4], _A: int32[4], NAN: int32, EOF: int32[4], errno: int32[4], half: int32[4],
             std: int32[4], main: int32, ret0: int32[4], M_PI: int32[4], dsl_bits: int32[4]) -> int32:
    delete: int32[4] = 0
    for this in range(4):
        delete[this] = new[this] + _A[this] * NAN + EOF[this]
        errno[this] = delete[this] + half[this] - std[this] + M_PI[this] + dsl_bits[this]
        ret0[this] = main
    return delete[3]


def test_a_kernel_returning_its_argument_runs_in_csim():
    A = np.array([3, -1, 7, 2], np.int32)
    code = dsl.build(dsl.customize(ident), target="vhls")
    assert 'extern "C" void ident(int32_t A[4], int32_t A1[4])' in code
    np.testing.assert_array_equal(dsl.build(dsl.customize(ident), target="vitis_hls", mode="csim")(A), A)


def test_an_argument_named_dir_and_an_hdl_keyword_keep_their_names():
    code = dsl.build(dsl.customize(with_dir), target="vhls")
    assert "void with_dir(int32_t dir[4], int32_t out[4])" in code  # legal C++, and AMD's vadd names a port out
    d, out = np.arange(4, dtype=np.int32), np.zeros(4, np.int32)
    dsl.build(dsl.customize(with_dir), target="vitis_hls", mode="csim")(d, out)
    np.testing.assert_array_equal(out, d + 1)


def _reserved_inputs():
    rng = np.random.default_rng(3)
    arrays = [rng.integers(-50, 50, 4).astype(np.int32) for _ in range(9)]
    new, _A, EOF, errno, half, std, ret0, M_PI, dsl_bits = arrays
    return [new, _A, 3, EOF, errno, half, std, 11, ret0, M_PI, dsl_bits]


def _check_reserved(args, got):
    new, _A, NAN, EOF, errno, half, std, main, ret0, M_PI, dsl_bits = args
    delete = new + _A * NAN + EOF
    np.testing.assert_array_equal(errno, delete + half - std + M_PI + dsl_bits)
    np.testing.assert_array_equal(ret0, [main] * 4)
    assert got == delete[3]


def test_reserved_names_are_renamed_and_csim_agrees_with_the_cpu():
    s = dsl.customize(reserved)
    code = dsl.build(s, target="vhls")
    header = ('void reserved(int32_t v_new[4], int32_t v_A[4], int32_t v_NAN, int32_t v_EOF[4], int32_t v_errno[4], '
              'int32_t v_half[4], int32_t v_std[4], int32_t v_main, int32_t v_ret0[4], int32_t v_M_PI[4], '
              'int32_t v_dsl_bits[4], int32_t ret0[1])')
    assert header in code
    assert "int32_t v_delete[4];" in code and "for (int v_this = 0; v_this < 4; ++v_this)" in code
    for build in (s.build, lambda: dsl.build(s, target="vitis_hls", mode="csim")):
        args = _reserved_inputs()
        _check_reserved(args, build()(*args))


def test_the_host_program_data_files_connectivity_and_readme_follow_renamed_ports(tmp_path):
    folder = tmp_path / "reserved.prj"
    with pytest.raises(dsl.ToolNotFoundError):
        dsl.build(dsl.customize(reserved), target="vitis_hls", mode="hw_emu", project=str(folder),
                  configs={"hbm": {"new": 3, "ret0": 5, "return": 9}})  # mapped by the Python names
    cfg = (folder / "connectivity.cfg").read_text()
    assert "sp=reserved_1.v_new:HBM[3]" in cfg and "sp=reserved_1.v_ret0:HBM[5]" in cfg
    assert "sp=reserved_1.ret0:HBM[9]" in cfg  # the scalar result's port
    assert "new (port v_new), _A (port v_A), NAN (port v_NAN)" in (folder / "README.md").read_text()
    project = VitisProject(folder, "hw_emu")
    args = _reserved_inputs()
    written = project.write_inputs(*args)
    assert "v_new.bin" in [p.name for p in written]
    env, argv = _host_command(folder, "hw_emu")
    _build_host_with_mock_xrt(folder, "reserved")
    proc = subprocess.run(argv, cwd=folder, env={**os.environ, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    _check_reserved(args, project.read_outputs(*args))


@pytest.mark.parametrize("name, legal", [
    ("A", True), ("QK_T", True), ("W_Q", True), ("dir", True), ("out", True), ("_x", True), ("Tile", True),
    ("new", False), ("and", False), ("_A", False), ("__x", False), ("a__b", False), ("EOF", False),
    ("NAN", False), ("ENOMEM", False), ("INT8_MAX", False), ("M_PI", False), ("errno", False), ("assert", False),
    ("std", False), ("hls", False), ("half", False), ("ap_int", False), ("int32_t", False), ("dsl_x", False),
    ("DSL_PROCESS", False), ("ret0", False), ("gmem1", False), ("3x", False), ("x-y", False),
])
def test_is_legal(name, legal):
    assert is_legal(name) is legal
    assert is_legal(legal_base(name))
    assert (legal_base(name) == name) is legal


def test_every_macro_of_the_kernel_headers_is_renamed(tmp_path):
    """A macro of the headers kernel.cpp includes (on this machine's compiler and C library) can never be the
    name of a parameter or local: it would be replaced by the preprocessor."""
    (tmp_path / "m.cpp").write_text("".join(f"#include <{h}>\n" for h in (
        "ap_fixed.h", "ap_int.h", "hls_math.h", "hls_half.h", "algorithm", "cmath", "cstdint")))
    proc = subprocess.run(["g++", "-std=c++14", "-dM", "-E", "-isystem", str(ap_types_dir()), "-I", str(SHIMS),
                           "m.cpp"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    macros = {line.split()[1].split("(")[0] for line in proc.stdout.splitlines() if line.startswith("#define ")}
    assert len(macros) > 500
    assert sorted(m for m in macros if is_legal(m)) == []
