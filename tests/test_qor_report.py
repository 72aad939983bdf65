"""What the user sees of an estimate: print(r) explains every II above the request and every resource over
budget in words; a notebook shows a table; the records are plain data."""
import json

import dsl
from dsl import float32, int8, int32


def gemm(A: int8[64, 32], B: int8[32, 16]) -> int32[64, 16]:
    C: int32[64, 16] = 0
    for i, j in dsl.grid(64, 16):
        for k in dsl.reduction(32):
            C[i, j] += A[i, k] * B[k, j]
    return C


def huge(A: float32[4096]) -> float32[4096]:
    X: float32[8192, 64] = 0.0
    out: float32[4096] = 0.0
    for i in range(4096, name="m"):
        out[i] = A[i] * 2.0 + X[i, 0]
    return out


def test_print_explains_the_ii_in_words():
    s = dsl.customize(gemm)
    s.pipeline("j")
    r = s.estimate(device="u280", clock_mhz=300)
    text = str(r)
    assert "S_i_j_k_0:j" in text and "32 (asked 1)" in text
    # B[k, j] over the unrolled k is strided (16 bytes apart): a beat each; A[i, k] is consecutive (one widened beat)
    assert "II 32 instead of 1: 32 reads of B per iteration on one read channel (bundle gmem1)" in text
    assert r.loops["S_i_j_k_0:j"].ii_reason.startswith("32 reads of B")
    assert "DSP" in text and "BRAM18K" in text and "URAM" in text and "LUT" in text and "FF" in text


def test_over_budget_names_the_buffer():
    s = dsl.customize(huge)
    s.partition(s.X, dsl.Partition.Complete, dim=1)  # 8192 banks of 64 x 32 bits: one BRAM18K each
    s.pipeline("m:i")
    s.unroll("m:i", 0)
    r = dsl.estimate(s)
    assert r.resources["BRAM18K"].used == 8192 and "BRAM18K" in r.over_budget
    why = "\n".join(r.explanations())
    assert "BRAM18K: 8,192 used, 4,032 available (203%) on u280" in why
    assert "X in huge: 8192" in why
    assert "DSP" in r.over_budget  # 4096 unrolled fmuls of 3 DSP each
    assert "largest users: huge" in why
    assert "!" in str(r)


def test_notebook_table_and_plain_data():
    s = dsl.customize(gemm)
    s.pipeline("j")
    r = dsl.estimate(s)
    page = r._repr_html_()
    assert "<table" in page and "S_i_j_k_0:j" in page and 'class="dsl-bad"' in page  # the slow loop marked
    data = json.loads(json.dumps(r.to_dict()))
    assert data["loops"]["S_i_j_k_0:j"]["ii"] == 32 and data["resources"]["DSP"]["available"] == 9024
    assert repr(r).startswith("<Estimate of 'gemm' on u280 at 300 MHz")


def test_estimate_a_kernel_function_directly():
    assert dsl.estimate(gemm).latency > 0


def test_design_report_contribution():
    s = dsl.customize(gemm)
    s.pipeline("j")
    c = dsl.estimate(s).__dsl_report__()
    assert c["kernels"]["gemm"]["II"] == 32 and c["kernels"]["gemm"]["DSP"] == 1
    assert c["resources"]["DSP"]["available"] == 9024
    assert any("II 32 instead of 1" in n for n in c["notes"])
    from dsl.notebook import contribution_html

    assert "S_i_j_k_0:j" in contribution_html(c)


def test_region_kernels_are_grouped_by_kernel():
    from .dataflow_designs import systolic_gemm

    c = dsl.estimate(dsl.customize(systolic_gemm(8, 8, 16, 2, 2))).__dsl_report__()
    assert c["kernels"]["pe"]["instances"] == 4 and c["kernels"]["load_a"]["instances"] == 1


def widen(A: dsl.float32[8]) -> dsl.float64[8]:
    B: dsl.float64[8] = 0.0
    for i in range(8):
        B[i] = dsl.float64(A[i]) * 2.0
    return B


def test_a_float_widening_is_estimated_as_a_conversion():
    """f32 -> f64 (arith.extf to f64) is the table's fpext, not a double-precision 'dpext' that no table has."""
    r = dsl.estimate(widen)
    assert r.latency > 0 and r.resources["DSP"].used > 0  # the f64 multiply: dmul
