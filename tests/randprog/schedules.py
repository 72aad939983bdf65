"""Random schedules: primitives applied to a random kernel through the public API. A primitive may refuse
(a ScheduleError, the schedule unchanged); anything else it raises is a bug. A schedule never changes what
the kernel computes, so the scheduled module must agree with the plain-Python run."""
from __future__ import annotations

import random

import dsl


def _loops(s):
    tree = s.get_loops()
    return [(band, name, handle.path) for band, loops in tree.items() for name, handle in loops.items()]


def _tensors(s, program):
    names = [n for n, t in program.params if isinstance(t, dsl.TensorType)]
    names += [line.split(":")[0].strip() for line in program.source.splitlines()
              if line.startswith(("    R", "    L")) and ":" in line]
    return [(n, getattr(s, n)) for n in names if hasattr(s, n)]


def _split(rng, s, program):
    _, _, path = rng.choice(_loops(s))
    s.split(path, factor=rng.choice([2, 3, 4]))


def _reorder(rng, s, program):
    bands = {}
    for band, _, path in _loops(s):
        bands.setdefault(band, []).append(path)
    band = rng.choice([b for b in bands.values() if len(b) > 1] or [None])
    if band is not None:
        order = list(band)
        rng.shuffle(order)
        s.reorder(*order)


def _fuse(rng, s, program):
    bands = [paths for paths in _band_paths(s) if len(paths) > 1]
    if bands:
        paths = rng.choice(bands)
        start = rng.randrange(len(paths) - 1)
        s.fuse(*paths[start:start + 2])


def _band_paths(s):
    bands = {}
    for band, _, path in _loops(s):
        bands.setdefault(band, []).append(path)
    return list(bands.values())


def _unroll(rng, s, program):
    _, _, path = rng.choice(_loops(s))
    s.unroll(path, factor=rng.choice([0, 2]))


def _pipeline(rng, s, program):
    _, _, path = rng.choice(_loops(s))
    s.pipeline(path)


def _partition(rng, s, program):
    tensors = _tensors(s, program)
    if tensors:
        name, handle = rng.choice(tensors)
        dim = rng.randrange(1, len(handle.shape) + 1)
        kind = rng.choice([dsl.Partition.Cyclic, dsl.Partition.Block, dsl.Partition.Complete])
        s.partition(handle, kind, dim=dim, factor=2)


def _compute_at(rng, s, program):
    loops = _loops(s)
    if len(loops) > 1:
        (_, _, a), (_, _, b) = rng.sample(loops, 2)
        s.compute_at(a, b)


def _buffer_at(rng, s, program):
    tensors, loops = _tensors(s, program), _loops(s)
    if tensors and loops:
        s.buffer_at(rng.choice(tensors)[1], rng.choice(loops)[2])


def _reuse_at(rng, s, program):
    tensors, loops = _tensors(s, program), _loops(s)
    if tensors and loops:
        s.reuse_at(rng.choice(tensors)[1], rng.choice(loops)[2])


def _reshape(rng, s, program):
    tensors = [(n, h) for n, h in _tensors(s, program)  # locals only: the others are the interface
               if n.startswith("L") and (len(h.shape) > 1 or h.shape[0] % 2 == 0)]
    if tensors:
        _, handle = rng.choice(tensors)
        size = 1
        for d in handle.shape:
            size *= d
        s.reshape(handle, [size] if len(handle.shape) > 1 else [2, size // 2])


PRIMITIVES = [_split, _split, _reorder, _fuse, _unroll, _pipeline, _partition, _compute_at, _compute_at,
              _buffer_at, _reuse_at, _reshape]


def random_schedule(rng: random.Random, s, program, steps: int):
    """Apply up to ``steps`` random primitives to ``s``; returns the trace actually applied."""
    for _ in range(steps):
        if not _loops(s):
            break
        try:
            rng.choice(PRIMITIVES)(rng, s, program)
        except dsl.ScheduleError:
            pass
    return list(s.trace)
