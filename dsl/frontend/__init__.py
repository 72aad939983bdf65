"""The frontend: a typed Python function's AST to upstream MLIR (see dsl/IR.md)."""
