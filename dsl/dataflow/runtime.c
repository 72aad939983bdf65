/* The dsl dataflow simulator runtime: bounded FIFOs and cooperative processes.
 *
 * Every kernel instance runs as a coroutine on its own stack, all in the OS thread that calls
 * dsl_sim_run. A process runs until it blocks (get on an empty FIFO, put on a full one) or finishes; the
 * scheduler then resumes the next ready process. Blocking is exact (a FIFO never holds more than its
 * depth), and because a network of processes with blocking reads and bounded writes is a Kahn network,
 * whether it completes or deadlocks does not depend on the scheduling order. When no process is ready
 * and some are not finished, every live process is blocked: a deadlock, reported to the caller.
 *
 * JIT-compiled kernels call dsl_fifo_put / dsl_fifo_get (tokens travel as 64-bit words; the caller
 * converts) with the FIFO's address as handle and a site number naming the Python line of the access.
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
  int64_t *buf;
  int64_t cap, count, head, tail, max_occ, total;
  int writer_wait, reader_wait, idx;
} fifo;

typedef struct proc {
  void *sp;
  char *stack;
  size_t stack_size;
  void (*fn)(void **);
  void **args;
  int state, blocked_fifo, blocked_full, blocked_site, pending, ndependents;
  int *dependents;
} proc;

typedef struct sim {
  int nproc, nfifo, done, aborted, current, rhead, rcount;
  proc *procs;
  fifo *fifos;
  int *ready;
  void *sched_sp;
  double deadline;
  uint64_t ops;
  size_t stack_size;
  int64_t oob_site; /* first out-of-range access (check_bounds builds), -1 if none */
} sim;

static __thread sim *g_sim;

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

static void tick(sim *s) {
  if ((++s->ops & 0xFFFF) == 0 && now() > s->deadline) {
    s->aborted = 1;
    yield_to_scheduler(s); /* never resumed */
  }
}

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

void dsl_fifo_put(int64_t handle, int64_t value, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim;
  while (f->count == f->cap) block(s, f, 1, site);
  f->buf[f->tail] = value;
  if (++f->tail == f->cap) f->tail = 0;
  if (++f->count > f->max_occ) f->max_occ = f->count;
  f->total++;
  if (f->reader_wait >= 0) {
    make_ready(s, f->reader_wait);
    f->reader_wait = -1;
  }
  tick(s);
}

int64_t dsl_fifo_get(int64_t handle, int32_t site) {
  fifo *f = (fifo *)(intptr_t)handle;
  sim *s = g_sim;
  while (f->count == 0) block(s, f, 0, site);
  int64_t value = f->buf[f->head];
  if (++f->head == f->cap) f->head = 0;
  f->count--;
  if (f->writer_wait >= 0) {
    make_ready(s, f->writer_wait);
    f->writer_wait = -1;
  }
  tick(s);
  return value;
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

int64_t dsl_sim_fifo(sim *s, int idx, int64_t depth) {
  fifo *f = &s->fifos[idx];
  f->cap = depth > 0 ? depth : 1;
  f->buf = malloc(sizeof(int64_t) * (size_t)f->cap);
  f->writer_wait = f->reader_wait = -1;
  f->idx = idx;
  return (int64_t)(intptr_t)f;
}

void dsl_sim_proc(sim *s, int idx, void *fn, void **args, int ndeps, const int *deps) {
  proc *p = &s->procs[idx];
  p->fn = (void (*)(void **))fn;
  p->args = args;
  p->pending = ndeps;
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
  p->stack_size = s->stack_size + (size_t)page;
  p->stack = mmap(0, p->stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p->stack == MAP_FAILED) {
    p->stack = 0;
    return -1;
  }
  mprotect(p->stack, (size_t)page, PROT_NONE); /* guard page: a stack overflow faults */
#if defined(__x86_64__)
  p->sp = initial_sp(p->stack, p->stack_size);
#else
  ucontext_t *uc = calloc(1, sizeof(ucontext_t));
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
  munmap(p->stack, p->stack_size);
  p->stack = 0;
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
    if (!p->stack && start_process(s, i) != 0) {
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
    if ((s->ops & 0xFF) == 0 && now() > s->deadline) {
      status = SIM_TIMEOUT;
      break;
    }
  }
  if (status == SIM_OK && s->done < s->nproc) status = SIM_DEADLOCK;
  g_sim = outer;
  return status;
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
  }
  for (int j = 0; j < s->nfifo; j++) free(s->fifos[j].buf);
  free(s->procs);
  free(s->fifos);
  free(s->ready);
  free(s);
}
