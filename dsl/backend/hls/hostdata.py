"""The data files of the XRT host program (``host.cpp``) and the project's ``interface.json``.

``host.cpp`` reads one file ``<arg>.bin`` per kernel input and writes one ``<arg>.out.bin`` per buffer
argument (inputs, returned tensors and scalar results ``ret<k>``). Each file holds the argument's elements
in device layout, row-major, with no header:

* the element type of the kernel interface: float16/float32/float64 as IEEE bits, ``index`` as int32,
  native integers as themselves;
* ``ap_int``/``ap_uint``/``ap_fixed``/``ap_ufixed`` (and bool) padded to a power-of-two number of bytes
  (1, 2, 4, 8, 16, ...), two's complement sign-extended (zero-extended when unsigned);
* fixed point as its raw bits (value * 2**frac), little endian throughout.

Python values follow the numpy calling convention of every executable backend (``interface.to_storage`` /
``from_storage``). ``interface.json`` records what a reader needs: each argument's file, type and shape.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import BuildError
from ...types import DSLType, Float, Index, parse_type
from ..interface import ArgSpec, Signature
from . import words

INTERFACE_FILE = "interface.json"
_FLOATS = {"float16": "<f2", "float32": "<f4", "float64": "<f8"}


def device_bytes(dtype: DSLType | None) -> int:
    """Bytes per element in device memory: native sizes; ap types round up to a power of two bytes."""
    if dtype is None or isinstance(dtype, Index):
        return 4
    if dtype.is_float:
        return dtype.bits // 8
    nbytes, size = -(-dtype.bits // 8), 1
    while size < nbytes:
        size *= 2
    return size


def _native(dtype: DSLType) -> np.dtype | None:
    """The little-endian numpy dtype of one device element, or None beyond 64 bits."""
    if isinstance(dtype, Float):
        if dtype.name not in _FLOATS:
            raise BuildError(f"host data: {dtype!r} has no device layout")
        return np.dtype(_FLOATS[dtype.name])
    if isinstance(dtype, Index):
        return np.dtype("<i4")
    nbytes = device_bytes(dtype)
    if nbytes > 8:
        return None
    return np.dtype(f"<{'i' if dtype.signed else 'u'}{nbytes}")


def encode(dtype: DSLType, storage) -> bytes:
    """Storage array (``interface.to_storage``) -> the bytes of ``<arg>.bin``."""
    flat = np.ascontiguousarray(storage).reshape(-1)
    native = _native(dtype)
    if native is not None:
        return flat.astype(native).tobytes()
    nbytes = device_bytes(dtype)
    return b"".join(int(v).to_bytes(nbytes, "little", signed=dtype.signed) for v in flat)


def decode(dtype: DSLType, raw: bytes, shape) -> np.ndarray:
    """The bytes of ``<arg>.out.bin`` -> storage array (padding bits ignored, integers wrapped to width)."""
    count = int(np.prod(shape)) if shape else 1
    nbytes = device_bytes(dtype)
    if len(raw) != count * nbytes:
        raise BuildError(f"host data: expected {count} x {nbytes} bytes of {dtype!r}, got {len(raw)} bytes")
    native = _native(dtype)
    if native is not None:
        values = np.frombuffer(raw, dtype=native)
        if isinstance(dtype, Float):
            return values.astype(dtype.np_dtype).reshape(shape)
        signed = native.kind == "i"
        return words.decode(dtype, values.astype(np.int64 if signed else np.uint64).view(np.uint64), shape)
    per = words.words_per_element(dtype)
    data = np.frombuffer(raw, dtype="<u8").reshape(count, nbytes // 8)[:, :per].reshape(-1)
    return words.decode(dtype, np.ascontiguousarray(data), shape)


# -- interface.json -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostInterface:
    """A project's host interface: the numpy signature plus the data file of each argument and result."""

    sig: Signature
    files: tuple  # file stem of each argument, in order (the C++ parameter names)
    result_files: tuple  # file stem of each scalar result
    platform: str

    def to_json(self) -> str:
        args = [{"name": a.name, "file": f, "type": str(a.dtype), "shape": list(a.shape) if a.shape else None,
                 "output": a.is_output, "bytes": device_bytes(a.dtype)} for a, f in zip(self.sig.args, self.files)]
        results = [{"file": f, "type": str(t), "bytes": device_bytes(t)}
                   for t, f in zip(self.sig.results, self.result_files)]
        doc = {"top": self.sig.name, "platform": self.platform, "layout": "little-endian, see README.md",
               "args": args, "results": results, "return_kinds": list(self.sig.order)}
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "HostInterface":
        doc = json.loads(text)
        specs = tuple(ArgSpec(a["name"], parse_type(a["type"]), tuple(a["shape"]) if a["shape"] else None,
                              a["output"]) for a in doc["args"])
        results = tuple(parse_type(r["type"]) for r in doc["results"])
        return cls(Signature(doc["top"], specs, results, order=tuple(doc.get("return_kinds", ()))),
                   tuple(a["file"] for a in doc["args"]),
                   tuple(r["file"] for r in doc["results"]), doc["platform"])


def host_interface(sig: Signature, params: list, platform: str) -> HostInterface:
    args = [p for p in params if p.kind != "result"]
    results = [p for p in params if p.kind == "result"]
    return HostInterface(sig, tuple(p.name for p in args), tuple(p.name for p in results), platform)


def load_interface(folder) -> HostInterface:
    path = Path(folder) / INTERFACE_FILE
    if not path.is_file():
        raise BuildError(f"{path} not found: not a project written by dsl.build(..., target='vitis_hls')")
    return HostInterface.from_json(path.read_text())


# -- files ---------------------------------------------------------------------------------------------

def write_storage(folder, iface: HostInterface, storage: list) -> list:
    """Write ``<arg>.bin`` for every input, given its storage array; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    inputs = [(a, f) for a, f in zip(iface.sig.args, iface.files) if not a.is_output]
    for (spec, stem), value in zip(inputs, storage):
        path = folder / f"{stem}.bin"
        path.write_bytes(encode(spec.dtype, value))
        paths.append(path)
    return paths


def read_storage(folder, iface: HostInterface) -> tuple:
    """Read every ``<arg>.out.bin``: (storage of each argument, None for scalars; storage of each result)."""
    folder = Path(folder)
    back = [None if spec.shape is None else decode(spec.dtype, _read(folder, stem), spec.shape)
            for spec, stem in zip(iface.sig.args, iface.files)]
    results = [decode(t, _read(folder, stem), (1,)) for t, stem in zip(iface.sig.results, iface.result_files)]
    return back, results


def _read(folder: Path, stem: str) -> bytes:
    path = folder / f"{stem}.out.bin"
    if not path.is_file():
        raise BuildError(f"{path} not found: run the host program first (make run TARGET=...)")
    return path.read_bytes()
