"""Structured control flow and calls: affine.for, scf.for/if/while, yields, func.call/return.

Loops are labelled ``l_<band>_<loop>`` (band: the ``op_name`` of the band's outermost loop) and carry the
pragmas the schedule recorded. Loop-carried values and ``scf.if`` results become variables declared before
the construct and assigned by the yield.
"""
from __future__ import annotations

from mlir import ir

from . import pragmas, streams
from .affine_print import AffinePrinter, map_ctype, map_nonneg, map_results
from .emitter import attr_str, c_function_name, op_error
from .ops_memref import fold_min_max
from .types import value_ctype


def _loop_header(fe, op, iv, lower: str, upper: str, step: int | str):
    """Label, ``for`` line and pragmas; returns the induction variable's name."""
    loop_name = attr_str(op.attributes, "loop_name", "i")
    band = attr_str(op.attributes, "op_name")
    if band is not None:
        fe.band.append(band)
    band_name = fe.band[-1] if fe.band else "loop"
    label = fe.labels.fresh(f"l_{band_name}_{loop_name}")
    name = fe.names.fresh(loop_name)
    fe.bind(iv, name)
    increment = f"++{name}" if step == 1 else f"{name} += {step}"
    fe.stmt(op, f"{label}: for ({fe.ctype(iv)} {name} = {lower}; {name} < {upper}; {increment}) {{")
    fe.depth += 1
    pragmas.loop_pragmas(fe, op)
    return band is not None


def _carried(fe, op, inits, body_args, hint="acc"):
    """Variables for loop-carried values: declared with their initial value, bound to args and results."""
    names = []
    for init, arg, result in zip(inits, body_args, op.results):
        name = fe.names.fresh(hint)
        fe.stmt(op, f"{value_ctype(result.type)} {name} = {fe.expr(init)};")
        fe.bind(arg, name)
        fe.bind(result, name)
        names.append(name)
    return names


def _loop_body(fe, op, block, carried, opened_band):
    fe.yield_targets.append(("assign", carried))
    fe.emit_block(block)
    fe.yield_targets.pop()
    fe.depth -= 1
    fe.raw("}")
    if opened_band:
        fe.band.pop()


def _bound(fe, op, map_attr, operands, kind):
    amap = ir.AffineMapAttr(op.attributes[map_attr]).value
    texts = map_results(fe, amap, operands)
    if len(texts) > 1:
        fe.module.includes.add("#include <algorithm>")
    return fold_min_max(kind, texts, map_ctype(fe, amap, operands)), map_nonneg(fe, amap, operands)


def _affine_for(fe, op):
    lower, lower_nonneg = _bound(fe, op, "lowerBoundMap", list(op.lowerBoundOperands), "max")
    upper, _ = _bound(fe, op, "upperBoundMap", list(op.upperBoundOperands), "min")
    block = op.regions[0].blocks[0]
    iv, *iter_args = list(block.arguments)
    carried = _carried(fe, op, list(op.inits), iter_args)
    opened = _loop_header(fe, op, iv, lower, upper, ir.IntegerAttr(op.attributes["step"]).value)
    if lower_nonneg:
        fe.nonneg.add(iv)
    _loop_body(fe, op, block, carried, opened)


def _scf_for(fe, op):
    lower, upper, step, *inits = list(op.operands)
    block = op.regions[0].blocks[0]
    iv, *iter_args = list(block.arguments)
    carried = _carried(fe, op, inits, iter_args)
    opened = _loop_header(fe, op, iv, fe.expr(lower), fe.expr(upper), fe.expr(step))
    if lower in fe.nonneg:
        fe.nonneg.add(iv)
    _loop_body(fe, op, block, carried, opened)


def _result_vars(fe, op, hint="r"):
    names = []
    for result in op.results:
        name = fe.names.fresh(hint)
        fe.stmt(op, f"{value_ctype(result.type)} {name};")
        fe.bind(result, name)
        names.append(name)
    return names


def _scf_if(fe, op):
    _if_else(fe, op, fe.expr(op.operands[0]))


def _if_else(fe, op, condition: str):
    targets = _result_vars(fe, op)
    fe.stmt(op, f"if ({condition}) {{")
    _region(fe, op.regions[0], targets)
    else_region = op.regions[1]
    if else_region.blocks and list(else_region.blocks[0].operations) and \
            (targets or len(list(else_region.blocks[0].operations)) > 1):
        fe.raw("} else {")
        _region(fe, else_region, targets)
    fe.raw("}")


def _affine_if(fe, op):
    """The integer set's constraints (``e >= 0`` / ``e == 0``) joined with ``&&``."""
    amap, relations = _integer_set(op.attributes["condition"])
    printer = AffinePrinter(fe, list(op.operands), amap.n_dims)
    tests = [f"{printer.text(e)} {rel} 0" for e, rel in zip(amap.results, relations)]
    _if_else(fe, op, " && ".join(tests) or "true")


def _integer_set(attr):
    """The bindings expose no IntegerSet of an IntegerSetAttr: re-read its constraints as an affine map."""
    text = str(attr)
    header, _, body = text[len("affine_set<"):-1].partition(" : ")
    constraints = [c.strip() for c in body.strip()[1:-1].split(",")] if body.strip() != "()" else []
    relations = ["==" if c.endswith("== 0") else ">=" for c in constraints]
    exprs = [c.rsplit(" ", 2)[0] for c in constraints]
    amap = ir.AffineMapAttr(ir.Attribute.parse(f"affine_map<{header} -> ({', '.join(exprs)})>")).value
    return amap, relations


def _region(fe, region, targets):
    fe.depth += 1
    fe.yield_targets.append(("assign", targets))
    fe.emit_block(region.blocks[0])
    fe.yield_targets.pop()
    fe.depth -= 1


def _scf_while(fe, op):
    """``while (true) { before; if (!cond) { results = args; break; } after = args; after-body }``."""
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    state = _carried_plain(fe, op, list(op.operands), list(before.arguments), "w")
    results = _result_vars(fe, op)
    fe.stmt(op, "while (true) {")
    fe.depth += 1
    pragmas.while_pragmas(fe, op)
    fe.yield_targets.append(("condition", (results, list(after.arguments))))
    fe.emit_block(before)
    fe.yield_targets[-1] = ("assign", state)
    fe.emit_block(after)
    fe.yield_targets.pop()
    fe.depth -= 1
    fe.raw("}")


def _carried_plain(fe, op, inits, args, hint):
    names = []
    for init, arg in zip(inits, args):
        name = fe.names.fresh(hint)
        fe.stmt(op, f"{value_ctype(arg.type)} {name} = {fe.expr(init)};")
        fe.bind(arg, name)
        names.append(name)
    return names


def _condition(fe, op):
    cond, *values = list(op.operands)
    results, after_args = fe.yield_targets[-1][1]
    exits = [f"{r} = {fe.expr(v)};" for r, v in zip(results, values)]
    fe.stmt(op, f"if (!{fe.expr(cond)}) {{")
    for line in exits:
        fe.raw(f"  {line}")
    fe.raw("  break;")
    fe.raw("}")
    for arg, value in zip(after_args, values):
        fe.declare(op, arg, fe.expr(value))


def _yield(fe, op):
    kind, targets = fe.yield_targets[-1]
    values = [fe.expr(v) for v in op.operands]
    if kind != "assign":
        raise op_error(op, f"unexpected {op.operation.name}")
    if len(values) > 1:  # parallel assignment: a yielded value may read another carried variable
        temps = []
        for v, t in zip(values, targets):
            temp = fe.names.temp()
            fe.stmt(op, f"auto {temp} = {v};")
            temps.append(temp)
        values = temps
    for target, value in zip(targets, values):
        if target != value:
            fe.stmt(op, f"{target} = {value};")


def _return(fe, op):
    streams.join_processes(fe, op)
    for emit in fe.epilogue:  # e.g. on-chip copies written back to their m_axi ports (axi_copies.py)
        emit()
    kind, targets = fe.yield_targets[0]
    values = [fe.expr(v) for v in op.operands]
    if not targets and len(values) == 1:
        fe.stmt(op, f"return {values[0]};")
        return
    for target, value in zip(targets, values):
        if isinstance(target, tuple):  # a fixed-point top-level result: raw bits into ap_fixed
            _, place, ctype = target
            fe.need("fixed_from_bits")
            fe.stmt(op, f"{place} = dsl_fixed<{ctype}>({value});")
        else:
            fe.stmt(op, f"{target} = {value};")
    if fe.depth > 1:
        fe.stmt(op, "return;")


def _call(fe, op):
    callee = c_function_name(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    args = [fe.buffers[v].expr if v in fe.buffers else fe.expr(v) for v in op.operands]
    results = list(op.results)
    if not results and streams.is_dataflow_func(fe):
        fe.stmt(op, streams.process_call(fe, op, f"{callee}({', '.join(args)})"))
        return
    if len(results) == 1:
        fe.declare(op, results[0], f"{callee}({', '.join(args)})")
        return
    outs = []
    for r in results:
        name = fe.names.temp()
        fe.stmt(op, f"{value_ctype(r.type)} {name};")
        fe.bind(r, name)
        outs.append(name)
    fe.stmt(op, f"{callee}({', '.join(args + outs)});")


OPS = {
    "affine.for": _affine_for, "scf.for": _scf_for, "scf.if": _scf_if, "affine.if": _affine_if, "scf.while": _scf_while,
    "scf.condition": _condition, "scf.yield": _yield, "affine.yield": _yield,
    "func.return": _return, "func.call": _call,
}
