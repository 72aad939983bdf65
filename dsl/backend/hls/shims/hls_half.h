// csim stand-in for Vitis HLS's hls_half.h: the open-source ap types ship no half, GCC has _Float16.
#ifndef DSL_SHIM_HLS_HALF_H
#define DSL_SHIM_HLS_HALF_H
typedef _Float16 half;
#define DSL_CSIM_HALF 1
#endif
