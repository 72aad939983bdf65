"""Predefined schedules of the library (issue 10, part 6): each is a function of recorded primitives, the same
steps are the YAML files under schedules/library/ (replaying one gives the identical module), and a caller
composes them with ``s.compose``."""
import os

import numpy as np
import pytest
from mlir import ir

import dsl
from dsl import float32
from dsl.library import nn, ref, registry, rows, scheduled, schedules

ENTRIES = registry.KERNELS


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_yaml_file_is_the_schedule_function_and_replays_identically(entry):
    s = scheduled(entry.kernel, entry.bert_base, entry.schedule)
    path = schedules.yaml_path(entry.name)
    with open(path) as f:
        assert f.read() == s.to_yaml(), f"{path} is stale: run python -m dsl.library schedules"
    replayed = dsl.customize(entry.kernel, instantiate=list(entry.bert_base), schedule=path)
    assert str(replayed.module) == str(s.module)


def test_every_yaml_file_belongs_to_a_kernel():
    folder = os.path.dirname(schedules.yaml_path("x"))
    assert sorted(os.listdir(folder)) == sorted(f"{e.name}.yaml" for e in ENTRIES)


L, D = 8, 24


def layer(X: float32[L, D], g: float32[D], b: float32[D]) -> float32[L, D]:
    Y: float32[L, D] = nn.layer_norm[float32, L, D](X, g, b)
    return nn.gelu[float32, L, D](Y)


def directives(module, func):
    """(loop name, pipeline II, unroll) of every loop of ``func``, and the partitions and inline flag."""
    from dsl.schedule import irutil as U
    from dsl.schedule import names as N

    op = N.funcs(module)[func]
    loops = []
    for lp in U.collect(op, U.is_loop):
        ii = lp.attributes["dsl.pipeline_ii"] if "dsl.pipeline_ii" in lp.attributes else None
        un = lp.attributes["dsl.unroll"] if "dsl.unroll" in lp.attributes else None
        loops.append((U.str_attr(lp, "loop_name"), str(ii), str(un)))
    parts = sorted(str(a.attributes["dsl.partition"]) for a in U.collect(op, lambda o: o.name == "memref.alloc")
                   if "dsl.partition" in a.attributes)
    return loops, parts, "dsl.inline" in op.attributes


def test_compose_into_a_caller_gives_the_kernels_own_directives():
    s = dsl.customize(layer)
    subs = [scheduled(nn.layer_norm, [float32, L, D]), scheduled(nn.gelu, [float32, L, D])]
    for sub in subs:
        s.compose(sub)
    for sub in subs:
        with sub.context:
            names = [ir.StringAttr(op.attributes["sym_name"]).value for op in sub.module.body.operations
                     if op.operation.name == "func.func"]
        for name in names:
            with sub.context:
                own = directives(sub.module, name)
            with s.context:
                composed = directives(s.module, name)
            assert composed == own, name
    rng = np.random.default_rng(0)
    X, g, b = (rng.standard_normal(shape).astype(np.float32) for shape in ((L, D), (D,), (D,)))
    assert np.array_equal(s.build()(X, g, b), ref.gelu(ref.layer_norm(X, g, b)))
    code = dsl.build(s, target="vhls")
    # the 32 partial sums of the mean's row_sum and of the variance's square_sum: one element a cycle
    assert code.count("#pragma HLS pipeline II=32") == 2
    # the composed steps are recorded: the caller's YAML replays to the same module
    again = dsl.customize(layer, schedule=s.to_yaml())
    assert str(again.module) == str(s.module)


def test_schedule_functions_record_what_vitis_needs():
    s = scheduled(nn.softmax, [float32, 16, 40])
    code = dsl.build(s, target="vhls")
    assert code.count("#pragma HLS pipeline II=8") == 1          # the max's 8 lanes, one element a cycle
    assert code.count("#pragma HLS pipeline II=32") == 1         # exp_sum's 32 partial sums
    assert "#pragma HLS array_partition variable=acc type=complete dim=1" in code
    assert "#pragma HLS inline" in code                           # the exp unit
    from dsl.library import systolic

    g = scheduled(systolic.packed_gemm, [dsl.int8, dsl.int4, dsl.int32, 16, 24, 32, 4, 8])
    code = dsl.build(g, target="vhls")
    for buf, dim in (("At", 2), ("Bt", 2), ("Ct", 0)):
        assert f"#pragma HLS array_partition variable={buf} type=complete dim={dim}" in code
    k_loop = code[code.index("l_k_k:"):]
    assert k_loop.split("\n")[1].strip() == "#pragma HLS pipeline II=1"


def test_readme_has_one_row_per_kernel():
    path = os.path.join(os.path.dirname(schedules.__file__), "README.md")
    rows = [line for line in open(path) if line.startswith("| `")]
    for entry in ENTRIES:
        qualified = f"`{entry.kernel.__module__.rsplit('.', 1)[-1]}.{entry.kernel.__name__}`"
        public = qualified.replace("`linalg.", "`nn.").replace("`attention.", "`nn.")
        assert any(public in line.split("|")[1] for line in rows), public


FULL_UNROLL_MAX = 64   # loops below a pipelined loop that Vitis unrolls on purpose: lanes, PE rows/columns


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_no_pipelined_loop_holds_a_long_loop(entry):
    """Vitis unrolls every loop below a pipelined one (UG1399, pipeline pragma): only short lane and PE loops
    may sit there. Regression: quantize_per_token's schedule pipelined its row loop, which holds the absmax
    and quantize loops over a whole row (768 elements each at BERT-base sizes)."""
    from dsl.backend.cpu_interrupt import _trip_count
    from dsl.schedule import irutil as U
    from dsl.schedule import names as N

    s = scheduled(entry.kernel, entry.bert_base, entry.schedule)
    with s.context:
        for name, fop in N.funcs(s.module).items():
            for loop in N.loops_of(fop):
                if "dsl.pipeline_ii" in loop.attributes:
                    for inner in U.collect(loop, U.is_loop)[1:]:
                        trips = _trip_count(inner)
                        assert trips is not None and trips <= FULL_UNROLL_MAX, (name, N.qualified(loop), trips)


def _row_sum_512(X: float32[512]) -> float32:
    return rows.row_sum[float32, 512](X, 512)


def _row_sum_estimate(group_ii=None):
    from dsl.library.schedules import inline_math, pipeline_reduction

    s = dsl.customize(_row_sum_512)
    s.partition(s.X, dsl.Partition.Cyclic, dim=1, factor=32)  # copied on chip: 32 banks, no m_axi limit
    pipeline_reduction(s, "row_sum")
    inline_math(s)
    if group_ii:
        s.pipeline("row_sum:sum_groups:j0", group_ii)
    return dsl.estimate(s)


def test_row_sum_partial_sums_hide_the_fadd_latency():
    # 512 elements in 16 groups of 32 partial sums. The library's schedule: a group every 32 cycles (one
    # element a cycle): (16 - 1) * 32 + depth 6 = 486 cycles, one adder
    one = _row_sum_estimate()
    loop = one.loops["row_sum:sum_groups:j0"]
    assert (loop.ii, loop.latency) == (32, 486)
    # asked for II 1, the group loop reaches 4: a lane's sum is needed again one iteration later and the
    # fadd takes 4 cycles (300 MHz); 32 elements every 4 cycles = 8 a cycle: (16 - 1) * 4 + 6 = 66 cycles
    fast = _row_sum_estimate(1)
    loop = fast.loops["row_sum:sum_groups:j0"]
    assert (loop.ii, loop.latency) == (4, 66) and "fadd latency 4" in loop.ii_reason
    # the 32 adds of an iteration share 32 / 4 = 8 adders (2 DSP each, full_dsp) instead of 1: 14 DSP more
    assert fast.functions["row_sum"].resources["DSP"] - one.functions["row_sum"].resources["DSP"] == 7 * 2


def test_quantize_per_token_absmax_is_a_lane_reduction_in_hls():
    """Its absmax was one float max recurrence at II=1 over a row (the max's latency bounds such a loop);
    now eight lanes, unrolled, the group loop at II=LANES: one element per cycle, as the row kernels'
    reductions (UG1399: a pipelined loop's inner loops are unrolled)."""
    entry = registry.BY_NAME["quantize_per_token"]
    code = dsl.build(scheduled(entry.kernel, entry.bert_base), target="vhls")
    groups = code.split("l_absmax_groups_j0:")[1]
    assert groups.index("#pragma HLS pipeline II=8") < groups.index("l_absmax_lanes_l:")
    assert "#pragma HLS unroll" in groups.split("l_absmax_lanes_l:")[1].split("}")[0]
    assert "#pragma HLS array_partition variable=acc type=complete dim=1" in code
