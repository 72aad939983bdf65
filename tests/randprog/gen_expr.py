"""Expressions of random kernels (the statements and the kernel itself are in ``gen.py``): every operator,
casts, min/max/abs, conditional expressions, bit reads and slices, sub-kernel calls, with their types
tracked by ``types.py`` so that indices stay in bounds, divisors are non-zero and no width passes 512."""
from __future__ import annotations

from dataclasses import dataclass

from dsl import Fixed, Index, TensorType, UInt, float32

from . import types as T

INT_OPS = ("+", "-", "*", "/", "//", "%", "&", "|", "^", "<<", ">>")
FIXED_OPS = ("+", "-", "*", "/")
FLOAT_OPS = ("+", "-", "*", "/")
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


class ExprMixin:
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

    def wide_index(self):
        """Index arithmetic whose values leave 32 bits (``i * 2147483647 + j * 65536``): it stays ``index``
        (64 bits on the CPU), so HLS must not compute it in ``int`` (issue 9, 7.7); None without a loop."""
        loops = [lp for lp in self.st.loops if lp.lo >= 0]
        if not loops:
            return None
        a, b = self.rng.choice(loops), self.rng.choice(loops)
        k1, k2 = self.rng.choice([2147483647, 1 << 30, 65536]), self.rng.choice([65536, 2147483647, 7])
        return Operand(f"({a.name} * {k1} + {b.name} * {k2} - {self.rng.choice([0, 2147483647])})", Index())

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

    def call(self, depth) -> Operand:
        name, types, result = self.helpers[0]
        args = [self.expr(self.kind_of(t), depth + 1).text for t in types]
        return Operand(f"{name}({', '.join(args)})", result)


def _kind(op: Operand) -> str:
    if op.t is None:
        return "float" if "." in op.text else "int"
    return ExprMixin.kind_of(op.t)


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
