"""The design-level model: named terms that add up, decode averaged over the context, the first-order model
beside it, and the perf command line showing both."""
import pytest
import yaml

from dsl.perf.__main__ import main as perf_main
from dsl.qor import EstimateError
from dsl.qor.design import HostParameters, KernelRun, compare, design_estimate, phase_estimate


def test_phase_terms_add_up_and_are_hand_checked():
    host = HostParameters(kernel_invocation_us=10, host_link_gbs=12, channel_efficiency=0.85)
    kernels = [KernelRun("attn", 250_000, 250), KernelRun("ffn", 500_000, 250, invocations=2, hbm_bytes=1e6)]
    p = phase_estimate(24, kernels, host, channel_gbs=14.375, host_bytes=0)
    # kernels: 24 x (1 ms + 2 x 2 ms); invocations: 24 x 3 x 10 us; HBM: 24 x 1 MB / (14.375 GB/s x 0.85)
    assert p.terms["kernels"] == pytest.approx(24 * (1e-3 + 2 * 2e-3))
    assert p.terms["kernel invocations"] == pytest.approx(24 * 3 * 10e-6)
    assert p.terms["inter-layer activations"] == pytest.approx(24 * 1e6 / (14.375e9 * 0.85))
    assert p.seconds == pytest.approx(sum(p.terms.values()))
    assert p.per_layer == {"attn": pytest.approx(1e-3), "ffn": pytest.approx(4e-3)}


def test_design_estimate_decode_is_the_mean_over_contexts_and_ttft_adds_the_prompt():
    prefill = [KernelRun("layer", 1_000_000, 250)]

    def decode(context):  # a step grows linearly with the context
        return [KernelRun("layer", 10_000 + 100 * context, 250)]

    est = design_estimate("test", "gpt2-medium", "u280", prompt=32, gen=32, prefill=prefill, decode=decode,
                          host=HostParameters(kernel_invocation_us=0, host_link_gbs=12))
    assert est.prefill_ms == pytest.approx(24 * 4.0)
    assert est.ttft_ms == pytest.approx(24 * 4.0 + 33 * 1024 / 12e9 * 1e3)
    mean_context = (32 + 63) / 2  # contexts 32 .. 63; linear in the context, so the mean is at the middle
    step = 24 * (10_000 + 100 * mean_context) / 250e6 + 2 * 1024 / 12e9
    assert est.decode_ms_per_token == pytest.approx(step * 1e3, rel=1e-3)
    compare(est, "gpt2-medium-u280")
    rows = est.rows()
    assert rows[3][0] == "decode ms/token" and rows[3][1] == "2.04"  # the paper's equations for its design
    assert "first-order" in str(est)


def test_bad_host_parameters():
    with pytest.raises(EstimateError):
        HostParameters(kernel_invocation_us=-1)
    with pytest.raises(EstimateError):
        HostParameters(channel_efficiency=2)


def test_perf_cli_prints_both_models(tmp_path, capsys):
    from dsl.perf.data import DESIGN_DIR

    data = yaml.safe_load((DESIGN_DIR / "gpt2-medium-u280.yaml").read_text())
    data["design_level"] = {"prefill_ms": 80.0, "ttft_ms": 80.1, "decode_ms_per_token": 6.0,
                            "decode_tokens_per_s": 166.7}
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(data))
    assert perf_main(["--design", str(path), "--prompt", "32", "--gen", "32", "--gpu", "none"]) == 0
    out = capsys.readouterr().out
    assert "first-order model (the paper's equations) vs design-level estimate" in out
    assert "80.1" in out and "166.7" in out


def test_host_round_trips_per_layer_are_hand_checked():
    """models/host.py's layer loop: the input rows synced to the device, three SLR kernels started together,
    the output rows synced back, every layer."""
    host = HostParameters(kernel_invocation_us=10, host_link_gbs=12, dma_sync_us=5.1, command_us=4.85)
    rows = 32 * 1024 * 4  # 32 float32 rows of 1024
    k = KernelRun("layer", 250_000, 250, started_with=3, host_in_bytes=rows, host_out_bytes=rows)
    p = phase_estimate(24, [k], host, channel_gbs=14.375, host_bytes=2 * 1024)
    assert p.terms["kernels"] == pytest.approx(24 * 1e-3)
    # one start/wait round trip and two more runs started with it
    assert p.terms["kernel invocations"] == pytest.approx(24 * (10 + 2 * 4.85) * 1e-6)
    # two syncs of 5.1 us and 2 x 131,072 bytes at 12 GB/s
    assert p.terms["host round trips"] == pytest.approx(24 * (2 * 5.1e-6 + 2 * rows / 12e9))
    assert p.terms["host transfer"] == 0  # the step's own rows are the first and last round trips
    assert p.seconds == pytest.approx(sum(p.terms.values()))
    est = design_estimate("t", "gpt2-medium", "u280", prompt=32, gen=0, prefill=[k], decode=None, host=host)
    assert est.ttft_ms == pytest.approx(est.prefill_ms)  # the prompt travels in the round trips
