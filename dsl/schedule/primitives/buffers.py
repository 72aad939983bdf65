"""Buffer primitives: partition (directive), reshape, buffer_at and reuse_at (rewrite accesses)."""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, arith, memref, scf

from .. import irutil as U
from .. import names as N
from ..registry import Param, primitive
from . import partition_groups as groups
from .access import Pattern, copy_nest, entry_alloc, set_access, unique_name


# -- partition --------------------------------------------------------------------------------------------
def _connected(ctx, buf):
    """``buf`` and every buffer it reaches, transitively: the callee arguments it is passed to, the caller
    values passed to it, and both ways through ``memref.subview`` (a row ``A[i]`` passed to a kernel). Returns
    (value, dims) pairs: dims[d - 1] is the value's 1-based dimension showing ``buf``'s dimension d in full,
    or None where a view drops or slices it."""
    seen, todo, out = set(), [(buf.value, list(range(1, len(buf.shape) + 1)))], []
    funcs = dict(_funcs(ctx))
    callers = None  # callee name -> its calls: one walk of the module, only if an argument is reached
    while todo:
        value, dims = todo.pop()
        if value in seen:
            continue
        seen.add(value)
        if not _is_view(value):
            out.append((value, dims))
        for use in value.uses:
            user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if user.name == "func.call":
                callee = funcs.get(ir.FlatSymbolRefAttr(user.attributes["callee"]).value)
                if callee is not None:
                    todo.append((callee.regions[0].blocks[0].arguments[use.operand_number], dims))
            elif user.name == "memref.subview" and use.operand_number == 0:
                to_view = _subview_dims(user)
                todo.append((user.result, [to_view[d - 1] if d else None for d in dims]))
        owner = value.owner
        if isinstance(owner, ir.Block) and owner.owner.operation.name == "func.func":
            fname = ir.StringAttr(owner.owner.operation.attributes["sym_name"]).value
            if callers is None:
                callers = _calls_by_callee(ctx.module)
            for call in callers.get(fname, ()):
                todo.append((call.operands[value.arg_number], dims))
        elif _is_view(value):  # back from a view to the buffer it shows
            view = owner.operation
            back = {v: k + 1 for k, v in enumerate(_subview_dims(view)) if v is not None}
            todo.append((view.operands[0], [back.get(d) if d else None for d in dims]))
    return out


def _calls_by_callee(module) -> dict:
    out = {}
    for call in U.collect(module.operation, lambda o: o.name == "func.call"):
        out.setdefault(ir.FlatSymbolRefAttr(call.attributes["callee"]).value, []).append(call)
    return out


def _is_view(value) -> bool:
    owner = value.owner
    return not isinstance(owner, ir.Block) and owner.operation.name == "memref.subview"


def _subview_dims(view) -> list:
    """For each dimension of the viewed buffer, the view's 1-based dimension showing it in full (offset 0,
    whole extent), or None (dropped by a rank-reducing view, or sliced)."""
    source = ir.MemRefType(view.operands[0].type).shape
    result = ir.MemRefType(view.result.type).shape
    sizes = list(ir.DenseI64ArrayAttr(view.attributes["static_sizes"]))
    offsets = list(ir.DenseI64ArrayAttr(view.attributes["static_offsets"]))
    out, k = [], 0
    for extent, size, offset in zip(source, sizes, offsets):
        if k < len(result) and size == result[k]:
            k += 1
            out.append(k if size == extent and offset == 0 else None)
        else:  # a unit dimension the view drops
            out.append(None)
    return out


def _funcs(ctx):
    from .. import names as N

    return N.funcs(ctx.module)


def _merge(old, entry):
    """Partition entries by dim; a new entry replaces the old one for its dim (dim 0 replaces all)."""
    kept = [e for e in old if entry[1] != 0 and e[1] != entry[1] and e[1] != 0]
    return kept + [entry]


def _entries(attr):
    return [(ir.StringAttr(e[0]).value, ir.IntegerAttr(e[1]).value, ir.IntegerAttr(e[2]).value)
            for e in map(ir.ArrayAttr, ir.ArrayAttr(attr))] if attr is not None else []


def _encode(entries):
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.StringAttr.get(k), ir.IntegerAttr.get(i64, d),
                                               ir.IntegerAttr.get(i64, f)]) for k, d, f in entries])


def _current(value):
    """The partition entries a buffer (alloc or function argument) holds now."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        func = owner.owner.operation
        if "arg_attrs" not in func.attributes:
            return []
        d = ir.DictAttr(list(ir.ArrayAttr(func.attributes["arg_attrs"]))[value.arg_number])
        return _entries(d["dsl.partition"]) if "dsl.partition" in d else []
    op = owner.operation
    return _entries(op.attributes["dsl.partition"] if "dsl.partition" in op.attributes else None)


def _set_partition(value, entry):
    owner = value.owner
    if isinstance(owner, ir.Block):
        func = owner.owner.operation
        n = len(owner.arguments)
        dicts = list(ir.ArrayAttr(func.attributes["arg_attrs"])) if "arg_attrs" in func.attributes else \
            [ir.DictAttr.get({}) for _ in range(n)]
        d = ir.DictAttr(dicts[value.arg_number])
        items = {d[i].name: d[i].attr for i in range(len(d))}
        items["dsl.partition"] = _encode(_merge(_entries(items.get("dsl.partition")), entry))
        dicts[value.arg_number] = ir.DictAttr.get(items)
        func.attributes["arg_attrs"] = ir.ArrayAttr.get(dicts)
    else:
        op = owner.operation
        old = op.attributes["dsl.partition"] if "dsl.partition" in op.attributes else None
        op.attributes["dsl.partition"] = _encode(_merge(_entries(old), entry))


@primitive(Param("buffer", "buffer"), Param("kind", "partition", "complete"), Param("dim", "nat", 0),
           Param("factor", "nat", 0))
def partition(ctx, buffer, kind, dim, factor):
    """Partition ``buffer`` for HLS (``dsl.partition`` on the alloc or argument); ``dim`` is 1-based, 0 = every
    dimension. The directive follows the buffer into the callees it is passed to and the callers that pass
    it, also through views (a row ``A[i]`` passed to a kernel gets the partition of ``A``'s second
    dimension as its first). The CPU result is unchanged.

    Before: ``%B = memref.alloc() : memref<16x16xf32>``
    After ``s.partition(s.B, dsl.Partition.Cyclic, dim=2, factor=4)``:
    ``%B = memref.alloc() {dsl.partition = [["cyclic", 2, 4]]} : memref<16x16xf32>``
    """
    buf = ctx.buffer(buffer)
    rank = len(buf.shape)
    if dim > rank:
        raise ctx.error("dim", f"dimension {dim} is out of range for '{buf.name}' of rank {rank}",
                        f"0 (every dimension) or 1..{rank}")
    if kind != "complete" and factor < 1:
        raise ctx.error("factor", f"a {kind} partition needs a factor >= 1", "1.." + str(max(buf.shape)))
    if kind != "complete" and dim > 0 and factor > buf.shape[dim - 1]:
        raise ctx.error("factor", f"factor {factor} exceeds dimension {dim} of '{buf.name}' "
                                  f"(extent {buf.shape[dim - 1]})", f"1..{buf.shape[dim - 1]}")
    rank_dims = list(range(1, rank + 1))
    targets = []
    for value, dims in _connected(ctx, buf):
        if dims == rank_dims and len(ir.MemRefType(value.type).shape) == rank:
            targets.append((value, (kind, dim, factor)))  # the buffer itself, or passed whole
            continue
        for shown in sorted({dims[d - 1] for d in (rank_dims if dim == 0 else [dim])} - {None}):
            targets.append((value, (kind, shown, factor)))
    groups.check(ctx, buf, targets, _merge)  # another caller's own, different partition: refused
    for value, entry in targets:
        if value == buf.value or not groups.implied(_current(value), entry):
            _set_partition(value, entry)  # a carried entry its broader layout already gives: left alone


# -- reshape ----------------------------------------------------------------------------------------------
def _strides(shape):
    out, acc = [], 1
    for extent in reversed(shape):
        out.append(acc)
        acc *= extent
    return out[::-1]


@primitive(Param("buffer", "buffer"), Param("shape", "shape"), cleanup=True)
def reshape(ctx, buffer, shape):
    """Give a local buffer a new shape with the same elements (row-major); every access is rewritten.

    Before: ``T: float32[4, 6]; T[i, j]``       After ``s.reshape(s.T, [24])``: ``T: float32[24]; T[6*i + j]``
    """
    buf = ctx.buffer(buffer)
    if buf.kind != "alloc" or buf.op.name == "memref.get_global":
        raise ctx.error("buffer", f"'{buf.name}' is a function argument or constant; reshape applies to "
                                  "local buffers (its shape is part of the interface)",
                            ", ".join(_locals(ctx, buf)) or "(the function has no local buffers)")
    old = buf.shape
    if _prod(old) != _prod(shape):
        raise ctx.error("shape", f"{list(shape)} has {_prod(shape)} elements but '{buf.name}' {old} has "
                                 f"{_prod(old)}", f"shapes with {_prod(old)} elements")
    users = [u.owner.operation if hasattr(u.owner, "operation") else u.owner for u in buf.value.uses]
    bad = [u.name for u in users if u.name not in ("affine.load", "affine.store", "memref.dealloc")]
    if bad:
        raise ctx.error("buffer", f"'{buf.name}' is used by {bad[0]}; reshape rewrites affine loads and "
                                  "stores only", None)
    old_s, new_s = _strides(old), _strides(shape)
    for op in users:
        if op.name == "memref.dealloc":
            continue
        amap, _ = U.access_map(op)
        linear = sum((e * s for e, s in zip(amap.results, old_s)), ir.AffineConstantExpr.get(0))
        exprs = []
        for k, (extent, stride) in enumerate(zip(shape, new_s)):
            e = ir.AffineExpr.get_floor_div(linear, ir.AffineConstantExpr.get(stride)) if stride > 1 else linear
            exprs.append(e % extent if k > 0 else e)
        op.attributes["map"] = ir.AffineMapAttr.get(ir.AffineMap.get(amap.n_dims, amap.n_symbols, exprs))
    buf.value.set_type(ir.MemRefType.get(list(shape), buf.type.element_type))


def _locals(ctx, buf):
    from .. import names as N

    return [n for n, b in N.buffers_of(buf.func_op, buf.func).items() if b.kind == "alloc"
            and b.op.name != "memref.get_global"]


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


# -- buffer_at --------------------------------------------------------------------------------------------
@primitive(Param("buffer", "buffer"), Param("loop", "loop"), cleanup=True)
def buffer_at(ctx, buffer, loop):
    """Accumulate into a local buffer under ``loop``: an init loop copies the part of ``buffer`` the loop body
    touches into ``<buffer>_buf``, the body uses the local copy, and a write-back loop stores it back.
    The copy loops are named ``<buffer>_buf_init_<k>`` and ``<buffer>_buf_back_<k>`` (a second local buffer
    of the same buffer gets ``<buffer>_buf_1`` and so on), so they can be scheduled like any loop.

    Before::                               After ``s.buffer_at(s.C, "i")``::

        for i: for j: for k:                   for i:
            C[i, j] += A[i, k] * B[k, j]           for j: C_buf[j] = C[i, j]
                                                   for j: for k: C_buf[j] += A[i, k] * B[k, j]
                                                   for j: C[i, j] = C_buf[j]
    """
    buf, op = ctx.buffer(buffer), ctx.loop(loop)
    pat = Pattern.of(ctx, buf, op, "buffer")
    local_shape = [buf.shape[d] for d in pat.varying] or [1]
    name = unique_name(buf.func_op, f"{buf.name}_buf")
    local = entry_alloc(op, local_shape, buf.type.element_type, name, buf.dsl_type)
    loc = op.location
    body = U.body(op)

    def copy(dst_global: bool, ip, role):
        def inner(ivs):
            g_map, g_ops = pat.global_map(ivs)
            l_map = ir.AffineMap.get(len(ivs), 0, [U.dim(i) for i in range(len(ivs))] or
                                     [ir.AffineConstantExpr.get(0)])
            if dst_global:
                v = affine.AffineLoadOp(buf.type.element_type, local, ivs, l_map).result
                affine.AffineStoreOp(v, buf.value, g_ops, g_map)
            else:
                v = affine.AffineLoadOp(buf.type.element_type, buf.value, g_ops, g_map).result
                affine.AffineStoreOp(v, local, ivs, l_map)
        copy_nest(ip, loc, [buf.shape[d] for d in pat.varying], f"{name}_{role}", inner)

    for acc in pat.accesses:
        kept = [acc.map.results[d] for d in pat.varying] or [ir.AffineConstantExpr.get(0)]
        set_access(acc.op, local, ir.AffineMap.get(acc.map.n_dims, acc.map.n_symbols, kept))
    copy(False, ir.InsertionPoint.at_block_begin(body), "init")
    copy(True, ir.InsertionPoint(U.block_ops(body)[-1]), "back")
    return ctx.buffer_handle(ctx.buffer(f"{U_func(op)}:{name}"))


def _outer_expr(acc, outer: dict):
    """The outer-loop part of an access's sliding index, as an expression over the access's own operands."""
    e = ir.AffineConstantExpr.get(0)
    nd = acc.map.n_dims
    for v, c in outer.items():
        k = next(k for k, o in enumerate(acc.operands) if o == v)
        e = e + (U.dim(k) if k < nd else ir.AffineSymbolExpr.get(k - nd)) * c
    return e


def U_func(op):
    from ..registry import func_name_of

    return func_name_of(op)


# -- reuse_at ---------------------------------------------------------------------------------------------
@primitive(Param("buffer", "buffer"), Param("loop", "loop"), cleanup=True)
def reuse_at(ctx, buffer, loop):
    """Make a reuse buffer for the sliding-window reads of ``buffer`` along ``loop``: it keeps the window of
    ``K`` positions the body reads (``K`` = the spread of offsets), refilled whole on the loop's first
    iteration and shifted by one with one new slice loaded on every other iteration (a strided window,
    ``A[2 * y + r]``, shifts by the stride and loads that many slices). A dimension the reads index at several
    loop-invariant places (a diagonal or cross stencil seen from the inner loop) is kept whole. Reads go to the
    new buffer ``<buffer>_reuse_<loop>``, which is returned; call ``reuse_at`` on it again to chain a line
    buffer into a window buffer. Its copy loops are ``<new buffer>_fill_<k>`` (first iteration),
    ``<new buffer>_shift_<k>`` and ``<new buffer>_load_<k>`` (the others).

    Before::                               After ``s.reuse_at(s.A, "y")`` (line buffer, K = 3)::

        for y: for x: for r: for c:            for y:
            B[y, x] += A[y + r, x + c]             if y == 0: LB[k, :] = A[y + k, :]  for k < 3
                                                   else: LB[k, :] = LB[k + 1, :] for k < 2; LB[2, :] = A[y + 2, :]
                                                   for x: for r: for c: B[y, x] += LB[r, x + c]
    """
    buf, op = ctx.buffer(buffer), ctx.loop(loop)
    if op.name != "affine.for" or U.const_bounds(op) is None or U.const_bounds(op)[2] != 1:
        raise ctx.error("loop", "reuse_at needs an affine loop with constant bounds and step 1",
                        ", ".join(N.qualified(lp) for lp in U.collect(U.parent_op(op) or op, U.is_loop)
                                  if lp.name == "affine.for" and (U.const_bounds(lp) or (0, 0, 0))[2] == 1))
    pat = Pattern.of(ctx, buf, op, "buffer", sliding=True)
    lb = U.const_bounds(op)[0]
    window, stride = pat.hi - pat.lo + 1, pat.stride
    if stride >= window:
        raise ctx.error("loop", f"the window of '{buf.name}' along '{U.str_attr(op, 'loop_name')}' is {window} "
                                f"wide and moves by {stride}: consecutive iterations share no element to reuse",
                        None)
    dims = sorted(pat.varying + [pat.slide])
    shape = [window if d == pat.slide else buf.shape[d] for d in dims]
    s_pos = dims.index(pat.slide)
    name = unique_name(buf.func_op, f"{buf.name}_reuse_{U.str_attr(op, 'loop_name').replace('.', '_')}")
    reuse = entry_alloc(op, shape, buf.type.element_type, name, buf.dsl_type)
    elem, loc, i = buf.type.element_type, op.location, U.iv(op)
    for acc in pat.accesses:
        exprs = [acc.map.results[d] for d in dims]
        exprs[s_pos] = exprs[s_pos] - U.dim(acc.iv_pos) * stride - pat.lo - _outer_expr(acc, pat.outer)
        set_access(acc.op, reuse, ir.AffineMap.get(acc.map.n_dims, acc.map.n_symbols, exprs))

    def fill(ip, k_from, k_to, shift, role):
        extents = [k_to - k_from if d == pat.slide else buf.shape[d] for d in dims]

        def inner(ivs):
            n = len(ivs)
            r_ex = [U.dim(j) + k_from if j == s_pos else U.dim(j) for j in range(n)]
            r_map = ir.AffineMap.get(n, 0, r_ex)
            if shift:
                src = ir.AffineMap.get(n, 0, [e + stride if j == s_pos else e for j, e in enumerate(r_ex)])
                v = affine.AffineLoadOp(elem, reuse, ivs, src).result
            else:  # global index: fixed dims as in the body, the slide at i + lo + k
                offsets = {d: ivs[j] for j, d in enumerate(dims)}
                g_map, g_ops = pat.global_map_with(offsets, i, pat.lo + k_from)
                v = affine.AffineLoadOp(elem, buf.value, g_ops, g_map).result
            affine.AffineStoreOp(v, reuse, ivs, r_map)
        copy_nest(ip, loc, extents, f"{name}_{role}", inner)

    # scf.if on ``i == lb`` (dsl/IR.md: the dsl never produces affine.if, which the backends do not read)
    with loc, ir.InsertionPoint.at_block_begin(U.body(op)):
        first = arith.CmpIOp(arith.CmpIPredicate.eq, i, arith.ConstantOp(ir.IndexType.get(), lb).result).result
        guard = scf.IfOp(first, [], has_else=True)
        for blk in (guard.then_block, guard.else_block):
            with ir.InsertionPoint(blk):
                scf.YieldOp([])
    fill(ir.InsertionPoint(U.block_ops(guard.then_block)[-1]), 0, window, False, "fill")
    # every other iteration: keep the window - stride slices still needed, load the stride new ones
    fill(ir.InsertionPoint(U.block_ops(guard.else_block)[-1]), 0, window - stride, True, "shift")
    fill(ir.InsertionPoint(U.block_ops(guard.else_block)[-1]), window - stride, window, False, "load")
    return ctx.buffer_handle(ctx.buffer(f"{U_func(op)}:{name}"))
