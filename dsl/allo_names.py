"""Allo names that dsl deliberately does not provide, with the reason, so that a ported program fails
with an explanation instead of a bare AttributeError (docs/allo.md has the full table)."""
from __future__ import annotations

NOT_PROVIDED = {
    "gather": "dsl regions connect kernels with explicit streams (dsl.Stream); there is no gather of pipes",
    "scatter": "dsl regions connect kernels with explicit streams (dsl.Stream); there is no scatter of pipes",
    "Memory": "memory layouts are an AIE feature of Allo; dsl targets Vitis HLS on Alveo",
    "Layout": "memory layouts are an AIE feature of Allo; dsl targets Vitis HLS on Alveo",
    "verify": "equivalence checking of two schedules is not provided; compare their results on the CPU",
    "IPModule": "external C++ IP integration is not provided; write the kernel in dsl",
    "invoke_mlir_parser": "dsl builds MLIR from Python kernels only",
    "conv2d": "write the loop nest (dsl.grid / dsl.reduction) or use the library's kernels",
    "maxpool": "write the loop nest (dsl.grid / dsl.reduction) or use the library's kernels",
    "sumpool": "write the loop nest (dsl.grid / dsl.reduction) or use the library's kernels",
}

TARGETS_NOT_PROVIDED = {
    "ihls": "Intel HLS", "tapa": "TAPA", "catapult": "Catapult HLS", "xls": "XLS", "aie": "AMD AI Engines",
    "pynq": "PYNQ boards", "vivado_hls": "Vivado HLS (use target='vitis_hls')",
}

SCHEDULE_NOT_PROVIDED = {
    "get_equivalent_variables": "use-def analysis across calls is not exposed; name buffers as 'func:name'",
    "buffer_at_systolic": "use buffer_at, then unfold",
    "buffer_at_regular": "use buffer_at",
}


def missing_attribute(module: str, name: str) -> AttributeError:
    why = NOT_PROVIDED.get(name)
    if why is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    return AttributeError(f"{module}.{name} (an Allo name) is not provided: {why} (see docs/allo.md)")
