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
