// csim keeps a kernel's stateful variables from one run of the testbench to the next, as a loaded design
// keeps its static storage from one kernel call to the next. Each stateful variable registers its bytes
// here: they are loaded from $DSL_CSIM_STATE/<symbol> before main() when that file exists (a previous
// call), and saved there when the testbench exits. Without DSL_CSIM_STATE nothing is read or written.
#ifndef DSL_CSIM_STATE_H
#define DSL_CSIM_STATE_H

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

struct dsl_csim_state {
  const char *symbol;
  void *data;
  std::size_t size;

  dsl_csim_state(const char *s, void *d, std::size_t n) : symbol(s), data(d), size(n) {
    std::FILE *f = open("rb");
    if (f == NULL) return;
    if (std::fread(data, 1, size, f) != size) {
      std::fprintf(stderr, "csim: state file of %s is truncated\n", symbol);
      std::exit(3);
    }
    std::fclose(f);
  }
  ~dsl_csim_state() {
    std::FILE *f = open("wb");
    if (f == NULL) return;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  std::FILE *open(const char *mode) const {
    const char *dir = std::getenv("DSL_CSIM_STATE");
    if (dir == NULL || *dir == 0) return NULL;
    return std::fopen((std::string(dir) + "/" + symbol).c_str(), mode);
  }
};

#endif  // DSL_CSIM_STATE_H
