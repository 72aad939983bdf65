/* The dsl dataflow simulator runtime: bounded FIFOs and cooperative processes.
 *
 * Every kernel instance runs as a coroutine on its own stack, all in the OS thread that calls
 * dsl_sim_run. A process runs until it blocks (get on an empty FIFO, put on a full one) or finishes; the
 * scheduler then resumes the next ready process. Blocking is exact (a FIFO never holds more than its
 * depth), and because a network of processes with blocking reads and bounded writes is a Kahn network,
 * whether it completes or deadlocks does not depend on the scheduling order. When no process is ready
 * and some are not finished, every live process is blocked: a deadlock, reported to the caller.
 *
 * JIT-compiled kernels call dsl_fifo_put / dsl_fifo_get with the FIFO's address as handle and a site number
 * naming the Python line of the access. Scalar tokens of at most 64 bits travel as 64-bit words (the caller
 * converts); wider scalars and blocks (a vector or tile per token) are copied as `token_bytes` bytes from / to
 * the caller's memory by dsl_fifo_put_block / dsl_fifo_get_block. A FIFO's ring grows on demand up to its
 * depth, so a deep FIFO (or the unbounded ones the depth search tries) costs only what it holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { WAITING = 0, READY = 1, RUNNING = 2, BLOCKED = 3, DONE = 4 };
enum { SIM_OK = 0, SIM_DEADLOCK = 1, SIM_TIMEOUT = 2, SIM_ERROR = 3 };

typedef struct fifo {
  char *buf;              /* `slots` tokens of `size` bytes, a ring from head to tail */
  int64_t cap, count, head, tail, max_occ, total, slots, size;
  int writer_wait, reader_wait, idx;
} fifo;

typedef struct proc {
  void *sp;
  char *stack;
  size_t stack_size;
  void (*fn)(void **);
  void **args;
  int state, blocked_fifo, blocked_full, blocked_site, pending, ndeps, ndependents;
  int *dependents;
  void *uc;   /* the portable fallback's ucontext */
  int started; /* its coroutine exists (set up on its first schedule, until it finishes) */
} proc;

typedef struct sim {
  int nproc, nfifo, done, aborted, current, rhead, rcount;
  proc *procs;
  fifo *fifos;
  int *ready;
  void *sched_sp;
  double deadline;
  uint64_t ops, polls;
  int stop; /* set by dsl_sim_stop from another thread: end the run at the next check */
  size_t stack_size;
  int64_t oob_site; /* first out-of-range access (check_bounds builds), -1 if none */
} sim;

/* initial-exec: the kernels reach the running simulation with one load, not a __tls_get_addr call per
 * stream access (one pointer of static TLS; glibc keeps room for that in libraries loaded later) */
static __thread sim *g_sim __attribute__((tls_model("initial-exec")));

/* ---- context switch ------------------------------------------------------------------------- */
#if defined(__x86_64__)
void dsl_ctx_switch(void **save_sp, void *target_sp);
__asm__(".text\n"
        ".globl dsl_ctx_switch\n"
        ".type dsl_ctx_switch,@function\n"
        "dsl_ctx_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size dsl_ctx_switch, .-dsl_ctx_switch\n");
#define SWITCH(save, target) dsl_ctx_switch((save), (target))

static void proc_entry(void);

static void *initial_sp(char *stack, size_t size) {
  uintptr_t top = ((uintptr_t)(stack + size)) & ~(uintptr_t)15;
  void **sp = (void **)top;
  *--sp = 0;                      /* fake return address of proc_entry: rsp = 8 mod 16 at its entry */
  *--sp = (void *)proc_entry;     /* popped by ret */
  for (int k = 0; k < 6; k++) *--sp = 0;  /* rbp rbx r12 r13 r14 r15 */
  *--sp = 0;
  uint32_t *ctl = (uint32_t *)sp;
  ctl[0] = 0x1F80;                /* default MXCSR */
  ((uint16_t *)ctl)[2] = 0x037F;  /* default x87 control word */
  return sp;
}
#else
#include <ucontext.h>
/* portable fallback: one ucontext per process, saved stack pointers hold ucontext pointers */
static void proc_entry(void);
static void ucontext_switch(void **save, void *target) {
  ucontext_t *mine = (ucontext_t *)*save;
  swapcontext(mine, (ucontext_t *)target);
}
#define SWITCH(save, target) ucontext_switch((save), (target))
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- scheduler ------------------------------------------------------------------------------ */
static void make_ready(sim *s, int p) {
  s->procs[p].state = READY;
  s->ready[(s->rhead + s->rcount) % s->nproc] = p;
  s->rcount++;
}

static void yield_to_scheduler(sim *s) {
  proc *p = &s->procs[s->current];
  SWITCH(&p->sp, s->sched_sp);
}

static void proc_entry(void) {
  sim *s = g_sim;
  proc *p = &s->procs[s->current];
  p->fn(p->args);
  p->state = DONE;
  yield_to_scheduler(s);
}

static int expired(sim *s) { return __atomic_load_n(&s->stop, __ATOMIC_RELAXED) || now() > s->deadline; }

static void abort_run(sim *s) {
  s->aborted = 1;
  yield_to_scheduler(s); /* never resumed */
}

static void tick(sim *s) {
  if ((++s->ops & 0xFFFF) == 0 && expired(s)) abort_run(s);
}

/* Called by compiled kernels at the back-edges of loops that may run long without touching a stream (a
 * `while`, a loop nest): an endless kernel ends the run at its timeout instead of running forever. */
void dsl_sim_poll(void) {
  sim *s = g_sim;
  if ((++s->polls & 0xFFFF) == 0 && expired(s)) abort_run(s);
}

/* From another thread (Ctrl-C in Python): the run ends at the next stream access or poll. */
void dsl_sim_stop(sim *s) { __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED); }

static void block(sim *s, fifo *f, int full, int site) {
  proc *p = &s->procs[s->current];
  p->state = BLOCKED;
  p->blocked_fifo = f->idx;
  p->blocked_full = full;
  p->blocked_site = site;
  if (full)
    f->writer_wait = s->current;
  else
    f->reader_wait = s->current;
  yield_to_scheduler(s);
}

/* Double the ring (at most to the depth), keeping the tokens in order. */
static void grow(fifo *f) {
  int64_t slots = f->slots * 2 < f->cap ? f->slots * 2 : f->cap;
  char *buf = malloc((size_t)(slots * f->size));
  for (int64_t k = 0; k < f->count; k++)
    memcpy(buf + k * f->size, f->buf + ((f->head + k) % f->slots) * f->size, (size_t)f->size);
  free(f->buf);
  f->buf = buf;
  f->slots = slots;
  f->head = 0;
  f->tail = f->count;
}

/* Wait for room, return the slot to write. */
static char *put_slot(sim *s, fifo *f, int site) {
  while (f->count == f->cap) block(s, f, 1, site);
  if (f->count == f->slots) grow(f);
  char *slot = f->buf + f->tail * f->size;
  if (++f->tail == f->slots) f->tail = 0;
  return slot;
}

static void put_done(sim *s, fifo *f) {
  if (++f->count > f->max_occ) f->max_occ = f->count;
  f->total++;
  if (f->reader_wait >= 0) {
    make_ready(s, f->reader_wait);
    f->reader_wait = -1;
  }
  tick(s);
}

/* Wait for a token, return its slot (valid until the next put). */
static char *get_slot(sim *s, fifo *f, int site) {
  while (f->count == 0) block(s, f, 0, site);
  char *slot = f->buf + f->head * f->size;
  if (++f->head == f->slots) f->head = 0;
  f->count--;
  return slot;
}

static void get_done(sim *s, fifo *f) {
  if (f->writer_wait >= 0) {
    make_ready(s, f->writer_wait);
    f->writer_wait = -1;
  }
  tick(s);
}

/* Scalar tokens (the hot path: one call per token of a PE array) index the ring as 64-bit words. */
void dsl_fifo_put(int64_t handle, int64_t value, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim;
  while (f->count == f->cap) block(s, f, 1, site);
  if (__builtin_expect(f->count == f->slots, 0)) grow(f);
  ((int64_t *)f->buf)[f->tail] = value;
  if (++f->tail == f->slots) f->tail = 0;
  put_done(s, f);
}

int64_t dsl_fifo_get(int64_t handle, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim;
  while (f->count == 0) block(s, f, 0, site);
  int64_t value = ((int64_t *)f->buf)[f->head];
  if (++f->head == f->slots) f->head = 0;
  f->count--;
  get_done(s, f);
  return value;
}

void dsl_fifo_put_block(int64_t handle, int64_t data, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim; /* thread-local: read once per call */
  memcpy(put_slot(s, f, site), (const void *)(intptr_t)data, (size_t)f->size);
  put_done(s, f);
}

void dsl_fifo_get_block(int64_t handle, int64_t data, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim;
  memcpy((void *)(intptr_t)data, get_slot(s, f, site), (size_t)f->size);
  get_done(s, f);
}

/* ---- API used from Python (ctypes) ---------------------------------------------------------- */
sim *dsl_sim_new(int nproc, int nfifo, int64_t stack_size) {
  sim *s = calloc(1, sizeof(sim));
  s->nproc = nproc;
  s->nfifo = nfifo;
  s->procs = calloc(nproc > 0 ? nproc : 1, sizeof(proc));
  s->fifos = calloc(nfifo > 0 ? nfifo : 1, sizeof(fifo));
  s->ready = calloc(nproc > 0 ? nproc : 1, sizeof(int));
  s->stack_size = (size_t)stack_size;
  s->oob_site = -1;
  return s;
}

/* token_bytes 0: scalar tokens as 64-bit words (dsl_fifo_put/get), else blocks of that many bytes. */
int64_t dsl_sim_fifo(sim *s, int idx, int64_t depth, int64_t token_bytes) {
  fifo *f = &s->fifos[idx];
  f->cap = depth > 0 ? depth : 1;
  f->size = token_bytes > 0 ? token_bytes : (int64_t)sizeof(int64_t);
  f->slots = (1 << 16) / f->size;
  if (f->slots < 2) f->slots = 2;
  if (f->slots > f->cap) f->slots = f->cap;
  f->buf = malloc((size_t)(f->slots * f->size));
  f->writer_wait = f->reader_wait = -1;
  f->idx = idx;
  return (int64_t)(intptr_t)f;
}

void dsl_sim_proc(sim *s, int idx, void *fn, void **args, int ndeps, const int *deps) {
  proc *p = &s->procs[idx];
  p->fn = (void (*)(void **))fn;
  p->args = args;
  p->pending = p->ndeps = ndeps;
  p->blocked_fifo = -1;
  for (int k = 0; k < ndeps; k++) {
    proc *d = &s->procs[deps[k]];
    d->dependents = realloc(d->dependents, sizeof(int) * (size_t)(d->ndependents + 1));
    d->dependents[d->ndependents++] = idx;
  }
}

static int start_process(sim *s, int idx) {
  proc *p = &s->procs[idx];
  long page = sysconf(_SC_PAGESIZE);
  if (!p->stack) { /* kept from an earlier run of this simulation (dsl_sim_reset) otherwise */
    p->stack_size = s->stack_size + (size_t)page;
    p->stack = mmap(0, p->stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->stack == MAP_FAILED) {
      p->stack = 0;
      return -1;
    }
    mprotect(p->stack, (size_t)page, PROT_NONE); /* guard page: a stack overflow faults */
  }
  p->started = 1;
#if defined(__x86_64__)
  p->sp = initial_sp(p->stack, p->stack_size);
#else
  free(p->uc);
  ucontext_t *uc = p->uc = calloc(1, sizeof(ucontext_t));
  getcontext(uc);
  uc->uc_stack.ss_sp = p->stack + page;
  uc->uc_stack.ss_size = s->stack_size;
  uc->uc_link = 0;
  makecontext(uc, proc_entry, 0);
  p->sp = uc;
#endif
  return 0;
}

static void finish(sim *s, int idx) {
  proc *p = &s->procs[idx];
  s->done++;
  p->started = 0; /* its stack stays mapped for the next run (dsl_sim_reset), freed by dsl_sim_free */
  for (int k = 0; k < p->ndependents; k++) {
    proc *d = &s->procs[p->dependents[k]];
    if (--d->pending == 0) make_ready(s, p->dependents[k]);
  }
}

int dsl_sim_run(sim *s, double timeout_s) {
  sim *outer = g_sim;
  g_sim = s;
  s->deadline = now() + timeout_s;
#if !defined(__x86_64__)
  ucontext_t sched_ctx;
  s->sched_sp = &sched_ctx;
#endif
  for (int i = 0; i < s->nproc; i++)
    if (s->procs[i].pending == 0) make_ready(s, i);
  int status = SIM_OK;
  while (s->rcount > 0) {
    int i = s->ready[s->rhead];
    s->rhead = (s->rhead + 1) % s->nproc;
    s->rcount--;
    proc *p = &s->procs[i];
    if (!p->started && start_process(s, i) != 0) {
      status = SIM_ERROR;
      break;
    }
    p->state = RUNNING;
    s->current = i;
#if defined(__x86_64__)
    SWITCH(&s->sched_sp, p->sp);
#else
    swapcontext(&sched_ctx, (ucontext_t *)p->sp);
#endif
    if (s->aborted) {
      status = SIM_TIMEOUT;
      break;
    }
    if (p->state == DONE) finish(s, i);
    if ((s->ops & 0xFF) == 0 && expired(s)) {
      status = SIM_TIMEOUT;
      break;
    }
  }
  if (status == SIM_OK && s->done < s->nproc) status = SIM_DEADLOCK;
  g_sim = outer;
  return status;
}

/* Back to the state before the first run, keeping what the runs allocated (the process stacks, the
 * FIFOs' rings), so that a design called many times (a layer, once per token) sets up once: every FIFO
 * empty with its statistics cleared (same depths), every process not started, waiting for its
 * predecessors again. Processes left suspended by a deadlock are dropped, as dsl_sim_free drops them. */
void dsl_sim_reset(sim *s) {
  for (int i = 0; i < s->nproc; i++) {
    proc *p = &s->procs[i];
    p->state = WAITING;
    p->started = 0;
    p->pending = p->ndeps;
    p->blocked_fifo = -1;
    p->blocked_full = p->blocked_site = 0;
  }
  for (int j = 0; j < s->nfifo; j++) {
    fifo *f = &s->fifos[j];
    f->count = f->head = f->tail = f->max_occ = f->total = 0;
    f->writer_wait = f->reader_wait = -1;
  }
  s->done = s->aborted = s->current = s->rhead = s->rcount = s->stop = 0;
  s->ops = s->polls = 0;
  s->oob_site = -1;
}

/* state, fifo index, 1 = blocked on a full FIFO, site of the access; pending = unfinished predecessors */
void dsl_sim_proc_info(sim *s, int idx, int *out) {
  proc *p = &s->procs[idx];
  out[0] = p->state;
  out[1] = p->blocked_fifo;
  out[2] = p->blocked_full;
  out[3] = p->blocked_site;
  out[4] = p->pending;
}

/* occupancy now, maximum occupancy, tokens written, depth */
void dsl_sim_fifo_info(sim *s, int idx, int64_t *out) {
  fifo *f = &s->fifos[idx];
  out[0] = f->count;
  out[1] = f->max_occ;
  out[2] = f->total;
  out[3] = f->cap;
}

/* dsl_sim_proc_info and dsl_sim_fifo_info of every process / FIFO at once (5 ints / 4 int64 each). */
void dsl_sim_info_all(sim *s, int *procs, int64_t *fifos) {
  for (int i = 0; i < s->nproc; i++) dsl_sim_proc_info(s, i, procs + 5 * i);
  for (int j = 0; j < s->nfifo; j++) dsl_sim_fifo_info(s, j, fifos + 4 * j);
}

int dsl_sim_current(sim *s) { return s->current; }

/* Stream operations (puts + gets) so far, read by the progress line from another thread while the
 * simulation runs. Only the simulating thread writes the counter, and an aligned 64-bit load does not
 * tear, so the worst a reader sees is a slightly old count. */
uint64_t dsl_sim_ops(sim *s) { return __atomic_load_n(&s->ops, __ATOMIC_RELAXED); }

/* Called by a check_bounds build when an access is out of range (the access is skipped). */
void dsl_bounds_fail(int64_t site) {
  sim *s = g_sim;
  if (s && s->oob_site < 0) s->oob_site = site;
}

int64_t dsl_sim_oob(sim *s) { return s->oob_site; }

/* Free everything. Processes still suspended (deadlock, timeout) are abandoned: their stacks go away and
 * whatever they had allocated leaks. */
void dsl_sim_free(sim *s) {
  for (int i = 0; i < s->nproc; i++) {
    proc *p = &s->procs[i];
    if (p->stack) munmap(p->stack, p->stack_size);
    free(p->dependents);
    free(p->uc);
  }
  for (int j = 0; j < s->nfifo; j++) free(s->fifos[j].buf);
  free(s->procs);
  free(s->fifos);
  free(s->ready);
  free(s);
}
