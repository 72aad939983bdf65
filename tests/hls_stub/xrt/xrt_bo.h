#pragma once
#include <cstddef>
#include "xrt_device.h"
enum xclBOSyncDirection { XCL_BO_SYNC_BO_TO_DEVICE = 0, XCL_BO_SYNC_BO_FROM_DEVICE = 1 };
namespace xrt {
class bo {
 public:
  bo(const device &dev, size_t size, int memory_group);
  void write(const void *src);
  void read(void *dst);
  void sync(xclBOSyncDirection direction);
};
}  // namespace xrt
