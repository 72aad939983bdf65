"""Qualitative findings of the paper, multi-device and the command line for every model x device pair."""
import json
import subprocess
import sys

import pytest

from dsl.perf import evaluate, known_devices, known_models
from dsl.perf import equations as eq
from dsl.perf.__main__ import main
from dsl.perf.data import DESIGN_DIR, load_model

FPGAS = known_devices("fpga")
GPUS = known_devices("gpu")
MODELS = known_models()
GPT2_DESIGN = DESIGN_DIR / "gpt2-medium-u280.yaml"


def test_catalogue_is_complete():
    assert set(FPGAS) == {"u280", "u55c", "u250", "vck5000", "vhk158", "s10nx", "agm039"}
    assert set(GPUS) == {"rtx2080ti", "a100", "h100"}
    assert set(MODELS) >= {"bert-base", "bert-large", "gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl",
                           "llama2-7b", "llama2-13b"}
    assert load_model("vicuna-13b").layers == 40


def test_u280_decode_beats_a100_but_long_prefill_does_not():
    result = evaluate("gpt2-medium", "u280", prompt=128, gen=128, design=GPT2_DESIGN, gpu="a100")
    assert result.decode_ms_per_token < result.gpu.decode_ms_per_token
    long = evaluate("gpt2-medium", "u280", prompt=512, gen=16, design=GPT2_DESIGN, gpu="a100")
    assert long.prefill_ms > long.gpu.prefill_ms
    bert = evaluate("bert-base", "u280", prompt=512, design=DESIGN_DIR / "bert-base-u280.yaml")
    assert bert.prefill_ms > bert.gpu.prefill_ms and bert.decode_ms_per_token is None


def test_lower_weight_precision_lowers_the_bandwidth_bound():
    model = load_model("gpt2-medium")
    assert eq.bandwidth_bound_seconds(model, 4, 460, 1) == eq.bandwidth_bound_seconds(model, 8, 460, 1) / 2
    w4 = evaluate("gpt2-medium", "u280", quant="w4a8", gpu=None)
    w8 = evaluate("gpt2-medium", "u280", quant="w8a8", gpu=None)
    assert w4.constraint_limits["bandwidth"] > w8.constraint_limits["bandwidth"]
    assert w4.decode_ms_per_token < w8.decode_ms_per_token
    assert w8.bottleneck == "off-chip bandwidth"


def test_without_memory_packing_the_port_constraint_binds_first():
    packed = evaluate("gpt2-medium", "u280", gpu=None)
    unpacked = evaluate("gpt2-medium", "u280", gpu=None, memory_packing=False)
    assert unpacked.bottleneck == "on-chip memory ports"
    assert packed.bottleneck == "compute (MACs/cycle)"
    assert unpacked.constraint_limits["ports"] < packed.macs_per_cycle["q"]


def test_searched_design_respects_every_resource():
    result = evaluate("gpt2-medium", "u280", gpu=None)
    for kind, res in result.resources.items():
        assert res["used"] <= res["available"] + 1e-9, kind
    assert result.decode_tokens_per_s == pytest.approx(1e3 / result.decode_ms_per_token)


def test_tensor_parallelism_shortens_prefill_and_adds_an_allreduce():
    one = evaluate("gpt2-medium", "u280", gpu=None)
    two = evaluate("gpt2-medium", "u280", gpu=None, tp=2)
    assert two.prefill_ms < one.prefill_ms
    assert evaluate("llama2-13b", "u280", quant="w8a8", gpu=None, tp=2, pp=2).prefill_ms > 0


def test_batch_raises_decode_throughput():
    one = evaluate("gpt2-medium", "u280", gpu=None, design=GPT2_DESIGN)
    four = evaluate("gpt2-medium", "u280", gpu=None, design=GPT2_DESIGN, batch=4)
    assert four.decode_tokens_per_s > one.decode_tokens_per_s


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_for_every_model_and_device(capsys):
    for device in FPGAS:
        for model in MODELS:
            code, out, err = _run([model, "--device", device, "--json", "--gpu", GPUS[len(model) % 3]], capsys)
            assert code == 0, (model, device, err)
            data = json.loads(out)
            for key in ("prefill_ms", "ttft_ms", "decode_ms_per_token", "decode_tokens_per_s",
                        "energy_mj_per_token", "bottleneck", "macs_per_cycle", "resources", "gpu"):
                assert key in data, key
            assert data["prefill_ms"] > 0 and set(data["macs_per_cycle"]) == set(eq.LINEAR_OPS)


def _check_plots(tmp_path, model, device, capsys):
    out_png = tmp_path / f"{model}-{device}.png"
    code, out, err = _run([model, "--device", device, "--plot", str(out_png)], capsys)
    assert code == 0, err
    assert "latency vs M" in out
    for path in (out_png, tmp_path / f"{model}-{device}_m.png"):
        assert path.stat().st_size > 5000


def test_cli_table_and_plots_cover_every_model_and_device(tmp_path, capsys):
    # one plotted model per device, rotating so that every model and every device is drawn
    for i, device in enumerate(FPGAS + FPGAS[:1]):
        _check_plots(tmp_path, MODELS[i % len(MODELS)], device, capsys)


@pytest.mark.slow
def test_cli_plots_for_every_pair(tmp_path, capsys):
    for device in FPGAS:
        for model in MODELS:
            _check_plots(tmp_path, model, device, capsys)


def test_cli_table_names_everything(capsys):
    code, out, _ = _run(["gpt2-medium", "--device", "u280", "--gpu", "a100"], capsys)
    assert code == 0
    for text in ("MACs/cycle", "BRAM18K", "URAM", "bottleneck", "prefill ms", "time to first token",
                 "decode ms/token", "tokens/s", "energy mJ/token", "GPU a100"):
        assert text in out


@pytest.mark.parametrize("argv, message", [
    (["gpt2-medium", "--device", "u999"], "unknown device"),
    (["gpt9"], "unknown model"),
    (["gpt2-medium", "--prompt", "-5"], "prompt must be"),
    (["llama2-13b", "--device", "u280", "--quant", "w16a16"], "does not fit"),
    (["gpt2-medium", "--device", "a100"], "is a GPU"),
    (["gpt2-medium", "--prompt", "1000", "--gen", "100"], "maximum sequence"),
    (["gpt2-medium", "--quant", "w3a7"], "unknown quantisation"),
    (["gpt2-medium", "--set", "warp_speed=9"], "unknown calibration"),
])
def test_cli_invalid_input_is_a_clear_message(argv, message, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_cli_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dsl.perf", "bert-base", "--design",
                           str(DESIGN_DIR / "bert-base-u280.yaml"), "--prompt", "512", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["design"] == "bert-base-u280" and data["gpu"]["device"] == "a100"
    bad = subprocess.run([sys.executable, "-m", "dsl.perf", "gpt2-medium", "--device", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "unknown device" in bad.stderr
