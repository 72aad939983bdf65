"""The static check of a dataflow design, before anything runs: every stream has one producer and one
consumer, and where trip counts are static the number of tokens put equals the number of tokens got. A
buffer made a stream by ``s.to`` must be written and read element by element in the same order.
Errors name the Python lines of both sides."""
from __future__ import annotations

import os

from mlir import ir

from ..errors import StreamError
from .netlist import Netlist


def _where(loc) -> str:
    return f"{os.path.basename(loc.file)}:{loc.line}" if loc else "?"


def check_netlist(net: Netlist):
    for fifo in net.fifos:
        _check_endpoints(fifo)
        if fifo.numel > 1:
            _check_repeats(fifo)
        _check_counts(fifo)
        if fifo.numel > 1:
            _check_order(fifo)


def _sides(fifo):
    puts = [a for a in fifo.accesses if a.role == "put"]
    gets = [a for a in fifo.accesses if a.role == "get"]
    return puts, gets


def _check_endpoints(fifo):
    puts, gets = _sides(fifo)
    writers = {a.process.label for a in puts}
    readers = {a.process.label for a in gets}
    if not puts and not gets:
        return
    if not gets:
        raise StreamError(f"stream '{fifo.label}' is written by '{sorted(writers)[0]}' ({_where(puts[0].loc)}) "
                          "but no kernel reads it", puts[0].loc)
    if not puts:
        raise StreamError(f"stream '{fifo.label}' is read by '{sorted(readers)[0]}' ({_where(gets[0].loc)}) "
                          "but no kernel writes it: the reader would wait forever", gets[0].loc)
    if len(writers) > 1 or len(readers) > 1:
        raise StreamError(f"stream '{fifo.label}' has writers {sorted(writers)} and readers {sorted(readers)}: "
                          "a stream connects exactly one producer to one consumer", fifo.loc)
    if writers == readers:
        raise StreamError(f"kernel '{next(iter(writers))}' both writes and reads stream '{fifo.label}'", fifo.loc)


def _check_counts(fifo):
    puts, gets = _sides(fifo)
    if not puts or not gets:
        return
    n_put, n_get = _total(puts), _total(gets)
    if n_put is None or n_get is None or n_put == n_get:
        return
    p, g = puts[0], gets[0]
    raise StreamError(
        f"stream '{fifo.label}' (depth {fifo.depth}): producer '{p.process.label}' puts {n_put} token(s) at "
        f"{_where(p.loc)} but consumer '{g.process.label}' gets {n_get} at {_where(g.loc)}",
        p.loc, hint=f"the consumer line is {g.loc}" if g.loc else None)


def static_tokens(fifo) -> int | None:
    """Tokens put into ``fifo`` in one run of the design when every trip count is static, else None."""
    puts, _ = _sides(fifo)
    return _total(puts) if puts else None


def _total(accesses):
    total = 0
    for a in accesses:
        n = trip_product(a.op)
        if n is None:
            return None
        total += n
    return total


def trip_product(op):
    """How many times ``op`` runs per call of its function, when every enclosing construct is a loop with
    constant bounds (None when a branch, a while loop or a dynamic bound is in the way)."""
    count = 1
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        trips = _trip_count(parent)
        if trips is None:
            return None
        count *= trips
        parent = parent.parent
    return count


def _trip_count(loop):
    if loop.name == "affine.for":
        lb = _const_map(loop.attributes["lowerBoundMap"])
        ub = _const_map(loop.attributes["upperBoundMap"])
        step = ir.IntegerAttr(loop.attributes["step"]).value
    elif loop.name == "scf.for":
        lb, ub, step = (_const_value(v) for v in list(loop.operands)[:3])
    else:
        return None
    if lb is None or ub is None or not step:
        return None
    return max(0, -(-(ub - lb) // step))


def _const_map(attr):
    amap = ir.AffineMapAttr(attr).value
    if amap.n_dims or amap.n_symbols or len(amap.results) != 1:
        return None
    expr = amap.results[0]
    return ir.AffineConstantExpr(expr).value if isinstance(expr.maybe_downcast(), ir.AffineConstantExpr) else None


def _const_value(v):
    owner = v.owner
    op = owner.operation if hasattr(owner, "operation") else owner
    if getattr(op, "name", None) != "arith.constant":
        return None
    return ir.IntegerAttr(op.attributes["value"]).value


def _check_repeats(fifo):
    """A streamed buffer's element accessed several times in one iteration (``U[i] * U[i]``)."""
    for role, verb in (("get", "read"), ("put", "written")):
        groups = []  # accesses of one process with the same index pattern in the same loop body
        for a in (x for x in fifo.accesses if x.role == role):
            key = (a.process.label, repr(_pattern(a.op)))
            match = next((g for g in groups if g[0] == key and g[1][0].op.parent == a.op.parent), None)
            if match:
                match[1].append(a)
            else:
                groups.append((key, [a]))
        for _, group in groups:
            if len(group) > 1:
                a = group[0]
                raise StreamError(f"element {_element(fifo, a.op)} is {verb} {len(group)} times per iteration at "
                                  f"{_where(a.loc)} by '{a.process.label}'; a stream delivers each element once: "
                                  f"{'read it once into a local' if role == 'get' else 'write it once'}", a.loc)


def _element(fifo, op) -> str:
    """``U[i]``: the streamed buffer indexed by the names of the loops around the access."""
    names = {}
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name in ("affine.for", "scf.for") and "loop_name" in parent.attributes:
            names[parent.regions[0].blocks[0].arguments[0]] = ir.StringAttr(parent.attributes["loop_name"]).value
        parent = parent.parent
    first = 2 if op.name.endswith("store") else 1
    idx = [names.get(v, "?") for v in list(op.operands)[first:]]
    if "map" in op.attributes:
        amap = ir.AffineMapAttr(op.attributes["map"]).value
        dims = [f"d{k}" for k in range(amap.n_dims)]
        text = [str(e) for e in amap.results]
        for k in reversed(range(len(dims))):  # d10 before d1
            text = [t.replace(dims[k], idx[k] if k < len(idx) else dims[k]) for t in text]
        idx = text
    return f"{fifo.label}[{', '.join(idx)}]"


def _check_order(fifo):
    """A buffer streamed by ``s.to``: one write and one read site, walking the buffer in the same order."""
    puts, gets = _sides(fifo)
    if not puts or not gets:
        return
    if len(puts) != 1 or len(gets) != 1:
        a = puts[1] if len(puts) > 1 else gets[1]
        raise StreamError(f"buffer '{fifo.label}' is a stream but '{a.process.label}' accesses it at several "
                          f"places ({', '.join(_where(x.loc) for x in (puts if len(puts) > 1 else gets))}); a "
                          "streamed buffer is written once per element and read once per element", a.loc)
    p, g = puts[0], gets[0]
    for a in (p, g):
        n = trip_product(a.op)
        if n is not None and n != fifo.numel:
            raise StreamError(f"buffer '{fifo.label}' has {fifo.numel} elements but '{a.process.label}' "
                              f"{'writes' if a.role == 'put' else 'reads'} it {n} times at {_where(a.loc)}; a "
                              "streamed buffer is accessed once per element", a.loc)
    if _pattern(p.op) != _pattern(g.op):
        raise StreamError(f"buffer '{fifo.label}' is a stream but the producer '{p.process.label}' "
                          f"({_where(p.loc)}) and the consumer '{g.process.label}' ({_where(g.loc)}) do not walk it "
                          "in the same order", g.loc, hint="write and read it with the same loop nest and indices")


def _pattern(op):
    """Loop bounds around an access and its index map: equal patterns visit elements in equal order."""
    loops, parent = [], op.parent
    while parent is not None and parent.name != "func.func":
        if parent.name == "affine.for":
            loops.insert(0, (str(parent.attributes["lowerBoundMap"]), str(parent.attributes["upperBoundMap"]),
                             ir.IntegerAttr(parent.attributes["step"]).value, parent))
        else:
            loops.insert(0, (parent.name, None, None, parent))
        parent = parent.parent
    ivs = [lp[3].regions[0].blocks[0].arguments[0] if lp[3].name in ("affine.for", "scf.for") else None
           for lp in loops]
    first_index = 2 if op.name.endswith("store") else 1
    operands = []
    for v in list(op.operands)[first_index:]:
        operands.append(ivs.index(v) if v in ivs else str(v))
    amap = str(op.attributes["map"]) if "map" in op.attributes else op.name
    return [lp[:3] for lp in loops], amap, operands
