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
