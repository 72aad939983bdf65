"""Memories behind the estimator's buffers: what each one is built of, how many accesses a cycle it takes, and
how many block RAMs it costs.

A memref of a function instance is one of: an ``m_axi`` port (an array argument of the top function: one
read and one write channel per bundle, UG1399), a FIFO (``hls::stream``: one read and one write a cycle),
registers (scalars, completely partitioned arrays, arrays only indexed by constants after unrolling), or a RAM
(block RAM, URAM or LUTRAM by size: two ports per bank, partitioning multiplies the banks).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Memory:
    kind: str              # "maxi" | "ram" | "rom" | "reg" | "stream" | "axis"
    name: str              # the user's buffer name
    bits: int
    shape: tuple
    partition: list = field(default_factory=list)  # (kind, dim, factor); dims 1-based, 0 = all
    storage: tuple = ("auto", "auto")
    bundle: str = ""
    channels: float = 1.0  # off-chip channels behind an m_axi bundle
    depth: int = 0         # FIFO depth

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return max(n, 1)

    def label(self) -> str:
        if self.kind == "maxi":
            return f"{self.name} (m_axi bundle {self.bundle})"
        if self.kind in ("stream", "axis"):
            return f"stream {self.name}"
        return self.name

    def factors(self) -> list:
        """(dim 1-based, kind, factor, extent) of each partitioned dimension (``dim=0`` expanded)."""
        out = {}
        for kind, dim, factor in self.partition:
            dims = range(1, len(self.shape) + 1) if dim == 0 else [dim]
            for d in dims:
                if 1 <= d <= len(self.shape):
                    extent = self.shape[d - 1]
                    f = extent if kind == "complete" else min(max(factor, 1), extent)
                    out[d] = (d, kind, f, extent)
        return [out[d] for d in sorted(out)]

    @property
    def banks(self) -> int:
        n = 1
        for _, _, f, _ in self.factors():
            n *= f
        return n

    @property
    def fully_partitioned(self) -> bool:
        return bool(self.shape) and all(kind == "complete" or f >= extent for _, kind, f, extent in self.factors()) \
            and len(self.factors()) == len(self.shape)


# -- bank conflicts ------------------------------------------------------------------------------------
def bank_key(memory: Memory, index: list):
    """Per partitioned dimension, what is known of an access's bank: ("c", bank) for a known bank,
    ("v", coeffs, residue, const) for a bank that moves with loop variables, or None (unknown)."""
    keys = []
    for d, kind, factor, extent in memory.factors():
        form = index[d - 1] if d - 1 < len(index) else None
        if form is None:
            keys.append(None)
            continue
        coeffs, const = form
        if kind == "block":
            size = math.ceil(extent / factor)
            keys.append(("c", const // size) if not coeffs else ("b", frozenset(coeffs.items()), const, size))
        elif not coeffs or all(c % factor == 0 for c in coeffs.values()):
            keys.append(("c", const % factor))
        else:
            keys.append(("v", frozenset(coeffs.items()), const % factor))
    return tuple(keys)


def _may_share(a, b) -> bool:
    """Whether two accesses' banks along one dimension may be the same."""
    if a is None or b is None:
        return True
    if a[0] == "c" and b[0] == "c":
        return a[1] == b[1]
    if a[0] == b[0] == "v" and a[1] == b[1]:
        return a[2] == b[2]
    if a[0] == b[0] == "b" and a[1] == b[1]:
        return abs(a[2] - b[2]) < a[3]
    return True


def busiest_bank(memory: Memory, keys: list) -> int:
    """Accesses that may land on the busiest bank (each access counts those it may share a bank with)."""
    if not keys:
        return 0
    if not memory.factors():
        return len(keys)
    counts = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    known = {k: n for k, n in counts.items() if all(x is not None and x[0] == "c" for x in k)}
    moving = {k: n for k, n in counts.items() if k not in known}

    def shared(a, b):
        return all(_may_share(x, y) for x, y in zip(a, b))

    # two different known banks never meet, so only accesses whose bank moves need pairwise comparison
    best = 0
    for a, n in known.items():
        best = max(best, n + sum(m for b, m in moving.items() if shared(a, b)))
    for a in moving:
        best = max(best, sum(m for b, m in counts.items() if shared(a, b)))
    return best


# -- block RAM cost ------------------------------------------------------------------------------------
@dataclass
class MemoryCost:
    bram18k: int = 0
    uram: int = 0
    lut: int = 0
    ff: int = 0
    impl: str = ""       # what it is built of, in words
    banks: int = 1


def ram_cost(memory: Memory, tables) -> MemoryCost:
    """Blocks of a RAM/ROM: each bank holds elements/banks words of ``bits`` bits and takes the cheapest legal
    block shape (UG573); a bank of at most ``lutram.max_bits`` bits is LUTRAM; ``impl=uram`` picks URAM."""
    banks = memory.banks
    words = math.ceil(memory.elements / banks)
    bits = memory.bits
    impl = memory.storage[1]
    lutram = tables.memory("lutram")
    if impl == "uram":
        shapes = tables.memory("uram")["shapes"]
        per_bank = min(math.ceil(bits / w) * math.ceil(words / d) for w, d in shapes)
        return MemoryCost(uram=banks * per_bank, impl=f"URAM, {banks} bank(s) of {words} x {bits} bits", banks=banks)
    if impl in ("lutram", "auto") and (impl == "lutram" or words * bits <= lutram["max_bits"]):
        luts = banks * math.ceil(words / lutram["bits_per_lut"]) * bits
        return MemoryCost(lut=luts, impl=f"LUTRAM, {banks} bank(s) of {words} x {bits} bits", banks=banks)
    shapes = tables.memory("bram18k")["shapes"]
    per_bank = min(math.ceil(bits / w) * math.ceil(words / d) for w, d in shapes)
    return MemoryCost(bram18k=banks * per_bank, impl=f"BRAM18K, {banks} bank(s) of {words} x {bits} bits "
                                                     f"({per_bank} block(s) each)", banks=banks)


def fifo_cost(memory: Memory, tables) -> MemoryCost:
    """A FIFO of depth x bits: shift registers up to ``srl_max_bits`` (UG1399 config_storage), else BRAM."""
    fifo = tables.memory("fifo")
    total = max(memory.depth, 1) * memory.bits
    if total <= fifo["srl_max_bits"]:
        return MemoryCost(lut=math.ceil(total * fifo["lut_per_bit"]) + 10, ff=memory.bits + 10,
                          impl=f"FIFO depth {memory.depth} x {memory.bits} bits in shift registers")
    ram = ram_cost(Memory("ram", memory.name, memory.bits, (memory.depth,)), tables)
    return MemoryCost(bram18k=ram.bram18k, lut=30, ff=memory.bits + 30,
                      impl=f"FIFO depth {memory.depth} x {memory.bits} bits in {ram.bram18k} BRAM18K")


def register_cost(memory: Memory) -> MemoryCost:
    return MemoryCost(ff=memory.elements * memory.bits, impl=f"{memory.elements} register(s) of {memory.bits} bits")


def cost(memory: Memory, tables) -> MemoryCost:
    if memory.kind in ("ram", "rom"):
        return ram_cost(memory, tables)
    if memory.kind == "stream":
        return fifo_cost(memory, tables)
    if memory.kind == "reg":
        return register_cost(memory)
    return MemoryCost(impl="m_axi port" if memory.kind == "maxi" else "AXI stream port")


def read_latency(memory: Memory, tables) -> int:
    if memory.kind == "maxi":
        return tables.memory("m_axi")["read_latency"]
    if memory.kind == "reg":
        return 0
    if memory.kind in ("stream", "axis"):
        return tables.memory("fifo")["read_latency"]
    if memory.storage[1] == "uram":
        return tables.memory("uram")["read_latency"]
    return tables.memory("bram18k")["read_latency"]


def ports(memory: Memory, tables) -> int:
    storage = memory.storage[0]
    if memory.kind == "rom" and storage == "auto":
        storage = "rom_2p"
    return tables.ports(storage)
