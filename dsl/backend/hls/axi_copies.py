"""On-chip copies of the top function's partitioned m_axi arrays.

UG1399 does not support ``array_partition``/``array_reshape`` on an M_AXI interface port of the top function
(synthesis stops with HLS 214-126): the port is external memory. So a top-level array that a schedule
partitioned (``s.partition(s.B, ...)``, or a callee's argument that receives ``B`` or a view ``B[i]`` of it)
is copied into a local array of the same shape at the start of the kernel, the partition applies to that
copy, the kernel works on it, and it is copied back at the end when the kernel writes it. The copies are
pipelined loops over consecutive addresses, which Vitis turns into bursts (UG1399, "Optimizing Burst
Transfers"), as Allo's Vitis backend does. Arrays that are not partitioned stay on their m_axi port: a large
tensor need not fit on chip.
"""
from __future__ import annotations

from mlir import ir

from ...dataflow.netlist import func_table
from ...dataflow.rules import WRITE, value_access
from ...errors import BuildError
from . import pragmas
from .emitter import Buffer, element_ctype

_VIEWS = ("memref.subview", "memref.cast")


def _partitioned_downstream(funcs: dict, value) -> bool:
    """Whether ``value`` (or a view of it) reaches a callee argument that carries ``dsl.partition``."""
    for use in value.uses:
        op = use.owner.operation if hasattr(use.owner, "operation") else use.owner
        if op.name in _VIEWS and _partitioned_downstream(funcs, op.results[0]):
            return True
        if op.name == "func.call":
            callee = funcs.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
            if callee is None or not callee.regions[0].blocks:
                continue
            pos = use.operand_number
            if _has_partition(callee, pos) or _partitioned_downstream(funcs, callee.regions[0].blocks[0].arguments[pos]):
                return True
    return False


def _has_partition(fop, pos: int) -> bool:
    if "arg_attrs" not in fop.attributes:
        return False
    attrs = list(ir.ArrayAttr(fop.attributes["arg_attrs"]))
    return pos < len(attrs) and "dsl.partition" in ir.DictAttr(attrs[pos])


def needs_copy(funcs: dict, p) -> bool:
    partitioned = p.attrs is not None and "dsl.partition" in p.attrs
    return p.kind == "array" and bool(p.shape) and (partitioned or _partitioned_downstream(funcs, p.value))


def copy_partitioned_ports(fe, sig):
    """For each partitioned array port of the top: the local copy, its partition, the copy in, and (as an
    epilogue before the return) the copy out."""
    funcs = func_table(fe.module.module)
    copied = [p for p in sig.params if needs_copy(funcs, p)]
    if copied and ("dsl.dataflow" in fe.func.attributes or "dsl.region" in fe.func.attributes):
        raise BuildError(f"'{copied[0].label}' is a top-level (m_axi) argument of the dataflow region '{fe.module.top}' "
                         "and is partitioned: array_partition is not supported on an m_axi port (UG1399, HLS "
                         "214-126), and a copy would be code outside the region's processes; partition the "
                         "local buffer that a loader kernel fills from it instead")
    for p in copied:
        access = value_access(funcs, p.value)
        local = fe.names.fresh(f"{p.name}_local")
        elem = element_ctype(Buffer(p.name, p.dtype), ir.MemRefType(p.value.type))
        fe.raw(f"{elem} {local}{''.join(f'[{d}]' for d in p.shape)};  // on-chip copy of the m_axi port "
               f"{p.name}, which cannot be partitioned (UG1399: HLS 214-126)")
        pragmas.partition_pragmas(fe, local, p.attrs)
        if access:
            _copy_loop(fe, f"l_load_{p.name}", local, p.name, p.shape)
        if WRITE in access:
            fe.epilogue.append(lambda p=p, local=local: _copy_loop(fe, f"l_store_{p.name}", p.name, local, p.shape))
        fe.buffers[p.value] = Buffer(local, p.dtype)



def _copy_loop(fe, label: str, dst: str, src: str, shape):
    """A perfect loop nest over every element in order, pipelined at II=1 in the innermost loop (Vitis
    flattens the nest and infers one burst)."""
    counters = [fe.names.fresh(f"c{k}") for k in range(len(shape))]
    for counter, extent in zip(counters, shape):
        fe.raw(f"{fe.labels.fresh(f'{label}_{counter}')}: for (int {counter} = 0; {counter} < {extent}; "
               f"++{counter}) {{")
        fe.depth += 1
    fe.pragma("pipeline II=1")
    index = "".join(f"[{c}]" for c in counters)
    fe.raw(f"{dst}{index} = {src}{index};")
    for _ in counters:
        fe.depth -= 1
        fe.raw("}")
