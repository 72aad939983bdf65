"""The language core's corpus of kernel programs, as data every backend can run.

    from tests.kernels import ALL_CASES
    for case in ALL_CASES:
        inputs = case.inputs()
        expected = case.expected(inputs)
        ...  # run case.kernel (instantiated with case.instantiate) on inputs, compare
"""
import sys

from . import corpus_arith, corpus_calls, corpus_control, corpus_fixed, corpus_tensor, corpus_types
from .case import RTOL, Case

ALL_CASES = [
    *corpus_arith.CASES, *corpus_types.CASES, *corpus_fixed.CASES, *corpus_control.CASES,
    *corpus_tensor.CASES, *corpus_calls.CASES,
]
if sys.version_info >= (3, 12):  # PEP 695 type parameters are syntax on 3.12+ only
    from . import corpus_pep695

    ALL_CASES += corpus_pep695.CASES

__all__ = ["ALL_CASES", "Case", "RTOL"]
