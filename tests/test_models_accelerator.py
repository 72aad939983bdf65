"""The generated accelerators of tiny GPT2 and tiny BERT on the FIFO simulator and in csim of the Vitis
project's kernels: bit-exact against the quantised reference, close to the float32 reference; FIFO depths
that matter; the checkpoint round trip through the CLI; the Vitis project's files."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import dsl
from models import cli
from models import reference as R
from models.accelerator import Accelerator
from models.config import load_config
from models.design import build_layer
from models.quant import KVCache, QuantConfig, parse_quant, q_bert_layer, q_gpt2_layer, quantize_model
from models.predict import hbm_map
from models.runner import LayerModule, layer_arguments
from models.weights import random_weights, save_checkpoint

PROMPT = [3, 17, 99, 4, 250]
MOCK_XRT = Path(__file__).parent / "models_xrt"


@pytest.fixture(scope="module")
def gpt2():
    qm = quantize_model(random_weights(load_config("gpt2-tiny"), 0), QuantConfig(4))
    return Accelerator(qm, len(PROMPT), 4)


@pytest.fixture(scope="module")
def gpt2_run(gpt2):
    return gpt2.generate(PROMPT, 4)


def test_tiny_gpt2_on_the_simulator_is_bit_exact(gpt2_run):
    r = gpt2_run
    assert r.bit_exact is True and r.mismatches == []
    assert len(r.tokens) == 4 and r.output.shape == (4, 512)
    assert r.cosine > 0.98 and r.max_abs_error < 0.5  # W4A8 against float32 on random weights
    assert r.tokens_moved > 0


def test_tiny_gpt2_prefill_pads_without_changing_the_real_rows(gpt2):
    """A 5-token prompt runs as 5 rows (<= 16), a 20-token prompt is padded to 32 rows."""
    assert gpt2.rows == 5
    qm = gpt2.qm
    acc = Accelerator(qm, 20, 3)
    assert (acc.rows, acc.lmax) == (32, 32)


def test_tiny_bert_on_the_simulator_is_bit_exact():
    qm = quantize_model(random_weights(load_config("bert-tiny"), 0), parse_quant("w8a8", "per-tensor", 0.5))
    acc = Accelerator(qm, 16)
    ids = list(np.random.default_rng(1).integers(0, 512, 16))
    r = acc.encode(ids)
    assert r.bit_exact is True
    assert r.output.shape == (16, 64) and r.pooler.shape == (64,)
    assert r.cosine > 0.99


def test_the_attention_sync_needs_its_deep_fifos():
    """All K rows come before any Q row: with a 16-token Q FIFO a 64-row prefill deadlocks, by name (the
    rows the Q path's other FIFOs and its GEMM hold are fewer than 64)."""
    cfg = load_config("gpt2-tiny")
    qm = quantize_model(random_weights(cfg, 0), QuantConfig(4))
    design = build_layer(cfg, qm.qcfg, "prefill", 64, 64, depths={"q_rows": 16})
    mod = LayerModule(design)
    h = R.gpt2_embed(qm.weights, np.arange(64), 0)
    with pytest.raises(dsl.DeadlockError) as info:
        mod(layer_arguments(design, qm, 0, h, KVCache.empty(64, 64), 0))
    assert "q_rows" in str(info.value)
    assert info.value.suggested_depths["q_rows"] > 16


def test_checkpoint_folder_through_the_cli_gives_the_same_run(gpt2, gpt2_run, tmp_path, capsys):
    save_checkpoint(random_weights(load_config("gpt2-tiny"), 0), tmp_path / "ckpt")
    argv = ["--config", str(tmp_path / "ckpt"), "--prompt-ids", ",".join(map(str, PROMPT)), "--gen", "4", "--json",
            "--report", str(tmp_path / "layer.html")]
    assert cli.main("gpt2", argv) == 0
    out = json.loads(capsys.readouterr().out)
    run = out["run"]
    assert run["tokens"] == gpt2_run.tokens and run["bit_exact"] is True
    assert run["max_abs_error"] == gpt2_run.max_abs_error and run["cosine"] == gpt2_run.cosine
    assert out["prediction"]["prefill_ms"] > 0 and out["prediction"]["decode_ms_per_token"] > 0
    regions = out["regions"]
    assert regions["decode"]["context"]["n"] == len(PROMPT) + 2  # the mean context of the 3 decode steps
    for variant in ("prefill", "decode"):
        assert all(regions[variant][f"SLR{k}"]["estimate_cycles"] > 0 for k in range(3))
        assert all(regions[variant][f"SLR{k}"]["sim_tokens"] > 0 for k in range(3))
        assert regions[variant]["uncounted_loops"] == []  # every run-time loop got its trip count
    nk = gpt2.decode.attention["Nk"]  # score x V over the 7 keys of the context, not the cache's 9 rows
    assert regions["decode"]["SLR1"]["pe_k_loops"]["a2 (PV)"] == 4 * (16 // nk) * (len(PROMPT) + 2)
    page = (tmp_path / "layer.html").read_text()
    assert "gpt2_prefill" in page and "SLR2" in page and "U280 prediction" in page


# -- the Vitis project --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(gpt2, tmp_path_factory):
    from models.vitis import write_project

    return write_project(gpt2, tmp_path_factory.mktemp("prj") / "gpt2.prj", prompt=PROMPT)


def test_vitis_project_connects_places_and_maps_every_kernel(gpt2, project):
    cfg = (project / "connectivity.cfg").read_text()
    for variant in ("prefill", "decode"):
        for slr in range(3):
            cu = f"gpt2_{variant}_slr{slr}_1"
            assert f"nk=gpt2_{variant}_slr{slr}:1:{cu}" in cfg and f"slr={cu}:SLR{slr}" in cfg
    code = (project / "prefill.cpp").read_text()
    for line in cfg.splitlines():
        if line.startswith("stream_connect="):
            src, dst, depth = line.split("=")[1].split(":")
            port = src.split(".")[1]
            assert dst.split(".")[1] == port and int(depth) >= 16
            if "prefill" in src:
                assert f"#pragma HLS interface axis port={port}" in code
    assert "stream_connect=gpt2_prefill_slr0_1.q_rows:gpt2_prefill_slr1_1.q_rows" in cfg
    # the kernels' stream ports are AXI4-Stream side-channel structs, as AMD's kernel-to-kernel examples
    # declare them; an adapter per port moves every token of the run (5 rows of 64 floats: 20 tokens)
    kernels = re.findall(r'extern "C" void gpt2_prefill_slr\d\(([^)]*)\)', code)
    ports = [p for k in kernels for p in re.findall(r"hls::stream<.*?> &\w+", k)]
    assert len(kernels) == 3 and len(ports) == 12  # 6 cross streams, each an output and an input
    assert all(p.startswith("hls::stream<ap_axiu<512, 0, 0, 0>> &") for p in ports)
    adapters = re.findall(r"dsl_axis_(put|get)_dsl_block_float_16<(\d+)>\((\w+), (\w+)\)", code)
    assert len(adapters) == 12 and {int(n) for _, n, _, _ in adapters} == {5 * 64 // 16}
    assert "#include <ap_axi_sdata.h>" in (project / "prefill.h").read_text()
    assert "stream_connect=gpt2_prefill_slr1_1.h_res:gpt2_prefill_slr2_1.h_res" in cfg
    sp = [ln for ln in cfg.splitlines() if ln.startswith("sp=")]
    weights = {ln.split(":")[1] for ln in sp if ".W_" in ln or ".Wd_" in ln}
    # one pseudo-channel per weight loader; each variant reads its own buffers (prefill W_*, decode Wd_*: the
    # arrays tile the weights differently); f1's decode array (1 x 128 int4) takes a word per cycle, which two
    # loaders give, prefill's (5 x 32) one every 4 cycles
    assert len(weights) == 6 + 7 and any(".Wd_f1_1:" in ln for ln in sp) and any(".W_f1:" in ln for ln in sp)
    channels = hbm_map(gpt2.designs)
    assert all(ln.split(":")[1] == f"HBM[{channels[ln.split('.')[1].split(':')[0]]}]" for ln in sp)
    assert len(sp) == 28 + 29  # every m_axi argument of the 6 kernels (the int8 caches and their scales too)
    assert (project / "data" / "layer1" / "W_f2.bin").stat().st_size == 128 * 64
    readme = (project / "README.md").read_text()
    assert "Expected resources per SLR" in readme and "| SLR2 |" in readme


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_vitis_host_type_checks_against_the_xrt_api(project):
    proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-I", str(MOCK_XRT),
                           str(project / "host.cpp")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    host = (project / "host.cpp").read_text()
    assert "load_bo(device, pre[2]" in host and "load_bo(device, dec[2]" in host and "runs.back().set_arg(" in host
    assert "run_layers(add_decode_runs, dec" in host


@pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")
@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_one_layer_of_the_vitis_project_in_csim_is_bit_exact(kind):
    from models.project_csim import ProjectCSim

    cfg = load_config(f"{kind}-tiny")
    qm = quantize_model(random_weights(cfg, 5), QuantConfig(4 if kind == "gpt2" else 8))
    ids = np.arange(16) * 11 % cfg.vocab
    if kind == "gpt2":
        design = build_layer(cfg, qm.qcfg, "prefill", 16, 32)
        h = R.gpt2_embed(qm.weights, ids, 0)
        cache, ref_cache = KVCache.empty(32, 64), KVCache.empty(32, 64)
        got = ProjectCSim(design).layer(qm, 1, h, cache, 0)
        expect = q_gpt2_layer(qm, 1, h, ref_cache, 0)
        assert cache.equals(ref_cache) and np.abs(cache.k[:16]).max() > 0
    else:
        design = build_layer(cfg, qm.qcfg, "encoder", 16)
        h = R.bert_embed(qm.weights, ids)
        got = ProjectCSim(design).layer(qm, 1, h)
        expect = q_bert_layer(qm, 1, h)
    np.testing.assert_array_equal(got, expect)


@pytest.mark.slow
def test_tiny_gpt2_whole_model_in_csim_is_bit_exact():
    qm = quantize_model(random_weights(load_config("gpt2-tiny"), 0), QuantConfig(8))
    r = Accelerator(qm, 5, 3, target="csim").generate(PROMPT, 3)
    assert r.bit_exact is True
