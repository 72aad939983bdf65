"""The design-level performance model: prefill, time to first token and decode of a generated accelerator,
from the estimates of the kernels it runs and the host loop around them.

The host runs the layer loop (prefill: once per prompt; decode: once per generated token) and invokes the
kernels of each layer in turn. Every term is a named physical quantity:

- ``kernels``: the cycles of every kernel invocation (its ``dsl.estimate`` latency: region roll-up included)
  over its clock, for every layer;
- ``kernel invocations``: ``kernel_invocation_us`` for each invocation (the XRT ``run.start()`` to
  ``run.wait()`` round trip over PCIe; measure it with the XRT profile summary on the board);
- ``inter-layer activations``: activations a kernel writes to HBM and the next one reads back, when its
  estimate does not already contain that traffic (kernels that talk through AXI streams on chip have none),
  at the bandwidth of the channels they use;
- ``host round trips``: what the host does around each layer's invocation in ``models/host.py``
  (``run_layers``): the layer's input rows written into their device buffer and synced to HBM
  (``XCL_BO_SYNC_BO_TO_DEVICE``), the output rows synced back after the runs complete, over PCIe: each sync
  ``dma_sync_us`` plus its bytes at ``host_link_gbs``; and the kernels a layer starts together (one per SLR)
  beyond the first, ``command_us`` each (the round trip of the first is ``kernel_invocation_us``);
- ``host transfer``: a decode step's token embedding to the device and its hidden state back, over the host
  link, for kernels whose host round trips are not given.

Time to first token is the prefill plus the transfer of the prompt's embeddings in and the last hidden state
out, as in ``dsl.perf`` (for kernels whose round trips are given, those are that transfer). ``compare`` puts
the first-order model of ``dsl.perf`` (the paper's equations) next to it.

Sources of the host figures (public XRT measurements; measure them with the XRT profile summary on the
board): PCIe Gen3 x16 is 8 GT/s x 16 lanes x 128/130 = 15.75 GB/s a direction; ``xbutil validate``'s DMA test
reaches 11.0 / 12.2 GB/s (host to card / card to host) with large buffers (Xilinx/XRT pull 937, U250) and
9.5 / 11.8 GB/s (pull 5448, U200): ``host_link_gbs`` 12 (``dsl.perf``'s device figure). With 4 KB buffers the
same test reads 666-865 MB/s on U280 / U50 shells (Xilinx/XRT issue 6787; pull 6060: 777.5 / 735.5 MB/s on
xilinx_u280_xdma_201920_3): 4096 B / ~0.75 GB/s = 5.5 us a transfer, of which 4096 B / 12 GB/s = 0.34 us
is its bytes: ``dma_sync_us`` 5.1, the fixed cost of one sync. ``command_us``: one thread submitting kernel
runs reaches 206,313 runs/s (Xilinx/XRT pull 4071, U50, new KDS + ERT), 4.85 us a run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .tables import EstimateError


@dataclass(frozen=True)
class HostParameters:
    kernel_invocation_us: float = 10.0  # assumed order of an XRT start/wait round trip; measure on the board
    host_link_gbs: float = 12.0         # achieved PCIe Gen3 x16 (the dsl.perf device's host_link_gbs)
    channel_efficiency: float = 0.85    # achieved fraction of an HBM channel's peak (dsl.perf's calibration)
    dma_sync_us: float = 5.1            # fixed cost of one bo.sync over PCIe (4 KB DMA test, see above)
    command_us: float = 4.85            # one more kernel run started with it (206,313 runs/s, see above)

    def __post_init__(self):
        for name in ("kernel_invocation_us", "host_link_gbs", "channel_efficiency", "dma_sync_us", "command_us"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise EstimateError(f"{name} must be a number >= 0, got {value!r}")
        if not 0 < self.channel_efficiency <= 1 or self.host_link_gbs <= 0:
            raise EstimateError("channel_efficiency must be in (0, 1] and host_link_gbs > 0")


@dataclass
class KernelRun:
    """One kernel the host invokes in every layer: its cycles per invocation (from ``dsl.estimate``)."""

    name: str
    cycles: int
    clock_mhz: float
    invocations: int = 1            # per layer
    hbm_bytes: int = 0              # activations it moves through HBM that its estimate does not contain
    hbm_channels: float = 1.0
    started_with: int = 1           # kernels the host starts together in this invocation (one per SLR)
    host_in_bytes: int = 0          # rows the host syncs to the device before each invocation
    host_out_bytes: int = 0         # and back after it (0 and 0: no host round trip given)

    @property
    def round_trip(self) -> bool:
        return bool(self.host_in_bytes or self.host_out_bytes)

    def seconds(self) -> float:
        return self.cycles / (self.clock_mhz * 1e6)


@dataclass
class PhaseEstimate:
    seconds: float
    terms: dict                     # term name -> seconds (they add up to ``seconds``)
    per_layer: dict = field(default_factory=dict)  # kernel name -> seconds of its invocations in one layer


@dataclass
class DesignEstimate:
    name: str
    model: str
    device: str
    prompt: int
    gen: int
    prefill: PhaseEstimate
    decode: PhaseEstimate | None
    host_in_s: float
    resources: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    first_order: object = None      # dsl.perf PerfResult of the same design, when compared

    @property
    def prefill_ms(self) -> float:
        return self.prefill.seconds * 1e3

    @property
    def ttft_ms(self) -> float:
        return (self.prefill.seconds + self.host_in_s) * 1e3

    @property
    def decode_ms_per_token(self) -> float | None:
        return self.decode.seconds * 1e3 if self.decode else None

    @property
    def decode_tokens_per_s(self) -> float | None:
        return 1.0 / self.decode.seconds if self.decode else None

    def rows(self) -> list:
        fo = self.first_order
        out = [["quantity", "first-order (paper's equations)", "design-level (estimated)"]]
        for name, mine, theirs in (
                ("prefill ms", self.prefill_ms, fo and fo.prefill_ms),
                ("time to first token ms", self.ttft_ms, fo and fo.ttft_ms),
                ("decode ms/token", self.decode_ms_per_token, fo and fo.decode_ms_per_token),
                ("decode tokens/s", self.decode_tokens_per_s, fo and fo.decode_tokens_per_s)):
            out.append([name, _fmt(theirs), _fmt(mine)])
        return out

    def __str__(self) -> str:
        widths = [max(len(r[i]) for r in self.rows()) for i in range(3)]
        lines = [f"{self.name}: {self.model} on {self.device}, prompt {self.prompt}, gen {self.gen}"]
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                  for r in self.rows()]
        for phase, est in (("prefill", self.prefill), ("decode (mean per token)", self.decode)):
            if est:
                terms = ", ".join(f"{k} {v * 1e3:.4g} ms" for k, v in est.terms.items())
                lines.append(f"{phase}: {terms}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}"


def _round_trip_s(k: KernelRun, host: HostParameters) -> float:
    """The host's syncs around one invocation: each a fixed DMA cost plus its bytes over the link."""
    syncs = (k.host_in_bytes > 0) + (k.host_out_bytes > 0)
    return syncs * host.dma_sync_us * 1e-6 + (k.host_in_bytes + k.host_out_bytes) / (host.host_link_gbs * 1e9)


def phase_estimate(layers: int, kernels: list, host: HostParameters, channel_gbs: float,
                   host_bytes: float) -> PhaseEstimate:
    """One pass of the host's layer loop: ``layers`` times every kernel, then the host transfer."""
    if layers < 1 or not kernels:
        raise EstimateError("a phase needs at least one layer and one kernel")
    compute = sum(k.seconds() * k.invocations for k in kernels)
    invoke = sum(k.invocations * (host.kernel_invocation_us + (k.started_with - 1) * host.command_us)
                 for k in kernels) * 1e-6
    hbm = sum(k.hbm_bytes / (k.hbm_channels * channel_gbs * 1e9 * host.channel_efficiency)
              for k in kernels if k.hbm_bytes)
    trips = sum(k.invocations * _round_trip_s(k, host) for k in kernels if k.round_trip)
    if any(k.round_trip for k in kernels):
        host_bytes = 0.0  # the step's embedding in and hidden state out are the first and last round trips
    terms = {"kernels": layers * compute, "kernel invocations": layers * invoke,
             "inter-layer activations": layers * hbm, "host round trips": layers * trips,
             "host transfer": host_bytes / (host.host_link_gbs * 1e9)}
    per_layer = {}
    for k in kernels:
        per_layer[k.name] = per_layer.get(k.name, 0.0) + k.seconds() * k.invocations
    return PhaseEstimate(sum(terms.values()), terms, per_layer)


def design_estimate(name: str, model, device, prompt: int, gen: int, prefill: list, decode,
                    host: HostParameters | None = None, resources: dict | None = None) -> DesignEstimate:
    """``prefill``: the kernels of one layer at the prompt length; ``decode``: a function context ->
    kernels of one layer for one token with that many tokens in the KV cache (or one list for every
    context). Decode is the mean over the generated tokens (``dsl.perf``'s sampled contexts)."""
    from ..perf.constraints import Workload
    from ..perf.data import load_device, load_model
    from ..perf.latency import decode_contexts

    model = load_model(model) if isinstance(model, str) else model
    device = load_device(device) if isinstance(device, str) else device
    host = host or HostParameters(host_link_gbs=device.host_link_gbs)
    act_bytes = model.hidden * 1  # int8 activations cross the host link
    channel = device.weight_memory.channel_gbs
    pre = phase_estimate(model.layers, prefill, host, channel, 0.0)
    dec = None
    if model.is_decoder and gen > 0:
        contexts = decode_contexts(Workload(prompt, gen))
        steps = [phase_estimate(model.layers, decode(c) if callable(decode) else decode, host, channel,
                                2 * act_bytes) for c in contexts]
        mean = sum(s.seconds for s in steps) / len(steps)
        terms = {k: sum(s.terms[k] for s in steps) / len(steps) for k in steps[0].terms}
        dec = PhaseEstimate(mean, terms, steps[-1].per_layer)
    # the prompt in, the last hidden state out (inside the layers' round trips when those are given)
    host_in = 0.0 if any(k.round_trip for k in prefill) else (prompt + 1) * act_bytes / (host.host_link_gbs * 1e9)
    return DesignEstimate(name, model.name, device.name, prompt, gen, pre, dec, host_in,
                          resources if resources is not None else {})


def compare(estimate: DesignEstimate, perf_design, model=None, device=None, calibration=None) -> DesignEstimate:
    """Attach the first-order model (``dsl.perf.evaluate`` of ``perf_design``) for a side-by-side table
    (``model``/``device``: objects or names, default the estimate's)."""
    from ..perf import evaluate

    estimate.first_order = evaluate(model or estimate.model, device or estimate.device, prompt=estimate.prompt,
                                    gen=estimate.gen, gpu=None, design=perf_design, calibration=calibration)
    return estimate
