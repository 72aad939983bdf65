"""``python -m models.gpt2`` / ``python -m models.bert``: generate the accelerator for a model, run it on the
simulator (or in csim), check it against the references, predict its U280 latency, write its Vitis project."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from dsl.errors import DSLError

from .config import load_config
from .errors import ModelError

DEFAULT_CONFIG = {"gpt2": "gpt2-tiny", "bert": "bert-tiny"}


def parser(kind: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m models.{kind}", description=(
        f"Generate the {kind.upper()} spatial accelerator from dsl.library units, run it on the FIFO simulator "
        "(or in csim), compare it with the quantised (bit-exact) and float32 references, predict its U280 "
        "latency with dsl.perf, and write its Vitis project."))
    p.add_argument("--config", default=DEFAULT_CONFIG[kind],
                   help="preset (gpt2, gpt2-medium, gpt2-tiny, bert-base, bert-large, bert-tiny), a config.json, or "
                        "a local Hugging Face checkpoint folder (its weights are used)")
    p.add_argument("--quant", default="w4a8", help="w4a8 (default) or w8a8")
    p.add_argument("--act", default="per-token", help="activation scales: per-token (default) or per-tensor")
    p.add_argument("--smooth", type=float, default=None, metavar="ALPHA", help="SmoothQuant with this alpha")
    if kind == "gpt2":
        p.add_argument("--prompt", type=int, default=8, metavar="N", help="a random prompt of N tokens (seeded)")
        p.add_argument("--prompt-ids", default=None, metavar="I,J,...", help="the prompt's token ids")
        p.add_argument("--gen", type=int, default=8, metavar="N", help="tokens to generate greedily")
    else:
        p.add_argument("--seq", type=int, default=16, metavar="N", help="a random sequence of N tokens (seeded)")
        p.add_argument("--prompt-ids", default=None, metavar="I,J,...", help="the sequence's token ids")
    p.add_argument("--target", default="sim", choices=("sim", "csim"), help="the simulator (default) or csim")
    p.add_argument("--vitis", default=None, metavar="DIR", help="write the U280 Vitis project into DIR")
    p.add_argument("--no-run", action="store_true", help="generate (and write --vitis) without running")
    p.add_argument("--no-check", action="store_true", help="skip the layer-by-layer quantised reference check")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights and prompts")
    p.add_argument("--clock", type=float, default=None, metavar="MHZ", help="kernel clock (paper: 250 / 245)")
    p.add_argument("--no-estimate", action="store_true",
                   help="skip dsl.estimate of the regions (the cycles per SLR; a few seconds per variant)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--report", default=None, metavar="FILE.html", help="write a dsl.report page of the design")
    return p


def _ids(args, cfg, kind):
    if args.prompt_ids:
        try:
            ids = [int(t) for t in args.prompt_ids.split(",") if t.strip()]
        except ValueError:
            raise ModelError(f"--prompt-ids {args.prompt_ids!r}: give comma-separated integers") from None
        if not ids:
            raise ModelError("--prompt-ids is empty")
    else:
        n = args.prompt if kind == "gpt2" else args.seq
        if n < 1:
            raise ModelError(f"--{'prompt' if kind == 'gpt2' else 'seq'} must be at least 1, got {n}")
        ids = [int(t) for t in np.random.default_rng(args.seed + 1).integers(0, cfg.vocab, n)]
    bad = [t for t in ids if not 0 <= t < cfg.vocab]
    if bad:
        raise ModelError(f"token ids {bad[:5]} are outside the vocabulary of {cfg.name} (0..{cfg.vocab - 1})")
    return ids


def run(kind: str, argv=None, out=None) -> dict:
    from .accelerator import Accelerator
    from .predict import hbm_map, predict
    from .quant import parse_quant, quantize_model
    from .weights import load_weights

    out = out or sys.stdout
    args = parser(kind).parse_args(argv)
    cfg = load_config(args.config)
    if cfg.kind != kind:
        raise ModelError(f"--config {args.config} is a {cfg.kind} model; use python -m models.{cfg.kind}")
    qcfg = parse_quant(args.quant, args.act, args.smooth)
    gen = getattr(args, "gen", 0)
    if gen < 0:
        raise ModelError(f"--gen must be at least 0, got {gen}")
    ids = _ids(args, cfg, kind)
    weights = load_weights(cfg, args.config, args.seed)
    qm = quantize_model(weights, qcfg)
    acc = Accelerator(qm, len(ids), gen, args.target)
    result = {"model": cfg.name, "quant": f"{qcfg.name} {qcfg.act}" + (f" smooth {qcfg.smooth}" if qcfg.smooth else ""),
              "target": args.target, "prompt": ids, "layers": cfg.layers}
    pred = predict(acc, len(ids), max(gen, 1), args.clock)
    result["prediction"] = {k: v for k, v in pred.items() if not k.endswith("result")}
    result["hbm"] = hbm_map(acc.designs)
    run_result = None
    if not args.no_run:
        run_result = acc.generate(ids, gen, not args.no_check) if kind == "gpt2" else acc.encode(ids, not args.no_check)
        result["run"] = run_result.summary()
    result["regions"] = _regions(acc, len(ids), gen, args)
    if args.vitis:
        from .vitis import write_project

        result["vitis"] = str(write_project(acc, args.vitis, clock_mhz=args.clock, prompt=ids))
        result["vitis_seconds"] = acc.vitis_seconds
    if args.report:
        result["report"] = str(_report(acc, pred, run_result, args.report))
    if args.json:
        print(json.dumps(result, indent=2, default=_plain), file=out)
    else:
        print(_text(result, cfg, qcfg), file=out)
    return result


def _regions(acc, prompt: int, gen: int, args) -> dict:
    """Per variant and SLR: dsl.estimate's cycles of one layer pass (decode at the mean context of the run's
    steps), the PE arrays' k-loop counts, and the simulator's stream tokens per layer call (after a run)."""
    from .predict import region_cycles
    from .qor import region_estimate
    from .runner import tokens_by_slr

    out = {}
    for design in acc.designs:
        pos = prompt + max(gen - 2, 0) // 2 if design.variant == "decode" else None
        est = None if args.no_estimate else region_estimate(design, pos, args.clock)
        mod = acc._modules.get(design.variant)
        tokens = tokens_by_slr(mod) if mod is not None else {}
        loops = region_cycles(design, pos + 1 if pos is not None else None)
        out[design.variant] = {
            "context": est["context"] if est else None, "layer_cycles": est["layer"] if est else None,
            "uncounted_loops": est["uncounted"] if est else [],
            **{f"SLR{k}": {"estimate_cycles": est["slr"][k]["cycles"] if est else None,
                           "bottleneck": est["slr"][k]["bottleneck"] if est else None,
                           "pe_k_loops": units, "sim_tokens": tokens.get(k)} for k, units in loops.items()}}
    return out


def _plain(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _text(r: dict, cfg, qcfg) -> str:
    lines = [f"{cfg.name}: {cfg.layers} layers, d {cfg.hidden}, {cfg.heads} heads, FFN {cfg.ffn}; {r['quant']}; "
             f"target {r['target']}"]
    lines.append(f"input ({len(r['prompt'])} tokens): {r['prompt'][:16]}{' ...' if len(r['prompt']) > 16 else ''}")
    run = r.get("run")
    if run:
        if cfg.is_decoder:
            lines.append(f"generated: {run['tokens']}")
            lines.append(f"float32 reference generates: {run['float_tokens']}")
        exact = {True: "bit-exact with the quantised reference (every layer, every step)", None: "not checked",
                 False: f"DIFFERS from the quantised reference: {run['mismatches'][:3]}"}[run["bit_exact"]]
        what = "logits" if cfg.is_decoder else "hidden states"
        lines.append(f"agreement: {exact}")
        lines.append(f"vs float32 reference ({what}): max |error| {run['max_abs_error']:.4g}, cosine similarity mean "
                     f"{run['cosine']:.6f} (min {run['cosine_min']:.6f})")
        t = run["times"]
        lines.append(f"{r['target']}: build {t['build_s']:.1f} s, run {t['run_s']:.2f} s (layer designs "
                     f"{t['design_s']:.2f} s, {run['tokens_moved']} stream tokens)")
    lines.append("cycles per layer pass and SLR: dsl.estimate of the scheduled region | PE-array k loops at II=1 | "
                 "simulator stream tokens per layer call")
    for variant, v in r["regions"].items():
        ctx = v["context"]
        at = f" (context {ctx['n']} keys)" if ctx and variant == "decode" else ""
        total = f", layer {v['layer_cycles']} cycles" if v["layer_cycles"] is not None else ""
        lines.append(f"  {variant}{at}{total}:")
        for slr in sorted(k for k in v if k.startswith("SLR")):
            x = v[slr]
            est = (f"{x['estimate_cycles']} cycles (bottleneck {x['bottleneck']})" if x["estimate_cycles"] is not None
                   else "not estimated")
            k = max(x["pe_k_loops"].values())
            sim = f" | {x['sim_tokens']} tokens" if x["sim_tokens"] is not None else ""
            lines.append(f"    {slr}: {est} | k loops {k} ({', '.join(f'{u} {c}' for u, c in x['pe_k_loops'].items())})"
                         f"{sim}")
        if v["uncounted_loops"]:
            lines.append(f"    (loops counted once, no trip count known: {', '.join(v['uncounted_loops'][:6])})")
    p = r["prediction"]
    dec = ""
    if p.get("decode_ms_per_token"):
        dec = (f", decode {p['decode_ms_per_token']:.3f} ms/token ({p['decode_tokens_per_s']:.1f} tokens/s, "
               f"{p['decode_bound']})")
    lines.append(f"U280 prediction (dsl.perf from the generated design, {p['clock_mhz']:g} MHz): prefill "
                 f"{p['prefill_ms']:.3f} ms ({p['prefill_bound']}), time to first token {p['ttft_ms']:.3f} ms{dec}")
    if p["violated"]:
        lines.append(f"  the design exceeds the U280 in: {', '.join(p['violated'])}")
    if r.get("vitis"):
        lines.append(f"Vitis project: {r['vitis']} (written in {r['vitis_seconds']:.1f} s)")
    if r.get("report"):
        lines.append(f"report: {r['report']}")
    return "\n".join(lines)


def _report(acc, pred, run_result, path):
    import dsl

    mod = acc.module(acc.prefill).module
    placement = {}
    for proc in mod.net.processes:
        line = getattr(proc.loc, "line", None)
        slr = acc.prefill.slr_of_line.get(line)
        if slr is not None:
            placement[proc.label] = f"SLR{slr}"
            placement[proc.callee] = f"SLR{slr}"
    contrib = {"title": f"{acc.cfg.name} layer ({acc.prefill.variant})", "placement": placement,
               "summary": {"model": acc.cfg.name, "quantisation": acc.qm.qcfg.name}}
    if run_result is not None:
        contrib["summary"].update(bit_exact=run_result.bit_exact, cosine=round(run_result.cosine, 6))
    from .config import PERF_MODEL

    perf = pred["result"]
    if acc.cfg.name not in PERF_MODEL:  # not in dsl.perf's catalogue (its plots need one): the figures only
        perf = {"title": "U280 prediction (dsl.perf)", "summary": {
            k: v for k, v in pred.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}}
    return dsl.report(mod, path, also=[contrib, perf])  # a node per unit call (each has its SLR)


def main(kind: str, argv=None) -> int:
    try:
        run(kind, argv)
    except (DSLError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


__all__ = ["main", "run", "parser"]
