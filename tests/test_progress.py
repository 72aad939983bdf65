"""Progress lines: drawn on a terminal for work longer than the delay, nothing extra in a pipe.

The end-to-end tests run a simulation and a csim call in a child Python, once on a pseudo-terminal and
once with stdout/stderr piped. ``DSL_PROGRESS_DELAY=0`` stands for "a run longer than the delay" so that the
tests stay short; the delay itself is tested on ``Progress`` directly."""
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dsl
from dsl.progress import Progress, enabled, track

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import numpy as np, dsl
from tests.dataflow_designs import systolic_gemm, producer_consumer
sim = dsl.build(systolic_gemm(16, 16, 16, 2, 2))
A = np.ones((16, 16), np.int8); C = np.zeros((16, 16), np.int32)
sim(A, A, C)
csim = dsl.build(producer_consumer(16), target="vitis_hls", mode="csim")
B = np.zeros(16, np.int32); csim(np.arange(16, dtype=np.int32), B)
print("result", int(C.sum()), int(B.sum()))
"""
EXPECTED = "result 4096 272"  # 16 * 16 * 16 ones; sum of (i + 1) * 2 for i < 16


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSL_PROGRESS")}
    env.update(extra, PYTHONPATH=str(ROOT))
    return env


def _run_on_pty(env) -> str:
    """Run CHILD with stdin/stdout/stderr on a pseudo-terminal; returns everything it wrote."""
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=secondary, stdout=secondary, stderr=secondary,
                            env=env, cwd=ROOT, close_fds=True)
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(main)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_shows_progress_of_simulation_and_csim():
    out = _run_on_pty(_env(DSL_PROGRESS_DELAY="0"))
    assert EXPECTED in out
    assert "sim gemm" in out and "tok" in out, out
    assert "csim pc" in out, out
    assert "\r" in out  # the line is redrawn in place, then erased


def test_a_pipe_gets_nothing_extra():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT,
                          env=_env(DSL_PROGRESS_DELAY="0"), timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED + "\n"
    assert proc.stderr == ""


def test_dsl_progress_0_silences_a_terminal():
    out = _run_on_pty(_env(DSL_PROGRESS="0", DSL_PROGRESS_DELAY="0"))
    assert out.strip() == EXPECTED


class _Tty:
    """A stream that says it is a terminal and records what is drawn."""

    def __init__(self):
        self.text = []

    def isatty(self):
        return True

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass


def test_short_work_draws_nothing_and_long_work_draws_a_line(monkeypatch):
    monkeypatch.delenv("DSL_PROGRESS", raising=False)
    tty = _Tty()
    with Progress("quick", total=3, file=tty, delay_s=5.0) as bar:
        bar.update(3)
    assert not bar.shown and tty.text == []
    with Progress("slow", total=3, file=tty, delay_s=0.05) as bar:
        bar.update(2)
        bar.note("two done")
        time.sleep(0.5)
    assert bar.shown
    drawn = "".join(tty.text)
    assert "slow" in drawn and "2/3" in drawn and "two done" in drawn


def test_work_of_unknown_length_shows_its_name_and_elapsed_time_only(monkeypatch):
    monkeypatch.delenv("DSL_PROGRESS", raising=False)
    tty = _Tty()
    with Progress("csim: compiling with g++", file=tty, delay_s=0.0) as bar:
        for _ in range(1000):  # until the helper thread drew the line (it starts at once: delay 0)
            if bar.shown:
                break
            time.sleep(0.01)
        bar.close()
    drawn = "".join(tty.text)
    assert "csim: compiling with g++: 00:0" in drawn, drawn
    assert "it/s" not in drawn and "0.00it" not in drawn


def test_switches(monkeypatch):
    tty = _Tty()
    monkeypatch.delenv("DSL_PROGRESS", raising=False)
    assert enabled(stream=tty) and not enabled(stream=open(os.devnull, "w"))
    monkeypatch.setenv("DSL_PROGRESS", "0")
    assert not enabled(stream=tty) and enabled(True, stream=tty)
    monkeypatch.setenv("DSL_PROGRESS", "1")
    assert enabled(stream=open(os.devnull, "w"))
    monkeypatch.setenv("DSL_PROGRESS", "maybe")
    with pytest.raises(dsl.DSLError, match="DSL_PROGRESS=0 .* or DSL_PROGRESS=1"):
        enabled(stream=tty)
    monkeypatch.delenv("DSL_PROGRESS")
    monkeypatch.setenv("DSL_PROGRESS_DELAY", "-1")
    with pytest.raises(dsl.DSLError, match="DSL_PROGRESS_DELAY"):
        Progress("x")


def test_track_counts_every_item(monkeypatch):
    monkeypatch.delenv("DSL_PROGRESS", raising=False)
    assert list(track(range(5), "loop", show=False)) == [0, 1, 2, 3, 4]
