"""Pipelined loops: which loops Vitis pipelines, flattens and unrolls, and the II each one reaches.

Rules (UG1399): a loop with a ``pipeline`` directive is pipelined and every loop inside it is fully unrolled;
with no directive, an innermost loop is pipelined at II = 1 (Vitis's automatic pipelining); a perfect nest of
loops with constant bounds around a pipelined loop is flattened into it. The achieved II is the largest of the
requested II, the memory-port bound of every buffer (accesses per iteration over the ports of the busiest bank),
the m_axi bound (one read and one write beat per cycle per bundle, consecutive accesses of one iteration
sharing a beat when Vitis widens the port: ``maxi_beats``; and the bandwidth of the bundle's off-chip
channels), the FIFO bound (one read and one write per cycle) and the recurrence bound of every loop-carried
dependence (the latency around the cycle over the dependence distance).
"""
from __future__ import annotations

import math

from . import memory as M
from .model import Call, If, Loop, Op
from .report import Limit


def has_inner_loops(loop: Loop) -> bool:
    """Whether ``loop`` would keep an inner loop (fully unrolled inner loops do not count) or a call."""
    def walk(items):
        for item in items:
            if isinstance(item, Loop):
                if item.unroll != 0:
                    return True
                if walk(item.body):
                    return True
            elif isinstance(item, If):
                if walk(item.then) or walk(item.other):
                    return True
            elif isinstance(item, Call):
                return True
        return False

    return walk(loop.body)


def sole_loop(loop: Loop):
    """The loop that is ``loop``'s whole body (a perfect nest there), else None."""
    items = [i for i in loop.body if not (isinstance(i, Op) and i.cls in ("yield", "free"))]
    return items[0] if len(items) == 1 and isinstance(items[0], Loop) else None


def find_pipeline(loop: Loop):
    """(pipelined loop, chain of loops from ``loop`` down to it, auto) or (None, [], False)."""
    chain, cur = [loop], loop
    while True:
        if cur.pipeline_ii is not None:
            return cur, chain, False
        inner = sole_loop(cur)
        if inner is None or inner.unroll == 0:
            break
        chain.append(inner)
        cur = inner
    if not has_inner_loops(cur) and cur.unroll != 0 and cur.key != "while":
        return cur, chain, True
    return None, [], False


def flatten_chain(chain: list, ctx) -> list:
    """The loops of ``chain`` (outermost first, ending at the pipelined loop) that Vitis merges into it: the
    longest tail of perfectly nested loops with constant trip counts and no loop-carried values."""
    tail = [chain[-1]]
    for outer in reversed(chain[:-1]):
        inner_bounds_free = all(not _depends_on(l, outer.iv) for l in tail)
        if outer.carried or outer.unroll is not None or ctx.trip(outer) is None or not inner_bounds_free:
            break
        tail.insert(0, outer)
    return tail


def _depends_on(loop: Loop, iv: int) -> bool:
    from .model import tree_values

    return any(form is not None and iv in form[0] for form in (loop.lower, loop.upper)) or any(
        iv in tree_values(t) for t in (loop.lower_expr, loop.upper_expr))


# -- II bounds -----------------------------------------------------------------------------------------
def port_limits(insts, ctx) -> list:
    """Limits from memory ports, m_axi channels and bandwidth, and FIFOs."""
    by_memory: dict = {}
    for inst in insts:
        if inst.cls not in ("load", "store") or inst.forwarded or inst.memory is None:
            continue
        by_memory.setdefault(id(inst.memory), (inst.memory, []))[1].append(inst)
    limits = []
    for memory, accesses in by_memory.values():
        limits += _memory_limits(memory, accesses, ctx)
    return limits


def _memory_limits(memory: M.Memory, accesses, ctx) -> list:
    reads = [a for a in accesses if a.cls == "load"]
    writes = [a for a in accesses if a.cls == "store"]
    t = ctx.tables
    if memory.kind == "reg":
        return []
    if memory.kind in ("stream", "axis"):
        out = []
        for what, group in (("reads", reads), ("writes", writes)):
            if len(group) > 1:
                out.append(Limit(len(group), "stream", f"{len(group)} {what} of {memory.label()} per iteration "
                                                       f"(a FIFO gives one {what[:-1]} per cycle)", memory.name))
        return out
    if memory.kind == "maxi":
        return _maxi_limits(memory, reads, writes, ctx)
    if auto_partitioned(memory, accesses, t):
        return []
    keys = [a.bank for a in accesses]
    busiest = M.busiest_bank(memory, keys)
    ports = M.ports(memory, t)
    ii = math.ceil(busiest / ports)
    if ii <= 1:
        return []
    where = ("not partitioned" if not memory.factors() else
             f"{memory.banks} banks; the busiest bank takes {busiest}")
    what = f"{len(reads)} read(s) and {len(writes)} write(s)" if reads and writes else \
        f"{len(reads)} reads" if reads else f"{len(writes)} writes"
    return [Limit(ii, "memory", f"{what} of {memory.label()} per iteration on {ports} port(s) per bank "
                                f"({where})", memory.name)]


def auto_partitioned(memory: M.Memory, accesses, tables) -> bool:
    """Vitis's throughput-driven automatic partitioning (``config_array_partition -throughput_driven auto``,
    the default, UG1399): a small local array the schedule leaves unpartitioned, every access of which has
    a constant address after unrolling (a block copied in or out of a FIFO token), is split into registers
    rather than limiting the loop. Small: at most what the estimate builds in LUTRAM anyway."""
    if memory.kind != "ram" or memory.partition or memory.storage != ("auto", "auto"):
        return False
    if memory.elements * memory.bits > tables.memory("lutram")["max_bits"]:
        return False
    return all(a.key is not None and all(isinstance(k, tuple) and len(k) == 2 and k[0] == frozenset()
                                         for k in a.key) for a in accesses)


def _maxi_limits(memory, reads, writes, ctx) -> list:
    t = ctx.tables
    out = []
    for what, channel, group in (("reads", "read", reads), ("writes", "write", writes)):
        n, widened = maxi_beats(memory, group, t.memory("m_axi")["beat_bits"])
        if n > 1:
            how = f" ({widened})" if widened else ""
            out.append(Limit(n, "m_axi", f"{len(group)} {what} of {memory.name} per iteration on one "
                                         f"{channel} channel (bundle {memory.bundle}){how}", memory.name))
    bits = (len(reads) + len(writes)) * memory.bits
    capacity = ctx.channel_bits_per_cycle(memory)
    if bits and capacity and bits > capacity:
        ii = math.ceil(bits / capacity)
        out.append(Limit(ii, "bandwidth", f"{bits} bits of {memory.name} per iteration over {memory.channels:g} "
                                          f"{ctx.device.memory_kind} channel(s) ({capacity:.0f} bits per cycle at "
                                          f"{ctx.tables.clock_mhz:g} MHz)", memory.name))
    return out


def maxi_beats(memory, accesses, beat_bits: int) -> tuple:
    """(beats one iteration's ``accesses`` of an m_axi port take on its channel, how they were widened).

    Vitis's automatic port widening (UG1399, "Automatic Port Widening and Port Width Alignment": the
    interface's ``max_widen_bitwidth``, 512 in the Vitis kernel flow) makes the port ``beat_bits`` wide when
    its accesses burst and its element width is a power of two: the accesses of one iteration to consecutive
    addresses in the same aligned ``beat_bits`` word are then one beat. Here: the accesses of one iteration
    whose addresses (row-major, in elements) move alike with the loop variables take, per run of consecutive
    addresses (an unrolled copy loop), the beats of the aligned words it covers, at the worst alignment the
    loop variables' strides allow (the port's base is word-aligned; a stride of a whole word keeps them
    aligned); an access that is no part of a run (a strided walk) takes a beat of its own.
    Anything else takes a beat per access (``ceil(bits / beat_bits)`` for elements wider than a beat)."""
    if not accesses:
        return 0, ""
    wide = math.ceil(memory.bits / beat_bits)
    per_beat = beat_bits // memory.bits if memory.bits and beat_bits % memory.bits == 0 else 0
    power_of_two = memory.bits >= 8 and memory.bits & (memory.bits - 1) == 0
    if len(accesses) == 1 or per_beat <= 1 or not power_of_two:
        return len(accesses) * wide, ""
    addresses = [_linear_address(memory, a.key) for a in accesses]
    if any(x is None for x in addresses) or len({x[0] for x in addresses}) != 1:
        return len(accesses) * wide, ""
    # each run of consecutive addresses is one widened access (the words it covers); the base moves by
    # multiples of g elements, so it can sit at any multiple of g within a word: the worst such alignment
    # counts (the port's base itself is word-aligned). Strided accesses (runs of one) take a beat each.
    runs, run = [], []
    for c in sorted({const for _, const in addresses}):
        if run and c != run[-1] + 1:
            runs.append(run)
            run = []
        run.append(c)
    runs.append(run)
    g = math.gcd(per_beat, *[c for _, c in addresses[0][0]])
    beats = max(sum(len({(b + c) // per_beat for c in r}) for r in runs) for b in range(0, per_beat, g))
    if beats >= len(accesses) * wide:
        return len(accesses) * wide, ""
    return beats, f"the port widened to {beat_bits} bits: {len(accesses)} accesses in {beats} beat(s)"


def _linear_address(memory, key):
    """(frozenset of (loop variable, element stride), constant element offset) of an access, row-major over
    the port's shape; None when an index is not affine in the loop variables."""
    if key is None or len(key) != len(memory.shape):
        return None
    coeffs, const, stride = {}, 0, 1
    for part, extent in reversed(list(zip(key, memory.shape))):
        if part[0] == "?":
            return None
        for iv, c in part[0]:
            coeffs[iv] = coeffs.get(iv, 0) + c * stride
        const += part[1] * stride
        stride *= extent
    return frozenset((iv, c) for iv, c in coeffs.items() if c), const


def recurrence_limits(exp, loop: Loop, flat: list, ctx) -> list:
    """Loop-carried dependences of the pipelined loop: through its carried values (registers) and through
    memory (a store one iteration makes and a load a later iteration makes at the same address)."""
    insts = exp.insts
    limits = []
    for k, (arg, _init, _y, _r) in enumerate(loop.carried):
        ref = exp.yields.get(k)
        users = [i for i in insts if k in i.carried_use]
        if not isinstance(ref, int) or not users:
            continue
        first_use = min(u.start for u in users)
        ii = insts[ref].ready[0] - first_use + (1 if insts[ref].ready[1] > 0 else 0)
        if ii > 1:
            limits.append(Limit(ii, "recurrence", f"loop-carried value {_value_name(insts[ref])} needs {ii} cycles "
                                                  f"from one iteration's use to the next one's "
                                                  f"({_chain_text(insts, ref)})", "carried"))
    limits += _memory_recurrences(insts, flat, ctx)
    return limits


def _value_name(inst) -> str:
    return inst.op.name.split(".")[-1] if hasattr(inst.op, "name") else "value"


def _chain_text(insts, ref) -> str:
    inst = insts[ref]
    cls = inst.cls
    if inst.latency:
        return f"{cls} latency {inst.latency}"
    return f"{cls} chain"


def _memory_recurrences(insts, flat: list, ctx) -> list:
    strides, stride = [], 1
    for loop in reversed(flat):
        strides.insert(0, stride)
        stride *= max(ctx.trip(loop) or 1, 1)
    ivs = [l.iv for l in flat]
    stores = [i for i in insts if i.cls == "store" and not i.forwarded and i.memory is not None
              and i.memory.kind in ("ram", "reg", "maxi")]
    loads = [i for i in insts if i.cls == "load" and not i.forwarded and i.memory is not None
             and i.memory.kind in ("ram", "reg", "maxi")]
    consumers: dict = {}
    for k, inst in enumerate(insts):
        for d in inst.deps:
            consumers.setdefault(d, []).append(k)
    index = {id(inst): k for k, inst in enumerate(insts)}
    needed: dict = {}

    def need(k):
        """The first cycle an op's value is used, looking through casts (free ops) to their users."""
        if k not in needed:
            needed[k] = None
            times = [need(c) if insts[c].cls == "free" else insts[c].start for c in consumers.get(k, [])]
            times = [t for t in times if t is not None]
            needed[k] = min(times) if times else None
        return needed[k]

    def read_time(ld):
        """When the cycle really starts: a load can be issued as late as its first consumer allows."""
        first = need(index[id(ld)])
        return max(ld.start, first - ld.latency) if first is not None else ld.start

    by_key: dict = {}
    for ld in loads:
        by_key.setdefault((id(ld.memory), ld.key), []).append(ld)
    best = {}
    for s in stores:
        if _constant_key(s.key):  # a fixed address meets only loads of that same address
            candidates = by_key.get((id(s.memory), s.key), [])
        else:
            candidates = [ld for ld in loads if ld.memory is s.memory]
        for ld in candidates:
            distance = _distance(s.key, ld.key, ivs, strides)
            if distance is None:
                continue
            gap = _write_to_read(s.memory, ctx)
            t_read = read_time(ld)
            ii = math.ceil(max(s.start + gap - t_read, 1) / distance)
            name = s.memory.name
            if ii > 1 and ii > best.get(name, (0,))[0]:
                best[name] = (ii, distance, s, t_read)
    out = []
    for name, (ii, distance, s, t_read) in best.items():
        out.append(Limit(ii, "recurrence", f"loop-carried dependence through {s.memory.label()}: a value read "
                                           f"at cycle {t_read} of an iteration is written back at cycle "
                                           f"{s.start} and read again {distance} iteration(s) later "
                                           f"({_path_text(insts, s)})", name))
    return out


def _path_text(insts, store) -> str:
    """The slow operations on the way to a store, e.g. "fadd latency 4"."""
    seen, slow, todo = set(), [], list(store.deps)
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        inst = insts[k]
        if inst.latency and inst.cls not in ("load",):
            slow.append(f"{inst.cls} latency {inst.latency}")
        todo.extend(inst.deps)
    return ", ".join(sorted(set(slow))) or "a chain of combinational operations"


def _constant_key(key) -> bool:
    return key is not None and all(part[0] != "?" and not part[0] for part in key)


def _write_to_read(memory, ctx) -> int:
    """Cycles from a store's issue until a load can see it: 0 for registers (the value is forwarded), one for
    RAM, the write and read latencies for an m_axi port."""
    if memory.kind == "reg":
        return 0
    if memory.kind == "maxi":
        m = ctx.tables.memory("m_axi")
        return m["write_latency"] + m["read_latency"]
    return 1


def _distance(store_key, load_key, ivs, strides):
    """Iterations (of the flattened loop) between a store and a later load of the same address, when one
    loop variable alone can close the gap; None when the addresses never meet; 1 when it cannot be told."""
    if store_key is None or load_key is None or len(store_key) != len(load_key):
        return 1
    forms = []
    for s, l in zip(store_key, load_key):
        if s[0] == "?" or l[0] == "?" or s[0] != l[0]:
            return 1
        forms.append((dict(s[0]), s[1] - l[1]))
    best = None
    for iv, stride in zip(ivs, strides):
        delta = None
        ok = True
        for coeffs, gap in forms:
            a = coeffs.get(iv, 0)
            if a == 0:
                if gap != 0 and not any(v in coeffs for v in ivs):
                    ok = False
                continue
            if gap % a:
                ok = False
                break
            d = gap // a
            if d <= 0 or (delta is not None and d != delta):
                ok = False
                break
            delta = d
        if not ok:
            continue
        if delta is None:  # the address does not move with this loop: every iteration hits it
            if all(gap == 0 for _, gap in forms):
                delta = 1
            else:
                continue
        best = delta * stride if best is None else min(best, delta * stride)
    return best
