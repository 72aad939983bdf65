// Minimal stub of the XRT native C++ API (declarations only) to syntax-check generated host code.
#pragma once
#include <string>
namespace xrt {
class uuid {};
class device {
 public:
  explicit device(unsigned int index);
  uuid load_xclbin(const std::string &path);
};
}  // namespace xrt
