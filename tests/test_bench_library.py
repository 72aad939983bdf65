"""benchmarks/bench_library.py runs (a smoke run at small sizes; the benchmark's figures are its own
output, never asserted here)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_library.py"), *argv],
                          capture_output=True, text=True, env=env, timeout=600)


def test_one_kernel_with_a_streaming_form_runs_on_cpu_sim_and_csim_bit_exact():
    proc = _bench("--only", "gelu", "--quick", "--repeat", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    header, columns, row = proc.stdout.splitlines()[:3]
    assert "load average" in header and "csim instantiation" in columns
    assert row.startswith("gelu ") and "float32,8,3072" in row and row.endswith("| yes")


def test_an_unknown_kernel_is_refused_with_the_known_names():
    proc = _bench("--only", "gelu,no_such_kernel", "--quick")
    assert proc.returncode == 2 and "unknown kernel(s) no_such_kernel" in proc.stderr
    assert "softmax" in proc.stderr
