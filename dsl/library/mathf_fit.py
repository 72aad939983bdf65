"""How the polynomial coefficients of ``mathf`` were obtained (run: ``python -m dsl.library.mathf_fit``).

exp and log use plain Taylor coefficients (1/k! and 1/(2k+1)); erf and erfc use the least-squares fits below,
made in float64 on Chebyshev nodes with weights that push down the largest relative error. The printed
coefficients are the ones written out in ``mathf.py``; ``tests/test_library_mathf.py`` checks the accuracy
they reach in float32, so a refit only has to keep those bounds.
"""
from __future__ import annotations

import math

import numpy as np

ERF_SPLIT = 0.921875   # |z| below: erf(z) = z * P(z^2); above: erfc(|z|) = exp(-z^2) * Q(1 / (1 + |z| / 2))
ERFC_END = 10.1        # erfc(10.1) is below the smallest float32


def _nodes(lo, hi, n=4000):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def fit_relative(x, target, degree, rounds=30):
    """Coefficients (lowest first) of a polynomial in ``x`` approximating ``target`` in relative error."""
    weights = 1 / np.abs(target)
    basis = np.vander(x, degree + 1, increasing=True)
    for _ in range(rounds):
        coef, *_ = np.linalg.lstsq(basis * weights[:, None], target * weights, rcond=None)
        err = (basis @ coef - target) / target
        weights = weights * (1 + 50 * np.abs(err) / np.abs(err).max())
    return coef, float(np.abs(err).max())


def fits():
    erf = np.vectorize(math.erf)
    erfc = np.vectorize(math.erfc)
    z = _nodes(1e-4, ERF_SPLIT)
    small = fit_relative(z * z, erf(z) / z, 5)
    a = _nodes(ERF_SPLIT, ERFC_END)
    tail = fit_relative(1 / (1 + 0.5 * a), erfc(a) * np.exp(a * a), 8)
    return {"erf P(z^2)": small, "erfc Q(t)": tail}


if __name__ == "__main__":
    for name, (coef, err) in fits().items():
        print(f"{name}: max relative error {err:.3g} (float64)")
        print("   ", ", ".join(repr(float(c)) for c in coef))
