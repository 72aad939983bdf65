"""What the generated design implies on the U280: its HBM pseudo-channel map, the PE-array cycles of each
region, and the latency ``dsl.perf`` predicts from the design's own parameters (MACs/cycle of every PE
array, clock, channels per loader, one layer unfolded) — nothing typed twice."""
from __future__ import annotations

from dsl.perf import Design, evaluate

from .design import CACHE_ROWS, CLOCK_MHZ, LayerDesign
from .errors import ModelError  # noqa: F401  (CLOCK_MHZ: the paper's clocks, used here and by vitis)
from .weights import LINEARS

HBM_CHANNELS = 32
WORD_BYTES = 64
SLR_NAMES = {0: "SLR0 (Q/K/V)", 1: "SLR1 (attention, projection)", 2: "SLR2 (FFN)"}


def arg_bytes(design: LayerDesign) -> dict:
    """Bytes each memory argument moves in one layer pass (weights once per row block)."""
    out = {}
    for name, kind, shape in design.args:
        if kind == "scalar":
            continue
        n = 1
        for s in shape:
            n *= s
        if kind == "words":
            spec = design.linears[name.split("_")[1]]
            out[name] = n * 64 * (design.rows // spec.Mt)
        else:
            out[name] = n * (1 if name in CACHE_ROWS else 4)
    return out


def arg_demand(design: LayerDesign) -> dict:
    """GB/s each memory argument draws while the layer streams it: a weight loader one word every
    KPW x loaders cycles (its share of the PE array's words), the int8 K/V caches a word every 2 cycles
    (``units.kv_append_q``), other arguments one float32 per cycle."""
    clock = CLOCK_MHZ[design.config.kind] * 1e6
    out = {}
    for name, kind, _ in design.args:
        if kind == "words":
            spec = design.linears[name.split("_")[1]]
            out[name] = 64 * clock / (spec.kpw * spec.loaders) / 1e9
        elif kind != "scalar":
            out[name] = (WORD_BYTES // 2 if name in CACHE_ROWS else 4) * clock / 1e9  # cache: a word / 2 cycles
    return out


def channel_capacity() -> float:
    """GB/s one U280 HBM pseudo-channel gives at ``dsl.perf``'s achieved efficiency."""
    from dsl.perf.data import Calibration, load_device

    return load_device("u280").weight_memory.channel_gbs * Calibration().offchip_channel_efficiency


def hbm_map(designs: list, channels: int = HBM_CHANNELS) -> dict:
    """Memory argument -> HBM pseudo-channel, balanced over the channels: every weight loader gets a channel
    of its own (the most demanding first), the other arguments go to the least loaded channels (by GB/s,
    then by count), those without a loader first. An argument the variants share (every one but the packed
    weights, which each variant has in its own layout) has one channel in all of them, sized for the variant
    that draws the most."""
    demand = {}
    for d in designs:
        for name, gbs in arg_demand(d).items():
            demand[name] = max(demand.get(name, 0.0), gbs)
    loaders = {name for d in designs for name, kind, _ in d.args if kind == "words"}
    weights = sorted(loaders, key=lambda n: (-demand[n], n))
    if len(weights) > channels:
        raise ModelError(f"{len(weights)} weight loaders do not fit the {channels} HBM pseudo-channels (each "
                         "loader needs one of its own): a smaller model or fewer loaders per operator")
    mapping, used, count = {}, [0.0] * channels, [0] * channels
    stride = channels / len(weights) if weights else 1
    for k, name in enumerate(weights):  # spread over both HBM stacks
        mapping[name] = int(k * stride) % channels
        used[mapping[name]] += demand[name]
        count[mapping[name]] += 1
    loaded = set(mapping.values())
    for name in sorted((n for n in demand if n not in mapping), key=lambda n: (-demand[n], n)):
        ch = min(range(channels), key=lambda c: (c in loaded, used[c], count[c], c))
        mapping[name] = ch
        used[ch] += demand[name]
        count[ch] += 1
    return mapping


def channel_load(designs: list, mapping: dict, channels: int = HBM_CHANNELS) -> list:
    """GB/s drawn from each channel by the arguments ``mapping`` puts there (the worst variant's)."""
    load = [0.0] * channels
    for name, ch in mapping.items():
        load[ch] += max(arg_demand(d).get(name, 0.0) for d in designs)
    return load


def region_cycles(design: LayerDesign, keys: int | None = None) -> dict:
    """SLR -> {unit: cycles of its PE array's k loop at II=1} for one layer pass; ``keys``: the keys the
    attention sees (decode: the cached context, pos + 1; default the design's LK)."""
    cfg, att, L = design.config, design.attention, design.rows
    out = {0: {}, 1: {}, 2: {}}
    for op, s in design.linears.items():
        slr = 0 if op in "qkv" else 1 if op == "p" else 2
        out[slr][op] = (L // s.Mt) * (s.cols // s.Nt) * s.K  # its arrays work on their columns at once
    dh, H, Mq, Nk = cfg.head_dim, cfg.heads, att["Mq"], att["Nk"]
    n = keys or att["LK"]
    out[1]["a1 (QK^T)"] = (L // Mq) * H * -(-n // Nk) * dh
    out[1]["a2 (PV)"] = (L // Mq) * H * (dh // Nk) * n
    return out


def perf_design(design: LayerDesign, clock_mhz: float | None = None, channels: dict | None = None) -> Design:
    """The dsl.perf Design of a generated layer: M_i = Mt x Nt of each PE array, r = Mt, the operator's
    loaders' channels (K and V caches stream from HBM, so a1/a2 have loaders too)."""
    clock = clock_mhz or CLOCK_MHZ[design.config.kind]
    macs = {op: s.macs_per_cycle for op, s in design.linears.items()}
    macs["a1"] = macs["a2"] = design.attention["Mq"] * design.attention["Nk"]
    loaders = {op: float(design.linears[op].loaders * design.linears[op].arrays) for op in LINEARS}
    if design.config.is_decoder:
        loaders.update(a1=1.0, a2=1.0)
    spec = design.linears["q"]
    return Design(macs_per_cycle=macs, clock_mhz=clock, weight_bits=design.qcfg.weight_bits, act_bits=8,
                  layers_per_device=1, channels_per_loader=loaders, weight_reuse=spec.Mt, memory_packing=True,
                  weight_tile_depth=design.depths["weights"] * spec.kpw, weights_on_chip=False,
                  kv_on_chip=not design.config.is_decoder, name=f"{design.config.name}-{design.variant}",
                  model=design.config.name, device="u280", notes="generated by models.design")


def predict(acc, prompt: int, gen: int, clock_mhz: float | None = None, device: str = "u280") -> dict:
    """Prefill from the prefill (or encoder) design, decode from the decode design."""
    model = acc.cfg.perf_model()
    pre = evaluate(model, device, prompt=prompt, gen=gen if acc.cfg.is_decoder else 0, gpu=None,
                   design=perf_design(acc.prefill, clock_mhz))
    out = {"prefill_ms": pre.prefill_ms, "ttft_ms": pre.ttft_ms, "prefill_bound": pre.prefill_bound,
           "clock_mhz": pre.clock_mhz, "macs_per_cycle": pre.macs_per_cycle, "violated": pre.violated,
           "resources": pre.resources, "result": pre}
    if acc.decode is not None:
        dec = evaluate(model, device, prompt=prompt, gen=gen, gpu=None, design=perf_design(acc.decode, clock_mhz))
        out.update(decode_ms_per_token=dec.decode_ms_per_token, decode_tokens_per_s=dec.decode_tokens_per_s,
                   decode_bound=dec.decode_bound, decode_result=dec)
    return out
