"""User-facing objects of spatial designs: stream types, ``dsl.region``, ``dsl.kernel(mapping=...)`` and
``dsl.get_pid()``.

    @dsl.region()
    def top(A: int32[N], B: int32[N]):
        pipe: dsl.Stream[int32, 4]              # one FIFO of depth 4 (arrays: dsl.Stream[int32, 4][P])

        @dsl.kernel(mapping=[1])
        def producer(A: int32[N]):
            for i in range(N):
                pipe.put(A[i] + 1)

        @dsl.kernel(mapping=[1])
        def consumer(B: int32[N]):
            for i in range(N):
                B[i] = pipe.get()
"""
from __future__ import annotations

import sys

import itertools
import math
from dataclasses import dataclass

from ..errors import DSLTypeError, StreamError, user_facing
from ..types import MAX_EXTENT, DSLType, TensorType

DEFAULT_DEPTH = 2
MAX_INSTANCES = 4096  # processing elements of one kernel, FIFOs of one stream array


@dataclass(frozen=True)
class StreamType:
    """``dsl.Stream[int32, 4]``: a FIFO of ``depth`` tokens of ``dtype``, a scalar type or a block (a tensor
    type such as ``int8[16]`` or ``float32[4, 64]``: one vector or tile per token, as Allo's
    ``Stream[T[M, N], d]``)."""

    dtype: object  # DSLType | TensorType
    depth: int = DEFAULT_DEPTH

    @user_facing
    def __getitem__(self, shape) -> "StreamArrayType":
        shape = shape if isinstance(shape, tuple) else (shape,)
        if not shape or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in shape):
            raise DSLTypeError(f"an array of streams needs positive int sizes, got {list(shape)}")
        if math.prod(shape) > MAX_INSTANCES:
            raise DSLTypeError(f"an array of {math.prod(shape)} streams: at most {MAX_INSTANCES} (each is a FIFO "
                               "of its own)")
        return StreamArrayType(self, tuple(shape))

    @property
    def is_block(self) -> bool:
        return isinstance(self.dtype, TensorType)

    @property
    def element(self) -> DSLType:
        """The scalar type of the token's elements (the token type itself for a scalar stream)."""
        return self.dtype.dtype if self.is_block else self.dtype

    @property
    def buffer_type(self) -> TensorType:
        """The memref a FIFO endpoint is in the IR: ``T[1]`` for scalars, the block's own type for blocks."""
        return self.dtype if self.is_block else TensorType(self.dtype, (1,))

    def __repr__(self):
        return f"Stream[{self.dtype!r}, {self.depth}]"


@dataclass(frozen=True)
class StreamArrayType:
    """``dsl.Stream[int32, 4][P0, P1]``: a grid of independent FIFOs."""

    stream: StreamType
    shape: tuple

    def __repr__(self):
        return f"{self.stream!r}[{', '.join(map(str, self.shape))}]"


class _StreamFactory:
    """``dsl.Stream[T]`` (depth 2) and ``dsl.Stream[T, depth]``."""

    @user_facing
    def __getitem__(self, key) -> StreamType:
        key = key if isinstance(key, tuple) else (key,)
        if len(key) not in (1, 2):
            raise DSLTypeError(f"write Stream[T] or Stream[T, depth], got {len(key)} parameters")
        dtype, depth = key[0], key[1] if len(key) == 2 else DEFAULT_DEPTH
        if isinstance(dtype, TensorType):
            if not dtype.shape or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in dtype.shape):
                raise DSLTypeError(f"Stream[T[...], depth]: a block's shape must be positive ints, got {dtype!r}")
        elif not isinstance(dtype, DSLType):
            raise DSLTypeError(f"Stream[T, depth]: T must be a dsl type such as int32, UInt(512) or a block "
                               f"such as int8[16], got {dtype!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or not 0 < depth <= MAX_EXTENT:
            raise DSLTypeError(f"Stream[{dtype!r}, depth]: depth must be an int in 1..{MAX_EXTENT}, got {depth!r}")
        return StreamType(dtype, depth)

    def __repr__(self):
        return "dsl.Stream"


Stream = _StreamFactory()


class _StreamMethod:
    """``.put`` / ``.get`` of a stream: one shared object per method, recognised by the frontend (its
    handler is registered in ``dsl.frontend.calls.INTRINSICS``)."""

    def __init__(self, name):
        self.name = name

    @user_facing
    def __call__(self, *args):
        raise StreamError(f"stream .{self.name}() can only be used inside a kernel of a dsl.region")

    def __repr__(self):
        return f"<stream method {self.name}>"


PUT, GET = _StreamMethod("put"), _StreamMethod("get")


class StreamRef:
    """One FIFO of a declared stream (array): what ``pipe`` or ``pipe[i, j]`` is inside a kernel."""

    put, get = PUT, GET

    def __init__(self, decl: "StreamDecl", index: tuple):
        self.decl, self.index = decl, index

    @property
    def dtype(self):
        return self.decl.stream.dtype

    @property
    def stream(self) -> StreamType:
        return self.decl.stream

    @property
    def depth(self):
        return self.decl.stream.depth

    @property
    def flat_name(self) -> str:
        return "_".join([self.decl.name, *map(str, self.index)])

    @property
    def label(self) -> str:
        """How users wrote it: ``pipe`` or ``pipe[1, 2]``."""
        return self.decl.name + (f"[{', '.join(map(str, self.index))}]" if self.index else "")

    def __eq__(self, other):
        return isinstance(other, StreamRef) and (self.decl.name, self.index) == (other.decl.name, other.index)

    def __hash__(self):
        return hash((self.decl.name, self.index))

    def __repr__(self):
        return f"<stream {self.label}: {self.decl.stream!r}>"


class StreamDecl:
    """A stream declaration of a region (``pipe: dsl.Stream[int32, 4][P]``), with its source location."""

    def __init__(self, name: str, stream: StreamType, shape: tuple, loc):
        self.name, self.stream, self.shape, self.loc = name, stream, shape, loc

    def __getitem__(self, key) -> StreamRef:
        key = key if isinstance(key, tuple) else (key,)
        if not self.shape:
            raise StreamError(f"stream '{self.name}' is a single stream, not an array: use {self.name}.put/get")
        if len(key) != len(self.shape) or any(not isinstance(k, int) for k in key):
            raise StreamError(f"stream array '{self.name}' has shape {list(self.shape)}: index it with "
                              f"{len(self.shape)} compile-time int(s), got {list(key)}")
        if any(not 0 <= k < d for k, d in zip(key, self.shape)):
            raise StreamError(f"index {list(key)} is out of range for stream array '{self.name}' of shape "
                              f"{list(self.shape)}")
        return StreamRef(self, key)

    def refs(self):
        return [StreamRef(self, idx) for idx in itertools.product(*map(range, self.shape))]

    # a scalar stream is used directly: pipe.put(x)
    @property
    def put(self):
        return PUT

    @property
    def get(self):
        return GET


class KernelSpec:
    """What ``@dsl.kernel(mapping=[P0, P1], args=[A, B])`` says about a kernel of a region: its PE grid and,
    with ``args``, which region arguments its parameters receive, by position (Allo's binding; without
    ``args`` a kernel's parameters are region arguments of the same names)."""

    def __init__(self, mapping=None, args=None):
        mapping = [1] if mapping is None else list(mapping if isinstance(mapping, (list, tuple)) else [mapping])
        if not mapping or any(not isinstance(m, int) or isinstance(m, bool) or m <= 0 for m in mapping):
            raise DSLTypeError(f"kernel mapping must be a list of positive ints, got {mapping!r}")
        if math.prod(mapping) > MAX_INSTANCES:
            raise DSLTypeError(f"kernel mapping {mapping!r} makes {math.prod(mapping)} processing elements: at most "
                               f"{MAX_INSTANCES} (each is compiled as a function of its own)")
        self.mapping = tuple(mapping)
        self.args = None if args is None else tuple(args)  # region argument names, set by the region compiler

    def __call__(self, fn):
        fn.__dsl_mapping__ = self.mapping
        return fn

    @property
    def replicated(self) -> bool:
        return self.mapping != (1,)

    def pids(self):
        return list(itertools.product(*map(range, self.mapping)))


@user_facing
def kernel(mapping=None, args=None):
    """Declare a kernel of a ``dsl.region``, replicated into a grid of processing elements by ``mapping``;
    ``args=[A, B]`` binds the kernel's parameters to those region arguments by position."""
    if args is not None and not all(isinstance(a, str) for a in args):
        raise StreamError("args= of dsl.kernel names region arguments: write it inside a dsl.region body")
    return KernelSpec(mapping, args)


@user_facing
def get_pid():
    """Inside a kernel with ``mapping=[P0, P1]``: this instance's position ``(i, j)`` (an int for 1-D),
    a compile-time constant."""
    raise StreamError("dsl.get_pid() can only be used inside a kernel of a dsl.region")


@user_facing
def meta_for(*bounds):
    """``with dsl.meta_for(P) as p:`` inside a kernel repeats its body for p = 0 .. P-1 (the arguments of
    ``range``) at compile time, so that ``p`` is a constant: it may index arrays of streams, e.g. one loader
    kernel feeding every row of a PE array: ``fa[p, 0].put(A[i * P + p, k])``."""
    raise StreamError("dsl.meta_for(...) can only be used as `with dsl.meta_for(N) as p:` inside a kernel")


class Region:
    """A spatial design: ``dsl.customize(region)`` compiles it, ``dsl.build(region, target="sim")`` runs it."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.enclosing = _enclosing_locals()

    def __repr__(self):
        return f"<dsl.region {self.__name__}>"

    @user_facing
    def __call__(self, *args):
        raise StreamError(f"region {self.__name__!r} is a design, not a Python function: build it with "
                          f"dsl.build({self.__name__}, target='sim') and call the result")

    def __dsl_customize__(self, instantiate=None, schedule=None):
        from .region import compile_region

        return compile_region(self, instantiate, schedule)

    def __getitem__(self, type_args):
        """``inner[2, 2]``: the region instantiated with type arguments (inside a kernel: a sub-region)."""
        from ..frontend.calls import Instantiation

        return Instantiation(self, type_args)

    def __dsl_call__(self, fc, type_args, node):
        """A kernel calling this region (a hierarchical design): its PEs join the caller's network."""
        from .region import call_region

        return call_region(fc, self, type_args, node)


def _enclosing_locals() -> dict:
    """The locals of the function that defines the region (a design factory such as ``def make(depth):``).
    Names used only in annotations (``pipe: dsl.Stream[int32, depth]``) are not closure variables under
    ``from __future__ import annotations``, so the region would not see them otherwise."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:  # Region.__init__, region()
        frame = frame.f_back
    if frame is None or frame.f_code.co_name == "<module>":
        return {}
    return dict(frame.f_locals)


def region(fn=None):
    """``@dsl.region()`` (or ``@dsl.region``): a function holding stream declarations and kernels."""
    if fn is not None and callable(fn):
        return Region(fn)
    return Region
