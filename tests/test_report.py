"""dsl.report: the page's graph, tables and deadlock for the systolic GEMM and the diamond, read back from
the written file (the browser test opens the same pages in Chromium)."""
import re
import shutil
import warnings

import numpy as np
import pytest

import dsl
import dsl.perf
from dsl.backend.hls import VitisProject
from dsl.dataflow.graph import graph_of

from .dataflow_designs import diamond
from .report_designs import (DIAMOND_N, P0, P1, GEMM_KERNELS, GEMM_STREAMS, check_diamond_graph, check_gemm_graph,
                             diamond_deadlock, gemm_run, gemm_schedule, svg_elements)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


def unit_gemm(A: dsl.int8[8, 4], B: dsl.int8[4, 6]) -> dsl.int32[8, 6]:
    C: dsl.int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def _self_contained(page: str):
    """Nothing the browser would fetch: no external scripts, styles, images or fonts."""
    assert not re.search(r"<(link|iframe)\b", page)
    for m in re.finditer(r'\b(?:src|href)\s*=\s*"([^"]*)"', page):
        assert m.group(1).startswith(("data:", "#")), m.group(0)[:80]
    assert "url(http" not in page and "@import" not in page


@needs_dot
def test_gemm_report_draws_every_kernel_and_stream_of_the_run(tmp_path):
    sim = gemm_run()
    path = dsl.report(sim, tmp_path / "sub" / "gemm.html")
    page = path.read_text()
    _self_contained(page)
    nodes, edges = svg_elements(page)
    check_gemm_graph(nodes, edges, sim.report().stats)
    # the stream table lists the same bundles with measured and expected tokens
    for (label, src, dst), (fifos, per_fifo, dtype, depth) in GEMM_STREAMS.items():
        total = f"{per_fifo * len(fifos):,}"
        assert re.search(rf"<td>{re.escape(label)}</td><td>{src}</td><td>{dst}</td><td>{dtype}</td>"
                         rf'<td class="num">{depth}</td>.*?<td class="num">{total}</td><td class="num">{total}</td>',
                         page), label


@needs_dot
def test_schedule_report_before_any_run_shows_expected_tokens(tmp_path):
    page = dsl.report(gemm_schedule(), tmp_path / "s.html").read_text()
    nodes, edges = svg_elements(page)
    check_gemm_graph(nodes, edges, {}, ran=False)
    assert "loop tree of pe_0_0" in page and "<summary>MLIR</summary>" in page


@needs_dot
def test_expanded_report_has_one_node_per_instance_and_one_edge_per_fifo():
    report = dsl.report(gemm_schedule(), expand=True)
    nodes, edges = svg_elements(report.html)
    assert len([n for n in nodes if "kernel" in n["cls"]]) == sum(GEMM_KERNELS.values())
    assert len([e for e in edges if "stream" in e["cls"]]) == sum(len(v[0]) for v in GEMM_STREAMS.values())
    assert "11 instances" in repr(report)


@needs_dot
def test_diamond_deadlock_is_drawn_on_the_graph(tmp_path):
    sim, err = diamond_deadlock()
    assert sim.deadlock is err
    assert {r["kernel"]: r["state"] for r in err.blocked} == {"src": "full", "reverse": "empty", "sink": "empty"}
    page = dsl.report(sim, tmp_path / "dia.html").read_text()
    check_diamond_graph(*svg_elements(page))
    assert 'id="deadlock"' in page and f"<code>short</code> ≥ {DIAMOND_N - 1}" in page


def test_a_later_successful_run_clears_the_deadlock():
    sim, _ = diamond_deadlock()
    deep = dsl.build(diamond(DIAMOND_N, short_depth=DIAMOND_N - 1))
    deep(np.arange(DIAMOND_N, dtype=np.int32), np.zeros(DIAMOND_N, np.int32))
    assert deep.deadlock is None and sim.deadlock is not None
    assert 'id="deadlock"' not in dsl.report(deep).html


@needs_dot
def test_csim_deadlock_is_drawn_too(tmp_path):
    csim = dsl.build(diamond(DIAMOND_N, short_depth=2), target="vitis_hls", mode="csim")
    with pytest.raises(dsl.DeadlockError) as info:
        csim(np.arange(DIAMOND_N, dtype=np.int32), np.zeros(DIAMOND_N, np.int32))
    assert csim.deadlock is info.value
    check_diamond_graph(*svg_elements(dsl.report(csim, tmp_path / "c.html").read_text()))


def test_without_graphviz_the_page_says_so_and_lists_the_design(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' there
    sim = gemm_run()
    with pytest.warns(dsl.viz.ReportWarning, match="needs Graphviz's 'dot'.*apt-get install graphviz"):
        page = dsl.report(sim, tmp_path / "g.html").read_text()
    assert 'id="graph-missing"' in page and "<svg" not in page
    assert all(f"<td>{k}</td>" in page for k in GEMM_KERNELS)


@needs_dot
def test_memory_ports_from_configs_and_from_a_vitis_project(tmp_path):
    s = gemm_schedule()
    configs = {"device": "u280", "hbm": {"A": 0, "B": 5, "C": "6:7"}}
    page = dsl.report(s, configs=configs).html
    nodes, _ = svg_elements(page)
    ports = {n["texts"][0]: n["texts"][-1] for n in nodes if "memory" in n["cls"]}
    assert ports == {"A": "HBM[0]", "B": "HBM[5]", "C": "HBM[6:7]"}
    assert "HBM channels (u280)" in page and '<td class="num">4</td><td class="num">32</td>' in page
    folder = tmp_path / "gemm.prj"
    dsl.build(s, target="vitis_hls", mode="csim", project=str(folder), configs=configs)
    project_page = dsl.report(VitisProject(folder, "hw_emu"), schedule=s).html
    nodes, _ = svg_elements(project_page)
    assert {n["texts"][0]: n["texts"][-1] for n in nodes if "memory" in n["cls"]} == ports
    assert "connectivity.cfg" in project_page or "hw_emu" in project_page
    # no schedule=: the project keeps its design (design.mlir, schedule.yaml) and the page draws it the same
    read_back = dsl.report(VitisProject(folder, "hw_emu")).html
    nodes, edges = svg_elements(read_back)
    assert {n["texts"][0]: n["texts"][-1] for n in nodes if "memory" in n["cls"]} == ports
    check_gemm_graph(nodes, edges, {}, ran=False)
    assert "QoR estimate of gemm on u280" in read_back
    (folder / "design.mlir").unlink()  # a project written before dsl kept the design: ports only, and why
    with pytest.warns(dsl.viz.ReportWarning, match="has no design.mlir.*rebuild the project, or pass schedule="):
        bare = dsl.report(VitisProject(folder, "hw_emu")).html
    assert "<svg" not in bare and "<td>HBM[5]</td>" in bare


@needs_dot
def test_a_vitis_project_read_back_keeps_the_schedule_and_the_source_lines(tmp_path):
    s = dsl.customize(unit_gemm)
    s.split("i", 4)
    s.pipeline("i.inner")
    folder = tmp_path / "g.prj"
    dsl.build(s, target="vitis_hls", mode="csim", project=str(folder))
    page = dsl.report(VitisProject(folder, "hw_emu")).html
    assert re.search(r"<td>split</td><td>loop=i, factor=4</td>", page), "the primitives applied"
    assert re.search(r"<td>pipeline</td><td>loop=i.inner", page)
    assert "loop tree of unit_gemm" in page and "i.inner" in page
    e = dsl.estimate(s)
    assert f"latency (cycles)</td><td class=\"num\">{e.latency:,}</td>" in page  # the same estimate as the Schedule's
    (folder / "design.mlir").write_text("module {}\n")
    with pytest.raises(dsl.BuildError, match="not a design file written by dsl"):
        dsl.report(VitisProject(folder, "hw_emu"))


class _Estimate:
    """A stand-in for a QoR estimate, speaking the documented contribution interface."""

    def __dsl_report__(self):
        return {"title": "QoR estimate", "kernels": {"pe": {"latency": 1234, "II": 1}},
                "placement": {"pe": "SLR0", "load_a": "SLR1"},
                "resources": {"DSP": {"used": 40, "available": 9024}}}


@needs_dot
def test_contributions_plug_into_nodes_tables_and_bars():
    page = dsl.report(gemm_schedule(), also=[_Estimate()]).html
    nodes, _ = svg_elements(page)
    pe = next(n for n in nodes if n["id"] == "k_pe")
    assert "latency: 1,234" in pe["texts"] and "II: 1" in pe["texts"]
    assert 'id="contribution-qor-estimate"' in page and "<td>DSP</td>" in page
    assert re.search(r'<g id="clust\d+" class="cluster">\s*<title>cluster_slr_SLR0</title>', page)
    with pytest.raises(dsl.DSLError, match="cannot add a int"):
        dsl.report(gemm_schedule(), also=[3])


def test_perf_result_brings_its_plots_and_resource_bars():
    result = dsl.perf.evaluate("bert-base", "u280", prompt=64, gpu=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dsl.viz.ReportWarning)
        page = dsl.report(gemm_schedule(), also=[result]).html
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "BRAM18K" in page and "bert-base on u280" in page


def test_bad_input_is_a_dsl_error(tmp_path):
    with pytest.raises(dsl.DSLError, match="dsl.report takes a simulator"):
        dsl.report(42, tmp_path / "x.html")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(dsl.DSLError, match="cannot write the report"):
        dsl.report(gemm_schedule(), blocker / "x.html")
    with pytest.raises(dsl.DSLError, match="unknown device"):
        dsl.report(gemm_schedule(), configs={"device": "u999"})


def test_graph_of_a_composed_top_shows_the_shared_buffer():
    from .test_dataflow_regressions import _chain

    s = dsl.customize(_chain)
    s.to(s.T, "_stage2", depth=2)
    s.dataflow("_chain")
    graph = graph_of(s)
    assert [e.name for e in graph.streams] == ["T"]
    assert {m.name: m.kind for m in graph.memories.values()} == {"A": "argument", "U": "buffer",
                                                                  "B": "argument"}


# -- the QoR estimate, run by the report -----------------------------------------------------------------

def _pe_figures(e):
    """What the PE array's node must show, from the estimate's per-function records (2x2 instances)."""
    pes = [f for name, f in e.functions.items() if name.startswith("pe_")]
    assert len(pes) == P0 * P1
    iis = [e.loops[k].ii for f in pes for k in f.loops if e.loops[k].pipelined]
    return {"latency": max(f.latency for f in pes), "II": max(iis),
            "DSP": sum(int(f.resources["DSP"]) for f in pes), "LUT": sum(int(f.resources["LUT"]) for f in pes)}


@needs_dot
def test_report_runs_the_qor_estimate_per_kernel_and_against_the_device(tmp_path):
    sim = gemm_run()
    page = dsl.report(sim, tmp_path / "q.html", configs={"device": "u55c", "hbm": {"A": 0, "B": 1, "C": 2}}).read_text()
    e = dsl.estimate(sim.schedule, device="u55c", hbm={"A": 0, "B": 1, "C": 2})
    want = _pe_figures(e)
    assert want["latency"] > 0 and want["II"] >= 1 and want["DSP"] == P0 * P1  # one int8 MAC per PE
    nodes, _ = svg_elements(page)
    pe = next(n for n in nodes if n["id"] == "k_pe")
    assert pe["texts"][2:] == [f"latency: {want['latency']:,}", f"II: {want['II']}", f"DSP: {want['DSP']}",
                               "BRAM18K: 0"], pe["texts"]
    # the kernel table: every figure, LUT and FF included; the bars: the design against the U55C
    row = re.search(r"<tr><td>pe</td>(.*?)</tr>", page).group(1)
    assert f'<td class="num">{want["LUT"]:,}</td>' in row and f'<td class="num">{want["latency"]:,}</td>' in row
    assert "QoR estimate of gemm on u55c at 300 MHz" in page
    dsp = e.resources["DSP"]
    assert re.search(rf'<tr><td>DSP</td><td>.*?</td><td class="num">{dsp.used:g}</td>'
                     rf'<td class="num">{int(dsp.available):,}</td></tr>', page)
    assert dsp.available == 9024  # the U55C's DSP slices (as the U280: same die)


def test_estimate_option_and_its_errors():
    s = gemm_schedule()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dsl.viz.ReportWarning)  # no 'dot' needed here
        assert "QoR estimate of" not in dsl.report(s, estimate=False).html
        assert "on u280 at 250 MHz" in dsl.report(s, estimate={"clock_mhz": 250}).html
        given = dsl.estimate(s, clock_mhz=200)
        page = dsl.report(s, also=[given]).html
        assert page.count("QoR estimate of") == 1 and "at 200 MHz" in page
        with pytest.raises(dsl.DSLError, match="estimate=.*has no option 'bogus'; its options are device, clock_mhz"):
            dsl.report(s, estimate={"bogus": 1})
        with pytest.raises(dsl.DSLError, match="estimate= takes True, False or a dict"):
            dsl.report(s, estimate="yes")
        with pytest.raises(dsl.DSLError, match="unknown device"):
            dsl.report(s, estimate={"device": "u999"})


def test_a_design_the_estimator_cannot_estimate_still_gets_its_report(monkeypatch):
    import dsl.qor

    def refuse(*args, **kwargs):
        raise dsl.qor.EstimateError("operator table has no entry 'dpext'")

    monkeypatch.setattr(dsl.qor, "estimate", refuse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = dsl.report(gemm_schedule()).html
    assert any("has no QoR estimate" in str(w.message) and "dpext" in str(w.message) for w in caught)
    assert "dsl.estimate could not estimate &#x27;gemm&#x27;: operator table has no entry &#x27;dpext&#x27;" in page


def test_a_unit_called_at_two_places_is_two_nodes_a_pe_array_one():
    """The FFN block calls aw_gemm, quantize_rows, load_weights and dequantize_rows twice each: one node per
    call (each with its own streams), where the systolic GEMM's 2x2 PEs stay one node."""
    from . import unit_designs as U

    graph = graph_of(dsl.customize(U.ffn_block(16, 64, 256, 8, 16, 1e-12)))
    assert all(len(n.instances) == 1 for n in graph.kernels.values()) and len(graph.kernels) == 14
    ends = {e.name: (graph.kernels[e.src].name, graph.kernels[e.dst].name) for e in graph.streams}
    first, second = ends["q1"][1], ends["q2"][1]
    assert first.startswith("aw_gemm") and second.startswith("aw_gemm") and first != second
    assert ends["w1"] == (ends["w1"][0], first) and ends["w2"][1] == second and ends["w1"][0] != ends["w2"][0]
    assert ends["a1"][0] == first and ends["a2"][0] == second
    assert len(graph.streams) == 16
    pe = graph_of(gemm_schedule()).kernels["k_pe"]
    assert len(pe.instances) == P0 * P1 and pe.grid == "2×2"
