"""The design reports opened in a real browser: headless Chromium (Debian's package, driven by Playwright
with the system executable: nothing is downloaded). Each page must load without console errors, its graph
must have one node per kernel (instance group) and one edge per stream with the right labels as Chromium
laid them out, and a screenshot is saved (under $DSL_SCREENSHOTS, else the test's temporary folder).

CI (CI=true) installs Chromium and Graphviz, and there a missing one fails the test instead of skipping it."""
import os
import shutil
from pathlib import Path

import pytest

import dsl

from .report_designs import check_diamond_graph, check_gemm_graph, diamond_deadlock, gemm_run

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]
# every drawn node and edge of the graph, as report_designs' checks read them
READ_GRAPH = """kind => Array.from(document.querySelectorAll('#graph svg g.' + kind)).map(g => ({
    id: g.id, cls: Array.from(g.classList), title: (g.querySelector('title') || {}).textContent,
    texts: Array.from(g.querySelectorAll('text')).map(t => t.textContent.replace(/\\u00a0/g, ' '))}))"""


def _missing(what: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: .ci/run installs it")
    pytest.skip(f"{what} is not installed")


def _chromium() -> str:
    for name in (os.environ.get("DSL_CHROMIUM"), "chromium", "chromium-browser"):
        path = name and shutil.which(name)
        if path:
            return path
    _missing("Chromium")


@pytest.fixture(scope="module")
def browser():
    if shutil.which("dot") is None:
        _missing("Graphviz 'dot'")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright (pip install playwright)")
    executable = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def _open(browser, path: Path, shot: str, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith(("file:", "data:"))
            else None)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    folder = Path(os.environ.get("DSL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / shot), full_page=True)
    assert (folder / shot).stat().st_size > 10_000
    nodes, edges = page.evaluate(READ_GRAPH, "node"), page.evaluate(READ_GRAPH, "edge")
    return page, problems, nodes, edges


def test_gemm_report_in_chromium(browser, tmp_path):
    sim = gemm_run()
    path = dsl.report(sim, tmp_path / "gemm.html", configs={"device": "u280", "hbm": {"A": 0, "B": 1, "C": 2}})
    page, problems, nodes, edges = _open(browser, path, "report_gemm.png", tmp_path)
    check_gemm_graph(nodes, edges, sim.report().stats)
    # the page's script: hovering over the PE array highlights its streams
    page.hover("#k_pe")
    lit = page.evaluate("Array.from(document.querySelectorAll('g.edge.dsl-hl')).map(g => g.id)")
    assert set(lit) == {e["id"] for e in edges if "stream" in e["cls"] and "k_pe" in e["title"]}
    assert problems == []
    page.close()


def test_diamond_deadlock_report_in_chromium(browser, tmp_path):
    sim, _ = diamond_deadlock()
    path = dsl.report(sim, tmp_path / "diamond.html")
    page, problems, nodes, edges = _open(browser, path, "report_diamond_deadlock.png", tmp_path)
    check_diamond_graph(nodes, edges)
    assert page.is_visible("#deadlock") and "deadlock in 'dia'" in page.inner_text("#deadlock")
    stroke = page.evaluate("getComputedStyle(document.querySelector('#k_src path')).stroke")
    assert stroke == "rgb(207, 34, 46)"  # drawn red
    assert problems == []
    page.close()
