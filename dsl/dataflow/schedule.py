"""The Schedule of a ``dsl.region``: an ordinary Schedule whose default build target is the simulator."""
from __future__ import annotations

from ..schedule import Schedule


class RegionSchedule(Schedule):
    def build(self, target: str = "sim", **options):
        from ..build import build

        return build(self, target=target, **options)
