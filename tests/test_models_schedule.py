"""The layer designs' schedules (every library unit's predefined schedule, the models' own units) are
recorded primitives like any other: the YAML of the applied schedule replays on a fresh customize of the
same design to byte-identical MLIR, and a refused step in the middle of it changes nothing."""
import pytest

import dsl
from dsl.library.units import schedule_units
from models.config import load_config
from models.design import build_layer
from models.quant import QuantConfig
from models.units import schedule_model_units


@pytest.mark.parametrize("model,variant,rows,lmax", [("gpt2-tiny", "prefill", 16, 32),
                                                      ("gpt2-tiny", "decode", 1, 32),
                                                      ("bert-tiny", "encoder", 16, 0)])
def test_layer_schedule_replays_from_yaml_to_identical_mlir(model, variant, rows, lmax):
    design = build_layer(load_config(model), QuantConfig(4), variant, rows, lmax, True)
    s = dsl.customize(design.region)
    schedule_units(s)
    before = str(s)
    with pytest.raises(dsl.ScheduleError):
        s.pipeline(f"{design.region.__name__}:no_such_loop")
    assert str(s) == before  # the refused step left the module exactly as it was
    schedule_model_units(s)
    assert len(s.trace) > 20
    replay = dsl.customize(design.region, schedule=s.to_yaml())
    assert replay.module.operation.get_asm(enable_debug_info=True) == \
        s.module.operation.get_asm(enable_debug_info=True)
    assert replay.to_yaml() == s.to_yaml()


def _scheduled_functions(s) -> set:
    """The functions the schedule's recorded steps name (``func:loop``, ``func:buffer`` or a function)."""
    names = set()
    for step in s.trace:
        for value in step["args"].values():
            if isinstance(value, str):
                names.add(value.split(":")[0])
    return names


def test_unit_schedules_keep_the_layers_numbers_and_reach_every_unit_instance():
    """``schedule_units`` + ``schedule_model_units`` on a generated layer (gpt2-tiny decode: every GEMM kind,
    the loaders and their merge, the int8 attention's units): every unit instance in it is scheduled (the
    functions are looked up afresh after each primitive, which may rebuild the module: none is skipped), the
    scheduled layer computes exactly what the unscheduled one does on the simulator (and the quantised
    reference), and its schedule replays from YAML to the same module."""
    import numpy as np

    from dsl.library.units.schedules import UNIT_SCHEDULES, _base
    from dsl.schedule import names as N
    from models import reference as R
    from models.quant import KVCache, q_gpt2_layer, quantize_model
    from models.runner import LayerModule, copy_back_caches, layer_arguments
    from models.units import UNIT_LOOPS
    from models.weights import random_weights

    cfg = load_config("gpt2-tiny")
    qm = quantize_model(random_weights(cfg, 3), QuantConfig(4))
    design = build_layer(cfg, qm.qcfg, "decode", 1, 16)
    plain = LayerModule(design)  # the simulator's layer, unscheduled
    s = dsl.customize(design.region)
    units = {f for f, op in N.funcs(s.module).items() if "dsl.kernel" not in op.attributes
             and (_base(f) in UNIT_SCHEDULES or _base(f) in UNIT_LOOPS)}
    schedule_units(s)
    schedule_model_units(s)
    missing = units - _scheduled_functions(s)
    assert not missing and len(units) > 30, sorted(missing)
    sched = dsl.build(s, target="sim")
    prompt = R.gpt2_embed(qm.weights, np.arange(5), 0)
    h = R.gpt2_embed(qm.weights, np.array([9]), 5)
    outs = []
    for run in (plain, None):
        cache = KVCache.empty(16, 64)
        q_gpt2_layer(qm, 0, prompt, cache, 0)
        if run is plain:
            outs.append((plain(layer_arguments(design, qm, 0, h, cache, 5), cache).copy(), cache))
        else:
            vals = layer_arguments(design, qm, 0, h, cache, 5, words="ints")
            args = [vals[n] for n, _, _ in design.args]
            sched(*args)
            copy_back_caches(vals, cache)
            outs.append((args[-1], cache))
    ref_cache = KVCache.empty(16, 64)
    q_gpt2_layer(qm, 0, prompt, ref_cache, 0)
    expect = q_gpt2_layer(qm, 0, h, ref_cache, 5)
    for y, cache in outs:
        np.testing.assert_array_equal(y, expect)
        assert cache.equals(ref_cache)
    replay = dsl.customize(design.region, schedule=s.to_yaml())
    assert str(replay.module) == str(s.module) and replay.to_yaml() == s.to_yaml()
