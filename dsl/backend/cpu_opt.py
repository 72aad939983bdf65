"""CPU-only loop optimisations applied to the JIT's private copy of a module (never to the schedule)."""
from __future__ import annotations


def optimize_for_cpu(module) -> None:
    """Placeholder until the loop-order pass lands."""
    return None
