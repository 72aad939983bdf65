"""The CPU call's argument marshalling, built once per module and thread and reused by every call.

A compiled kernel takes one array of pointers: for each buffer argument a pointer to a cell holding the
address of its memref descriptor (two data pointers, offset, shape, strides), for each scalar a pointer to
its bytes, then one slot per scalar result. Building that with ctypes (a descriptor struct, two pointer
objects and the array per call) cost about as much as a memory-bound kernel at BERT-base sizes moves
data (``kv_read``: 1.5 MB in about 0.1 ms). Here the descriptors (whose shapes are the signature's), the
cells, the scalar and result slots and the pointer array are made once; a call writes only each buffer's
data address into its descriptor and each scalar's value into its slot.

Used only for calls that run in the caller's thread (``timeout`` None or a kernel known to be quick) and
without bounds checks: a call that may be stopped half-way, whose kernel can outlive it, keeps its own
marshalling (``llvm.LLVMModule.__call__``). Integers wider than 64 bits, whose storage is converted to byte
rows, keep it too. One ``Marshal`` per thread, so calls from several threads never share one.
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np


class Marshal:
    """The argument array of ``sig``'s kernel and what it points to."""

    def __init__(self, sig, descriptor, size, scalar_value):
        self.scalar_value = scalar_value
        self.descriptors = []   # per argument: its descriptor (None for a scalar)
        self.slots = []         # per argument: its scalar's one-element array (None for a buffer)
        keep, addresses = [], []
        for spec in sig.args:
            if spec.shape is None:
                slot = np.zeros(1, dtype=np.dtype(_scalar_carrier(spec)))
                self.descriptors.append(None)
                self.slots.append(slot)
                addresses.append(slot.__array_interface__["data"][0])
            else:
                desc = descriptor(np.zeros(1, dtype=np.uint8), spec.shape)   # (its data pointers: per call)
                cell = ctypes.pointer(desc)
                keep += [desc, cell]
                self.descriptors.append(desc)
                self.slots.append(None)
                addresses.append(ctypes.addressof(cell))
        self.results = [(t, np.zeros(max(8, size(t)), dtype=np.uint8)) for t in sig.results]
        for t, slot in self.results:   # a result comes back through a rank-1 descriptor of its slot
            desc = descriptor(slot, (1,))
            cell = ctypes.pointer(desc)
            keep += [desc, cell]
            addresses.append(ctypes.addressof(cell))
        self.keep = keep
        self.argv = (ctypes.c_void_p * len(addresses))(*addresses)

    def run(self, entry, arrays) -> list:
        """Point the descriptors at ``arrays`` (the storage of every argument, C-contiguous, in order),
        run ``entry`` and return the scalar results."""
        for desc, slot, arr in zip(self.descriptors, self.slots, arrays):
            if desc is None:
                slot[0] = arr.reshape(-1)[0]
            else:
                ptr = arr.__array_interface__["data"][0]
                desc.allocated = ptr
                desc.aligned = ptr
        entry(self.argv)
        return [self.scalar_value(t, slot.tobytes()) for t, slot in self.results]


def _scalar_carrier(spec):
    from .llvm import _carrier

    return _carrier(spec)


def eligible(sig) -> bool:
    """Whether every argument's storage is a plain numpy array (no integer wider than 64 bits)."""
    from .llvm import _carrier

    return all(_carrier(spec) is not object for spec in sig.args)


def fits(marshal: Marshal, arrays) -> bool:
    """Whether ``arrays`` can go through ``marshal`` as they are: buffers C-contiguous, scalars of their
    slot's dtype (else the call marshals its own way)."""
    for slot, arr in zip(marshal.slots, arrays):
        if slot is None:
            if not arr.flags.c_contiguous:
                return False
        elif arr.dtype != slot.dtype:
            return False
    return True


class PerThread:
    """A module's ``Marshal`` for each calling thread, made on the thread's first call."""

    def __init__(self, make):
        self.make, self.local = make, threading.local()

    def get(self) -> Marshal:
        marshal = getattr(self.local, "marshal", None)
        if marshal is None:
            marshal = self.local.marshal = self.make()
        return marshal
