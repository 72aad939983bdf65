"""Input handling of the performance model: calibration ranges, device names, FPGA/GPU mix-ups."""
import pytest

from dsl.errors import PerfModelError
from dsl.perf import Calibration, evaluate, known_devices, load_device
from dsl.perf.__main__ import main
from dsl.perf.data import CALIBRATION_RANGES, DEVICE_DIR, MODEL_DIR, _catalogue, normal_name


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("setting, message", [
    ("achieved_clock_fraction=abc", "achieved_clock_fraction must be a number in (0, 1], got 'abc'"),
    ("achieved_clock_fraction=-1", "achieved_clock_fraction must be a number in (0, 1], got -1"),
    ("achieved_clock_fraction=0", "got 0"),
    ("offchip_channel_efficiency=5", "offchip_channel_efficiency must be a number in (0, 1], got 5"),
    ("link_latency_us=-0.5", "link_latency_us must be a number ≥ 0, got -0.5"),
    ("operator_startup_cycles=1.5", "operator_startup_cycles must be an integer ≥ 0, got 1.5"),
    ("gpu_kernels_per_layer=3", "gpu_kernels_per_layer must be an integer ≥ 9, got 3"),
    ("gpu_memory_efficiency=nan", "gpu_memory_efficiency must be a number in (0, 1], got nan"),
    ("compute_usable_fraction=", "compute_usable_fraction must be"),
])
def test_set_out_of_range_is_a_clear_error(setting, message, capsys):
    code, out, err = _run(["gpt2-medium", "--device", "u280", "--set", setting], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_set_accepts_valid_numbers_in_any_notation(capsys):
    code, out, err = _run(["gpt2-medium", "--gpu", "none", "--set", "achieved_clock_fraction=1",
                           "--set", "link_latency_us=0", "--set", "gpu_kernel_launch_us=5e-1"], capsys)
    assert code == 0, err
    assert "300 MHz" in out  # the whole typical clock of the U280


def test_calibration_file_is_checked_too(tmp_path, capsys):
    path = tmp_path / "calib.yaml"
    path.write_text("offchip_channel_efficiency: 1.2\n")
    code, _, err = _run(["gpt2-medium", "--calibration", str(path)], capsys)
    assert code == 2 and "offchip_channel_efficiency must be a number in (0, 1], got 1.2" in err
    path.write_text("- 1\n- 2\n")
    code, _, err = _run(["gpt2-medium", "--calibration", str(path)], capsys)
    assert code == 2 and "must hold a mapping" in err


def test_python_api_checks_the_range_in_one_place():
    with pytest.raises(PerfModelError, match="fpga_power_fraction must be a number in"):
        Calibration(fpga_power_fraction=0)
    with pytest.raises(PerfModelError, match="link_efficiency must be"):
        Calibration().replace(link_efficiency=True)  # a bool is not a number here
    with pytest.raises(PerfModelError, match="achieved_clock_fraction"):
        evaluate("gpt2-medium", "u280", gpu=None, calibration=Calibration().replace(achieved_clock_fraction=-1))
    assert Calibration(operator_startup_cycles=64.0).operator_startup_cycles == 64
    assert set(CALIBRATION_RANGES) == set(Calibration.__dataclass_fields__)
    for name, valid in CALIBRATION_RANGES.items():  # every default lies in its own range
        assert valid.contains(getattr(Calibration(), name)), name


@pytest.mark.parametrize("name, device", [
    ("stratix10 nx", "s10nx"), ("Stratix 10 NX 2100", "s10nx"), ("STRATIX-10-NX", "s10nx"),
    ("agilex7", "agm039"), ("Agilex 7 AGM039", "agm039"), ("Versal VHK158", "vhk158"),
    ("Alveo U280", "u280"), ("versal_vck5000", "vck5000"), ("U55C", "u55c"), ("RTX 2080 Ti", "rtx2080ti"),
])
def test_device_names_are_normalised(name, device):
    assert load_device(name).name == device


def test_device_names_from_the_issue_work_on_the_command_line(capsys):
    for name in ("stratix10 nx", "agilex7", "Stratix 10 NX 2100", "Agilex 7 AGM039", "Versal VHK158"):
        code, out, err = _run(["gpt2-medium", "--device", name, "--gpu", "none", "--json"], capsys)
        assert code == 0, (name, err)


def test_aliases_live_in_the_data_and_do_not_collide():
    assert normal_name(" Stratix 10-NX_2100 ") == "stratix10nx2100"
    for directory in (DEVICE_DIR, MODEL_DIR):
        table = _catalogue(directory)  # raises when two files claim one normalised name
        assert all(key == normal_name(key) for key in table)
    assert _catalogue(DEVICE_DIR)["agilex7"].stem == "agm039"


def test_fpga_given_as_gpu_and_gpu_given_as_device(capsys):
    code, out, err = _run(["gpt2-medium", "--gpu", "u280"], capsys)
    gpus = ", ".join(known_devices("gpu"))
    assert code == 2 and err.strip() == f"error: 'u280' is an FPGA; pass it with --device (GPUs: {gpus})"
    assert "FpgaDevice(" not in err
    code, out, err = _run(["gpt2-medium", "--device", "a100"], capsys)
    assert code == 2 and err.startswith("error: 'a100' is a GPU; pass it with --gpu (FPGAs: ")
    assert "u280" in err and "GpuDevice(" not in err
    with pytest.raises(PerfModelError, match="'u55c' is an FPGA; pass it with --device"):
        evaluate("gpt2-medium", "u280", gpu=load_device("u55c"))
