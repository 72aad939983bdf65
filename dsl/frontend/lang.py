"""The functions a kernel may call (``dsl.grid``, ``dsl.exp``, ``dsl.matmul``, ...).

Inside a kernel the frontend compiles each of them (see ``calls.INTRINSICS``); called from plain Python
they compute the same thing on numpy arrays, so a kernel's reference result can be written with them.
"""
from __future__ import annotations

import builtins
import itertools

import numpy as np


def grid(*extents, name: str | None = None):
    """Iterate over a multi-dimensional space: ``for i, j in dsl.grid(64, 16)``. The loops form one band."""
    return itertools.product(*(range(e) for e in extents)) if len(extents) > 1 else iter(range(extents[0]))


def reduction(*extents, name: str | None = None):
    """Like ``grid``, for loops that accumulate (marked as reduction loops in the IR)."""
    return grid(*extents, name=name)


def loop_tripcount(max, min=0, avg=None):  # noqa: A002 - Vitis's names for the three counts
    """The first statement of a loop's body may say how many times the loop runs, as
    ``#pragma HLS loop_tripcount`` does in C++ (for the HLS latency report only; UG1399). The only way to
    give it for a ``while`` loop; ``s.tripcount(loop, ...)`` does the same for a ``for`` loop. In plain
    Python it does nothing."""


def _unary(np_fn):
    def fn(x):
        return np_fn(x)

    fn.__name__ = np_fn.__name__
    return fn


exp = _unary(np.exp)
exp2 = _unary(np.exp2)
log = _unary(np.log)
log2 = _unary(np.log2)
log10 = _unary(np.log10)
sqrt = _unary(np.sqrt)
tanh = _unary(np.tanh)
sin = _unary(np.sin)
cos = _unary(np.cos)
tan = _unary(np.tan)
floor = _unary(np.floor)
ceil = _unary(np.ceil)
atan = _unary(np.arctan)
sinh = _unary(np.sinh)
cosh = _unary(np.cosh)


def rsqrt(x):
    return 1.0 / np.sqrt(x)


def erf(x):
    import math as pymath

    return np.vectorize(pymath.erf)(x)


def pow(x, y):  # noqa: A001 - the dsl name
    return np.power(x, y)


def abs(x):  # noqa: A001
    return np.abs(x)


def min(*args, axis=None):  # noqa: A001
    return np.min(args[0], axis=axis) if len(args) == 1 else builtins.min(args)


def max(*args, axis=None):  # noqa: A001
    return np.max(args[0], axis=axis) if len(args) == 1 else builtins.max(args)


def matmul(a, b):
    return np.matmul(a, b)


def transpose(a, axes=None):
    return np.transpose(a, axes)


def relu(x):
    return np.maximum(x, 0)


def sum(x, axis=None):  # noqa: A001
    return np.sum(x, axis=axis)


def mean(x, axis=None):
    return np.mean(x, axis=axis)
