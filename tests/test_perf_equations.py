"""The analytical model's equations on small hand-checked cases, and the paper's two U280 designs."""
import math

import pytest

from dsl.perf import Calibration, Design, Parallel, Workload, load_design, load_device, load_model
from dsl.perf import equations as eq
from dsl.perf.data import DESIGN_DIR, MemoryKind
from dsl.perf.gpu import kernel_seconds
from dsl.perf.latency import phase_latency, pipeline_cycles, startup_cycles, stage_cycles

GPT2M = load_model("gpt2-medium")
U280 = load_device("u280")
BRAM = MemoryKind("BRAM18K", 4032, ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)))
URAM = MemoryKind("URAM", 960, ((72, 4096),))


def test_prefill_macs_gpt2_medium():
    macs = eq.prefill_macs(GPT2M, 128)
    assert macs["q"] == macs["k"] == macs["p"] == 128 * 1024 * 1024 == 134_217_728  # l·d²
    assert macs["a1"] == macs["a2"] == 128 * 128 * 1024 == 16_777_216  # l²·d
    assert macs["f1"] == macs["f2"] == 128 * 1024 * 4096 == 536_870_912  # l·d·d_FFN


def test_decode_macs_use_the_kv_cache():
    macs = eq.decode_macs(GPT2M, 10)
    assert macs["q"] == 1024 * 1024
    assert macs["a1"] == macs["a2"] == 11 * 1024  # (l+1)·d: the new token attends to 10 cached + itself


def test_gated_ffn_puts_gate_and_up_in_f1():
    llama = load_model("llama2-7b")
    macs = eq.decode_macs(llama, 0)
    assert macs["f1"] == 2 * 4096 * 11008 == 90_177_536
    assert macs["f2"] == 4096 * 11008


def test_model_weight_bits():
    # GPT2-medium: 24·(4·1024² + 2·1024·4096) = 24·12,582,912 = 301,989,888 weights; 4 bits each
    assert eq.model_weight_bits(GPT2M, 4) == 301_989_888 * 4


def test_balanced_ratios():
    ratios = eq.balanced_ratios(GPT2M, 128)
    assert ratios["q"] == ratios["k"] == ratios["p"] == 1
    assert ratios["a1"] == 128 / 1024  # l/d
    assert ratios["f1"] == ratios["f2"] == 4  # d_FFN/d


def test_compute_budget_counts_dsp_packing_and_other_clocks():
    assert eq.compute_budget(U280, "w4a8", 300, 1.0) == 9024 * 2  # two W4A8 MACs per DSP48E2
    assert eq.compute_budget(U280, "w16a16", 300, 1.0) == 9024
    vck = load_device("vck5000")
    # 1968 DSP58 · 3 + 400 AIE · 128 · (1250 MHz / 300 MHz)
    assert eq.compute_budget(vck, "w8a8", 300, 1.0) == pytest.approx(5904 + 400 * 128 * 1250 / 300)
    assert eq.compute_demand({"q": 10, "f1": 40}, 2) == 100  # Σ M_i · C


def test_capacity_terms():
    assert eq.weight_tile_bits(256, 8, 256, 4) == 2 * 32 * 256 * 4  # 2·(M/r)·depth·b_W
    assert eq.kv_buffer_bits(512, 768, 8, 1) == 4 * 512 * 768 * 8  # 4·l_max·d·b_A
    assert eq.residual_fifo_bits(128, 1024, 8, 1) == 2 * 128 * 1024 * 8
    assert eq.weight_reuse(1, 8) == 1 and eq.weight_reuse(128, 8) == 8


def test_port_width_and_packing():
    assert eq.port_width(BRAM, 4) == 4 and eq.port_width(BRAM, 5) == 9 and eq.port_width(URAM, 4) == 72
    assert eq.packing_factor(BRAM, 4, True) == 9  # 36-bit word / 4-bit weights
    assert eq.packing_factor(URAM, 4, True) == 18
    assert eq.packing_factor(URAM, 4, False) == 1


def test_buffer_blocks_matches_the_paper_form():
    # 32 reads/cycle of a double-buffered 4-bit tile of 2·32·256 = 16,384 weights.
    # Unpacked: 32 partitions of 512 four-bit words -> one 4096x4 BRAM each: 32 blocks.
    assert eq.buffer_blocks(BRAM, 16384, 4, 32, 1) == 32
    # Paper form: ⌈s·b/(P·S)⌉·P/k = ⌈16384·4/(32·16384)⌉·32 = 32.
    assert math.ceil(16384 * 4 / (32 * 16384)) * 32 == 32
    # Packed k = 9: ⌈32/9⌉ = 4 partitions of ⌈16384/36⌉ = 456 words of 36 bits -> one 512x36 block each.
    assert eq.buffer_blocks(BRAM, 16384, 4, 32, 9) == 4
    # URAM without packing wastes 68 of 72 bits but still needs one block per partition.
    assert eq.buffer_blocks(URAM, 16384, 4, 32, 1) == 32
    # A deep buffer: 1 partition of 1M 8-bit words in URAM -> ⌈1,048,576/4096⌉ = 256 blocks.
    assert eq.buffer_blocks(URAM, 1 << 20, 8, 1, 1) == 256


def test_bandwidth_per_operator_and_channel():
    assert eq.operator_bandwidth(4, 256, 8, 250e6) == 4 * 32 * 250e6  # b_W·(M/r)·f = 32 Gb/s
    assert eq.operator_bandwidth(4, 256, 1, 250e6) / 8e9 == 32  # 32 GB/s without reuse (decode)
    assert eq.channel_bandwidth(14.375, 3, 0.85) == pytest.approx(3 * 14.375 * 8e9 * 0.85)
    # all GPT2-medium weights at 4 bits over 460 GB/s: 150,994,944 bytes / 460e9 s
    assert eq.bandwidth_bound_seconds(GPT2M, 4, 460, 1.0) == pytest.approx(150_994_944 / 460e9)


def test_stage_pipeline_and_startup():
    assert stage_cycles(1000, 10, 0, 1) == 100
    assert stage_cycles(1000, 10, 3e9, 1e9) == 300  # loader 3x too slow stretches the stage 3x
    assert stage_cycles(1000, 10, 1e9, 3e9) == 100  # never faster than compute
    stages = {"q": 10, "k": 10, "v": 12, "a1": 5, "a2": 5, "p": 10, "f1": 30, "f2": 30}
    assert pipeline_cycles(stages, 24, 1) == 24 * (12 + 30)  # ⌈N/C⌉·(max(T_k,T_v) + C·max T_i)
    assert pipeline_cycles(stages, 12, 2) == 12 * (12 + 2 * 30)
    assert startup_cycles(24, 128) == 24 * 6 * 128


def test_balanced_prefill_matches_closed_form():
    # Work-balanced, compute-bound (weights on chip): T = N·(1 + 1/C)·l·d²/M + start-up, C = 1.
    ratios = eq.balanced_ratios(GPT2M, 128)
    design = Design({op: 1024 * r for op, r in ratios.items()}, 250, 4, 8, weights_on_chip=True)
    calib = Calibration()
    lat = phase_latency(GPT2M, U280, design, Workload(128, 0), Parallel(), calib, {}, "prefill", 128)
    expected = 24 * 2 * 128 * 1024 ** 2 / 1024 + 24 * 6 * calib.operator_startup_cycles
    assert lat.cycles == pytest.approx(expected)


def test_allreduce_and_energy():
    # l·d·b_A / (α·B): 128·1024·8 bits over 0.8 · 200 Gb/s
    assert eq.allreduce_seconds(128, 1024, 8, 200, 0.8) == pytest.approx(1_048_576 / 160e9)
    assert eq.energy_joules(112.5, 2e-3) == pytest.approx(0.225)


def test_gpu_kernel_roofline():
    a100, calib = load_device("a100"), Calibration()
    assert kernel_seconds(1e6, 1e3, a100, calib) == (pytest.approx(8e-6), "launch")
    seconds, kind = kernel_seconds(2e12, 1e6, a100, calib)
    assert kind == "compute" and seconds == pytest.approx(2e12 / (312e12 * 0.6))
    seconds, kind = kernel_seconds(1e6, 1e9, a100, calib)
    assert kind == "memory" and seconds == pytest.approx(1e9 / (1935e9 * 0.8))


def test_paper_designs_hand_checked():
    from dsl.perf import evaluate

    bert = evaluate("bert-base", "u280", prompt=512, design=DESIGN_DIR / "bert-base-u280.yaml")
    # per layer: T_k = 512·768²/256 = 1,179,648; slowest T_f1 = 512·768·3072/256 = 4,718,592 cycles
    cycles = 12 * (1_179_648 + 4_718_592) + 12 * 6 * 128
    assert bert.prefill_ms == pytest.approx(cycles / 245e6 * 1e3)
    gpt2 = evaluate("gpt2-medium", "u280", prompt=128, gen=128, design=DESIGN_DIR / "gpt2-medium-u280.yaml")
    # decode per layer: T_k = 1024²/256 = 4096, T_f1 = 1024·4096/256 = 16,384, start-up 6·128
    assert gpt2.decode_ms_per_token == pytest.approx(24 * (4096 + 16384 + 768) / 250e6 * 1e3)
    assert gpt2.quant == "w4a8" and set(gpt2.macs_per_cycle.values()) == {256}


def test_design_file_loads():
    design = load_design(DESIGN_DIR / "gpt2-medium-u280.yaml")
    assert design.clock_mhz == 250 and design.weight_bits == 4 and design.act_bits == 8
    assert design.channels_per_loader == {"*": 3.0}
