"""Random kernels: the language's statements (declarations, assignments, augmented assignments, bit writes,
for over range/grid/reduction with constant, stepped, descending and triangular bounds, while, if/else),
types (integers of odd widths, fixed point, float32, bool), expressions (every operator, casts, min/max/abs,
conditional expressions, bit reads and slices), every index in bounds and every divisor non-zero, so that
the program is defined and plain Python can run it (``interp.py``)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from dsl import Fixed, Index, Int, TensorType, UFixed, UInt, float32

from . import types as T

INT_WIDTHS = (1, 2, 3, 5, 7, 8, 9, 12, 13, 16, 17, 24, 31, 32, 33, 48, 63, 64)
FIXED_SHAPES = ((4, 2), (6, 6), (8, 1), (8, 4), (8, 8), (10, 3), (12, 0), (16, 8), (17, 5), (20, 12), (24, 10), (32, 16))
INT_OPS = ("+", "-", "*", "/", "//", "%", "&", "|", "^", "<<", ">>")
FIXED_OPS = ("+", "-", "*", "/")
FLOAT_OPS = ("+", "-", "*", "/")
AUG_OPS = ("+", "-", "*", "&", "|", "^")
MAX_FLOAT = 1e12  # magnitude bound of float expressions that may be converted back to an integer


def spell(t) -> str:
    if isinstance(t, TensorType):
        return f"{spell(t.dtype)}[{', '.join(map(str, t.shape))}]"
    if T.is_float(t):
        return "float32"
    if isinstance(t, Fixed):
        return f"{'Fixed' if T.signed(t) else 'UFixed'}({t.bits}, {t.fbits})"
    return f"{'Int' if T.signed(t) else 'UInt'}({t.bits})"


@dataclass
class Operand:
    text: str
    t: object
    bound: float = 0.0  # floats: a bound on the magnitude


@dataclass
class Loop:
    name: str
    lo: int
    hi: int  # inclusive


@dataclass
class Program:
    name: str
    source: str
    params: list  # [(name, type)] (TensorType or scalar type)
    in_place: bool
    uses_float: bool = False


@dataclass
class _State:
    scalars: list = field(default_factory=list)  # [[Operand, mutable]] per scope
    tensors: dict = field(default_factory=dict)  # name -> (TensorType, writable)
    loops: list = field(default_factory=list)


class Generator:
    def __init__(self, rng: random.Random, name: str):
        self.rng, self.name = rng, name
        self.counter = 0
        self.floats = rng.random() < 0.3
        self.st = _State()
        self.st.scalars.append([])
        self.lines: list = []
        self.helpers: list = []

    # -- types ---------------------------------------------------------------------------------------
    def int_type(self, max_bits=64):
        bits = self.rng.choice([b for b in INT_WIDTHS if b <= max_bits])
        if bits == 1:
            return T.BOOL
        return (Int if self.rng.random() < 0.6 else UInt)(bits)

    def fixed_type(self):
        w, f = self.rng.choice(FIXED_SHAPES)
        return (Fixed if self.rng.random() < 0.7 else UFixed)(w, f) if f else Int(w)

    def elem_type(self):
        r = self.rng.random()
        if r < 0.25:
            return self.fixed_type()
        if r < 0.35 and self.floats:
            return float32
        return self.int_type()

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- operands --------------------------------------------------------------------------------------
    def visible(self):
        return [op for scope in self.st.scalars for op, _ in scope]

    def index_for(self, extent: int) -> str:
        loops = self.st.loops
        options = [str(self.rng.randrange(extent))]
        for lp in loops:
            if lp.lo >= 0 and lp.hi < extent:
                options += [lp.name, lp.name, f"{extent - 1} - {lp.name}" if lp.hi <= extent - 1 else lp.name]
            if lp.lo >= 0:
                options += [f"{lp.name} % {extent}", f"({lp.name} + {self.rng.randrange(1, 4)}) % {extent}",
                            f"min({lp.name}, {extent - 1})"]
        return self.rng.choice(options)

    def element(self, writable=False):
        names = [n for n, (tt, w) in self.st.tensors.items() if w or not writable]
        if not names:
            return None
        name = self.rng.choice(names)
        tt = self.st.tensors[name][0]
        return Operand(f"{name}[{', '.join(self.index_for(d) for d in tt.shape)}]", tt.dtype, 100.0)

    def leaf(self, kind):
        choices = [op for op in self.visible() if self.kind_of(op.t) == kind]
        elem = self.element()
        if elem is not None and self.kind_of(elem.t) == kind:
            choices += [elem] * 3
        if kind == "int":
            choices += [Operand(lp.name, Index()) for lp in self.st.loops if lp.lo >= 0]
        if choices and self.rng.random() < 0.85:
            return self.rng.choice(choices)
        return self.literal(kind)

    def literal(self, kind):
        if kind == "float":
            v = self.rng.choice([0.5, 1.5, -2.25, 3.0, 0.1, 100.0])
            return Operand(repr(v), float32, abs(v))
        if kind == "fixed":
            return Operand(repr(self.rng.choice([0.5, 0.25, -1.75, 2.0, 0.1, 3.0625])), None)
        return Operand(str(self.rng.choice([0, 1, 2, 3, -1, -7, 100, 127, -128, 255, 1000, 65535, 2**31 - 1,
                                             -(2**31), 2**40 + 3])), None)

    @staticmethod
    def kind_of(t):
        if t is None or isinstance(t, Index) or T.is_int(t):
            return "int"
        return "fixed" if T.is_fixed(t) else "float"

    # -- expressions -----------------------------------------------------------------------------------
    def expr(self, kind, depth=0) -> Operand:
        for _ in range(20):
            try:
                return self._expr(kind, depth)
            except T.TooWide:
                continue
        return self.leaf(kind)

    def _expr(self, kind, depth):
        if depth >= 3 or self.rng.random() < 0.25 + 0.2 * depth:
            return self.leaf(kind)
        pick = self.rng.random()
        if self.helpers and self.rng.random() < 0.08 and self.kind_of(self.helpers[0][2]) == kind:
            return self.call(depth)
        if kind == "int":
            if pick < 0.45:
                return self.binary(self.rng.choice(INT_OPS), "int", depth)
            if pick < 0.55:
                return self.unary(depth)
            if pick < 0.65:
                return self.minmax("int", depth)
            if pick < 0.72:
                return self.bits(depth)
            if pick < 0.8:
                return self.cast_to_int(depth)
            if pick < 0.88:
                return self.comparison(depth)
            return self.conditional("int", depth)
        if kind == "fixed":
            if pick < 0.55:
                return self.binary(self.rng.choice(FIXED_OPS), "fixed", depth)
            if pick < 0.65:
                return self.minmax("fixed", depth)
            if pick < 0.75:
                x = self.expr("fixed", depth + 1)
                return self.typed(f"abs({x.text})", T.absolute(x.t)) if x.t is not None else x
            if pick < 0.88:
                t = self.fixed_type()
                src = self.expr(self.rng.choice(["int", "fixed"]), depth + 1)
                return Operand(f"{spell(t)}({src.text})", t)
            return self.conditional("fixed", depth)
        if pick < 0.6:
            return self.binary(self.rng.choice(FLOAT_OPS), "float", depth)
        if pick < 0.75:
            return self.minmax("float", depth)
        src = self.expr(self.rng.choice(["int", "fixed"]), depth + 1)
        if src.t is None or T.width(T.integerish(src.t)) > 24:
            return self.leaf("float")
        return Operand(f"float({src.text})", float32, 2.0 ** T.width(T.integerish(src.t)))

    @staticmethod
    def typed(text, t, bound=0.0):
        return Operand(text, t, bound)

    def binary(self, op, kind, depth):
        a = self.expr(kind, depth + 1)
        other = self.rng.choice([kind, "int"]) if kind == "fixed" else kind
        if op in ("/", "//", "%"):
            b = self.divisor(other, depth)
        elif op in ("<<", ">>"):
            b = self.shift_amount(a, depth)
        else:
            b = self.expr(other, depth + 1)
        if a.t is None and b.t is None:
            a = self.leaf(kind) if self.visible() or self.element() else a
            if a.t is None:
                return b
        t = _binary_type(op, a, b)
        bound = _float_bound(op, a, b) if T.is_float(t) else 0.0
        if T.is_float(t) and bound > 1e30:
            return a
        if op in ("<<", ">>") and (a.t is None or isinstance(a.t, Index)):
            return a
        return Operand(f"({a.text} {op} {b.text})", t, bound)

    def divisor(self, kind, depth):
        if kind == "float":
            return self.literal("float") if self.rng.random() < 0.3 else Operand("4.0", float32, 4.0)
        if kind == "fixed":
            x = self.expr("fixed", depth + 1)
            if x.t is None:
                return Operand("3", None)
            return Operand(f"(abs({x.text}) + 1)", T.binary("+", T.absolute(x.t), T.literal(1, T.absolute(x.t))))
        x = self.expr("int", depth + 1)
        if x.t is None or self.rng.random() < 0.2:
            return Operand(self.rng.choice(["3", "-7", "16", "1"]), None)
        if self.rng.random() < 0.5:
            return Operand(f"({x.text} | 1)", T.binary("|", x.t, T.literal(1, x.t)))
        return Operand(f"max({x.text}, 1)", T.common(T.integerish(x.t), T.literal(1, x.t)))

    def shift_amount(self, a, depth):
        w = T.width(T.integerish(a.t)) if a.t is not None else 32
        r = self.rng.random()
        if r < 0.5:
            return Operand(str(self.rng.randrange(0, w + 3)), None)
        x = self.expr("int", depth + 1)
        if x.t is None:
            return Operand("1", None)
        return Operand(f"({x.text} & 7)", T.binary("&", x.t, T.literal(7, x.t))) if r < 0.8 else x

    def unary(self, depth):
        x = self.expr("int", depth + 1)
        if x.t is None or isinstance(x.t, Index):
            return x
        op = self.rng.choice(["-", "~", "abs", "not"])
        if op == "-":
            return Operand(f"(-{x.text})", T.negate(x.t))
        if op == "~":
            return Operand(f"(~{x.text})", x.t)
        if op == "not":
            return Operand(f"(not {x.text})", T.BOOL)
        return Operand(f"abs({x.text})", T.absolute(x.t))

    def minmax(self, kind, depth):
        a, b = self.expr(kind, depth + 1), self.expr(kind, depth + 1)
        if a.t is None and b.t is None:
            return a
        at = a.t or T.literal(_lit(a.text), b.t)
        bt = b.t or T.literal(_lit(b.text), a.t)
        fn = self.rng.choice(["min", "max"])
        return Operand(f"{fn}({a.text}, {b.text})", T.common(at, bt), max(a.bound, b.bound))

    def bits(self, depth):
        candidates = [op for op in self.visible() if op.t is not None and T.is_int(op.t) and op.t.bits > 1]
        elem = self.element()
        if elem is not None and T.is_int(elem.t) and elem.t.bits > 1:
            candidates.append(elem)
        if not candidates:
            return self.leaf("int")
        x = self.rng.choice(candidates)
        w = x.t.bits
        if self.rng.random() < 0.5:
            loops = [lp.name for lp in self.st.loops if lp.lo >= 0 and lp.hi < w]
            k = self.rng.choice(loops + [str(self.rng.randrange(w))] * 2)
            return Operand(f"{x.text}[{k}]", T.BOOL)
        lo = self.rng.randrange(w)
        hi = self.rng.randrange(lo + 1, w + 1)
        return Operand(f"{x.text}[{lo}:{hi}]", UInt(hi - lo) if hi - lo > 1 else T.BOOL)

    def cast_to_int(self, depth):
        t = self.int_type()
        src = self.expr(self.rng.choice(["int", "fixed", "float"] if self.floats else ["int", "fixed"]), depth + 1)
        if src.t is not None and T.is_float(src.t) and src.bound > MAX_FLOAT:
            return self.leaf("int")
        if self.rng.random() < 0.15:
            return Operand(f"int({src.text})", T.INT32) if not (src.t and T.is_float(src.t) and src.bound > 2**30) \
                else self.leaf("int")
        return Operand(f"{spell(t)}({src.text})", t)

    def comparison(self, depth):
        kind = self.rng.choice(["int", "int", "fixed", "float"] if self.floats else ["int", "fixed"])
        a, b = self.expr(kind, depth + 1), self.expr(kind, depth + 1)
        op = self.rng.choice(["<", "<=", ">", ">=", "==", "!="])
        text = f"({a.text} {op} {b.text})"
        if self.rng.random() < 0.2:
            c = self.comparison(depth + 1) if depth < 2 else self.leaf("int")
            text = f"({text} {self.rng.choice(['and', 'or'])} {c.text})"
        if a.t is None and b.t is None:
            return self.leaf("int")
        return Operand(text, T.BOOL)

    def conditional(self, kind, depth):
        cond = self.comparison(depth + 1)
        # a float literal alone in a branch would be a float64 (a literal meets no operand there)
        a, b = (x if x.t is not None or "." not in x.text else Operand("0", None)
                for x in (self.expr(kind, depth + 1), self.expr(kind, depth + 1)))
        at = a.t or T.literal(_lit(a.text), None)
        bt = b.t or T.literal(_lit(b.text), None)
        return Operand(f"({a.text} if {cond.text} else {b.text})", T.common(at, bt), max(a.bound, b.bound))

    # -- statements ------------------------------------------------------------------------------------
    def emit(self, text, indent):
        self.lines.append("    " * indent + text)

    def value_for(self, t, depth=1) -> Operand:
        """An expression to store into a location of type ``t`` (any kind: stores convert)."""
        kind = self.kind_of(t) if self.rng.random() < 0.7 else self.rng.choice(
            ["int", "fixed", "float"] if self.floats else ["int", "fixed"])
        x = self.expr(kind, depth)
        if x.t is not None and T.is_float(x.t) and not T.is_float(t) and x.bound * 2 ** T.frac(t) > MAX_FLOAT:
            return self.expr("int", depth)
        if x.t is not None and not T.is_float(x.t) and T.is_float(t) and T.width(T.integerish(x.t)) > 53:
            return self.literal("float")
        return x

    def statement(self, indent, depth):
        r = self.rng.random()
        if depth == 0 and self.rng.random() < 0.2:
            return self.pipeline_pair(indent)
        if r < 0.3 and depth < 3:
            return self.loop(indent, depth)
        if r < 0.4 and depth < 3:
            return self.if_statement(indent, depth)
        if r < 0.75:
            return self.store(indent)
        if r < 0.85:
            return self.scalar_update(indent)
        if r < 0.92:
            return self.bit_store(indent)
        return self.declare_local(indent)

    def block(self, indent, depth, count):
        self.st.scalars.append([])
        for _ in range(count):
            self.statement(indent, depth)
        self.st.scalars.pop()

    def loop(self, indent, depth):
        r = self.rng.random()
        extent = self.rng.choice([d for tt, _ in self.st.tensors.values() for d in tt.shape] or [4])
        outer = [lp for lp in self.st.loops if lp.lo >= 0 and lp.hi < 6]
        a, b = self.fresh("i"), None
        if r < 0.4:
            head, loops = f"for {a} in range({extent}):", [Loop(a, 0, extent - 1)]
        elif r < 0.5:
            lo, step = self.rng.randrange(3), self.rng.choice([2, 3])
            hi = lo + self.rng.randrange(1, 8)
            head, loops = f"for {a} in range({lo}, {hi}, {step}):", [Loop(a, lo, hi - 1)]
        elif r < 0.6:
            head, loops = f"for {a} in range({extent - 1}, -1, -1):", [Loop(a, 0, extent - 1)]
        elif r < 0.7 and outer:
            o = self.rng.choice(outer)
            head, loops = f"for {a} in range({o.name} + 1):", [Loop(a, 0, o.hi)]
        elif r < 0.85:
            b = self.fresh("i")
            e2 = self.rng.choice([2, 3, extent])
            head, loops = f"for {a}, {b} in dsl.grid({extent}, {e2}):", [Loop(a, 0, extent - 1), Loop(b, 0, e2 - 1)]
        elif r < 0.93:
            head, loops = f"for {a} in dsl.reduction({extent}):", [Loop(a, 0, extent - 1)]
        else:
            return self.while_loop(indent, depth)
        self.emit(head, indent)
        self.st.loops += loops
        self.block(indent + 1, depth + 1, self.rng.randrange(1, 4))
        del self.st.loops[-len(loops):]

    def while_loop(self, indent, depth):
        w = self.fresh("w")
        self.emit(f"{w}: Int(8) = 0", indent)
        self.emit(f"while {w} < {self.rng.randrange(1, 4)}:", indent)
        self.st.scalars.append([])
        self.statement(indent + 1, depth + 1)
        self.st.scalars.pop()
        self.emit(f"{w} += 1", indent + 1)

    def if_statement(self, indent, depth):
        self.emit(f"if {self.comparison(1).text}:", indent)
        self.block(indent + 1, depth + 1, self.rng.randrange(1, 3))
        if self.rng.random() < 0.5:
            self.emit("else:", indent)
            self.block(indent + 1, depth + 1, self.rng.randrange(1, 3))

    def store(self, indent):
        target = self.element(writable=True)
        if target is None:
            return self.scalar_update(indent)
        value = self.value_for(target.t)
        if self.rng.random() < 0.3 and not T.is_float(target.t) and _kind(value) == "int":
            ops = AUG_OPS if T.is_int(target.t) else AUG_OPS[:3]
            self.emit(f"{target.text} {self.rng.choice(ops)}= {value.text}", indent)
        else:
            self.emit(f"{target.text} = {value.text}", indent)

    def mutable(self):
        return [op for scope in self.st.scalars for op, m in scope if m]

    def scalar_update(self, indent):
        targets = self.mutable()
        if not targets:
            return self.declare_local(indent)
        x = self.rng.choice(targets)
        value = self.value_for(x.t)
        if self.rng.random() < 0.3 and T.is_int(x.t) and _kind(value) == "int":
            self.emit(f"{x.text} {self.rng.choice(AUG_OPS)}= {value.text}", indent)
        else:
            self.emit(f"{x.text} = {value.text}", indent)

    def bit_store(self, indent):
        targets = [op for op in self.mutable() if T.is_int(op.t) and op.t.bits > 1]
        if not targets:
            return self.scalar_update(indent)
        x = self.rng.choice(targets)
        w = x.t.bits
        value = self.expr("int", 2)
        if self.rng.random() < 0.5:
            self.emit(f"{x.text}[{self.rng.randrange(w)}] = {value.text}", indent)
        else:
            lo = self.rng.randrange(w)
            self.emit(f"{x.text}[{lo}:{self.rng.randrange(lo + 1, w + 1)}] = {value.text}", indent)

    def declare_local(self, indent):
        t = self.elem_type()
        name = self.fresh("v")
        value = self.value_for(t)
        self.emit(f"{name}: {spell(t)} = {value.text}", indent)
        self.st.scalars[-1].append([Operand(name, t, 100.0), True])

    # -- the kernel --------------------------------------------------------------------------------------
    def program(self) -> Program:
        params, in_place = [], self.rng.random() < 0.25
        for _ in range(self.rng.randrange(1, 4)):
            shape = (self.rng.randrange(2, 7),) if self.rng.random() < 0.6 else (
                self.rng.randrange(2, 4), self.rng.randrange(2, 5))
            name = self.fresh("A")
            tt = TensorType(self.elem_type(), shape)
            params.append((name, tt))
            self.st.tensors[name] = (tt, in_place)
        for _ in range(self.rng.randrange(0, 3)):
            name = self.fresh("s")
            t = self.elem_type()
            t = t if T.is_float(t) or T.is_fixed(t) or t.bits <= 64 else T.INT32
            params.append((name, t))
            self.st.scalars[0].append([Operand(name, t, 100.0), False])
        helper = self.helper() if self.rng.random() < 0.4 else ""
        outs = []
        if not in_place:
            for _ in range(self.rng.randrange(1, 3)):
                name = self.fresh("R")
                tt = TensorType(self.elem_type(), self.rng.choice([tt.shape for _, tt in params
                                                                  if isinstance(tt, TensorType)]))
                self.emit(f"{name}: {spell(tt)} = {self.tensor_init(tt, params)}", 1)
                self.st.tensors[name] = (tt, True)
                outs.append((name, tt))
        for _ in range(self.rng.randrange(1, 3)):
            self.declare_local(1)
        for _ in range(self.rng.randrange(2, 6)):
            self.statement(1, 0)
        returns = list(outs)
        if not in_place and self.rng.random() < 0.6:
            x = self.rng.choice(self.visible())
            returns.append((x.text, x.t if not isinstance(x.t, Index) else T.INT32))
        if not in_place:
            self.rng.shuffle(returns)
        signature = ", ".join(f"{n}: {spell(t)}" for n, t in params)
        ret = ""
        if returns:
            ret = " -> " + (f"({', '.join(spell(t) for _, t in returns)})" if len(returns) > 1 else spell(returns[0][1]))
        head = [f"def {self.name}({signature}){ret}:"]
        tail = [f"    return {', '.join(n for n, _ in returns)}"] if returns else []
        return Program(self.name, helper + "\n".join(head + self.lines + tail) + "\n", params, in_place, self.floats)

    def tensor_init(self, tt, params) -> str:
        """0, or an elementwise tensor expression of same-shaped arguments (numpy broadcasting)."""
        same = [n for n, t in params if isinstance(t, TensorType) and t.shape == tt.shape
                and self.kind_of(t.dtype) != "float"]
        if not same or self.rng.random() < 0.6:
            return "0"
        a = self.rng.choice(same)
        op = self.rng.choice(["+", "-", "*"])
        other = self.rng.choice(same + ["2", "-3"])
        return f"{a} {op} {other}"

    def helper(self) -> str:
        """A scalar sub-kernel of two arguments, called from the kernel's expressions."""
        name = f"{self.name}_h"
        types = [self.int_type(), self.rng.choice([self.int_type(), self.fixed_type()])]
        sub = Generator(self.rng, name)
        sub.floats = False
        sub.st.scalars[0] = [[Operand(f"x{k}", t, 100.0), False] for k, t in enumerate(types)]
        body = sub.expr(self.rng.choice(["int", "fixed"]), 0)
        result = body.t if body.t is not None and not isinstance(body.t, Index) and body.t.bits <= 64 else T.INT32
        self.helpers = [(name, types, result)]
        args = ", ".join(f"x{k}: {spell(t)}" for k, t in enumerate(types))
        return f"def {name}({args}) -> {spell(result)}:\n    return {body.text}\n\n\n"

    def call(self, depth) -> Operand:
        name, types, result = self.helpers[0]
        args = [self.expr(self.kind_of(t), depth + 1).text for t in types]
        return Operand(f"{name}({', '.join(args)})", result)

    def pipeline_pair(self, indent):
        """A producer loop nest and a consumer of its tensor at the same index (a compute_at candidate)."""
        writable = [(n, tt) for n, (tt, w) in self.st.tensors.items() if w]
        if not writable:
            return self.store(indent)
        name, tt = self.rng.choice(writable)
        loops = [self.fresh("i") for _ in tt.shape]
        index = ", ".join(loops)
        head = f"for {', '.join(loops)} in dsl.grid({', '.join(map(str, tt.shape))}):" if len(loops) > 1 else \
            f"for {loops[0]} in range({tt.shape[0]}):"
        self.emit(head, indent)
        self.st.loops += [Loop(lp, 0, d - 1) for lp, d in zip(loops, tt.shape)]
        self.emit(f"{name}[{index}] = {self.value_for(tt.dtype).text}", indent + 1)
        del self.st.loops[-len(loops):]
        consumers = [(n, t2) for n, (t2, w) in self.st.tensors.items() if w and n != name and t2.shape == tt.shape]
        if not consumers:
            return
        target, t2 = self.rng.choice(consumers)
        loops = [self.fresh("i") for _ in tt.shape]
        index = ", ".join(loops)
        head = f"for {', '.join(loops)} in dsl.grid({', '.join(map(str, tt.shape))}):" if len(loops) > 1 else \
            f"for {loops[0]} in range({tt.shape[0]}):"
        self.emit(head, indent)
        self.st.loops += [Loop(lp, 0, d - 1) for lp, d in zip(loops, tt.shape)]
        value = self.value_for(t2.dtype)
        self.emit(f"{target}[{index}] = {name}[{index}] {self.rng.choice(['+', '-', '*'])} {value.text}", indent + 1)
        del self.st.loops[-len(loops):]


def _kind(op: Operand) -> str:
    if op.t is None:
        return "float" if "." in op.text else "int"
    return Generator.kind_of(op.t)


def _lit(text):
    return float(text) if "." in text else int(text)


def _binary_type(op, a, b):
    at = a.t or T.literal(_lit(a.text), b.t)
    bt = b.t or T.literal(_lit(b.text), a.t)
    if a.t is None and isinstance(_lit(a.text), float) and not (T.is_float(bt) or T.is_fixed(bt)):
        at = float32
    if b.t is None and isinstance(_lit(b.text), float) and not (T.is_float(at) or T.is_fixed(at)):
        bt = float32
    return T.binary(op, at, bt)


def _float_bound(op, a, b):
    x, y = a.bound or 1e3, b.bound or 1e3
    if op == "*":
        return x * y
    if op == "/":
        return x * 4
    return x + y


def generate(seed: int, index: int) -> Program:
    rng = random.Random(seed * 1_000_003 + index)
    return Generator(rng, f"rk{seed}_{index}").program()
