"""Command line of the design-space exploration.

    python -m dsl.dse gpt2-medium --device u280 --quant w4a8 --out schedules/gpt2-medium-u280/
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ..errors import DSLError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dsl.dse",
                                description="Design-space exploration of a spatial Transformer accelerator.")
    p.add_argument("model", help="model name (python -m dsl.perf --list) or a model .yaml file")
    p.add_argument("--device", default="u280", help="board: u280, u55c, u250")
    p.add_argument("--quant", default="w4a8", help="precision (the explored designs are w4a8)")
    p.add_argument("--out", default=None, help="folder for the schedules and the dsl.perf design file (default "
                   "build/dse/MODEL-DEVICE)")
    p.add_argument("--prompt", type=int, default=32, help="prompt tokens of the request the design is ranked on")
    p.add_argument("--gen", type=int, default=32, help="generated tokens of that request")
    p.add_argument("--executor", default="local",
                   help="local (processes, default), local:N, serial, ray (a local Ray instance) or ray:ADDRESS")
    p.add_argument("--workers", type=int, default=None, help="worker processes of the local executor")
    p.add_argument("--rounds", type=int, default=3, help="rounds of coordinate descent")
    p.add_argument("--budget-s", type=float, default=240.0,
                   help="no new round starts after this many seconds (default 240)")
    p.add_argument("--builder", default=None,
                   help="module whose run_variant(spec) builds and estimates a layer variant (default models.explore)")
    p.add_argument("--kernel-invocation-us", type=float, default=10.0,
                   help="host time of one kernel invocation (XRT start/wait), microseconds")
    p.add_argument("--no-cache", action="store_true",
                   help="do not reuse (or keep) the layer estimates of earlier runs in OUT/.dse-cache.pickle")
    p.add_argument("--arrays", default=None, choices=("shared", "separate"),
                   help="shared: one set of PE arrays serves a decoder's prefill and decode (models.dual; the "
                        "default for decoders); separate: each phase's kernel has its own arrays")
    p.add_argument("--json", action="store_true", help="print the chosen design's figures as JSON")
    return p


def run(argv) -> str:
    from ..qor.design import HostParameters
    from .evaluate import DEFAULT_BUILDER, ExplorationError, make_executor
    from .output import figures, write
    from .search import Explorer, explore

    args = _parser().parse_args(argv)
    if args.out is None:
        args.out = os.path.join("build", "dse", f"{os.path.basename(args.model)}-{args.device}")
    if args.quant.lower() != "w4a8":
        raise ExplorationError(f"the explored layer designs are W4A8 (int4 weights packed two per DSP, int8 "
                               f"activations); --quant {args.quant} is not available")
    for name in ("prompt", "gen", "rounds"):
        if getattr(args, name) < (1 if name != "gen" else 0):
            raise ExplorationError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    from ..perf.data import load_device

    perf_device = load_device(args.device)
    host = HostParameters(kernel_invocation_us=args.kernel_invocation_us, host_link_gbs=perf_device.host_link_gbs)
    executor = make_executor(args.executor, args.workers)
    started = time.time()
    try:
        cache = None if args.no_cache else os.path.join(args.out, ".dse-cache.pickle")
        explorer = _explorer(args, executor, host, cache)
        if args.prompt + args.gen > explorer.model.max_seq:
            raise ExplorationError(f"prompt + gen exceeds {explorer.model.name}'s maximum sequence length "
                                   f"{explorer.model.max_seq}")
        from ..progress import Progress

        with Progress("dse", total=args.rounds, unit="round") as bar:  # silent in a pipe
            def advance(ev):
                bar.update()
                bar.note(f"best {ev.objective:.4g} ms")

            best, history, start = explore(explorer, rounds=args.rounds, progress=advance, budget_s=args.budget_s)
    finally:
        executor.close()
    if not best.feasible:
        raise ExplorationError("no feasible design found: " + "; ".join(best.violations))
    files = write(args.out, explorer, best, start, args.quant, history)
    elapsed = time.time() - started
    if args.json:
        return json.dumps({"figures": figures(best.estimate), "files": files, "seconds": elapsed}, indent=2)
    text = (open(files["report.txt"]).read() + f"\nwrote {len(files)} files into {args.out} in {elapsed:.0f} s "
            f"({explorer.evaluations} designs, executor {executor.name})")
    return text


def _explorer(args, executor, host, cache):
    from ..perf.data import load_model
    from .evaluate import DEFAULT_BUILDER, ExplorationError
    from .search import Explorer
    from .shared import BUILDER, SharedExplorer

    model = load_model(args.model)
    mode = args.arrays or ("shared" if model.is_decoder and args.gen > 0 else "separate")
    if mode == "shared" and not (model.is_decoder and args.gen > 0):
        raise ExplorationError("--arrays shared serves a decoder's two phases; this request has one phase")
    if mode == "shared":
        return SharedExplorer(args.model, args.device, args.prompt, args.gen, executor, host, cache,
                              args.builder or BUILDER)
    return Explorer(args.model, args.device, args.prompt, args.gen, executor, host, cache,
                    args.builder or DEFAULT_BUILDER)


def main(argv=None) -> int:
    try:
        print(run(sys.argv[1:] if argv is None else argv))
    except DSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
