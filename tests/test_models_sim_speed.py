"""A layer called once per token on the simulator: its weights are packed and split over the loaders once,
not copied per call (gpt2-medium moves 6 MB of packed weights per layer call)."""
import numpy as np

from models.accelerator import Accelerator
from models.config import load_config
from models.quant import KVCache, QuantConfig, quantize_model
from models.runner import layer_arguments
from models.weights import random_weights


def test_weight_shares_are_made_once_and_passed_as_they_are():
    qm = quantize_model(random_weights(load_config("gpt2-tiny"), 0), QuantConfig(4))
    acc = Accelerator(qm, 5, 4)
    design = acc.decode
    cache = KVCache.empty(acc.lmax, qm.config.hidden)
    x = np.zeros((1, qm.config.hidden), np.float32)
    first = layer_arguments(design, qm, 0, x, cache, 5)
    second = layer_arguments(design, qm, 0, x, cache, 5)
    names = [w for spec in design.linears.values() for w in spec.weight_args]
    assert any(spec.loaders > 1 for spec in design.linears.values())  # shares of strided words included
    for name in names:
        assert second[name] is first[name] and first[name].flags.c_contiguous
    for op in design.linears:  # made again from the quantised weights: the same words
        qm.layers[0][op].packed.clear()
    again = layer_arguments(design, qm, 0, x, cache, 5)
    for name in names:
        assert again[name] is not first[name]
        np.testing.assert_array_equal(again[name], first[name])
