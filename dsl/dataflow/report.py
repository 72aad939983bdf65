"""What the simulator tells users: deadlock reports, the depths that avoid them, FIFO statistics."""
from __future__ import annotations

import os
import time

import numpy as np

UNBOUNDED = 1 << 20
SUGGEST_BUDGET_S = 1.0
SUGGEST_MAX_RUNS = 48


class StreamWarning(UserWarning):
    """Tokens were left in a stream at the end of a simulation."""


def _where(loc) -> str:
    return f"{os.path.basename(loc.file)}:{loc.line}" if loc else "?"


def _proc_src(module, proc) -> str:
    src = module.sources[proc.index]
    return f" ({src})" if src else ""


def blocked_lines(module, result) -> list:
    lines = []
    net = module.net
    for proc, info in zip(net.processes, result.procs):
        if info["state"] == "blocked":
            fifo = net.fifos[info["fifo"]]
            stat = result.stats[fifo.name]
            _, _, _, loc = module.sites[info["site"]]
            verb = "put into" if info["full"] else "get from"
            state = "full" if info["full"] else "empty"
            lines.append(f"  kernel '{proc.label}'{_proc_src(module, proc)} is blocked at {_where(loc)} waiting to "
                         f"{verb} stream '{fifo.label}' ({state}: depth {stat['depth']}, occupancy "
                         f"{stat['left']}, declared at {_where(fifo.loc)})")
        elif info["state"] == "waiting":
            waits = ", ".join(net.processes[d].label for d in proc.deps
                              if result.procs[d]["state"] != "done")
            lines.append(f"  kernel '{proc.label}' has not started: it waits for {waits} to finish "
                         "(they share a buffer that is not a stream)")
    return lines


def blocked_records(module, result) -> list:
    """The deadlock as data (``DeadlockError.blocked``): one record per unfinished kernel instance, with
    ``kernel``, ``state`` ("full": blocked on a put, "empty": on a get, "waiting": not started), ``stream``,
    ``depth``, ``occupancy`` and ``line`` (the Python line of the access)."""
    records = []
    net = module.net
    for proc, info in zip(net.processes, result.procs):
        if info["state"] == "blocked":
            fifo = net.fifos[info["fifo"]]
            stat = result.stats[fifo.name]
            records.append({"kernel": proc.label, "state": "full" if info["full"] else "empty",
                            "stream": fifo.label, "depth": stat["depth"], "occupancy": stat["left"],
                            "line": _where(module.sites[info["site"]][3])})
        elif info["state"] == "waiting":
            records.append({"kernel": proc.label, "state": "waiting", "stream": None, "depth": None,
                            "occupancy": None, "line": None,
                            "waits_for": [net.processes[d].label for d in proc.deps
                                          if result.procs[d]["state"] != "done"]})
    return records


def deadlock_message(module, result, suggestion) -> str:
    done = sum(1 for p in result.procs if p["state"] == "done")
    head = (f"deadlock in '{module.name}': every live kernel instance is blocked "
            f"({done} of {len(result.procs)} finished)")
    parts = [head, *blocked_lines(module, result)]
    if suggestion:
        depths = ", ".join(f"'{module.net_label(name)}' >= {d}" for name, d in suggestion.items())
        parts.append(f"  minimal stream depths that avoid this deadlock: {depths}")
    elif any(p["state"] == "waiting" for p in result.procs):
        parts.append("  no larger FIFO depth avoids it: a kernel cannot start before one that waits for its "
                     "tokens finishes; stream the shared buffer (s.to) or move the stream access")
    else:
        parts.append("  no larger FIFO depth avoids it: the kernels disagree on the order or number of tokens")
    return "\n".join(parts)


def _full_streams(module, result) -> set:
    return {module.net.fifos[i["fifo"]].name for i in result.procs if i["state"] == "blocked" and i["full"]}


def suggest_depths(module, storage, outputs, result) -> dict:
    """Minimal depths of the streams found full in the deadlock that let the design complete (re-simulating
    on copies of the inputs), or {} when widening them does not help."""
    deadline = time.perf_counter() + SUGGEST_BUDGET_S
    runs = [0]

    def trial(depths):
        runs[0] += 1
        values = [np.copy(v) for v in storage] + [np.zeros_like(o) for o in outputs]
        return module.run(values, depths)

    depths = dict(module.depths)
    widened = set()
    current = result
    for _ in range(8):
        full = _full_streams(module, current) - widened
        if not full:
            return {}
        widened |= full
        depths.update({n: UNBOUNDED for n in full})
        current = trial(depths)
        if current.status == 0:
            break
    else:
        return {}
    if current.status != 0:
        return {}
    need = {n: max(module.depths[n] + 1, current.stats[n]["max_occupancy"]) for n in widened}
    depths.update(need)
    for name in sorted(widened):
        lo, hi = module.depths[name] + 1, need[name]
        while lo < hi and runs[0] < SUGGEST_MAX_RUNS and time.perf_counter() < deadline:
            mid = (lo + hi) // 2
            if trial({**depths, name: mid}).status == 0:
                hi = mid
            else:
                lo = mid + 1
        depths[name] = hi
        need[name] = hi
    return need


def stats_table(stats: dict) -> str:
    rows = [("stream", "depth", "max occupancy", "tokens")]
    rows += [(s["label"], str(s["depth"]), str(s["max_occupancy"]), str(s["tokens"])) for s in stats.values()]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


class StreamStats(str):
    """``module.report()``: the per-stream table as text (``print`` it); a table in Jupyter. ``.stats`` holds
    the figures: stream label -> depth, max_occupancy, tokens, left. The ``repr`` stays short on big designs."""

    REPR_ROWS = 20

    def __new__(cls, stats: dict, design: str = ""):
        obj = super().__new__(cls, stats_table(stats) if stats else f"no run of '{design}' yet: call it first")
        obj.stats = {s["label"]: dict(s) for s in stats.values()}
        obj.design = design
        return obj

    def __repr__(self):
        lines = str(self).splitlines()
        if len(lines) <= self.REPR_ROWS + 1:
            return str(self)
        return "\n".join(lines[:self.REPR_ROWS + 1] + [f"... {len(lines) - self.REPR_ROWS - 1} more streams "
                                                        "(print() shows all)"])

    def _repr_html_(self) -> str:
        from ..notebook import stats_html

        return stats_html(self.stats, self.design)
