"""Backends: the CPU JIT (``llvm``), Vitis HLS C++ (``hls``) and the dataflow simulator."""
