"""Names a kernel's annotations use that Python does not hand to the kernel function.

A kernel defined inside a function may size its tensors with that function's locals::

    def test():
        M, K = 10, 15
        def kernel(A: int32[M, K]) -> int32[M]:
            B: int32[M] = 0          # M appears only in annotations
            ...

Names used only in annotations are no closure variables (annotations of parameters are evaluated in the
enclosing scope when ``def`` runs; those of local variables are never evaluated), so the kernel's
``__closure__`` does not hold them. They are found, in this order of precedence:

1. the live locals of the enclosing function, when its frame is still running (the usual case: the
   function calls ``dsl.customize``); these are current values, as closure variables are;
2. the values Python computed for the parameter and return annotations (``kernel.__annotations__``),
   matched against their source to recover each name (``int32[M, K]`` evaluated to ``int32[10, 15]`` gives
   M = 10, K = 15); this covers factories whose frame has returned.

Only names that occur in an annotation and that the closure does not bind are taken, so nothing else of
the enclosing function leaks into the kernel. ``caller_names`` is Allo's last resort for any other name.
"""
from __future__ import annotations

import ast
import sys
import types as pytypes

from ..types import DSLType, TensorType


def annotation_names(tree: ast.FunctionDef) -> set:
    """Every name read in the parameter, return and local-variable annotations of ``tree`` (not nested defs)."""
    nodes = [a.annotation for a in tree.args.args if a.annotation is not None]
    if tree.returns is not None:
        nodes.append(tree.returns)
    for node in _walk_own(tree):
        if isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
    names = set()
    for ann in nodes:
        for expr in _expressions(ann):
            names |= {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    return names


def enclosing_names(fn, tree: ast.FunctionDef) -> dict:
    """Values for the annotation names of ``fn`` found in its enclosing scopes (see the module docstring)."""
    wanted = annotation_names(tree) - set(fn.__code__.co_freevars)
    if not wanted:
        return {}
    found = _from_annotations(fn, tree, wanted)
    for frame_locals in reversed(_enclosing_frames(fn.__code__)):  # innermost scope wins
        found.update({k: v for k, v in frame_locals.items() if k in wanted})
    return found


def _walk_own(tree):
    """Nodes of a function body, not descending into nested function or class definitions."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(child)


def _expressions(ann):
    """An annotation as expressions: a string annotation is parsed (``"T[N]"``)."""
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            return [ast.parse(ann.value, mode="eval").body]
        except SyntaxError:
            return []
    return [ann]


# -- 1. frames of the enclosing function ------------------------------------------------------------------

def _enclosing_frames(code) -> list:
    """Locals of the running frames that lexically enclose ``code``, innermost first."""
    out, target = [], code
    frame = sys._getframe(1)
    while frame is not None:
        if _defines(frame.f_code, target):
            out.append(frame.f_locals)
            target = frame.f_code
        frame = frame.f_back
    return out


def _defines(outer, target, depth=3) -> bool:
    """``target``'s def appears in ``outer``'s body (directly, or within a PEP 695 annotation scope)."""
    for const in outer.co_consts:
        if const is target:
            return True
        if depth and isinstance(const, pytypes.CodeType) and const.co_name.startswith("<generic parameters of"):
            if _defines(const, target, depth - 1):
                return True
    return False


# -- 2. the annotations Python evaluated --------------------------------------------------------------------

def _from_annotations(fn, tree, wanted) -> dict:
    try:
        values = dict(getattr(fn, "__annotations__", None) or {})
    except Exception:  # a lazily evaluated annotation (PEP 649) that fails: nothing to learn from it
        return {}
    pairs = [(a.annotation, values.get(a.arg)) for a in tree.args.args if a.annotation is not None]
    if tree.returns is not None:
        pairs.append((tree.returns, values.get("return")))
    found: dict = {}
    for node, value in pairs:
        if value is not None and not isinstance(value, str):
            _unify(node, value, found)
    return {k: v for k, v in found.items() if k in wanted}


def _unify(node, value, found: dict):
    """Bind the names of annotation ``node`` to the parts of its evaluated ``value``."""
    if isinstance(node, ast.Name):
        if isinstance(value, (DSLType, TensorType, int)) and not isinstance(value, bool):
            found.setdefault(node.id, value)
        return
    if isinstance(node, ast.Subscript) and isinstance(value, TensorType):
        _unify(node.value, value.dtype, found)
        dims = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(dims) == len(value.shape):
            for dim, extent in zip(dims, value.shape):
                _unify(dim, extent, found)
        return
    if isinstance(node, ast.Tuple) and isinstance(value, tuple) and len(node.elts) == len(value):
        for elt, v in zip(node.elts, value):
            _unify(elt, v, found)


# -- 3. the callers of dsl.customize (Allo's fallback) ------------------------------------------------------

def caller_names() -> dict:
    """Numbers and dsl types bound in the functions that called ``dsl.customize`` (innermost first), for
    names no Python scope of a kernel defines. Allo resolves such names this way (a module-level kernel
    reading ``beta``, a parameter of the function that customizes it); they have the lowest precedence, below
    builtins, globals and closures, so they never change the meaning of a name Python resolves."""
    import os

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found: dict = {}
    user_file = None  # only the frames of the file that called customize (not a test runner's own frames)
    frame = sys._getframe(1)
    while frame is not None:
        file = os.path.abspath(frame.f_code.co_filename)
        if not file.startswith(package):
            user_file = user_file or file
            if frame.f_code.co_name == "<module>":
                break
            if file == user_file:
                for name, value in frame.f_locals.items():
                    if name not in found and _eligible(value):
                        found[name] = value
        frame = frame.f_back
    return found


def _eligible(value) -> bool:
    return isinstance(value, (bool, int, float, DSLType))
