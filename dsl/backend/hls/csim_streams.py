"""What csim of a dataflow design reports, read back from the lines its ``hls_stream.h`` (``shims/``)
prints to stderr: ``DSL_DEADLOCK ...`` (one per blocked process, then exit ``DEADLOCK_EXIT``) becomes a
``dsl.DeadlockError`` worded like the simulator's; ``DSL_STREAM ...`` gives per-stream statistics, and
tokens left in a stream are a ``StreamWarning``."""
from __future__ import annotations

import re
import warnings

from ...dataflow.report import StreamWarning
from ...errors import DeadlockError

DEADLOCK_EXIT = 86
_FIELD = re.compile(r"(\w+)=(\"[^\"]*\"|\S+(?: \S+)*?)(?= \w+=|$)")


def parse_lines(stderr: str, tag: str) -> list:
    """Key/value records of the stderr lines starting with ``tag`` (values may contain spaces: 'fa[0, 1]')."""
    return [dict(_FIELD.findall(line[len(tag) + 1:])) for line in stderr.splitlines() if line.startswith(tag + " ")]


def deadlock_error(name: str, stderr: str, sources: dict | None = None) -> DeadlockError:
    """``sources`` maps a C function name to the Python file:line of its kernel."""
    lines = []
    sources = sources or {}
    for r in parse_lines(stderr, "DSL_DEADLOCK"):
        where = sources.get(r["process"])
        who = f"'{r['process']}'" + (f" ({where})" if where else "")
        if r["state"] == "waiting":
            lines.append(f"  kernel {who} has not started: it waits for '{r['stream'][6:]}' to "
                         "finish (they share a buffer that is not a stream)")
            continue
        verb = "put into" if r["state"] == "full" else "get from"
        lines.append(f"  kernel {who} is blocked waiting to {verb} stream '{r['stream']}' "
                     f"({r['state']}: depth {r['depth']}, occupancy {r['occupancy']})")
    head = f"deadlock in csim of '{name}': every live process of the dataflow region is blocked"
    err = DeadlockError("\n".join([head, *lines]))
    err.design, err.blocked, err.stats = name, blocked_records(stderr, sources), {}
    return err


def blocked_records(stderr: str, sources: dict) -> list:
    """The deadlock as data, in the form of the simulator's ``DeadlockError.blocked``."""
    records = []
    for r in parse_lines(stderr, "DSL_DEADLOCK"):
        if r["state"] == "waiting":
            records.append({"kernel": r["process"], "state": "waiting", "stream": None, "depth": None,
                            "occupancy": None, "line": sources.get(r["process"]), "waits_for": [r["stream"][6:]]})
        else:
            records.append({"kernel": r["process"], "state": r["state"], "stream": r["stream"],
                            "depth": int(r["depth"]), "occupancy": int(r["occupancy"]),
                            "line": sources.get(r["process"])})
    return records


def stream_stats(name: str, stderr: str) -> dict:
    """Per stream: depth, maximum occupancy, tokens written, tokens left (over every run of its region);
    warns about leftovers."""
    stats = {}
    for r in parse_lines(stderr, "DSL_STREAM"):
        run = {"label": r["stream"], "depth": int(r["depth"]), "max_occupancy": int(r["max"]),
               "tokens": int(r["tokens"]), "left": int(r["left"])}
        if run["left"]:
            warnings.warn(StreamWarning(f"stream '{run['label']}' holds {run['left']} token(s) at the end of the "
                                        f"csim of '{name}' (written {run['tokens']}, read "
                                        f"{run['tokens'] - run['left']})"), stacklevel=4)
        seen = stats.get(run["label"])
        if seen is not None:  # the same stream again (its region ran again): totals over the run
            run = {**run, "max_occupancy": max(run["max_occupancy"], seen["max_occupancy"]),
                   "tokens": run["tokens"] + seen["tokens"], "left": run["left"] + seen["left"]}
        stats[run["label"]] = run
    return stats
