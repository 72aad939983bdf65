"""Designs of the report tests and what their graphs must show, worked out from the designs' parameters
(not from the report): kernel nodes, and per stream edge its label, FIFO count and tokens."""
import numpy as np

import dsl

from .dataflow_designs import diamond, systolic_gemm

M = N = K = 8
P0 = P1 = 2
TM, TN = M // P0, N // P1
DIAMOND_N = 8


def gemm_schedule():
    return dsl.customize(systolic_gemm(M, N, K, P0, P1))


def gemm_run():
    """The systolic GEMM simulated on random data (checked against numpy)."""
    sim = dsl.build(gemm_schedule())
    rng = np.random.default_rng(3)
    A = rng.integers(-128, 128, (M, K)).astype(np.int8)
    B = rng.integers(-128, 128, (K, N)).astype(np.int8)
    C = np.zeros((M, N), np.int32)
    sim(A, B, C)
    np.testing.assert_array_equal(C, A.astype(np.int32) @ B.astype(np.int32))
    return sim


GEMM_KERNELS = {"load_a": 1, "load_b": 1, "pe": P0 * P1, "store_c": 1, "drain_a": P0, "drain_b": P1}
# (first label line, from, to) -> (its FIFOs, tokens through them in one run, element type, depth)
_OPERAND_TOKENS = TM * TN * K  # per FIFO of fa / fb


def _fifos(name, rows, cols):
    return [f"{name}[{i}, {j}]" for i in rows for j in cols]


GEMM_STREAMS = {
    ("fa[*, 0] ×2", "load_a", "pe"): (_fifos("fa", range(P0), [0]), _OPERAND_TOKENS, "int8", 2),
    ("fa[*, 1] ×2", "pe", "pe"): (_fifos("fa", range(P0), range(1, P1)), _OPERAND_TOKENS, "int8", 2),
    ("fa[*, 2] ×2", "pe", "drain_a"): (_fifos("fa", range(P0), [P1]), _OPERAND_TOKENS, "int8", 2),
    ("fb[0, *] ×2", "load_b", "pe"): (_fifos("fb", [0], range(P1)), _OPERAND_TOKENS, "int8", 2),
    ("fb[1, *] ×2", "pe", "pe"): (_fifos("fb", range(1, P0), range(P1)), _OPERAND_TOKENS, "int8", 2),
    ("fb[2, *] ×2", "pe", "drain_b"): (_fifos("fb", [P0], range(P1)), _OPERAND_TOKENS, "int8", 2),
    ("fc[*, *] ×4", "pe", "store_c"): (_fifos("fc", range(P0), range(P1)), TM * TN, "int32", 1),
}


def diamond_deadlock():
    """The diamond with a short FIFO too shallow: the simulator raises, the module keeps the deadlock."""
    sim = dsl.build(diamond(DIAMOND_N, short_depth=2))
    try:
        sim(np.arange(DIAMOND_N, dtype=np.int32), np.zeros(DIAMOND_N, np.int32))
    except dsl.DeadlockError as err:
        return sim, err
    raise AssertionError("the shallow diamond must deadlock")


# src fills 'short' (depth 2) while 'reverse' needs all N tokens of 'long_in' before it emits one
DIAMOND_BLOCKED = {"src": "full", "reverse": "empty", "sink": "empty"}
DIAMOND_STREAMS = {("short", "src", "sink"): "full", ("long_in", "src", "reverse"): "empty",
                   ("long_out", "reverse", "sink"): "empty"}


# -- reading the drawn graph ---------------------------------------------------------------------------
# Both the static tests (ElementTree on the page's SVG) and the browser test (the DOM Chromium built)
# describe each drawn node and edge as {"id", "cls", "title", "texts"}; the checks below take either.

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_elements(page: str):
    """(nodes, edges) of the graph in a report page, read with ElementTree."""
    import xml.etree.ElementTree as ET

    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    root = ET.fromstring(page[start:end].replace("&#160;", " ").replace("&nbsp;", " "))
    nodes, edges = [], []
    for g in root.iter(f"{SVG_NS}g"):
        cls = g.get("class", "").split()
        item = {"id": g.get("id"), "cls": cls, "title": g.findtext(f"{SVG_NS}title"),
                "texts": [t.text.replace("\xa0", " ") for t in g.iter(f"{SVG_NS}text") if t.text]}
        if "node" in cls:
            nodes.append(item)
        elif "edge" in cls:
            edges.append(item)
    return nodes, edges


def _ends(edge) -> list:
    """Node ids of an edge from its SVG title 'k_pe:n->k_pe:n' (ports dropped)."""
    return [end.split(":")[0] for end in edge["title"].split("->")]


def kernel_name(node) -> str:
    return node["texts"][0].split("  [")[0]


def check_gemm_graph(nodes, edges, stats: dict, ran: bool = True):
    """One node per kernel (instance group), one edge per stream bundle with its label; ``stats``: the
    simulator's statistics by stream label (for the maximum occupancy it measured)."""
    kernels = {n["id"]: n for n in nodes if "kernel" in n["cls"]}
    assert sorted(kernel_name(n) for n in kernels.values()) == sorted(GEMM_KERNELS)
    for n in kernels.values():
        count = GEMM_KERNELS[kernel_name(n)]
        grid = {4: "[2×2]", 2: "[2]", 1: None}[count]
        assert (grid in n["texts"][0]) if grid else "[" not in n["texts"][0], n["texts"]
    assert {kernel_name(n) for n in nodes if "memory" in n["cls"]} == {"A", "B", "C"}
    streams = [e for e in edges if "stream" in e["cls"]]
    assert len(streams) == len(GEMM_STREAMS)
    seen = set()
    for e in streams:
        src, dst = (kernel_name(kernels[i]) for i in _ends(e))
        key = (e["texts"][0], src, dst)
        assert key in GEMM_STREAMS, key
        fifos, per_fifo, dtype, depth = GEMM_STREAMS[key]
        tokens = per_fifo * len(fifos)
        assert e["texts"][1] == f"{dtype} · depth {depth}"
        if ran:
            occupancy = max(stats[label]["max_occupancy"] for label in fifos)
            assert e["texts"][2] == f"max {occupancy} · {tokens:,} tokens", e["texts"]
        else:
            assert e["texts"][2] == f"{tokens:,} tokens expected", e["texts"]
        seen.add(key)
    assert seen == set(GEMM_STREAMS)


def check_diamond_graph(nodes, edges):
    """The deadlock drawn: every blocked kernel and stream highlighted, with full/empty named."""
    kernels = {kernel_name(n): n for n in nodes if "kernel" in n["cls"]}
    assert set(kernels) == set(DIAMOND_BLOCKED)
    for name, n in kernels.items():
        assert "blocked" in n["cls"], (name, n["cls"])
        assert "1 blocked" in n["texts"]
    names = {n["id"]: kernel_name(n) for n in nodes}
    streams = [e for e in edges if "stream" in e["cls"]]
    assert len(streams) == len(DIAMOND_STREAMS)
    for e in streams:
        src, dst = (names[i] for i in _ends(e))
        state = DIAMOND_STREAMS[(e["texts"][0], src, dst)]
        assert "blocked" in e["cls"] and state in e["cls"], e["cls"]
        assert e["texts"][-1] == ("FULL" if state == "full" else "empty")
