// DECLARATIONS ONLY (see xrt_device.h): xrt::bo as the generated host uses it.
#pragma once
#include <cstddef>
#include "xrt_device.h"

enum xclBOSyncDirection { XCL_BO_SYNC_BO_TO_DEVICE = 0, XCL_BO_SYNC_BO_FROM_DEVICE = 1 };

namespace xrt {
using memory_group = unsigned int;
class bo {
 public:
  bo();
  bo(const device &dev, size_t size, memory_group grp);
  void write(const void *src);
  void read(void *dst);
  void sync(xclBOSyncDirection direction);
};
}  // namespace xrt
