"""models/: configs, weights and checkpoints, the float32 reference against Hugging Face, quantisation and the
CLI's refusals (no design is compiled here)."""
import json

import numpy as np
import pytest

from dsl.library import ref
from dsl.library.units import memory
from models import cli
from models import reference as R
from models.config import PRESETS, load_config
from models.errors import ModelError
from models.predict import hbm_map, perf_design
from models.quant import QuantConfig, parse_quant, qlinear, quantize_model
from models.runner import pack_words
from models.weights import load_checkpoint, random_weights, save_checkpoint

TOL = 1e-4  # float32 reference against torch: different summation orders


@pytest.mark.parametrize("name,layers,d,heads,ffn", [
    ("gpt2", 12, 768, 12, 3072), ("gpt2-medium", 24, 1024, 16, 4096), ("bert-base", 12, 768, 12, 3072),
    ("bert-large", 24, 1024, 16, 4096), ("gpt2-tiny", 2, 64, 4, 256), ("bert-tiny", 2, 64, 4, 256),
])
def test_presets_are_hf_config_fields(name, layers, d, heads, ffn):
    cfg = load_config(name)
    assert (cfg.layers, cfg.hidden, cfg.heads, cfg.ffn) == (layers, d, heads, ffn)
    assert cfg.hf["model_type"] == cfg.kind
    assert load_config(name.upper()).hidden == d


def test_config_json_and_bad_configs(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({**PRESETS["gpt2-tiny"], "n_layer": 3}))
    assert load_config(tmp_path).layers == 3
    assert load_config(tmp_path / "config.json").layers == 3
    for hf, msg in (({"model_type": "llama"}, "model_type 'llama' is not supported"),
                    ({"model_type": "gpt2", "n_embd": 60, "n_head": 7}, "not a multiple of the 7 heads"),
                    ({"model_type": "bert", "hidden_act": "relu"}, "activation 'relu' has no unit")):
        (tmp_path / "config.json").write_text(json.dumps(hf))
        with pytest.raises(ModelError, match=msg):
            load_config(tmp_path)
    with pytest.raises(ModelError, match="unknown config 'gpt5'"):
        load_config("gpt5")


@pytest.mark.parametrize("name", ["gpt2-tiny", "bert-tiny"])
def test_checkpoint_round_trip(tmp_path, name):
    cfg = load_config(name)
    w = random_weights(cfg, seed=3)
    save_checkpoint(w, tmp_path)
    back = load_checkpoint(load_config(tmp_path), tmp_path)
    for a, b in zip(w.layers, back.layers):
        assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(np.array_equal(w.top[k], back.top[k]) for k in w.top)


def test_pytorch_bin_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    from models.weights import to_hf

    cfg = load_config("gpt2-tiny")
    w = random_weights(cfg, seed=4)
    cfg.save(tmp_path)
    torch.save({k: torch.from_numpy(v) for k, v in to_hf(w).items()}, tmp_path / "pytorch_model.bin")
    back = load_checkpoint(cfg, tmp_path)
    assert np.array_equal(back.layers[1]["W1"], w.layers[1]["W1"])


def test_a_checkpoint_folder_without_weights_is_refused(tmp_path):
    load_config("gpt2-tiny").save(tmp_path)
    with pytest.raises(ModelError, match="has no weights: expected model.safetensors or pytorch_model.bin"):
        load_checkpoint(load_config(tmp_path), tmp_path)


@pytest.fixture(scope="module")
def hf_checkpoints(tmp_path_factory):
    out = {}
    for name in ("gpt2-tiny", "bert-tiny"):
        folder = tmp_path_factory.mktemp(name)
        out[name] = (random_weights(load_config(name), seed=1), save_checkpoint(random_weights(load_config(name), 1),
                                                                              folder))
    return out


def test_gpt2_reference_against_hugging_face(hf_checkpoints):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    w, folder = hf_checkpoints["gpt2-tiny"]
    ids = np.random.default_rng(0).integers(0, w.config.vocab, 12)
    model = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    with torch.no_grad():
        expect = model(torch.tensor(ids[None])).logits[0].numpy()
    got, _ = R.gpt2_forward(w, ids)
    np.testing.assert_allclose(got, expect, atol=TOL, rtol=0)
    first, cache = R.gpt2_forward(w, ids[:7])  # the KV-cache path: prefill 7, then 5 one at a time
    rest = [R.gpt2_forward(w, [t], cache)[0] for t in ids[7:]]
    np.testing.assert_allclose(np.concatenate([first, *rest]), expect, atol=TOL, rtol=0)


def test_bert_reference_against_hugging_face(hf_checkpoints):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    w, folder = hf_checkpoints["bert-tiny"]
    ids = np.random.default_rng(0).integers(0, w.config.vocab, 16)
    model = transformers.BertModel.from_pretrained(folder).eval()
    with torch.no_grad():
        out = model(torch.tensor(ids[None]))
    h, pooled = R.bert_forward(w, ids)
    np.testing.assert_allclose(h, out.last_hidden_state[0].numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(pooled, out.pooler_output[0].numpy(), atol=TOL, rtol=0)


@pytest.mark.parametrize("bits", [4, 8])
def test_weights_are_per_channel_symmetric(bits):
    w = random_weights(load_config("gpt2-tiny"), seed=2)
    qm = quantize_model(w, QuantConfig(bits))
    q = qm.layers[0]["f1"]
    qmax = (1 << (bits - 1)) - 1
    assert q.Wq.min() >= -qmax and q.Wq.max() <= qmax
    assert (np.abs(q.Wq).max(axis=1) == qmax).all()  # every output channel uses its full range
    np.testing.assert_allclose(q.Wq * q.sw[:, None], w.layers[0]["W1"], atol=float(q.sw.max()) / 2 + 1e-7)


@pytest.mark.parametrize("act,smooth", [("per-token", None), ("per-tensor", None), ("per-token", 0.5)])
def test_quantised_linear_is_close_to_float(act, smooth):
    w = random_weights(load_config("gpt2-tiny"), seed=2)
    qm = quantize_model(w, parse_quant("w8a8", act, smooth))
    x = R.layer_norm(R.gpt2_embed(w, np.arange(16), 0), w.layers[0]["ln1_g"], w.layers[0]["ln1_b"], 1e-5)
    got = qlinear(qm.layers[0]["q"], x, act)
    expect = R.linear(x, w.layers[0]["Wq"], w.layers[0]["bq"])
    assert np.abs(got - expect).max() < 0.05 * np.abs(expect).max()
    if smooth:
        assert not np.allclose(qm.layers[0]["q"].sm, 1.0)


def test_the_fast_integer_product_is_the_librarys():
    from models.quant import int_linear

    rng = np.random.default_rng(7)
    X = rng.integers(-127, 128, (9, 4096)).astype(np.int8)
    W = rng.integers(-127, 128, (33, 4096)).astype(np.int8)
    X[0], W[0] = 127, -127  # the extreme sums
    np.testing.assert_array_equal(int_linear(X, W), ref.systolic_linear(X, W))


def test_bad_quantisations_are_refused():
    for args, msg in ((("w2a8",), "choose w4a8, w8a8"), (("w8a8", "per-row"), "per-token, per-tensor"),
                      (("w4a8", "per-token", 1.5), r"alpha must be in \(0, 1\)")):
        with pytest.raises(ModelError, match=msg):
            parse_quant(*args)


@pytest.mark.parametrize("bits,Nt", [(4, 32), (4, 128), (8, 64)])
def test_weight_words_are_the_librarys_layout(bits, Nt):
    W = np.random.default_rng(0).integers(-(1 << (bits - 1)) + 1, 1 << (bits - 1), (128, 64)).astype(np.int8)
    ints = memory.pack_weight_tiles(W, bits, Nt)
    raw = pack_words(W, bits, Nt)
    assert raw.shape == (len(ints), 64)
    assert [int.from_bytes(r.tobytes(), "little") for r in raw] == [int(v) for v in ints]


def test_prediction_and_channels_come_from_the_design():
    from models.design import build_layer

    cfg = load_config("gpt2-medium")
    pre = build_layer(cfg, QuantConfig(4), "prefill", 32, 64)
    dec = build_layer(cfg, QuantConfig(4), "decode", 1, 64)
    perf = perf_design(pre)
    assert perf.macs_per_cycle["f1"] == pre.linears["f1"].Mt * pre.linears["f1"].Nt == 256
    assert perf_design(dec).macs_per_cycle["q"] == dec.linears["q"].Nt  # one row, a word of weights per cycle
    assert perf_design(dec).channels_per_loader["q"] == dec.linears["q"].loaders == 2
    assert ref.quantize is not None


@pytest.mark.parametrize("name,quant", [("gpt2-medium", 4), ("gpt2", 8), ("bert-base", 4)])
def test_weight_loaders_are_spread_over_the_hbm_channels(name, quant):
    """Decode takes a 512-bit weight word per cycle (16 GB/s at 250 MHz), more than one pseudo-channel gives
    (14.4 GB/s x 0.85): two loaders per operator; prefill's 8 x 32 arrays (its own weight buffers, in its
    layout) one word every 2 or 4 cycles: one loader. Each on a channel of its own, spread evenly over both
    HBM stacks, the other arguments on the remaining channels; no channel draws more than it gives."""
    from models.design import build_layer
    from models.predict import arg_demand, channel_capacity, channel_load, hbm_map

    cfg = load_config(name)
    if cfg.is_decoder:
        designs = [build_layer(cfg, QuantConfig(quant), "prefill", 32, 64),
                   build_layer(cfg, QuantConfig(quant), "decode", 1, 64)]
    else:
        designs = [build_layer(cfg, QuantConfig(quant), "encoder", 512)]
    channels = hbm_map(designs)
    loaders = {n: c for n, c in channels.items() if n.startswith(("W_", "Wd_"))}
    expect = 6 + 12 if cfg.is_decoder else 6  # 8 x 32 arrays take a word every 2 or 4 cycles: one each
    assert len(loaders) == expect and len(set(loaders.values())) == expect
    assert not set(loaders.values()) & {c for n, c in channels.items() if n not in loaders}
    low = sum(c < 16 for c in loaders.values())
    assert abs(low - (expect - low)) <= 1  # both stacks
    load = channel_load(designs, channels)
    assert max(load) <= channel_capacity()  # no channel oversubscribed
    demand = {n: max(arg_demand(d).get(n, 0.0) for d in designs) for n in channels}
    assert all(demand[n] > channel_capacity() / 2 for n in loaders if n.startswith("Wd_"))  # one would not do
    assert all(spec.loaders == 1 for spec in designs[0].linears.values())
    rest = [load[c] for c in range(32) if c not in loaders.values()]  # greedy least-loaded: within one argument
    assert max(rest) - min(rest) <= max(v for n, v in demand.items() if n not in loaders) + 1e-9


@pytest.mark.parametrize("argv,msg", [
    (["--config", "nope"], "unknown config 'nope'"),
    (["--quant", "w3a8"], "not one the design can do"),
    (["--prompt", "120", "--gen", "20"], "exceeds gpt2-tiny's context of 128 positions"),
    (["--prompt-ids", "1,x"], "comma-separated integers"),
    (["--prompt-ids", "1,5000"], "outside the vocabulary"),
    (["--config", "bert-tiny"], "is a bert model; use python -m models.bert"),
    (["--gen", "-1"], "--gen must be at least 0"),
])
def test_cli_refusals_are_one_clear_line(argv, msg, capsys):
    assert cli.main("gpt2", argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and err.startswith("error: ")


@pytest.mark.parametrize("seq,good", [(20, 32), (80, 128)])
def test_cli_refuses_a_bert_length_the_streams_cannot_take(seq, good, capsys):
    assert cli.main("bert", ["--seq", str(seq), "--no-run"]) == 2
    err = capsys.readouterr().err
    assert f"must be at most 16, a multiple of 16 up to 64 or a multiple of 64 (e.g. {good})" in err
