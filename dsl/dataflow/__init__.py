"""Spatial dataflow designs: streams, regions of kernels replicated into PE grids, and the simulator.

    @dsl.region()
    def top(A: int32[N], B: int32[N]):
        pipe: dsl.Stream[int32, 4]

        @dsl.kernel(mapping=[1])
        def producer(A: int32[N]):
            for i in range(N):
                pipe.put(A[i])

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[N]):
            for i in range(N):
                B[i] = pipe.get() + 1

    sim = dsl.build(top, target="sim")     # every kernel instance a process, FIFOs of depth 4
    sim(A, B); print(sim.report())         # per-stream maximum occupancy
"""
from .lang import Region, Stream, StreamType, get_pid, kernel, meta_for, region  # noqa: F401
from .report import StreamWarning  # noqa: F401
from ..frontend import streams as _streams  # noqa: F401  (registers put/get/get_pid with the frontend)


def check(schedule):
    """Run the static stream check on a dataflow schedule (raises ``dsl.StreamError``)."""
    from .check import check_netlist
    from .netlist import extract

    with schedule.context:
        check_netlist(extract(schedule.module, schedule.top))


__all__ = ["Region", "Stream", "StreamType", "StreamWarning", "check", "get_pid", "kernel", "meta_for", "region"]
