"""``python -m tests.randprog --seed 7 --count 500 [--no-csim] [--keep DIR]``: run random programs by hand and
print every one whose CPU or csim result differs from plain Python (with its source, inputs and schedule)."""
import argparse
import sys
import time

from .run import report, run_seed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.randprog")
    p.add_argument("--seed", type=int, nargs="+", default=[0])
    p.add_argument("--count", type=int, default=200, help="programs per seed")
    p.add_argument("--no-csim", action="store_true")
    p.add_argument("--keep", help="keep the generated files in this folder")
    p.add_argument("--no-werror", action="store_true", help="let g++ warnings pass (to see wrong values past them)")
    args = p.parse_args(argv)
    bad = 0
    for seed in args.seed:
        t0 = time.perf_counter()
        cases = run_seed(seed, args.count, not args.no_csim, args.keep and f"{args.keep}/seed{seed}",
                         not args.no_werror)
        failing = [c for c in cases if c.problems]
        bad += len(failing)
        for case in failing:
            print(report(case), "\n")
        print(f"seed {seed}: {len(cases)} programs, {len(failing)} failing, {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
