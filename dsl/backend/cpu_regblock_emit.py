"""Emitting the register-blocked form of a k loop that ``cpu_regblock.plan`` accepted (see that module)."""
from __future__ import annotations

from mlir import ir
from mlir.dialects import affine, arith, vector

from .cpu_deps import _map_operands, _same_access

_LOOP_ATTRS = ("lowerBoundMap", "upperBoundMap", "step", "operandSegmentSizes")


def rewrite(p) -> None:
    """Replace the nest (``p.kloop``, or with whole rows ``p.outer``) by block loops around (the
    accumulators' initial vectors, the k loop carrying them, their vector stores); with packed panels
    (``cpu_regblock_cache``) their fill at the start of each column block."""
    from . import cpu_regblock_cache as cache
    from .cpu_regblock import MARK

    ib, nb = p.block
    lanes = p.lanes
    anchor = p.outer if p.outer is not None else p.kloop
    jops = _jops(p)
    packs = cache.panels(p, jops, _dependences(p, jops), anchor)
    with anchor.location, ir.InsertionPoint(anchor):
        panels = {n: cache.alloc_panel(p, jops[n]) for n in packs}
        bj = _block_loop(p.vectors // nb)   # columns outside rows: a block of B stays in L1 over the rows
        with _inside(bj):
            cols = [_index(bj, nb * lanes, c * lanes) for c in range(nb)]
            for n, panel in panels.items():
                cache.fill_panel(p, jops[n], panel, cols, _vector(jops[n].results[0].type, lanes))
            bi = _block_loop(p.rows // ib)
            with _inside(bi):
                _block(p, [_index(bi, ib, r) for r in range(ib)], cols, panels, MARK)
    anchor.operation.erase()


def _block(p, rows, cols, panels, mark) -> None:
    """One block: its accumulators' initial vectors, the k loop carrying them, their vector stores."""
    acc_type = _vector(p.store.operands[0].type, p.lanes)
    tile = [(r, c) for r in range(len(rows)) for c in range(len(cols))]
    if p.outer is None:
        init = [_access(p, p.store, rows[r], cols[c], None, {}, acc_type) for r, c in tile]
    else:   # every accumulator starts from the init loop's value
        init = [vector.broadcast(acc_type, _init_scalar(p.init_value))] * len(tile)
    k = _k_loop(p.kloop, init)
    k.attributes[mark] = ir.StringAttr.get(f"{len(rows)}x{len(cols)}x{p.lanes}")
    with ir.InsertionPoint(k.body):
        step = _Step(p, k, rows, cols, panels)
        new = [step.element(r, c, k.inner_iter_args[n]) for n, (r, c) in enumerate(tile)]
        affine.AffineYieldOp(new)
    target = p.store if p.outer is None else p.out_store
    for n, (r, c) in enumerate(tile):
        indices = _indices(p, p.store, rows[r], cols[c], None, {}) if p.outer is None else \
            _row_indices(p, rows[r], cols[c])
        affine.vector_store(k.results[n], target.operands[1], indices, target.attributes["map"])


def _jops(p):
    """The operations of the j body."""
    return [op for op in p.jloop.regions[0].blocks[0].operations if op.operation.name != "affine.yield"]


def _inside(loop):
    """The insertion point at the start of ``loop``'s body (None: the current one)."""
    return ir.InsertionPoint(loop.body.operations[0]) if loop is not None else _here()


def _init_scalar(value):
    """The initial value where the new nest is: a constant of the init loop is made again."""
    owner = value.owner
    if not isinstance(owner, ir.Block) and owner.operation.name == "arith.constant":
        return owner.operation.clone().results[0]
    return value


def _row_indices(p, row, col):
    """The row store's map operands with the outer loop's variable and the copy loop's replaced."""
    i_iv, j_iv = (loop.regions[0].blocks[0].arguments[0] for loop in (p.outer, p.out_jloop))
    return [row if v == i_iv else col if v == j_iv else v for v in _map_operands(p.out_store)]


class _here:
    """No new insertion point (the one already current)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _block_loop(count: int):
    """``affine.for b = 0 to count`` with an empty body (None for one block: no loop)."""
    if count == 1:
        return None
    loop = affine.AffineForOp(0, count, 1)
    with ir.InsertionPoint(loop.body):
        affine.AffineYieldOp([])
    return loop


def _index(loop, scale: int, offset: int):
    """``loop's iv * scale + offset`` as an index (a constant without the loop)."""
    if loop is None:
        return arith.constant(ir.IndexType.get(), offset)
    amap = ir.AffineMap.get(1, 0, [ir.AffineExpr.get_dim(0) * scale + offset])
    return affine.apply(amap, [loop.induction_variable])


def _vector(t, lanes: int):
    return ir.VectorType.get([lanes], t)


def _k_loop(old, init):
    """A copy of ``old``'s header (bounds, step, attributes) carrying ``init``."""
    attrs = old.attributes
    lower, upper = (ir.AffineMapAttr(attrs[n]).value for n in ("lowerBoundMap", "upperBoundMap"))
    operands = list(old.operation.operands)
    new = affine.AffineForOp(lower, upper, ir.IntegerAttr(attrs["step"]).value, iter_args=init,
                             lower_bound_operands=operands[:lower.n_inputs],
                             upper_bound_operands=operands[lower.n_inputs:])
    for name in [a if isinstance(a, str) else a.name for a in attrs]:
        if name not in _LOOP_ATTRS:
            new.attributes[name] = attrs[name]
    return new


def _indices(p, op, row, col, k_iv, mapped):
    """The map operands of access ``op`` with i, j, k and the step's values replaced by their new values."""
    from .cpu_regblock import _Roles

    roles = _Roles(p.kloop, p.prefix, p.iloop, p.jloop)
    new = []
    for v in _map_operands(op):
        role = roles.of(v)
        new.append({"i": row, "j": col, "k": k_iv}.get(role) if role in ("i", "j", "k") else
                   _lookup(mapped, v) if role == "prefix" else v)
    return new


def _access(p, op, row, col, k_iv, mapped, vtype):
    return affine.vector_load(vtype, op.operands[0] if op.operation.name == "affine.load" else op.operands[1],
                              _indices(p, op, row, col, k_iv, mapped), op.attributes["map"])


def _lookup(pairs, value):
    for old, new in pairs.items() if isinstance(pairs, dict) else pairs:
        if old == value:
            return new
    return value


class _Step:
    """The body of the new k loop: the step's own operations once, then the j body per tile element, each
    operation emitted once per (row, vector) it depends on (a load fixed in j once per row, B's vector once
    per column of vectors)."""

    def __init__(self, p, k, rows, cols, panels):
        self.p, self.k, self.rows, self.cols, self.panels = p, k, rows, cols, panels
        self.lanes = p.lanes
        self.memo = {}        # (position in the j body, row or None, column or None) -> ("vec" | "scl", value)
        self.broadcasts = []  # (scalar, vector): each scalar broadcast once
        self.jops = _jops(p)
        self.deps = _dependences(p, self.jops)
        old_k = p.kloop.regions[0].blocks[0].arguments[0]
        base = [(old_k, k.induction_variable)]
        # the step's own operations: once, or once per row when they read the row (whole rows: A[i, k]);
        # what they store is forwarded to the j body's loads of it (the row's own value)
        self.row_pairs, self.stored = [], []
        for r in range(len(rows)) if p.outer is not None else [0]:
            pairs = base + ([(p.outer.regions[0].blocks[0].arguments[0], rows[r])] if p.outer is not None else [])
            stored = []
            for op in p.prefix:
                copy = op.operation.clone()
                for n, v in enumerate(copy.operands):
                    copy.operands[n] = _lookup(pairs, v)
                pairs += list(zip(op.operation.results, copy.results))
                if op.operation.name == "affine.store":
                    stored.append((op, copy.operands[0]))
            self.row_pairs.append(pairs)
            self.stored.append(stored)
        if p.outer is None:
            self.row_pairs *= len(rows)
            self.stored *= len(rows)

    def element(self, r, c, acc):
        """Emit the j body for tile element (r, c) whose accumulator is ``acc``; return its new value."""
        values = []  # (old result, (kind, new value)) of this element's j body
        self.pairs = self.row_pairs[r]
        for n, op in enumerate(self.jops):
            uses_i, uses_j = self.deps[n]
            key = (n, r if uses_i else None, c if uses_j else None)
            if self.p.reads_acc(op):
                got = ("vec", acc)
            elif op.operation == self.p.store.operation:
                return self._as_vector(self._operand(op.operands[0], values))
            elif key in self.memo:
                got = self.memo[key]
            else:
                got = self.memo[key] = self._emit(op, r, c, values)
            values.append((op.operation.results[0], got))
        raise AssertionError("the j body has no store")  # plan() found exactly one

    def _operand(self, v, values):
        for old, got in values:
            if old == v:
                return got
        return ("scl", _lookup(self.pairs, v))

    def _emit(self, op, r, c, values):
        name = op.operation.name
        if name == "affine.load":
            for st, value in self.stored[r]:   # a local the step just stored: its value
                if st.operands[1] == op.operands[0] and _same_access(st, op):
                    return "scl", value
            position = self.jops.index(op)
            moves = self.deps[position][1]
            if position in self.panels:   # its vector of the packed panel (cpu_regblock_cache)
                from .cpu_regblock_cache import panel_map

                vtype = _vector(op.results[0].type, self.lanes)
                return "vec", affine.vector_load(vtype, self.panels[position], [self.k.induction_variable],
                                                 panel_map(c * self.lanes))
            indices = _indices(self.p, op, self.rows[r], self.cols[c], self.k.induction_variable, self.pairs)
            memref = _lookup(self.pairs, op.operands[0])   # (a view the step made: its copy)
            if moves:
                vtype = _vector(op.results[0].type, self.lanes)
                return "vec", affine.vector_load(vtype, memref, indices, op.attributes["map"])
            copy = op.operation.clone()
            copy.operands[0] = memref
            for n, v in enumerate(indices):
                copy.operands[1 + n] = v
            return "scl", copy.results[0]
        operands = [self._operand(v, values) for v in op.operation.operands]
        attrs = {a if isinstance(a, str) else a.name: op.operation.attributes[a if isinstance(a, str) else a.name]
                 for a in op.operation.attributes}
        if all(kind == "scl" for kind, _ in operands):
            t = op.operation.results[0].type
            made = ir.Operation.create(name, results=[t], operands=[v for _, v in operands], attributes=attrs)
            return "scl", made.results[0]
        t = _vector(op.operation.results[0].type, self.lanes)
        made = ir.Operation.create(name, results=[t], operands=[self._as_vector(o) for o in operands],
                                   attributes=attrs)
        return "vec", made.results[0]

    def _as_vector(self, got):
        kind, v = got
        if kind == "vec":
            return v
        for scalar, vec in self.broadcasts:
            if scalar == v:
                return vec
        vec = vector.broadcast(_vector(v.type, self.lanes), v)
        self.broadcasts.append((v, vec))
        return vec


def _dependences(p, jops):
    """For each operation of the j body: (depends on i, depends on j)."""
    from .cpu_regblock import _Roles

    roles = _Roles(p.kloop, p.prefix, p.iloop, p.jloop)
    per_row = p.outer is not None   # the step's values are the row's (A[i, k])
    stored = [op.operands[1] for op in p.prefix if op.operation.name == "affine.store"]
    deps, results = [], []
    for op in jops:
        if p.reads_acc(op):
            dep = (True, True)
        elif op.operation.name in ("affine.load", "affine.store"):
            names = {roles.of(v) for v in _map_operands(op)}
            local = per_row and any(op.operands[0] == m for m in stored)
            dep = ("i" in names or local or per_row and "prefix" in names, "j" in names)
        else:
            dep = (False, False)
        for v in op.operation.operands:
            if per_row and roles.of(v) == "prefix":
                dep = (True, dep[1])
            for old, d in results:
                if old == v:
                    dep = (dep[0] or d[0], dep[1] or d[1])
        deps.append(dep)
        results += [(r, dep) for r in op.operation.results]
    return deps
