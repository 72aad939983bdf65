"""Outlining a top-level loop nest of a function into a function of its own, called where the nest was.

``to`` between two loop nests of one function uses it: a stream connects processes, and a loop nest
becomes a process by being a function (every backend runs calls of a dataflow region concurrently). The
new function takes every value the nest uses from outside (buffers, scalars) as an argument, in order of
first use; constants are copied in. It writes its buffer arguments in place (``dsl.num_outputs = 0``).
"""
from __future__ import annotations

from mlir import ir
from mlir.dialects import func

from .. import irutil as U
from .. import names as N


def top_level(loop, func_op):
    """The outermost loop around ``loop`` directly in ``func_op``'s body."""
    cur = loop
    while U.parent_op(cur) is not None and not U.same_op(U.parent_op(cur), func_op):
        cur = U.parent_op(cur)
    return cur


def outline(ctx, nest, func_op, name: str) -> str:
    """Move ``nest`` (an op directly in ``func_op``'s entry block) into a new function ``name``; returns
    the new function's symbol."""
    symbol = _fresh(ctx.module, name)
    externals = []
    constants = []
    for op in [nest] + U.collect(nest, lambda o: True):
        for v in op.operands:
            if U.defined_inside(v, nest) or any(v == e for e in externals + constants):
                continue
            producer = None if isinstance(v.owner, ir.Block) else v.owner.operation
            (constants if producer is not None and producer.name == "arith.constant" else externals).append(v)
    names, types = _describe(func_op, externals)
    with nest.location:
        fop = func.FuncOp(symbol, ir.FunctionType.get([v.type for v in externals], []),
                          ip=ir.InsertionPoint(func_op))
    fop.attributes["sym_visibility"] = ir.StringAttr.get("private")
    s = ir.StringAttr.get
    fop.attributes["dsl.arg_names"] = ir.ArrayAttr.get([s(n) for n in names])
    fop.attributes["dsl.arg_types"] = ir.ArrayAttr.get([s(t) for t in types])
    fop.attributes["dsl.num_outputs"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), 0)
    fop.attributes["dsl.result_types"] = ir.ArrayAttr.get([])
    if "dsl.src" in func_op.attributes:
        fop.attributes["dsl.src"] = func_op.attributes["dsl.src"]
    block = fop.add_entry_block()
    with nest.location, ir.InsertionPoint(nest):
        func.CallOp([], ir.FlatSymbolRefAttr.get(symbol), externals)
    with nest.location, ir.InsertionPoint(block):
        ret = func.ReturnOp([])
    nest.move_before(ret.operation)
    mapping = list(zip(externals, block.arguments))
    for c in constants:
        clone = c.owner.operation.clone(ip=ir.InsertionPoint.at_block_begin(block))
        mapping.append((c, clone.results[0]))
    for op in [nest] + U.collect(nest, lambda o: True):
        for k, v in enumerate(op.operands):
            for old, new in mapping:
                if v == old:
                    op.operands[k] = new
                    break
    return symbol


def _fresh(module, base):
    taken = set(N.funcs(module))
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def _describe(func_op, values):
    """dsl names and types of the values a nest takes from its function (IR.md: dsl.arg_names/arg_types)."""
    arg_names = N.arg_names(func_op)
    arg_types = [ir.StringAttr(a).value for a in ir.ArrayAttr(func_op.attributes["dsl.arg_types"])] \
        if "dsl.arg_types" in func_op.attributes else []
    names, types, used = [], [], set()
    for k, v in enumerate(values):
        owner = v.owner
        name, dtype = f"v{k}", None
        if isinstance(owner, ir.Block) and U.same_op(owner.owner.operation, func_op):
            name = arg_names[v.arg_number]
            dtype = arg_types[v.arg_number] if v.arg_number < len(arg_types) else None
        elif not isinstance(owner, ir.Block):
            op = owner.operation
            name = U.str_attr(op, "dsl.name") or name
            dtype = U.str_attr(op, "dsl.type")
        while name in used:
            name += "_"
        used.add(name)
        names.append(name)
        types.append(dtype or _default_type(v.type))
    return names, types


def _default_type(t) -> str:
    if isinstance(t, ir.MemRefType):
        t = t.element_type
    if isinstance(t, ir.IndexType):
        return "index"
    if isinstance(t, ir.IntegerType):
        return "bool" if t.width == 1 else f"int{t.width}" if t.width in (8, 16, 32, 64) else f"Int({t.width})"
    return {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64"}.get(str(t), "int32")
