"""Command line of the performance model.

    python -m dsl.perf gpt2-medium --device u280 --quant w4a8 --prompt 128 --gen 128 --gpu a100 --plot out.png
"""
from __future__ import annotations

import argparse
import json
import sys

import yaml

from ..errors import DSLError, PerfModelError
from .data import QUANTS, Calibration, known_devices, known_models, load_design, load_device, load_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dsl.perf",
                                description="Analytical performance model of spatial LLM accelerators.")
    p.add_argument("model", nargs="?", help="model name (see --list) or a model .yaml file")
    p.add_argument("--device", help="FPGA name or .yaml file (default: the design's device, else u280)")
    p.add_argument("--quant", default="w4a8", help=f"weight/activation precision: {', '.join(QUANTS)}")
    p.add_argument("--prompt", type=int, default=128, help="prompt length l (prefill tokens)")
    p.add_argument("--gen", type=int, default=128, help="tokens generated in decode (ignored for encoders)")
    p.add_argument("--batch", type=int, default=1, help="sequences processed together")
    p.add_argument("--gpu", default="a100", help="GPU to compare with, or 'none'")
    p.add_argument("--design", help="evaluate this design file instead of searching")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel devices (p1)")
    p.add_argument("--pp", type=int, default=1, help="pipeline-parallel devices (p2)")
    p.add_argument("--no-packing", action="store_true", help="search without packing weights into memory words")
    p.add_argument("--calibration", help="YAML file overriding calibration parameters")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override one calibration parameter")
    p.add_argument("--plot", help="write latency-vs-length to FILE and latency-vs-M to FILE_m")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--list", action="store_true", help="list devices, models and shipped designs")
    return p


def _number(text: str):
    """A --set value: an int or float when it reads as one ("1e-3" too, which YAML leaves a string), else
    the text itself, so that Calibration reports it as out of range."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _calibration(args) -> Calibration:
    """Defaults, then --calibration FILE.yaml, then each --set; Calibration checks every value's range."""
    changes = {}
    if args.calibration:
        try:
            with open(args.calibration) as f:
                data = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PerfModelError(f"cannot read calibration file: {exc}") from None
        if not isinstance(data, dict):
            raise PerfModelError(f"calibration file {args.calibration} must hold a mapping NAME: VALUE")
        changes.update(data)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise PerfModelError(f"--set takes NAME=VALUE, got {item!r}")
        changes[name.strip()] = _number(value)
    return Calibration().replace(**changes)


def _listing(as_json: bool = False) -> str:
    from .data import DESIGN_DIR

    catalogue = {"fpgas": known_devices("fpga"), "gpus": known_devices("gpu"), "models": known_models(),
                 "designs": sorted(p.stem for p in DESIGN_DIR.glob("*.yaml"))}
    if as_json:
        return json.dumps(catalogue, indent=2)
    return "\n".join([f"FPGAs:   {', '.join(catalogue['fpgas'])}", f"GPUs:    {', '.join(catalogue['gpus'])}",
                      f"models:  {', '.join(catalogue['models'])}", f"designs: {', '.join(catalogue['designs'])}"])


def run(argv) -> str:
    """Parse, evaluate and render; raises DSLError for bad input."""
    from .plots import write_plots
    from .report import evaluate
    from .table import format_result

    args = _parser().parse_args(argv)
    if args.list:
        return _listing(args.json)
    design = load_design(args.design) if args.design else None
    model_name = args.model or (design.model if design else None)
    if not model_name:
        raise PerfModelError("name a model (see --list) or give a --design that names one")
    device_name = args.device or (design.device if design and design.device else "u280")
    model, device = load_model(model_name), load_device(device_name)
    gpu = None if str(args.gpu).lower() == "none" else load_device(args.gpu)
    calib = _calibration(args)
    result = evaluate(model, device, quant=args.quant, prompt=args.prompt, gen=args.gen, batch=args.batch,
                      gpu=gpu, design=design, tp=args.tp, pp=args.pp, calibration=calib,
                      memory_packing=not args.no_packing)
    text = json.dumps(result.to_dict(), indent=2) if args.json else format_result(result)
    level = _design_level(args.design) if args.design else None
    if level and not args.json:
        text += "\n\n" + _side_by_side(result, level)
    if args.plot:
        first, second = write_plots(args.plot, model, device, result.gpu and gpu, result, calib)
        message = f"plots: {first} (latency vs sequence length), {second} (latency vs M)"
        if args.json:
            print(message, file=sys.stderr)
        else:
            text += f"\n\n{message}"
    return text


def _design_level(path) -> dict | None:
    """The design-level figures a design file carries (``python -m dsl.dse`` writes them), if any."""
    from pathlib import Path

    if not Path(str(path)).exists():
        return None
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None
    level = data.get("design_level") if isinstance(data, dict) else None
    return level if isinstance(level, dict) else None


def _side_by_side(result, level: dict) -> str:
    """The first-order model next to the design-level estimate of the same accelerator."""
    rows = [("prefill ms", result.prefill_ms, level.get("prefill_ms")),
            ("time to first token ms", result.ttft_ms, level.get("ttft_ms")),
            ("decode ms/token", result.decode_ms_per_token, level.get("decode_ms_per_token")),
            ("decode tokens/s", result.decode_tokens_per_s, level.get("decode_tokens_per_s"))]

    def fmt(v):
        return "-" if v is None else f"{v:,.4g}"

    lines = ["first-order model (the paper's equations) vs design-level estimate (dsl.qor, at the design's own "
             "request size)"]
    lines += [f"  {name:<24}{fmt(a):>14}{fmt(b):>14}" for name, a, b in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    try:
        print(run(sys.argv[1:] if argv is None else argv))
    except DSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
