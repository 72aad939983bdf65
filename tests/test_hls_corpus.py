"""Issue 4 acceptance: every corpus kernel and the scheduled kernels run through csim (g++ on the emitted
HLS C++) and agree with numpy and with the CPU backend (bit-exact for integers and fixed point)."""
import os

import numpy as np
import pytest

import dsl
from tests.kernels import ALL_CASES
from tests.test_lang_corpus import assert_agrees

HLS_UNSUPPORTED = {"bfloat16_arith"}  # Vitis HLS has no bfloat16 type: the backend refuses it clearly


def _run(module, case, inputs):
    args = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]
    got = module(*args)
    if case.inplace:
        assert got is None
        got = tuple(args[k] for k in case.written)
        got = got[0] if len(got) == 1 else got
    return got


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_corpus_case_csim(case):
    s = dsl.customize(case.kernel, instantiate=case.instantiate)
    if case.name in HLS_UNSUPPORTED:
        with pytest.raises(dsl.BuildError, match="bfloat16") as err:
            dsl.build(s, target="vitis_hls", mode="csim")
        assert err.value.loc is not None and err.value.loc.file.endswith("corpus_types.py")  # the user's line
        return
    inputs = case.inputs()
    expected = case.expected(inputs)
    got = _run(dsl.build(s, target="vitis_hls", mode="csim"), case, inputs)
    assert_agrees(got, expected, case)
    assert_agrees(got, _run(s.build(), case, inputs), case)


# -- the scheduled kernels of the schedule issue ------------------------------------------------------
from tests import test_schedule_acceptance as sched  # noqa: E402

RNG = np.random.default_rng(11)


def _ints(*shape):
    return RNG.integers(-50, 50, shape).astype(np.int32)


def _gemm_tiled():
    from dsl.schedule import Partition

    s = dsl.customize(sched.gemm)
    s.split("i", 8)
    s.reorder("i.outer", "j", "i.inner")
    s.pipeline("j")
    s.partition(s.B, Partition.Cyclic, dim=2, factor=4)
    A, B = _ints(64, 32), _ints(32, 16)
    return s, (A, B), A @ B


def _from_yaml(kernel, name, shapes, reference):
    def make():
        s = dsl.customize(kernel, schedule=os.path.join(sched.SCHEDULES, name))
        args = tuple(_ints(*shape) for shape in shapes)
        return s, args, reference(*args)
    return make


def _conv_ref(A, W):
    return np.array([[np.sum(A[y:y + 3, x:x + 3] * W) for x in range(10)] for y in range(8)])


SCHEDULED = {
    "gemm_tiled": _gemm_tiled,
    "conv_reuse": _from_yaml(sched.conv3x3, "conv3x3_reuse.yaml", [(10, 12), (3, 3)], _conv_ref),
    "stages_compute_at": _from_yaml(sched.stages, "stages_compute_at.yaml", [(16, 8)], lambda A: A * 3 + 1 - A),
    "mm2_compose": _from_yaml(sched.mm2, "mm2_compose.yaml", [(8, 8)] * 3, lambda A, B, D: (A @ B) @ D),
}


@pytest.mark.parametrize("name", sorted(SCHEDULED))
def test_scheduled_kernel_csim(name):
    s, args, expected = SCHEDULED[name]()
    got = dsl.build(s, target="vitis_hls", mode="csim")(*args)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, s.build()(*args))
