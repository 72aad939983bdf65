"""Hand-checked cases for constant tables (ROMs) in the QoR estimator: every unrolled copy of a table read
is a read of its own (its address comes from its own copy's data), a C++ global read in several places of a
function is one ROM, and a completely partitioned table is logic with a read port per access."""
import dsl
from dsl import float32
from dsl.library import mathf
from dsl.qor import estimate


def lanes_of_exp(X: float32[64], Z: float32[64]):
    for j in range(64, name="e"):
        Z[j] = mathf.exp(X[j])


def _exp_lanes(lanes: int, table_in_registers: bool = False):
    s = dsl.customize(lanes_of_exp)
    if table_in_registers:
        s.partition("mathf_exp:POW2", dsl.Partition.Complete, dim=1)
    s.inline("mathf_exp")
    for a in (s.X, s.Z):
        s.partition(a, dsl.Partition.Cyclic, dim=1, factor=lanes)
    s.unroll("e:j", lanes)
    s.pipeline("e:j")
    return estimate(s)


def test_unrolled_table_reads_are_reads_of_their_own():
    # exp reads POW2 twice (2^k1 and 2^(k - k1), addresses from the element's own value); 8 lanes: 16 reads
    # per iteration of the one ROM the C++ global is, 2 ports: II = 16 / 2 = 8 (before the fix the 8 copies
    # were taken for one address each, and the two reads for two ROMs: II 1)
    r = _exp_lanes(8)
    loop = r.loops["e:j"]
    assert loop.ii == 8 and "16 reads of mathf_exp_POW2" in loop.ii_reason
    roms = [b for b in r.buffers if b.name.endswith("POW2")]
    # one ROM of 140 x 32 bits = 4480 bits (above the 1024-bit LUTRAM bound): one BRAM18K (36 x 512)
    assert len(roms) == 1 and roms[0].bram18k == 1


def test_a_single_lane_fits_the_roms_two_ports():
    assert _exp_lanes(1).loops["e:j"].ii == 1  # 2 reads a cycle on 2 ports


def test_a_table_in_registers_serves_every_lane():
    r = _exp_lanes(8, table_in_registers=True)
    assert r.loops["e:j"].ii == 1
    assert r.resources["BRAM18K"].used == 0
