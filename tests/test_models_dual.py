"""The shared-array GPT2 layer (models.dual: qkv / attention per phase / ffn kernels, the linear operators on
``aw_gemm_shared`` arrays taking m rows at run time) gives the bits of ``models.design``'s layer, in prefill
and decode, on the simulator."""
import numpy as np
import pytest

from models import reference as R
from models.config import load_config
from models.design import build_layer
from models.dual import build_dual
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
    cache = KVCache.empty(LMAX, CFG.hidden)
    vals = layer_arguments(layer.qkv, qm, 0, np.zeros((ROWS, CFG.hidden), np.float32), cache, pos)
    vals["X"][:rows] = h
    vals.update({n: np.zeros((ROWS, CFG.hidden), np.float32) for n in ("Q", "Kr", "Vr", "A", "Y")})
    vals["m"], vals["nk"] = np.int32(rows), np.int32(pos + rows)
    LayerModule(layer.qkv)(vals)
    phase = "decode" if rows == 1 else "prefill"
    att = {k: (v[:rows].copy() if k in ("Q", "Kr", "Vr", "A") else v) for k, v in vals.items()}
    LayerModule(layer.attention[phase])(att, cache)  # the activations between kernels: HBM buffers
    vals["A"][:rows] = att["A"]
    return np.array(LayerModule(layer.ffn)(vals))[:rows]


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
