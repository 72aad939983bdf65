// ap_axiu<D, U, TI, TD> for the dsl's C simulation: the AXI4-Stream side-channel struct Vitis HLS declares in
// its own ap_axi_sdata.h (UG1399, "How AXI4-Stream is Implemented": TDATA as `data`, TKEEP `keep`, TSTRB
// `strb`, TUSER `user`, TLAST `last`, TID `id`, TDEST `dest`). Vitis builds use the tools' header; this
// stand-in exists because no Vitis is installed here. A side channel of width 0 is kept one bit wide (never
// read by generated code).
#ifndef DSL_AP_AXI_SDATA_H
#define DSL_AP_AXI_SDATA_H

#include <ap_int.h>

template <int D, int U, int TI, int TD>
struct ap_axiu {
  ap_uint<D> data;
  ap_uint<(D + 7) / 8> keep;
  ap_uint<(D + 7) / 8> strb;
  ap_uint<(U > 0 ? U : 1)> user;
  ap_uint<1> last;
  ap_uint<(TI > 0 ? TI : 1)> id;
  ap_uint<(TD > 0 ? TD : 1)> dest;
};

#endif
