"""The schedule primitives, one module per concept; importing them fills ``registry.REGISTRY``."""
from . import loops, buffers, fusion, dataflow, parallel  # noqa: F401
