"""Vitis HLS backend: ``target="vhls"`` (C++ text) and ``target="vitis_hls"`` (project, csim, vendor flows)."""
from __future__ import annotations

from ...errors import BuildError
from .emitter import ModuleEmitter, c_function_name
from .streams import prepare_streams
from .ops_arith import OPS as _ARITH_OPS
from .ops_control import OPS as _CONTROL_OPS
from .ops_memref import OPS as _MEMREF_OPS
from .vitis_project import VitisProject

OPS = {**_ARITH_OPS, **_MEMREF_OPS, **_CONTROL_OPS}


class HLSCode(str):
    """The emitted kernel.cpp as a string; ``.header`` is kernel.h, ``.top`` the top function's name."""

    def __new__(cls, code: str, header: str, top: str):
        obj = super().__new__(cls, code)
        obj.header = header
        obj.top = top
        return obj

    @property
    def code(self) -> str:
        return str(self)

    hls_code = code  # Allo's name


def emit_hls(schedule) -> HLSCode:
    with schedule.context:
        _refuse_bfloat16(schedule.module)
        prepare_streams(schedule.module)  # callee arguments that receive a stream become hls::stream&
        code, header = ModuleEmitter(schedule.module, schedule.top, OPS).emit()
    return HLSCode(code, header, c_function_name(schedule.top))


def _refuse_bfloat16(module):
    """Vitis HLS has no bfloat16: name the user's first line that makes or takes one."""
    from mlir import ir

    from ...frontend.narrow import walk_ops
    from .emitter import source_loc

    def has_bf16(t) -> bool:
        t = t.element_type if isinstance(t, (ir.MemRefType, ir.RankedTensorType)) else t
        return isinstance(t, ir.BF16Type)

    for op in walk_ops(module.operation):
        types = [r.type for r in op.results] + [a.type for a in op.operands]
        if op.name == "func.func":
            signature = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            types += list(signature.inputs) + list(signature.results)
        if any(has_bf16(t) for t in types):
            raise BuildError("bfloat16 has no Vitis HLS C++ type; use float16 (half) or float32",
                             loc=source_loc(op))


def build_vhls(schedule, **options) -> HLSCode:
    """``dsl.build(s, target="vhls")``: the HLS C++ of the scheduled kernel."""
    if options:
        raise BuildError(f"target 'vhls' takes no options; got {', '.join(sorted(options))}")
    return emit_hls(schedule)


def build_vitis_hls(schedule, mode: str = "csim", project: str | None = None, configs: dict | None = None,
                    timeout: float = 600.0):
    """``dsl.build(s, target="vitis_hls", mode=..., project=..., configs=..., timeout=...)``.

    ``csim`` compiles the kernel with g++ and returns a callable module; the vendor modes (``csyn``,
    ``cosim``, ``sw_emu``, ``hw_emu``, ``hw``) write the project and run the AMD tools when present.
    """
    from .flows import run_mode

    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise BuildError(f"timeout must be a positive number of seconds (for each csim run), got {timeout!r}")
    if configs is not None and not isinstance(configs, dict):
        raise BuildError(f"configs= must be a dict of settings, e.g. configs={{'device': 'u280', 'frequency': 300}}; "
                         f"got {configs!r}")
    return run_mode(schedule, mode, project, configs or {}, timeout)


__all__ = ["build_vhls", "build_vitis_hls", "emit_hls", "HLSCode", "OPS", "VitisProject"]
