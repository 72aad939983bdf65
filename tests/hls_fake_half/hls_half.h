// TEST DOUBLE of AMD's hls_half.h for dsl's tests: like the real header, `half` is a class of 16 bits that
// converts from integers and floats by value, and nothing defines DSL_CSIM_HALF (only dsl's own csim shim
// does). Reading raw IEEE bits into it must therefore copy the bits, not convert the integer.
#ifndef DSL_TEST_FAKE_HLS_HALF_H
#define DSL_TEST_FAKE_HLS_HALF_H
#include <cstdint>
#include <cstring>

class half {
 public:
  half() : bits_(0) {}
  half(float f) { _Float16 h = (_Float16)f; std::memcpy(&bits_, &h, sizeof bits_); }
  half(double d) : half((float)d) {}
  half(int i) : half((float)i) {}
  half(unsigned long long i) : half((float)i) {}
  half(unsigned long i) : half((float)i) {}
  operator float() const { _Float16 h; std::memcpy(&h, &bits_, sizeof h); return (float)h; }

 private:
  uint16_t bits_;
};
#endif
