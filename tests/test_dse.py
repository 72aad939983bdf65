"""Design-space exploration: executors, the timing rule, a small exploration end to end, what it writes."""
import pytest
import yaml

import dsl
from dsl.dse import ExplorationError, LocalExecutor, SerialExecutor, make_executor
from dsl.dse.__main__ import main
from dsl.dse.evaluate import Job, Variant, run_job
from dsl.dse.search import Explorer, explore, start_choice
from dsl.perf.data import TransformerModel, load_design

TINY = TransformerModel("tiny", "tiny decoder", "decoder", layers=2, hidden=64, heads=4, ffn=256, max_seq=64)
RULE = [{"clock_mhz": 250, "max_array_pes": 16, "max_arrays_per_slr": 3, "source": "test"}]


def _square(x):
    return x * x


def test_local_executor_maps_like_a_loop():
    ex = LocalExecutor(2)
    try:
        assert ex.map(_square, range(5)) == [0, 1, 4, 9, 16]
    finally:
        ex.close()
    assert SerialExecutor().map(_square, [3]) == [9]


def test_executor_names():
    assert make_executor("serial").name == "serial"
    assert make_executor("local:3").workers == 3
    with pytest.raises(ExplorationError, match="unknown executor"):
        make_executor("gpu")
    with pytest.raises(ExplorationError, match="local:N"):
        make_executor("local:x")


def _small_job():
    memories = (("stream", 2), ("maxi", 1), ("stream", 2))
    return Job("linear", (2, 16, 8, 2, 4), (Variant(250, (("cols:tj", 2), ("rows:ti", 3)), memories),
                                            Variant(300, (("cols:tj", 2), ("rows:ti", 1)), memories)))


def test_a_job_estimates_its_variants():
    low, high = run_job(_small_job())
    assert low.costs["DSP"] == 2 * 4  # a 2 x 4 array, one DSP per PE (two packed int4 weights each)
    assert low.latency > high.latency  # three row tiles against one
    assert all(ii == 1 for _, ii, _, _ in low.loops)


@pytest.mark.slow
def test_ray_executor_runs_the_same_jobs():
    ray = pytest.importorskip("ray")
    from dsl.dse import RayExecutor

    ex = RayExecutor(num_cpus=1)
    try:
        got = ex.map(run_job, [_small_job()])
    finally:
        ex.close()
    assert not ray.is_initialized()
    want = run_job(_small_job())
    assert [r.latency for r in got[0]] == [r.latency for r in want]


def _explorer(**kw):
    ex = Explorer(TINY, "u280", 8, 2, SerialExecutor(), **kw)
    ex.rules = RULE
    return ex


def test_timing_rule_refuses_arrays_that_do_not_close():
    ex = _explorer()
    choice = start_choice(ex)  # the paper's 8 x 16 arrays: 128 PEs, above this rule's 16
    assert any("a 8x16 array exceeds 16 PEs at 250 MHz (test)" in v for v in ex._timing(choice))
    real = Explorer(TINY, "u280", 8, 2, SerialExecutor())  # the paper's rule: 8 x 16 closes at 250 MHz
    assert real._timing(start_choice(real)) == []
    assert any("exceeds 64 PEs at 300 MHz" in v for v in real._timing(start_choice(real).__class__(
        300, start_choice(real).tiles, (), 1)))


def test_small_exploration_writes_a_design(tmp_path):
    ex = _explorer(cache_file=tmp_path / "cache.pickle")
    best, history, start = explore(ex, rounds=1)
    assert best.feasible and best.objective <= start.objective
    assert len(history) > 5 and ex.evaluations == len(history)
    from dsl.dse.output import write

    files = write(tmp_path / "out", ex, best, start, "w4a8", history)
    design = load_design(files["tiny-u280.yaml"])
    assert design.clock_mhz == best.choice.clock_mhz and set(design.macs_per_cycle) == {
        "q", "k", "v", "a1", "a2", "p", "f1", "f2"}
    data = yaml.safe_load(open(files["tiny-u280.yaml"]))
    assert data["design_level"]["ttft_ms"] == pytest.approx(best.estimate.ttft_ms)
    assert {o["name"] for o in data["accelerator"]["operators"]} >= {"q", "a1", "softmax", "f2", "ln2"}
    # each schedule file replays onto its template and gives the same module
    from dsl.dse.templates import TEMPLATES, build

    op = next(o for o in data["accelerator"]["operators"] if o["name"] == "f1")
    kernel, _ = TEMPLATES[op["template"]](*op["build"])
    replayed = dsl.customize(kernel, schedule=str(tmp_path / "out" / op["schedule"]))
    assert str(replayed.module) == str(build(op["template"], *op["build"]).module)
    assert "first-order" in open(files["report.txt"]).read()
    # the cache makes a second exploration free of estimates
    again = _explorer(cache_file=tmp_path / "cache.pickle")
    assert len(again.cache) == len(ex.cache)


def test_cli_refuses_bad_input(tmp_path, capsys):
    assert main(["gpt2-medium", "--quant", "w8a8", "--out", str(tmp_path / "o")]) == 2
    assert "W4A8" in capsys.readouterr().err
    assert main(["gpt2-medium", "--prompt", "0", "--out", str(tmp_path / "o")]) == 2
    assert main(["no-such-model", "--out", str(tmp_path / "o")]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
