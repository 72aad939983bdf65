"""The design report of a GPT2 layer (gpt2-tiny's prefill design), written by the models CLI's --report, and
checked statically and in headless Chromium as the GEMM and diamond reports are. What the graph must show is
worked out from the generated design's own source (not from the report): one node per unit call at its
line, in its SLR; one edge per declared stream, from the call that first names it to the other, labelled with
the stream's element type and depth; the tokens of the run add up to what the CLI counted."""
import ast
import json
import re

import pytest

from models import cli
from models.accelerator import padded
from models.config import load_config
from models.design import build_layer
from models.quant import parse_quant

from .report_designs import _ends, kernel_name, svg_elements
from .test_report_browser import _open, browser  # noqa: F401  (the Chromium fixture)

PROMPT, GEN = 8, 1  # one token generated: the prefill design only
CFG = load_config("gpt2-tiny")


def _expected():
    """(calls: line -> (unit, SLR), streams: name -> (producer line, consumer line, dtype, depth))."""
    design = build_layer(CFG, parse_quant("w4a8", "per-token", None), "prefill", padded(PROMPT),
                         padded(PROMPT + GEN))
    region = next(n for n in ast.parse(design.source).body if isinstance(n, ast.FunctionDef))
    streams, calls, uses = {}, {}, {}
    for stmt in region.body:
        if isinstance(stmt, ast.AnnAssign):  # x: dsl.Stream[float32[16], 16]
            elem, depth = stmt.annotation.slice.elts
            dtype = (elem.value if isinstance(elem, ast.Subscript) else elem).id
            streams[stmt.target.id] = (dtype, depth.value)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):  # module.unit[params](args)
            call = stmt.value
            calls[stmt.lineno] = (call.func.value.attr, design.slr_of_line[stmt.lineno])
            for a in call.args:
                if isinstance(a, ast.Name) and a.id in streams:
                    uses.setdefault(a.id, []).append(stmt.lineno)
    assert all(len(lines) == 2 for lines in uses.values()) and set(uses) == set(streams)
    # the generator writes the calls in dataflow order: a stream's producer comes before its consumer
    return calls, {name: (*sorted(uses[name]), *streams[name]) for name in streams}


@pytest.fixture(scope="module")
def gpt2_report(tmp_path_factory):
    """``python -m models.gpt2 --config gpt2-tiny ... --report``, as a user runs it."""
    path = tmp_path_factory.mktemp("gpt2") / "build" / "layer.html"
    out = tmp_path_factory.mktemp("out") / "stdout.json"
    with open(out, "w") as f:
        assert cli.run("gpt2", ["--config", "gpt2-tiny", "--prompt", str(PROMPT), "--gen", str(GEN), "--no-check",
                                "--json", "--report", str(path)], out=f)
    return path, json.loads(out.read_text())


def _line(node) -> int:
    return int(node["texts"][1].rsplit(":", 1)[1])


def check_gpt2_graph(nodes, edges, tokens_moved: int):
    calls, streams = _expected()
    kernels = {n["id"]: n for n in nodes if "kernel" in n["cls"]}
    by_line = {_line(n): n for n in kernels.values()}
    assert len(kernels) == len(calls) and set(by_line) == set(calls)  # one node per unit call
    units = [unit for unit, _ in calls.values()]
    for line, (unit, _) in calls.items():
        name = kernel_name(by_line[line])
        assert name == unit if units.count(unit) == 1 else name.startswith(unit), (line, unit, name)
    assert len({kernel_name(n) for n in kernels.values()}) == len(kernels)
    drawn = [e for e in edges if "stream" in e["cls"]]
    assert sorted(e["texts"][0] for e in drawn) == sorted(streams)  # one edge per stream
    total = 0
    for e in drawn:
        src_line, dst_line, dtype, depth = streams[e["texts"][0]]
        assert [_line(kernels[i]) for i in _ends(e)] == [src_line, dst_line], e["texts"][0]
        assert e["texts"][1] == f"{dtype} · depth {depth}"
        m = re.fullmatch(r"max (\d+) · ([\d,]+) tokens", e["texts"][2])
        assert m and 0 < int(m.group(1)) <= depth, e["texts"]
        total += int(m.group(2).replace(",", ""))
    assert total * CFG.layers == tokens_moved  # the statistics of the last layer's run; every layer moves as many
    return calls, by_line


def test_gpt2_layer_report_from_the_cli(gpt2_report):
    path, out = gpt2_report
    assert out["report"] == str(path) and out["run"]["tokens"]
    page = path.read_text()
    calls, by_line = check_gpt2_graph(*svg_elements(page), out["run"]["tokens_moved"])
    for line, (unit, slr) in calls.items():  # the kernel table places each call in its SLR
        name = re.escape(kernel_name(by_line[line]))
        assert re.search(rf"<tr><td>{name}</td><td class=\"num\">1</td><td>1</td><td>[^<]*:{line}</td>"
                         rf"<td>SLR{slr}</td>", page), (name, line)
    assert "U280 prediction" in page and "gpt2-tiny layer (prefill)" in page
    # dsl.estimate ran on the layer: every node shows its latency and II (the GEMM test checks the values)
    assert "QoR estimate of gpt2_prefill on u280" in page and "could not estimate" not in page
    for node in by_line.values():
        latency, ii = node["texts"][2:4]
        assert re.fullmatch(r"latency: [1-9][\d,]*", latency) and re.fullmatch(r"II: (\d+|None)", ii), node["texts"]


def test_gpt2_layer_report_in_chromium(browser, gpt2_report, tmp_path):  # noqa: F811
    path, out = gpt2_report
    page, problems, nodes, edges = _open(browser, path, "report_gpt2_layer.png", tmp_path)
    calls, by_line = check_gpt2_graph(nodes, edges, out["run"]["tokens_moved"])
    # every node drawn inside its SLR's box, as Chromium laid the page out
    boxes = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#graph svg g'))
        .filter(g => g.classList.contains('cluster') || g.classList.contains('node'))
        .map(g => { const b = g.getBBox(); return [g.classList.contains('cluster') ?
            g.querySelector('title').textContent : g.id, [b.x, b.y, b.x + b.width, b.y + b.height]]; }))""")
    for line, (_, slr) in calls.items():
        x0, y0, x1, y1 = boxes[by_line[line]["id"]]
        c0, d0, c1, d1 = boxes[f"cluster_slr_SLR{slr}"]
        assert c0 <= x0 and d0 <= y0 and x1 <= c1 and y1 <= d1, (line, slr)
    assert problems == []
    page.close()
