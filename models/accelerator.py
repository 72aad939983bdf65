"""The whole model on the generated accelerator: the host embeds the tokens, runs the layer design N times
(prefill, then greedy decode against the KV cache), applies the final LayerNorm and the LM head; checked
against the quantised reference (bit-exact) and the float32 reference (max error, cosine similarity).

GPT2 prompts are padded to a length the attention streams take (<= 16 or a multiple of 16) with token 0:
attention is causal, so the real rows are unchanged, and decode overwrites the padded cache rows before any
query can see them. BERT sequences must have such a length (no padding mask in the design).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dsl.progress import Progress

from . import reference as R
from .design import build_layer
from .errors import ModelError
from .quant import KVCache, QuantModel, q_bert_layer, q_gpt2_layer
from .runner import LayerModule, layer_arguments

F = np.float32


def padded(n: int) -> int:
    """The length the attention's rows take (see ``design.check_rows``)."""
    return n if n <= 16 else n + (-n) % 16 if n <= 64 else n + (-n) % 64


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


@dataclass
class RunResult:
    model: str
    quant: str
    target: str
    prompt: list
    tokens: list = field(default_factory=list)  # generated (GPT2)
    output: np.ndarray | None = None  # logits per step [steps, vocab] (GPT2) / last hidden state (BERT)
    pooler: np.ndarray | None = None
    bit_exact: bool | None = None  # every layer output equals the quantised reference's
    mismatches: list = field(default_factory=list)
    max_abs_error: float = 0.0  # against the float32 reference
    cosine: float = 0.0
    cosine_min: float = 0.0
    float_tokens: list = field(default_factory=list)
    times: dict = field(default_factory=dict)
    tokens_moved: int = 0

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("output", "pooler")}


def load_shared(path) -> dict | None:
    """``build_dual``'s arguments (arrays, loaders, attention, depths) from a design file of ``python -m dsl.dse
    --arrays shared`` (its ``accelerator: variants: shared:`` section), or None for a file of separate
    prefill / decode arrays (``explore.load_explored`` reads those)."""
    import yaml

    try:
        variants = yaml.safe_load(open(path))["accelerator"]["variants"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a design file of python -m dsl.dse (an accelerator: variants: section): "
                         f"{exc}") from None
    v = variants.get("shared")
    if not isinstance(v, dict):
        return None
    lin = v.get("linears", {})
    return {"arrays": {op: f["arrays"] for op, f in lin.items()}, "loaders": {op: f["loaders"] for op, f in lin.items()},
            "attention": {p: {k: a[k] for k in ("Mq", "Nk")} for p, a in v.get("attention", {}).items()},
            "depths": {k: x for k, x in v.get("fifo_depths", {}).items() if k == "weights"}}


@dataclass
class _DualModules:
    """The modules of one phase's kernels of a shared-array layer, with the counters ``generate`` reads."""
    kernels: dict

    def run(self, layer, qm, index, h, cache, pos):
        from .dual import run_layer

        return run_layer(layer, self.kernels, qm, index, np.asarray(h, F), cache, pos)

    def __getattr__(self, name):  # build_s, run_s, tokens: summed over the kernels
        if name in ("build_s", "run_s", "tokens"):
            return sum(getattr(m, name) for m in self.kernels.values())
        raise AttributeError(name)


class Accelerator:
    """The layer designs of one model and request, built for ``target`` ('sim' or 'csim')."""

    def __init__(self, qm: QuantModel, prompt: int, gen: int = 0, target: str = "sim", pack: bool = True,
                 design=None):
        """``design``: a design file of ``python -m dsl.dse`` (its PE arrays, attention arrays, loaders and
        weight FIFOs per variant); default the shapes ``models.design`` chooses."""
        from .explore import load_explored

        cfg = qm.config
        shared = load_shared(design) if design is not None else None
        chosen = load_explored(design) if design is not None and shared is None else {}

        def layer(variant, rows, lmax):
            given = chosen.get(variant, {})
            return build_layer(cfg, qm.qcfg, variant, rows, lmax, pack, given.get("depths") or None,
                               given.get("linears") or None, given.get("attention") or None)

        self.qm, self.target, self.cfg = qm, target, cfg
        if prompt < 1:
            raise ModelError("the prompt needs at least one token")
        if cfg.is_decoder:
            self.rows = padded(prompt)
            self.lmax = padded(max(prompt + gen, self.rows))
            if self.lmax > cfg.max_positions:
                raise ModelError(f"prompt {prompt} + gen {gen} (cache {self.lmax}) exceeds {cfg.name}'s context of "
                                 f"{cfg.max_positions} positions")
            if shared is not None:  # one set of PE arrays for both phases (models.dual): its four kernels
                from .dual import SHARED_MT, build_dual

                self.rows += -self.rows % SHARED_MT  # the shared arrays take tiles of SHARED_MT rows
                self.lmax = padded(max(prompt + gen, self.rows))
                self.dual = build_dual(cfg, qm.qcfg, self.rows, self.lmax, **shared)
            self.prefill = layer("prefill", self.rows, self.lmax) if shared is None else self.dual.qkv
            self.decode = (layer("decode", 1, self.lmax) if shared is None else self.dual.qkv) if gen > 1 else None
        else:
            if prompt > cfg.max_positions:
                raise ModelError(f"sequence {prompt} exceeds {cfg.name}'s {cfg.max_positions} positions")
            self.rows, self.lmax = prompt, 0
            if shared is not None:
                raise ModelError(f"{design}: a shared-array design serves a decoder's two phases; {cfg.name} is "
                                 "an encoder")
            self.prefill = layer("encoder", prompt, 0)
            self.decode = None
        self.shared = shared is not None
        self._modules: dict = {}

    @property
    def designs(self) -> list:
        if self.shared:
            return list(self.dual.kernels.values())
        return [d for d in (self.prefill, self.decode) if d is not None]

    def module(self, design) -> LayerModule:
        if self.shared:  # the phase's kernels, run by ``dual.run_layer``
            return _DualModules({n: self._module(k) for n, k in self.dual.kernels.items()
                                 if n in ("qkv", "ffn", f"attention_{design}")})
        return self._module(design)

    def _module(self, design) -> LayerModule:
        if design.variant not in self._modules:
            with Progress(f"building the {design.variant} layer for the {self.target}"):
                self._modules[design.variant] = LayerModule(design, self.target)
        return self._modules[design.variant]

    # -- GPT2 -------------------------------------------------------------------------------------------
    def generate(self, prompt_ids, gen: int, check: bool = True) -> RunResult:
        cfg, qm = self.cfg, self.qm
        ids = [int(t) for t in prompt_ids]
        res = RunResult(cfg.name, f"{qm.qcfg.name} {qm.qcfg.act}", self.target, ids)
        pre = self.module("prefill" if self.shared else self.prefill)
        dec = (self.module("decode" if self.shared else self.decode) if gen > 1 else None)
        res.times["build_s"] = self._total("build_s", pre, dec)
        d, L = cfg.hidden, len(ids)
        caches = [KVCache.empty(self.lmax, d) for _ in range(cfg.layers)]
        ref_caches = [KVCache.empty(self.lmax, d) for _ in range(cfg.layers)]
        steps, res.bit_exact = [], True if check else None
        start = time.perf_counter()
        with Progress(f"{cfg.name} on the {self.target}", total=cfg.layers * max(gen, 1), unit="layer") as bar:
            pad = ids + [0] * (self.rows - L)
            h = self._layers(pre, "prefill" if self.shared else self.prefill, R.gpt2_embed(qm.weights, pad, 0), 0,
                             caches, ref_caches, check,
                             res, bar)
            steps.append(R.gpt2_head(qm.weights, h[L - 1:L])[0])
            for t in range(gen - 1):
                res.tokens.append(int(np.argmax(steps[-1])))
                x = R.gpt2_embed(qm.weights, [res.tokens[-1]], L + t)
                h = self._layers(dec, "decode" if self.shared else self.decode, x, L + t, caches, ref_caches, check,
                                 res, bar)
                steps.append(R.gpt2_head(qm.weights, h)[0])
            if gen:
                res.tokens.append(int(np.argmax(steps[-1])))
        res.times["run_s"] = time.perf_counter() - start
        res.times["design_s"] = self._total("run_s", pre, dec)
        res.tokens_moved = self._total("tokens", pre, dec)
        res.output = np.stack(steps)
        self._compare_gpt2(res, ids, gen)
        return res

    def _total(self, what, pre, dec):
        """A counter over the modules (a shared-array design's qkv and ffn serve both phases: once)."""
        if self.shared:
            return sum(getattr(m, what) for m in self._modules.values())
        return getattr(pre, what) + (getattr(dec, what) if dec else 0)

    def _layers(self, module, design, h, pos, caches, ref_caches, check, res, bar):
        qm = self.qm
        for i in range(self.cfg.layers):
            h_in = h
            if self.shared:
                h = module.run(self.dual, qm, i, h_in, caches[i], pos)
            else:
                h = np.array(module(layer_arguments(design, qm, i, h_in, caches[i], pos, module.words), caches[i]))
            if check:
                expect = q_gpt2_layer(qm, i, h_in, ref_caches[i], pos)
                self._check(res, getattr(design, "variant", design), i, pos, h, expect,
                            caches[i].equals(ref_caches[i]))
            bar.update()
        return h

    def _check(self, res, variant, layer, pos, got, expect, caches_agree=True):
        same = np.array_equal(got, expect) and caches_agree
        if not same:
            res.bit_exact = False
            res.mismatches.append({"variant": variant, "layer": layer, "pos": pos,
                                   "max_abs_diff": float(np.abs(got - expect).max())})

    def _compare_gpt2(self, res, ids, gen):
        seq = ids + res.tokens[:max(gen - 1, 0)]
        flogits, _ = R.gpt2_forward(self.qm.weights, seq)  # teacher-forced on the accelerator's tokens
        ref = flogits[len(ids) - 1:len(ids) - 1 + len(res.output)]
        res.max_abs_error = float(np.abs(res.output - ref).max())
        cos = [cosine(a, b) for a, b in zip(res.output, ref)]
        res.cosine, res.cosine_min = float(np.mean(cos)), float(np.min(cos))
        res.float_tokens, _ = R.gpt2_generate(self.qm.weights, ids, gen) if gen else ([], None)

    # -- BERT -------------------------------------------------------------------------------------------
    def encode(self, ids, check: bool = True) -> RunResult:
        cfg, qm = self.cfg, self.qm
        ids = [int(t) for t in ids]
        if len(ids) != self.rows:
            raise ModelError(f"this accelerator was generated for sequences of {self.rows} tokens, got {len(ids)}")
        res = RunResult(cfg.name, f"{qm.qcfg.name} {qm.qcfg.act}", self.target, ids)
        mod = self.module(self.prefill)
        res.times["build_s"] = mod.build_s
        res.bit_exact = True if check else None
        start = time.perf_counter()
        h = R.bert_embed(qm.weights, ids)
        with Progress(f"{cfg.name} on the {self.target}", total=cfg.layers, unit="layer") as bar:
            for i in range(cfg.layers):
                h_in = h
                h = np.array(mod(layer_arguments(self.prefill, qm, i, h_in, words=mod.words)))
                if check:
                    self._check(res, "encoder", i, 0, h, q_bert_layer(qm, i, h_in))
                bar.update()
        res.times["run_s"] = time.perf_counter() - start
        res.times["design_s"], res.tokens_moved = mod.run_s, mod.tokens
        res.output, res.pooler = h, R.bert_pooler(qm.weights, h)
        fh, _ = R.bert_forward(qm.weights, ids)
        res.max_abs_error = float(np.abs(h - fh).max())
        cos = [cosine(a, b) for a, b in zip(h, fh)]
        res.cosine, res.cosine_min = float(np.mean(cos)), float(np.min(cos))
        return res
