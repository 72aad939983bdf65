"""Running random programs: generate, run in plain Python, customize + schedule, run on the CPU and in csim
(batched), compare. ``python -m tests.randprog --seed 7 --count 500`` runs more by hand."""
from __future__ import annotations

import importlib.util
import os
import random
import sys
import tempfile
import traceback
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

import dsl

from . import types as T
from .batch_csim import Batch
from .gen import Program, generate
from .interp import Undefined, run as run_reference
from .schedules import random_schedule

HEADER = "import dsl\nfrom dsl import Fixed, Int, UFixed, UInt, float32\n\n\n"


@dataclass
class Case:
    program: Program
    inputs: list
    expected: object = None
    schedule: object = None
    trace: list = field(default_factory=list)
    cpu: object = None
    csim: object = None
    problems: list = field(default_factory=list)


def random_inputs(program: Program, rng: np.random.Generator):
    out = []
    for _, t in program.params:
        if isinstance(t, dsl.TensorType):
            out.append(_values(t.dtype, t.shape, rng))
        else:
            out.append(_values(t, (1,), rng)[0].item())
    return out


def _values(t, shape, rng):
    n = int(np.prod(shape))
    if T.is_float(t):
        return (rng.integers(-400, 400, n) / 4.0).astype(np.float32).reshape(shape)
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if T.signed(t) else (0, (1 << t.bits) - 1)
    raw = [int(lo + int.from_bytes(rng.bytes(8), "little") % (hi - lo + 1)) for _ in range(n)]
    if T.is_fixed(t):
        return (np.array(raw, dtype=np.float64) / 2.0 ** T.frac(t)).reshape(shape)
    if t == T.BOOL:
        return np.array(raw, dtype=bool).reshape(shape)
    return np.array(raw, dtype=t.np_dtype).reshape(shape)


def load(programs: list, folder: Path):
    """Write the programs into one module and import it (the frontend reads kernels from their file)."""
    path = folder / f"randprog_{programs[0].name}.py"
    path.write_text(HEADER + "\n\n".join(p.source for p in programs))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _copy(inputs):
    return [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]


def _call(module, case):
    args = _copy(case.inputs)
    result = module(*args)
    return result if not case.program.in_place else tuple(a for a in args if isinstance(a, np.ndarray))


def _exact(x):
    if isinstance(x, tuple):
        return tuple(_exact(v) for v in x)
    arr = np.asarray(x)
    if arr.dtype == object:
        return [_exact_scalar(v) for v in arr.reshape(-1)], arr.shape
    return [_exact_scalar(v) for v in arr.reshape(-1).tolist()], arr.shape


def _exact_scalar(v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, float) and v != v:
        return "nan"
    return Fraction(v) if isinstance(v, (float, np.floating)) else int(v) if isinstance(v, (int, np.integer)) else v


def prepare(seed: int, count: int, folder: Path, schedules: bool = True):
    """Programs of ``seed`` with a defined plain-Python result, customized (and scheduled)."""
    cases = []
    programs = [generate(seed, k) for k in range(count)]
    module = load(programs, folder)
    rng = np.random.default_rng(seed)
    for program in programs:
        inputs = random_inputs(program, rng)
        try:
            expected = run_reference(program.source, program.name, _copy(inputs)) if not program.in_place else None
            if program.in_place:
                args = _copy(inputs)
                run_reference(program.source, program.name, args)
                expected = tuple(a for a in args if isinstance(a, np.ndarray))
        except (Undefined, T.TooWide):
            continue
        case = Case(program, inputs, expected)
        try:
            case.schedule = dsl.customize(getattr(module, program.name))
            if schedules:
                rng_s = random.Random(zlib.crc32(program.name.encode()))
                case.trace = random_schedule(rng_s, case.schedule, program, steps=rng_s.randrange(0, 4))
        except Exception:  # noqa: BLE001 - every failure is reported with its program
            case.problems.append(f"customize/schedule raised:\n{traceback.format_exc(limit=-4)}")
        cases.append(case)
    return cases


def run_cpu(cases):
    trace = os.environ.get("DSL_RANDPROG_TRACE")  # name each program before it runs (to find a crash)
    for case in cases:
        if case.schedule is None:
            continue
        if trace:
            print(f"running {case.program.name} {case.trace}", file=sys.stderr, flush=True)
        try:
            case.cpu = _call(case.schedule.build(), case)
        except Exception:  # noqa: BLE001
            case.problems.append(f"CPU raised:\n{traceback.format_exc(limit=-4)}")
            continue
        if _exact(case.cpu) != _exact(case.expected):
            case.problems.append(f"CPU differs: got {case.cpu!r}, Python gives {case.expected!r}")


def run_csim(cases, folder: Path, werror: bool = True):
    batch = Batch(folder / "csim", werror)
    modules = {}
    with batch.collect():
        for case in cases:
            if case.schedule is None:
                continue
            try:
                modules[id(case)] = (dsl.build(case.schedule, target="vitis_hls", mode="csim"), len(batch.files) - 1)
            except Exception:  # noqa: BLE001
                case.problems.append(f"HLS emission raised:\n{traceback.format_exc(limit=-4)}")
    failed = batch.compile()
    for case in cases:
        if id(case) not in modules:
            continue
        module, k = modules[id(case)]
        name = batch.files[k][0]
        if name in failed or "?" in failed:
            case.problems.append("csim compile failed:\n" + "\n".join(failed.get(name, failed.get("?"))))
            continue
        try:
            case.csim = _call(module, case)
        except Exception:  # noqa: BLE001
            case.problems.append(f"csim raised:\n{traceback.format_exc(limit=-4)}")
            continue
        if _exact(case.csim) != _exact(case.expected):
            case.problems.append(f"csim differs: got {case.csim!r}, Python gives {case.expected!r}")
    return failed


def report(case) -> str:
    return "\n".join([f"--- {case.program.name} (inputs {case.inputs!r})", case.program.source.rstrip(),
                      f"schedule: {case.trace}", *case.problems])


def run_seed(seed: int, count: int, csim_too: bool = True, folder: Path | None = None, werror: bool = True):
    with tempfile.TemporaryDirectory(prefix="dsl-randprog-") as tmp:
        folder = Path(folder or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = prepare(seed, count, folder)
        run_cpu(cases)
        if csim_too:
            run_csim(cases, folder, werror)
        return cases
