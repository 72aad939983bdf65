"""The shared-array layer of ``models.dual`` built with given arrays, loaders, attention arrays and FIFO depths,
scheduled as the paper's kernels are (``dsl.dse.units.paper_schedule``) and estimated by ``dsl.estimate`` in
both phases: the qkv and ffn kernels once with the prompt's rows and once with one row (their loops bounded by
the run-time m counted as Vitis's loop_tripcount would), each phase's attention kernel at its context. The
exploration's builder for ``python -m dsl.dse ... --arrays shared`` (plain data in and out, as
``models.explore.run_variant``)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import dsl
from dsl.dse.units import paper_schedule
from dsl.schedule import names as N

from .config import load_config
from .dual import SHARED_MT, build_dual
from .explore import OP_SLR, mean_kept  # noqa: F401  (mean_kept: the contexts the decode step is taken at)
from .qor import Context, _base, _count
from .quant import parse_quant

# loops bounded by a kernel's run-time rows m: per unit, what the ``rows`` loop counts
PASSES = ("load_weights_n", "load_weight_share_n", "merge_words_n")


@dataclass(frozen=True)
class SharedJob:
    model: str
    rows: int                # the prompt's rows (prefill's m)
    lmax: int
    past: int                # decode: cached rows before the token
    clock_mhz: float
    arrays: tuple = ()       # sorted (op, PE arrays) pairs
    loaders: tuple = ()      # sorted (op, loaders per array) pairs
    attention: tuple = ()    # sorted (phase, ((Mq, ...), (Nk, ...))) pairs
    depths: tuple = ()
    quant: str = "w4a8"


def _passes(m: int) -> int:
    return 1 if m == 1 else m // SHARED_MT


def _shared_k(s, label: str) -> int:
    """K of an ``aw_gemm_shared`` instance (its tile At is K x Mt); ``label``: the estimate's, func#call."""
    func = label.split("#")[0]
    fop = N.funcs(s.module)[func]
    return N.buffers_of(fop, func)["At"].shape[0]


def row_counts(s, est, m: int, context: Context) -> dict:
    """Trip counts of a qkv / ffn kernel's loops for m rows: ``rows`` loops m (LayerNorm's m - 1: its last
    row leaves after the loop), a loader's passes 1 or m / Mt, and ``aw_gemm_shared``'s tiles or row
    (its k loop K or K / Mt steps; the branch a phase does not take, none); the row kernels' loops as
    ``models.qor`` counts them."""
    callers = {}
    for name, f in est.functions.items():
        for callee in f.calls:
            callers.setdefault(callee, name)
    given = {}
    for key, loop in est.loops.items():
        label, band = key.split(":")[0], key.split(":")[1]
        func = _base(label)
        if func == "_aw_gemm_shared":
            k = _shared_k(s, label)
            table = {"row_blocks": _passes(m), "k": k // SHARED_MT if m == 1 else k,
                     "write_rows": 1 if m == 1 else SHARED_MT}
            if m == 1:
                table["read_rows"] = 0
            if band in table:
                given[key] = table[band]
            continue
        if loop.trip is not None:
            continue
        if band == "rows" and (func.endswith("_n") or func in PASSES):
            given[key] = _passes(m) if func in PASSES else (m - 1 if func == "_layer_norm_rows_n" else m)
            continue
        n = _count(func, band, _base(callers.get(label, "")), context)
        if n is not None:
            given[key] = max(int(n), 0)
    return given


def _estimate(kernel, clock: float, counts):
    s = paper_schedule(dsl.customize(kernel.region))
    first = dsl.estimate(s, clock_mhz=clock)
    return s, dsl.estimate(s, clock_mhz=clock, tripcount=counts(s, first))


def _summary(s, r) -> dict:
    return {"latency": int(r.latency), "resources": {k: float(v.used) for k, v in r.resources.items()},
            "available": {k: float(v.available) for k, v in r.resources.items()},
            "bottleneck": next(iter(r.regions.values())).bottleneck, "schedule": s.to_yaml()}


def run_shared(spec) -> dict:
    """``spec``: a SharedJob or its fields as (name, value) pairs. Returns per phase the kernels' cycles, the
    resources of the device's kernels (qkv and ffn once, an attention kernel per phase) and the arrays."""
    from .qor import tripcounts

    job = spec if isinstance(spec, SharedJob) else SharedJob(**dict(spec))
    cfg, qcfg = load_config(job.model), parse_quant(job.quant)
    att = {phase: dict(shape) for phase, shape in job.attention}
    layer = build_dual(cfg, qcfg, job.rows, job.lmax, dict(job.arrays), dict(job.loaders), att, dict(job.depths))
    phases, kernels, uncounted = {}, {}, []
    for phase, m in (("prefill", job.rows), ("decode", 1)):
        base = replace(layer.attention[phase], variant=phase)
        ctx = Context.of(base, job.past if phase == "decode" else None)
        runs = []
        for name in ("qkv", f"attention_{phase}", "ffn"):
            kernel = layer.kernels[name]
            if name.startswith("attention"):
                s, r = _estimate(kernel, job.clock_mhz, lambda s, first: tripcounts(first, ctx)[0])
            else:
                s, r = _estimate(kernel, job.clock_mhz, lambda s, first: row_counts(s, first, m, ctx))
            uncounted += [f"{name}:{key}" for key, loop in r.loops.items() if loop.trip is None]
            runs.append((name, int(r.latency)))
            kernels.setdefault(name, _summary(s, r))  # qkv / ffn: resources are the same in both phases
            kernels[name][f"{phase}_latency"] = int(r.latency)
        phases[phase] = runs
    resources: dict = {}
    for k in kernels.values():
        for kind, used in k["resources"].items():
            resources[kind] = resources.get(kind, 0.0) + used
    return {"phases": phases, "resources": resources, "available": kernels["qkv"]["available"],
            "arrays": arrays_of(layer), "clock_mhz": job.clock_mhz,
            "weight_args": [w for s in layer.qkv.linears.values() for w in s.weight_args],
            "linears": {op: {"Mt": s.Mt, "Nt": s.Nt, "arrays": s.arrays, "loaders": s.loaders, "pack": s.pack}
                        for op, s in layer.qkv.linears.items()},
            "attention": {p: {k: d.attention[k] for k in ("Mq", "Nk")} for p, d in layer.attention.items()},
            "depths": dict(layer.qkv.depths), "uncounted": uncounted,
            "kernels": {n: {k: v for k, v in d.items() if k != "available"} for n, d in kernels.items()}}


def arrays_of(layer) -> list:
    """(label, SLR, DSPs, MACs/cycle) of every PE array on the device: the shared arrays once, each phase's
    attention arrays (its own kernel)."""
    out = []
    for op, s in layer.qkv.linears.items():
        out += [(op, OP_SLR[op], s.Mt * s.Nt // (2 if s.pack else 1), s.Mt * s.Nt)] * s.arrays
    for phase, d in layer.attention.items():
        a = d.attention
        out += [(f"{phase}:{op}", OP_SLR[op], a["Mq"] * a["Nk"], a["Mq"] * a["Nk"]) for op in ("a1", "a2")]
    return out


run_variant = run_shared  # the name dsl.dse.evaluate.run_job calls
