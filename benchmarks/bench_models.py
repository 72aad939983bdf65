"""The whole model on the FIFO simulator against the numpy float32 reference, side by side in one run.

    python benchmarks/bench_models.py                      # gpt2-medium, W4A8, prefill 32 + decode 32
    python benchmarks/bench_models.py --config gpt2 --quant w8a8

Times: building the two layer designs for the simulator (JIT of every process, once per model), the
simulated run (prefill of the prompt, then greedy decode: every layer of every step on the simulator, the
host's embedding and LM head included), and the float32 numpy reference doing the same work (prefill, then
decode with its KV cache). The machine's load average is printed with them: on a shared machine the wall
times move with it, so each phase also prints the CPU time the process spent in it (all its threads: the
simulator runs in a helper thread, numpy's BLAS may use both cores).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from models import reference as R
from models.accelerator import Accelerator
from models.config import load_config
from models.quant import parse_quant, quantize_model
from models.weights import random_weights


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="gpt2-medium")
    p.add_argument("--quant", default="w4a8")
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--gen", type=int, default=32)
    a = p.parse_args()
    cfg = load_config(a.config)
    w = random_weights(cfg, 0)
    ids = list(np.random.default_rng(1).integers(0, cfg.vocab, a.prompt))
    load0 = os.getloadavg()[0]

    start, cpu = time.perf_counter(), time.process_time()
    _, ref_logits = R.gpt2_generate(w, ids, a.gen)
    t_ref, c_ref = time.perf_counter() - start, time.process_time() - cpu

    start, cpu = time.perf_counter(), time.process_time()
    qm = quantize_model(w, parse_quant(a.quant))
    acc = Accelerator(qm, a.prompt, a.gen)
    t_quant, c_quant = time.perf_counter() - start, time.process_time() - cpu
    for design in acc.designs:  # build first, so that the CPU time of the run is the run's alone
        acc.module(design)
    c_build = time.process_time() - cpu - c_quant
    cpu = time.process_time()
    res = acc.generate(ids, a.gen, check=False)
    c_run = time.process_time() - cpu
    t_build, t_run = res.times["build_s"], res.times["run_s"]
    load1 = os.getloadavg()[0]
    print(f"{cfg.name} {qm.qcfg.name}: prefill {a.prompt} + decode {a.gen} "
          f"({acc.prefill.rows}-row prefill design, {acc.lmax}-row cache)          wall        CPU")
    print(f"  numpy float32 reference : {t_ref:8.1f} s {c_ref:8.1f} s")
    print(f"  simulator run           : {t_run:8.1f} s {c_run:8.1f} s   ({t_run / t_ref:.1f}x the reference's "
          f"wall, {c_run / c_ref:.1f}x its CPU; {res.tokens_moved / 1e6:.1f} M stream tokens, layer designs "
          f"{res.times['design_s']:.1f} s)")
    print(f"  simulator build (JIT)   : {t_build:8.1f} s {c_build:8.1f} s")
    print(f"  quantisation + designs  : {t_quant:8.1f} s {c_quant:8.1f} s")
    print(f"  simulator total         : {t_build + t_run + t_quant:8.1f} s {c_build + c_run + c_quant:8.1f} s")
    print(f"  logits vs float32       : cosine {res.cosine:.6f} (min {res.cosine_min:.6f}), max |err| "
          f"{res.max_abs_error:.4g}")
    print(f"  load average            : {load0:.1f} at the start, {load1:.1f} at the end (2 cores)")
    del ref_logits


if __name__ == "__main__":
    main()
