"""Mistaken command lines and input files of `python -m dsl.perf` and `python -m dsl`: a one-line error on
stderr and exit status 2, never a traceback; `--json --list` prints JSON."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from dsl.perf.__main__ import main as perf_main
from dsl.perf.data import DESIGN_DIR, MODEL_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _perf(argv, capsys):
    code = perf_main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def _edited(tmp_path, source, name, **changes):
    data = yaml.safe_load(source.read_text())
    data.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("changes, message", [
    ({"layers_per_device": 0}, "layers_per_device must be an integer ≥ 1, got 0"),
    ({"channels_per_loader": [1, 2]}, "channels_per_loader must be a positive number"),
    ({"channels_per_loader": {"q": 0}}, "channels_per_loader must be a positive number"),
    ({"channels_per_loader": {"qq": 2}}, "map operators (q, k, v, a1, a2, p, f1, f2)"),
    ({"weight_reuse": "eight"}, "weight_reuse must be an integer ≥ 1, got 'eight'"),
    ({"macs_per_cycle": -4}, "MACs/cycle must be positive"),
])
def test_bad_design_file(tmp_path, capsys, changes, message):
    path = _edited(tmp_path, DESIGN_DIR / "gpt2-medium-u280.yaml", "design.yaml", **changes)
    code, out, err = _perf(["--design", path], capsys)
    assert code == 2 and out == "" and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize("changes, message", [
    ({"layers": "four"}, "layers must be an integer ≥ 1, got 'four'"),
    ({"heads": 0}, "heads must be an integer ≥ 1, got 0"),
    ({"hidden": 10.5}, "hidden must be an integer ≥ 1, got 10.5"),
])
def test_bad_model_file(tmp_path, capsys, changes, message):
    path = _edited(tmp_path, MODEL_DIR / "gpt2-medium.yaml", "model.yaml", **changes)
    code, out, err = _perf([path, "--gpu", "none"], capsys)
    assert code == 2 and out == "" and message in err, err


def test_json_list_is_json(capsys):
    code, out, _ = _perf(["--json", "--list"], capsys)
    assert code == 0
    listing = json.loads(out)
    assert "u280" in listing["fpgas"] and "a100" in listing["gpus"] and "gpt2-medium" in listing["models"]
    assert "gpt2-medium-u280" in listing["designs"]
    code, out, _ = _perf(["--list"], capsys)
    assert code == 0 and out.startswith("FPGAs:")


@pytest.mark.parametrize("out_arg, message", [
    ("", "name a folder"),
    ("a_file", "it is a file"),
    (os.path.join("a_file", "sub"), "cannot create the folder"),
])
def test_tour_out_must_be_a_folder(tmp_path, out_arg, message):
    (tmp_path / "a_file").write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "dsl", "--out", out_arg], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and message in proc.stderr, proc.stderr
    assert (tmp_path / "a_file").read_text() == "not a folder"
