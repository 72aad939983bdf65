"""Directives in a loop header, as Allo writes them (``dsl.grid(10, 20, pipeline=True)``): each is the same IR
as the schedule primitive it stands for, the CPU result is unchanged, and the HLS code compiles in csim."""
import re

import numpy as np
import pytest

import dsl
from dsl import int32

RNG = np.random.default_rng(31)


def add_pipelined(A: int32[10, 20], B: int32[10, 20]) -> int32[10, 20]:
    C: int32[10, 20] = 0
    for i, j in dsl.grid(10, 20, pipeline=True):
        C[i, j] = A[i, j] + B[i, j]
    return C


def add_plain(A: int32[10, 20], B: int32[10, 20]) -> int32[10, 20]:
    C: int32[10, 20] = 0
    for i, j in dsl.grid(10, 20):
        C[i, j] = A[i, j] + B[i, j]
    return C


def _text(s) -> str:
    """The module without what differs between two kernels of the same body: their names and source lines."""
    return re.sub(r'dsl.src = "[^"]*"', "", str(s.module)).replace(f"@{s.top}(", "@K(")


def _same_ir(with_directives, plain, *steps):
    s = dsl.customize(plain)
    for primitive, *args in steps:
        getattr(s, primitive)(*args)
    assert _text(dsl.customize(with_directives)) == _text(s)


def test_one_value_applies_to_the_innermost_loop():
    _same_ir(add_pipelined, add_plain, ("pipeline", "j", 1))
    A, B = (RNG.integers(-99, 99, (10, 20), dtype=np.int32) for _ in range(2))
    np.testing.assert_array_equal(dsl.customize(add_pipelined).build()(A, B), A + B)
    code = dsl.build(dsl.customize(add_pipelined), target="vhls").hls_code
    loop_j = code[code.index("l_S_i_j_0_j"):]
    assert "#pragma HLS pipeline II=1" in loop_j.split("}")[0]


def nest3_directives(A: int32[4, 6, 8]) -> int32[4, 6, 8]:
    B: int32[4, 6, 8] = 0
    for i, j, k in dsl.grid(4, 6, 8, pipeline=[2, 0, 4], unroll=[0, 3, True]):
        B[i, j, k] = A[i, j, k] + 1
    return B


def nest3_plain(A: int32[4, 6, 8]) -> int32[4, 6, 8]:
    B: int32[4, 6, 8] = 0
    for i, j, k in dsl.grid(4, 6, 8):
        B[i, j, k] = A[i, j, k] + 1
    return B


def test_lists_give_one_value_per_loop_and_zero_means_none():
    _same_ir(nest3_directives, nest3_plain, ("pipeline", "i", 2), ("pipeline", "k", 4), ("unroll", "j", 3),
             ("unroll", "k", 0))
    module = str(dsl.customize(nest3_directives).module)
    assert module.count("dsl.pipeline_ii") == 2 and module.count("dsl.unroll") == 2
    A = RNG.integers(-99, 99, (4, 6, 8), dtype=np.int32)
    np.testing.assert_array_equal(dsl.customize(nest3_directives).build()(A), A + 1)


def range_directives(A: int32[16]) -> int32:
    acc: int32 = 0
    for i in range(16, pipeline=2, unroll=4):
        acc += A[i]
    return acc


def test_range_takes_them_too_and_csim_agrees():
    module = str(dsl.customize(range_directives).module)
    assert "dsl.pipeline_ii = 2" in module and "dsl.unroll = 4" in module
    A = RNG.integers(-99, 99, 16, dtype=np.int32)
    assert dsl.customize(range_directives).build()(A) == A.sum()
    csim = dsl.build(dsl.customize(range_directives), target="vitis_hls", mode="csim")
    assert csim(A) == A.sum()
    assert "#pragma HLS pipeline II=2" in csim.hls_code and "#pragma HLS unroll factor=4" in csim.hls_code


@pytest.mark.parametrize("header, message", [
    ("dsl.grid(4, 4, pipeline=[True, True, True])", "pipeline= of grid\\(\\) gives 3 values for 2 loop"),
    ("dsl.grid(4, 4, unroll=-2)", "unroll= of grid\\(\\) takes True, False or an unroll factor"),
    ("dsl.grid(4, 4, pipeline='yes')", "pipeline= of grid\\(\\) takes True, False or an initiation interval"),
])
def test_wrong_values_are_refused_at_the_header(header, message, tmp_path):
    src = tmp_path / "k.py"
    src.write_text("import dsl\nfrom dsl import int32\n\n"
                   f"def k(A: int32[4, 4]):\n    for i, j in {header}:\n        A[i, j] = 0\n")
    namespace = {}
    exec(compile(src.read_text(), str(src), "exec"), namespace)  # noqa: S102 - a kernel of this test
    with pytest.raises(dsl.DSLTypeError, match=message) as info:
        dsl.customize(namespace["k"])
    assert f"{src}:5:" in str(info.value)
