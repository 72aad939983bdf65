"""dsl.qor: quality-of-results estimates of a scheduled kernel before synthesis.

    r = dsl.estimate(s, device="u280", clock_mhz=300)
    print(r)                               # loops, functions, regions, resources, and why
    r.loops["S_i_j_0:j"].ii, r.loops["S_i_j_0:j"].ii_reason

See ``dsl/qor/README.md`` for the rules, their sources and the data API of the report.
"""
from .estimate import estimate
from .report import (BufferEstimate, Estimate, FunctionEstimate, Limit, LoopEstimate, ProcessEstimate,
                     RegionEstimate, ResourceUse, StreamEstimate)
from .tables import EstimateError, known_devices, load_device, load_tables

__all__ = ["BufferEstimate", "Estimate", "EstimateError", "FunctionEstimate", "Limit", "LoopEstimate",
           "ProcessEstimate", "RegionEstimate", "ResourceUse", "StreamEstimate", "estimate", "known_devices",
           "load_device", "load_tables"]
