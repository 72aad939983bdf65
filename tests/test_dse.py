"""Design-space exploration: executors, the timing rule, a small exploration of the library's layer designs
(models.explore builds them) end to end, what it writes."""
import threading

import pytest
import yaml

import dsl
from dsl.dse import ExplorationError, LocalExecutor, SerialExecutor, make_executor
from dsl.dse.__main__ import main
from dsl.dse.evaluate import Job, run_job
from dsl.dse.search import Explorer, explore, neighbours, start_choice
from dsl.perf.data import TransformerModel, load_design

# the models preset gpt2-tiny as dsl.perf sees it
TINY = TransformerModel("tiny", "tiny decoder", "decoder", layers=2, hidden=64, heads=4, ffn=256, max_seq=64)
RULE = [{"clock_mhz": 250, "max_array_dsps": 32, "max_arrays_per_slr": 3, "source": "test"}]


def _square(x):
    return x * x


def test_local_executor_maps_like_a_loop():
    ex = LocalExecutor(2)
    try:
        assert ex.map(_square, range(5)) == [0, 1, 4, 9, 16]
    finally:
        ex.close()
    assert SerialExecutor().map(_square, [3]) == [9]


_HELD_BY_A_PARENT_THREAD = threading.Lock()


def _square_if_the_lock_is_free(x):
    """A forked worker inherits the lock in the state the parent's other thread left it (held): it would
    wait forever (Python 3.12+ warns of exactly this when a multi-threaded process forks)."""
    if not _HELD_BY_A_PARENT_THREAD.acquire(timeout=5):
        return None
    _HELD_BY_A_PARENT_THREAD.release()
    return x * x


def test_local_workers_do_not_inherit_the_parents_thread_state():
    holding, done = threading.Event(), threading.Event()

    def hold():
        with _HELD_BY_A_PARENT_THREAD:
            holding.set()
            done.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    ex = LocalExecutor(2)
    try:
        assert ex.map(_square_if_the_lock_is_free, range(3)) == [0, 1, 4]
    finally:
        done.set()
        thread.join()
        ex.close()


def test_executor_names():
    assert make_executor("serial").name == "serial"
    assert make_executor("local:3").workers == 3
    with pytest.raises(ExplorationError, match="unknown executor"):
        make_executor("gpu")
    with pytest.raises(ExplorationError, match="local:N"):
        make_executor("local:x")


def _explorer(**kw):
    return Explorer(TINY, "u280", 16, 16, SerialExecutor(), builder_model="gpt2-tiny", **kw)


def _start_job(ex):
    return Job(ex.spec(start_choice(ex), "decode"))


def test_a_job_builds_and_estimates_the_library_layer():
    ex = _explorer()
    res = run_job(_start_job(ex))
    assert res["latency"] > 0 and res["resources"]["DSP"] > 0
    # one 1 x 64 decode array per linear operator (tiny: 64 columns), packed: 32 DSPs each
    assert {op: spec["arrays"] for op, spec in res["linears"].items()} == dict.fromkeys(
        ("q", "k", "v", "p", "f1", "f2"), 1)
    assert sorted(d for op, _, d, _ in res["arrays"] if op == "q") == [32]
    with pytest.raises(ExplorationError, match="cannot be imported"):
        run_job(Job(_start_job(ex).spec, "no_such_builder_module"))


@pytest.mark.slow
def test_ray_executor_runs_the_same_jobs():
    ray = pytest.importorskip("ray")
    from dsl.dse import RayExecutor

    ex = _explorer()
    ray_ex = RayExecutor(num_cpus=1)
    try:
        got = ray_ex.map(run_job, [_start_job(ex)])
    finally:
        ray_ex.close()
    assert not ray.is_initialized()
    assert got[0]["latency"] == run_job(_start_job(ex))["latency"]


@pytest.mark.slow
def test_ray_executor_connects_to_a_cluster_by_address():
    """``--executor ray:ADDRESS``: a local Ray cluster (head started by the test), reached by its address."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from dsl.dse import RayExecutor

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        ray_ex = make_executor(f"ray:{cluster.address}")
        assert isinstance(ray_ex, RayExecutor) and ray_ex.started
        try:
            assert ray_ex.map(_square, [2, 3]) == [4, 9]
        finally:
            ray_ex.close()
    finally:
        cluster.shutdown()


def test_timing_rule_and_resources_refuse_without_a_build():
    ex = _explorer()
    start = start_choice(ex)
    assert ex.pruned(start) == []  # the paper's shapes fit the paper's rule
    ex.rules = RULE
    assert any("exceeds 32 at 250 MHz (test)" in v for v in ex.pruned(start))  # 8 x 16 packed: 64 DSPs
    real = _explorer()
    wide = start.set("decode", "f1", 4).set("decode", "f2", 4).set("prefill", "f1", (8, 32))
    assert ex.planned_dsps(wide) > ex.planned_dsps(start)
    slow = [c for c in neighbours(real, start) if c.clock_mhz == 300]
    assert slow and any("300 MHz" in v for v in real.pruned(slow[0]))  # the 300 MHz rule: 64 DSPs per array
    many = start
    for g in ("qkv", "p", "f1", "f2"):
        many = many.set("loaders", g, 2).set("decode", g, 4)
    assert any("HBM channels" in v or "DSPs in all" in v for v in real.pruned(many))


@pytest.mark.slow
def test_small_exploration_writes_a_design(tmp_path):
    ex = _explorer(cache_file=tmp_path / "cache.pickle")
    best, history, start = explore(ex, rounds=0)
    assert best.feasible and best is start and ex.evaluations == 1 and len(ex.cache) == 2
    from dsl.dse.output import write

    files = write(tmp_path / "out", ex, best, start, "w4a8", history)
    design = load_design(files["tiny-u280.yaml"])
    assert design.clock_mhz == best.choice.clock_mhz and set(design.macs_per_cycle) == {
        "q", "k", "v", "a1", "a2", "p", "f1", "f2"}
    data = yaml.safe_load(open(files["tiny-u280.yaml"]))
    assert data["design_level"]["ttft_ms"] == pytest.approx(best.estimate.ttft_ms)
    assert data["design_level"]["decode_ms_per_token"] == pytest.approx(best.estimate.decode_ms_per_token)
    acc = data["accelerator"]
    assert set(acc["variants"]) == {"prefill", "decode"} and acc["variants"]["decode"]["linears"]["f1"]["Mt"] == 1
    # the schedule file replays onto the layer design and gives the module the estimate saw (YAML round trip)
    from dsl.dse.units import paper_schedule
    from models.config import load_config
    from models.design import build_layer
    from models.quant import parse_quant

    dec = acc["variants"]["decode"]
    layer = build_layer(load_config("gpt2-tiny"), parse_quant("w4a8"), "decode", 1, 32,
                        depths=dec["fifo_depths"], linears={op: {k: v for k, v in f.items() if k != "pack"}
                                                            for op, f in dec["linears"].items()},
                        attention=dec["attention"])  # the file's attention arrays (they set the unit's lanes)
    replayed = dsl.customize(layer.region, schedule=str(tmp_path / "out" / dec["schedule"]))
    assert str(replayed.module) == str(paper_schedule(dsl.customize(layer.region)).module)
    assert "first-order" in open(files["report.txt"]).read()
    # models builds the accelerator the file describes
    from models.accelerator import Accelerator
    from models.quant import QuantConfig, quantize_model
    from models.weights import random_weights

    qm = quantize_model(random_weights(load_config("gpt2-tiny"), 0), QuantConfig(4))
    built_acc = Accelerator(qm, 16, 16, design=files["tiny-u280.yaml"])
    for variant, built in (("prefill", built_acc.prefill), ("decode", built_acc.decode)):
        for op, spec in data["accelerator"]["variants"][variant]["linears"].items():
            assert (built.linears[op].Nt, built.linears[op].arrays) == (spec["Nt"], spec["arrays"])
    again = _explorer(cache_file=tmp_path / "cache.pickle")  # the cache makes a second run free of builds
    assert len(again.cache) == len(ex.cache)


def test_cli_refuses_bad_input(tmp_path, capsys):
    assert main(["gpt2-medium", "--quant", "w8a8", "--out", str(tmp_path / "o")]) == 2
    assert "W4A8" in capsys.readouterr().err
    assert main(["gpt2-medium", "--prompt", "0", "--out", str(tmp_path / "o")]) == 2
    assert main(["no-such-model", "--out", str(tmp_path / "o")]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_improving_moves_are_merged_by_gain_per_dsp_within_the_rule():
    """The round's improving one-coordinate moves, best gain per added array DSP first, each kept only while
    the rules allow the combination: two cheap decode moves (+64 DSPs each) beat one dear one (+192) that the
    paper's rule (1,152 array DSPs on the U280) would not let them join. No build: the plan alone."""
    from dsl.dse.search import Evaluated, _merge

    ex = Explorer("gpt2-medium", "u280", 32, 32, SerialExecutor())
    center = Evaluated(start_choice(ex), estimate=object(), objective=100.0)
    moves = {"dear": ("f1", 4, 80.0), "cheap1": ("f1", 2, 88.0), "cheap2": ("f2", 2, 89.0)}
    evs = {k: Evaluated(center.choice.set("decode", g, a), estimate=object(), objective=o)
           for k, (g, a, o) in moves.items()}
    base = ex.planned_dsps(center.choice)
    assert [ex.planned_dsps(evs[k].choice) - base for k in moves] == [192, 64, 64]
    assert ex.pruned(evs["dear"].choice.set("decode", "f2", 2))  # the dear move and another do not fit
    merged = _merge(ex, center, list(evs.values()))
    assert (merged.get("decode", "f1"), merged.get("decode", "f2")) == (2, 2) and not ex.pruned(merged)


# -- shared arrays (models.dual) ---------------------------------------------------------------------------
def _shared(**kw):
    from dsl.dse.shared import SharedExplorer

    return SharedExplorer(TINY, "u280", 16, 16, SerialExecutor(), builder_model="gpt2-tiny", **kw)


def test_shared_arrays_start_balanced_within_the_rules_and_count_once():
    ex = _shared()
    ex.rules = RULE  # 32-DSP arrays: the 64-DSP shared arrays break it
    assert any("shared array of 64 DSPs exceeds 32" in v for v in ex.pruned(ex.start()))
    ex = _shared()
    c = ex.start()
    assert not ex.pruned(c)
    # the arrays of both phases are the same arrays: q, k, v, p, f1, f2 once, plus each phase's attention
    shared = sum(3 * a * 64 if g == "qkv" else a * 64 for g, a in c.arrays)
    assert ex.planned_dsps(c) == shared + sum(2 * mq * nk for _, (mq, nk) in c.attention)
    bigger = [n for n in ex.neighbours_of(c) if n.arrays != c.arrays]
    assert bigger and all(ex.pruned(n) or ex.planned_dsps(n) != ex.planned_dsps(c) for n in bigger)


@pytest.mark.slow
def test_shared_exploration_estimates_both_phases_of_one_design(tmp_path):
    ex = _shared()
    c = ex.start()
    ev = ex.evaluate(c)
    assert ev.feasible, ev.violations
    res = ev.variants["shared"]
    assert [n for n, _ in res["phases"]["prefill"]] == ["qkv", "attention_prefill", "ffn"]
    assert [n for n, _ in res["phases"]["decode"]] == ["qkv", "attention_decode", "ffn"]
    pre, dec = (dict(res["phases"][p]) for p in ("prefill", "decode"))
    assert dec["qkv"] < pre["qkv"] and dec["ffn"] < pre["ffn"]  # one row against the prompt's 16
    assert ev.estimate.decode_ms_per_token < ev.estimate.ttft_ms
