"""The equations of the analytical model, one function each (Chen et al., ACM TRETS 2024, §4).

Symbols: l sequence (prompt or context) length, b batch, d hidden size, d_kv width of K/V, d_FFN FFN
size, N layers, C layers unfolded on one device, M_i MACs/cycle of linear operator i, r_i reuse of one
loaded weight, b_W / b_A weight / activation bits, f clock in Hz. Sizes are per layer unless named
otherwise; bits and bits/s everywhere (the report converts).
"""
from __future__ import annotations

import math

from .data import LINEAR_OPS, WEIGHT_OPS, FpgaDevice, MemoryKind, TransformerModel

# ---------------------------------------------------------------- compute demand


def _ffn_up_factor(model: TransformerModel) -> int:
    """Matrices in f1: 2 for a gated FFN (gate and up), else 1."""
    return 2 if model.gated_ffn else 1


def prefill_macs(model: TransformerModel, l: int) -> dict[str, int]:
    """MACs of one layer for a prompt of l tokens (batch 1).

    q, p: l·d²   k, v: l·d·d_kv   a1, a2: l²·d   f1: g·l·d·d_FFN (g = 2 if gated)   f2: l·d·d_FFN
    """
    d, dkv, dffn = model.hidden, model.kv_hidden, model.ffn
    return {
        "q": l * d * d, "k": l * d * dkv, "v": l * d * dkv,
        "a1": l * l * d, "a2": l * l * d,
        "p": l * d * d,
        "f1": _ffn_up_factor(model) * l * d * dffn, "f2": l * d * dffn,
    }


def decode_macs(model: TransformerModel, l: int) -> dict[str, int]:
    """MACs of one layer for one new token with a KV cache of l tokens (batch 1).

    q, p: d²   k, v: d·d_kv   a1, a2: (l+1)·d   f1: g·d·d_FFN   f2: d·d_FFN
    """
    macs = prefill_macs(model, 1)
    macs["a1"] = macs["a2"] = (l + 1) * model.hidden
    return macs


def layer_weights(model: TransformerModel) -> dict[str, int]:
    """Weights of each operator of one layer (a1 and a2 have none): q, p: d²; k, v: d·d_kv; f1, f2 as MACs/l."""
    per_token = prefill_macs(model, 1)
    return {op: per_token[op] for op in WEIGHT_OPS}


def model_weight_bits(model: TransformerModel, weight_bits: int) -> int:
    """Parameters of all N layers in bits: N·(2d² + 2·d·d_kv + (g+1)·d·d_FFN)·b_W (embeddings stay on the host)."""
    return model.layers * sum(layer_weights(model).values()) * weight_bits


def balanced_ratios(model: TransformerModel, l: int) -> dict[str, float]:
    """Work-balanced M_i / M, with M = M_q: every stage then takes the same time in prefill of length l.

    M_{q,p} = M,  M_{k,v} = (d_kv/d)·M,  M_{a1,a2} = (l/d)·M,  M_{f1} = g·(d_FFN/d)·M,  M_{f2} = (d_FFN/d)·M
    """
    macs = prefill_macs(model, l)
    return {op: macs[op] / macs["q"] for op in LINEAR_OPS}


# ---------------------------------------------------------------- constraint 1: compute


def compute_budget(device: FpgaDevice, quant: str, clock_mhz: float, usable_fraction: float) -> float:
    """M_total: MACs per fabric cycle the device offers, Σ_units count·packing·(f_unit/f), times the usable share.

    Packing is the unit's MACs per cycle at this precision (2 for a DSP48E2 at W4A8 or int8×int8).
    """
    total = 0.0
    for unit in device.compute:
        per_unit = unit.macs_per_cycle.get(quant, unit.macs_per_cycle.get("default", 1))
        clock_ratio = (unit.clock_mhz / clock_mhz) if unit.clock_mhz else 1.0
        total += unit.count * per_unit * clock_ratio
    return total * usable_fraction


def compute_demand(macs_per_cycle: dict[str, float], layers_per_device: int) -> float:
    """Left side of the compute constraint: Σ_i M_i · C  (must be ≤ M_total)."""
    return sum(macs_per_cycle.values()) * layers_per_device


# ---------------------------------------------------------------- constraint 2: capacity


def weight_reuse(tokens_in_flight: int, array_rows: int) -> int:
    """r_i: MACs that share one loaded weight, r = min(tokens processed together, array rows), at least 1."""
    return max(1, min(tokens_in_flight, array_rows))


def weight_tile_bits(m_i: float, r_i: int, tile_depth: int, weight_bits: int) -> float:
    """Double-buffered weight tile of one operator: 2 · (M_i/r_i) · depth · b_W bits."""
    return 2 * (m_i / r_i) * tile_depth * weight_bits


def kv_buffer_bits(l_max: int, kv_hidden: int, act_bits: int, batch: int) -> int:
    """On-chip K and V of one unfolded layer, double-buffered: 4 · l_max · d_kv · b_A · b bits."""
    return 4 * l_max * kv_hidden * act_bits * batch


def residual_fifo_bits(l: int, d: int, act_bits: int, batch: int) -> int:
    """Bypass FIFOs around attention and around the FFN: each holds the whole block input, 2 · l · d · b_A · b.

    The K/V synchronisation point means the residual input must wait a whole prefill stage; the other
    edges are shallow FIFOs (depth 16) mapped to LUT memory, not counted here.
    """
    return 2 * l * d * act_bits * batch


# ---------------------------------------------------------------- constraint 3: memory ports


def port_width(kind: MemoryKind, word_bits: int) -> int:
    """b_BRAM: the smallest legal port width ≥ the word width (the widest one when none is)."""
    legal = sorted(w for w, _ in kind.shapes)
    return next((w for w in legal if w >= word_bits), legal[-1])


def packing_factor(kind: MemoryKind, elem_bits: int, packing: bool) -> int:
    """k: elements packed into one memory word, ⌊widest port / element bits⌋ with packing, else 1."""
    return max(1, kind.max_width // elem_bits) if packing else 1


def buffer_blocks(kind: MemoryKind, elements: float, elem_bits: int, parallel_reads: float, pack: int) -> int:
    """Blocks of one partitioned buffer (the paper's Eq. 3-5), choosing the cheapest legal block shape.

    Paper form: R_i = ⌈s_i·b_BRAM / ((M_i/r_i)·S_BRAM)⌉ · (M_i/r_i) / k. Here the buffer of s_i elements
    is split into n = ⌈P/k⌉ partitions (P = parallel_reads = M_i/r_i, one read port each); a partition holds
    ⌈s_i/(n·k)⌉ words of k·b bits and takes ⌈word/width⌉·⌈depth/D⌉ blocks of the best (width, D) shape.
    """
    partitions = math.ceil(max(parallel_reads, 1) / pack)
    depth = math.ceil(elements / (partitions * pack))
    word = pack * elem_bits
    per_partition = min(math.ceil(word / w) * math.ceil(depth / d) for w, d in kind.shapes)
    return partitions * per_partition


# ---------------------------------------------------------------- constraint 4: off-chip bandwidth


def operator_bandwidth(elem_bits: int, m_i: float, r_i: int, clock_hz: float) -> float:
    """B_i = b · (M_i / r_i) · f bits/s: the stream one operator's loader must sustain to keep its MACs busy."""
    return elem_bits * (m_i / r_i) * clock_hz


def channel_bandwidth(channel_gbs: float, channels: float, efficiency: float) -> float:
    """Bandwidth a loader gets from its channels: c · B_channel · efficiency, in bits/s."""
    return channels * channel_gbs * 8e9 * efficiency


def channel_share(requested_channels: float, device_channels: int) -> float:
    """s_B = min(1, c_device / Σ_loaders c_i): loaders that ask for more channels than the device has share
    them (time-multiplexed), so each gets s_B of its channels' bandwidth and Σ_i B_i never exceeds B·η."""
    return min(1.0, device_channels / requested_channels) if requested_channels > 0 else 1.0


def compute_share(demand_macs: float, budget_macs: float) -> float:
    """s_M = min(1, M_total / Σ_i M_i·C): operators that ask for more multipliers than the device has share
    them, so each runs at s_M · M_i MACs/cycle."""
    return min(1.0, budget_macs / demand_macs) if demand_macs > 0 else 1.0


def bandwidth_bound_seconds(model: TransformerModel, weight_bits: int, total_gbs: float, efficiency: float) -> float:
    """Lower bound on decode time per token when all weights stream from off-chip: N·W·b_W / (B·eff)."""
    return model_weight_bits(model, weight_bits) / (total_gbs * 8e9 * efficiency)


# ---------------------------------------------------------------- multi-device, energy


def allreduce_seconds(tokens: int, d: int, act_bits: int, link_gbps: float, alpha: float) -> float:
    """T_comm = l · d · b_A / (α · B): one all-reduce of a layer's partial outputs (B = all links, bits/s)."""
    return tokens * d * act_bits / (alpha * link_gbps * 1e9)


def energy_joules(power_w: float, seconds: float) -> float:
    """E = P · T."""
    return power_w * seconds

