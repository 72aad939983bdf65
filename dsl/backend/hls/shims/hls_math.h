// csim stand-in for Vitis HLS's hls_math.h. The open-source hls_math.h only has templates for ap_fixed
// (calling .to_double()); the kernel also calls hls:: functions on float, double and half.
#ifndef DSL_SHIM_HLS_MATH_H
#define DSL_SHIM_HLS_MATH_H

#include <cmath>
#include_next <hls_math.h>

#define DSL_HLS_UNARY(name, expr)                                      \
  namespace hls {                                                      \
  static inline float name(float x) { return expr; }                   \
  static inline double name(double x) { return expr; }                 \
  DSL_HLS_HALF_UNARY(name, expr)                                       \
  }
#define DSL_HLS_BINARY(name, fn)                                                   \
  namespace hls {                                                                  \
  static inline float name(float x, float y) { return std::fn(x, y); }             \
  static inline double name(double x, double y) { return std::fn(x, y); }          \
  DSL_HLS_HALF_BINARY(name, fn)                                                    \
  }
#ifdef DSL_CSIM_HALF
#define DSL_HLS_HALF_UNARY(name, expr) \
  static inline half name(half h) { float x = (float)h; return (half)(expr); }
#define DSL_HLS_HALF_BINARY(name, fn) \
  static inline half name(half x, half y) { return (half)std::fn((float)x, (float)y); }
#else
#define DSL_HLS_HALF_UNARY(name, expr)
#define DSL_HLS_HALF_BINARY(name, fn)
#endif

DSL_HLS_UNARY(sqrt, std::sqrt(x))
DSL_HLS_UNARY(exp, std::exp(x))
DSL_HLS_UNARY(exp2, std::exp2(x))
DSL_HLS_UNARY(expm1, std::expm1(x))
DSL_HLS_UNARY(log, std::log(x))
DSL_HLS_UNARY(log2, std::log2(x))
DSL_HLS_UNARY(log10, std::log10(x))
DSL_HLS_UNARY(log1p, std::log1p(x))
DSL_HLS_UNARY(sin, std::sin(x))
DSL_HLS_UNARY(cos, std::cos(x))
DSL_HLS_UNARY(tan, std::tan(x))
DSL_HLS_UNARY(asin, std::asin(x))
DSL_HLS_UNARY(acos, std::acos(x))
DSL_HLS_UNARY(atan, std::atan(x))
DSL_HLS_UNARY(sinh, std::sinh(x))
DSL_HLS_UNARY(cosh, std::cosh(x))
DSL_HLS_UNARY(tanh, std::tanh(x))
DSL_HLS_UNARY(erf, std::erf(x))
DSL_HLS_UNARY(cbrt, std::cbrt(x))
DSL_HLS_UNARY(floor, std::floor(x))
DSL_HLS_UNARY(ceil, std::ceil(x))
DSL_HLS_UNARY(round, std::round(x))
DSL_HLS_UNARY(trunc, std::trunc(x))
DSL_HLS_UNARY(fabs, std::fabs(x))
DSL_HLS_UNARY(rsqrt, 1 / std::sqrt(x))
DSL_HLS_BINARY(pow, pow)
DSL_HLS_BINARY(fmod, fmod)
DSL_HLS_BINARY(fmax, fmax)
DSL_HLS_BINARY(fmin, fmin)
DSL_HLS_BINARY(copysign, copysign)
DSL_HLS_BINARY(atan2, atan2)

namespace hls {
static inline float fma(float x, float y, float z) { return std::fma(x, y, z); }
static inline double fma(double x, double y, double z) { return std::fma(x, y, z); }
}

#endif  // DSL_SHIM_HLS_MATH_H
