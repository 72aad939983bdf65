"""The exploration: choose every operator's array shape (or lanes), the clock, the HBM channels per weight
loader, how many arrays share an operator's outputs, the FIFO depths and the SLR placement, under the
device's per-SLR resources and the timing rule, ranking designs by the design-level estimate.

A candidate's layer is rolled up as one dataflow region (``dsl.qor.dataflow.roll_up``) of its operators'
estimates: a loader streams the layer input from HBM, a storer writes the output back, the K and V
projections must finish before attention uses them. FIFO depths are the backlog each edge must absorb so
that no producer stalls (tokens produced before the consumer's first read), at least 2.
"""
from __future__ import annotations

import hashlib
import math
import os
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ..qor import dataflow as D
from ..qor import memory as M
from ..qor.design import HostParameters, KernelRun, design_estimate
from ..qor.tables import load_device as qor_device
from ..qor.tables import load_tables
from .evaluate import ExplorationError, Job, Variant, run_job
from .layer import ARRAY_KINDS, Build, Shape, build_of, operators

TIMING = Path(__file__).resolve().parent / "timing.yaml"
OUT_POS = {"linear": 3, "matmul": 2, "softmax": 1, "layer_norm": 4, "gelu": 1, "copy": 1}
LINEAR_GROUPS = ("qkv", "p", "f1", "f2")
LANE_GROUPS = ("softmax", "layer_norm", "gelu")


@dataclass(frozen=True)
class Choice:
    clock_mhz: float
    tiles: tuple          # sorted (group, tile) pairs
    splits: tuple         # sorted (group, arrays sharing the outputs) pairs
    channels: tuple       # sorted (linear group, HBM pseudo-channels per weight loader) pairs

    def tile(self, group: str) -> tuple:
        return dict(self.tiles)[group]

    def split(self, group: str) -> int:
        return dict(self.splits).get(group, 1)

    def with_tile(self, group, tile) -> "Choice":
        return replace(self, tiles=tuple(sorted({**dict(self.tiles), group: tile}.items())))

    def with_split(self, group, n) -> "Choice":
        return replace(self, splits=tuple(sorted({**dict(self.splits), group: n}.items())))

    def channel(self, group: str) -> int:
        return dict(self.channels).get(group, 1)

    def with_channels(self, group, n) -> "Choice":
        return replace(self, channels=tuple(sorted({**dict(self.channels), group: n}.items())))


@dataclass
class Evaluated:
    choice: Choice
    estimate: object = None            # DesignEstimate
    objective: float = math.inf
    violations: list = field(default_factory=list)
    slr_use: list = field(default_factory=list)   # per SLR: {kind: used}
    placement: dict = field(default_factory=dict)  # operator -> SLR
    fifo_depths: dict = field(default_factory=dict)
    channels_used: int = 0
    prefill_region: object = None

    @property
    def feasible(self) -> bool:
        return not self.violations and self.estimate is not None


class _Proc:
    """A Result as the roll-up wants a process instance."""

    def __init__(self, result):
        self.latency, self.interval = result.latency, result.interval
        self.stream_first, self.stream_last = result.first, result.last


def timing_rules(device: str) -> list:
    rules = yaml.safe_load(TIMING.read_text()).get(device)
    if not rules:
        raise ExplorationError(f"no timing rule for {device!r} in {TIMING.name}")
    return rules


class Explorer:
    def __init__(self, model, device: str, prompt: int, gen: int, executor, host: HostParameters | None = None,
                 cache_file=None):
        from ..perf.data import load_device, load_model

        self.model = load_model(model) if isinstance(model, str) else model
        self.perf_device = load_device(device)
        self.device = qor_device(device)
        self.prompt, self.gen = prompt, gen
        self.executor = executor
        self.host = host or HostParameters(host_link_gbs=self.perf_device.host_link_gbs)
        self.rules = timing_rules(self.device.name)
        self.ops = operators()
        self.cache: dict = {}
        self.cache_file = Path(cache_file) if cache_file else None
        self._load_cache()
        self.evaluations = 0
        last = prompt + max(gen, 1) - 1
        self.max_context = prompt + max(gen, 1)
        self.contexts = sorted({prompt, (prompt + last) // 2, last}) if self.model.is_decoder and gen else []

    # -- phases and builds ----------------------------------------------------------------------------
    def shapes(self) -> list:
        """("prefill", Shape) then one decode shape per sampled context (its mean is the decode figure: the
        latency of a step grows linearly with the context)."""
        out = [("prefill", Shape(self.prompt, self.prompt))]
        out += [(f"decode@{c}", Shape(1, c + 1)) for c in self.contexts]
        return out

    def _builds(self, choice: Choice, shape: Shape) -> dict:
        out = {}
        for op in self.ops:
            out[op.name] = build_of(op, self.model, shape, choice.tile(op.group), choice.split(op.group),
                                    self.max_context)
        d = self.model.hidden
        out["load_x"] = Build("copy", (8,), {"copy:i": shape.tokens * d // 8}, shape.tokens * d // 8,
                              shape.tokens * d // 8, args=("weights", "out"))
        out["store_y"] = Build("copy", (8,), {"copy:i": shape.tokens * d // 8}, 0, shape.tokens * d // 8,
                               args=("in", "weights"))
        return out

    def _variant(self, b: Build, choice: Choice, group: str = "") -> tuple:
        memories = []
        for role in b.args:
            memories.append({"in": ("stream", 2), "out": ("stream", 2), "buffer": ("ram",), "const": ("rom",),
                             "weights": ("maxi", choice.channel(group) if group else 1)}[role])
        key = (b.kind, b.params)
        return key, Variant(choice.clock_mhz, tuple(sorted(b.tripcount.items())), tuple(memories))

    def prefetch(self, choices: list):
        """Estimate, through the executor, every operator variant the choices need and the cache lacks."""
        wanted: dict = {}
        for choice in choices:
            for _, shape in self.shapes():
                for name, b in self._builds(choice, shape).items():
                    key, variant = self._variant(b, choice, self._group(name))
                    if (key, variant) not in self.cache:
                        wanted.setdefault(key, set()).add(variant)
        jobs = [Job(kind, params, tuple(sorted(vs, key=repr)), self.device.name)
                for (kind, params), vs in sorted(wanted.items(), key=repr)]
        for job, results in zip(jobs, self.executor.map(run_job, jobs)):
            for variant, result in zip(job.variants, results):
                self.cache[((job.kind, job.params), variant)] = result
        if jobs:
            self._save_cache()

    # -- the estimates of earlier runs --------------------------------------------------------------
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

    def _group(self, name: str) -> str:
        return next((op.group for op in self.ops if op.name == name and op.kind == "linear"), "")

    def result(self, b: Build, choice: Choice, name: str = ""):
        key, variant = self._variant(b, choice, self._group(name))
        if (key, variant) not in self.cache:
            self.cache[(key, variant)] = run_job(Job(key[0], key[1], (variant,), self.device.name))[0]
        return self.cache[(key, variant)]

    # -- one candidate ------------------------------------------------------------------------------
    def evaluate(self, choice: Choice) -> Evaluated:
        self.evaluations += 1
        ev = Evaluated(choice)
        ev.violations += self._timing(choice)
        regions = {}
        for phase, shape in self.shapes():
            regions[phase] = self._region(choice, shape, ev if phase == "prefill" else None)
        ev.prefill_region = regions["prefill"]
        self._resources(choice, ev)
        cycles = {phase: r.latency for phase, r in regions.items()}
        prefill = [KernelRun("layer", cycles["prefill"], choice.clock_mhz)]
        by_context = {c: [KernelRun("layer", cycles[f"decode@{c}"], choice.clock_mhz)] for c in self.contexts}

        def decode(context):  # a step's cycles grow linearly with the context: interpolate the samples
            lo = max([c for c in self.contexts if c <= context], default=self.contexts[0])
            hi = min([c for c in self.contexts if c >= context], default=self.contexts[-1])
            a, b = by_context[lo][0].cycles, by_context[hi][0].cycles
            cycles = a if hi == lo else round(a + (b - a) * (context - lo) / (hi - lo))
            return [KernelRun("layer", cycles, choice.clock_mhz)]

        ev.estimate = design_estimate("explored", self.model, self.perf_device, self.prompt, self.gen, prefill,
                                      decode if self.contexts else None, self.host, ev.slr_use)
        est = ev.estimate
        ev.objective = est.ttft_ms + (self.gen * est.decode_ms_per_token if est.decode else 0.0)
        return ev

    def _repair(self, choice, builds, placement, use, arrays, max_arrays, budget):
        """SLR placement: from the paper's, move array operators out of an SLR that holds more arrays or
        resources than allowed into the SLR with the most room, smallest first (latency does not depend on
        the placement in this model; the streams that cross SLRs are listed in the report)."""
        for _ in range(len(self.ops)):
            over = [s for s in range(len(use)) if arrays[s] > max_arrays
                    or any(use[s][k] > budget[k] for k in budget)]
            if not over:
                return
            s = over[0]
            movable = [op for op in self.ops if placement[op.name] == s and op.kind in ARRAY_KINDS]
            if not movable:
                return
            costs = {op.name: self.result(builds[op.name], choice, op.name).costs for op in movable}
            op = min(movable, key=lambda o: costs[o.name]["DSP"])
            n = choice.split(op.group)
            target = min((t for t in range(len(use)) if t != s and arrays[t] + n <= max_arrays),
                         key=lambda t: use[t]["DSP"], default=None)
            if target is None:
                return
            for kind, value in costs[op.name].items():
                use[s][kind] -= value * n
                use[target][kind] += value * n
            arrays[s] -= n
            arrays[target] += n
            placement[op.name] = target

    def channels_for(self, tile: tuple, clock_mhz: float) -> int:
        """Channels one weight loader needs to deliver 4 Nt bits every cycle (at most 4)."""
        per_cycle = self.device.channel_gbs * self.host.channel_efficiency * 8e9 / (clock_mhz * 1e6)
        return max(1, min(4, math.ceil(4 * tile[1] / per_cycle)))

    def _timing(self, choice: Choice) -> list:
        rule = next((r for r in self.rules if r["clock_mhz"] == choice.clock_mhz), None)
        if rule is None:
            return [f"no timing rule for {choice.clock_mhz:g} MHz"]
        out = []
        for group in LINEAR_GROUPS + ("attn",):
            mt, nt = choice.tile(group)
            if mt * nt > rule["max_array_pes"]:
                out.append(f"{group}: a {mt}x{nt} array exceeds {rule['max_array_pes']} PEs at "
                           f"{choice.clock_mhz:g} MHz ({rule['source']})")
        return out

    def _nodes(self, choice: Choice, shape: Shape):
        builds = self._builds(choice, shape)
        nodes, index = [], {}
        for name in ["load_x"] + [op.name for op in self.ops] + ["store_y"]:
            b = builds[name]
            group = next((op.group for op in self.ops if op.name == name), "")
            copies = choice.split(group) if b.kind in ARRAY_KINDS else 1
            index[name] = []
            for c in range(copies):
                label = name if copies == 1 else f"{name}#{c}"
                index[name].append(len(nodes))
                nodes.append(D.Node(label, b.kind, _Proc(self.result(b, choice, name))))
        return builds, nodes, index

    def _region(self, choice: Choice, shape: Shape, ev: Evaluated | None):
        builds, nodes, index = self._nodes(choice, shape)
        fifos, edges = [], []

        def connect(src: str, dst_node: int, pos: int):
            for p in index[src]:
                f = len(fifos)
                kind = builds[src].kind
                fifos.append(_Fifo(f, f"{src}->{nodes[dst_node].label}", 2, 64))
                nodes[p].outputs.append((f, OUT_POS[kind]))
                nodes[dst_node].inputs.append((f, pos))
                edges.append((src, p, dst_node, f))

        for op in self.ops:
            for n in index[op.name]:
                for src, pos, how in op.inputs:
                    src = "load_x" if src == "x" else src
                    if how == "after":
                        nodes[n].after += index[src]
                    else:
                        connect(src, n, pos)
                if op.residual:
                    connect("load_x" if op.residual == "x" else op.residual, n, 1)
        connect("ln2", index["store_y"][0], 0)
        region = D.roll_up("layer", nodes, fifos, 1)
        if ev is not None:
            ev.fifo_depths = self._depths(nodes, builds, edges, fifos)
        return region

    def _depths(self, nodes, builds, edges, fifos) -> dict:
        """Per stream: the words its producer writes before its consumer starts reading (at least 2)."""
        depths = {}
        for src, p, dst, f in edges:
            prod, cons = nodes[p], nodes[dst]
            pos_out = OUT_POS[builds[src].kind]
            words = max(builds[src].words_out // max(len([e for e in edges if e[0] == src and e[2] == dst]), 1), 1)
            first = prod.start + prod.instance.stream_first.get(pos_out, 0)
            last = prod.start + prod.instance.stream_last.get(pos_out, prod.instance.latency)
            pos_in = next(pos for ff, pos in cons.inputs if ff == f)
            reads = cons.start + cons.instance.stream_first.get(pos_in, 0)
            span = max(last - first + 1, 1)
            backlog = words * min(max(reads - first, 0) / span, 1.0)
            depths[fifos[f].label] = max(2, 1 << max(0, math.ceil(math.log2(max(backlog, 1)))))
        return depths

    def _resources(self, choice: Choice, ev: Evaluated):
        shape = Shape(self.prompt, self.prompt)
        builds = self._builds(choice, shape)
        tables = load_tables(self.device.tables, choice.clock_mhz)
        use = [{k: 0.0 for k in ("DSP", "BRAM18K", "URAM", "LUT", "FF")} for _ in range(self.device.slrs)]
        arrays = [0] * self.device.slrs
        placement = {}
        for op in self.ops:
            b = builds[op.name]
            copies = choice.split(op.group) if b.kind in ARRAY_KINDS else 1
            slr = min(op.slr, self.device.slrs - 1)
            placement[op.name] = slr
            for kind, value in self.result(b, choice, op.name).costs.items():
                use[slr][kind] += value * copies
            if b.kind in ARRAY_KINDS:
                arrays[slr] += copies
        for name in ("load_x", "store_y"):
            for kind, value in self.result(builds[name], choice).costs.items():
                use[0][kind] += value
            placement[name] = 0
        for label, depth in ev.fifo_depths.items():
            consumer = label.split("->")[1].split("#")[0]
            cost = M.fifo_cost(M.Memory("stream", label, 64, (1,), depth=depth), tables)
            slr = placement.get(consumer, 0)
            use[slr]["BRAM18K"] += cost.bram18k
            use[slr]["LUT"] += cost.lut
            use[slr]["FF"] += cost.ff
        rule = next((r for r in self.rules if r["clock_mhz"] == choice.clock_mhz), {"max_arrays_per_slr": 0})
        budget = {k: self.device.per_slr(k) * self.device.usable_fraction for k in use[0]}
        self._repair(choice, builds, placement, use, arrays, rule["max_arrays_per_slr"], budget)
        ev.placement, ev.slr_use = placement, use
        for s, u in enumerate(use):
            for kind, value in u.items():
                if value > budget[kind]:
                    ev.violations.append(f"SLR{s}: {kind} {value:,.0f} over {budget[kind]:,.0f}")
            if arrays[s] > rule["max_arrays_per_slr"]:
                ev.violations.append(f"SLR{s}: {arrays[s]} arrays, the timing rule allows "
                                     f"{rule['max_arrays_per_slr']} at {choice.clock_mhz:g} MHz")
        # two weight loaders per linear array (the two halves of its columns), the layer's input and output
        loaders = 2 * sum(choice.split(op.group) * choice.channel(op.group) for op in self.ops
                          if op.kind == "linear") + 2
        ev.channels_used = loaders
        if loaders > self.device.channels:
            ev.violations.append(f"{loaders} HBM channels for the loaders, the device has {self.device.channels}")


def _fingerprint() -> str:
    """Cached estimates are valid while the templates, the tables and the estimator are unchanged."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()
    for path in sorted([*root.glob("qor/*.py"), *root.glob("qor/tables/*.yaml"), root / "dse" / "templates.py",
                        root / "dse" / "evaluate.py"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class _Fifo:
    index: int
    label: str
    depth: int
    bits: int


# -- the search ------------------------------------------------------------------------------------------
def options(explorer: Explorer, clock: float) -> dict:
    rule = next(r for r in explorer.rules if r["clock_mhz"] == clock)
    cap = rule["max_array_pes"]
    d, ffn = explorer.model.hidden, explorer.model.ffn
    # arrays as large as the timing rule allows (and the paper's 8x16): a smaller array of the same shape
    # family is never faster, and every shape is one more build
    linear = [(mt, nt) for mt in (1, 2, 4, 8, 16) for nt in (8, 16, 32, 64, 128)  # weight words of 4 Nt bits
              if (mt * nt == cap or (mt, nt) == (8, 16) and mt * nt <= cap) and mt <= explorer.prompt
              and d % (2 * nt) == 0 and ffn % (2 * nt) == 0]
    head = explorer.model.hidden // explorer.model.heads
    attn = [(mt, nt) for mt in (1, 2, 4, 8, 16) for nt in (4, 8, 16, 32, 64)
            if (mt * nt == min(cap, 64) or (mt, nt) == (8, 8) and mt * nt <= cap) and mt <= explorer.prompt
            and nt <= head and head % nt == 0]
    return {"linear": linear, "attn": attn, "lanes": [4, 8, 16], "splits": [1, 2, 3], "channels": [1, 2, 3, 4]}


def start_choice(explorer: Explorer) -> Choice:
    """The paper's design: 8x16 arrays for the linear operators, 8x8 for attention, 8 lanes, 250 MHz."""
    clock = max((r["clock_mhz"] for r in explorer.rules if r["clock_mhz"] <= 250), default=explorer.rules[0]["clock_mhz"])
    tiles = {g: (8, 16) for g in LINEAR_GROUPS}
    tiles["attn"] = (8, 8)
    tiles.update({g: (8,) for g in LANE_GROUPS})
    # about the three channels per operator dsl.perf assumes for the paper's design: two loaders of 2 each
    return Choice(clock, tuple(sorted(tiles.items())), (), tuple((g, 2) for g in LINEAR_GROUPS))


def neighbours(explorer: Explorer, current: Choice) -> list:
    """Every choice that changes one coordinate of ``current``."""
    out = []
    for rule in explorer.rules:
        if rule["clock_mhz"] != current.clock_mhz:
            out.append(_fit(explorer, replace(current, clock_mhz=rule["clock_mhz"])))
    opts = options(explorer, current.clock_mhz)
    for group in LINEAR_GROUPS:
        out += [current.with_tile(group, t) for t in opts["linear"] if t != current.tile(group)]
        out += [current.with_split(group, n) for n in opts["splits"] if n != current.split(group)]
    out += [current.with_tile("attn", t) for t in opts["attn"] if t != current.tile("attn")]
    for group in LANE_GROUPS:
        out += [current.with_tile(group, (p,)) for p in opts["lanes"] if (p,) != current.tile(group)]
    for group in LINEAR_GROUPS:
        out += [current.with_channels(group, c) for c in opts["channels"] if c != current.channel(group)]
        # an array shape together with the channels its loaders need to feed it every cycle
        out += [current.with_tile(group, t).with_channels(group, explorer.channels_for(t, current.clock_mhz))
                for t in opts["linear"] if t != current.tile(group)]
    return out


def _fit(explorer: Explorer, choice: Choice) -> Choice:
    """Shrink arrays that exceed the clock's timing rule to the nearest allowed shape."""
    opts = options(explorer, choice.clock_mhz)
    for group in LINEAR_GROUPS + ("attn",):
        allowed = opts["linear"] if group != "attn" else opts["attn"]
        mt, nt = choice.tile(group)
        if (mt, nt) not in allowed and allowed:
            best = min(allowed, key=lambda t: (abs(t[0] * t[1] - mt * nt), abs(t[0] - mt)))
            choice = choice.with_tile(group, best)
    return choice


def explore(explorer: Explorer, rounds: int = 3, progress=None) -> tuple:
    """Coordinate descent from the paper's design: every round tries each one-coordinate change of the best
    design (estimated in one batch through the executor) and keeps the best feasible one."""
    current = _fit(explorer, start_choice(explorer))
    explorer.prefetch([current])
    best = explorer.evaluate(current)
    history = [best]
    for _ in range(rounds):
        candidates = neighbours(explorer, best.choice)
        explorer.prefetch(candidates)
        improved = False
        for cand in candidates:
            ev = explorer.evaluate(cand)
            history.append(ev)
            if ev.feasible and (not best.feasible or ev.objective < best.objective):
                best, improved = ev, True
        if progress:
            progress(best)
        if not improved:
            break
    return best, history, history[0]
