// Raw-bit exchange between the Python caller and the csim harness.
// Every element travels as little-endian 64-bit words (ceil(width / 64) of them): integers and fixed
// point as their raw two's complement bits, floats as their IEEE bits.
#ifndef DSL_CSIM_IO_H
#define DSL_CSIM_IO_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <type_traits>

#include <ap_fixed.h>
#include <ap_int.h>

template <typename T, typename Bits>
struct dsl_float_io {
  static_assert(sizeof(T) == sizeof(Bits), "a float travels as its IEEE bits");
  static const int words = 1;
  static void set(T &x, const uint64_t *w) { Bits b = (Bits)w[0]; std::memcpy(&x, &b, sizeof b); }
  static void get(const T &x, uint64_t *w) { Bits b; std::memcpy(&b, &x, sizeof b); w[0] = b; }
};
template <int Bytes> struct dsl_ieee_bits;
template <> struct dsl_ieee_bits<2> { typedef uint16_t type; };
template <> struct dsl_ieee_bits<4> { typedef uint32_t type; };
template <> struct dsl_ieee_bits<8> { typedef uint64_t type; };

// By the kind of type, not by name: native integers and bool travel as their value; every other element
// type without a specialisation below is a float (float, double, and half whichever header defines it:
// GCC's _Float16 in csim here, the class of AMD's hls_half.h under vitis_hls) and travels as its IEEE bits.
template <typename T, bool Integral = std::is_integral<T>::value>
struct dsl_io {
  static const int words = 1;
  static void set(T &x, const uint64_t *w) { x = (T)w[0]; }
  static void get(const T &x, uint64_t *w) { w[0] = (uint64_t)x; }
};
template <typename T>
struct dsl_io<T, false> : dsl_float_io<T, typename dsl_ieee_bits<sizeof(T)>::type> {};

template <typename T, int W>
struct dsl_ap_io {  // ap_int, ap_uint, ap_fixed, ap_ufixed: copy the bits 64 at a time
  static const int words = (W + 63) / 64;
  static void set(T &x, const uint64_t *w) {
    for (int c = 0; c < words; ++c) {
      int hi = c * 64 + 63 < W ? c * 64 + 63 : W - 1;
      x.range(hi, c * 64) = ap_uint<64>(w[c]);
    }
  }
  static void get(const T &x, uint64_t *w) {
    for (int c = 0; c < words; ++c) {
      int hi = c * 64 + 63 < W ? c * 64 + 63 : W - 1;
      w[c] = x.range(hi, c * 64).to_uint64();
    }
  }
};
template <int W> struct dsl_io<ap_int<W>, false> : dsl_ap_io<ap_int<W>, W> {};
template <int W> struct dsl_io<ap_uint<W>, false> : dsl_ap_io<ap_uint<W>, W> {};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct dsl_io<ap_fixed<W, I, Q, O, N>, false> : dsl_ap_io<ap_fixed<W, I, Q, O, N>, W> {};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct dsl_io<ap_ufixed<W, I, Q, O, N>, false> : dsl_ap_io<ap_ufixed<W, I, Q, O, N>, W> {};

static inline std::string dsl_path(const char *dir, const char *name) { return std::string(dir) + "/" + name; }

template <typename T>
void dsl_read(const char *dir, const char *name, T *data, size_t n) {
  std::vector<uint64_t> words(n * dsl_io<T>::words);
  FILE *f = std::fopen(dsl_path(dir, name).c_str(), "rb");
  if (!f || std::fread(words.data(), 8, words.size(), f) != words.size()) {
    std::fprintf(stderr, "csim: cannot read %s/%s\n", dir, name);
    std::exit(2);
  }
  std::fclose(f);
  for (size_t k = 0; k < n; ++k) dsl_io<T>::set(data[k], &words[k * dsl_io<T>::words]);
}

template <typename T>
void dsl_write(const char *dir, const char *name, const T *data, size_t n) {
  std::vector<uint64_t> words(n * dsl_io<T>::words);
  for (size_t k = 0; k < n; ++k) dsl_io<T>::get(data[k], &words[k * dsl_io<T>::words]);
  FILE *f = std::fopen(dsl_path(dir, name).c_str(), "wb");
  if (!f || std::fwrite(words.data(), 8, words.size(), f) != words.size()) {
    std::fprintf(stderr, "csim: cannot write %s/%s\n", dir, name);
    std::exit(2);
  }
  std::fclose(f);
}

#endif  // DSL_CSIM_IO_H
