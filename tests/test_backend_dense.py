"""dsl.backend.dense.dense_ints reads dense integer attributes of every width, as printed by MLIR."""
import pytest
from mlir import ir

from dsl.backend.dense import dense_ints


@pytest.mark.parametrize("text, want", [
    ("dense<[[1, -2], [3, 2047]]> : tensor<2x2xi12>", [1, -2, 3, 2047]),   # not indexable by the bindings
    ("dense<-5> : tensor<3xi12>", [-5, -5, -5]),                            # a splat
    ("dense<[7, -8]> : tensor<2xi8>", [7, -8]),
    ("dense<[100000, -3]> : tensor<2xi33>", [100000, -3]),
])
def test_dense_ints(text, want):
    with ir.Context():
        assert [int(v) for v in dense_ints(ir.Attribute.parse(text))] == want
