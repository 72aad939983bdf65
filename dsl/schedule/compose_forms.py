"""The other ways Allo calls ``compose``: several schedules at once (``s.compose([s0, s1])``) and a kernel
function with its library schedule (``s.compose(nn.linear2d, instantiate=[...], id="1")``).

A library kernel names its schedule with ``dsl.register_schedule(kernel, schedule_fn)`` (or as a decorator
on the schedule function); ``schedule_fn(s)`` applies primitives to ``s = dsl.customize(kernel,
instantiate=...)`` and returns it. Either way the recorded step is the usual ``compose`` with the
sub-schedule's steps, so schedule files replay it.
"""
from __future__ import annotations

import inspect

from ..errors import ScheduleError, user_facing

_SCHEDULES: dict = {}  # kernel function -> schedule function


def register_schedule(kernel, schedule_fn=None):
    """Record ``schedule_fn`` as the schedule of library kernel ``kernel`` (``@dsl.register_schedule(k)``
    on the schedule function works too). Returns ``schedule_fn``."""
    if not callable(kernel):
        raise ScheduleError(f"register_schedule: expected a kernel function, got {kernel!r}")

    def record(fn):
        if not callable(fn):
            raise ScheduleError(f"register_schedule: the schedule of {kernel.__name__!r} must be a function of a "
                                f"Schedule, got {fn!r}")
        _SCHEDULES[kernel] = fn
        return fn

    return record if schedule_fn is None else record(schedule_fn)


def library_schedule(kernel, instantiate=None):
    """``dsl.customize(kernel, instantiate)`` with the kernel's registered schedule applied."""
    from ..customize import customize

    fn = _SCHEDULES.get(kernel) or getattr(kernel, "__dsl_schedule__", None)
    if fn is None:
        raise ScheduleError(f"compose: kernel {kernel.__name__!r} has no library schedule",
                            hint="pass a Schedule (dsl.customize(kernel, instantiate=...) and its primitives), or "
                                 "register one with dsl.register_schedule(kernel, schedule_fn)")
    s = customize(kernel, instantiate=instantiate)
    out = fn(s)
    return s if out is None else out


def install(schedule_cls):
    """Wrap the registered ``compose`` primitive so that it also takes a list or a kernel function."""
    primitive = schedule_cls.compose

    def compose(self, sub_schedule, id=None, instantiate=None):
        if isinstance(sub_schedule, (list, tuple)):
            for sub in sub_schedule:
                compose(self, sub, id=id, instantiate=instantiate)
            return None
        if inspect.isfunction(sub_schedule):
            sub_schedule = library_schedule(sub_schedule, instantiate)
        elif instantiate is not None:
            raise ScheduleError("compose: instantiate= goes with a kernel function (s.compose(kernel, "
                                "instantiate=[...])), not with a Schedule")
        return primitive(self, sub_schedule, id=id)

    compose.__name__ = compose.__qualname__ = "compose"
    compose.__doc__ = (primitive.__doc__ or "") + (
        "\n\nAlso ``s.compose([s0, s1])`` (each in turn) and ``s.compose(kernel, instantiate=[...], id=...)`` "
        "(the kernel's library schedule, see dsl.register_schedule).")
    schedule_cls.compose = user_facing(compose)
