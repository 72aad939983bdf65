"""One layer variant of ``models.design`` built with given PE arrays, loaders, FIFO depths and clock, scheduled
as the paper's kernels are (``dsl.dse.units.paper_schedule``) and estimated by ``dsl.estimate``: the estimate
``models.validate`` checks against the paper, and the one ``python -m dsl.dse`` ranks candidates by (this
module is the exploration's builder: ``dsl.dse`` imports it by name, so that ``dsl`` does not depend on
``models``).

``run_variant(job)`` takes and returns plain data, so that it runs in a worker process or on a Ray cluster.
"""
from __future__ import annotations

from dataclasses import dataclass

import dsl
from dsl.dse.units import paper_schedule

from .config import load_config
from .design import build_layer
from .qor import Context, tripcounts
from .quant import parse_quant

# the paper's placement (models.design): q/k/v | attention, projection | FFN
OP_SLR = {"q": 0, "k": 0, "v": 0, "p": 1, "a1": 1, "a2": 1, "f1": 2, "f2": 2}


@dataclass(frozen=True)
class VariantJob:
    model: str               # a models config name (gpt2-medium, bert-base, gpt2-tiny, ...)
    variant: str             # prefill | decode | encoder
    rows: int                # prompt rows (1 for decode)
    lmax: int                # KV-cache rows (decoders)
    past: int                # decode: cached rows before the token (the softmax's kept row)
    clock_mhz: float
    linears: tuple = ()      # sorted (op, sorted (field, value) pairs): models.design linear overrides
    depths: tuple = ()       # sorted (FIFO role, depth) pairs
    quant: str = "w4a8"
    attention: tuple = ()    # sorted (field, value) pairs: the attention arrays' Mq, Nk


def mean_kept(variant: str, L: int, lk: int, past: int = 0) -> int:
    """Keys a score row keeps: all of them (encoder), i + 1 on average over a causal prompt, past + 1 in decode."""
    return {"encoder": lk, "prefill": (L + 1) // 2, "decode": past + 1}[variant]


def estimate_layer(job: VariantJob):
    """(design, its scheduled region, ``dsl.estimate`` of it) for ``job``."""
    cfg = load_config(job.model)
    linears = {op: dict(fields) for op, fields in job.linears}
    design = build_layer(cfg, parse_quant(job.quant), job.variant, job.rows, job.lmax,
                         depths=dict(job.depths) or None, linears=linears or None,
                         attention=dict(job.attention) or None)
    s = paper_schedule(dsl.customize(design.region))
    # the loops bounded by run-time lengths (a score row's kept keys, the cached context) get the counts
    # Vitis's loop_tripcount would give them (``models.qor.tripcounts``); uncounted, each would count as one
    # iteration and the attention would look almost free
    first = dsl.estimate(s, clock_mhz=job.clock_mhz)
    given, _ = tripcounts(first, Context.of(design, job.past if job.variant == "decode" else None))
    return design, s, dsl.estimate(s, clock_mhz=job.clock_mhz, tripcount=given) if given else first


def arrays_of(design) -> list:
    """(op, SLR, DSPs, MACs/cycle) of every PE array: a packed int4 x int8 array of Mt x Nt PEs takes
    Mt x Nt / 2 DSPs (two PEs share one), an int8 x int8 one Mt x Nt."""
    out = []
    for op, s in design.linears.items():
        dsps = s.Mt * s.Nt // (2 if s.pack else 1)
        out += [(op, OP_SLR[op], dsps, s.Mt * s.Nt)] * s.arrays
    att = design.attention
    for op in ("a1", "a2"):
        out.append((op, OP_SLR[op], att["Mq"] * att["Nk"], att["Mq"] * att["Nk"]))
    return out


def run_variant(spec) -> dict:
    """``spec``: a VariantJob, or its fields as (name, value) pairs (what ``dsl.dse`` sends)."""
    job = spec if isinstance(spec, VariantJob) else VariantJob(**dict(spec))
    design, s, r = estimate_layer(job)
    region = next(iter(r.regions.values()))
    return {"latency": int(r.latency), "interval": int(r.interval or 0), "clock_mhz": job.clock_mhz,
            "resources": {k: float(v.used) for k, v in r.resources.items()},
            "available": {k: float(v.available) for k, v in r.resources.items()},
            "arrays": arrays_of(design), "critical": list(region.critical), "bottleneck": region.bottleneck,
            "weight_args": [w for s in design.linears.values() for w in s.weight_args],
            "linears": {op: {"Mt": s.Mt, "Nt": s.Nt, "arrays": s.arrays, "loaders": s.loaders, "pack": s.pack}
                        for op, s in design.linears.items()},
            "attention": {k: design.attention[k] for k in ("Mq", "Nk")},
            "depths": dict(design.depths), "schedule": s.to_yaml()}


SEARCHED_DEPTHS = ("weights",)  # the FIFO roles dsl.dse chooses (the others follow from the request's rows)


def load_explored(path) -> dict:
    """variant -> {"linears": overrides, "depths": overrides, "attention": overrides} from a design file ``python -m dsl.dse`` wrote
    (its ``accelerator`` section), for ``build_layer`` (and ``Accelerator(..., design=path)``)."""
    import yaml

    from .errors import ModelError

    try:
        data = yaml.safe_load(open(path))
        variants = data["accelerator"]["variants"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a design file of python -m dsl.dse (an accelerator: variants: section): "
                         f"{exc}") from None
    out = {}
    for name, v in variants.items():
        linears = {op: {k: x for k, x in fields.items() if k in ("Mt", "Nt", "arrays", "loaders")}
                   for op, fields in v.get("linears", {}).items()}
        depths = {k: x for k, x in v.get("fifo_depths", {}).items() if k in SEARCHED_DEPTHS}
        attention = {k: x for k, x in v.get("attention", {}).items() if k in ("Mq", "Nk")}
        out[name] = {"linears": linears, "depths": depths, "attention": attention}
    return out
