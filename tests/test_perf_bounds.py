"""Physical bounds of evaluated designs (over-subscribed devices) and one-design sweeps over length."""
import pytest

from dsl.errors import PerfModelError
from dsl.perf import equations as eq
from dsl.perf import evaluate, known_devices, known_models, load_device, load_model
from dsl.perf.__main__ import main
from dsl.perf.data import DESIGN_DIR
from dsl.perf.sweep import study_workload, sweep

GPT2_DESIGN = DESIGN_DIR / "gpt2-medium-u280.yaml"
DECODERS = [m for m in known_models() if load_model(m).is_decoder]


def _weight_stream_ms(model, device, weight_bits: int) -> float:
    """All weights once over the device's peak off-chip bandwidth: the least a batch-1 token can take."""
    return eq.model_weight_bits(load_model(model), weight_bits) / (load_device(device).weight_memory.bandwidth_gbs * 8e9) * 1e3


@pytest.mark.parametrize("device", known_devices("fpga"))
def test_no_design_decodes_faster_than_its_weights_stream(device):
    cases = [(model, None) for model in DECODERS] + [("gpt2-medium", GPT2_DESIGN)]
    checked = 0
    for model, design in cases:
        try:
            r = evaluate(model, device, prompt=16, gen=4, batch=1, gpu=None, design=design)
        except PerfModelError as exc:  # a model too big for the device is refused, not mis-evaluated
            assert "does not fit" in str(exc) or "no feasible design" in str(exc)
            continue
        if r.weights_on_chip:  # nothing streams: the bound is the on-chip capacity instead
            assert eq.model_weight_bits(load_model(model), int(r.quant[1])) <= load_device(device).onchip_bits
            continue
        bound = _weight_stream_ms(model, device, int(r.quant[1]))
        assert r.decode_ms_per_token >= bound, (model, device, design, r.decode_ms_per_token, bound)
        checked += 1
    assert checked >= 4


def test_given_design_on_an_oversubscribed_device_shares_the_channels():
    u280 = evaluate("gpt2-medium", "u280", design=GPT2_DESIGN, gpu=None)
    u250 = evaluate("gpt2-medium", "u250", design=GPT2_DESIGN, gpu=None)
    assert u280.violated == [] and u250.violated == ["bandwidth"]
    # 18 requested DDR4 channels on 4: each 3-channel loader gets 3·4/18 channels at 85% efficiency;
    # f1 streams d·d_FFN four-bit weights per layer and is the slowest stage.
    f1_bits = 1024 * 4096 * 4
    f1_s = f1_bits / (3 * 4 / 18 * 77 / 4 * 8e9 * 0.85)
    k_s = f1_s / 4
    expected = 24 * (f1_s + k_s) + 24 * 6 * 128 / 250e6
    assert u250.decode_ms_per_token == pytest.approx(expected * 1e3, rel=1e-9)
    assert u250.decode_ms_per_token > _weight_stream_ms("gpt2-medium", "u250", 4) / 0.85
    assert u250.decode_bound == "off-chip bandwidth (f1)"
    assert u250.prefill_ms == pytest.approx(u280.prefill_ms)  # prefill reuses each weight 8x: still compute-bound
    assert eq.channel_share(18, 4) == pytest.approx(4 / 18) and eq.channel_share(18, 32) == 1
    assert eq.compute_share(4000, 1000) == 0.25 and eq.compute_share(10, 1000) == 1


def test_table_marks_the_violated_constraint(capsys):
    code = main(["--design", str(GPT2_DESIGN), "--device", "u250", "--gpu", "none"])
    out = capsys.readouterr().out
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("DDR4 channels"))
    assert row.split()[2:] == ["18", "4", "450%", "!"]
    assert "VIOLATED on u250: bandwidth" in out and "each gets 22% of its channels' bandwidth" in out
    assert "!" not in next(line for line in out.splitlines() if line.startswith("MACs/cycle "))


def test_a_design_that_asks_for_too_many_macs_time_shares_them():
    design = DESIGN_DIR / "gpt2-medium-u280.yaml"
    from dsl.perf import load_design

    big = load_design(design).replace(macs_per_cycle={op: 4096 for op in eq.LINEAR_OPS}, name="big")
    fits = load_design(design).replace(macs_per_cycle={op: 1024 for op in eq.LINEAR_OPS}, name="fits")
    r_big = evaluate("gpt2-medium", "u280", design=big, gpu=None)
    r_fits = evaluate("gpt2-medium", "u280", design=fits, gpu=None)
    assert "compute" in r_big.violated and "compute" not in r_fits.violated
    # 8 x 4096 MACs/cycle on a budget of 9024·2·0.9 = 16,243: no faster in prefill than that budget allows
    budget = 9024 * 2 * 0.9
    assert r_big.prefill_ms >= r_fits.prefill_ms * (8 * 1024) / budget * 0.999


def _non_decreasing(values) -> bool:
    return all(a <= b * (1 + 1e-12) for a, b in zip(values, values[1:]))  # equal up to float rounding


# (model, device, longest length): llama2-7b's on-chip residual FIFOs rule out 2048 tokens on a U280
@pytest.mark.parametrize("model, device, top", [("gpt2-medium", "u280", 1024), ("llama2-7b", "u280", 1024),
                                                ("bert-base", "u55c", 512), ("gpt2-small", "u250", 1024),
                                                ("gpt2-xl", "vck5000", 1024)])
def test_sweep_with_one_design_is_monotonic_in_length(model, device, top):
    lengths = sorted({1, 2, 3, 5, 8, 16, 33, 64, 128, 200, 256, top // 2, top})
    study = sweep(model, device, lengths, gen=128)
    prefill = [p.prefill_ms for p in study.points]
    assert [p.length for p in study.points] == lengths
    assert _non_decreasing(prefill), prefill
    assert prefill[-1] > 2 * prefill[0]
    if load_model(model).is_decoder:
        decode = [p.decode_ms_per_token for p in study.points]
        assert _non_decreasing(decode), decode
    else:
        assert all(p.decode_ms_per_token is None for p in study.points)
    assert study.workload.max_context == top


def test_sweep_uses_the_given_design_and_matches_evaluate():
    study = sweep("gpt2-medium", "u280", [16, 128], design=GPT2_DESIGN)
    assert study.design.name == "gpt2-medium-u280"
    one = evaluate("gpt2-medium", "u280", prompt=128, gen=1, design=GPT2_DESIGN, gpu=None)
    assert study.points[-1].prefill_ms == pytest.approx(one.prefill_ms)
    assert study_workload(load_model("bert-base"), 512, 128, 1).gen == 0
    with pytest.raises(PerfModelError, match="maximum sequence"):
        sweep("bert-base", "u280", [16, 1024])


def test_searched_design_on_an_oversubscribed_device_shares_channels_by_demand():
    """Six weight loaders on the U250's four DDR4 channels: each gets channels in proportion to the weight
    bandwidth it needs (f1/f2 have 4x the MACs/cycle of q/k/v/p), so all run at the same fraction of it."""
    r = evaluate("gpt2-medium", "u250", gpu=None)
    ch, m = r.channels_per_loader, r.macs_per_cycle
    assert r.violated == [] and r.layers_per_device == 1
    assert sum(ch.values()) == pytest.approx(4.0)
    for op in ch:
        assert ch[op] / ch["q"] == pytest.approx(m[op] / m["q"]), op
    even = 4 / 6  # what an even split would give each loader
    assert ch["f1"] > even > ch["q"]
