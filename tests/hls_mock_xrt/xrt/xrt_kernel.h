// TEST DOUBLE of the XRT native C++ API for dsl's tests (xrt::kernel, xrt::run).
// kernel(args...) calls the real kernel function linked into the test binary (see xrt_mock.cpp): buffers
// as their device memory, scalars as their bytes. The call completes before run.wait(), which returns
// ERT_CMD_STATE_COMPLETED unless the environment variable XRT_MOCK_RUN_STATE names another state.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "xrt_bo.h"
#include "xrt_device.h"

namespace xrt_mock {
struct arg {
  void *memory;    // a buffer's device memory, or nullptr for a scalar
  size_t bytes;    // the buffer's size, or the scalar's sizeof
  uint64_t value;  // a scalar's bytes
};

inline arg make_arg(const xrt::bo &b) { return arg{b.mock_device_memory(), b.size(), 0}; }

template <typename T>
arg make_arg(const T &scalar) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "mock XRT: scalar of up to 8 bytes");
  arg a{nullptr, sizeof(T), 0};
  std::memcpy(&a.value, &scalar, sizeof(T));
  return a;
}

void launch(const std::string &name, const std::vector<arg> &args);
}  // namespace xrt_mock

// ert.h's command states (the values are XRT's; the host program only compares names)
enum ert_cmd_state {
  ERT_CMD_STATE_NEW = 1, ERT_CMD_STATE_QUEUED = 2, ERT_CMD_STATE_RUNNING = 3, ERT_CMD_STATE_COMPLETED = 4,
  ERT_CMD_STATE_ERROR = 5, ERT_CMD_STATE_ABORT = 6, ERT_CMD_STATE_SUBMITTED = 7, ERT_CMD_STATE_TIMEOUT = 8,
};

namespace xrt_mock {
ert_cmd_state final_state();  // ERT_CMD_STATE_COMPLETED, or what XRT_MOCK_RUN_STATE (a number) says
}

namespace xrt {
class run {
 public:
  ert_cmd_state wait() const { return xrt_mock::final_state(); }
};

class kernel {
 public:
  kernel(const device &dev, const uuid &xclbin_id, const std::string &name);
  int group_id(int argno) const;
  template <typename... Args>
  run operator()(Args &&...args) {
    xrt_mock::launch(name_, {xrt_mock::make_arg(args)...});
    return run();
  }

 private:
  std::string name_;
};
}  // namespace xrt
