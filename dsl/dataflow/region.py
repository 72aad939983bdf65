"""Compiling a ``dsl.region`` into the IR of a dataflow design (see the Streams section of dsl/IR.md).

Each kernel of the region becomes one ``func.func`` per processing element (``pe_0_1`` for pid (0, 1)),
compiled by the ordinary frontend with ``get_pid()`` folded to constants. Every stream a PE touches
becomes a leading ``memref<1xT>`` argument carrying ``{dsl.stream_depth = N}``; ``.put(v)`` stores into it
and ``.get()`` loads from it. The region itself becomes the top function: one ``memref.alloc`` per FIFO
(``dsl.stream_depth``) and one ``func.call`` per PE, producers before consumers, under ``dsl.dataflow``.
"""
from __future__ import annotations

import ast
import copy
import dataclasses

from mlir import ir
from mlir.dialects import func, memref

from ..errors import CallError, DSLError, DSLSyntaxError, StreamError
from ..frontend.streams import stream_attrs  # (importing it registers put/get/get_pid)
from ..frontend.meta import unroll_meta_for
from ..frontend.source import (KernelSource, bind_type_params, eval_annotation, read_kernel, read_signature,
                               type_param_names)
from ..frontend.unit import CompilationUnit
from ..types import TensorType
from .lang import KernelSpec, StreamArrayType, StreamDecl, StreamType, kernel

PID_KEY = "__dsl_pid__"
FIFO_PREFIX = "__dsl_fifo_"  # kernel-internal name of a stream argument (dsl.arg_names gets the FIFO's name)


class _Instance:
    """Stands for one PE's function in the compilation unit (hashable, has a ``__name__``)."""

    def __init__(self, name):
        self.__name__ = name


class RegionUnit(CompilationUnit):
    """A compilation unit that also knows the kernel sources rewritten per PE."""

    def __init__(self, context):
        super().__init__(context)
        self.extra_sources: dict = {}

    def source(self, fn):
        return self.extra_sources.get(fn) or super().source(fn)


class PE:
    """One compiled kernel instance: its symbol, streams (in argument order) and data arguments."""

    def __init__(self, symbol, kernel_name, pid, streams, params, loc):
        self.symbol, self.kernel_name, self.pid = symbol, kernel_name, pid
        self.streams, self.params, self.loc = streams, params, loc


def compile_region(region, instantiate=None, schedule=None):
    from .schedule import RegionSchedule

    context = ir.Context()
    unit = RegionUnit(context)
    top = region_function(unit, region, instantiate, top=True)
    with context:
        if not unit.module.operation.verify():
            raise DSLError(f"internal error: the module generated for region {region.__name__!r} does not verify")
    s = RegionSchedule(unit.module, top, context, kernel=region)
    if schedule is not None:
        s.apply_schedule(schedule)
    return s


def region_function(unit, region, type_args=None, top=False, loc=None) -> str:
    """Compile ``region`` (instantiated with ``type_args`` when it has type parameters) into ``unit``: one
    function per PE and the region's own function calling them; returns that function's symbol. A region
    called from a kernel (a hierarchical design) is compiled once per instantiation."""
    cache = unit.__dict__.setdefault("_region_symbols", {})
    key = (region, tuple(type_args) if isinstance(type_args, (list, tuple)) else type_args)
    if not top and key in cache:
        return cache[key]
    if not hasattr(unit, "extra_sources"):
        unit.extra_sources = {}
    src = read_kernel(region.fn)
    free = set(region.fn.__code__.co_freevars)  # closure cells are the live values: they win
    src.env.update({k: v for k, v in getattr(region, "enclosing", {}).items() if k not in free})
    params = type_param_names(region.fn) or tuple(getattr(region, "__dsl_type_params__", ()))
    src = dataclasses.replace(src, type_params=params)
    if params or type_args is not None:
        if not params:
            raise DSLError(f"region {region.__name__!r} takes no type arguments", loc)
        if type_args is None:
            raise CallError(f"region {region.__name__!r} has type parameters [{', '.join(params)}]: instantiate "
                            f"it, e.g. {region.__name__}[{', '.join(params)}](...)", loc)
        src.env.update(bind_type_params(src, type_args, loc))
    sig = read_signature(src, src.env)
    if sig.returns:
        raise DSLSyntaxError("a region returns nothing: kernels write their results into the region's arguments",
                             src.loc(src.tree))
    decls, kernels = _parse_body(src)
    env = dict(src.env)
    env.update({d.name: (d.refs()[0] if not d.shape else d) for d in decls})
    pes = []
    for fdef, spec in kernels:
        _check_params(src, sig, fdef, spec)
        for pid in spec.pids():
            pes.append(_compile_pe(unit, src, fdef, spec, pid, env, decls))
    symbol = _build_top(unit, src, sig, decls, _topological(pes), top=top)
    cache[key] = symbol
    return symbol


def call_region(fc, region, type_args, node):
    """``inner[2, 2](A, B)`` inside a kernel: the caller becomes a dataflow function calling the region's
    function, so that the region's PEs join the design's network of processes (as they do in hardware)."""
    from mlir.dialects import func as func_d

    from ..frontend.values import Literal, Tensor

    if node.keywords:
        raise CallError(f"region {region.__name__!r} takes positional arguments only", fc.loc(node))
    args = [fc.expr(a) for a in node.args]
    symbol = region_function(fc.unit, region, type_args, loc=fc.loc(node))
    with fc.unit.context:
        callee = _find(fc.unit.module, symbol)
        types = list(ir.FunctionType(ir.TypeAttr(callee.attributes["function_type"]).value).inputs)
    if len(args) != len(types):
        raise CallError(f"region {region.__name__!r} takes {len(types)} argument(s), got {len(args)}", fc.loc(node))
    operands = []
    for a, t, a_node in zip(args, types, node.args):
        if not isinstance(a, Tensor) or a.value.type != t:
            raise CallError(f"region {region.__name__!r} expects a whole tensor {t} here, got "
                            f"{a.ttype if isinstance(a, Tensor) else type(a).__name__}", fc.loc(a_node))
        operands.append(a.value)
    func_d.CallOp([], ir.FlatSymbolRefAttr.get(symbol), operands)
    fc.func_op.attributes["dsl.dataflow"] = ir.UnitAttr.get()
    return Literal(None)


# -- the region body ----------------------------------------------------------------------------------

def _parse_body(src: KernelSource):
    decls, kernels = [], []
    body = src.tree.body
    for stmt in body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is None:
            decls.append(_stream_decl(src, stmt))
        elif isinstance(stmt, ast.FunctionDef):
            kernels.append((stmt, _kernel_spec(src, stmt)))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            kernels.append((_call_process(src, stmt), KernelSpec()))
        else:
            raise DSLSyntaxError("a region holds stream declarations (`pipe: dsl.Stream[int32, 4]`), "
                                 "@dsl.kernel functions and calls of kernels (one process each) only",
                                 src.loc(stmt))
    if not kernels:
        raise DSLSyntaxError(f"region {src.name!r} defines no @dsl.kernel", src.loc(src.tree))
    return decls, kernels


def _call_process(src, stmt) -> ast.FunctionDef:
    """``units.aw_gemm[int8, ...](xs, ws, ys)`` in a region body: one process running that call, as if
    written ``@dsl.kernel(mapping=[1]) def aw_gemm(<the region arguments it uses>): <the call>``."""
    params = {a.arg: a for a in src.tree.args.args}
    used = []
    for node in ast.walk(stmt.value):
        if isinstance(node, ast.Name) and node.id in params and node.id not in used:
            used.append(node.id)
    func = stmt.value.func
    while isinstance(func, (ast.Subscript, ast.Attribute)):
        if isinstance(func, ast.Attribute):
            name = func.attr
            break
        func = func.value
    else:
        name = func.id if isinstance(func, ast.Name) else "process"
    args = [ast.copy_location(ast.arg(arg=n, annotation=copy.deepcopy(params[n].annotation)), stmt) for n in used]
    fdef = ast.FunctionDef(name=name, args=ast.arguments(posonlyargs=[], args=args, kwonlyargs=[], kw_defaults=[],
                                                         defaults=[]),
                           body=[stmt], decorator_list=[], returns=None, type_params=[])
    return ast.fix_missing_locations(ast.copy_location(fdef, stmt))


def _stream_decl(src, stmt) -> StreamDecl:
    t = eval_annotation(stmt.annotation, src, src.env)
    if isinstance(t, StreamType):
        return StreamDecl(stmt.target.id, t, (), src.loc(stmt))
    if isinstance(t, StreamArrayType):
        return StreamDecl(stmt.target.id, t.stream, t.shape, src.loc(stmt))
    raise DSLSyntaxError(f"'{stmt.target.id}' in a region must be a stream (dsl.Stream[T, depth] or "
                         f"dsl.Stream[T, depth][P...]), got {t!r}", src.loc(stmt))


def _kernel_spec(src, fdef) -> KernelSpec:
    specs = []
    for dec in fdef.decorator_list:
        names = None
        if isinstance(dec, ast.Call) and any(kw.arg == "args" for kw in dec.keywords):
            names = _arg_names(src, dec)  # region arguments: no values while the region is compiled
            dec = ast.copy_location(ast.Call(dec.func, dec.args, [k for k in dec.keywords if k.arg != "args"]), dec)
        try:
            value = eval(compile(ast.Expression(dec), src.file, "eval"), src.env)  # noqa: S307 - user's decorator
        except DSLError as exc:
            raise exc.at(src.loc(dec)) from None
        except Exception as exc:  # e.g. @dsl.kernal: what Python said, at the decorator
            raise DSLSyntaxError(f"cannot evaluate the decorator '@{ast.unparse(dec)}' of '{fdef.name}': {exc}",
                                 src.loc(dec), hint="kernels of a region are decorated with "
                                                    "@dsl.kernel(mapping=[...])") from None
        spec = KernelSpec() if value is kernel else value
        if names is not None and isinstance(spec, KernelSpec):
            spec.args = names
        specs.append(spec)
    if len(specs) != 1 or not isinstance(specs[0], KernelSpec):
        raise DSLSyntaxError(f"'{fdef.name}' in a region must be decorated with @dsl.kernel(mapping=[...])",
                             src.loc(fdef))
    return specs[0]


def _arg_names(src, dec) -> tuple:
    value = next(kw.value for kw in dec.keywords if kw.arg == "args")
    region_args = [a.arg for a in src.tree.args.args]
    if not isinstance(value, (ast.List, ast.Tuple)) or not all(isinstance(e, ast.Name) for e in value.elts):
        raise DSLSyntaxError("args= of dsl.kernel is a list of region argument names, e.g. args=[A, B]",
                             src.loc(value))
    for e in value.elts:
        if e.id not in region_args:
            raise CallError(f"args= names '{e.id}', which is not an argument of region {src.name!r} "
                            f"({', '.join(region_args) or 'none'})", src.loc(e))
    return tuple(e.id for e in value.elts)


def _check_params(src, sig, fdef, spec):
    region_params = {p.name: p for p in sig.params}
    if fdef.returns is not None:
        raise DSLSyntaxError(f"kernel '{fdef.name}' of a region returns nothing: write results into a region "
                             "argument", src.loc(fdef))
    if spec.args is not None:  # Allo's positional binding: parameter k receives region argument args[k]
        params = fdef.args.args
        if len(params) != len(spec.args):
            raise CallError(f"kernel '{fdef.name}' has {len(params)} parameter(s) but args= binds "
                            f"{len(spec.args)} region argument(s) ({', '.join(spec.args)})", src.loc(fdef))
        for a, name in zip(params, spec.args):
            want = region_params[name].type
            got = eval_annotation(a.annotation, src, src.env) if a.annotation is not None else None
            if got != want:
                raise CallError(f"parameter '{a.arg}' of kernel '{fdef.name}' is {got!r} but receives region "
                                f"argument '{name}' of type {want!r}", src.loc(a))
        return
    for a in fdef.args.args:
        if a.arg not in region_params:
            raise CallError(f"argument '{a.arg}' of kernel '{fdef.name}' is not an argument of region "
                            f"{src.name!r} ({', '.join(region_params) or 'none'}): kernels take region "
                            "arguments by name, or by position with @dsl.kernel(..., args=[...])", src.loc(a))


# -- one processing element ---------------------------------------------------------------------------

def _compile_pe(unit, src, fdef, spec, pid, env, decls) -> PE:
    name = fdef.name + ("_" + "_".join(map(str, pid)) if spec.replicated else "")
    tree = copy.deepcopy(fdef)
    tree.decorator_list = []
    penv = dict(env)
    penv[PID_KEY] = pid if len(pid) > 1 else pid[0]
    _fold_pid(src, tree, pid, penv)
    tree.body = unroll_meta_for(src, tree.body, penv, params=[a.arg for a in tree.args.args])
    refs = _streams_used(src, tree, penv, {d.name for d in decls})
    data_params = [a.arg for a in tree.args.args]
    for ref in refs:
        if ref.flat_name in data_params:
            raise StreamError(f"argument '{ref.flat_name}' of kernel '{fdef.name}' has the name of stream "
                              f"{ref.label}; rename one of them", src.loc(fdef))
    stream_args = []
    for k, ref in enumerate(refs):
        type_name = f"__dsl_stream_type{k}"
        penv[type_name] = ref.stream.buffer_type
        arg = ast.arg(arg=FIFO_PREFIX + ref.flat_name, annotation=ast.Name(id=type_name, ctx=ast.Load()))
        stream_args.append(ast.copy_location(arg, fdef))
        ast.copy_location(arg.annotation, fdef)
    tree.args.args = stream_args + tree.args.args
    obj = _Instance(name)
    unit.extra_sources[obj] = KernelSource(obj, tree, src.file, penv)
    symbol = unit.instance(obj, None, None, src.loc(fdef))
    with unit.context:
        fop = _find(unit.module, symbol)
        _annotate_pe(fop, refs, fdef.name, pid, len(tree.args.args))
    return PE(symbol, fdef.name, pid, refs, list(spec.args) if spec.args is not None else data_params,
              src.loc(fdef))


def _fold_pid(src, tree, pid, penv):
    """``i, j = dsl.get_pid()`` statements at the top of a kernel bind compile-time ints."""
    kept = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _is_get_pid(stmt.value, penv):
            _bind_pid(src, stmt.targets[0], pid, penv)
        else:
            kept.append(stmt)
    tree.body = kept or [ast.copy_location(ast.Pass(), tree)]


def _is_get_pid(node, penv) -> bool:
    from .lang import get_pid

    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    try:
        return eval(compile(ast.Expression(node.func), "<pid>", "eval"), penv) is get_pid  # noqa: S307
    except Exception:
        return False


def _bind_pid(src, target, pid, penv):
    if isinstance(target, ast.Name):
        penv[target.id] = pid if len(pid) > 1 else pid[0]
        return
    names = target.elts if isinstance(target, (ast.Tuple, ast.List)) else None
    if names is None or len(names) != len(pid) or not all(isinstance(n, ast.Name) for n in names):
        raise DSLSyntaxError(f"get_pid() of a kernel with a {len(pid)}-D mapping gives {len(pid)} value(s): "
                             f"write e.g. `{', '.join('ijk'[:len(pid)])} = dsl.get_pid()`", src.loc(target))
    for n, v in zip(names, pid):
        penv[n.id] = v


def _streams_used(src, tree, penv, stream_names) -> list:
    """The FIFOs this PE puts to, gets from or passes to a kernel it calls, in order of first use (their
    indices must be constants)."""
    refs = []
    for base in _stream_expressions(tree, stream_names):
        root = base.value if isinstance(base, ast.Subscript) else base
        try:
            ref = eval(compile(ast.Expression(base), src.file, "eval"), penv)  # noqa: S307 - constants only
        except NameError as exc:
            raise StreamError(f"the index of stream '{root.id}' must be a compile-time constant (get_pid() "
                              f"values, module constants): {exc}", src.loc(base)) from None
        except DSLError as exc:
            raise exc.at(src.loc(base))
        if not hasattr(ref, "flat_name"):
            raise StreamError(f"'{ast.unparse(base)}' is an array of streams: index it to pick one stream",
                              src.loc(base))
        if ref not in refs:
            refs.append(ref)
    return refs


def _stream_expressions(tree, stream_names):
    """``pipe`` / ``fa[i, j]`` in ``X.put(..)``, ``X.get()`` and as arguments of calls (in ``ast.walk`` order)."""
    def is_stream(node):
        root = node.value if isinstance(node, ast.Subscript) else node
        return isinstance(root, ast.Name) and root.id in stream_names

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("put", "get") and is_stream(node.func.value):
            found.append(node.func.value)
        found += [a for a in node.args if isinstance(a, (ast.Name, ast.Subscript)) and is_stream(a)]
    return found


def _annotate_pe(fop, refs, kernel_name, pid, nargs):
    dicts = [{} for _ in range(nargs)]
    for k, ref in enumerate(refs):
        dicts[k] = stream_attrs(ref.stream, ref.label)
    fop.attributes["arg_attrs"] = ir.ArrayAttr.get([ir.DictAttr.get(d) for d in dicts])
    names = [ir.StringAttr(a).value for a in ir.ArrayAttr(fop.attributes["dsl.arg_names"])]
    names[:len(refs)] = [ref.flat_name for ref in refs]
    fop.attributes["dsl.arg_names"] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in names])
    fop.attributes["dsl.kernel"] = ir.StringAttr.get(kernel_name)
    fop.attributes["dsl.pid"] = ir.ArrayAttr.get([ir.IntegerAttr.get(ir.IntegerType.get_signless(32), v)
                                                  for v in pid])


def _find(module, symbol):
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == symbol:
            return op
    raise KeyError(symbol)


# -- the region's top function ------------------------------------------------------------------------

def _topological(pes):
    """Producers before consumers (stable), so that a sequential C simulation sees tokens before reads."""
    preds = {k: set() for k in range(len(pes))}
    producer_of = {}
    for k, pe in enumerate(pes):
        for ref, role in _roles(pe):
            if role == "put":
                producer_of.setdefault(ref, set()).add(k)
    for k, pe in enumerate(pes):
        for ref, role in _roles(pe):
            if role == "get":
                preds[k] |= producer_of.get(ref, set()) - {k}
    order, placed = [], set()
    while len(order) < len(pes):
        ready = [k for k in range(len(pes)) if k not in placed and preds[k] <= placed]
        k = ready[0] if ready else min(k for k in range(len(pes)) if k not in placed)  # a cycle: keep order
        order.append(k)
        placed.add(k)
    return [pes[k] for k in order]


def _roles(pe):
    return getattr(pe, "roles", [])


def _build_top(unit, src, sig, decls, pes, top=True) -> str:
    from .netlist import func_table, stream_roles

    symbol = unit._fresh_symbol(src.name)
    ctx = unit.context
    with ctx, ir.Location.file(src.file, src.tree.lineno, 1):
        types = [p.type.mlir() for p in sig.params]
        with ir.InsertionPoint(unit.module.body):
            fop = func.FuncOp(symbol, ir.FunctionType.get(types, []))
        _top_attrs(fop, src, sig, top)
        block = fop.add_entry_block()
        args = {p.name: v for p, v in zip(sig.params, block.arguments)}
        funcs = func_table(unit.module)
        for pe in pes:
            pe.roles = stream_roles(funcs[pe.symbol], len(pe.streams), pe.streams, funcs)
        pes = _topological(pes)
        with ir.InsertionPoint(block):
            fifos = _allocate(src, decls, pes)
            for pe in pes:
                with ir.Location.file(pe.loc.file, pe.loc.line, pe.loc.col + 1):
                    operands = [fifos[r] for r in pe.streams] + [args[n] for n in pe.params]
                    func.CallOp([], ir.FlatSymbolRefAttr.get(pe.symbol), operands)
            func.ReturnOp([])
    return symbol


def _allocate(src, decls, pes) -> dict:
    used = {r for pe in pes for r in pe.streams}
    fifos = {}
    for d in decls:
        for ref in d.refs():
            if ref not in used:
                continue
            with ir.Location.file(d.loc.file, d.loc.line, d.loc.col + 1):
                op = memref.AllocOp(ref.stream.buffer_type.mlir(), [], [])
            attrs = {"dsl.name": ir.StringAttr.get(ref.flat_name),
                     "dsl.type": ir.StringAttr.get(repr(ref.stream.element)), **stream_attrs(ref.stream, ref.label)}
            for k, v in attrs.items():
                op.attributes[k] = v
            fifos[ref] = op.result
    return fifos


def _top_attrs(fop, src, sig, top=True):
    s = ir.StringAttr.get
    i32 = ir.IntegerType.get_signless(32)
    fop.attributes["dsl.arg_names"] = ir.ArrayAttr.get([s(p.name) for p in sig.params])
    fop.attributes["dsl.arg_types"] = ir.ArrayAttr.get(
        [s(repr(p.type.dtype if isinstance(p.type, TensorType) else p.type)) for p in sig.params])
    fop.attributes["dsl.num_outputs"] = ir.IntegerAttr.get(i32, 0)
    fop.attributes["dsl.result_types"] = ir.ArrayAttr.get([])
    fop.attributes["dsl.src"] = s(f"{src.file}:{src.tree.lineno}")
    if top:
        fop.attributes["dsl.top"] = ir.UnitAttr.get()
    else:  # a region called by a kernel of another one
        fop.attributes["sym_visibility"] = ir.StringAttr.get("private")
    fop.attributes["dsl.dataflow"] = ir.UnitAttr.get()
    fop.attributes["dsl.region"] = ir.UnitAttr.get()
