// DECLARATIONS ONLY (see xrt_device.h): xrt::kernel and xrt::run with set_arg / start / wait, the calls of
// a host whose kernels have AXI4-Stream arguments (which the host does not set).
#pragma once
#include <string>
#include "xrt_bo.h"
#include "xrt_device.h"

namespace xrt {
class kernel {
 public:
  kernel(const device &dev, const uuid &xclbin_id, const std::string &name);
  int group_id(int argno) const;
};
class run {
 public:
  explicit run(const kernel &k);
  void set_arg(int index, const bo &b);
  void set_arg(int index, float value);
  void set_arg(int index, int value);
  void start();
  void wait();
};
}  // namespace xrt
