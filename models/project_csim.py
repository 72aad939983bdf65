"""C simulation of one layer of the Vitis project: the project's own kernel file (the three SLR kernels and
the layer function that runs them concurrently, their cross-SLR streams FIFOs of the ``stream_connect`` depth,
see ``models.split``) compiled with g++ against AMD's ap_types headers and the testbench harness dsl's csim
uses; numpy in, numpy out, like ``dsl.build(..., mode="csim")``. A FIFO too shallow for the layer is a
``dsl.DeadlockError`` naming it, as the board would hang on it."""
from __future__ import annotations

from dsl.backend.hls.csim import CSimModule, compile_csim, harness_source, kernel_sources
from dsl.errors import DeadlockError
from dsl.backend.interface import signature

from .runner import copy_back_caches, layer_arguments
from .vitis import emit_variant


class ProjectCSim(CSimModule):
    """The split layer (``models.split``) of a design, ready to call with the layer's arguments."""

    def __init__(self, design, timeout: float = 600.0):  # noqa: D107  (not CSimModule's: other sources)
        split, params, schedule = emit_variant(design)
        self.design, self.split = design, split
        self.name, self.timeout = schedule.top, timeout
        self.sig = signature(schedule)
        with schedule.context:
            self.sources = kernel_sources(schedule.module)
        self.params, self.code = params, split.code
        self.files = {"kernel.cpp": split.code, "kernel.h": split.header, "harness.cpp": harness_source(params, split.top)}
        self.binary = compile_csim(self.files)
        self.stats, self.deadlock, self.schedule = {}, None, schedule

    def __call__(self, *args, **kwargs):
        """As ``CSimModule``; a deadlock says first which cross-SLR FIFOs were full (their depth is the one
        ``connectivity.cfg`` gives ``stream_connect``)."""
        try:
            return super().__call__(*args, **kwargs)
        except DeadlockError as err:
            full = sorted({r["stream"] for r in err.blocked if r["state"] == "full" and r["stream"] in self.split.cross})
            if not full:
                raise
            which = ", ".join(f"'{n}' (stream_connect depth {self.split.cross[n][1]})" for n in full)
            first, _, rest = str(err).partition("\n")
            raised = DeadlockError(f"{first}\n  full cross-SLR FIFO(s) between the SLR kernels: {which}; the "
                                   f"layer needs them deeper (build_layer depths=)\n{rest}")
            raised.design, raised.blocked, raised.stats = err.design, err.blocked, err.stats
            self.deadlock = raised
            raise raised from None

    def layer(self, qm, layer: int, X, cache=None, pos: int = 0):
        """Y of layer ``layer`` (the ``quant.KVCache``, when given, is updated in place)."""
        vals = layer_arguments(self.design, qm, layer, X, cache, pos, words="ints")
        args = [vals[n] for n, _, _ in self.design.args]
        self(*args)
        copy_back_caches(vals, cache)
        return args[[n for n, _, _ in self.design.args].index("Y")]
