"""The README's main job (``python -m dsl``) runs end to end and every result in it agrees with numpy."""
from __future__ import annotations

import shutil

import pytest

from dsl.__main__ import main


@pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")
def test_tour_runs_and_agrees(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "all results agree with numpy" in out
    assert out.count("matches numpy") == 6 and "DIFFERS" not in out
    assert "minimal stream depths that avoid this deadlock: 'short' >= 7" in out
    assert (tmp_path / "tour_gemm.prj" / "kernel.cpp").is_file()
    assert (tmp_path / "gemm_schedule.yaml").is_file()
