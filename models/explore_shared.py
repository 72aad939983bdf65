"""The shared-array layer of ``models.dual`` built with given arrays, loaders, attention arrays and FIFO depths,
scheduled as the paper's kernels are (``dsl.dse.units.paper_schedule``) and estimated by ``dsl.estimate`` in
both phases: the qkv and ffn kernels once with the prompt's rows and once with one row (their loops bounded by
the run-time m counted as Vitis's loop_tripcount would), each phase's attention kernel at its context. The
exploration's builder for ``python -m dsl.dse ... --arrays shared`` (plain data in and out, as
``models.explore.run_variant``): one job per kernel (``kernel_jobs``, ``run_kernel``), their results put
together by ``compose``."""
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


def _estimate(kernel, clock: float, counts: dict) -> tuple:
    """The kernel scheduled once and estimated once per phase: ``counts`` maps a phase to the trip-count
    function of its run (the kernel, its schedule and its loops are the same in both phases; only the run-time
    counts differ, so the first estimate that names the loops is shared)."""
    s = paper_schedule(dsl.customize(kernel.region))
    first = dsl.estimate(s, clock_mhz=clock)
    return s, {phase: dsl.estimate(s, clock_mhz=clock, tripcount=f(s, first)) for phase, f in counts.items()}


def _summary(s, r) -> dict:
    return {"latency": int(r.latency), "resources": {k: float(v.used) for k, v in r.resources.items()},
            "available": {k: float(v.available) for k, v in r.resources.items()},
            "bottleneck": next(iter(r.regions.values())).bottleneck, "schedule": s.to_yaml()}


KERNELS = ("qkv", "attention_prefill", "attention_decode", "ffn")
KERNEL_OPS = {"qkv": ("q", "k", "v"), "ffn": ("p", "f1", "f2")}


def kernel_jobs(spec) -> dict:
    """kernel name -> the job that estimates it alone (``run_kernel``): the SharedJob with only what that
    kernel depends on (its operators' arrays and loaders, its phase's attention arrays), so that candidates
    that differ elsewhere share its estimate."""
    job = spec if isinstance(spec, SharedJob) else SharedJob(**dict(spec))
    out = {}
    for name in KERNELS:
        ops = KERNEL_OPS.get(name, ())
        keep = lambda pairs: tuple(p for p in pairs if p[0] in ops)
        att = tuple(p for p in job.attention if name == f"attention_{p[0]}")
        out[name] = (("kernel", name), ("job", replace(job, arrays=keep(job.arrays), loaders=keep(job.loaders),
                                                       attention=att)))
    return out


def run_kernel(spec) -> dict:
    """One kernel of the shared-array layer (``kernel_jobs``' spec): its cycles per phase it runs in, its
    resources, bottleneck and schedule, and the loops left uncounted."""
    from .qor import tripcounts

    name, job = dict(spec)["kernel"], dict(spec)["job"]
    layer = _layer(job)
    phases = ("prefill", "decode") if name in KERNEL_OPS else (name.split("_")[1],)
    ctx = {p: Context.of(replace(layer.attention[p], variant=p), job.past if p == "decode" else None) for p in phases}
    if name in KERNEL_OPS:
        counts = {p: (lambda s, first, p=p: row_counts(s, first, job.rows if p == "prefill" else 1, ctx[p]))
                  for p in phases}
    else:
        counts = {p: (lambda s, first, p=p: tripcounts(first, ctx[p])[0]) for p in phases}
    s, runs = _estimate(layer.kernels[name], job.clock_mhz, counts)
    out = _summary(s, runs[phases[0]])
    out.update({f"{p}_latency": int(r.latency) for p, r in runs.items()})
    out["uncounted"] = [f"{name}:{key}" for r in runs.values() for key, loop in r.loops.items() if loop.trip is None]
    return out


def _layer(job: SharedJob):
    cfg, qcfg = load_config(job.model), parse_quant(job.quant)
    att = {phase: dict(shape) for phase, shape in job.attention}
    return build_dual(cfg, qcfg, job.rows, job.lmax, dict(job.arrays), dict(job.loaders), att, dict(job.depths))


def compose(spec, kernels: dict) -> dict:
    """The design's result from its kernels' (``run_kernel`` for each of ``kernel_jobs(spec)``): per phase
    the kernels' cycles, the resources of the device's kernels together (qkv and ffn once, an attention
    kernel per phase) and the arrays."""
    job = spec if isinstance(spec, SharedJob) else SharedJob(**dict(spec))
    layer = _layer(job)  # the generated source only (no estimate): the arrays, loaders and weights
    phases = {p: [(n, kernels[n][f"{p}_latency"]) for n in ("qkv", f"attention_{p}", "ffn")]
              for p in ("prefill", "decode")}
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
            "depths": dict(layer.qkv.depths), "uncounted": [u for k in kernels.values() for u in k["uncounted"]],
            "kernels": {n: {k: v for k, v in d.items() if k not in ("available", "uncounted")}
                        for n, d in kernels.items()}}


def run_shared(spec) -> dict:
    """``spec``: a SharedJob or its fields as (name, value) pairs. Every kernel estimated here, in turn
    (``python -m dsl.dse`` sends ``kernel_jobs`` to its executor instead and caches them one by one)."""
    return compose(spec, {name: run_kernel(job) for name, job in kernel_jobs(spec).items()})


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


run_variant = run_kernel  # the name dsl.dse.evaluate.run_job calls: one kernel a job
