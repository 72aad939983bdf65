"""GPU latency: a per-kernel roofline with launch overhead, FP16, for the same model, phase and batch.

Each kernel takes T = max( t_launch, FLOPs / (peak · η_c), bytes / (BW · η_m) ). Eager frameworks launch
one kernel per operation, so short kernels cost the launch time: that is why GPU prefill latency is flat
for short prompts and why batch-1 decode is launch- or bandwidth-bound rather than compute-bound.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import equations as eq
from .constraints import Workload
from .data import LINEAR_OPS, Calibration, GpuDevice, TransformerModel
from .latency import decode_contexts

FP16_BYTES = 2


@dataclass(frozen=True)
class GpuResult:
    device: str
    title: str
    prefill_ms: float
    ttft_ms: float
    decode_ms_per_token: float | None
    decode_tokens_per_s: float | None
    energy_mj_per_token: float
    prefill_bound: str
    decode_bound: str | None
    memory_needed_gb: float
    fits: bool


def kernel_seconds(flops: float, nbytes: float, gpu: GpuDevice, calib: Calibration) -> tuple[float, str]:
    """T = max(t_launch, F/(P·η_c), Q/(BW·η_m)) and which of the three it is."""
    terms = {
        "launch": calib.gpu_kernel_launch_us * 1e-6,
        "compute": flops / (gpu.peak_tflops["fp16"] * 1e12 * calib.gpu_compute_efficiency),
        "memory": nbytes / (gpu.bandwidth_gbs * 1e9 * calib.gpu_memory_efficiency),
    }
    kind = max(terms, key=terms.get)
    return terms[kind], kind


def _operand_widths(model: TransformerModel) -> dict[str, tuple[int, int]]:
    """(input, output) row widths of the weight operators."""
    d, dkv, dffn, g = model.hidden, model.kv_hidden, model.ffn, 2 if model.gated_ffn else 1
    return {"q": (d, d), "k": (d, dkv), "v": (d, dkv), "p": (d, d), "f1": (d, g * dffn), "f2": (dffn, d)}


def layer_kernels(model: TransformerModel, tokens: int, context: int, batch: int, macs: dict,
                  kernels_per_layer: int) -> list[tuple[float, float]]:
    """(FLOPs, bytes) of each kernel one layer launches: 8 matmuls, softmax, then element-wise kernels."""
    kernels = []
    weights = eq.layer_weights(model)
    for op, (d_in, d_out) in _operand_widths(model).items():
        moved = weights[op] + batch * tokens * (d_in + d_out)
        kernels.append((2 * macs[op] * batch, moved * FP16_BYTES))
    scores = batch * model.heads * tokens * context
    for _ in ("a1", "a2"):
        moved = batch * (tokens * model.hidden + context * model.kv_hidden) + scores
        kernels.append((2 * macs["a1"] * batch, moved * FP16_BYTES))
    kernels.append((5 * scores, 2 * scores * FP16_BYTES))  # softmax reads and writes the scores
    row = 2 * batch * tokens * model.hidden * FP16_BYTES  # one read and one write of the activations
    kernels += [(batch * tokens * model.hidden, row)] * max(0, kernels_per_layer - len(LINEAR_OPS) - 1)
    return kernels


def phase_seconds(model, gpu, calib, tokens: int, context: int, batch: int, macs: dict) -> tuple[float, str]:
    """N · Σ_kernels T, and which term accounts for most of that time."""
    share = {"launch": 0.0, "compute": 0.0, "memory": 0.0}
    for flops, nbytes in layer_kernels(model, tokens, context, batch, macs, calib.gpu_kernels_per_layer):
        seconds, kind = kernel_seconds(flops, nbytes, gpu, calib)
        share[kind] += seconds
    bound = {"launch": "kernel launch", "compute": "compute", "memory": "memory bandwidth"}[max(share, key=share.get)]
    return model.layers * sum(share.values()), bound


def memory_needed_gb(model: TransformerModel, work: Workload) -> float:
    """FP16 weights plus the KV cache: (N·W + 2·N·l_max·d_kv·b) · 2 bytes."""
    kv = 2 * model.layers * work.max_context * model.kv_hidden * work.batch
    return (model_weights(model) + kv) * FP16_BYTES / 1e9


def model_weights(model: TransformerModel) -> int:
    return model.layers * sum(eq.layer_weights(model).values())


def gpu_latency(model: TransformerModel, gpu: GpuDevice, work: Workload, calib: Calibration) -> GpuResult:
    """Prefill, decode and energy of the model on one GPU (FP16, eager kernels)."""
    prefill, prefill_bound = phase_seconds(model, gpu, calib, work.prompt, work.prompt, work.batch,
                                           eq.prefill_macs(model, work.prompt))
    power = gpu.tdp_w * calib.gpu_power_fraction
    decode, decode_bound = None, None
    if model.is_decoder and work.gen > 0:
        steps = [phase_seconds(model, gpu, calib, 1, c + 1, work.batch, eq.decode_macs(model, c))
                 for c in decode_contexts(work)]
        decode = sum(s for s, _ in steps) / len(steps)
        decode_bound = steps[-1][1]
        energy = eq.energy_joules(power, decode) / work.batch
    else:
        energy = eq.energy_joules(power, prefill) / (work.prompt * work.batch)
    needed = memory_needed_gb(model, work)
    return GpuResult(
        device=gpu.name, title=gpu.title, prefill_ms=prefill * 1e3, ttft_ms=prefill * 1e3,
        decode_ms_per_token=decode * 1e3 if decode else None,
        decode_tokens_per_s=work.batch / decode if decode else None,
        energy_mj_per_token=energy * 1e3, prefill_bound=prefill_bound, decode_bound=decode_bound,
        memory_needed_gb=needed, fits=needed <= gpu.memory_gb,
    )
