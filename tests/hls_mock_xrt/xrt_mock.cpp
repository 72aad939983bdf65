// TEST DOUBLE of the XRT native C++ API for dsl's tests: a "device" in host memory that runs the emitted
// kernel in-process. Build with -DXRT_MOCK_TOP=<top function> next to host.cpp and kernel.cpp:
//   g++ -I<this folder> -I<project> -isystem <ap_types> -DXRT_MOCK_TOP=gemm
//       host.cpp kernel.cpp xrt_mock.cpp -o host.exe
// The kernel is called with each buffer's device memory cast to the parameter's type (the device layout
// of dsl's host data files) and each scalar's bytes reinterpreted as the parameter's type.
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "kernel.h"

#define XRT_MOCK_STR2(x) #x
#define XRT_MOCK_STR(x) XRT_MOCK_STR2(x)

namespace xrt {
device::device(unsigned int index) {
  if (index != 0) throw std::runtime_error("mock XRT: only device 0");
}
uuid device::load_xclbin(const std::string &path) {
  std::fprintf(stderr, "xrt_mock: load_xclbin %s (ignored)\n", path.c_str());
  return uuid();
}

bo::bo(const device &, size_t size, memory_group)
    : host_(std::make_shared<std::vector<char>>(size, 0)),
      device_(std::make_shared<std::vector<char>>(size, static_cast<char>(0xA5))) {}
size_t bo::size() const { return host_->size(); }
void bo::write(const void *src) { std::memcpy(host_->data(), src, host_->size()); }
void bo::read(void *dst) { std::memcpy(dst, host_->data(), host_->size()); }
void bo::sync(xclBOSyncDirection direction) {
  if (direction == XCL_BO_SYNC_BO_TO_DEVICE) *device_ = *host_;
  else *host_ = *device_;
}
void *bo::mock_device_memory() const { return device_->data(); }

kernel::kernel(const device &, const uuid &, const std::string &name) : name_(name) {}
int kernel::group_id(int argno) const { return argno; }
}  // namespace xrt

namespace xrt_mock {
// Kernel parameters from call arguments, by the parameter's kind (C++14: host.cpp's Makefile uses C++17,
// the kernel is compiled like csim's, with C++14).
template <typename P>
void check_scalar(const arg &a, size_t index) {
  if (a.memory != nullptr || a.bytes != sizeof(P))
    throw std::runtime_error("mock XRT: argument " + std::to_string(index) + " must be a scalar of " +
                             std::to_string(sizeof(P)) + " bytes, got " + std::to_string(a.bytes));
}

template <typename P>
P parameter(const arg &a, size_t index, std::true_type /*pointer: an array T x[N]... decays to T (*)[...]*/) {
  using Element = typename std::remove_pointer<P>::type;
  if (a.memory == nullptr || a.bytes % sizeof(Element) != 0)
    throw std::runtime_error("mock XRT: argument " + std::to_string(index) + " must be a buffer of whole elements");
  return reinterpret_cast<P>(a.memory);
}

template <typename P>
P scalar(const arg &a, std::true_type /*class: ap_int, ap_fixed, ...: the register holds the raw bits*/) {
  P value;
  value.range(P::width - 1, 0) = ap_uint<64>(a.value);
  return value;
}

template <typename P>
P scalar(const arg &a, std::false_type /*native: int8_t ... double, bool, half*/) {
  P value;
  std::memcpy(&value, &a.value, sizeof(P));
  return value;
}

template <typename P>
P parameter(const arg &a, size_t index, std::false_type /*scalar*/) {
  check_scalar<P>(a, index);
  return scalar<P>(a, std::is_class<P>());
}

template <typename... P, size_t... I>
void call(void (*top)(P...), const std::vector<arg> &args, std::index_sequence<I...>) {
  top(parameter<P>(args[I], I, std::is_pointer<P>())...);
}

template <typename... P>
void invoke(void (*top)(P...), const std::vector<arg> &args) {
  if (args.size() != sizeof...(P)) throw std::runtime_error("mock XRT: wrong number of kernel arguments");
  call(top, args, std::index_sequence_for<P...>{});
}

ert_cmd_state final_state() {
  const char *state = std::getenv("XRT_MOCK_RUN_STATE");
  return state ? static_cast<ert_cmd_state>(std::atoi(state)) : ERT_CMD_STATE_COMPLETED;
}

void launch(const std::string &name, const std::vector<arg> &args) {
  if (name != XRT_MOCK_STR(XRT_MOCK_TOP)) throw std::runtime_error("mock XRT: no kernel named " + name);
  invoke(&XRT_MOCK_TOP, args);
  std::fprintf(stderr, "xrt_mock: ran %s with %zu arguments\n", name.c_str(), args.size());
}
}  // namespace xrt_mock
