"""The Vitis project (``target="vitis_hls"``): kernel, XRT host, Makefile, connectivity, run.tcl, README.

Every file is generated in memory first (an emission error writes nothing), then each is written through a
temporary file and ``os.replace`` (no reader ever sees half a file). The content depends only on the
schedule and the configs, so rebuilding gives byte-identical files; build outputs in the folder are kept.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ...errors import BuildError
from .csim import SHIMS, harness_source
from .devices import Device
from .hostdata import INTERFACE_FILE, device_bytes
from .signature import Param

TEMPLATES = Path(__file__).parent / "templates"


def render(template: str, values: dict) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", str(value))
    if "@@" in text:
        raise BuildError(f"internal: unfilled placeholder in template {template}")
    return text


def _count(p: Param) -> int:
    n = 1
    for d in p.shape:
        n *= d
    return n


def _host_scalar_ctype(p: Param) -> str:
    if p.dtype is not None and p.dtype.is_float:
        return {16: "uint16_t", 32: "float", 64: "double"}[p.dtype.bits]
    nbytes = device_bytes(p.dtype)
    if nbytes > 8:
        raise BuildError(f"host.cpp: scalar argument '{p.name}' is wider than 64 bits")
    return f"int{nbytes * 8}_t"


def _output_names(params: list, num_outputs: int) -> set:
    """Returned tensors (the last ``num_outputs`` arrays) and scalar results: the host zero-fills them."""
    arrays = [p.name for p in params if p.kind == "array"]
    return set(arrays[len(arrays) - num_outputs:] if num_outputs else []) | {
        p.name for p in params if p.kind == "result"}


# Host-side variables are prefixed (v_ scalar, n_ byte count, bo_ buffer, out_ readback) so that no kernel
# argument name can collide with another or with the host's own locals (device, kernel, data, run, ...).
def _host_scalar(p: Param) -> tuple:
    return ([f'    const auto v_{p.name} = read_scalar<{_host_scalar_ctype(p)}>(data + "/{p.name}.bin");'],
            f"v_{p.name}", [])


def _host_buffer(p: Param, k: int, is_output: bool) -> tuple:
    name = p.name
    fill = f"std::vector<char>(n_{name})" if is_output else f'read_file(data + "/{name}.bin", n_{name})'
    setup = [f"    const size_t n_{name} = {_count(p)} * {device_bytes(p.dtype)};",
             f"    xrt::bo bo_{name}(device, n_{name}, kernel.group_id({k}));",
             f"    bo_{name}.write({fill}.data());",
             f"    bo_{name}.sync(XCL_BO_SYNC_BO_TO_DEVICE);"]
    readback = [f"    bo_{name}.sync(XCL_BO_SYNC_BO_FROM_DEVICE);",
                f"    std::vector<char> out_{name}(n_{name});",
                f"    bo_{name}.read(out_{name}.data());",
                f'    write_file(data + "/{name}.out.bin", out_{name});']
    return setup, f"bo_{name}", readback


def host_source(top: str, params: list, num_outputs: int) -> str:
    """host.cpp: inputs from ``<arg>.bin``, outputs zero-filled, every buffer written to ``<arg>.out.bin``."""
    outputs = _output_names(params, num_outputs)
    setup, call, readback = [], [], []
    for k, p in enumerate(params):
        if p.kind == "stream":
            raise BuildError(f"host.cpp: top-level stream argument '{p.name}' needs an AXI-stream host")
        lines, arg, back = _host_scalar(p) if p.kind == "scalar" else _host_buffer(p, k, p.name in outputs)
        setup += lines
        call.append(arg)
        readback += back
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


def project_files(code, params: list, device: Device, num_outputs: int, iface) -> dict:
    """Every file of the project (name -> text); ``iface`` is the ``hostdata.HostInterface``."""
    top = code.top
    common = {"TOP": top, "PLATFORM": device.platform, "PART": device.part, "FREQUENCY": device.frequency,
              "DEVICE": device.name}
    layout = ", ".join(f"`{p.name}` {device_bytes(p.dtype)} B" for p in params if p.kind != "stream")
    return {
        "kernel.cpp": str(code),
        "kernel.h": code.header,
        "host.cpp": host_source(top, params, num_outputs),
        INTERFACE_FILE: iface.to_json(),
        "Makefile": render("Makefile", common),
        "connectivity.cfg": connectivity(top, params, device, num_outputs),
        "run.tcl": render("run.tcl", {**common, "PERIOD_NS": f"{1000.0 / device.frequency:.3f}"}),
        "csim_tb.cpp": harness_source(params, top),
        "dsl_csim_io.h": (SHIMS / "dsl_csim_io.h").read_text(),
        "README.md": render("README.md", {**common, "ARGS": ", ".join(p.name for p in params),
                                           "LAYOUT": layout or "no buffers"}),
    }


def write_files(folder, files: dict) -> Path:
    """Write the project all or nothing: every file goes to a scratch folder beside ``folder`` first and is
    moved in only when all are written, so a failure leaves no half-written project. Files of an existing
    project folder that we do not generate (build outputs) are kept."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BuildError(f"project path '{folder}' is an existing file, not a folder; choose another project=")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:12]}.tmp"
        scratch.mkdir()  # default permissions (umask), unlike mkdtemp
    except OSError as exc:
        raise BuildError(f"cannot create the project folder '{folder}': {exc.strerror}") from None
    try:
        for name, text in sorted(files.items()):
            with open(scratch / name, "w", newline="\n") as f:
                f.write(text)
        if folder.is_dir():
            for name in files:
                os.replace(scratch / name, folder / name)
        else:
            scratch.rename(folder)
    except OSError as exc:
        raise BuildError(f"writing the project '{folder}' failed: {exc}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder

