"""Linear operators on several PE arrays sharing the output columns (models.design ``linears`` overrides, what
dsl.dse explores): the same bits as one array, on the simulator, in prefill and decode; bad overrides refused."""
import numpy as np
import pytest

from models import reference as R
from models.config import load_config
from models.design import build_layer
from models.errors import ModelError
from models.quant import KVCache, QuantConfig, quantize_model
from models.runner import LayerModule, layer_arguments
from models.weights import random_weights

CFG = load_config("gpt2-tiny")
ALL = ("q", "k", "v", "p", "f1", "f2")


@pytest.fixture(scope="module")
def qm():
    return quantize_model(random_weights(CFG, 0), QuantConfig(4))


def _run(qm, variant, rows, linears):
    design = build_layer(CFG, qm.qcfg, variant, rows, 32, linears=linears)
    pos = 0 if variant == "prefill" else 5
    h = R.gpt2_embed(qm.weights, np.arange(pos, pos + rows), pos)
    cache = KVCache.empty(32, CFG.hidden)
    out = np.array(LayerModule(design)(layer_arguments(design, qm, 0, h, cache, pos)))
    return design, out


@pytest.mark.parametrize("variant,rows", [pytest.param("prefill", 16, marks=pytest.mark.slow), ("decode", 1)])
def test_arrays_sharing_the_columns_give_the_same_bits(qm, variant, rows):
    _, one = _run(qm, variant, rows, None)
    design, two = _run(qm, variant, rows, {op: {"arrays": 2} for op in ALL})
    assert design.linears["f1"].arrays == 2 and "concat_rows" in design.source
    assert design.linears["f1"].macs_per_cycle == 2 * design.linears["f1"].Mt * design.linears["f1"].Nt
    np.testing.assert_array_equal(one, two)
    _, four = _run(qm, variant, rows, {"f1": {"arrays": 4, "Nt": 32, "loaders": 1}, "q": {"arrays": 2, "loaders": 2}})
    np.testing.assert_array_equal(one, four)


def test_bad_overrides_are_refused(qm):
    with pytest.raises(ModelError, match="unknown field"):
        build_layer(CFG, qm.qcfg, "prefill", 16, 32, linears={"q": {"Kt": 2}})
    with pytest.raises(ModelError, match="do not tile"):
        build_layer(CFG, qm.qcfg, "prefill", 16, 32, linears={"q": {"arrays": 3}})
    with pytest.raises(ModelError, match="loaders"):
        build_layer(CFG, qm.qcfg, "prefill", 16, 32, linears={"q": {"loaders": 3}})
    with pytest.raises(ModelError, match="positive integers"):
        build_layer(CFG, qm.qcfg, "prefill", 16, 32, linears={"q": {"arrays": "2"}})
    with pytest.raises(ModelError, match="linear operators are"):
        build_layer(CFG, qm.qcfg, "prefill", 16, 32, linears={"x": {"arrays": 2}})
