"""The row units' lanes (``dsl.library.units.schedules.row_lanes``) and the rule that picks them
(``dsl.dse.units.row_lanes_for``): hand-checked IIs of the two-pass softmax / LayerNorm, and the fewest lanes
that keep pace with a producer's row rate."""
import pytest

import dsl
from dsl.dse.units import build, producer_row_cycles, row_lanes_for, row_tripcount


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_two_pass_layer_norm_runs_its_passes_at_the_lanes(lanes):
    """A token of 16 floats every 16 / lanes cycles on the transfers (the summing ones take two tokens, 32
    partial sums, an iteration: II 32 / lanes), a group of 32 partial sums every 32 / lanes cycles in the
    squares' pass."""
    r = dsl.estimate(build("layer_norm", 8, 768, lanes), clock_mhz=300)
    for loop in ("_exchange_layer_norm:tokens:c", "_get_sum:tokens:c"):
        assert r.loops[loop].ii == 32 // lanes and r.loops[loop].trip == 768 // 32, loop
    assert r.loops["_send_layer_norm:tokens:c"].ii == 16 // lanes
    assert r.loops["square_sum:sum_groups:j0"].ii == 32 // lanes


def test_eight_lanes_meet_the_fadd_recurrence_on_the_summing_transfers():
    """At 8 lanes a lane's partial sum is added to every 32 / 8 = 4 cycles, the fadd latency: the squares'
    pass reaches it; on the transfers the estimate reads the lane's register a cycle before the add can use
    it (the token arrives a cycle after the FIFO read), so it names that recurrence and gives II 5."""
    r = dsl.estimate(build("layer_norm", 8, 768, 8), clock_mhz=300)
    assert r.loops["square_sum:sum_groups:j0"].ii == 4
    loop = r.loops["_exchange_layer_norm:tokens:c"]
    assert loop.ii == 5 and "through acc" in loop.ii_reason and "fadd latency 4" in loop.ii_reason


@pytest.mark.parametrize("lanes", [1, 4])
def test_two_pass_softmax_takes_the_max_on_the_transfer(lanes):
    """Softmax has no separate max pass: the running max rides on the row transfer (``_exchange_softmax``)
    and the row loop is that transfer plus ``exp_sum``."""
    params = (8, 512, lanes)
    r = dsl.estimate(build("softmax_vendor", *params), clock_mhz=300, tripcount=row_tripcount("softmax", params, None))
    assert not any(key.startswith("row_max") for key in r.loops)
    assert r.loops["_exchange_softmax:tokens:c"].ii == 16 // lanes
    assert r.loops["exp_sum:sum_groups:j0"].ii == 32 // lanes


def test_producer_row_cycles_by_hand():
    assert producer_row_cycles(64, 512, 64) == 512        # Q·Kᵀ rows of 512 scores on 8 x 8 PEs
    assert producer_row_cycles(768, 3072, 256) == 9216    # BERT's f1 on 256 MACs/cycle


def _per_row(kind, R, D, lanes):
    return dsl.estimate(build(kind, R, D, lanes), clock_mhz=300).interval / R


def test_row_lanes_for_picks_the_fewest_lanes_that_keep_pace():
    R, D = 16, 768
    one, two = _per_row("layer_norm", R, D, 1), _per_row("layer_norm", R, D, 2)
    assert two < one
    target = (one + two) / 2                         # one lane is too slow, two keep up
    assert row_lanes_for("layer_norm", R, D, target) == 2
    assert row_lanes_for("layer_norm", R, D, one) == 1
