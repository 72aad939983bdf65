// TEST DOUBLE of the XRT native C++ API for dsl's tests (xrt::bo).
// A buffer has a host copy (write/read) and a separate "device" copy (what the kernel sees); only sync moves
// data between them, and device memory starts as a garbage pattern, so a missing sync or fill shows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "xrt_device.h"

enum xclBOSyncDirection { XCL_BO_SYNC_BO_TO_DEVICE = 0, XCL_BO_SYNC_BO_FROM_DEVICE = 1 };

namespace xrt {
class bo {
 public:
  using memory_group = uint32_t;
  bo(const device &dev, size_t size, memory_group grp);
  size_t size() const;
  void write(const void *src);
  void read(void *dst);
  void sync(xclBOSyncDirection direction);
  void *mock_device_memory() const;  // mock only: the memory the kernel is called with

 private:
  std::shared_ptr<std::vector<char>> host_, device_;
};
}  // namespace xrt
