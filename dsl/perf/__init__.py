"""dsl.perf: the analytical performance and resource model of spatial LLM accelerators.

Restates the model of Chen et al., "Understanding the Potential of FPGA-Based Spatial Acceleration for
Large Language Model Inference" (ACM TRETS 2024): how much parallelism each linear operator of a
Transformer layer gets on an FPGA, what limits it, the prefill and decode latency it reaches, and how it
compares with a GPU. Everything returns plain dataclasses; ``python -m dsl.perf`` is the command line.
"""
from .constraints import Parallel, Resource, Usage, Workload, check
from .data import (ATTENTION_OPS, LINEAR_OPS, QUANTS, WEIGHT_OPS, Calibration, Design, FpgaDevice, GpuDevice,
                   TransformerModel, known_devices, known_models, load_design, load_device, load_model)
from .gpu import GpuResult, gpu_latency
from .latency import PhaseLatency, phase_latency
from .report import PerfResult, evaluate
from .search import SearchResult, search
from .sweep import Sweep, SweepPoint, sweep

__all__ = [
    "ATTENTION_OPS", "LINEAR_OPS", "QUANTS", "WEIGHT_OPS", "Calibration", "Design", "FpgaDevice", "GpuDevice",
    "GpuResult", "Parallel", "PerfResult", "PhaseLatency", "Resource", "SearchResult", "TransformerModel",
    "Sweep", "SweepPoint", "Usage", "Workload", "check", "evaluate", "gpu_latency", "known_devices", "known_models",
    "load_design", "load_device", "load_model", "phase_latency", "search", "sweep",
]
