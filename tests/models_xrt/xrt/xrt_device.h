// DECLARATIONS ONLY of the XRT native C++ API calls the generated multi-kernel host uses (xrt::device,
// xrt::uuid), so that the tests can type-check host.cpp with g++ -fsyntax-only where XRT is not installed.
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
