"""The exploration of a decoder whose linear operators' PE arrays serve both phases (``--arrays shared``, the
default for decoders): the builder (``models.explore_shared``: ``models.dual``'s qkv / attention / ffn
kernels, ``gemm.aw_gemm_shared`` arrays of Mt x Nt PEs holding one weight word of Mt k steps) estimates a
candidate in both phases, so the device holds its arrays once, not once per phase as in the separate
exploration (``search.Explorer``).

Coordinates: the arrays per operator group (each 8 x 16 packed int4 PEs = 64 DSPs), the HBM channels per
array's loaders, the attention arrays of each phase's attention kernel, the clock and the weight FIFO depth.
Rules: the timing rule (``timing.yaml``) on every array and on the array DSPs of each SLR (the shared arrays
and both attention kernels' arrays); the device's resources against all four kernels together; the weight
loaders of one kernel each on its own HBM channel (the host runs the kernels one after another, so the qkv
and ffn kernels may use the same channels: their loaders never stream at the same time).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..qor.design import KernelRun, design_estimate
from .evaluate import Job, run_job
from .search import Evaluated, Explorer, _divisor, place

BUILDER = "models.explore_shared"
GROUPS = {"qkv": ("q", "k", "v"), "p": ("p",), "f1": ("f1",), "f2": ("f2",)}
KERNEL_OF = {"qkv": "qkv", "p": "ffn", "f1": "ffn", "f2": "ffn"}
ARRAYS = (1, 2, 4, 8)
LOADERS = (1, 2)   # HBM channels per array: a weight word a cycle (decode) needs two at 250 MHz
ARRAY_DSPS = 64    # 8 x 16 int4 PEs, two a DSP
ATTENTION = {"prefill": ((8, 8), (8, 16), (16, 8)), "decode": ((1, 8), (1, 16), (1, 32), (1, 64))}
WEIGHT_DEPTHS = (16, 64)
# relative work of estimating a kernel (its processes, both phases for qkv and ffn): the order of the jobs
KERNEL_COST = {"ffn": 6, "qkv": 3, "attention_prefill": 1, "attention_decode": 1}


@dataclass(frozen=True)
class SharedChoice:
    clock_mhz: float
    arrays: tuple         # sorted (group, arrays) pairs
    loaders: tuple        # sorted (group, channels per array) pairs
    attention: tuple      # sorted (phase, (Mq, Nk)) pairs
    weight_depth: int = 16

    def get(self, what: str, key: str):
        return dict(getattr(self, what))[key]

    def set(self, what: str, key: str, value) -> "SharedChoice":
        return replace(self, **{what: tuple(sorted({**dict(getattr(self, what)), key: value}.items()))})


class SharedExplorer(Explorer):
    """``Explorer`` with one job per candidate (both phases) from ``models.explore_shared``."""

    def __init__(self, model, device, prompt, gen, executor, host=None, cache_file=None, builder=BUILDER,
                 builder_model=None):
        super().__init__(model, device, prompt, gen, executor, host, cache_file, builder, builder_model)
        self.variant_names = ("shared",)

    def spec(self, choice: SharedChoice, variant: str = "shared") -> tuple:
        per_op = lambda what: tuple(sorted((op, choice.get(what, g)) for g, ops in GROUPS.items() for op in ops))
        att = tuple((p, (("Mq", mq), ("Nk", nk))) for p, (mq, nk) in choice.attention)
        return (("arrays", per_op("arrays")), ("attention", att), ("clock_mhz", choice.clock_mhz),
                ("depths", (("weights", choice.weight_depth),)), ("lmax", self.lmax), ("loaders", per_op("loaders")),
                ("model", self.model_name), ("past", self.prompt + self.gen // 2), ("rows", self.prompt))

    def start(self) -> SharedChoice:
        clock = max((r["clock_mhz"] for r in self.rules if r["clock_mhz"] <= 250), default=self.rules[0]["clock_mhz"])
        head = self.model.hidden // self.model.heads
        att = (("decode", (1, _divisor(math.gcd(self.lmax, head), 8))),
               ("prefill", (_divisor(self.prompt, 8), _divisor(math.gcd(self.prompt, head), 8))))
        c = SharedChoice(clock, tuple((g, 1) for g in sorted(GROUPS)), tuple((g, 2) for g in sorted(GROUPS)), att)
        return self.balanced(c)

    def balanced(self, c: SharedChoice) -> SharedChoice:
        """``c`` with the arrays doubled, the group with the most MACs a row per array first, while the rules
        allow it (in decode the operators run one after another: the layer's time is their sum, smallest
        when each group's arrays follow its share of the MACs)."""
        macs = {g: sum(self.cols[op] for op in ops) * (self.model.ffn if g == "f2" else self.model.hidden) / len(ops)
                for g, ops in GROUPS.items()}
        while True:
            for g in sorted(GROUPS, key=lambda g: -macs[g] / c.get("arrays", g)):
                trial = c.set("arrays", g, 2 * c.get("arrays", g))
                if 2 * c.get("arrays", g) in ARRAYS and not self.pruned(trial):
                    c = trial
                    break
            else:
                return c

    def neighbours_of(self, c: SharedChoice) -> list:
        out = [c.set("arrays", g, a) for g in GROUPS for a in ARRAYS if a != c.get("arrays", g)
               and all(self.cols[op] % (a * 16) == 0 for op in GROUPS[g])]
        out += [c.set("loaders", g, n) for g in GROUPS for n in LOADERS if n != c.get("loaders", g)]
        head = self.model.hidden // self.model.heads
        for phase, shapes in ATTENTION.items():
            keys, rows = (self.lmax, 1) if phase == "decode" else (self.prompt, self.prompt)
            out += [c.set("attention", phase, s) for s in shapes if s != c.get("attention", phase)
                    and rows % s[0] == 0 and keys % s[1] == 0 and head % s[1] == 0]
        out += [replace(c, clock_mhz=r["clock_mhz"]) for r in self.rules if r["clock_mhz"] != c.clock_mhz]
        out += [replace(c, weight_depth=d) for d in WEIGHT_DEPTHS if d != c.weight_depth]
        return out

    # -- rules without a build -----------------------------------------------------------------------
    def planned_dsps(self, c: SharedChoice) -> float:
        shared = sum(len(ops) * c.get("arrays", g) * ARRAY_DSPS for g, ops in GROUPS.items())
        return shared + sum(2 * mq * nk for _, (mq, nk) in c.attention)

    def planned_channels(self, c: SharedChoice) -> int:
        """The weight loaders of the kernel with the most (each on its own channel; kernels run in turn)."""
        per = {}
        for g, ops in GROUPS.items():
            per[KERNEL_OF[g]] = per.get(KERNEL_OF[g], 0) + len(ops) * c.get("arrays", g) * c.get("loaders", g)
        return max(per.values())

    def pruned(self, c: SharedChoice) -> list:
        rule = self.rule(c.clock_mhz)
        if rule is None:
            return [f"no timing rule for {c.clock_mhz:g} MHz"]
        out = []
        if ARRAY_DSPS > rule["max_array_dsps"]:
            out.append(f"a shared array of {ARRAY_DSPS} DSPs exceeds {rule['max_array_dsps']} at {c.clock_mhz:g} MHz")
        for phase, (mq, nk) in c.attention:
            if mq * nk > rule["max_array_dsps"]:
                out.append(f"{phase} attention: an array of {mq * nk} DSPs exceeds {rule['max_array_dsps']} at "
                           f"{c.clock_mhz:g} MHz ({rule['source']})")
        cap = rule["max_arrays_per_slr"] * rule["max_array_dsps"] * self.device.slrs
        if self.planned_dsps(c) > cap:
            out.append(f"arrays of {self.planned_dsps(c):,.0f} DSPs in all; the timing rule allows {cap:,} on the "
                       f"device's {self.device.slrs} SLRs at {c.clock_mhz:g} MHz")
        if self.planned_channels(c) > self.device.channels:
            out.append(f"{self.planned_channels(c)} weight loaders in one kernel, the device has "
                       f"{self.device.channels} HBM channels")
        return out

    # -- one candidate: its kernels, each estimated once ------------------------------------------------
    def _builder(self):
        import importlib

        return importlib.import_module(self.builder)  # the models library, by name (dsl does not import it)

    def kernel_jobs(self, c: SharedChoice) -> dict:
        """kernel -> the builder's job for it alone (``kernel_jobs``): candidates that differ only in another
        kernel's arrays share its estimate (the objective is a sum over the kernels; only the rules couple them)."""
        return self._builder().kernel_jobs(self.spec(c))

    def missing_cost(self, c: SharedChoice) -> int:
        """Kernels of ``c`` not yet estimated, weighted by their work (the ffn kernel holds most processes)."""
        if self.pruned(c):
            return 0
        return sum(KERNEL_COST.get(n, 1) for n, j in self.kernel_jobs(c).items() if j not in self.cache)

    def order(self, choices: list) -> list:
        """The cheapest candidates first (fewest new kernel estimates), so a time budget cuts the dearest."""
        return sorted(choices, key=self.missing_cost)

    def prefetch(self, choices: list):
        wanted = [j for c in choices if not self.pruned(c) for j in self.kernel_jobs(c).values()
                  if j not in self.cache]
        wanted = sorted(dict.fromkeys(wanted), key=lambda j: -KERNEL_COST.get(dict(j)["kernel"], 1))
        for job, result in zip(wanted, self.executor.map(run_job, [Job(j, self.builder) for j in wanted])):
            self.cache[job] = result
        if wanted:
            self._save_cache()

    def evaluate(self, c: SharedChoice) -> Evaluated:
        self.evaluations += 1
        ev = Evaluated(c)
        ev.violations += self.pruned(c)
        if ev.violations:
            return ev
        kernels = {}
        for name, job in self.kernel_jobs(c).items():
            if job not in self.cache:
                self.cache[job] = run_job(Job(job, self.builder))
            kernels[name] = self.cache[job]
        res = self._builder().compose(self.spec(c), kernels)
        ev.variants["shared"] = res
        if res.get("uncounted"):
            ev.violations.append("loops left uncounted: " + ", ".join(res["uncounted"][:4]))
        self._place(c, ev, res)
        runs = {p: [KernelRun(name, cycles, c.clock_mhz) for name, cycles in res["phases"][p]]
                for p in ("prefill", "decode")}
        ev.estimate = design_estimate("explored (shared arrays)", self.model, self.perf_device, self.prompt,
                                      self.gen, runs["prefill"], runs["decode"] if self.gen else None, self.host,
                                      {"SLR array DSPs": ev.slr_dsps})
        est = ev.estimate
        ev.objective = est.ttft_ms + (self.gen * est.decode_ms_per_token if est.decode else 0.0)
        return ev

    def _place(self, c: SharedChoice, ev: Evaluated, res: dict):
        """The arrays on the SLRs (the paper's placement, arrays moved to the SLR with the most room when
        one is over the timing rule), the device's resources and the channels."""
        count, arrays = {}, []
        for op, slr, dsps, _ in res["arrays"]:
            count[op] = count.get(op, 0) + 1
            arrays.append((f"{op}#{count[op] - 1}", min(slr, self.device.slrs - 1), dsps))
        place(ev, arrays, self.device.slrs, self.rule(c.clock_mhz), c.clock_mhz)
        for kind, used in res["resources"].items():
            have = res["available"].get(kind, 0.0) * self.device.usable_fraction
            if have and used > have:
                ev.violations.append(f"{kind}: {used:,.0f} used by the four kernels together, {have:,.0f} usable")
        ev.channels_used = self.planned_channels(c)
