"""The shared-array GPT2 layer (models.dual: qkv / attention per phase / ffn kernels, the linear operators on
``aw_gemm_shared`` arrays taking m rows at run time) gives the bits of ``models.design``'s layer, in prefill
and decode, on the simulator."""
import numpy as np
import pytest

from models import reference as R
from models.config import load_config
from models.design import build_layer
from models.dual import build_dual, run_layer
from models.errors import ModelError
from models.quant import KVCache, QuantConfig, quantize_model
from models.runner import LayerModule, layer_arguments
from models.weights import random_weights

CFG = load_config("gpt2-tiny")
ROWS, LMAX = 16, 32


@pytest.fixture(scope="module")
def qm():
    return quantize_model(random_weights(CFG, 0), QuantConfig(4))


def _standard(qm, variant, rows, h, pos):
    design = build_layer(CFG, qm.qcfg, variant, rows, LMAX)
    cache = KVCache.empty(LMAX, CFG.hidden)
    return np.array(LayerModule(design)(layer_arguments(design, qm, 0, h, cache, pos)))


def _dual(qm, layer, rows, h, pos):
    modules = {name: LayerModule(k) for name, k in layer.kernels.items()}
    return run_layer(layer, modules, qm, 0, h, KVCache.empty(LMAX, CFG.hidden), pos)


@pytest.mark.parametrize("rows,pos", [(ROWS, 0), (1, 5)], ids=["prefill", "decode"])
def test_shared_array_layer_gives_the_layers_bits(qm, rows, pos):
    layer = build_dual(CFG, qm.qcfg, ROWS, LMAX, arrays={"f1": 2}, loaders={"q": 1})
    assert "aw_gemm_shared" in layer.ffn.source and "concat_rows_n" in layer.ffn.source
    h = R.gpt2_embed(qm.weights, np.arange(pos, pos + rows), pos)
    want = _standard(qm, "prefill" if rows > 1 else "decode", rows, h, pos)
    np.testing.assert_array_equal(_dual(qm, layer, rows, h, pos), want)


def test_shared_array_layer_is_a_decoders():
    with pytest.raises(ModelError, match="multiple of the shared arrays"):
        build_dual(CFG, QuantConfig(4), 12, LMAX)


def test_the_accelerator_builds_and_runs_a_shared_array_design_file(qm, tmp_path):
    """``Accelerator(..., design=FILE)`` on the ``accelerator:`` section ``python -m dsl.dse --arrays shared``
    writes (``dsl.dse.output.accelerator``): the file's arrays, loaders, attention arrays and weight FIFOs
    are the kernels', and a prompt and three generated tokens through both phases are bit-exact."""
    import yaml

    from models.accelerator import Accelerator, load_shared

    lin = {op: {"Mt": 8, "Nt": 16, "arrays": 2 if op == "f1" else 1, "loaders": 1 if op == "q" else 2, "pack": True}
           for op in ("q", "k", "v", "p", "f1", "f2")}
    shared = {"kind": "shared arrays (models.dual)", "linears": lin, "fifo_depths": {"weights": 64},
              "attention": {"prefill": {"Mq": 8, "Nk": 8}, "decode": {"Mq": 1, "Nk": 16}}}
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump({"accelerator": {"variants": {"shared": shared}}}))
    assert load_shared(path)["arrays"]["f1"] == 2
    acc = Accelerator(qm, 12, 4, design=path)
    assert (acc.rows, acc.lmax) == (16, 16)  # 12 rows padded to the arrays' tiles of 8
    f1 = acc.dual.ffn.linears["f1"]
    assert (f1.arrays, acc.dual.qkv.linears["q"].loaders, acc.dual.qkv.depths["weights"]) == (2, 1, 64)
    assert acc.dual.attention["decode"].attention["Nk"] == 16
    r = acc.generate([3, 17, 99, 4, 250, 7, 1, 2, 8, 9, 10, 11], 4)
    assert r.bit_exact is True and r.mismatches == [] and len(r.tokens) == 4
    # a design file of separate prefill / decode arrays is not a shared one
    path.write_text(yaml.safe_dump({"accelerator": {"variants": {"prefill": {}, "decode": {}}}}))
    assert load_shared(path) is None


@pytest.mark.parametrize("nk,lanes", [(8, 1), (16, 8)])
def test_probability_lanes_follow_the_score_rate_of_the_decode_array(nk, lanes):
    """GPT2-medium's decode: one query row per head of 64 channels on Nk columns makes a row's scores at
    64 / Nk cycles a key; one lane takes 5: 8 columns (8 cycles) keep one lane, 16 (4 cycles) take 8."""
    import dsl
    from dsl.dse.units import ONE_LANE_CYCLES_PER_KEY, probs_lanes
    from dsl.schedule import names as N

    cfg = load_config("gpt2-medium")
    layer = build_dual(cfg, QuantConfig(4), 8, 64, attention={"decode": {"Mq": 1, "Nk": nk}})
    s = dsl.customize(layer.attention["decode"].region)
    probs = next(f for f in N.funcs(s.module) if f.startswith("_attention_probs"))
    assert ((cfg.hidden // cfg.heads) / nk < ONE_LANE_CYCLES_PER_KEY) == (lanes > 1)
    assert probs_lanes(s, probs) == lanes
