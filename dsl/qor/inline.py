"""Inlining, as Vitis does it for a function marked ``inline`` (``s.inline(f)``, UG1399 ``pragma HLS inline``):
the callee's body becomes part of its caller's, so its ops are scheduled with the caller's (a call inside a
pipelined loop no longer waits for a whole function call each iteration) and each unrolled copy of the call
is a copy of its operators (DSPs counted per copy).

``inline_functions(funcs)`` rewrites the plain copies of ``model.read_module`` in place: every call to an
inline function is replaced by the callee's items with its value ids renumbered into the caller's, its
arguments bound to the call's operands, its local buffers added to the caller's, and its results bound to
what it returns. A callee argument passed as a sub-view (``A[i]``) becomes accesses of the viewed array at
the view's offsets, so the caller's partitions and ports apply to them.
"""
from __future__ import annotations

import copy

from .model import Access, Buffer, Call, Function, If, Loop, Op, View

MAX_DEPTH = 32  # nested inlining levels (a recursion is refused later by the estimator)


def inline_functions(funcs: dict) -> dict:
    for name in list(funcs):
        _inline_into(funcs[name], funcs, 0)
    return funcs


def _inline_into(func: Function, funcs: dict, depth: int):
    if depth > MAX_DEPTH:
        return
    func.body = _items(func.body, func, funcs, depth)


def _items(items: list, func: Function, funcs: dict, depth: int) -> list:
    out = []
    for item in items:
        if isinstance(item, Call) and item.callee in funcs and funcs[item.callee].inline \
                and item.callee != func.name and funcs[item.callee].body is not None:
            callee = funcs[item.callee]
            _inline_into(callee, funcs, depth + 1)
            out += _expand(callee, item, func)
            continue
        if isinstance(item, Loop):
            item.body = _items(item.body, func, funcs, depth)
        elif isinstance(item, If):
            item.then = _items(item.then, func, funcs, depth)
            item.other = _items(item.other, func, funcs, depth)
        out.append(item)
    return out


class _Renumber:
    """Callee value ids -> fresh caller ids; the callee's arguments -> the call's operands."""

    def __init__(self, callee: Function, call: Call, caller: Function):
        self.base = caller.next_vid
        caller.next_vid += callee.next_vid
        self.map = {}
        self.views = {}   # callee argument id -> caller View (or a plain caller memref id)
        for arg, operand in zip(callee.args, call.operands):
            self.map[arg] = operand
            if operand in caller.views:
                self.views[arg] = caller.views[operand]

    def __call__(self, vid: int) -> int:
        if vid in self.map:
            return self.map[vid]
        return vid + self.base

    def form(self, form):
        if form is None:
            return None
        coeffs, const = form
        out: dict = {}
        for v, c in coeffs.items():
            out[self(v)] = out.get(self(v), 0) + c
        return {v: c for v, c in out.items() if c}, const


def _expand(callee: Function, call: Call, caller: Function) -> list:
    r = _Renumber(callee, call, caller)
    for vid, value in callee.constants.items():
        caller.constants[r(vid)] = value
    for vid, buffer in callee.buffers.items():
        caller.buffers[r(vid)] = Buffer(f"{callee.name}_{buffer.name}", buffer.shape, buffer.bits,
                                        list(buffer.partition), buffer.stream_depth, buffer.storage, buffer.constant,
                                        buffer.symbol)
    for vid, view in callee.views.items():
        caller.views[r(vid)] = View(r(view.source), [r.form(f) for f in view.offsets], list(view.strides),
                                    list(view.kept))
    items = [_copy(item, r) for item in callee.body]
    for result, returned in zip(call.results, callee.returns):
        items.append(Op("inline.result", "free", [result], [r(returned)], line=call.line))
    return items


def _copy(item, r: _Renumber):
    if isinstance(item, Op):
        op = Op(item.name, item.cls, [r(v) for v in item.results], [r(v) for v in item.operands], item.bits,
                dict(item.info), item.line)
        if "access" in item.info:
            op.info["access"] = _access(item.info["access"], r)
            memref = op.info["access"].memref
            pos = 0 if op.info["access"].kind == "load" else 1
            op.operands[pos] = memref
        return op
    if isinstance(item, Loop):
        loop = copy.copy(item)
        loop.iv = r(item.iv)
        loop.lower, loop.upper = r.form(item.lower), r.form(item.upper)
        loop.body = [_copy(i, r) for i in item.body]
        loop.carried = [tuple(r(v) for v in c) for c in item.carried]
        return loop
    if isinstance(item, If):
        return If(r(item.condition), [_copy(i, r) for i in item.then], [_copy(i, r) for i in item.other],
                  [r(v) for v in item.results], [r(v) for v in item.then_yield], [r(v) for v in item.else_yield])
    if isinstance(item, Call):
        return Call(item.callee, [r(v) for v in item.operands], item.line, [r(v) for v in item.results])
    return item


def _access(acc: Access, r: _Renumber) -> Access:
    forms = [r.form(f) for f in acc.index]
    view = r.views.get(acc.memref)
    if view is None:
        return Access(r(acc.memref), acc.kind, forms, acc.stream)
    # an access of a view: the source's index in every dimension (offset + stride * the view's index)
    index = []
    for d, offset in enumerate(view.offsets):
        if d in view.kept:
            inner = forms[view.kept.index(d)] if view.kept.index(d) < len(forms) else ({}, 0)
            index.append(_add(offset, inner, view.strides[d]))
        else:
            index.append(offset)
    return Access(view.source, acc.kind, index, acc.stream)


def _add(offset, inner, stride: int):
    if offset is None or inner is None:
        return None
    coeffs = dict(offset[0])
    for v, c in inner[0].items():
        coeffs[v] = coeffs.get(v, 0) + stride * c
    return {v: c for v, c in coeffs.items() if c}, offset[1] + stride * inner[1]
