"""The Schedule of a ``dsl.region``: an ordinary Schedule whose kernels run concurrently, so ``build``
defaults to the simulator and refuses the sequential CPU path (see ``dsl.build``)."""
from __future__ import annotations

from ..schedule import Schedule


class RegionSchedule(Schedule):
    concurrent_kernels = True
