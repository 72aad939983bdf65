"""The Vitis project (``target="vitis_hls"``): kernel, XRT host, Makefile, connectivity, run.tcl, README.

Every file is generated in memory first (an emission error writes nothing), then each is written through a
temporary file and ``os.replace`` (no reader ever sees half a file). The content depends only on the
schedule and the configs, so rebuilding gives byte-identical files; build outputs in the folder are kept.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ...errors import BuildError
from .csim import SHIMS, harness_source
from .devices import Device
from .signature import Param

TEMPLATES = Path(__file__).parent / "templates"


def render(template: str, values: dict) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", str(value))
    if "@@" in text:
        raise BuildError(f"internal: unfilled placeholder in template {template}")
    return text


def device_bytes(p: Param) -> int:
    """Bytes per element in device memory: native sizes; ap types round up to a power of two bytes."""
    dtype = p.dtype
    if dtype is None or dtype.is_index:
        return 4
    if dtype.is_float:
        return dtype.bits // 8
    nbytes = -(-dtype.bits // 8)
    size = 1
    while size < nbytes:
        size *= 2
    return size


def _count(p: Param) -> int:
    n = 1
    for d in p.shape:
        n *= d
    return n


def _host_scalar_ctype(p: Param) -> str:
    if p.dtype is not None and p.dtype.is_float:
        return {16: "uint16_t", 32: "float", 64: "double"}[p.dtype.bits]
    nbytes = device_bytes(p)
    if nbytes > 8:
        raise BuildError(f"host.cpp: scalar argument '{p.name}' is wider than 64 bits")
    return f"int{nbytes * 8}_t"


def host_source(top: str, params: list) -> str:
    setup, call, readback = [], [], []
    for k, p in enumerate(params):
        if p.kind == "scalar":
            setup.append(f'    auto {p.name} = read_scalar<{_host_scalar_ctype(p)}>(data + "/{p.name}.bin");')
            call.append(p.name)
            continue
        if p.kind == "stream":
            raise BuildError(f"host.cpp: top-level stream argument '{p.name}' needs an AXI-stream host")
        nbytes = f"{_count(p)} * {device_bytes(p)}"
        bo = f"bo_{p.name}"
        setup.append(f"    const size_t {p.name}_bytes = {nbytes};")
        setup.append(f"    xrt::bo {bo}(device, {p.name}_bytes, kernel.group_id({k}));")
        if p.kind != "result":
            setup.append(f'    {bo}.write(read_file(data + "/{p.name}.bin", {p.name}_bytes).data());')
            setup.append(f"    {bo}.sync(XCL_BO_SYNC_BO_TO_DEVICE);")
        call.append(bo)
        readback += [f"    {bo}.sync(XCL_BO_SYNC_BO_FROM_DEVICE);",
                     f"    std::vector<char> {p.name}_out({p.name}_bytes);",
                     f"    {bo}.read({p.name}_out.data());",
                     f'    write_file(data + "/{p.name}.out.bin", {p.name}_out);']
    return render("host.cpp", {"TOP": top, "SETUP": "\n".join(setup), "CALL_ARGS": ", ".join(call),
                               "READBACK": "\n".join(readback)})


def connectivity(top: str, params: list, device: Device, num_outputs: int) -> str:
    """One ``sp=`` line per memory port; automatic banks round-robin, user banks by argument name
    (``"return"`` names the returned tensors and scalar results)."""
    ports = [p for p in params if p.kind in ("array", "result")]
    returned = {p.name for p in ports if p.kind == "result"}
    arrays = [p for p in params if p.kind == "array"]
    if num_outputs:
        returned |= {p.name for p in arrays[len(arrays) - num_outputs:]}
    known = {p.name for p in params} | {"return"}
    unknown = set(device.mapping) - known
    if unknown:
        raise BuildError(f"memory mapping names unknown argument(s) {sorted(unknown)}; "
                         f"arguments: {', '.join(p.name for p in ports)} (or 'return')")
    lines = ["[connectivity]", f"nk={top}:1:{top}_1"]
    for k, p in enumerate(ports):
        bank = device.mapping.get(p.name)
        if bank is None and p.name in returned:
            bank = device.mapping.get("return")
        if bank is None:
            bank = k % device.banks
        lines.append(f"sp={top}_1.{p.name}:{device.sp.format(bank=bank)}")
    return "\n".join(lines) + "\n"


def project_files(code, params: list, device: Device, num_outputs: int) -> dict:
    top = code.top
    common = {"TOP": top, "PLATFORM": device.platform, "PART": device.part, "FREQUENCY": device.frequency,
              "DEVICE": device.name}
    layout = ", ".join(f"{p.name}: {device_bytes(p)} B/element" for p in params if p.kind != "scalar")
    return {
        "kernel.cpp": str(code),
        "kernel.h": code.header,
        "host.cpp": host_source(top, params),
        "Makefile": render("Makefile", common),
        "connectivity.cfg": connectivity(top, params, device, num_outputs),
        "run.tcl": render("run.tcl", {**common, "PERIOD_NS": f"{1000.0 / device.frequency:.3f}"}),
        "csim_tb.cpp": harness_source(params, top),
        "dsl_csim_io.h": (SHIMS / "dsl_csim_io.h").read_text(),
        "README.md": render("README.md", {**common, "ARGS": ", ".join(p.name for p in params),
                                           "LAYOUT": layout or "no buffers"}),
    }


def write_files(folder, files: dict) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", newline="\n") as f:
                f.write(text)
            os.replace(tmp, folder / name)
        except BaseException:
            os.unlink(tmp)
            raise
    return folder
