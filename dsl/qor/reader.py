"""Reads a ``func.func`` of the scheduled module into the plain objects of ``dsl.qor.model``.

``Reader`` walks one function once: each MLIR op becomes an ``Op`` of an operator class of the tables
(``ARITH_CLASS``), loops, ifs, calls, block copies and sub-views their own objects, index arithmetic linear
forms over value ids. ``read_module`` reads every function with a body and inlines the calls marked inline.
"""
from __future__ import annotations

from mlir import ir

from ..schedule import irutil as U
from .model import (Access, Buffer, Call, Function, If, Loop, Op, View, affine_tree, element_bits,  # noqa: F401
                    evaluate, evaluate_tree, partition_entries, storage_of, tree_values)

# MLIR op name -> operator class in the tables ("f*" classes get the f/d/h prefix by element type).
ARITH_CLASS = {
    "arith.addi": "iadd", "arith.subi": "iadd", "arith.muli": "imul",
    "arith.divsi": "idiv", "arith.divui": "idiv", "arith.remsi": "idiv", "arith.remui": "idiv",
    "arith.floordivsi": "idiv", "arith.ceildivsi": "idiv", "arith.ceildivui": "idiv",
    "arith.andi": "ilogic", "arith.ori": "ilogic", "arith.xori": "ilogic", "arith.select": "ilogic",
    "math.absi": "ilogic", "math.ctlz": "ilogic", "math.cttz": "ilogic", "math.ctpop": "ilogic",
    "arith.shli": "ishift", "arith.shrsi": "ishift", "arith.shrui": "ishift",
    "arith.cmpi": "icmp", "arith.maxsi": "iminmax", "arith.minsi": "iminmax", "arith.maxui": "iminmax",
    "arith.minui": "iminmax",
    "arith.addf": "fadd", "arith.subf": "fsub", "arith.mulf": "fmul", "arith.divf": "fdiv",
    "arith.cmpf": "fcmp", "arith.maximumf": "fminmax", "arith.minimumf": "fminmax", "arith.maxnumf": "fminmax",
    "arith.minnumf": "fminmax", "arith.negf": "fneg", "math.absf": "fabs",
    "arith.sitofp": "sitofp", "arith.uitofp": "sitofp", "arith.fptosi": "fptosi", "arith.fptoui": "fptosi",
    "arith.extf": "fpext", "arith.truncf": "fptrunc",
    "math.exp": "fexp", "math.exp2": "fexp", "math.log": "flog", "math.log2": "flog", "math.log10": "flog",
    "math.sqrt": "fsqrt", "math.rsqrt": "frsqrt", "math.tanh": "ftanh", "math.erf": "ferf", "math.powf": "fpow",
    "math.sin": "ftrig", "math.cos": "ftrig", "math.tan": "ftrig", "math.atan": "ftrig", "math.sinh": "ftrig",
    "math.cosh": "ftrig", "math.floor": "fptosi", "math.ceil": "fptosi", "math.round": "fptosi",
}
FREE_OPS = {"arith.extsi", "arith.extui", "arith.trunci", "arith.index_cast", "arith.index_castui",
            "arith.bitcast", "affine.apply", "affine.min", "affine.max", "memref.subview", "memref.get_global",
            "memref.cast", "memref.alloc", "memref.alloca", "memref.dealloc", "memref.reinterpret_cast",
            "memref.collapse_shape", "memref.expand_shape", "arith.constant"}
LOADS = ("affine.load", "memref.load")
STORES = ("affine.store", "memref.store")
CONVERSIONS = ("fpext", "fptrunc", "fptosi")  # classes named for the conversion, not for a float width
# float64 / float16 operators with cores of their own in the tables (conversions, compares, min/max and sign
# operations cost the same at every width)
WIDTH_CLASS = {**{(64, c): "d" + c[1:] for c in ("fadd", "fsub", "fmul", "fdiv", "fsqrt", "fexp")},
               (16, "fadd"): "hadd", (16, "fsub"): "hadd", (16, "fmul"): "hmul", (16, "fdiv"): "hdiv"}
MAX_COPY_ELEMENTS = 4096  # a block copy wider than this is counted as one unknown op


def _is_float(t) -> bool:
    return isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


class Reader:
    """Reads one func.func into a ``Function``."""

    def __init__(self, fop):
        self.fop = fop
        self.ids: dict = {}
        self.constants: dict = {}
        self.linear: dict = {}  # value id -> linear form over value ids (memoised)
        self.defs: dict = {}    # value id -> Op
        self.buffers: dict = {}
        self.returns: list = []
        self.views: dict = {}

    def vid(self, value) -> int:
        key = value
        if key not in self.ids:
            self.ids[key] = len(self.ids)
        return self.ids[key]

    def read(self, name: str) -> Function:
        fop = self.fop
        block = fop.regions[0].blocks[0]
        args = [self.vid(a) for a in block.arguments]
        names = ([ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
                 if "dsl.arg_names" in fop.attributes else [f"arg{k}" for k in range(len(args))])
        attrs = self._arg_attrs(len(args))
        bits, shapes = [], []
        for a in block.arguments:
            if isinstance(a.type, ir.MemRefType):
                mt = ir.MemRefType(a.type)
                bits.append(element_bits(mt.element_type))
                shapes.append(tuple(mt.shape))
            else:
                bits.append(0)
                shapes.append(())
        body = self.block(block)
        src = ir.StringAttr(fop.attributes["dsl.src"]).value if "dsl.src" in fop.attributes else ""
        return Function(name, args, names, attrs, bits, shapes, body, self.buffers, self.constants,
                        dataflow="dsl.dataflow" in fop.attributes or "dsl.region" in fop.attributes,
                        inline="dsl.inline" in fop.attributes, src=src,
                        kernel=U.str_attr(fop, "dsl.kernel") or name, returns=self.returns, views=self.views,
                        next_vid=len(self.ids))

    def _arg_attrs(self, n) -> list:
        out = [{} for _ in range(n)]
        if "arg_attrs" not in self.fop.attributes:
            return out
        for k, d in enumerate(ir.ArrayAttr(self.fop.attributes["arg_attrs"])):
            d = ir.DictAttr(d)
            entry = {}
            if "dsl.partition" in d:
                entry["partition"] = partition_entries(d["dsl.partition"])
            if "dsl.stream_depth" in d:
                entry["stream_depth"] = ir.IntegerAttr(d["dsl.stream_depth"]).value
            if "dsl.bind_storage" in d:
                entry["storage"] = storage_of(d)
            out[k] = entry
        return out

    # -- blocks -------------------------------------------------------------------------------------
    def block(self, block) -> list:
        items = []
        for op in block.operations:
            item = self.item(op.operation)
            if isinstance(item, list):
                items += item
            elif item is not None:
                items.append(item)
        return items

    def item(self, op):
        name = op.name
        if name in ("affine.for", "scf.for"):
            return self.loop(op)
        if name == "scf.while":
            return self.while_loop(op)
        if name in ("scf.if", "affine.if"):
            return self.if_op(op)
        if name == "func.call":
            return Call(ir.FlatSymbolRefAttr(op.attributes["callee"]).value,
                        [self.vid(v) for v in op.operands], _line(op), [self.vid(r) for r in op.results])
        if name == "memref.copy":
            return self.copy(op)
        if name in ("func.return",):
            if op.parent.name == "func.func":
                self.returns = [self.vid(v) for v in op.operands]
            return None
        return self.plain(op)

    def plain(self, op) -> Op | None:
        name = op.name
        results = [self.vid(r) for r in op.results]
        operands = [self.vid(v) for v in op.operands]
        if name == "arith.constant":
            self._constant(op, results[0])
        if name in ("memref.alloc", "memref.alloca", "memref.get_global"):
            self._buffer(op, results[0])
        if name == "memref.subview":
            self._view(op, results[0], operands)
        if name in LOADS or name in STORES:
            return self._access(op, results, operands)
        if name in ("scf.yield", "affine.yield"):
            return Op(name, "yield", results, operands, line=_line(op))
        t = op.results[0].type if len(op.results) else (op.operands[0].type if len(op.operands) else None)
        bits = element_bits(t) if t is not None else 32
        if name in FREE_OPS:
            cls = "free"
        elif name in ARITH_CLASS:
            cls = ARITH_CLASS[name]
            operand_t = op.operands[0].type if len(op.operands) else t
            if cls.startswith("f") and cls not in CONVERSIONS and _is_float(operand_t if name == "arith.cmpf" else t):
                width = element_bits(operand_t if name == "arith.cmpf" else t)
                cls = WIDTH_CLASS.get((width, cls), cls)
        else:
            cls = "unknown"
        result = Op(name, cls, results, operands, bits, {}, _line(op))
        self._linear_of(op, result)
        if cls == "imul":
            result.info.update(self._mul_widths(op))
        if cls in ("ishift", "idiv"):
            result.info["const_rhs"] = self._constant_through_casts(operands[1]) if len(operands) > 1 else None
        for r in results:
            self.defs[r] = result
        return result

    def _constant_through_casts(self, vid):
        """A constant, seen through sign/zero extensions and index casts (``n // 32`` on an index-cast n
        divides by an extended constant: still a shift)."""
        for _ in range(8):
            if vid in self.constants:
                return self.constants[vid]
            op = self.defs.get(vid)
            if op is None or op.name not in ("arith.extsi", "arith.extui", "arith.index_cast",
                                             "arith.index_castui", "arith.trunci") or not op.operands:
                return None
            vid = op.operands[0]
        return None

    def _constant(self, op, rid):
        attr = op.attributes["value"]
        if isinstance(attr, ir.IntegerAttr):
            self.constants[rid] = ir.IntegerAttr(attr).value
            self.linear[rid] = ({}, self.constants[rid])
        elif isinstance(attr, ir.FloatAttr):
            self.constants[rid] = ir.FloatAttr(attr).value

    def _buffer(self, op, rid):
        mt = ir.MemRefType(op.results[0].type)
        attrs = op.attributes
        name = U.str_attr(op, "dsl.name") or f"buf{rid}"
        depth = ir.IntegerAttr(attrs["dsl.stream_depth"]).value if "dsl.stream_depth" in attrs else None
        part = partition_entries(attrs["dsl.partition"]) if "dsl.partition" in attrs else []
        self.buffers[rid] = Buffer(name, tuple(mt.shape), element_bits(mt.element_type), part, depth,
                                   storage_of(attrs), constant=op.name == "memref.get_global")
        if op.name == "memref.get_global":
            self.buffers[rid].symbol = ir.FlatSymbolRefAttr(attrs["name"]).value
            self.buffers[rid].name = U.str_attr(op, "dsl.name") or self.buffers[rid].symbol

    def copy(self, op):
        """``memref.copy`` as the HLS backend writes it: into or out of a stream of blocks, one FIFO access and
        every element of the block in the same cycle (an unrolled copy through a register token); between
        buffers, a loop nest element by element (Vitis pipelines its innermost loop)."""
        src, dst = (self.vid(v) for v in op.operands)
        shape = tuple(ir.MemRefType(op.operands[0].type).shape)
        bits = element_bits(ir.MemRefType(op.operands[0].type).element_type)
        line = _line(op)
        if "dsl.stream_op" in op.attributes:
            put = ir.StringAttr(op.attributes["dsl.stream_op"]).value == "put"
            fifo, data = (dst, src) if put else (src, dst)
            token = self.vid(("token", op))
            items = []
            elements = [()]
            for extent in shape:
                elements = [e + (k,) for e in elements for k in range(extent)]
            if len(elements) > MAX_COPY_ELEMENTS:
                return Op(op.name, "unknown", [], [src, dst], bits, {}, line)
            if not put:
                items.append(Op("stream.get", "load", [token], [fifo], bits * len(elements),
                                {"access": Access(fifo, "load", [], True)}, line))
            for e in elements:
                value = self.vid(("element", op, e))
                index = [({}, k) for k in e]
                if put:
                    items.append(Op("token.load", "load", [value], [data], bits,
                                    {"access": Access(data, "load", index)}, line))
                else:
                    items.append(Op("token.store", "store", [], [token, data], bits,
                                    {"access": Access(data, "store", index)}, line))
            if put:
                items.append(Op("stream.put", "store", [], [token, fifo], bits * len(elements),
                                {"access": Access(fifo, "store", [], True)}, line))
            return items
        ivs = [self.vid(("copy_iv", op, d)) for d in range(len(shape))]
        value = self.vid(("copy_value", op))
        body = [Op("copy.load", "load", [value], [src] + ivs, bits,
                   {"access": Access(src, "load", [({iv: 1}, 0) for iv in ivs])}, line),
                Op("copy.store", "store", [], [value, dst] + ivs, bits,
                   {"access": Access(dst, "store", [({iv: 1}, 0) for iv in ivs])}, line)]
        for d in reversed(range(len(shape))):
            body = [Loop(f"copy:c{d}", f"c{d}", "copy", ivs[d], ({}, 0), ({}, shape[d]), 1, body, line=line)]
        return body[0] if shape else body

    def _view(self, op, rid, operands):
        """Offsets (static or SSA operands, in order), strides and the dimensions a rank-reducing view keeps
        (the unit-size dimensions it drops are the leading ones, as the frontend's ``A[i]`` makes them)."""
        dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
        static = [list(ir.DenseI64ArrayAttr(op.attributes[k])) for k in ("static_offsets", "static_sizes",
                                                                          "static_strides")]
        rest = iter(operands[1:])
        offsets = [({}, o) if o != dynamic else self._value_form(next(rest)) for o in static[0]]
        sizes = [s if s != ir.ShapedType.get_dynamic_size() else None for s in static[1]]
        for _ in (s for s in static[1] if s == ir.ShapedType.get_dynamic_size()):
            next(rest, None)
        strides = [s if s != dynamic else 1 for s in static[2]]
        drop = len(sizes) - ir.MemRefType(op.results[0].type).rank
        kept = []
        for d, size in enumerate(sizes):
            if drop > 0 and size == 1:
                drop -= 1
                continue
            kept.append(d)
        self.views[rid] = View(operands[0], offsets, strides, kept)

    def _access(self, op, results, operands) -> Op:
        name = op.name
        is_load = name in LOADS
        memref = operands[0] if is_load else operands[1]
        mt = ir.MemRefType((op.operands[0] if is_load else op.operands[1]).type)
        if name.startswith("affine."):
            amap = ir.AffineMapAttr(op.attributes["map"]).value
            idx_values = operands[1:] if is_load else operands[2:]
            forms = [self._compose(U.linear_form(e, list(range(len(idx_values)))), idx_values)
                     for e in amap.results]
        else:
            forms = [self._value_form(v) for v in (operands[1:] if is_load else operands[2:])]
        stream = "dsl.stream_op" in op.attributes
        access = Access(memref, "load" if is_load else "store", forms, stream)
        bits = element_bits(mt.element_type)
        result = Op(name, "load" if is_load else "store", results, operands, bits, {"access": access}, _line(op))
        for r in results:
            self.defs[r] = result
        return result

    def _compose(self, form, values):
        """A linear form over positions -> one over value ids (through each value's own form)."""
        if form is None:
            return None
        coeffs, const = form
        out: dict = {}
        for pos, c in coeffs.items():
            inner = self._value_form(values[pos])
            if inner is None:
                return None
            for v, k in inner[0].items():
                out[v] = out.get(v, 0) + c * k
            const += c * inner[1]
        return {v: c for v, c in out.items() if c}, const

    def _value_form(self, vid):
        """The linear form of a value: constants fold, linear index arithmetic composes, anything else is a
        variable of its own (two uses of the same value still compare equal)."""
        return self.linear.get(vid, ({vid: 1}, 0))

    def _linear_of(self, op, result: Op):
        name, ops = op.name, result.operands
        if not result.results:
            return
        rid = result.results[0]
        if name in ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui") and ops:
            self.linear[rid] = self._value_form(ops[0])
        elif name in ("arith.addi", "arith.subi") and len(ops) == 2:
            a, b = self._value_form(ops[0]), self._value_form(ops[1])
            sign = 1 if name == "arith.addi" else -1
            coeffs = dict(a[0])
            for v, c in b[0].items():
                coeffs[v] = coeffs.get(v, 0) + sign * c
            self.linear[rid] = ({v: c for v, c in coeffs.items() if c}, a[1] + sign * b[1])
        elif name == "arith.muli" and len(ops) == 2:
            a, b = self._value_form(ops[0]), self._value_form(ops[1])
            if not b[0]:
                self.linear[rid] = ({v: c * b[1] for v, c in a[0].items()}, a[1] * b[1])
            elif not a[0]:
                self.linear[rid] = ({v: c * a[1] for v, c in b[0].items()}, a[1] * b[1])
        elif name == "affine.apply":
            amap = ir.AffineMapAttr(op.attributes["map"]).value
            form = U.linear_form(amap.results[0], list(range(len(ops))))
            composed = self._compose(form, ops)
            if composed is not None:
                self.linear[rid] = composed

    def _mul_widths(self, op) -> dict:
        """Operand widths as the multiplier sees them: before sign/zero extension; constants by their value."""
        widths = []
        for v in op.operands:
            widths.append(_effective_bits(v, self))
        result_bits = element_bits(op.results[0].type)
        users = [u.owner for u in op.results[0].uses]
        truncs = [element_bits(u.results[0].type) for u in users
                  if hasattr(u, "name") and u.name == "arith.trunci"]
        if users and len(truncs) == len(users):
            result_bits = max(truncs)
        # a constant seen through casts: ``(n // 8) * 8`` multiplies by trunci(8 : i33), a shift in Vitis
        const = [self._constant_through_casts(self.vid(v)) for v in op.operands]
        return {"a_bits": widths[0], "b_bits": widths[1], "result_bits": result_bits,
                "const": next((c for c in const if c is not None), None)}

    # -- structure ----------------------------------------------------------------------------------
    def loop(self, op) -> Loop:
        block = op.regions[0].blocks[0]
        iv = self.vid(block.arguments[0])
        carried_args = [self.vid(a) for a in list(block.arguments)[1:]]
        if op.name == "affine.for":
            spec = U.spec_of(op)
            lower = self._bound(spec.lb_map, [self.vid(v) for v in spec.lb_ops], max)
            upper = self._bound(spec.ub_map, [self.vid(v) for v in spec.ub_ops], min)
            step = spec.step
            inits = [self.vid(v) for v in op.opview.inits]
            lower_expr = self._tree(spec.lb_map, [self.vid(v) for v in spec.lb_ops], "max") if lower is None else None
            upper_expr = self._tree(spec.ub_map, [self.vid(v) for v in spec.ub_ops], "min") if upper is None else None
        else:
            lo, hi, st, *rest = [self.vid(v) for v in op.operands]
            lower, upper = self._value_form(lo), self._value_form(hi)
            step = self.constants.get(st, 1) or 1
            inits = rest
            lower_expr = upper_expr = None
        body = self.block(block)
        yielded = body[-1].operands if body and isinstance(body[-1], Op) and body[-1].cls == "yield" else []
        results = [self.vid(r) for r in op.results]
        attrs = op.attributes
        loop_name = U.str_attr(op, "loop_name") or "loop"
        from ..schedule.names import band_of
        band = band_of(op)
        return Loop(f"{band}:{loop_name}" if band else loop_name, loop_name, band, iv, lower, upper, step, body,
                    pipeline_ii=ir.IntegerAttr(attrs["dsl.pipeline_ii"]).value if "dsl.pipeline_ii" in attrs else None,
                    unroll=ir.IntegerAttr(attrs["dsl.unroll"]).value if "dsl.unroll" in attrs else None,
                    dataflow="dsl.dataflow" in attrs,
                    carried=list(zip(carried_args, inits, yielded, results)), line=_line(op),
                    lower_expr=lower_expr, upper_expr=upper_expr, tripcount=_tripcount(op))

    def _tree(self, amap, values, pick):
        """A bound's affine map as an expression tree over value ids (several results: their min / max)."""
        n_dims = amap.n_dims
        operands = values[:n_dims] + [None] + values[n_dims:]
        trees = [affine_tree(e, operands) for e in amap.results]
        if any(t is None for t in trees):
            return None
        return trees[0] if len(trees) == 1 else (pick, trees)

    def _bound(self, amap, values, pick):
        """A loop bound: one linear result (a min/max of several: the one that is constant, else unknown)."""
        forms = [self._compose(U.linear_form(e, list(range(len(values)))), values) for e in amap.results]
        if len(forms) == 1:
            return forms[0]
        consts = [f[1] for f in forms if f is not None and not f[0]]
        return ({}, pick(consts)) if consts else None

    def while_loop(self, op) -> Loop:
        before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
        body = self.block(before) + self.block(after)
        return Loop("while", "while", "", -1, None, None, 1, body, line=_line(op), tripcount=_tripcount(op))

    def if_op(self, op) -> If:
        results = [self.vid(r) for r in op.results]
        cond = self.vid(op.operands[0]) if len(op.operands) else -1
        then = self.block(op.regions[0].blocks[0]) if op.regions[0].blocks else []
        other = self.block(op.regions[1].blocks[0]) if len(op.regions) > 1 and op.regions[1].blocks else []

        def yields(items):
            return items[-1].operands if items and isinstance(items[-1], Op) and items[-1].cls == "yield" else []

        return If(cond, then, other, results, yields(then), yields(other))


def _effective_bits(value, reader: Reader) -> int:
    """Bits a multiplier operand really has: the source width of a sign/zero extension, a constant's
    two's-complement width, else the value's own width."""
    const = reader._constant_through_casts(reader.vid(value))  # trunci(24 : i33) is the constant 24
    if isinstance(const, int):
        return max(2, (abs(const) if const >= 0 else abs(const) - 1).bit_length() + 1)
    owner = value.owner
    op = owner.operation if isinstance(owner, (ir.Operation, ir.OpView)) else None
    if op is not None and op.name in ("arith.extsi", "arith.extui"):
        src = element_bits(op.operands[0].type)
        return src + (1 if op.name == "arith.extui" else 0)
    return element_bits(value.type)


def _line(op) -> int:
    from ..backend.hls.emitter import source_loc

    loc = source_loc(op)
    return loc.line if loc else 0


def read_module(module) -> dict:
    """name -> Function for every function with a body (calls to ``inline`` functions inlined)."""
    from .inline import inline_functions

    out = {}
    for op in module.body.operations:
        if op.operation.name != "func.func" or not op.regions[0].blocks:
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        out[name] = Reader(op.operation).read(name)
    return inline_functions(out)


def _tripcount(op):
    """(min, max, avg) of a loop's ``dsl.tripcount`` (``s.tripcount`` or ``dsl.loop_tripcount``), or None."""
    from ..backend.hls.tripcounts import given

    return given(op)
