"""The accelerator of one Transformer layer, generated per model config from dsl.library units.

A layer is one dataflow design in three regions, placed on the U280's SLRs as the paper places them:
  SLR0  the Q/K/V projections (GPT2: LayerNorm 1 before them), the residual's input forked around
  SLR1  Q K^T, causal mask, softmax, score V, the output projection, the residual add (BERT: LayerNorm 1;
        GPT2: LayerNorm 2, the FFN's input, and the FFN residual forked around)
  SLR2  FFN1, GeLU, FFN2, the residual add (BERT: LayerNorm 2)
Each linear operator is quantize_rows -> aw_gemm (its PE array, weights from its own loader) ->
dequantize_rows. Streams carry 512-bit tokens; cross-SLR streams become AXI streams in the Vitis project.

Variants: ``prefill`` (L rows, causal, K/V written to the cache), ``decode`` (one row at ``pos`` against
the ``nk = pos + 1`` rows of the cache actually holding context, out of its LMAX), ``encoder`` (BERT: L rows,
every key). Attention is int8 (``models.quant.int8_attention``). The generated design is Python source (a
``dsl.region``) kept in ``LayerDesign.source`` and registered with linecache, so errors and the HLS comments
point at its lines; ``LayerDesign.slr_of_line`` says where each process goes.
"""
from __future__ import annotations

import linecache
import math
from dataclasses import dataclass, field

from .config import ModelConfig
from .errors import ModelError
from .generate import CACHE_ROWS, generate_source  # noqa: F401  (CACHE_ROWS: int8 K/V rows; Ks, Vs: scales)
from .quant import QuantConfig
from .weights import LINEARS

WORD = 512
ROW_TOKEN = {"float32": 16, "int32": 16, "int8": 64}
FIFO_DEPTH = 16  # the paper's depth between kernels
# Packed weights per variant. The word layout (``memory.pack_weight_tiles``) depends on the array's Nt, so
# the decode variant (Nt = one word of weights) cannot read the prefill's buffers (Nt = 32): it has its own.
WEIGHT_PREFIX = {"prefill": "W", "encoder": "W", "decode": "Wd"}


CLOCK_MHZ = {"gpt2": 250.0, "bert": 245.0}  # the paper's U280 clocks


@dataclass(frozen=True)
class LinearSpec:
    op: str
    K: int
    N: int
    Mt: int
    Nt: int
    pack: int
    weight_bits: int
    loaders: int = 1  # weight loaders per array, each on its own HBM pseudo-channel (``loaders_needed``)
    prefix: str = "W"  # of the weight arguments: ``WEIGHT_PREFIX`` of the variant (its own packed layout)
    arrays: int = 1   # PE arrays sharing the N output columns (array a computes columns a*N/A .. (a+1)*N/A)

    @property
    def weight_args(self) -> list:
        """The operator's packed-weight arguments: W_op, or W_op_0 .. W_op_{P-1} (one per loader); with A
        arrays, W_op_c{a} (or W_op_c{a}_{i}) for each array's columns. Decode's are Wd_op...: its 1 x 128
        array reads another tiling of the same weights than prefill's 8 x 32."""
        arrays = [""] if self.arrays == 1 else [f"_c{a}" for a in range(self.arrays)]
        if self.loaders == 1:
            return [f"{self.prefix}_{self.op}{c}" for c in arrays]
        return [f"{self.prefix}_{self.op}{c}_{i}" for c in arrays for i in range(self.loaders)]

    @property
    def cols(self) -> int:
        """Output columns of one array."""
        return self.N // self.arrays

    @property
    def kpw(self) -> int:
        return WORD // (self.Nt * self.weight_bits)

    @property
    def words(self) -> int:
        return self.N // self.Nt * (self.K // self.kpw)

    @property
    def macs_per_cycle(self) -> int:
        return self.Mt * self.Nt * self.arrays


@dataclass
class LayerDesign:
    config: ModelConfig
    qcfg: QuantConfig
    variant: str
    rows: int  # L (prefill / encoder) or 1 (decode)
    lmax: int  # cache rows (decoders)
    linears: dict
    attention: dict  # Mq, Nk, LK
    args: list  # (name, kind, shape) in the region's order; kind: rows, words, vector, scalar, cache
    arg_slr: dict
    depths: dict = field(default_factory=dict)
    source: str = ""
    slr_of_line: dict = field(default_factory=dict)
    filename: str = ""
    region: object = None

    @property
    def name(self) -> str:
        return f"{self.config.kind}_{self.variant}"


def _rows_divisor(L: int, cap: int) -> int:
    return max(t for t in range(1, cap + 1) if L % t == 0)


def check_rows(L: int, what: str) -> None:
    """A row of L int32 scores travels in 16-element tokens, a row of L int8 probabilities in 64-element
    ones: L <= 16, a multiple of 16 up to 64, or a multiple of 64."""
    if (L > 16 and L % 16) or (L > 64 and L % 64):
        good = L + (-L) % (16 if L <= 64 else 64)
        raise ModelError(f"{what} = {L}: the attention streams rows of {what} int32 scores in 16-element tokens "
                         f"and of int8 probabilities in 64-element ones, so {what} must be at most 16, a multiple "
                         f"of 16 up to 64 or a multiple of 64 (e.g. {good})")


def loaders_needed(kpw: int, clock_mhz: float) -> int:
    """Loaders (1, 2 or 4, each streaming from its own HBM pseudo-channel) that feed a PE array taking one
    512-bit word every KPW cycles: the word rate in GB/s over what one U280 channel gives at ``dsl.perf``'s
    achieved efficiency (14.4 GB/s x 0.85; 250 MHz x 64 B = 16 GB/s needs two)."""
    from dsl.perf.data import Calibration, load_device

    have = load_device("u280").weight_memory.channel_gbs * Calibration().offchip_channel_efficiency
    need = WORD // 8 * clock_mhz * 1e6 / kpw / 1e9
    return next(p for p in (1, 2, 4) if p * have >= need or p == 4)


def _tile(N: int, K: int, wide: int, bits: int) -> int:
    return next(n for n in (wide, 32, 16, 8, 4, 2) if N % n == 0 and K % (WORD // (n * bits)) == 0)


SPEC_FIELDS = ("Mt", "Nt", "loaders", "arrays")


def _override(spec: LinearSpec, given: dict, rows: int) -> LinearSpec:
    """``spec`` with the array shape, loaders or arrays ``given`` (a design-space exploration's choice)."""
    from dataclasses import replace

    unknown = set(given) - set(SPEC_FIELDS)
    if unknown:
        raise ModelError(f"linear {spec.op}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(SPEC_FIELDS)}")
    bad = {k: v for k, v in given.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1}
    if bad:
        raise ModelError(f"linear {spec.op}: {bad} must be positive integers")
    out = replace(spec, **given)
    bits = out.weight_bits
    if rows % out.Mt or out.N % (out.arrays * out.Nt) or WORD % (out.Nt * bits) or out.K % out.kpw:
        raise ModelError(f"linear {spec.op}: {out.arrays} array(s) of {out.Mt} x {out.Nt} do not tile {rows} rows x "
                         f"{out.N} columns with {bits}-bit weight words of 512 bits (Mt | rows, arrays x Nt | N, "
                         f"Nt x {bits} | 512, KPW | K)")
    if out.loaders not in (1, 2, 4) or (out.words // out.arrays) % out.loaders:
        raise ModelError(f"linear {spec.op}: loaders = {out.loaders} must be 1, 2 or 4 and divide each array's "
                         f"{out.words // out.arrays} weight words")
    return replace(out, pack=int(bool(spec.pack) and out.Nt % 2 == 0))


def linear_specs(cfg: ModelConfig, qcfg: QuantConfig, rows: int, pack: bool = True,
                 variant: str = "prefill", overrides: dict | None = None) -> dict:
    """Per operator its PE array (prefill 8 x 32, decode 1 x one weight word) and its loaders: as many as
    the array's word rate needs (each variant has its own weight buffers, in its own layout)."""
    d, f, bits = cfg.hidden, cfg.ffn, qcfg.weight_bits
    shapes = {"q": (d, d), "k": (d, d), "v": (d, d), "p": (d, d), "f1": (d, f), "f2": (f, d)}
    Mt = _rows_divisor(rows, 8)
    clock = CLOCK_MHZ[cfg.kind]
    specs = {}
    for op, (K, N) in shapes.items():
        Nt = _tile(N, K, WORD // bits if variant == "decode" else 32, bits)  # decode: a weight word per cycle
        loaders = loaders_needed(WORD // (Nt * bits), clock)
        words = N // Nt * (K // (WORD // (Nt * bits)))
        while words % loaders:
            loaders //= 2
        specs[op] = LinearSpec(op, K, N, Mt, Nt, int(pack and Nt % 2 == 0), bits, loaders, WEIGHT_PREFIX[variant])
    for op, given in (overrides or {}).items():
        if op not in specs:
            raise ModelError(f"linear {op!r}: the layer's linear operators are {', '.join(specs)}")
        specs[op] = _override(specs[op], dict(given), rows)
    return specs


def build_layer(cfg: ModelConfig, qcfg: QuantConfig, variant: str, rows: int, lmax: int = 0,
                pack: bool = True, depths: dict | None = None, linears: dict | None = None,
                attention: dict | None = None) -> LayerDesign:
    """``depths`` overrides FIFO depths by role (see ``_depths``): the simulator then shows what a shallower
    FIFO does. ``linears``: op -> {Mt, Nt, loaders, arrays} overriding the chosen PE arrays (``dsl.dse``);
    ``attention``: {Mq, Nk}, the two attention GEMMs' Mq x Nk PE arrays (default up to 8 x 8)."""
    if variant not in ("prefill", "decode", "encoder"):
        raise ModelError(f"variant {variant!r}: prefill, decode (GPT2) or encoder (BERT)")
    for what, n in (("d", cfg.hidden), ("d_FFN", cfg.ffn)):
        if n % 64:
            raise ModelError(f"{cfg.name}: {what} = {n} must be a multiple of 64 (int8 rows travel in 64-byte tokens)")
    if cfg.head_dim % 8:
        raise ModelError(f"{cfg.name}: the head size {cfg.head_dim} must be a multiple of 8 (8 x 8 attention arrays)")
    if variant == "decode":
        rows = 1
        check_rows(lmax, "the cache length")
    else:
        check_rows(rows, "the sequence length")
    lk = lmax if variant == "decode" else rows
    att = {"Mq": _rows_divisor(rows, 8), "Nk": _rows_divisor(math.gcd(lk, cfg.head_dim), 8), "LK": lk}
    att.update(_attention_override(attention or {}, rows, lk, cfg.head_dim))
    design = LayerDesign(cfg, qcfg, variant, rows, lmax, linear_specs(cfg, qcfg, rows, pack, variant, linears), att,
                         [], {})
    _arguments(design)
    _depths(design)
    design.depths.update(depths or {})
    design.source, design.slr_of_line = generate_source(design)
    design.filename = f"<models design {cfg.name} {variant} l={rows} lmax={lmax} {qcfg.name}>"
    lines = design.source.splitlines(True)
    linecache.cache[design.filename] = (len(design.source), None, lines, design.filename)
    scope: dict = {}
    exec(compile(design.source, design.filename, "exec"), scope)  # noqa: S102 (our own generated design)
    design.region = scope[design.name]
    return design


def _attention_override(given: dict, rows: int, lk: int, head: int) -> dict:
    """The attention arrays a design-space exploration chose: Mq query rows (dividing the rows) x Nk keys
    (dividing the cache or sequence length and the head size: ``qk_gemm`` tiles the keys, ``pv_gemm`` the
    head's channels, Nk at a time)."""
    unknown = set(given) - {"Mq", "Nk"}
    if unknown:
        raise ModelError(f"attention: unknown field(s) {sorted(unknown)}; allowed: Mq, Nk")
    bad = {k: v for k, v in given.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1}
    if bad:
        raise ModelError(f"attention: {bad} must be positive integers")
    mq, nk = given.get("Mq"), given.get("Nk")
    if mq is not None and rows % mq:
        raise ModelError(f"attention: Mq = {mq} must divide the {rows} query rows")
    if nk is not None and (lk % nk or head % nk):
        raise ModelError(f"attention: Nk = {nk} must divide the {lk} keys and the head size {head}")
    return dict(given)


def _arguments(design: LayerDesign) -> None:
    cfg, L, d = design.config, design.rows, design.config.hidden
    args = [("X", "rows", (L, d), 0)]
    pre = "gpt2" == cfg.kind
    if pre:
        args += [("ln1_g", "vector", (d,), 0), ("ln1_b", "vector", (d,), 0)]
    for op in LINEARS:
        s = design.linears[op]
        slr = 0 if op in "qkv" else 1 if op == "p" else 2
        args += [(w, "words", (s.words // (s.loaders * s.arrays),), slr) for w in s.weight_args]
        args += [(f"D_{op}", "vector", (2, s.N), slr),
                 (f"S_{op}", "vector", (s.K,), slr), (f"t_{op}", "scalar", (), slr)]
        if op == "p":
            args += [("ln1_g" if not pre else "ln2_g", "vector", (d,), 1),
                     ("ln1_b" if not pre else "ln2_b", "vector", (d,), 1)]
    if not pre:
        args += [("ln2_g", "vector", (d,), 2), ("ln2_b", "vector", (d,), 2)]
    if cfg.is_decoder:
        args += [("Kc", "cache", (design.lmax, d), 1), ("Ks", "cache", (design.lmax,), 1),
                 ("Vc", "cache", (design.lmax, d), 1), ("Vs", "cache", (design.lmax,), 1),
                 ("pos", "scalar", (), 1), ("nk", "scalar", (), 1)]
    args.append(("Y", "rows", (L, d), 2))
    design.args = [(n, k, s) for n, k, s, _ in args]
    design.arg_slr = {n: slr for n, _, _, slr in args}


def _depths(design: LayerDesign) -> None:
    """FIFO depths (tokens) that cannot deadlock: the attention's synchronisation point (all K before any Q)
    holds every row of Q (as float32, before its int8 quantisation: the int8 rows and their scales then wait
    in 16-deep FIFOs) and of the residual's input; the FFN residual holds the rows inside the FFN (two
    GEMMs of Mt rows and the row units); scales go around a GEMM (Mt rows); others are the paper's 16."""
    d, L = design.config.hidden, design.rows
    row = d // ROW_TOKEN["float32"]
    mt = max(s.Mt for s in design.linears.values())
    sync = (L + 4) * row
    design.depths = {"default": FIFO_DEPTH, "weights": FIFO_DEPTH, "q_rows": sync, "attn_bypass": sync,
                     "ffn_bypass": (2 * mt + 10) * row, "scales": 2 * mt + 8}


def scale(design: LayerDesign) -> float:
    return 1.0 / math.sqrt(design.config.head_dim)
