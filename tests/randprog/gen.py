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
from .gen_expr import MAX_FLOAT, ExprMixin, Operand, _kind, spell

INT_WIDTHS = (1, 2, 3, 5, 7, 8, 9, 12, 13, 16, 17, 24, 31, 32, 33, 48, 63, 64)
FIXED_SHAPES = ((4, 2), (6, 6), (8, 1), (8, 4), (8, 8), (10, 3), (12, 0), (16, 8), (17, 5), (20, 12), (24, 10), (32, 16))
WIDE_WIDTHS = (65, 68, 72, 96, 127, 128, 129, 200)  # locals only: arguments wider than 64 bits are CPU-only
AUG_OPS = ("+", "-", "*", "&", "|", "^")


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


class Generator(ExprMixin):
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
    # -- expressions -----------------------------------------------------------------------------------
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
        wide = self.wide_index() if T.is_int(target.t) and target.t.bits > 32 and self.rng.random() < 0.4 else None
        value = wide or self.value_for(target.t)
        if not wide and self.rng.random() < 0.3 and not T.is_float(target.t) and _kind(value) == "int":
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

    def wide_type(self):
        return (Int if self.rng.random() < 0.6 else UInt)(self.rng.choice(WIDE_WIDTHS))

    def declare_local(self, indent):
        t = self.elem_type() if self.rng.random() < 0.85 else self.wide_type()
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
        if self.rng.random() < 0.3:  # a local tensor, possibly of a width beyond 64 bits
            name = self.fresh("L")
            tt = TensorType(self.wide_type() if self.rng.random() < 0.5 else self.elem_type(),
                            self.rng.choice([tt.shape for _, tt in params if isinstance(tt, TensorType)]))
            self.emit(f"{name}: {spell(tt)} = {self.tensor_init(tt, params)}", 1)
            self.st.tensors[name] = (tt, True)
        for _ in range(self.rng.randrange(1, 3)):
            self.declare_local(1)
        for _ in range(self.rng.randrange(2, 6)):
            self.statement(1, 0)
        returns = list(outs)
        scalars = [op for op in self.visible() if T.is_float(op.t) or T.width(op.t) <= 64]
        if not in_place and scalars and self.rng.random() < 0.6:  # csim returns scalars of up to 64 bits
            x = self.rng.choice(scalars)
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










def generate(seed: int, index: int) -> Program:
    rng = random.Random(seed * 1_000_003 + index)
    return Generator(rng, f"rk{seed}_{index}").program()
