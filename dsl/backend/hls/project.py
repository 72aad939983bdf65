"""The Vitis project (``target="vitis_hls"``): kernel, XRT host, Makefile, connectivity, run.tcl, README.

Every file is generated in memory first (an emission error writes nothing), then each is written through a
temporary file and ``os.replace`` (no reader ever sees half a file). The content depends only on the
schedule and the configs, so rebuilding gives byte-identical files, and an unchanged file is left alone;
build outputs in the folder are kept. A folder that dsl did not write (no ``.dsl-project`` marker) is used
only when it is empty.
"""
from __future__ import annotations

import hashlib
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
    known = {p.name for p in params} | {p.user_name for p in params if p.user_name} | {"return"}
    unknown = set(device.mapping) - known
    if unknown:
        raise BuildError(f"memory mapping names unknown argument(s) {sorted(unknown)}; "
                         f"arguments: {', '.join(p.label for p in ports)} (or 'return')")
    lines = ["[connectivity]", f"nk={top}:1:{top}_1"]
    python_names = {p.user_name for p in params if p.user_name}
    for k, p in enumerate(ports):
        bank = _mapped_bank(device.mapping, p, python_names)
        if bank is None and p.name in returned:
            bank = device.mapping.get("return")
        if bank is None:
            bank = k % device.banks
        lines.append(f"sp={top}_1.{p.name}:{device.sp.format(bank=bank)}")
    return "\n".join(lines) + "\n"


def _mapped_bank(mapping: dict, p: Param, python_names: set):
    """The bank the user gave port ``p``: by its C++ port name (two arguments may share a Python name:
    ``return A``) unless that is another argument's Python name, else by its Python name."""
    if p.name in mapping and (p.name == p.user_name or p.name not in python_names):
        return mapping[p.name]
    return mapping.get(p.user_name) if p.user_name else None


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
        "README.md": render("README.md", {**common, "ARGS": ", ".join(p.label for p in params),
                                           "LAYOUT": layout or "no buffers"}),
    }


MARKER = ".dsl-project"  # lists the files dsl wrote into the folder, with their SHA-256
_MARKER_HEAD = ("# A Vitis project written by dsl (dsl.build(..., target='vitis_hls')). A rebuild rewrites the files\n"
                "# listed here, and only those whose content changes; it refuses to overwrite one that was edited.\n")


def project_folder(project) -> Path:
    """The project folder named by ``project=``: a non-empty path that is, or can become, a folder."""
    if not isinstance(project, (str, os.PathLike)) or isinstance(project, bytes):
        raise BuildError(f"project= must be a folder path (a str or pathlib.Path), got {project!r}")
    if not str(project).strip():
        raise BuildError(f"project= must name a folder, got {str(project)!r}; an empty path would write the "
                         "project into the current folder (give project='.' to mean that)")
    folder = Path(project)
    if folder.exists() and not folder.is_dir():
        raise BuildError(f"project path '{folder}' is an existing file, not a folder; choose another project=")
    for parent in folder.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BuildError(f"cannot create the project folder '{folder}': '{parent}' is a file, not a "
                                 "folder; choose another project=")
            break
    return folder


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _marker(files: dict) -> str:
    return _MARKER_HEAD + "".join(f"{_digest(files[name])}  {name}\n" for name in sorted(files) if name != MARKER)


def _written_before(folder: Path) -> dict | None:
    """name -> SHA-256 of what dsl wrote into ``folder`` last time; None when dsl did not write the folder."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    entries = (line.split("  ", 1) for line in marker.read_text(errors="replace").splitlines()
               if line and not line.startswith("#"))
    return {name: digest for digest, name in (e for e in entries if len(e) == 2)}


def _check_overwrites(folder: Path, files: dict) -> list:
    """The generated files whose content differs from what the folder holds. Refuses a folder dsl did not
    write (unless empty) and a file changed by someone else since dsl wrote it: nothing is overwritten that
    dsl did not write."""
    before = _written_before(folder)
    if before is None:
        present = sorted(p.name for p in folder.iterdir())
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise BuildError(f"project folder '{folder}' already holds files that dsl did not write ({shown}); "
                             f"dsl writes a project only into a new or empty folder or one it wrote before (it "
                             f"has a {MARKER} file): choose another project= or empty the folder")
        return sorted(files)
    changed = []
    for name in sorted(files):
        path = folder / name
        if not path.exists():
            changed.append(name)
            continue
        current = _digest(path.read_text(errors="replace")) if path.is_file() else None
        if current == _digest(files[name]):
            continue
        if name != MARKER and (current is None or current != before.get(name)):
            raise BuildError(f"'{path}' was changed since dsl wrote it (or dsl did not write it); rebuilding "
                             "would overwrite it: move it away or delete it, then build again")
        changed.append(name)
    return changed


def write_files(folder, files: dict) -> Path:
    """Write the project all or nothing: the changed files go to a scratch folder beside ``folder`` first and
    are moved in only when all are written, so a failure leaves no half-written project. Files whose content
    is unchanged are not touched (so ``make`` does not rebuild what depends on them: v++ takes hours for
    ``hw``); files of the folder that we do not generate (build outputs) are kept; the marker file
    ``.dsl-project`` records what dsl wrote."""
    folder = project_folder(folder)
    files = {**files, MARKER: _marker(files)}
    changed = _check_overwrites(folder, files) if folder.is_dir() else sorted(files)
    if not changed:
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:12]}.tmp"
        scratch.mkdir()  # default permissions (umask), unlike mkdtemp
    except OSError as exc:
        raise BuildError(f"cannot create the project folder '{folder}': {exc.strerror}") from None
    try:
        for name in changed:
            with open(scratch / name, "w", newline="\n") as f:
                f.write(files[name])
        if folder.is_dir():
            for name in sorted(changed, key=lambda n: n == MARKER):  # the marker last
                os.replace(scratch / name, folder / name)
        else:
            scratch.rename(folder)
    except OSError as exc:
        raise BuildError(f"writing the project '{folder}' failed: {exc}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder
