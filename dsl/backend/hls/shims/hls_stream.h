// hls::stream for the dsl's C simulation (found before the ap_types copy: -I comes before -isystem).
//
// Under -DDSL_CSIM (how csim compiles) a dataflow region runs as in hardware: every process call written
// DSL_PROCESS(f(...)) is a concurrent process (DSL_PROCESS_AFTER(f(...), k...) starts only once the earlier
// processes k, which share a ping-pong buffer with it, have finished; DSL_JOIN_PROCESSES() waits for them
// all), and a stream given a depth with DSL_CSIM_DEPTH(s, N, "label") is a bounded FIFO with blocking
// read/write.
//
// Processes are coroutines on their own stacks, all on the calling thread: a process runs until it blocks
// (read of an empty FIFO, write to a full one) or finishes, then the scheduler resumes the next ready one.
// Switching costs a few nanoseconds instead of an OS context switch, and because a network of processes
// with blocking reads and bounded writes is a Kahn network, completion or deadlock does not depend on the
// order. When no process is ready and some have not finished, every one of them is blocked: the run prints
// one DSL_DEADLOCK line per blocked process to stderr and exits with DSL_DEADLOCK_EXIT. When a stream is
// destroyed it prints DSL_STREAM statistics (depth, maximum occupancy, tokens, tokens left).
// Without DSL_CSIM (Vitis) kernel.h defines DSL_PROCESS(call) as the plain call.
#ifndef DSL_HLS_STREAM_H
#define DSL_HLS_STREAM_H

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

#define DSL_DEADLOCK_EXIT 86

namespace dsl_csim {

// Virtual size of a process stack (pages are committed only when touched): processes keep their local
// arrays there, as threads did.
constexpr size_t kStackBytes = size_t(64) << 20;

enum State { kWaiting, kReady, kRunning, kBlocked, kJoining, kDone };

struct Proc {
  std::string name;
  std::function<void()> body;
  State state = kWaiting;
  void *sp = nullptr;
  char *stack = nullptr;
  std::string stream;      // where it is blocked: a stream, or "after <process>" for a ping-pong buffer
  const char *why = "";    // "full", "empty" or "waiting"
  long depth = 0, occupancy = 0;
  std::vector<Proc *> after;  // earlier processes it must wait for (they share a ping-pong buffer)
  Proc *parent = nullptr;     // the process whose region started it (null: the top level)
  int children = 0;           // unfinished processes of the region it started
  std::vector<Proc *> region; // the processes of the region it is running, if any
  std::vector<Proc *> *siblings = nullptr;  // the region it belongs to
};

// ---- context switch ------------------------------------------------------------------------------
#if defined(__x86_64__)
// Saves the callee-saved registers and the FP control words on the current stack, stores the stack
// pointer in *save and resumes the stack at target. Static: each translation unit has its own copy.
__attribute__((naked, noinline, used)) static void switch_to(void ** /*save*/, void * /*target*/) {
  __asm__ volatile(
      "pushq %rbp\n pushq %rbx\n pushq %r12\n pushq %r13\n pushq %r14\n pushq %r15\n"
      "subq $8, %rsp\n stmxcsr (%rsp)\n fnstcw 4(%rsp)\n"
      "movq %rsp, (%rdi)\n movq %rsi, %rsp\n"
      "ldmxcsr (%rsp)\n fldcw 4(%rsp)\n addq $8, %rsp\n"
      "popq %r15\n popq %r14\n popq %r13\n popq %r12\n popq %rbx\n popq %rbp\n"
      "ret\n");
}
#else
}  // namespace dsl_csim
#include <ucontext.h>
namespace dsl_csim {
inline void switch_to(void **save, void *target) {  // saved "stack pointers" are ucontext_t objects
  swapcontext(static_cast<ucontext_t *>(*save), static_cast<ucontext_t *>(target));
}
#endif

struct Scheduler {
  std::deque<Proc *> ready;
  std::vector<Proc *> procs;  // every process started, for the deadlock report
  Proc *current = nullptr;    // null: the top level (the thread's own stack)
  void *top_sp = nullptr;
#if !defined(__x86_64__)
  ucontext_t top_context;
#endif
  static Scheduler &get() { static Scheduler s; return s; }

  void make_ready(Proc *p) {
    p->state = kReady;
    ready.push_back(p);
  }

  // Called by a running process: give the CPU back to the scheduler loop.
  void yield() { switch_to(&current->sp, top_sp); }

  static void entry() {
    Scheduler &s = get();
    Proc *p = s.current;
    p->body();
    p->state = kDone;
    s.yield();  // never resumed
  }

  void start(Proc *p) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *mem = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
      std::fprintf(stderr, "csim: cannot allocate the stack of process %s\n", p->name.c_str());
      std::exit(1);
    }
    p->stack = static_cast<char *>(mem);
    mprotect(p->stack, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting
#if defined(__x86_64__)
    uintptr_t top = reinterpret_cast<uintptr_t>(p->stack + kStackBytes + page) & ~uintptr_t(15);
    void **sp = reinterpret_cast<void **>(top);
    *--sp = nullptr;                               // fake return address: rsp = 8 mod 16 at entry
    *--sp = reinterpret_cast<void *>(&Scheduler::entry);  // popped by ret
    for (int k = 0; k < 6; k++) *--sp = nullptr;  // rbp rbx r12 r13 r14 r15
    *--sp = nullptr;
    uint32_t *ctl = reinterpret_cast<uint32_t *>(sp);
    ctl[0] = 0x1F80;                                // default MXCSR
    reinterpret_cast<uint16_t *>(ctl)[2] = 0x037F;  // default x87 control word
    p->sp = sp;
#else
    ucontext_t *uc = new ucontext_t();
    getcontext(uc);
    uc->uc_stack.ss_sp = p->stack + page;
    uc->uc_stack.ss_size = kStackBytes;
    uc->uc_link = nullptr;
    makecontext(uc, &Scheduler::entry, 0);
    p->sp = uc;
#endif
  }

  void finish(Proc *p) {
    munmap(p->stack, kStackBytes + (size_t)sysconf(_SC_PAGESIZE));
    p->stack = nullptr;
    for (Proc *q : *p->siblings)  // processes waiting for this one (a shared ping-pong buffer) may start
      if (q->state == kWaiting && !q->after.empty() && all_done(q->after)) make_ready(q);
    if (p->parent != nullptr && --p->parent->children == 0 && p->parent->state == kJoining)
      make_ready(p->parent);
  }

  static bool all_done(const std::vector<Proc *> &ps) {
    for (Proc *d : ps)
      if (d->state != kDone) return false;
    return true;
  }

  // The scheduler loop, on the top-level stack: run ready processes until those of `region` are done.
  void run_until_done(const std::vector<Proc *> &region) {
#if !defined(__x86_64__)
    top_sp = &top_context;
#endif
    size_t remaining = 0;
    for (Proc *p : region) remaining += p->state != kDone;
    while (remaining > 0) {
      if (ready.empty()) deadlock();
      Proc *p = ready.front();
      ready.pop_front();
      if (p->stack == nullptr) start(p);
      p->state = kRunning;
      current = p;
      switch_to(&top_sp, p->sp);
      current = nullptr;
      if (p->state == kDone) {
        finish(p);
        remaining -= p->siblings == &region;
      }
    }
  }

  [[noreturn]] void deadlock() {
    for (Proc *p : procs)
      if (p->state == kBlocked || (p->state == kWaiting && !p->after.empty()))
        std::fprintf(stderr, "DSL_DEADLOCK process=%s stream=%s state=%s depth=%ld occupancy=%ld\n",
                     p->name.c_str(), p->stream.c_str(), p->why, p->depth, p->occupancy);
    std::fflush(stderr);
    std::_Exit(DSL_DEADLOCK_EXIT);
  }
};

// The processes of the dataflow region being run by the caller (the top level or a process: a region may
// run inside a process of another).
inline std::vector<Proc *> &region_procs() {
  static std::vector<Proc *> top;
  Proc *p = Scheduler::get().current;
  return p != nullptr ? p->region : top;
}

template <typename F>
int spawn(const char *call, F body, std::vector<int> after = {}) {
  Scheduler &s = Scheduler::get();
  std::vector<Proc *> &procs = region_procs();
  Proc *p = new Proc();
  std::string text(call);
  p->name = text.substr(0, text.find('('));
  p->body = body;
  p->parent = s.current;
  p->siblings = &procs;
  if (p->parent != nullptr) p->parent->children += 1;
  for (int k : after) p->after.push_back(procs[k]);
  if (!p->after.empty()) {
    p->stream = "after " + p->after.front()->name;
    p->why = "waiting";
  }
  s.procs.push_back(p);
  procs.push_back(p);
  if (Scheduler::all_done(p->after)) s.make_ready(p);
  return (int)procs.size() - 1;
}

inline void join_all() {
  Scheduler &s = Scheduler::get();
  std::vector<Proc *> &procs = region_procs();
  if (s.current == nullptr) {
    s.run_until_done(procs);
  } else if (s.current->children > 0) {  // a region inside a process: wait for its processes
    s.current->state = kJoining;
    s.yield();
  }
  // all finished: forget them (a region called in a loop must not grow the scheduler's lists)
  std::vector<Proc *> live;
  for (Proc *p : s.procs)
    if (p->siblings != &procs) live.push_back(p);
  s.procs.swap(live);
  for (Proc *p : procs) delete p;
  procs.clear();
}

// Stream labels in use: a second live stream with a taken label (a nested region run by two processes at
// once) is named "<process>.<label>", as the simulator names it.
inline std::set<std::string> &live_labels() {
  static std::set<std::string> labels;
  return labels;
}

inline std::string unique_label(const char *label) {
  std::string name(label);
  if (live_labels().count(name)) {
    Proc *p = Scheduler::get().current;
    if (p != nullptr) name = p->name + "." + name;
    while (live_labels().count(name)) name += "'";
  }
  live_labels().insert(name);
  return name;
}

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
    if (!labelled_) return;
    std::fprintf(stderr, "DSL_STREAM stream=%s depth=%ld max=%ld tokens=%ld left=%zu\n", name_.c_str(),
                 depth_, max_, tokens_, data_.size());
    dsl_csim::live_labels().erase(name_);
  }

  void set_depth(long depth, const char *label) {
    depth_ = depth;
    name_ = dsl_csim::unique_label(label);
    labelled_ = true;
  }

  void write(const T &value) {
    while (depth_ > 0 && (long)data_.size() >= depth_) wait(writers_, true);
    data_.push_back(value);
    tokens_ += 1;
    if ((long)data_.size() > max_) max_ = (long)data_.size();
    wake(readers_);
  }

  T read() {
    while (data_.empty()) wait(readers_, false);
    T value = data_.front();
    data_.pop_front();
    wake(writers_);
    return value;
  }

  void read(T &value) { value = read(); }
  void operator>>(T &value) { value = read(); }
  void operator<<(const T &value) { write(value); }
  bool empty() const { return data_.empty(); }
  bool full() const { return depth_ > 0 && (long)data_.size() >= depth_; }
  size_t size() const { return data_.size(); }

 private:
  // Block the calling process on this stream until a read/write on it wakes it up.
  void wait(std::vector<dsl_csim::Proc *> &waiters, bool full) {
    dsl_csim::Scheduler &s = dsl_csim::Scheduler::get();
    dsl_csim::Proc *self = s.current;
    if (self == nullptr) {  // sequential code outside a dataflow region: nobody else can make progress
      if (full) { depth_ = 0; return; }
      std::fprintf(stderr, "DSL_DEADLOCK process=top stream=%s state=empty depth=%ld occupancy=0\n",
                   name_.c_str(), depth_);
      std::fflush(stderr);
      std::_Exit(DSL_DEADLOCK_EXIT);
    }
    self->state = dsl_csim::kBlocked;
    self->stream = name_;
    self->why = full ? "full" : "empty";
    self->depth = depth_;
    self->occupancy = (long)data_.size();
    waiters.push_back(self);
    s.yield();
  }

  static void wake(std::vector<dsl_csim::Proc *> &waiters) {
    if (waiters.empty()) return;
    dsl_csim::Scheduler &s = dsl_csim::Scheduler::get();
    for (dsl_csim::Proc *p : waiters) s.make_ready(p);
    waiters.clear();
  }

  std::string name_;
  std::deque<T> data_;
  long depth_ = 0, max_ = 0, tokens_ = 0;
  bool labelled_ = false;  // given a depth and label by DSL_CSIM_DEPTH (reports statistics)
  std::vector<dsl_csim::Proc *> readers_, writers_;
};

}  // namespace hls

#ifdef DSL_CSIM
// A dataflow region: its process calls run concurrently, joined when the region's function returns.
#define DSL_PROCESS(call) dsl_csim::spawn(#call, [&]() { call; })
#define DSL_PROCESS_AFTER(call, ...) dsl_csim::spawn(#call, [&]() { call; }, {__VA_ARGS__})
#define DSL_JOIN_PROCESSES() dsl_csim::join_all()
#define DSL_CSIM_DEPTH(s, depth, label) s.set_depth(depth, label)
#endif

#endif  // DSL_HLS_STREAM_H
