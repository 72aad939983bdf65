"""CPU-only: an accumulation over a reduction loop keeps its accumulators in vector registers.

The GEMM cores are written for the hardware: the PE tile (``for k: for i, j in grid(MT, NT): C[i, j] +=
At[k, i] * Bt[k, j]``, ``pe.tile``) and matmul's row (``for k: a = A[i, k]; for j: acc[j] += a * B[k, j]``,
``linalg.matmul_into``) update a buffer of accumulators at every k step. On the CPU each step then loads and
stores the whole tile again (LLVM cannot keep a loop's worth of buffer elements in registers), about three
memory operations per multiply-add. This pass rewrites such a nest (the JIT's private copy only; the
schedule's module and the HLS code are untouched) so that the tile lives in vector registers for the whole
k loop, as a hand-written CPU GEMM kernel holds it:

    for each block of IB rows x NB vectors of L lanes of the tile:      (one block when the tile fits)
        acc = vector loads of the block of C
        for k, carrying acc:
            the k step's own operations (``a = A[i, k]``), then for each row r and vector c of the block the
            j body on vectors: a load moving with j (unit stride) is a vector load, one fixed in j a scalar
            broadcast to every lane, the load of C[i, j] is acc[r][c] and its store the new acc[r][c]
        vector stores of acc into the block of C

Every element of C goes through the same operations in the same k order (a lane of a vector operation
rounds as the scalar operation does, and nothing is contracted into a fused multiply-add), so results are
the same bits, floats included. The conditions (``plan``) make that hold: the tile C[i, j] does not move
with k, each (i, j) is its own element (j with coefficient 1 in the last subscript, i in another), nothing
else in the k loop touches C's buffer (``cpu_noalias`` proves the other buffers distinct), and the j body
is loads, element-wise arithmetic and the one store.
"""
from __future__ import annotations

from mlir import ir

from ..frontend.narrow import walk_ops
from .cpu_deps import _defined_outside, _linear, _map_operands, _same_access
from .cpu_noalias import module_roots



def _host_registers() -> tuple[int, int]:
    """(bits, count) of the host's vector registers (the JIT compiles for the host CPU): AVX-512 has 32
    of 512 bits, AVX2 16 of 256. Read from Linux's CPU flags; elsewhere assume AVX2."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line.split() for line in info if line.startswith("flags")), [])
    except OSError:
        flags = []
    return (512, 32) if "avx512f" in flags else (256, 16)


VECTOR_BITS, VECTOR_REGISTERS = _host_registers()
MIN_LANES = 4                              # a narrower vector is not worth the rewrite
MAX_ACCUMULATORS = VECTOR_REGISTERS // 2   # registers holding the tile: the rest hold operands and products
MARK = "dsl.cpu_register_block"   # "IBxNBxL" on the rewritten k loop (tests read it)
_LOOP_ATTRS = ("lowerBoundMap", "upperBoundMap", "step", "operandSegmentSizes")
# j-body operations that act lane by lane on vectors exactly as on scalars (integer division is excluded:
# x86 has no vector divider, and guard_integer_division's selects around it must stay scalar-exact anyway)
_ELEMENTWISE = frozenset({
    "arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.negf", "arith.maximumf", "arith.minimumf",
    "arith.addi", "arith.subi", "arith.muli", "arith.andi", "arith.ori", "arith.xori", "arith.shli",
    "arith.shrsi", "arith.shrui", "arith.maxsi", "arith.minsi", "arith.maxui", "arith.minui",
    "arith.extsi", "arith.extui", "arith.trunci", "arith.sitofp", "arith.uitofp", "arith.extf",
    "arith.truncf", "arith.cmpi", "arith.cmpf", "arith.select"})
_SCALARS = {"f32": 32, "f64": 64, "i1": 1, "i8": 8, "i16": 16, "i32": 32, "i64": 64}


class _Plan:
    """What the rewrite of one k loop needs."""

    def __init__(self, kloop, prefix, iloop, jloop, store, acc_loads, lanes, rows, vectors, block, roots):
        self.kloop, self.prefix, self.iloop, self.jloop = kloop, prefix, iloop, jloop
        self.roots = roots   # cpu_noalias's roots of the module's buffers
        self.store, self.acc_loads, self.lanes = store, acc_loads, lanes
        self.rows, self.vectors, self.block = rows, vectors, block   # MT, NT // L, (IB, NB)

        self.outer = self.init_value = self.out_store = self.out_jloop = None   # (rows of an outer loop)

    def reads_acc(self, op) -> bool:
        return any(op.operation == load.operation for load in self.acc_loads)


def register_block(module: ir.Module) -> int:
    """Rewrite every qualifying nest of ``module`` (whole rows of an outer loop first, then k loops);
    returns how many."""
    from .cpu_regblock_emit import rewrite

    inline_steps(module)
    done = 0
    for planner in (plan_rows, plan):
        roots = module_roots(module)
        plans = [p for p in (planner(op.opview, roots) for op in walk_ops(module.operation)
                             if op.name == "affine.for") if p is not None]
        for p in plans:  # (a planned nest holds no other planned loop: its inner loops fail the planner)
            rewrite(p)
        done += len(plans)
    return done


# -- the PE step inlined where a loop calls it --------------------------------------------------------

def inline_steps(module: ir.Module) -> int:
    """Inline (in MLIR) the calls of ``dsl.inline`` functions that sit directly in a loop and hold a loop
    nest: the PE step called once per k step. LLVM inlines them anyway (``inline_scheduled_functions``);
    here the k loop and the step's nest become one nest that ``plan`` can see."""
    funcs = {ir.StringAttr(op.attributes["sym_name"]).value: op for op in module.body.operations
             if op.operation.name == "func.func" and len(op.regions[0].blocks) == 1}
    calls = [op for op in walk_ops(module.operation) if op.name == "func.call" and op.parent is not None
             and op.parent.name == "affine.for" and not op.results]
    done = 0
    for call in calls:
        callee = funcs.get(ir.FlatSymbolRefAttr(call.attributes["callee"]).value)
        if callee is None or "dsl.inline" not in callee.attributes or "dsl.top" in callee.attributes:
            continue
        body = callee.regions[0].blocks[0]
        ops = list(body.operations)
        if ops[-1].operation.name != "func.return" or len(ops[-1].operation.operands) \
                or not any(op.operation.name == "affine.for" for op in ops):
            continue
        _inline(call, callee)
        done += 1
    return done


def _inline(call, callee) -> None:
    with ir.InsertionPoint(callee):
        copy = callee.operation.clone()
    block = copy.regions[0].blocks[0]
    for arg, operand in zip(block.arguments, call.operands):
        arg.replace_all_uses_with(operand)
    for op in list(block.operations)[:-1]:
        op.operation.move_before(call)
    copy.erase()
    call.erase()


# -- which k loops qualify ----------------------------------------------------------------------------

def plan(kloop, roots):
    if kloop.results or MARK in kloop.attributes:
        return None
    ops = _body(kloop)
    if not ops or ops[-1].operation.name != "affine.for":
        return None
    prefix, nest = ops[:-1], ops[-1]
    inner = _body(nest)
    iloop, jloop = (nest, inner[0]) if len(inner) == 1 and inner[0].operation.name == "affine.for" else (None, nest)
    if any(_trip(loop) is None or loop.results for loop in (iloop, jloop) if loop is not None):
        return None
    jops = _body(jloop)
    if not all(op.operation.name in _ELEMENTWISE or op.operation.name in ("affine.load", "affine.store",
                                                                          "arith.constant") for op in jops):
        return None
    stores = [op for op in jops if op.operation.name == "affine.store"]
    if len(stores) != 1 or not _scalar_types_ok(jops) or not _prefix_ok(prefix, jops, roots):
        return None
    store = stores[0]
    roles = _Roles(kloop, prefix, iloop, jloop)
    acc = _accumulator(store, jops, roles, iloop is not None)
    if acc is None or not _others_ok(kloop, store, acc, jops, roles, roots):
        return None
    lanes = _lanes(jops, _trip(jloop))
    if lanes is None:
        return None
    rows, vectors = _trip(iloop) if iloop is not None else 1, _trip(jloop) // lanes
    return _Plan(kloop, prefix, iloop, jloop, store, acc, lanes, rows, vectors, _block(rows, vectors), roots)


def _body(loop):
    return [op for op in loop.regions[0].blocks[0].operations if op.operation.name != "affine.yield"]


def _trip(loop):
    """The trip count of a loop from 0 with step 1 and constant bounds, else None."""
    attrs = loop.attributes
    if len(loop.operation.operands) or ir.IntegerAttr(attrs["step"]).value != 1:
        return None
    lower, upper = (ir.AffineMapAttr(attrs[n]).value for n in ("lowerBoundMap", "upperBoundMap"))
    if len(lower.results) != 1 or len(upper.results) != 1:
        return None
    lo, hi = (m.results[0].maybe_downcast() for m in (lower, upper))
    if not isinstance(lo, ir.AffineConstantExpr) or not isinstance(hi, ir.AffineConstantExpr) or lo.value:
        return None
    return hi.value if hi.value > 0 else None


def _scalar_types_ok(jops) -> bool:
    types = [r.type for op in jops for r in op.operation.results]
    types += [ir.MemRefType(op.operation.operands[1 if op.operation.name == "affine.store" else 0].type).element_type
              for op in jops if op.operation.name.startswith("affine.")]
    return all(str(t) in _SCALARS for t in types)


def _lanes(jops, trip):
    """Lanes per vector: a whole register of the widest type, halved until they divide the j trip count."""
    widest = max([_SCALARS[str(r.type)] for op in jops for r in op.operation.results] + [8])
    lanes = VECTOR_BITS // max(widest, 8)
    while lanes >= MIN_LANES and trip % lanes:
        lanes //= 2
    return lanes if lanes >= MIN_LANES else None


def _block(rows: int, vectors: int):
    """(IB, NB): the block of the tile held at once, IB dividing the rows and NB the vectors of a row, as
    many accumulators as fit, and among those the fewest loads per k step (IB broadcasts + NB vectors)."""
    shapes = [(ib, nb) for ib in range(1, rows + 1) if rows % ib == 0
              for nb in range(1, vectors + 1) if vectors % nb == 0 and ib * nb <= MAX_ACCUMULATORS]
    return max(shapes, key=lambda s: (s[0] * s[1], -(s[0] + s[1])))


class _Roles:
    """The role of a value used by an access in the j body: 'i', 'j', 'k', 'prefix' (computed in the k step
    before the nest), 'outside' (fixed while the k loop runs), or None (anything else)."""

    def __init__(self, kloop, prefix, iloop, jloop):
        self.kloop = kloop
        self.ivs = [(loop.regions[0].blocks[0].arguments[0], name)
                    for loop, name in ((kloop, "k"), (iloop, "i"), (jloop, "j")) if loop is not None]
        self.prefix_results = [r for op in prefix for r in op.operation.results]

    def of(self, value):
        for iv, name in self.ivs:
            if value == iv:
                return name
        if any(value == r for r in self.prefix_results):
            return "prefix"
        return "outside" if _defined_outside(value, self.kloop) else None

    def coefficients(self, op):
        """For each subscript of an affine access: {role: coefficient}; None if a subscript is not linear
        or an operand has no role."""
        names = [self.of(v) for v in _map_operands(op)]
        return None if None in names else subscripts_by_name(op, names)


def subscripts_by_name(op, names):
    """For each subscript of affine access ``op``: {name: coefficient}, ``names`` naming its map operands
    (several operands of one name add up); None if a subscript is not linear."""
    amap = ir.AffineMapAttr(op.attributes["map"]).value
    forms = [_linear(e, amap.n_dims) for e in amap.results]
    if any(f is None for f in forms):
        return None
    result = []
    for form in forms:
        by_name = {}
        for pos, c in form.items():
            if pos is not None and c:
                by_name[names[pos]] = by_name.get(names[pos], 0) + c
        result.append(by_name)
    return result


def _unit_in_j(subscripts) -> bool:
    """j moves the access one element along its last subscript and no other."""
    return bool(subscripts) and subscripts[-1].get("j") == 1 and not any(s.get("j") for s in subscripts[:-1])


def _contiguous_last(memref) -> bool:
    t = ir.MemRefType(memref.type)
    if t.rank == 0:
        return False
    strides, _ = t.get_strides_and_offset()
    return strides[-1] == 1


def _accumulator(store, jops, roles, has_i):
    """The loads of C[i, j] that the store updates, if the tile qualifies: indices made of i, j and values
    fixed during the k loop, each (i, j) its own element, the last dimension contiguous."""
    subs = roles.coefficients(store)
    if subs is None or not _unit_in_j(subs) or subs[-1].get("i") or not _contiguous_last(store.operands[1]):
        return None
    if any(set(s) - {"i", "j", "outside"} for s in subs) or has_i and not any(s.get("i") for s in subs):
        return None
    position = [op.operation for op in jops].index(store.operation)
    loads = [(n, op) for n, op in enumerate(jops) if op.operation.name == "affine.load"
             and op.operands[0] == store.operands[1]]
    # every load of C reads C[i, j] before the store (so all of them read the accumulator)
    if not loads or any(n > position or not _same_access(op, store) for n, op in loads):
        return None
    return [op for _, op in loads]


def _others_ok(kloop, store, acc, jops, roles, roots) -> bool:
    """Every other access of the k loop is to a buffer provably distinct from C's, and every load of the
    j body is fixed in j or moves with it at unit stride along a contiguous last dimension."""
    mine = roots.of(store.operands[1])
    if not mine:
        return False
    pair = [store.operation] + [op.operation for op in acc]
    for op in walk_ops(kloop.operation):
        if any(op == mine_op for mine_op in pair):
            continue
        for v in op.operands:
            if isinstance(v.type, ir.MemRefType):
                theirs = roots.of(v)
                if theirs is None or theirs & mine:
                    return False
    for op in jops:
        if op.operation.name == "affine.load" and not any(op.operation == a.operation for a in acc):
            subs = roles.coefficients(op)
            if subs is None:
                return False
            moves = any(s.get("j") for s in subs)
            if moves and not (_unit_in_j(subs) and _contiguous_last(op.operands[0])):
                return False
    return True


_PREFIX_OPS = ("affine.load", "affine.store", "affine.apply", "memref.subview", "memref.cast")


def _prefix_ok(prefix, jops, roots) -> bool:
    """The k step's own operations can run once per block: pure operations and loads, and stores into
    buffers that nothing in the step loads except at exactly the stored element (``a = A[i, k]`` kept in a
    local, read back by the j body), so repeating the step writes and reads the same values."""
    for op in prefix:
        name = op.operation.name
        if op.operation.regions and len(op.operation.regions) or not (
                name in _PREFIX_OPS or name.startswith("arith.") or name.startswith("math.")):
            return False
    stores = [op for op in prefix if op.operation.name == "affine.store"]
    loads = [op for op in list(prefix) + list(jops) if op.operation.name == "affine.load"]
    for st in stores:
        target = roots.of(st.operands[1])
        if not target:
            return False
        for ld in loads:
            theirs = roots.of(ld.operands[0])
            if theirs is None:
                return False
            in_body = any(ld.operation == op.operation for op in jops)
            if theirs & target and not (in_body and ld.operands[0] == st.operands[1] and _same_access(ld, st)):
                return False
    return True


# -- whole rows: an outer loop whose iterations each fill, accumulate and store one row ---------------

def plan_rows(outer, roots):
    """``for i: acc[:] = c; for k: (a row's accumulation, ``plan``); Z[i, :] = acc[:]`` (matmul's rows):
    several rows i are blocked together as well, so that each vector of B loaded at a k step serves IB
    rows (one row alone streams all of B from the L2 cache for each row). Legal because each iteration
    starts ``acc`` afresh and leaves its result only in its own row of Z: ``acc`` and the step's scalar
    locals are used nowhere else (their values are forwarded in registers), and Z is no buffer the nest
    reads."""
    ops = _body(outer)
    if len(ops) != 3 or any(op.operation.name != "affine.for" for op in ops) or outer.results \
            or _trip(outer) is None:
        return None
    init, kloop, out = ops
    p = plan(kloop, roots)
    if p is None or p.iloop is not None or _trip(init) != _trip(p.jloop) or _trip(out) != _trip(p.jloop):
        return None
    i_iv = outer.regions[0].blocks[0].arguments[0]
    acc = p.store.operands[1]
    if any(not _defined_outside(v, outer) for v in _map_operands(p.store) if v != _iv(p.jloop)):
        return None
    value = _init_value(init, p.store, outer)
    out_store = _row_store(out, p.store, outer, i_iv, roots)
    scratch = [acc] + [op.operands[1] for op in p.prefix if op.operation.name == "affine.store"]
    if value is None or out_store is None or not all(_private_to(m, outer) for m in scratch):
        return None
    p.outer, p.iloop, p.init_value, p.out_store, p.out_jloop = outer, outer, value, out_store, out
    p.rows = _trip(outer)
    p.block = _block(p.rows, p.vectors)
    return p


def _iv(loop):
    return loop.regions[0].blocks[0].arguments[0]


def _same_but(op, ref, mine, theirs) -> bool:
    """``op`` accesses what ``ref`` does with loop variable ``mine`` in place of ``theirs``."""
    a, b = _map_operands(op), _map_operands(ref)
    return str(op.attributes["map"]) == str(ref.attributes["map"]) and len(a) == len(b) and \
        all(x == y or (x == mine and y == theirs) for x, y in zip(a, b))


def _init_value(init, acc_store, outer):
    """The value the init loop stores into every accumulator (a constant or a value fixed in ``outer``)."""
    ops = _body(init)
    stores = [op for op in ops if op.operation.name == "affine.store"]
    if len(stores) != 1 or any(op.operation.name not in ("affine.store", "arith.constant") for op in ops):
        return None
    st = stores[0]
    if st.operands[1] != acc_store.operands[1] or not _same_but(st, acc_store, _iv(init), _iv_of_store(acc_store)):
        return None
    v = st.operands[0]
    owner = v.owner
    if isinstance(owner, ir.Block):
        return v if _defined_outside(v, outer) else None
    return v if _defined_outside(v, outer) or owner.operation.name == "arith.constant" else None


def _iv_of_store(acc_store):
    """The j loop variable of the accumulation's store (its operand moving in the last subscript)."""
    op = acc_store.operation
    while op.name != "affine.for":
        op = op.parent
    return op.regions[0].blocks[0].arguments[0]


def _row_store(out, acc_store, outer, i_iv, roots):
    """The store of the copy loop ``Z[f(i), j] = acc[j]`` if it writes row i of a buffer the nest never
    reads, at unit stride in j."""
    ops = _body(out)
    if [op.operation.name for op in ops] != ["affine.load", "affine.store"]:
        return None
    ld, st = ops
    if ld.operands[0] != acc_store.operands[1] or not _same_but(ld, acc_store, _iv(out), _iv_of_store(acc_store)) \
            or st.operands[0] != ld.results[0] or not _contiguous_last(st.operands[1]):
        return None
    names = []
    for v in _map_operands(st):
        names.append("i" if v == i_iv else "j" if v == _iv(out) else "outside" if _defined_outside(v, outer) else None)
    if None in names:
        return None
    subs = subscripts_by_name(st, names)
    if subs is None:
        return None
    subs = [{name: c for name, c in s.items() if name != "outside"} for s in subs]
    if not _unit_in_j(subs) or subs[-1].get("i") or not any(s.get("i") for s in subs[:-1]):
        return None
    mine = roots.of(st.operands[1])
    if not mine:
        return None
    for op in walk_ops(outer.operation):
        if op == st.operation:
            continue
        for v in op.operands:
            if isinstance(v.type, ir.MemRefType):
                theirs = roots.of(v)
                if theirs is None or theirs & mine:
                    return None
    return st


def _private_to(memref, outer) -> bool:
    """``memref`` is a local allocation used only inside ``outer`` (and freed)."""
    owner = memref.owner
    if isinstance(owner, ir.Block) or owner.operation.name not in ("memref.alloc", "memref.alloca"):
        return False
    for use in memref.uses:
        user = use.owner
        user = user.operation if hasattr(user, "operation") else user
        if user.name == "memref.dealloc":
            continue
        inside, op = False, user
        while op is not None:
            if op == outer.operation:
                inside = True
                break
            op = op.parent.operation if op.parent is not None and hasattr(op.parent, "operation") else op.parent
        if not inside:
            return False
    return True
