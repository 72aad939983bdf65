"""PEP 695 type parameters (Python >= 3.12 syntax): imported by tests.kernels only on 3.12+."""
import numpy as np

from dsl import int16, float32

from .case import Case, ints, wrap


def pep_add[T, L](A: "T[L]", B: "T[L]") -> "T[L]":
    C: T[L] = 0
    for i in range(L):
        C[i] = A[i] + B[i]
    return C


def pep_caller(A: int16[6], B: int16[6]) -> int16[6]:
    return pep_add[int16, 6](A, B)


CASES = [
    Case("pep695_instantiate_top", pep_add,
         lambda r: (r.uniform(-1, 1, 4).astype(np.float32), r.uniform(-1, 1, 4).astype(np.float32)),
         lambda A, B: A + B, exact=False, instantiate=(float32, 4)),
    Case("pep695_call_site", pep_caller,
         lambda r: (ints(r, -30000, 30000, 6, np.int16), ints(r, -30000, 30000, 6, np.int16)),
         lambda A, B: wrap(A.astype(np.int64) + B, 16)),
]
