// hls::stream for the dsl's C simulation (found before the ap_types copy: -I comes before -isystem).
//
// Under -DDSL_CSIM (how csim compiles) a dataflow region runs as in hardware: every process call
// written DSL_PROCESS(f(...)) runs on its own thread (DSL_PROCESS_AFTER(f(...), k...) first joins the
// earlier processes k, which share a ping-pong buffer with it; DSL_JOIN_PROCESSES() joins them all), and
// a stream given a depth with DSL_CSIM_DEPTH(s, N, "label") is a bounded FIFO with blocking read/write. A global registry counts the live
// and blocked processes: when every live process is blocked, the run prints one DSL_DEADLOCK line per
// blocked process to stderr and exits with DSL_DEADLOCK_EXIT. When a stream is destroyed it prints
// DSL_STREAM statistics (depth, maximum occupancy, tokens, tokens left) for the Python side.
// Without DSL_CSIM (Vitis) kernel.h defines DSL_PROCESS(call) as the plain call.
#ifndef DSL_HLS_STREAM_H
#define DSL_HLS_STREAM_H

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define DSL_DEADLOCK_EXIT 86

namespace dsl_csim {

struct Proc {
  std::string name;
  bool blocked = false, done = false;
  std::string stream;      // where it is blocked: a stream, or "after <process>" for a ping-pong buffer
  const char *state = "";  // "full", "empty" or "waiting"
  long depth = 0, occupancy = 0;
  std::vector<Proc *> after;  // earlier processes it must wait for (they share a ping-pong buffer)
};

struct Registry {
  std::mutex mutex;
  std::condition_variable finished;  // a process finished
  int live = 0, blocked = 0;
  std::vector<Proc *> procs;
  static Registry &get() { static Registry r; return r; }
};

inline Proc *&current() { static thread_local Proc *p = nullptr; return p; }

// Caller holds the registry mutex. Every live process blocked: report and stop.
inline void check_deadlock(Registry &r) {
  if (r.live == 0 || r.blocked < r.live) return;
  for (Proc *p : r.procs)
    if (p->blocked && !p->done)
      std::fprintf(stderr, "DSL_DEADLOCK process=%s stream=%s state=%s depth=%ld occupancy=%ld\n",
                   p->name.c_str(), p->stream.c_str(), p->state, p->depth, p->occupancy);
  std::fflush(stderr);
  std::_Exit(DSL_DEADLOCK_EXIT);
}

// Caller holds the mutex: mark ``p`` blocked (once) and check for a deadlock.
inline void block(Registry &r, Proc *p, const std::string &where, const char *state, long depth, long occ) {
  if (p->blocked) return;
  p->blocked = true;
  p->stream = where;
  p->state = state;
  p->depth = depth;
  p->occupancy = occ;
  r.blocked += 1;
  check_deadlock(r);
}

inline void unblock(Registry &r, Proc *&waiter) {
  if (waiter == nullptr) return;
  if (waiter->blocked) {
    waiter->blocked = false;
    r.blocked -= 1;
  }
  waiter = nullptr;
}

// Runs on the process's thread: wait for the earlier processes it depends on, run, finish.
template <typename F>
void run_process(Proc *self, F body) {
  Registry &r = Registry::get();
  current() = self;
  {
    std::unique_lock<std::mutex> lock(r.mutex);
    for (Proc *dep : self->after)
      while (!dep->done) {
        block(r, self, "after " + dep->name, "waiting", 0, 0);
        r.finished.wait(lock);
      }
  }
  body();
  std::lock_guard<std::mutex> lock(r.mutex);
  self->done = true;
  r.live -= 1;
  for (Proc *p : r.procs)  // processes waiting for this one can go on
    if (p->blocked && !p->done && p->state[0] == 'w') {
      bool ready = true;
      for (Proc *dep : p->after) ready = ready && dep->done;
      if (ready) { Proc *q = p; unblock(r, q); }
    }
  r.finished.notify_all();
  check_deadlock(r);
}

// The processes of one dataflow region. The thread starting them counts as live until it joins them
// all, so a process that blocks before its partners are started is not taken for a deadlock.
class Region {
 public:
  template <typename F>
  int spawn(const char *call, F body, std::vector<int> after = {}) {
    Proc *p = new Proc();
    std::string text(call);
    p->name = text.substr(0, text.find('('));
    for (int k : after) p->after.push_back(procs_[k]);
    Registry &r = Registry::get();
    {
      std::lock_guard<std::mutex> lock(r.mutex);
      if (threads_.empty()) r.live += 1;  // the starter
      r.live += 1;
      r.procs.push_back(p);
    }
    procs_.push_back(p);
    threads_.emplace_back([p, body]() { run_process(p, body); });
    return (int)threads_.size() - 1;
  }
  void join_all() {
    if (threads_.empty()) return;
    {
      Registry &r = Registry::get();
      std::lock_guard<std::mutex> lock(r.mutex);
      r.live -= 1;  // the starter is done starting
      check_deadlock(r);
    }
    for (std::thread &t : threads_) t.join();
    threads_.clear();
    procs_.clear();
  }

 private:
  std::vector<std::thread> threads_;
  std::vector<Proc *> procs_;
};

}  // namespace dsl_csim

namespace hls {

template <typename T>
class stream {
 public:
  stream() : name_("stream") {}
  explicit stream(const char *name) : name_(name) {}
  stream(const stream &) = delete;
  stream &operator=(const stream &) = delete;
  ~stream() {
    if (depth_ > 0)
      std::fprintf(stderr, "DSL_STREAM stream=%s depth=%ld max=%ld tokens=%ld left=%zu\n", name_.c_str(),
                   depth_, max_, tokens_, data_.size());
  }

  void set_depth(long depth, const char *label) { depth_ = depth; name_ = label; }

  void write(const T &value) {
    dsl_csim::Registry &r = dsl_csim::Registry::get();
    std::unique_lock<std::mutex> lock(r.mutex);
    while (depth_ > 0 && (long)data_.size() >= depth_) wait(r, lock, writer_, true);
    data_.push_back(value);
    tokens_ += 1;
    if ((long)data_.size() > max_) max_ = (long)data_.size();
    dsl_csim::unblock(r, reader_);
    cv_.notify_all();
  }

  T read() {
    dsl_csim::Registry &r = dsl_csim::Registry::get();
    std::unique_lock<std::mutex> lock(r.mutex);
    while (data_.empty()) wait(r, lock, reader_, false);
    T value = data_.front();
    data_.pop_front();
    dsl_csim::unblock(r, writer_);
    cv_.notify_all();
    return value;
  }

  void read(T &value) { value = read(); }
  void operator>>(T &value) { value = read(); }
  void operator<<(const T &value) { write(value); }
  bool empty() {
    std::lock_guard<std::mutex> lock(dsl_csim::Registry::get().mutex);
    return data_.empty();
  }
  bool full() {
    std::lock_guard<std::mutex> lock(dsl_csim::Registry::get().mutex);
    return depth_ > 0 && (long)data_.size() >= depth_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(dsl_csim::Registry::get().mutex);
    return data_.size();
  }

 private:
  // Register the calling process as blocked on this stream (once), check for a deadlock, sleep.
  void wait(dsl_csim::Registry &r, std::unique_lock<std::mutex> &lock, dsl_csim::Proc *&slot, bool full) {
    dsl_csim::Proc *self = dsl_csim::current();
    if (self == nullptr) {  // sequential code outside a dataflow region
      if (full) { depth_ = 0; return; }
      std::fprintf(stderr, "DSL_DEADLOCK process=top stream=%s state=empty depth=%ld occupancy=0\n",
                   name_.c_str(), depth_);
      std::fflush(stderr);
      std::_Exit(DSL_DEADLOCK_EXIT);
    }
    if (slot != self) {
      slot = self;
      dsl_csim::block(r, self, name_, full ? "full" : "empty", depth_, (long)data_.size());
    }
    cv_.wait(lock);
  }

  std::string name_;
  std::deque<T> data_;
  std::condition_variable cv_;
  long depth_ = 0, max_ = 0, tokens_ = 0;
  dsl_csim::Proc *reader_ = nullptr, *writer_ = nullptr;
};

}  // namespace hls

#ifdef DSL_CSIM
// A dataflow region: its process calls run concurrently, joined when the region's function returns.
namespace dsl_csim {
inline Region &region() { static thread_local Region r; return r; }
}  // namespace dsl_csim
#define DSL_PROCESS(call) dsl_csim::region().spawn(#call, [&]() { call; })
#define DSL_PROCESS_AFTER(call, ...) dsl_csim::region().spawn(#call, [&]() { call; }, {__VA_ARGS__})
#define DSL_JOIN_PROCESSES() dsl_csim::region().join_all()
#define DSL_CSIM_DEPTH(s, depth, label) s.set_depth(depth, label)
#endif

#endif  // DSL_HLS_STREAM_H
