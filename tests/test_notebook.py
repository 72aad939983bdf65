"""The example notebook runs from top to bottom in a fresh kernel (as a user would open it), and its views
render: the schedule's loop tree, the region's graph, the stream table, the model's figures, the report."""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_notebook_runs_and_shows_its_views():
    nb = nbformat.read(EXAMPLES / "design_report.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    html = {}
    for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            html.setdefault(k, "")
            html[k] += out.get("data", {}).get("text/html", "")
    assert "split" in html[1] and "[pipeline II=1]" in html[1]  # the schedule: trace and loop tree
    assert "<svg" in html[3] and "pe  [4]" in html[3].replace("&#160;", " ")  # the region's graph
    assert "<td>ps[4]</td>" in html[4]  # the stream table
    assert "BRAM18K" in html[5]  # the model's resource bars
    assert "<iframe srcdoc=" in html[6]  # the report inline
    assert (EXAMPLES.parent / "build" / "example_mv.html").is_file()
