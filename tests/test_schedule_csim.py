"""Scheduled MLIR is what the HLS backend reads: every primitive's output emits as HLS C++ (``vhls``), and the
acceptance designs, C-simulated with g++ (``vitis_hls`` csim), give numpy's results (4 compiles in all)."""
import os
import shutil

import numpy as np
import pytest

import dsl

from . import test_schedule_acceptance as A
from . import test_schedule_primitives as P

SCHEDULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schedules")
RNG = np.random.default_rng(5)


@pytest.mark.parametrize("case", sorted(P.CASES))
def test_every_primitive_emits_hls(case):
    kernel, steps = P.CASES[case]
    s = dsl.customize(kernel)
    steps(s)
    if case == "to":  # a stream between calls needs a dataflow region: they would run one after another
        with pytest.raises(dsl.StreamError, match="which is not a dataflow region"):
            dsl.build(s, target="vhls")
        s.dataflow(s.top)
    code = dsl.build(s, target="vhls")
    assert f"void {s.top}(" in code
    if "pipeline" in case:
        assert "#pragma HLS pipeline II=2" in code.replace("  ", " ")
    if case == "reuse_at":  # the first-iteration guard is an if, not an affine.if the emitter would reject
        assert "if (" in code


def _r(*shape):
    return RNG.integers(-50, 50, shape).astype(np.int32)


def _conv_ref(Ai, W):
    return np.array([[np.sum(Ai[y:y + 3, x:x + 3] * W) for x in range(10)] for y in range(8)])


# (kernel, schedule file, inputs, numpy reference)
DESIGNS = {
    "gemm": (A.gemm, "gemm_64x16.yaml", lambda: [_r(64, 32), _r(32, 16)], lambda a, b: a @ b),
    "conv3x3": (A.conv3x3, "conv3x3_reuse.yaml", lambda: [_r(10, 12), _r(3, 3)], _conv_ref),
    "stages": (A.stages, "stages_compute_at.yaml", lambda: [_r(16, 8)], lambda a: a * 3 + 1 - a),
    "mm2": (A.mm2, "mm2_compose.yaml", lambda: [_r(8, 8), _r(8, 8), _r(8, 8)], lambda a, b, d: (a @ b) @ d),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_acceptance_design_emits_hls(name):
    kernel, path, _, _ = DESIGNS[name]
    s = dsl.customize(kernel, schedule=os.path.join(SCHEDULES, path))
    code = dsl.build(s, target="vhls")
    assert "#pragma HLS" in code


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="csim needs g++")
@pytest.mark.parametrize("name", list(DESIGNS))
def test_acceptance_design_csim_matches_numpy(name, tmp_path):
    kernel, path, inputs, reference = DESIGNS[name]
    s = dsl.customize(kernel, schedule=os.path.join(SCHEDULES, path))
    mod = dsl.build(s, target="vitis_hls", mode="csim", project=str(tmp_path))
    args = inputs()
    np.testing.assert_array_equal(np.asarray(mod(*args)), reference(*args))
    np.testing.assert_array_equal(np.asarray(s.build()(*args)), reference(*args))
