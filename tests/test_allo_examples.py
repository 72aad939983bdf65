"""examples/allo_programs.py runs (on the CPU, the simulator and csim) and agrees with numpy, with no warning
(program 1 is a design Vitis accepts: its memory arguments each have one kernel)."""
import importlib.util
import warnings
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "allo_programs.py"


def test_allo_style_programs_agree_with_numpy():
    spec = importlib.util.spec_from_file_location("allo_programs", SCRIPT)
    programs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(programs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. the HLS build's warning about a design Vitis would reject
        errors = programs.run_all(csim=True)
    assert set(errors) == set(programs.PROGRAMS) and len(errors) == 4
    for name, err in errors.items():
        assert err < 1e-4, f"{name}: max |error| {err}"
