"""docs/allo.md names only what exists: the dsl names its tables give for Allo's are importable."""
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "allo.md"


def _dsl_names(section: str) -> set:
    """Names a table says dsl has: its dsl column, and the Allo column of rows that are the same."""
    text = DOC.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        allo, ours, how = line.strip("| ").split(" | ")[:3]
        if how.startswith("missing"):
            continue
        for column in [ours] + ([allo] if how.startswith("same") else []):
            names |= set(re.findall(r"`(?:nn\.)?([a-zA-Z_][\w.]*)`", column))
    return names


def test_library_names_of_the_table_exist():
    import dsl.library.nn as nn
    import dsl.library.systolic as systolic

    names = _dsl_names("Kernel library") - {"dsl.library.nn", "dsl.library.linalg", "dsl.library.systolic",
                                             "dsl.relu", "s.compose", "import"}
    assert {"linear2d", "scaled_dot_product_attention", "gemm", "pe_step", "relu"} <= names
    assert "conv2d" not in names
    for name in names:
        module = systolic if name in ("gemm", "tile", "pe_step", "packed_gemm", "linear", "packed_linear") else nn
        assert hasattr(module, name), name


def test_dsl_functions_of_the_tensor_table_exist():
    import dsl

    text = DOC.read_text().split("## Tensor operations\n", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in text.splitlines() if line.startswith("| `allo.add"))
    names = {part.removeprefix("allo.") for token in re.findall(r"`([^`]+)`", row.split(" | ")[0])
             for part in token.split("/")} - {".T", "…"}
    assert {"add", "power", "bmm", "softmax", "tril"} <= names
    for name in names:
        assert callable(getattr(dsl, name, None)), name
