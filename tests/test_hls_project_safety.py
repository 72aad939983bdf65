"""The project folder is the user's: dsl never writes into a folder it did not write, never overwrites a file
someone edited, leaves unchanged files alone (so make does not re-run v++), and validates project= and
configs= before anything is written (issue 9: 2.1, 4, 5, 6.8)."""
import os
import shutil
import subprocess

import pytest

import dsl
from dsl import int8, int32

MARKER = ".dsl-project"


def gemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def _build(folder, s=None, mode="csim", **configs):
    s = s or dsl.customize(gemm)
    return dsl.build(s, target="vitis_hls", mode=mode, project=folder, configs=configs)


def _snapshot(folder):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir() if p.is_file()}


def test_an_empty_project_path_is_refused_and_the_current_folder_untouched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("my notes")
    (tmp_path / "Makefile").write_text("all:\n\techo mine\n")
    before = _snapshot(tmp_path)
    for empty in ("", "   "):
        with pytest.raises(dsl.BuildError, match=r"project= must name a folder, got '\s*'"):
            _build(empty)
    with pytest.raises(dsl.BuildError, match="project= must be a folder path"):
        _build(3)
    assert _snapshot(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["Makefile", "README.md"]


def test_a_folder_dsl_did_not_write_is_refused_unless_empty(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "README.md").write_text("my notes")
    with pytest.raises(dsl.BuildError) as err:
        _build(mine)
    assert "already holds files that dsl did not write (README.md)" in str(err.value)
    assert os.listdir(mine) == ["README.md"] and (mine / "README.md").read_text() == "my notes"
    monkeypatch.chdir(mine)  # project="." means the current folder, and is refused the same way
    with pytest.raises(dsl.BuildError, match="already holds files that dsl did not write"):
        _build(".")
    empty = tmp_path / "empty"
    empty.mkdir()
    _build(empty)
    assert (empty / MARKER).is_file() and (empty / "kernel.cpp").is_file()


def test_a_project_folder_is_rebuilt_keeping_build_outputs_but_an_edited_file_is_never_overwritten(tmp_path):
    folder = tmp_path / "p"
    _build(folder)
    marker = (folder / MARKER).read_text()
    assert "kernel.cpp" in marker and "host.cpp" in marker and "Makefile" in marker
    (folder / "host.exe").write_text("a build output")
    s = dsl.customize(gemm)
    s.pipeline("j")
    _build(folder, s)  # another schedule: kernel.cpp changes, the build output stays
    assert "#pragma HLS pipeline" in (folder / "kernel.cpp").read_text()
    assert (folder / "host.exe").read_text() == "a build output"
    (folder / "kernel.cpp").write_text("// my hand-tuned kernel\n")
    with pytest.raises(dsl.BuildError, match=r"kernel\.cpp' was changed since dsl wrote it"):
        _build(folder)
    assert (folder / "kernel.cpp").read_text() == "// my hand-tuned kernel\n"


def test_an_identical_rebuild_leaves_every_file_alone(tmp_path):
    folder = tmp_path / "p"
    _build(folder)
    before = _snapshot(folder)
    _build(folder)
    assert _snapshot(folder) == before  # same inodes and modification times: nothing was rewritten


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_does_not_rerun_vpp_after_an_identical_rebuild(tmp_path):
    """The v++ products (stand-ins here, just newer than their sources) stay up to date for make."""
    folder = tmp_path / "p"
    _build(folder)
    newest = max(p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file())
    for product in ("build/sw_emu/gemm.xo", "build/sw_emu/gemm.xclbin", "host.exe"):
        path = folder / product
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("stand-in")
        os.utime(path, ns=(newest + 1_000_000, newest + 1_000_000))
    _build(folder)
    dry = subprocess.run(["make", "-n", "build", "TARGET=sw_emu"], cwd=folder, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "v++" not in dry.stdout and "g++" not in dry.stdout, dry.stdout


def test_a_project_path_under_a_file_names_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(dsl.BuildError) as err:
        _build(tmp_path / "notes.txt" / "gemm.prj")
    assert f"'{tmp_path / 'notes.txt'}' is a file, not a folder" in str(err.value)
    assert (tmp_path / "notes.txt").read_text() == "keep" and os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("configs, message", [
    ("u280", r"configs= must be a dict of settings, e.g. configs=\{'device': 'u280'"),
    (["device"], "configs= must be a dict"),
    ({"frequency": 0.001}, r"whole number of MHz from 1 to 1000 .*got 0\.001"),
    ({"frequency": float("nan")}, "whole number of MHz.*got nan"),
    ({"frequency": float("inf")}, "whole number of MHz.*got inf"),
    ({"frequency": 250.5}, "whole number of MHz.*got 250.5"),
    ({"frequency": 0}, "whole number of MHz.*got 0"),
    ({"frequency": 10**6}, "whole number of MHz.*got 1000000"),
    ({"frequency": True}, "whole number of MHz.*got True"),
    ({"frequency": "300"}, "whole number of MHz.*got '300'"),
    ({"device": ["u280"]}, r"unknown device \['u280'\]"),
    ({"banks": 0}, "positive number of memory banks"),
    ({"platform": ""}, r"configs\['platform'\] must be a name"),
    ({"sp": "HBM"}, r"spells a memory bank with '\{bank\}'"),
])
def test_bad_configs_are_clear_errors_and_write_nothing(tmp_path, configs, message):
    with pytest.raises(dsl.BuildError, match=message):
        dsl.build(dsl.customize(gemm), target="vitis_hls", mode="csim", project=tmp_path / "p", configs=configs)
    assert not (tmp_path / "p").exists()


def test_a_whole_frequency_given_as_a_float_is_accepted(tmp_path):
    _build(tmp_path / "p", frequency=250.0)
    assert "FREQUENCY_MHZ ?= 250\n" in (tmp_path / "p" / "Makefile").read_text()
    assert "create_clock -period 4.000" in (tmp_path / "p" / "run.tcl").read_text()
