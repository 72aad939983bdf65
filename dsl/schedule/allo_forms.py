"""Allo's spellings of primitive arguments, accepted beside ours so that an Allo schedule runs unchanged:
``s.split(axis="i", factor=4)``, ``s.partition(target=s.A, partition_type=dsl.Partition.Cyclic, ...)``,
``s.compute_at(from_loop=..., target_loop=...)``, ``s.to(target=..., dst=...)``, ``s.unfold(band_name=...)``,
and Allo's integer partition kinds (0 complete, 1 block, 2 cyclic). The recorded steps use our names.
"""
from __future__ import annotations

import functools

from ..errors import ScheduleError, user_facing

# primitive -> {Allo keyword: our parameter}
KEYWORDS = {
    "split": {"axis": "loop"}, "unroll": {"axis": "loop"}, "pipeline": {"axis": "loop", "ii": "initiation_interval"},
    "parallel": {"axis": "loop"},
    "partition": {"target": "buffer", "partition_type": "kind"},
    "reshape": {"target": "buffer"},
    "buffer_at": {"target": "buffer", "axis": "loop"},
    "reuse_at": {"target": "buffer", "axis": "loop"},
    "compute_at": {"from_loop": "producer_loop", "target_loop": "consumer_loop"},
    "to": {"target": "buffer", "dst": "consumer"},
    "dataflow": {"axis": "target"},
    "inline": {"axis": "func"},
    "unfold": {"band_name": "band"},
}
PARTITION_KINDS = {0: "complete", 1: "block", 2: "cyclic"}  # Allo's Partition.Complete / Block / Cyclic


def _translate(name, kwargs):
    out, given = {}, {}
    for key, value in kwargs.items():
        ours = KEYWORDS.get(name, {}).get(key, key)
        if ours in out:
            raise ScheduleError(f"{name}: '{given[ours]}' and '{key}' name the same argument; give one")
        out[ours], given[ours] = value, key
    return out


def _partition_kind(args, kwargs):
    if "kind" in kwargs and _is_int(kwargs["kind"]):
        kwargs["kind"] = _kind(kwargs["kind"])
    if len(args) >= 2 and _is_int(args[1]):
        args = (args[0], _kind(args[1])) + tuple(args[2:])
    return args, kwargs


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _kind(v):
    if v not in PARTITION_KINDS:
        raise ScheduleError(f"partition: partition_type {v} is not one of Allo's kinds 0 (complete), 1 (block), "
                            "2 (cyclic)")
    return PARTITION_KINDS[v]


def install(schedule_cls):
    for name in KEYWORDS:
        method = getattr(schedule_cls, name, None)
        if method is None:
            continue
        setattr(schedule_cls, name, _wrap(name, method))
    schedule_cls.top_func_name = property(lambda self: self.top, doc="Allo's name for ``s.top``")
    from ..allo_names import SCHEDULE_NOT_PROVIDED

    for name, why in SCHEDULE_NOT_PROVIDED.items():
        setattr(schedule_cls, name, _not_provided(name, why))


def _not_provided(name, why):
    def refuse(self, *args, **kwargs):
        raise ScheduleError(f"s.{name} (an Allo primitive) is not provided: {why}")

    refuse.__name__ = name
    return user_facing(refuse)


def _wrap(name, method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        kwargs = _translate(name, kwargs)
        if name == "partition":
            args, kwargs = _partition_kind(args, kwargs)
        return method(self, *args, **kwargs)

    return user_facing(call)
