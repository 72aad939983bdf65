"""Random kernels and random schedules, run as plain Python under the README's typing rules (our own
interpreter, ``tests/randprog/interp.py``), on the CPU backend and in csim (one g++ run per chunk): every
result must agree bit for bit. Fixed seeds, so a failure reproduces; more seeds by hand with
``python -m tests.randprog --seed 1 2 3 --count 500``.

CI runs 240 programs: all of them on the CPU, every second one also in csim (g++ on the ap_int code costs
about a second of CPU per program even batched; the CPU path a tenth of that)."""
import pytest

from .randprog.run import prepare, report, run_cpu, run_csim

SEED = 20250
CHUNKS = 3
PROGRAMS = 80  # per chunk
CSIM_EVERY = 2


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_programs_agree_with_python(chunk, tmp_path):
    cases = prepare(SEED + chunk, PROGRAMS, tmp_path)
    assert len(cases) >= 0.8 * PROGRAMS, "most generated programs must have a defined plain-Python result"
    assert sum(bool(c.trace) for c in cases) >= 0.3 * len(cases), "schedules must be applied to many programs"
    run_cpu(cases)
    in_csim = cases[::CSIM_EVERY]
    run_csim(in_csim, tmp_path)
    assert all(c.cpu is not None or c.problems or c.program.in_place for c in cases)
    assert all(c.csim is not None or c.problems or c.program.in_place for c in in_csim)
    failing = [c for c in cases if c.problems]
    assert not failing, f"{len(failing)} of {len(cases)} programs disagree:\n\n" + "\n\n".join(
        report(c) for c in failing[:5])
