"""``python -m dsl.library``: the library's kernels from the command line.

    python -m dsl.library list                       # every kernel, its BERT-base instantiation
    python -m dsl.library hls softmax                # the scheduled kernel's HLS C++ at BERT-base sizes
    python -m dsl.library hls packed_gemm --small    # ... at the small (csim) sizes
    python -m dsl.library schedules                  # rewrite schedules/library/*.yaml

In the spirit of Allo's ``examples/transformer_hls.py``: each kernel is customised, its predefined schedule
applied, and the Vitis HLS code printed.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import DSLError


def main(argv=None) -> int:
    from . import registry, schedules

    parser = argparse.ArgumentParser(prog="python -m dsl.library", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the kernels")
    hls = sub.add_parser("hls", help="print a kernel's HLS C++")
    hls.add_argument("kernel", help="kernel name (see `list`)")
    hls.add_argument("--small", action="store_true", help="the small (csim) sizes instead of BERT-base")
    sub.add_parser("schedules", help="rewrite schedules/library/*.yaml")
    args = parser.parse_args(argv)
    if args.command == "list":
        for e in registry.KERNELS:
            print(f"{e.name:30s} {e.kernel.__module__.rsplit('.', 1)[-1]}.{e.kernel.__name__}"
                  f"[{', '.join(map(repr, e.bert_base))}]")
        return 0
    if args.command == "schedules":
        for path in schedules.write_all():
            print(path)
        return 0
    entry = registry.BY_NAME.get(args.kernel)
    if entry is None:
        print(f"error: unknown kernel {args.kernel!r}; kernels: {', '.join(registry.BY_NAME)}", file=sys.stderr)
        return 2
    import dsl

    try:
        s = schedules.scheduled(entry.kernel, entry.small if args.small else entry.bert_base, entry.schedule)
        print(dsl.build(s, target="vhls"))
    except DSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
