"""HLS C++ emission: pragma placement, types, interfaces, source lines, errors (pinned on small kernels)."""
import re

import numpy as np
import pytest
from mlir import ir

import dsl
from dsl import Fixed, Int, UInt, int8, int32, float32
from dsl.schedule.core import Schedule


def gemm(A: int8[8, 4], B: int8[4, 6]) -> int32[8, 6]:
    C: int32[8, 6] = 0
    for i, j in dsl.grid(8, 6):
        for k in dsl.reduction(4):
            C[i, j] += A[i, k] * B[k, j]
    return C


def odd_types(A: Int(12)[4], B: UInt(12)[4], F: Fixed(16, 8)[4]) -> Fixed(16, 8)[4]:
    R: Fixed(16, 8)[4] = 0
    for i in range(4):
        R[i] = F[i] * F[i]
    return R


def scaled(A: float32[4], n: int32) -> float32:
    s: float32 = 0.0
    for i in range(4):
        s += A[i] * n
    return s


def test_gemm_pragmas_labels_interface_and_lines():
    from dsl.schedule import Partition

    s = dsl.customize(gemm)
    s.pipeline("j")
    s.unroll("k", 2)
    s.partition(s.B, Partition.Cyclic, dim=2, factor=2)
    code = dsl.build(s, target="vhls")
    lines = code.splitlines()
    assert 'extern "C" void gemm(int8_t A[8][4], int8_t B[4][6], int32_t C[8][6]) {' in lines
    for k, port in enumerate("ABC"):
        assert f"  #pragma HLS interface m_axi port={port} offset=slave bundle=gmem{k} depth=" in code
    assert "#pragma HLS interface s_axilite port=return bundle=control" in code
    assert "#pragma HLS array_partition variable=B_local type=cyclic factor=2 dim=2" in code  # not the port
    j_loop = next(n for n, line in enumerate(lines) if re.search(r"l_S_i_j_\w*_j: for \(int j = 0; j < 6; \+\+j\)", line))
    assert lines[j_loop + 1].strip() == "#pragma HLS pipeline II=1"  # first line of the pipelined loop
    k_loop = next(n for n, line in enumerate(lines) if "_k: for (int k = 0; k < 4; ++k)" in line)
    assert lines[k_loop + 1].strip() == "#pragma HLS unroll factor=2"
    stores = [line for line in lines if re.search(r"C\[i\]\[j\] = ", line)]
    assert stores and all("// test_hls_emit.py:" in line for line in stores)
    assert code.header.count('extern "C" void gemm(') == 1


def test_types_fixed_and_arbitrary_width():
    code = dsl.build(dsl.customize(odd_types), target="vhls")
    assert "ap_int<12> A[4], ap_uint<12> B[4], ap_fixed<16, 8> F[4], ap_fixed<16, 8> R[4]" in code
    assert "dsl_bits<int16_t>(F[i])" in code and "dsl_fixed<ap_fixed<16, 8>>(" in code


def test_scalar_result_goes_through_ret_port_and_csim_agrees():
    s = dsl.customize(scaled)
    code = dsl.build(s, target="vhls")
    assert "float A[4], int32_t n, float ret0[1]" in code
    assert "#pragma HLS interface s_axilite port=n bundle=control" in code
    A = np.arange(4, dtype=np.float32)
    got = dsl.build(s, target="vitis_hls", mode="csim")(A, 3)
    assert got == pytest.approx(s.build()(A, 3)) and got == pytest.approx(18.0)


def test_deterministic_emission():
    assert str(dsl.build(dsl.customize(gemm), target="vhls")) == str(dsl.build(dsl.customize(gemm), target="vhls"))


HANDWRITTEN = """
module {
  func.func @k(%A: memref<8xi32>, %B: memref<8xi32>) attributes {dsl.top, dsl.arg_names = ["A", "B"],
      dsl.arg_types = ["int32", "int32"], dsl.num_outputs = 1 : i32, dsl.result_types = []} {
    affine.for %i = 0 to 8 {
      %v = affine.load %A[(%i * 3 - 5) mod 8] : memref<8xi32> loc("k.py":4:9)
      %w = affine.load %A[%i floordiv 2] : memref<8xi32> loc("k.py":4:9)
      %u = arith.divui %v, %w : i32 loc("k.py":5:9)
      %c = arith.cmpi ult, %v, %w : i32 loc("k.py":5:9)
      %s = arith.select %c, %u, %v : i32 loc("k.py":5:9)
      affine.store %s, %B[%i] : memref<8xi32> loc("k.py":6:9)
    } {loop_name = "i", op_name = "S_i_0", dsl.pipeline_ii = 2 : i32, dsl.rewind} loc("k.py":3:5)
    return loc("k.py":7:5)
  } loc("k.py":1:1)
}
"""


def _schedule(text, top="k"):
    ctx = ir.Context()
    with ctx, ir.Location.unknown():
        return Schedule(ir.Module.parse(text), top, ctx)


def test_affine_floor_semantics_and_unsigned_ops():
    code = dsl.build(_schedule(HANDWRITTEN), target="vhls")
    assert "dsl_mod<int>(i * 3 - 5, 8)" in code  # may be negative: floored helper
    assert "A[i / 2]" in code  # provably non-negative: plain division
    assert "(uint32_t)v1 / (uint32_t)v2" in code and "(uint32_t)v1 < (uint32_t)v2" in code
    assert "#pragma HLS pipeline II=2 rewind" in code
    A = np.array([-7, 3, 100, -1, 5, 9, -2, 4], dtype=np.int32)
    got = dsl.build(_schedule(HANDWRITTEN), target="vitis_hls", mode="csim")(A)
    u = A.view(np.uint32)
    v, w = u[(np.arange(8) * 3 - 5) % 8], u[np.arange(8) // 2]
    np.testing.assert_array_equal(got, np.where(v < w, v // w, v).astype(np.uint32).view(np.int32))


def test_unknown_op_is_an_error_naming_op_and_line():
    text = HANDWRITTEN.replace('%u = arith.divui %v, %w : i32 loc("k.py":5:9)',
                               '%u = math.ctlz %v : i32 loc("k.py":5:9)')
    with pytest.raises(dsl.BuildError, match=r"cannot emit op 'math.ctlz'.*k.py:5"):
        dsl.build(_schedule(text), target="vhls")


def test_vhls_rejects_options():
    with pytest.raises(dsl.BuildError, match="takes no options"):
        dsl.build(dsl.customize(gemm), target="vhls", mode="csim")
