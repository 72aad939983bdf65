"""The int8 attention of the generated layers (Q K^T and score x V on int8 operands with int32 accumulators,
softmax in float32) and the decode variant's run-time key count: the quantised reference against float32
attention, the decode layer against the cached context on the simulator and in csim, the FIFOs it needs."""
import json
import shutil

import numpy as np
import pytest

import dsl
from dsl.library import ref
from models import reference as R
from models.config import load_config
from models.design import build_layer
from models.quant import KVCache, QuantConfig, int8_attention, q_gpt2_layer, quantize_model
from models.runner import LayerModule, layer_arguments
from models.weights import random_weights


@pytest.fixture(scope="module")
def tiny():
    cfg = load_config("gpt2-tiny")
    return cfg, quantize_model(random_weights(cfg, 3), QuantConfig(8))


def test_int8_attention_is_close_to_float_attention():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((24, 64)).astype(np.float32) for _ in range(3))
    (k8, ks), (v8, vs) = ref.quantize_per_token(k, 8), ref.quantize_per_token(v, 8)
    for past in (0, 23):  # causal, every key
        got = int8_attention(q, k8, ks, v8, vs, 4, past)
        want = R.attention(q, k, v, 4, causal_past=past) if past == 0 else R.attention(q, k, v, 4)
        cos = float((got * want).sum() / (np.linalg.norm(got) * np.linalg.norm(want)))
        assert cos > 0.995, (past, cos)
        assert not np.array_equal(got, want)  # it is the quantised arithmetic, not the float one


def _prefill_then_decode(cfg, qm, module_of, lmax, steps):
    """Layer 0: a 16-row prefill into the cache, then ``steps`` decode rows; (outputs, references, caches)."""
    pre = build_layer(cfg, qm.qcfg, "prefill", 16, lmax)
    cache, ref_cache = KVCache.empty(lmax, cfg.hidden), KVCache.empty(lmax, cfg.hidden)
    h = R.gpt2_embed(qm.weights, np.arange(16) * 7 % cfg.vocab, 0)
    LayerModule(pre)(layer_arguments(pre, qm, 0, h, cache, 0))
    q_gpt2_layer(qm, 0, h, ref_cache, 0)
    dec = build_layer(cfg, qm.qcfg, "decode", 1, lmax)
    mod = module_of(dec)
    got, want = [], []
    for t in range(steps):
        x = R.gpt2_embed(qm.weights, [t + 5], 16 + t)
        got.append(np.array(mod(layer_arguments(dec, qm, 0, x, cache, 16 + t, mod.words), cache)))
        want.append(q_gpt2_layer(qm, 0, x, ref_cache, 16 + t))
    return dec, mod, got, want, cache, ref_cache


def test_decode_attends_over_the_cached_context_on_the_simulator(tiny):
    """Decode at pos sees pos + 1 keys: bit-exact with the reference, and the score stream carries
    ceil((pos + 1) / 16) tokens per head, not the LMAX = 64 rows of the cache."""
    cfg, qm = tiny
    dec, mod, got, want, cache, ref_cache = _prefill_then_decode(cfg, qm, LayerModule, 64, 2)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert cache.equals(ref_cache) and cache.ks[17] > 0 and cache.ks[18] == 0
    assert "qk_gemm_n" in dec.source and "pv_gemm_n" in dec.source
    stats = {s["label"]: s for s in mod.module.stats.values()}
    scores = next(s for label, s in stats.items() if label.endswith("scores"))
    assert scores["tokens"] == cfg.heads * 2  # the last step: pos 17, 18 keys = 2 int32 tokens per head
    probs = next(s for label, s in stats.items() if label.endswith("probs"))
    assert probs["tokens"] == cfg.heads * 1  # 18 int8 probabilities: one token


@pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")
def test_decode_layer_in_csim_is_bit_exact(tiny):
    cfg, qm = tiny
    _, _, got, want, cache, ref_cache = _prefill_then_decode(
        cfg, qm, lambda d: LayerModule(d, "csim"), 32, 2)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert cache.equals(ref_cache)


@pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")
def test_prefill_layer_with_the_papers_lanes_in_csim_is_bit_exact(tiny):
    """The prefill layer as the estimate sees it (``paper_schedule``: attention_probs at 8 elements a cycle,
    each score row coming in while the previous one leaves quantised, across heads and query tiles) in csim:
    the reference's bits and cache, and the emitted HLS has the lanes. The lanes follow Q·Kᵀ's score rate
    (``probs_lanes``: Mq x Nk / DH scores a cycle against one lane's 1 / ONE_LANE_CYCLES_PER_KEY): tiny's decode (1 x 8
    on 16-channel heads, a score every 2 cycles) takes them too, GPT2-medium's (1 x 8 on 64 channels, one
    every 8) keeps one lane, and its 1 x 64 arrays (a score a cycle) take them."""
    from dsl.dse.units import LANES, paper_schedule, probs_lanes
    from dsl.schedule import names as N

    cfg, qm = tiny
    pre = build_layer(cfg, qm.qcfg, "prefill", 16, 32)
    h = R.gpt2_embed(qm.weights, np.arange(16) * 7 % cfg.vocab, 0)
    cache, ref_cache = KVCache.empty(32, cfg.hidden), KVCache.empty(32, cfg.hidden)
    mod = LayerModule(pre, "csim", schedule=paper_schedule)
    got = mod(layer_arguments(pre, qm, 0, h, cache, 0, mod.words), cache)
    np.testing.assert_array_equal(got, q_gpt2_layer(qm, 0, h, ref_cache, 0))
    assert cache.equals(ref_cache)
    hls = str(dsl.build(paper_schedule(dsl.customize(pre.region)), target="vhls"))
    body = hls[hls.index("void _exchange_probs"):]
    assert "#pragma HLS pipeline II=2" in body[:body.index("\n}")]  # a token of 16 int8 (LK = 16) every 16 / 8
    dec = dsl.customize(build_layer(cfg, qm.qcfg, "decode", 1, 32).region)
    lanes = {probs_lanes(s, f) for s in (dsl.customize(pre.region), dec) for f in N.funcs(s.module)
             if f.startswith("_attention_probs")}
    assert lanes == {LANES}

    def decode_lanes(name, attention=None):
        from models.config import load_config
        from models.quant import parse_quant

        s = dsl.customize(build_layer(load_config(name), parse_quant("w4a8"), "decode", 1, 64,
                                      attention=attention).region)
        return {probs_lanes(s, f) for f in N.funcs(s.module) if f.startswith("_attention_probs")}

    assert decode_lanes("gpt2-medium") == {1}
    assert decode_lanes("gpt2-medium", {"Mq": 1, "Nk": 64}) == {LANES}


def test_a_long_prefill_streams_without_deadlock_and_is_bit_exact(tmp_path):
    """64 rows of d = 256 (a row is 16 float32 tokens): the attention takes K's and V's row scales in step,
    as the fork of SLR0 sends them. (Taking all of K's first left V's path to hold every row beyond a
    16-deep scale FIFO, which it cannot: the layer deadlocked, as gpt2 at d = 768 did with 32 rows.)"""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "gpt2", "vocab_size": 512, "n_positions": 64, "n_embd": 256, "n_layer": 1, "n_head": 4,
        "n_inner": 256}))
    cfg = load_config(str(tmp_path / "config.json"))
    qm = quantize_model(random_weights(cfg, 2), QuantConfig(8))
    design = build_layer(cfg, qm.qcfg, "prefill", 64, 64)
    h = R.gpt2_embed(qm.weights, np.arange(64) * 5 % cfg.vocab, 0)
    cache, ref_cache = KVCache.empty(64, 256), KVCache.empty(64, 256)
    got = LayerModule(design)(layer_arguments(design, qm, 0, h, cache, 0), cache)
    np.testing.assert_array_equal(got, q_gpt2_layer(qm, 0, h, ref_cache, 0))
    assert cache.equals(ref_cache)
