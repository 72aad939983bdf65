"""Access analysis shared by buffer_at and reuse_at: how a buffer is indexed inside a loop."""
from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import affine, memref

from .. import irutil as U
from .. import names as N


@dataclass
class Access:
    op: object
    map: ir.AffineMap
    operands: list
    iv_pos: int = -1  # dim position of the loop's induction variable (reuse_at)
    stride: int = 1  # the coefficient of that variable in the sliding index (reuse_at)
    outer: dict = None  # terms of the sliding index from outside the loop: {value: coefficient}


def used_positions(expr, out=None) -> set:
    out = set() if out is None else out
    expr = expr.maybe_downcast()
    if isinstance(expr, ir.AffineDimExpr):
        out.add(("d", expr.position))
    elif isinstance(expr, ir.AffineSymbolExpr):
        out.add(("s", expr.position))
    elif not isinstance(expr, ir.AffineConstantExpr):
        b = ir.AffineBinaryExpr(expr)
        used_positions(b.lhs, out)
        used_positions(b.rhs, out)
    return out


def _operand(acc: Access, pos):
    kind, k = pos
    return acc.operands[k if kind == "d" else acc.map.n_dims + k]


class Pattern:
    """Per dimension of ``buf`` inside ``loop``: fixed (same for the whole loop body), varying (moves with
    inner loops: the local copy spans the whole extent) or the sliding dimension ``loop + offset``."""

    @classmethod
    def of(cls, ctx, buf, loop, arg, sliding=False):
        self = cls()
        self.buf, self.loop, self.ctx = buf, loop, ctx
        users = [u.owner.operation if hasattr(u.owner, "operation") else u.owner for u in buf.value.uses]
        inside = [u for u in users if U.is_inside(u, loop)]
        if not inside:
            around = {N.qualified(lp): None for u in users for lp in U.enclosing_loops(u)}
            raise ctx.error("loop", f"'{buf.name}' is not accessed inside loop "
                                    f"'{U.str_attr(loop, 'loop_name')}'", ", ".join(around) or "(it is in no loop)")
        for u in inside:
            if u.name not in ("affine.load", "affine.store"):
                raise ctx.error(arg, f"'{buf.name}' is used by {u.name} inside the loop; only affine loads and "
                                     "stores can be redirected", None)
            if sliding and u.name == "affine.store":
                raise ctx.error(arg, f"'{buf.name}' is written inside the loop; reuse_at needs a read-only "
                                     "buffer", None)
        self.accesses = [Access(u, *U.access_map(u)) for u in inside]
        kinds = [self._classify(a, sliding) for a in self.accesses]
        if any(k != kinds[0] for k in kinds):
            raise ctx.error(arg, f"the accesses to '{buf.name}' inside the loop index it in different ways "
                                 f"({', '.join(str(a.map) for a in self.accesses)})", None)
        kinds = kinds[0]
        self.fixed = [d for d, k in enumerate(kinds) if k == "fixed"]
        self.mb = U.MapBuilder()
        exprs = [self._fixed_exprs(a) for a in self.accesses]
        # a dimension the accesses index at different loop-invariant places (A[y, x], A[y + 1, x + 1] seen
        # from the x loop, a diagonal or cross stencil) is copied whole, like one an inner loop moves along
        spread = {d for k, d in enumerate(self.fixed) if any(e[k] != exprs[0][k] for e in exprs)}
        kinds = ["varying" if d in spread else k for d, k in enumerate(kinds)]
        self.fixed = [d for d in self.fixed if d not in spread]
        self.varying = [d for d, k in enumerate(kinds) if k == "varying"]
        self.mb = U.MapBuilder()
        exprs = [self._fixed_exprs(a) for a in self.accesses]
        self.fixed_exprs = dict(zip(self.fixed, exprs[0]))
        if sliding:
            slides = [d for d, k in enumerate(kinds) if k == "slide"]
            if len(slides) != 1:
                raise ctx.error(arg, f"the reads of '{buf.name}' are not a sliding window along loop "
                                     f"'{U.str_attr(loop, 'loop_name')}': reuse_at needs exactly one index of "
                                     f"the form {U.str_attr(loop, 'loop_name')} + offset "
                                     f"(found {len(slides)})", None)
            self.slide = slides[0]
            strides = {a.stride for a in self.accesses}
            if len(strides) != 1:
                raise ctx.error(arg, f"the reads of '{buf.name}' move along loop '{U.str_attr(loop, 'loop_name')}' "
                                     f"with different strides ({', '.join(map(str, sorted(strides)))})", None)
            self.stride = strides.pop()
            self.outer = self.accesses[0].outer
            if any(a.outer != self.outer for a in self.accesses):
                raise ctx.error(arg, f"the reads of '{buf.name}' along loop '{U.str_attr(loop, 'loop_name')}' are "
                                     "offset by different outer-loop terms", None)
            self.lo = min(a.lo for a in self.accesses)
            self.hi = max(a.hi for a in self.accesses)
        return self

    def _classify(self, acc, sliding):
        i = U.iv(self.loop)
        kinds = []
        for expr in acc.map.results:
            used = [_operand(acc, p) for p in used_positions(expr)]
            inner = any(U.defined_inside(v, self.loop) and v != i for v in used)
            if sliding and i in used:
                kinds.append(self._slide(acc, expr))
            else:
                kinds.append("varying" if inner or i in used and sliding else "fixed")
        return kinds

    def _slide(self, acc, expr):
        i = U.iv(self.loop)
        form = U.linear_form(expr, acc.operands)
        if form is None or not isinstance(form[0].get(i), int) or form[0][i] < 1:
            return "bad-slide"
        acc.stride = form[0][i]  # a strided window (y * 2 + r) moves by the stride per iteration
        lo = hi = form[1]
        acc.outer = {}
        for v, c in form[0].items():
            if v == i:
                continue
            if not U.defined_inside(v, self.loop):  # an outer loop or symbol: fixed while the window slides
                acc.outer[v] = c
                continue
            owner = v.owner
            loop = owner.owner.operation if isinstance(owner, ir.Block) else None
            b = U.const_bounds(loop) if loop is not None and loop.name == "affine.for" else None
            if b is None or not U.is_inside(loop, self.loop):
                return "bad-slide"
            first, last = b[0], b[0] + (U.trip_count(loop) - 1) * b[2]
            lo, hi = lo + min(c * first, c * last), hi + max(c * first, c * last)
        acc.lo, acc.hi = lo, hi
        acc.iv_pos = next(k for k, v in enumerate(acc.operands[:acc.map.n_dims]) if v == i)
        return "slide"

    def _fixed_exprs(self, acc):
        nd = acc.map.n_dims
        dims = [self.mb.dim_of(v) for v in acc.operands[:nd]]
        syms = [self.mb.dim_of(v) for v in acc.operands[nd:]]
        return [U.substitute(acc.map.results[d], dims, syms) for d in self.fixed]

    def global_map_with(self, positions: dict, base=None, offset=0):
        """Map + operands indexing the original buffer: fixed dims as in the body, ``positions[d]`` (a value)
        for the others; the sliding dim adds ``stride * base + offset``."""
        mb = U.MapBuilder()
        mb.operands = list(self.mb.operands)
        exprs = []
        for d in range(len(self.buf.shape)):
            if d in self.fixed_exprs:
                exprs.append(self.fixed_exprs[d])
            elif base is not None and d == getattr(self, "slide", None):
                e = mb.dim_of(base) * getattr(self, "stride", 1) + mb.dim_of(positions[d]) + offset
                for v, c in getattr(self, "outer", {}).items():
                    e = e + mb.dim_of(v) * c
                exprs.append(e)
            else:
                exprs.append(mb.dim_of(positions[d]))
        return mb.map(exprs), mb.operands

    def global_map(self, ivs):
        return self.global_map_with(dict(zip(self.varying, ivs)))


def set_access(op, memref_value, amap):
    op.operands[0 if op.name == "affine.load" else 1] = memref_value
    op.attributes["map"] = ir.AffineMapAttr.get(amap)


def copy_nest(ip, loc, extents, name, inner):
    """Loops ``0..extent`` for each extent (named ``<name>_<k>``); ``inner(ivs)`` fills the innermost body."""
    specs = [U.LoopSpec(ir.AffineMap.get_constant(0), [], ir.AffineMap.get_constant(e), [], 1,
                        {"loop_name": ir.StringAttr.get(f"{name}_{k}")}) for k, e in enumerate(extents)]
    loops = U.build_nest(specs, ip, loc)
    where = ir.InsertionPoint(U.block_ops(U.body(loops[-1]))[-1]) if loops else ip
    with loc, where:
        inner([U.iv(lp) for lp in loops])


def unique_name(func_op, base: str) -> str:
    """``base``, or ``base_1``, ``base_2``... when a buffer of the function already has that name."""
    from ..names import buffers_of

    taken = set(buffers_of(func_op, ""))
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def entry_alloc(near, shape, element, name, dsl_type=None):
    """A new local buffer at the start of the function holding ``near``."""
    func = near
    while func.name != "func.func":
        func = U.parent_op(func)
    entry = func.regions[0].blocks[0]
    with near.location:
        op = memref.AllocOp(ir.MemRefType.get(list(shape), element), [], [],
                            ip=ir.InsertionPoint.at_block_begin(entry)).operation
    U.set_str(op, "dsl.name", name)
    if dsl_type:
        U.set_str(op, "dsl.type", dsl_type)
    return op.results[0]
