"""Region factories in a module with ``from __future__ import annotations``: a factory parameter used only in
an annotation (a stream depth, a buffer shape) is no closure variable then, yet the region must see it."""
from __future__ import annotations

import numpy as np

import dsl
from dsl import int32


def scaled_pipe(n, depth, factor):
    @dsl.region()
    def pipe(A: int32[n], B: int32[n]):
        s: dsl.Stream[int32, depth]

        @dsl.kernel(mapping=[1])
        def producer(A: int32[n]):
            for i in range(n):
                s.put(A[i] * factor)

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[n]):
            for i in range(n):
                B[i] = s.get()

    return pipe


def test_factory_parameters_used_only_in_annotations_are_seen():
    assert "depth" not in scaled_pipe(4, 3, 2).fn.__code__.co_freevars  # the case this is about
    for n, depth, factor in ((4, 3, 2), (6, 1, -5)):
        sim = dsl.build(scaled_pipe(n, depth, factor), target="sim")
        A, B = np.arange(n, dtype=np.int32), np.zeros(n, np.int32)
        sim(A, B)
        np.testing.assert_array_equal(B, A * factor)
        assert sim.depths == {"s": depth}


def sized_copy(n):
    def copy(A: int32[n]) -> int32[n]:  # `n` appears only in annotations: no closure variable here
        B: int32[4] = 0
        for i in range(4):
            B[i] = A[i]
        return B

    return copy


def test_a_plain_kernel_factory_gets_a_hint_instead():
    """A plain kernel has no decorator to see its factory's locals: the error says why and what to do."""
    import pytest

    with pytest.raises(dsl.DSLError) as err:
        dsl.customize(sized_copy(4))
    msg = str(err.value)
    assert "name 'n' is not defined" in msg and "from __future__ import annotations" in msg
    assert "@dsl.template" in msg and "test_dataflow_factories.py:" in msg
