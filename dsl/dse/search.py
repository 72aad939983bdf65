"""The exploration: choose every linear operator's PE arrays (prefill array shape Mt x Nt, decode arrays
sharing the output columns), the HBM channels of each array's weight loaders, the clock, the weight FIFO
depth and the SLR placement, under the device's per-SLR resources and the timing rule, ranking designs by
the design-level estimate: the layer accelerators the builder (``models.explore``: ``models.design`` of the
library's units) builds, estimated by ``dsl.estimate`` as one dataflow region per variant and rolled up
over the layers and the host's token loop by ``dsl.qor.design`` — the estimate ``models.validate`` checks
against the paper.

Both variants' kernels are on the device together (the Vitis project has one kernel per SLR and variant), so
their arrays and resources add up. The timing rule (``timing.yaml``) bounds an array's DSPs and the DSPs of
the arrays an SLR holds (the paper's three 8 x 16 arrays per SLR at 250 MHz); the placement starts from the
paper's (q/k/v | attention, projection | FFN) and moves arrays to the SLR with the most room when one is
over (latency does not depend on it in this model; the moves are listed in the report).
"""
from __future__ import annotations

import math
import os
import pickle
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ..qor.design import HostParameters, KernelRun, design_estimate
from ..qor.tables import load_device as qor_device
from .evaluate import DEFAULT_BUILDER, ExplorationError, Job, run_job

TIMING = Path(__file__).resolve().parent / "timing.yaml"
GROUPS = {"qkv": ("q", "k", "v"), "p": ("p",), "f1": ("f1",), "f2": ("f2",)}
PREFILL_SHAPES = ((8, 16), (8, 32))                       # Mt x Nt PEs (packed: Mt x Nt / 2 DSPs)
DECODE_ARRAYS = (1, 2, 4)                                  # 1 x 128 arrays (a weight word per cycle each)
LOADERS = (1, 2)   # decode: HBM channels per array, a loader each (2 carry a word a cycle at 250 MHz)
WEIGHT_DEPTHS = (16, 64)
# groups whose prefill arrays change together: prefill streams rows through every operator at once, so
# making one FFN array faster gains nothing while the other bounds the layer
COUPLED = (("f1", "f2"), ("f1", "f2", "p", "qkv"))
DECODE_NT = 128                                            # int4: one 512-bit weight word per k step
# the attention GEMMs' Mq x Nk arrays (int8 x int8: a DSP per PE): a prompt's query tiles; decode's one query
# row against up to a head's worth of keys a pass (fewer key tiles, fewer channel tiles of V)
ATTENTION_MQ = {"prefill": (8, 16), "encoder": (8, 16), "decode": (1,)}
ATTENTION_NK = (8, 16, 32, 64)


def decode_nt(cols: int) -> int:
    """The decode array's width: a whole weight word per k step (128 int4), or the widest that tiles ``cols``."""
    return next(n for n in (DECODE_NT, 64, 32, 16, 8, 4, 2, 1) if cols % n == 0)


@dataclass(frozen=True)
class Choice:
    clock_mhz: float
    prefill: tuple        # sorted (group, (Mt, Nt)) pairs
    decode: tuple         # sorted (group, arrays) pairs
    loaders: tuple        # sorted (group, channels per array) pairs
    weight_depth: int = 16
    attention: tuple = ()  # sorted (variant, (Mq, Nk)) pairs: the attention arrays of each variant

    def get(self, what: str, group: str):
        return dict(getattr(self, what))[group]

    def set(self, what: str, group: str, value) -> "Choice":
        return replace(self, **{what: tuple(sorted({**dict(getattr(self, what)), group: value}.items()))})

    def linears(self, variant: str, channel_bytes_per_cycle: float, cols: dict) -> tuple:
        """models.design overrides of every linear operator for ``variant``: decode arrays with the chosen
        loaders (HBM channels) each, prefill arrays with as many loaders as carry a 512-bit word every KPW
        cycles (``channel_bytes_per_cycle``: what one channel gives at the clock; ``cols``: op -> N)."""
        out = []
        for group, ops in GROUPS.items():
            if variant == "decode":
                arrays = self.get("decode", group)
                nt = decode_nt(min(cols[op] for op in ops) // arrays)
                fields = (("Mt", 1), ("Nt", nt), ("arrays", arrays), ("loaders", self.get("loaders", group)))
            else:
                mt, nt = self.get("prefill", group)
                kpw = 512 // (nt * 4)
                need = 64 / kpw / channel_bytes_per_cycle
                fields = (("Mt", mt), ("Nt", nt), ("arrays", 1), ("loaders", next(n for n in (1, 2, 4) if n >= need
                                                                                   or n == 4)))
            out += [(op, tuple(sorted(fields))) for op in ops]
        return tuple(sorted(out))


@dataclass
class Evaluated:
    choice: Choice
    estimate: object = None            # DesignEstimate
    objective: float = math.inf
    violations: list = field(default_factory=list)
    variants: dict = field(default_factory=dict)   # variant -> run_variant's result
    slr_dsps: list = field(default_factory=list)   # array DSPs per SLR after placement
    placement: dict = field(default_factory=dict)  # "variant:op#k" -> SLR
    moves: list = field(default_factory=list)
    channels_used: int = 0

    @property
    def feasible(self) -> bool:
        return not self.violations and self.estimate is not None


def timing_rules(device: str) -> list:
    rules = yaml.safe_load(TIMING.read_text()).get(device)
    if not rules:
        raise ExplorationError(f"no timing rule for {device!r} in {TIMING.name}")
    return rules


class Explorer:
    def __init__(self, model: str, device: str, prompt: int, gen: int, executor, host: HostParameters | None = None,
                 cache_file=None, builder: str = DEFAULT_BUILDER, builder_model: str | None = None):
        from ..perf.data import load_device, load_model

        self.model = load_model(model) if isinstance(model, str) else model
        self.model_name = builder_model or self.model.name  # the builder's name of the model
        d, ffn = self.model.hidden, self.model.ffn
        self.cols = {"q": d, "k": self.model.kv_hidden, "v": self.model.kv_hidden, "p": d, "f1": ffn, "f2": d}
        self.perf_device = load_device(device)
        self.device = qor_device(device)
        self.prompt, self.gen = prompt, gen
        self.executor, self.builder = executor, builder
        self.host = host or HostParameters(host_link_gbs=self.perf_device.host_link_gbs)
        self.rules = timing_rules(self.device.name)
        self.cache: dict = {}
        self.cache_file = Path(cache_file) if cache_file else None
        self._load_cache()
        self.evaluations = 0
        self.lmax = prompt + gen
        self.variant_names = ("prefill", "decode") if self.model.is_decoder and gen > 0 else \
            (("prefill",) if self.model.is_decoder else ("encoder",))

    # -- jobs ---------------------------------------------------------------------------------------
    def spec(self, choice: Choice, variant: str) -> tuple:
        rows = 1 if variant == "decode" else self.prompt
        past = self.prompt + self.gen // 2 if variant == "decode" else 0  # the mean context of the tokens
        depths = (("weights", choice.weight_depth),)
        mq, nk = choice.get("attention", variant)
        return tuple(sorted({"model": self.model_name, "variant": variant, "rows": rows,
                             "attention": (("Mq", mq), ("Nk", nk)),
                             "lmax": self.lmax if self.model.is_decoder else 0, "past": past,
                             "clock_mhz": choice.clock_mhz, "linears": choice.linears(variant, self.channel_bytes(
                                 choice.clock_mhz), self.cols),
                             "depths": depths}.items()))

    def channel_bytes(self, clock_mhz: float) -> float:
        """Bytes a cycle one HBM pseudo-channel gives at its achieved efficiency."""
        return self.device.channel_gbs * self.host.channel_efficiency * 1e9 / (clock_mhz * 1e6)

    def prefetch(self, choices: list):
        """Estimate, through the executor, every variant the choices need and the cache lacks."""
        wanted = []
        for choice in choices:
            for v in self.variant_names:
                spec = self.spec(choice, v)
                if spec not in self.cache and spec not in wanted and not self.pruned(choice):
                    wanted.append(spec)
        results = self.executor.map(run_job, [Job(spec, self.builder) for spec in wanted])
        for spec, result in zip(wanted, results):
            self.cache[spec] = result
        if wanted:
            self._save_cache()

    def _load_cache(self):
        if self.cache_file is None or not self.cache_file.exists():
            return
        try:
            data = pickle.loads(self.cache_file.read_bytes())
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
            return  # an unreadable cache is rebuilt
        if isinstance(data, dict) and data.get("fingerprint") == _fingerprint():
            self.cache.update(data.get("results", {}))

    def _save_cache(self):
        if self.cache_file is None:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps({"fingerprint": _fingerprint(), "results": self.cache}))
        os.replace(tmp, self.cache_file)

    # -- one candidate ------------------------------------------------------------------------------
    def evaluate(self, choice: Choice) -> Evaluated:
        self.evaluations += 1
        ev = Evaluated(choice)
        ev.violations += self.pruned(choice)
        if ev.violations:
            return ev
        for v in self.variant_names:
            spec = self.spec(choice, v)
            if spec not in self.cache:
                self.cache[spec] = run_job(Job(spec, self.builder))
            ev.variants[v] = self.cache[spec]
        self._resources(choice, ev)
        clock = choice.clock_mhz
        first = self.variant_names[0]
        prefill = [KernelRun("layer", ev.variants[first]["latency"], clock)]
        decode = [KernelRun("layer", ev.variants["decode"]["latency"], clock)] if "decode" in ev.variants else None
        ev.estimate = design_estimate("explored", self.model, self.perf_device, self.prompt, self.gen, prefill,
                                      decode, self.host, {"SLR array DSPs": ev.slr_dsps})
        est = ev.estimate
        ev.objective = est.ttft_ms + (self.gen * est.decode_ms_per_token if est.decode else 0.0)
        return ev

    def rule(self, clock: float) -> dict | None:
        return next((r for r in self.rules if r["clock_mhz"] == clock), None)

    def _timing(self, choice: Choice) -> list:
        rule = self.rule(choice.clock_mhz)
        if rule is None:
            return [f"no timing rule for {choice.clock_mhz:g} MHz"]
        out = []
        for v in self.variant_names:
            mq, nk = choice.get("attention", v)
            if mq * nk > rule["max_array_dsps"]:
                out.append(f"{v} attention: an array of {mq} x {nk} = {mq * nk} DSPs exceeds "
                           f"{rule['max_array_dsps']} at {choice.clock_mhz:g} MHz ({rule['source']})")
        for group in GROUPS:
            mt, nt = choice.get("prefill", group)
            for what, dsps in (("prefill", mt * nt // 2), ("decode", decode_nt(self.cols[GROUPS[group][0]]) // 2)):
                if dsps > rule["max_array_dsps"]:
                    out.append(f"{group} {what}: an array of {dsps} DSPs exceeds {rule['max_array_dsps']} at "
                               f"{choice.clock_mhz:g} MHz ({rule['source']})")
        return out

    def planned_dsps(self, choice: Choice) -> float:
        """Array DSPs of both variants as ``choice`` asks for them (before any build: what the arrays of
        ``models.design`` take), to skip candidates whose arrays cannot fit the timing rule anywhere."""
        total = 0.0
        head = self.model.hidden // self.model.heads
        for group, ops in GROUPS.items():
            mt, nt = choice.get("prefill", group)
            total += len(ops) * mt * nt // 2
            if "decode" in self.variant_names:
                arrays = choice.get("decode", group)
                total += len(ops) * arrays * decode_nt(min(self.cols[op] for op in ops) // arrays) // 2
        for v in self.variant_names:  # qk_gemm's and pv_gemm's arrays
            mq, nk = choice.get("attention", v)
            total += 2 * mq * nk
        return total

    def planned_channels(self, choice: Choice) -> int:
        """Weight loaders (each on an HBM channel of its own) of both variants."""
        spec = dict(self.spec(choice, self.variant_names[0]))["linears"]
        count = sum(dict(f)["loaders"] * dict(f)["arrays"] for _, f in spec)
        if "decode" in self.variant_names:
            count += sum(len(ops) * choice.get("decode", g) * choice.get("loaders", g) for g, ops in GROUPS.items())
        return count

    def pruned(self, choice: Choice) -> list:
        """Why ``choice`` cannot be feasible, from the choice alone (no build needed)."""
        out = self._timing(choice)
        rule = self.rule(choice.clock_mhz)
        if rule:
            cap = rule["max_arrays_per_slr"] * rule["max_array_dsps"] * self.device.slrs
            if self.planned_dsps(choice) > cap:
                out.append(f"arrays of {self.planned_dsps(choice):,.0f} DSPs in all; the timing rule allows {cap:,} "
                           f"on the device's {self.device.slrs} SLRs at {choice.clock_mhz:g} MHz")
        if self.planned_channels(choice) > self.device.channels:
            out.append(f"{self.planned_channels(choice)} weight loaders, the device has {self.device.channels} "
                       "HBM channels")
        return out

    def _resources(self, choice: Choice, ev: Evaluated):
        rule = self.rule(choice.clock_mhz)
        slrs = self.device.slrs
        arrays = []  # (label, SLR, DSPs)
        for v, res in ev.variants.items():
            count: dict = {}
            for op, slr, dsps, _ in res["arrays"]:
                count[op] = count.get(op, 0) + 1
                arrays.append((f"{v}:{op}#{count[op] - 1}", min(slr, slrs - 1), dsps))
        place(ev, arrays, slrs, rule, choice.clock_mhz)
        for kind in ("DSP", "BRAM18K", "URAM", "LUT", "FF"):
            used = sum(res["resources"].get(kind, 0.0) for res in ev.variants.values())
            have = next(iter(ev.variants.values()))["available"].get(kind, 0.0) * self.device.usable_fraction
            if have and used > have:
                ev.violations.append(f"{kind}: {used:,.0f} used by the variants together, {have:,.0f} usable")
        weights = set()
        for res in ev.variants.values():
            weights.update(res["weight_args"])
        ev.channels_used = len(weights)
        if ev.channels_used > self.device.channels:
            ev.violations.append(f"{ev.channels_used} weight loaders, each on its own HBM channel; the device has "
                                 f"{self.device.channels}")


def place(ev: Evaluated, arrays: list, slrs: int, rule: dict, clock_mhz: float):
    """The arrays ((label, SLR, DSPs)) on the SLRs: the builder's placement, then, the smallest arrays first,
    each of an SLR over the timing rule moved to the SLR with the most room while it fits there; into
    ``ev`` (placement, DSPs per SLR, moves, the SLRs still over)."""
    cap = rule["max_arrays_per_slr"] * rule["max_array_dsps"]
    ev.placement = {label: slr for label, slr, _ in arrays}
    ev.slr_dsps = [0.0] * slrs
    for _, slr, dsps in arrays:
        ev.slr_dsps[slr] += dsps
    for label, _, dsps in sorted(arrays, key=lambda a: (a[2], a[0])):
        src = ev.placement[label]
        if ev.slr_dsps[src] <= cap:
            continue
        dst = min(range(slrs), key=lambda s: (ev.slr_dsps[s], s))
        if dst != src and ev.slr_dsps[dst] + dsps <= cap:
            ev.slr_dsps[src] -= dsps
            ev.slr_dsps[dst] += dsps
            ev.placement[label] = dst
            ev.moves.append(f"{label} SLR{src} -> SLR{dst}")
    for s, used in enumerate(ev.slr_dsps):
        if used > cap:
            ev.violations.append(f"SLR{s}: arrays of {used:,.0f} DSPs, the timing rule allows {cap} "
                                 f"({rule['max_arrays_per_slr']} arrays of {rule['max_array_dsps']} DSPs at "
                                 f"{clock_mhz:g} MHz, {rule['source']})")


def _fingerprint() -> str:
    """Cached estimates are valid while the estimator, its tables, the units and the layer generator are."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()
    files = [*root.glob("qor/*.py"), *root.glob("qor/tables/*.yaml"), root / "dse" / "units.py",
             *root.glob("library/units/*.py"), *(root.parent / "models").glob("*.py")]
    for path in sorted(p for p in files if p.exists()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


# -- the search ------------------------------------------------------------------------------------------
def start_choice(explorer: Explorer) -> Choice:
    """The smallest design of the paper's shape: 8 x 16 prefill arrays, one 1 x 128 decode array per operator
    with two loaders (a weight word a cycle needs two HBM channels), 250 MHz, weight FIFOs of 16, the decode
    attention array the widest up to 8 columns whose probability unit keeps one lane."""
    clock = max((r["clock_mhz"] for r in explorer.rules if r["clock_mhz"] <= 250), default=explorer.rules[0]["clock_mhz"])
    groups = sorted(GROUPS)
    head = explorer.model.hidden // explorer.model.heads
    attention = tuple(sorted((v, (1 if v == "decode" else _divisor(explorer.prompt, 8),
                                  _divisor(math.gcd(explorer.lmax if v == "decode" else explorer.prompt, head),
                                           _one_lane_nk(head) if v == "decode" else 8)))
                             for v in explorer.variant_names))
    return Choice(clock, tuple((g, (min(8, _mt(explorer)), 16)) for g in groups), tuple((g, 1) for g in groups),
                  tuple((g, 2) for g in groups), 16, attention)


def _one_lane_nk(head: int) -> int:
    """The widest decode Q·Kᵀ array (at most the paper's 8 columns) whose scores come no faster than the
    attention-probability unit takes them at one lane (``units.probs_lanes``): the smallest decode unit."""
    from .units import ONE_LANE_CYCLES_PER_KEY

    return max(1, min(8, int(head // ONE_LANE_CYCLES_PER_KEY)))


def _mt(explorer: Explorer) -> int:
    return max(t for t in (1, 2, 4, 8, 16) if explorer.prompt % t == 0)


def _divisor(n: int, cap: int) -> int:
    return max(t for t in range(1, cap + 1) if n % t == 0)


def attention_shapes(explorer: Explorer, variant: str) -> list:
    """The (Mq, Nk) attention arrays ``models.design`` can build for ``variant``: Mq divides the query rows,
    Nk the keys (the cache's LMAX in decode, the prompt otherwise) and the head size."""
    head = explorer.model.hidden // explorer.model.heads
    rows, keys = (1, explorer.lmax) if variant == "decode" else (explorer.prompt, explorer.prompt)
    return [(mq, nk) for mq in ATTENTION_MQ[variant] for nk in ATTENTION_NK
            if rows % mq == 0 and keys % nk == 0 and head % nk == 0]


def neighbours(explorer: Explorer, current: Choice) -> list:
    """Every choice that changes one coordinate of ``current`` (decode arrays, prefill arrays, loaders,
    the attention arrays, then the clock and the weight FIFO depth)."""
    out = []
    for group in GROUPS:
        if "decode" in explorer.variant_names:
            out += [current.set("decode", group, a) for a in DECODE_ARRAYS if a != current.get("decode", group)]
    for groups in [(g,) for g in GROUPS] + list(COUPLED):  # in prefill the slowest array of a chain bounds it
        for shape in PREFILL_SHAPES:
            if explorer.prompt % shape[0] or all(current.get("prefill", g) == shape for g in groups):
                continue
            cand = current
            for g in groups:
                cand = cand.set("prefill", g, shape)
            out.append(cand)
    if "decode" in explorer.variant_names:
        for group in GROUPS:
            out += [current.set("loaders", group, n) for n in LOADERS if n != current.get("loaders", group)]
    for v in explorer.variant_names:
        out += [current.set("attention", v, shape) for shape in attention_shapes(explorer, v)
                if shape != current.get("attention", v)]
    out += [replace(current, clock_mhz=r["clock_mhz"]) for r in explorer.rules if r["clock_mhz"] != current.clock_mhz]
    out += [replace(current, weight_depth=d) for d in WEIGHT_DEPTHS if d != current.weight_depth]
    return out


def explore(explorer: Explorer, rounds: int = 3, progress=None, budget_s: float | None = None,
            chunk: int | None = None) -> tuple:
    """Coordinate descent from ``start_choice``: every round estimates the one-coordinate changes of the best
    design (``chunk`` at a time through the executor; those the rules exclude without a build are skipped)
    and moves to the best feasible one; it stops when a round brings no improvement, after ``rounds``, or
    when ``budget_s`` seconds have passed (``explorer.stop_reason`` says which)."""
    started = time.time()
    chunk = chunk or max(1, getattr(explorer.executor, "workers", 1) or 1)
    current = explorer.start() if hasattr(explorer, "start") else start_choice(explorer)
    around = getattr(explorer, "neighbours_of", None) or (lambda c: neighbours(explorer, c))
    explorer.prefetch([current])
    best = explorer.evaluate(current)
    history, seen, stop = [best], {current}, None
    for k in range(rounds):
        center, improved = best, False
        todo = [c for c in around(center.choice) if c not in seen]
        seen.update(todo)
        history += [explorer.evaluate(c) for c in todo if explorer.pruned(c)]  # no build: the rules say no
        todo = [c for c in todo if not explorer.pruned(c)]
        if hasattr(explorer, "order"):  # the cheapest first, so that a time budget cuts the dearest
            todo = explorer.order(todo)
        for i in range(0, len(todo), chunk):
            if budget_s is not None and time.time() - started > budget_s:
                stop = f"time budget of {budget_s:g} s spent in round {k + 1}"
                break
            part = todo[i:i + chunk]
            explorer.prefetch(part)
            for cand in part:
                ev = explorer.evaluate(cand)
                history.append(ev)
                if ev.feasible and (not best.feasible or ev.objective < best.objective):
                    best, improved = ev, True
        if improved and not stop:  # every coordinate that improved on its own, together
            merged = _merge(explorer, center, [h for h in history[-len(todo) - 1:]
                                               if h.feasible and h.objective < center.objective])
            if merged not in seen and not explorer.pruned(merged):
                seen.add(merged)
                explorer.prefetch([merged])
                ev = explorer.evaluate(merged)
                history.append(ev)
                if ev.feasible and ev.objective < best.objective:
                    best = ev
        if progress:
            progress(best)
        if stop or not improved:
            stop = stop or f"converged after {k + 1} round(s)"
            break
    explorer.stop_reason = stop or f"{rounds} round(s) done"
    return best, history, history[0]


def _merge(explorer: Explorer, center: Evaluated, better: list) -> Choice:
    """``center`` with the coordinates that improved on their own, added greedily by gain per added array DSP
    while the rules still allow the result (each design in ``better`` is one move from ``center``)."""
    base = explorer.planned_dsps(center.choice)

    def efficiency(ev):
        return (center.objective - ev.objective) / max(explorer.planned_dsps(ev.choice) - base, 1.0)

    out, taken = center.choice, set()
    for ev in sorted(better, key=efficiency, reverse=True):
        changes = _changes(center.choice, ev.choice)
        if not changes or any(key in taken for key, _ in changes):
            continue
        trial = out
        for key, value in changes:
            trial = _apply(trial, key, value)
        if not explorer.pruned(trial):
            out = trial
            taken.update(key for key, _ in changes)
    return out


def _changes(a, b) -> list:
    """((what, group), value) for every coordinate where choice ``b`` differs from ``a`` (a field of
    (group, value) pairs by group, another field whole)."""
    from dataclasses import fields

    out = []
    for f in fields(b):
        mine, theirs = getattr(a, f.name), getattr(b, f.name)
        if isinstance(theirs, tuple):
            out += [((f.name, group), value) for group, value in theirs if value != a.get(f.name, group)]
        elif theirs != mine:
            out.append(((f.name, ""), theirs))
    return out


def _apply(choice: Choice, key: tuple, value) -> Choice:
    what, group = key
    return choice.set(what, group, value) if group else replace(choice, **{what: value})
