"""Design-space exploration: executors, the timing rule, a small exploration end to end, what it writes."""
import threading

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


def _small_job():
    memories = (("stream", 2), ("maxi", 1), ("maxi", 1), ("stream", 2))
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
        300, start_choice(real).tiles, (), ())))


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


def test_templates_compute_what_they_claim():
    """The templates at small sizes against numpy (CPU backend): the packed W4A8 linear, the int8 matmul,
    softmax, residual + LayerNorm and GeLU."""
    import numpy as np

    from dsl.dse.templates import build

    rng = np.random.default_rng(0)
    L, K, N, Mt, Nt = 4, 16, 16, 2, 4
    X = rng.integers(-128, 128, (L, K))
    W = rng.integers(-8, 8, (K, N))
    Xp = np.array([[sum((int(X[l, w * 8 + b]) & 0xFF) << (8 * b) for b in range(8)) for w in range(K // 8)]
                   for l in range(L)], dtype=np.uint64).view(np.int64)
    halves = [np.array([[sum((int(W[k, t * 2 * Nt + h * Nt + j]) & 0xF) << (4 * j) for j in range(Nt))
                         for t in range(N // (2 * Nt))] for k in range(K)], dtype=np.uint64) for h in (0, 1)]
    Yp = np.zeros((L, N // 2), np.int64)
    out = build("linear", L, K, N, Mt, Nt).build()(Xp, halves[0], halves[1], Yp)
    Yp = out if out is not None else Yp
    got = Yp.view(np.int32).reshape(L, N)  # two int32 per word, low half first
    np.testing.assert_array_equal(got, X @ W)

    S = rng.integers(-50, 50, (4, 16)).astype(np.int32)
    Y = np.zeros((4, 16), np.float32)
    out = build("softmax", 4, 16, 4).build()(S, Y)
    Y = out if out is not None else Y
    x = S * 0.125
    ref = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(Y, ref / ref.sum(1, keepdims=True), rtol=1e-5)  # float32 exp and sums

    A, R = rng.standard_normal((3, 16)).astype(np.float32), rng.standard_normal((3, 16)).astype(np.float32)
    g, b = np.full(16, 1.5, np.float32), np.full(16, 0.25, np.float32)
    Y = np.zeros((3, 16), np.float32)
    out = build("layer_norm", 3, 16, 4).build()(A, R, g, b, Y)
    Y = out if out is not None else Y
    v = A + R
    ref = (v - v.mean(1, keepdims=True)) / np.sqrt(v.var(1, keepdims=True) + 1e-5) * 1.5 + 0.25
    np.testing.assert_allclose(Y, ref, rtol=1e-4, atol=1e-5)  # float32 sums of 16 values

    Y = np.zeros((3, 16), np.float32)
    out = build("gelu", 3, 16, 4).build()(A, Y)
    Y = out if out is not None else Y
    np.testing.assert_allclose(Y, 0.5 * A * (1 + np.tanh(0.7978845608 * (A + 0.044715 * A ** 3))), rtol=1e-5,
                               atol=1e-6)
