"""Running a generated layer design: on the simulator (weights packed once, in the simulator's memory layout)
or in csim (the scheduled HLS C++ compiled with g++), and the layer's arguments from a quantised model."""
from __future__ import annotations

import time

import numpy as np

import dsl
from dsl.backend.interface import from_storage, to_storage
from dsl.dataflow import sim as simmod
from dsl.dataflow.report import blocked_records, deadlock_message, suggest_depths
from dsl.library.units import memory, schedule_units

from .design import WORD, LayerDesign
from .units import schedule_model_units

F = np.float32


def pack_words(Wq, bits: int, Nt: int) -> np.ndarray:
    """``memory.pack_weight_tiles``'s words as the simulator stores UInt(512): one 64-byte little-endian row
    per word (the same bits, without a Python integer per word)."""
    W = np.asarray(Wq)
    if W.dtype != np.int8:
        W = W.astype(np.int64).astype(np.int8)  # the low 8 bits (the fields take at most 8)
    N, K = W.shape
    kpw = WORD // (Nt * bits)
    # two's complement: the low bits of an int8 are those of its uint8 view, so the fields are taken
    # on bytes (no int64 copy of the matrix)
    tiles = W.view(np.uint8).reshape(N // Nt, Nt, K // kpw, kpw).transpose(0, 2, 3, 1).reshape(-1, kpw * Nt)
    fields = tiles & np.uint8((1 << bits) - 1)
    if bits == 4:
        fields = fields[:, 0::2] | (fields[:, 1::2] << np.uint8(4))
    return np.ascontiguousarray(fields)


def layer_arguments(design: LayerDesign, qm, layer: int, X, cache=None, pos: int = 0,
                    words: str = "raw") -> dict:
    """name -> value of every argument of the layer design; ``cache``: the layer's ``quant.KVCache``
    (decoders); ``words``: 'raw' (simulator layout) or 'ints' (Python integers, what any dsl module takes)."""
    lw, ql = qm.weights.layers[layer], qm.layers[layer]
    vals = {"X": np.ascontiguousarray(X, F), "Y": np.zeros((design.rows, design.config.hidden), F)}
    for key in ("ln1_g", "ln1_b", "ln2_g", "ln2_b"):
        vals[key] = lw[key]
    for op, spec in design.linears.items():
        q = ql[op]
        for arg, share in zip(spec.weight_args, _weight_shares(q, words, spec)):
            vals[arg] = share
        vals[f"D_{op}"] = np.ascontiguousarray(np.stack([q.sw, q.b]), F)
        vals[f"S_{op}"] = q.sm
        vals[f"t_{op}"] = F(q.st)
    if design.config.is_decoder:
        vals.update(Kc=cache_words(cache.k, words), Ks=cache.ks, Vc=cache_words(cache.v, words), Vs=cache.vs,
                    pos=np.int32(pos), nk=np.int32(pos + design.rows))
    return vals


def _weight_shares(q, words: str, spec) -> list:
    """The loaders' shares of an operator's packed words, made once per quantised layer and kept (every
    token's call passes the same arrays: no copy of the weights per call)."""
    key = (words, spec.Nt, spec.loaders, spec.arrays)
    if key not in q.packed:
        packed = pack_words(q.Wq, spec.weight_bits, spec.Nt) if words == "raw" else \
            memory.pack_weight_tiles(q.Wq, spec.weight_bits, spec.Nt)
        # array a computes the a-th N / A columns: the blocks of Nt columns are word-major by column block,
        # so its words are the a-th contiguous share; its loaders then split those
        per = len(packed) // spec.arrays
        q.packed[key] = [np.ascontiguousarray(share) for a in range(spec.arrays)
                         for share in memory.split_words(packed[a * per:(a + 1) * per], spec.loaders)]
    return q.packed[key]


def cache_words(rows8, words: str = "raw"):
    """An int8 cache [LMAX, D] as the design's UInt(512) argument: 'raw', the simulator's layout, is a view
    of the same bytes (its writes land in the cache); 'ints', Python integers (copy back with
    ``cache_from_words`` after the call)."""
    raw = rows8.view(np.uint8).reshape(-1, WORD // 8)
    if words == "raw":
        return raw
    out = np.empty(len(raw), dtype=object)
    out[:] = [int.from_bytes(r.tobytes(), "little") for r in raw]
    return out


def cache_from_words(ints, rows8) -> None:
    """Write the UInt(512) words ``ints`` (Python integers) back into the int8 cache ``rows8``."""
    data = b"".join(int(v).to_bytes(WORD // 8, "little") for v in ints)
    rows8.view(np.uint8).reshape(-1)[:] = np.frombuffer(data, np.uint8)


def copy_back_caches(vals: dict, cache) -> None:
    """After a csim call: the cache words the kernel wrote, back into the ``quant.KVCache``."""
    if cache is not None and isinstance(vals.get("Kc"), np.ndarray) and vals["Kc"].dtype == object:
        cache_from_words(vals["Kc"], cache.k)
        cache_from_words(vals["Vc"], cache.v)


def _project_schedule(s):
    schedule_units(s)
    return schedule_model_units(s)


class LayerModule:
    """A layer design built for ``target`` ('sim' or 'csim'); call with the dict of ``layer_arguments``."""

    def __init__(self, design: LayerDesign, target: str = "sim", project=None, schedule=None):
        """``schedule``: csim's schedule function of the region's Schedule (default: ``schedule_units`` and
        ``schedule_model_units``, what the Vitis project emits; ``dsl.dse.units.paper_schedule``: the
        design the estimate and the exploration describe)."""
        self.design, self.target = design, target
        start = time.perf_counter()
        self.schedule = dsl.customize(design.region)
        if target == "csim":
            (schedule or _project_schedule)(self.schedule)
            self.module = dsl.build(self.schedule, target="vitis_hls", mode="csim", project=project)
        else:
            self.module = dsl.build(self.schedule, target="sim")
        self.build_s = time.perf_counter() - start
        self.names = [n for n, _, _ in design.args]
        self.words = "raw" if target == "sim" else "ints"  # how ``layer_arguments`` should give the weights
        self.calls, self.run_s, self.tokens = 0, 0.0, 0
        self.fifo_tokens: dict = {}  # FIFO name -> tokens through it over every call (the simulator's count)

    def __call__(self, vals: dict, cache=None):
        """Y of the layer for the argument values ``vals``; ``cache``: the ``quant.KVCache`` they were made
        from (csim: its words are copied back after the call; the simulator writes it in place)."""
        start = time.perf_counter()
        if self.target == "sim":
            out = self._sim(vals)
        else:
            args = [vals[n] for n in self.names]
            self.module(*args)
            copy_back_caches(vals, cache)
            out = args[self.names.index("Y")] if "Y" in self.names else None  # a kernel writing other rows
        self.run_s += time.perf_counter() - start
        self.calls += 1
        return out

    def _sim(self, vals):
        mod = self.module
        raw, back = [], []
        for spec, name in zip(mod.sig.inputs, self.names):
            v = vals[name]
            if isinstance(v, np.ndarray) and v.dtype in (F, np.uint8) and v.flags.c_contiguous and v.ndim:
                raw.append(v)  # already the simulator's layout (float32 caches are updated in place)
            else:
                raw.append(to_storage(spec, v))
                if isinstance(v, np.ndarray) and v.ndim and v.dtype != object:
                    back.append((v, spec, raw[-1]))  # an int8 cache: its new rows copied back after the run
        result = mod.run(raw, mod.depths)
        if result.status == simmod.DEADLOCK:
            raise _deadlock(mod, raw, result)
        for v, spec, r in back:
            v[...] = from_storage(spec, r)
        mod.stats = result.stats
        self.tokens += sum(s["tokens"] for s in result.stats.values())
        for name, st in result.stats.items():
            self.fifo_tokens[name] = self.fifo_tokens.get(name, 0) + st["tokens"]
        return raw[self.names.index("Y")] if "Y" in self.names else None  # (models.dual's qkv, attention)


def tokens_by_slr(layer: LayerModule) -> dict:
    """SLR -> stream tokens per layer call that the simulator counted on the FIFOs its processes use (a
    cross-SLR stream counts on both sides); {} before a simulator run."""
    if layer.target != "sim" or not layer.calls:
        return {}
    out = {}
    for proc in layer.module.net.processes:
        slr = layer.design.slr_of_line.get(getattr(proc.loc, "line", None))
        if slr is None:
            continue
        names = out.setdefault(slr, set())
        names.update(op[1].name for op in proc.operands if op[0] == "fifo")
    return {slr: sum(layer.fifo_tokens.get(n, 0) for n in names) // layer.calls for slr, names in sorted(out.items())}


def _deadlock(mod, raw, result):
    """The DeadlockError ``SimModule.__call__`` raises, for a run started from the raw layout."""
    suggestion = suggest_depths(mod, raw, [], result)
    err = dsl.DeadlockError(deadlock_message(mod, result, suggestion))
    err.suggested_depths = {mod.net_label(n): d for n, d in suggestion.items()}
    err.design, err.blocked = mod.name, blocked_records(mod, result)
    err.stats = {s["label"]: s for s in result.stats.values()}
    mod.deadlock, mod.stats = err, result.stats
    return err
