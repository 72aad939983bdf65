"""Reading the elements of a dense integer attribute of any width.

MLIR's Python bindings index ``DenseIntElementsAttr`` only for 1, 8, 16, 32 and 64-bit elements; a global of
another width (a stateful ``Fixed(12, 4)`` table is ``tensor<3xi12>``) raises "Unsupported integer type".
Its printed form is exact for every width, so that is read instead.
"""
from __future__ import annotations

import re

from mlir import ir


def dense_ints(attr) -> list:
    """The elements of ``attr`` (row-major), as Python ints (bools for i1)."""
    try:
        return [attr[k] for k in range(len(attr))]
    except TypeError:
        pass
    shaped = ir.ShapedType(attr.type)
    count = 1
    for d in shaped.shape:
        count *= d
    body = re.match(r"dense<(.*)>\s*:", str(attr), re.S)
    words = [w for w in re.split(r"[\[\],\s]+", body.group(1)) if w]
    values = [int(w, 0) for w in words]  # decimal, or a 0x... splat/hex form
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise ValueError(f"cannot read the {count} elements of {attr}")
    return values
