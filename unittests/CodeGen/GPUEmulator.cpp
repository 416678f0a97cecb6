//===- GPUEmulator.cpp - Runs NVPTX kernels' LLVM IR on the host ----------===//
//
// Three parts (what is modelled is in GPUEmulator.h):
//
//   lowering   The module's GPU specifics become host code: each NVVM
//              intrinsic a call of a runtime function below (__thjit_emu_*),
//              each shared-memory global an offset from the block's shared
//              buffer, libdevice calls libm's; then one entry wrapper per
//              kernel taking its arguments as an array of 8-byte slots.
//   fibers     Each emulated thread runs on a stack of its own; switching is
//              a few instructions of assembly on x86-64 (ucontext elsewhere)
//              so that a barrier costs no system call.
//   runtime    A host thread (a Worker) runs one block at a time: its
//              scheduler resumes ready fibers in order; a fiber that must
//              wait (barrier, warp collective) records its inputs and
//              switches back; the last one to arrive computes every
//              participant's result and wakes the others.
//
//===----------------------------------------------------------------------===//
#include "GPUEmulator.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#if !defined(__x86_64__) || defined(THJIT_EMU_UCONTEXT)
#define THJIT_EMU_USE_UCONTEXT 1
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define THJIT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THJIT_EMU_ASAN 1
#endif
#endif
#ifdef THJIT_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace thjit::test {

namespace {

//===----------------------------------------------------------------------===//
// Fibers
//===----------------------------------------------------------------------===//

#ifndef THJIT_EMU_USE_UCONTEXT
// thjit_emu_switch(&save, to): saves the callee-saved registers, MXCSR and
// the x87 control word on the current stack, stores its pointer in *save,
// and resumes the stack `to` (saved the same way, or made by makeFiber).
// thjit_emu_fiber_start: where a new fiber's first switch returns to; calls
// r13(r12).
asm(R"(
  .text
  .p2align 4
  .type thjit_emu_switch,@function
thjit_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size thjit_emu_switch, .-thjit_emu_switch
  .p2align 4
  .type thjit_emu_fiber_start,@function
thjit_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size thjit_emu_fiber_start, .-thjit_emu_fiber_start
)");
extern "C" void thjit_emu_switch(void **save, void *to);
extern "C" void thjit_emu_fiber_start();
#endif

/// A stack with a guard page below it (an overflow faults).
struct Stack {
  char *base = nullptr; ///< lowest usable byte
  size_t size = 0;

  void allocate(size_t bytes) {
    long page = sysconf(_SC_PAGESIZE);
    size = (bytes + page - 1) / page * page;
    void *p = mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      throw EmulatorError("GPU emulator: cannot map a fiber stack");
    mprotect(p, page, PROT_NONE);
    base = static_cast<char *>(p) + page;
  }
  void release() {
    if (base) {
      long page = sysconf(_SC_PAGESIZE);
      munmap(base - page, size + page);
      base = nullptr;
    }
  }
};

/// A saved execution context: a stack pointer (x86-64) or a ucontext.
struct Context {
#ifdef THJIT_EMU_USE_UCONTEXT
  ucontext_t uc;
#else
  void *sp = nullptr;
#endif
#ifdef THJIT_EMU_ASAN
  void *fakeStack = nullptr;
  const void *stackBottom = nullptr;
  size_t stackSize = 0;
#endif
};

#ifdef THJIT_EMU_USE_UCONTEXT
// makecontext passes int arguments only: the start function goes through a
// thread-local (every fiber of a worker runs the same one, which finds its
// fiber through the worker, not its argument).
thread_local void (*tStartFn)(void *);
void ucontextStart() { tStartFn(nullptr); }
#endif

/// Makes `c` start fn(arg) on `stack` when switched to.
void makeFiber(Context &c, Stack &stack, void (*fn)(void *), void *arg) {
#ifdef THJIT_EMU_ASAN
  c.stackBottom = stack.base;
  c.stackSize = stack.size;
  // Frames abandoned on this stack by its previous fiber left poison.
  __asan_unpoison_memory_region(stack.base, stack.size);
#endif
#ifdef THJIT_EMU_USE_UCONTEXT
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack.base;
  c.uc.uc_stack.ss_size = stack.size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, ucontextStart, 0);
  tStartFn = fn;
  (void)arg;
#else
  auto *top = reinterpret_cast<uint64_t *>(
      reinterpret_cast<uintptr_t>(stack.base + stack.size) & ~uintptr_t(15));
  uint32_t mxcsr;
  uint16_t fpcw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  // The frame thjit_emu_switch pops (see its comment), from the top:
  // padding, return address, rbp, rbx, r12, r13, r14, r15, MXCSR + FPCW.
  top[-1] = top[-2] = 0;
  top[-3] = reinterpret_cast<uint64_t>(&thjit_emu_fiber_start);
  top[-4] = top[-5] = 0;
  top[-6] = reinterpret_cast<uint64_t>(arg);
  top[-7] = reinterpret_cast<uint64_t>(fn);
  top[-8] = top[-9] = 0;
  top[-10] = mxcsr | uint64_t(fpcw) << 32;
  c.sp = &top[-10];
#endif
}

/// Saves the running context in `from` and resumes `to`.
void switchTo(Context &from, Context &to) {
#ifdef THJIT_EMU_ASAN
  __sanitizer_start_switch_fiber(&from.fakeStack, to.stackBottom, to.stackSize);
#endif
#ifdef THJIT_EMU_USE_UCONTEXT
  swapcontext(&from.uc, &to.uc);
#else
  thjit_emu_switch(&from.sp, to.sp);
#endif
#ifdef THJIT_EMU_ASAN
  // Back here from some fiber: the scheduler's bounds were recorded when
  // its first fiber started (fiberMain).
  __sanitizer_finish_switch_fiber(from.fakeStack, nullptr, nullptr);
#endif
}

//===----------------------------------------------------------------------===//
// The runtime's codes (shared by the lowering and the runtime functions)
//===----------------------------------------------------------------------===//

enum SReg : int32_t {
  kTidX, kTidY, kTidZ, kNtidX, kNtidY, kNtidZ, kCtaidX, kCtaidY, kCtaidZ,
  kNctaidX, kNctaidY, kNctaidZ, kLaneId, kWarpId, kWarpSize,
  kLanemaskEq, kLanemaskLe, kLanemaskLt, kLanemaskGe, kLanemaskGt
};

enum BarrierOp : int32_t { kBarPlain, kBarAnd, kBarOr, kBarPopc };

// Warp collectives: the op in the low byte, its variant above, and
// kWholeWarp when the operation takes the whole warp (no member mask).
enum WarpOp : int32_t { kShfl = 1, kVote, kWarpSync, kLdMatrix, kMma };
constexpr int32_t kWholeWarp = 1 << 30;
enum ShflMode { kUp, kDown, kBfly, kIdx };
enum VoteMode { kAll, kAny, kUni, kBallot };
enum MmaKind { kM16N8K16F16, kM16N8K16BF16, kM16N8K8F16, kM16N8K8BF16, kM16N8K8TF32, kM8N8K4F64 };
constexpr int kMaxIn = 12, kMaxOut = 4;

int mmaInputs(int kind) {
  switch (kind) {
  case kM16N8K16F16:
  case kM16N8K16BF16:
  case kM16N8K8TF32:
    return 10;
  case kM16N8K8F16:
  case kM16N8K8BF16:
    return 7;
  default:
    return 4;
  }
}

//===----------------------------------------------------------------------===//
// The runtime
//===----------------------------------------------------------------------===//

enum class FState : uint8_t { Ready, AtBarrier, AtWarp, Done };

struct Fiber {
  Context ctx;
  Stack stack;
  unsigned linear = 0, tid[3] = {0, 0, 0}, warp = 0, lane = 0;
  FState state = FState::Ready;
  const char *waitWhat = nullptr; ///< the collective waited for
  uint64_t in[kMaxIn] = {};        ///< a collective's inputs...
  uint64_t out[kMaxOut] = {};      ///< ...and this thread's results
};

struct Pending {
  uint32_t mask = 0, arrived = 0;
  int32_t op = 0;
};

struct WarpState {
  uint32_t lanes = 0; ///< lanes that exist (a last warp may be partial)
  std::vector<Pending> pending;
};

/// What a launch shares among its workers.
struct LaunchState {
  void (*entry)(const uint64_t *) = nullptr;
  const uint64_t *slots = nullptr;
  Dim3 grid, block;
  unsigned threads = 0;
  size_t sharedBytes = 0;
  uint8_t sharedFill = 0;
  bool reverse = false;
};

/// A host thread running blocks: the fibers and the state of one block.
struct Worker {
  std::vector<Fiber> fibers;
  std::vector<unsigned> order; ///< fibers in scheduling order
  Context scheduler;
  Fiber *current = nullptr;
  const LaunchState *L = nullptr;
  unsigned ctaid[3] = {0, 0, 0};
  std::vector<uint64_t> sharedBuffer;
  char *shared = nullptr; ///< in sharedBuffer, 64-byte aligned
  std::deque<unsigned> ready;
  std::vector<WarpState> warps;
  // The block-wide barrier.
  unsigned barArrived = 0;
  int32_t barOp = 0, barId = 0;
  uint32_t barAcc = 0;
  // A failure inside the block.
  bool failed = false;
  std::string error;
  EmulatorStats stats;
  size_t stackBytes = 0;

  ~Worker() {
    for (Fiber &f : fibers)
      f.stack.release();
  }
};

thread_local Worker *tWorker = nullptr;

std::string where(const Worker &w, const Fiber &f) {
  std::ostringstream os;
  os << "block (" << w.ctaid[0] << ", " << w.ctaid[1] << ", " << w.ctaid[2]
     << ") thread (" << f.tid[0] << ", " << f.tid[1] << ", " << f.tid[2]
     << ") [warp " << f.warp << " lane " << f.lane << "]";
  return os.str();
}

/// Gives control back to the scheduler until this fiber is woken.
void yield() {
  Worker &w = *tWorker;
  switchTo(w.current->ctx, w.scheduler);
}

void wake(Worker &w, Fiber &f) {
  f.state = FState::Ready;
  f.waitWhat = nullptr;
  w.ready.push_back(&f - w.fibers.data());
}

/// Ends the block with an error (printf-style) about thread `blame` (null:
/// the running one) and never returns: the running fiber is abandoned
/// with its stack never unwound, so its callers hold no std::string.
[[noreturn]] __attribute__((format(printf, 2, 3))) void
fail(const Fiber *blame, const char *fmt, ...) {
  Worker &w = *tWorker;
  Fiber &f = *w.current;
  if (!w.failed) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w.failed = true;
    w.error = where(w, blame ? *blame : f) + ": " + msg;
  }
  f.state = FState::Done;
  yield();
  __builtin_unreachable();
}

std::string hex(uint32_t v) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Numbers.

double halfToDouble(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0    ? std::ldexp(m, -24)
             : e == 31 ? (m ? NAN : INFINITY)
                       : std::ldexp(m | 1024, e - 25);
  return h & 0x8000 ? -v : v;
}

double bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint64_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Warp collectives: `w.fibers[base + lane]` for the lanes in `mask`.

void shuffle(Worker &w, unsigned base, uint32_t mask, int mode) {
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(mask >> lane & 1))
      continue;
    Fiber &f = w.fibers[base + lane];
    // As the PTX ISA's shfl.sync: c holds the clamp value (bits 0-4) and
    // the segment mask (bits 8-12).
    uint32_t bval = f.in[1] & 31, cval = f.in[2] & 31, seg = (f.in[2] >> 8) & 31;
    uint32_t maxLane = (lane & seg) | (cval & ~seg), minLane = lane & seg;
    int32_t j;
    bool p;
    switch (mode) {
    case kUp:
      j = int32_t(lane) - int32_t(bval);
      p = j >= int32_t(maxLane);
      break;
    case kDown:
      j = lane + bval;
      p = uint32_t(j) <= maxLane;
      break;
    case kBfly:
      j = lane ^ bval;
      p = uint32_t(j) <= maxLane;
      break;
    default:
      j = minLane | (bval & ~seg);
      p = uint32_t(j) <= maxLane;
      break;
    }
    if (!p)
      j = lane;
    if (!(mask >> j & 1)) {
      // Undefined on a GPU; a test wants to know.
      fail(&f, "shfl.sync reads lane %d, outside the member mask 0x%08x", j, mask);
    }
    f.out[0] = w.fibers[base + j].in[0];
    f.out[1] = p;
  }
}

void vote(Worker &w, unsigned base, uint32_t mask, int mode) {
  uint32_t ballot = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if (mask >> lane & 1 && w.fibers[base + lane].in[0])
      ballot |= 1u << lane;
  uint64_t r = mode == kAll   ? ballot == mask
               : mode == kAny ? ballot != 0
               : mode == kUni ? ballot == 0 || ballot == mask
                              : ballot;
  for (unsigned lane = 0; lane < 32; ++lane)
    if (mask >> lane & 1)
      w.fibers[base + lane].out[0] = r;
}

/// ldmatrix.m8n8.x{count}[.trans].b16: matrix q's row r is at lane
/// 8q + r's address; lane l gets, of each matrix, row l/4 elements 2(l%4)
/// and 2(l%4)+1 (transposed: column l/4 of rows 2(l%4) and 2(l%4)+1).
void ldmatrix(Worker &w, unsigned base, int count, bool trans) {
  for (int r = 0; r < 8 * count; ++r) {
    uint64_t a = w.fibers[base + r].in[0];
    if (a % 16)
      fail(&w.fibers[base + r], "ldmatrix row address 0x%llx is not 16-byte aligned",
           (unsigned long long)a);
  }
  auto elem = [&](int q, int row, int col) {
    uint16_t v;
    std::memcpy(&v, reinterpret_cast<const char *>(w.fibers[base + 8 * q + row].in[0]) + 2 * col, 2);
    return uint32_t(v);
  };
  for (int l = 0; l < 32; ++l)
    for (int q = 0; q < count; ++q) {
      uint32_t lo, hi;
      if (!trans)
        lo = elem(q, l / 4, 2 * (l % 4)), hi = elem(q, l / 4, 2 * (l % 4) + 1);
      else
        lo = elem(q, 2 * (l % 4), l / 4), hi = elem(q, 2 * (l % 4) + 1, l / 4);
      w.fibers[base + l].out[q] = lo | hi << 16;
    }
}

/// mma.sync, row.col, with the PTX ISA's fragment layouts (g = lane / 4,
/// t = lane % 4). Products are exact in double and summed in double, the
/// sum rounded once to float; f64 is a chain of fused multiply-adds.
void mma(Worker &w, unsigned base, int kind) {
  const bool f64 = kind == kM8N8K4F64;
  const int K = kind == kM16N8K16F16 || kind == kM16N8K16BF16 ? 16 : f64 ? 4 : 8;
  double A[16][16], B[16][8], C[16][8];
  auto h16 = [&](uint64_t reg, int h) -> double {
    uint16_t b = uint16_t(reg >> (16 * h));
    bool bf = kind == kM16N8K16BF16 || kind == kM16N8K8BF16;
    return bf ? bitsToFloat(uint32_t(b) << 16) : halfToDouble(b);
  };
  for (int l = 0; l < 32; ++l) {
    const uint64_t *in = w.fibers[base + l].in;
    const int g = l / 4, t = l % 4;
    const uint64_t *c = nullptr;
    switch (kind) {
    case kM16N8K16F16:
    case kM16N8K16BF16:
      for (int r = 0; r < 4; ++r)
        for (int h = 0; h < 2; ++h)
          A[g + 8 * (r & 1)][2 * t + h + 8 * (r >> 1)] = h16(in[r], h);
      for (int r = 0; r < 2; ++r)
        for (int h = 0; h < 2; ++h)
          B[2 * t + h + 8 * r][g] = h16(in[4 + r], h);
      c = in + 6;
      break;
    case kM16N8K8F16:
    case kM16N8K8BF16:
      for (int r = 0; r < 2; ++r)
        for (int h = 0; h < 2; ++h)
          A[g + 8 * r][2 * t + h] = h16(in[r], h);
      for (int h = 0; h < 2; ++h)
        B[2 * t + h][g] = h16(in[2], h);
      c = in + 3;
      break;
    case kM16N8K8TF32:
      // The tensor cores read 19 bits of each word (the low 13 ignored).
      for (int r = 0; r < 4; ++r)
        A[g + 8 * (r & 1)][t + 4 * (r >> 1)] = bitsToFloat(uint32_t(in[r]) & 0xffffe000u);
      for (int r = 0; r < 2; ++r)
        B[t + 4 * r][g] = bitsToFloat(uint32_t(in[4 + r]) & 0xffffe000u);
      c = in + 6;
      break;
    default: {
      double a, b;
      std::memcpy(&a, &in[0], 8);
      std::memcpy(&b, &in[1], 8);
      A[g][t] = a;
      B[t][g] = b;
      for (int i = 0; i < 2; ++i)
        std::memcpy(&C[g][2 * t + i], &in[2 + i], 8);
      continue;
    }
    }
    for (int i = 0; i < 4; ++i)
      C[g + 8 * (i >> 1)][2 * t + (i & 1)] = bitsToFloat(uint32_t(c[i]));
  }
  for (int l = 0; l < 32; ++l) {
    uint64_t *out = w.fibers[base + l].out;
    const int g = l / 4, t = l % 4;
    if (f64) {
      for (int i = 0; i < 2; ++i) {
        double d = C[g][2 * t + i];
        for (int k = 0; k < K; ++k)
          d = std::fma(A[g][k], B[k][2 * t + i], d);
        std::memcpy(&out[i], &d, 8);
      }
      continue;
    }
    for (int i = 0; i < 4; ++i) {
      int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
      double d = C[row][col];
      for (int k = 0; k < K; ++k)
        d += A[row][k] * B[k][col];
      out[i] = floatBits(float(d));
    }
  }
}

const char *warpOpName(int32_t op) {
  switch (op & 0xff) {
  case kShfl:
    return "shfl";
  case kVote:
    return "vote";
  case kWarpSync:
    return "bar.warp.sync";
  case kLdMatrix:
    return "ldmatrix";
  default:
    return "mma.sync";
  }
}

// The runtime functions the lowered IR calls (plain C types, so the C
// calling convention); the running fiber is tWorker->current.

int32_t thjitEmuSreg(int32_t which) {
  Worker &w = *tWorker;
  const Fiber &f = *w.current;
  const LaunchState &L = *w.L;
  switch (which) {
  case kTidX:
  case kTidY:
  case kTidZ:
    return f.tid[which - kTidX];
  case kNtidX:
    return L.block.x;
  case kNtidY:
    return L.block.y;
  case kNtidZ:
    return L.block.z;
  case kCtaidX:
  case kCtaidY:
  case kCtaidZ:
    return w.ctaid[which - kCtaidX];
  case kNctaidX:
    return L.grid.x;
  case kNctaidY:
    return L.grid.y;
  case kNctaidZ:
    return L.grid.z;
  case kLaneId:
    return f.lane;
  case kWarpId:
    return f.warp;
  case kWarpSize:
    return 32;
  }
  uint32_t eq = 1u << f.lane, lt = eq - 1, le = lt | eq;
  switch (which) {
  case kLanemaskEq:
    return eq;
  case kLanemaskLe:
    return le;
  case kLanemaskLt:
    return lt;
  case kLanemaskGe:
    return ~lt;
  default:
    return ~le;
  }
}

int32_t thjitEmuBarrier(int32_t op, int32_t id, int32_t count, int32_t pred) {
  Worker &w = *tWorker;
  Fiber &f = *w.current;
  const unsigned n = w.L->threads;
  if (count >= 0 && unsigned(count) != n)
    fail(nullptr, "a barrier for %d threads in a block of %u: partial barriers are not emulated",
         count, n);
  if (w.barArrived == 0) {
    w.barOp = op;
    w.barId = id;
    w.barAcc = op == kBarAnd ? 1 : 0;
  } else if (op != w.barOp || id != w.barId) {
    fail(nullptr, "threads of the block wait at different barriers (%d and %d)", id, w.barId);
  }
  if (op == kBarAnd)
    w.barAcc &= pred != 0;
  else if (op == kBarOr)
    w.barAcc |= pred != 0;
  else if (op == kBarPopc)
    w.barAcc += pred != 0;
  if (++w.barArrived < n) {
    f.state = FState::AtBarrier;
    yield();
    return int32_t(f.out[0]);
  }
  // The last to arrive releases everyone, in scheduling order.
  const uint32_t result = w.barAcc;
  w.barArrived = 0;
  ++w.stats.barriers;
  for (unsigned i : w.order) {
    Fiber &o = w.fibers[i];
    if (o.state == FState::AtBarrier) {
      o.out[0] = result;
      wake(w, o);
    }
  }
  return int32_t(result);
}

void thjitEmuWarp(int32_t op, int32_t maskArg, const uint64_t *in, int32_t nin, uint64_t *out,
                  int32_t nout) {
  Worker &w = *tWorker;
  Fiber &f = *w.current;
  WarpState &ws = w.warps[f.warp];
  const unsigned base = f.warp * 32;
  uint32_t mask = uint32_t(maskArg);
  const char *name = warpOpName(op);
  if (op & kWholeWarp) {
    if ((op & 0xff) != kShfl && (op & 0xff) != kVote && ws.lanes != ~0u)
      fail(nullptr, "%s in a partial warp (the block size is not a multiple of 32)", name);
    mask = ws.lanes;
  }
  if (!(mask >> f.lane & 1))
    fail(nullptr, "%s with member mask 0x%08x, which does not hold the calling lane", name,
         mask);
  if (mask & ~ws.lanes)
    fail(nullptr, "%s with member mask 0x%08x, naming lanes that do not exist", name, mask);
  std::memcpy(f.in, in, sizeof(uint64_t) * nin);
  auto it = std::find_if(ws.pending.begin(), ws.pending.end(),
                         [&](const Pending &p) { return p.mask & mask; });
  if (it != ws.pending.end() && it->mask != mask)
    fail(nullptr, "%s with member mask 0x%08x while lanes wait with mask 0x%08x", name, mask,
         it->mask);
  if (it != ws.pending.end() && it->op != op)
    fail(nullptr, "the lanes of a warp meet at different collectives: %s and %s (or variants)",
         name, warpOpName(it->op));
  if (it == ws.pending.end()) {
    ws.pending.push_back({mask, 0, op});
    it = ws.pending.end() - 1;
  }
  it->arrived |= 1u << f.lane;
  if (it->arrived != mask) {
    f.state = FState::AtWarp;
    f.waitWhat = name;
    yield();
  } else {
    ws.pending.erase(it);
    ++w.stats.collectives;
    const int variant = (op & ~kWholeWarp) >> 8;
    switch (op & 0xff) {
    case kShfl:
      shuffle(w, base, mask, variant);
      break;
    case kVote:
      vote(w, base, mask, variant);
      break;
    case kLdMatrix:
      ldmatrix(w, base, variant & 7, variant >> 4);
      break;
    case kMma:
      mma(w, base, variant);
      break;
    default:
      break;
    }
    for (unsigned lane = 0; lane < 32; ++lane)
      if (mask >> lane & 1 && lane != f.lane)
        wake(w, w.fibers[base + lane]);
  }
  std::memcpy(out, f.out, sizeof(uint64_t) * nout);
}

void *thjitEmuShared() { return tWorker->shared; }

/// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 bits of
/// mantissa (the low 13 bits of the result are 0). NaN and infinity stay.
int32_t thjitEmuF2tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u)
    u += 0x1000u; // half an ulp of the magnitude; a carry rounds up to inf
  return int32_t(u & 0xffffe000u);
}

// libm for libdevice: __nv_X is libm's X.
float rsqrtfHost(float x) { return 1.0f / std::sqrt(x); }
double rsqrtHost(double x) { return 1.0 / std::sqrt(x); }

const std::map<std::string, void *> &mathFunctions() {
  static const std::map<std::string, void *> table = [] {
    std::map<std::string, void *> t;
    using D1 = double (*)(double);
    using F1 = float (*)(float);
    using D2 = double (*)(double, double);
    using F2 = float (*)(float, float);
#define THJIT_EMU_UNARY(name)                                                  \
  t[#name] = reinterpret_cast<void *>(static_cast<D1>(::name));                \
  t[#name "f"] = reinterpret_cast<void *>(static_cast<F1>(::name##f));
#define THJIT_EMU_BINARY(name)                                                 \
  t[#name] = reinterpret_cast<void *>(static_cast<D2>(::name));                \
  t[#name "f"] = reinterpret_cast<void *>(static_cast<F2>(::name##f));
    THJIT_EMU_UNARY(acos) THJIT_EMU_UNARY(acosh) THJIT_EMU_UNARY(asin)
    THJIT_EMU_UNARY(asinh) THJIT_EMU_UNARY(atan) THJIT_EMU_UNARY(atanh)
    THJIT_EMU_UNARY(cbrt) THJIT_EMU_UNARY(ceil) THJIT_EMU_UNARY(cos)
    THJIT_EMU_UNARY(cosh) THJIT_EMU_UNARY(erf) THJIT_EMU_UNARY(erfc)
    THJIT_EMU_UNARY(exp) THJIT_EMU_UNARY(exp2) THJIT_EMU_UNARY(expm1)
    THJIT_EMU_UNARY(fabs) THJIT_EMU_UNARY(floor) THJIT_EMU_UNARY(lgamma)
    THJIT_EMU_UNARY(log) THJIT_EMU_UNARY(log10) THJIT_EMU_UNARY(log1p)
    THJIT_EMU_UNARY(log2) THJIT_EMU_UNARY(logb) THJIT_EMU_UNARY(nearbyint)
    THJIT_EMU_UNARY(rint) THJIT_EMU_UNARY(round) THJIT_EMU_UNARY(sin)
    THJIT_EMU_UNARY(sinh) THJIT_EMU_UNARY(sqrt) THJIT_EMU_UNARY(tan)
    THJIT_EMU_UNARY(tanh) THJIT_EMU_UNARY(tgamma) THJIT_EMU_UNARY(trunc)
    THJIT_EMU_BINARY(atan2) THJIT_EMU_BINARY(copysign) THJIT_EMU_BINARY(fdim)
    THJIT_EMU_BINARY(fmax) THJIT_EMU_BINARY(fmin) THJIT_EMU_BINARY(fmod)
    THJIT_EMU_BINARY(hypot) THJIT_EMU_BINARY(nextafter) THJIT_EMU_BINARY(pow)
    THJIT_EMU_BINARY(remainder)
#undef THJIT_EMU_UNARY
#undef THJIT_EMU_BINARY
    t["fma"] = reinterpret_cast<void *>(static_cast<double (*)(double, double, double)>(::fma));
    t["fmaf"] = reinterpret_cast<void *>(static_cast<float (*)(float, float, float)>(::fmaf));
    t["rsqrt"] = reinterpret_cast<void *>(&rsqrtHost);
    t["rsqrtf"] = reinterpret_cast<void *>(&rsqrtfHost);
    return t;
  }();
  return table;
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

struct KernelInfo {
  std::string name;
  std::string entryName; ///< the wrapper's symbol
  void (*entry)(const uint64_t *) = nullptr;
  /// Parameters: 'p'ointer, 'i'nteger (bits), 'f'loat, 'd'ouble.
  std::vector<std::pair<char, unsigned>> params;
  unsigned maxntid[3] = {0, 0, 0}, reqntid[3] = {0, 0, 0};
};

class Lowering {
public:
  explicit Lowering(llvm::Module &m) : m(m), ctx(m.getContext()), b(ctx) {}

  /// Rewrites m for the host (`dl` its data layout); fills kernels, the
  /// shared-memory layout and the math symbols m needs. EmulatorError
  /// listing everything unsupported.
  void run(const llvm::DataLayout &dl, const std::string &triple);

  std::vector<KernelInfo> kernels;
  size_t staticShared = 0;
  std::map<std::string, void *> mathSymbols;

private:
  void findKernels();
  void checkModule();
  void lowerShared(const llvm::DataLayout &dl);
  void lowerCalls();
  bool lowerNVVM(llvm::CallInst *call, llvm::StringRef name);
  void lowerBF16Truncs();
  void makeEntries();

  llvm::FunctionCallee runtime(const char *name, llvm::Type *ret,
                               std::vector<llvm::Type *> params) {
    return m.getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false));
  }
  llvm::Value *toBits(llvm::Value *v);
  llvm::Value *fromBits(llvm::Value *bits, llvm::Type *t);
  /// A warp collective: ins as raw bits, results (nout of them) as `ret`
  /// (a scalar or a struct of scalars), or nothing for a void `ret`.
  llvm::Value *warpCall(int32_t op, llvm::Value *mask, std::vector<llvm::Value *> ins,
                        llvm::Type *ret);

  void problem(const std::string &p) { problems.insert(p); }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  llvm::IRBuilder<> b;
  std::set<std::string> problems;
  /// Per function: the in and out arrays of warp collectives.
  std::map<llvm::Function *, std::pair<llvm::AllocaInst *, llvm::AllocaInst *>> warpBuffers;
};

void Lowering::run(const llvm::DataLayout &dl, const std::string &triple) {
  findKernels();
  checkModule();
  m.setDataLayout(dl);
  m.setTargetTriple(triple);
  lowerShared(dl);
  lowerCalls();
  lowerBF16Truncs();
  if (!problems.empty()) {
    std::string msg = "GPU emulator: cannot run this module:";
    for (const std::string &p : problems)
      msg += "\n  " + p;
    throw EmulatorError(msg);
  }
  for (llvm::Function &f : m) {
    if (f.getCallingConv() == llvm::CallingConv::PTX_Kernel ||
        f.getCallingConv() == llvm::CallingConv::PTX_Device)
      f.setCallingConv(llvm::CallingConv::C);
    // Attributes naming the GPU would confuse the host back end.
    for (const char *a : {"target-cpu", "target-features", "tune-cpu"})
      f.removeFnAttr(a);
    for (llvm::Instruction &i : llvm::instructions(f))
      if (auto *c = llvm::dyn_cast<llvm::CallBase>(&i))
        c->setCallingConv(llvm::CallingConv::C);
  }
  makeEntries();
  std::string broken;
  llvm::raw_string_ostream os(broken);
  if (llvm::verifyModule(m, &os))
    throw EmulatorError("GPU emulator: the lowered module is broken: " + broken);
}

void Lowering::findKernels() {
  std::map<llvm::Function *, KernelInfo> found;
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && f.getCallingConv() == llvm::CallingConv::PTX_Kernel)
      found[&f].name = f.getName().str();
  // !nvvm.annotations: !{ptr @f, !"kernel", i32 1}, !"maxntidx", ...
  if (llvm::NamedMDNode *ann = m.getNamedMetadata("nvvm.annotations")) {
    for (llvm::MDNode *node : ann->operands()) {
      if (node->getNumOperands() < 3)
        continue;
      auto *fv = llvm::dyn_cast_or_null<llvm::ValueAsMetadata>(node->getOperand(0).get());
      auto *f = fv ? llvm::dyn_cast<llvm::Function>(fv->getValue()) : nullptr;
      if (!f)
        continue;
      for (unsigned i = 1; i + 1 < node->getNumOperands(); i += 2) {
        auto *key = llvm::dyn_cast<llvm::MDString>(node->getOperand(i).get());
        auto *val = llvm::mdconst::dyn_extract_or_null<llvm::ConstantInt>(node->getOperand(i + 1));
        if (!key || !val)
          continue;
        llvm::StringRef k = key->getString();
        unsigned v = unsigned(val->getZExtValue());
        if (k == "kernel" && v)
          found[f].name = f->getName().str();
        for (int d = 0; d < 3; ++d) {
          std::string axis(1, "xyz"[d]);
          if (k == "maxntid" + axis)
            found[f].maxntid[d] = v;
          if (k == "reqntid" + axis)
            found[f].reqntid[d] = v;
        }
      }
    }
    ann->eraseFromParent();
  }
  for (auto &[f, info] : found)
    if (!info.name.empty()) // annotations of a function that is no kernel
      kernels.push_back(info);
  std::sort(kernels.begin(), kernels.end(),
            [](const KernelInfo &a, const KernelInfo &b) { return a.name < b.name; });
}

void Lowering::checkModule() {
  auto checkType = [&](llvm::Type *t, const std::string &what) {
    if (auto *p = llvm::dyn_cast<llvm::PointerType>(t))
      if (p->getAddressSpace() > 5)
        problem(what + " is in address space " + std::to_string(p->getAddressSpace()));
  };
  for (llvm::GlobalVariable &g : m.globals())
    checkType(g.getType(), "global @" + g.getName().str());
  for (llvm::Function &f : m) {
    for (llvm::Instruction &i : llvm::instructions(f)) {
      checkType(i.getType(), "a value of @" + f.getName().str());
      if (auto *c = llvm::dyn_cast<llvm::CallBase>(&i))
        if (auto *as = llvm::dyn_cast<llvm::InlineAsm>(c->getCalledOperand()))
          problem("inline assembly in @" + f.getName().str() + ": \"" +
                  as->getAsmString() + "\"");
      if (llvm::isa<llvm::InvokeInst>(i) || llvm::isa<llvm::CallBrInst>(i))
        problem("invoke/callbr in @" + f.getName().str());
    }
  }
  for (KernelInfo &k : kernels) {
    llvm::Function *f = m.getFunction(k.name);
    for (llvm::Argument &a : f->args()) {
      llvm::Type *t = a.getType();
      if (t->isPointerTy())
        k.params.push_back({'p', 64});
      else if (t->isIntegerTy() && t->getIntegerBitWidth() <= 64)
        k.params.push_back({'i', t->getIntegerBitWidth()});
      else if (t->isFloatTy())
        k.params.push_back({'f', 32});
      else if (t->isDoubleTy())
        k.params.push_back({'d', 64});
      else
        problem("kernel @" + k.name + ": parameter " + std::to_string(a.getArgNo()) +
                " of a type the emulator cannot pass");
      if (a.hasByValAttr())
        problem("kernel @" + k.name + ": byval parameters are not supported");
    }
  }
}

/// Shared-memory globals become offsets from the block's buffer
/// (__thjit_emu_shared()): definitions one after another, then every
/// extern one (dynamic shared memory) at the same 16-aligned offset.
void Lowering::lowerShared(const llvm::DataLayout &dl) {
  std::vector<llvm::GlobalVariable *> shared;
  for (llvm::GlobalVariable &g : m.globals())
    if (g.getAddressSpace() == 3)
      shared.push_back(&g);
  if (shared.empty())
    return;
  std::map<llvm::GlobalVariable *, uint64_t> offset;
  uint64_t end = 0;
  for (llvm::GlobalVariable *g : shared) {
    if (g->isDeclaration())
      continue;
    uint64_t align = std::max<uint64_t>(g->getAlign().valueOrOne().value(),
                                        dl.getABITypeAlign(g->getValueType()).value());
    end = (end + align - 1) / align * align;
    offset[g] = end;
    end += dl.getTypeAllocSize(g->getValueType());
  }
  staticShared = end;
  const uint64_t dynamic = (end + 15) / 16 * 16;
  for (llvm::GlobalVariable *g : shared)
    if (g->isDeclaration()) {
      if (g->getAlign().valueOrOne().value() > 16)
        problem("extern shared @" + g->getName().str() + " aligned to more than 16 bytes");
      offset[g] = dynamic;
    }
  staticShared = dynamic; // the dynamic part starts here
  std::vector<llvm::Constant *> consts(shared.begin(), shared.end());
  llvm::convertUsersOfConstantsToInstructions(consts);
  llvm::FunctionCallee base = runtime("__thjit_emu_shared", llvm::PointerType::get(ctx, 0), {});
  std::map<llvm::Function *, llvm::Value *> bases;
  for (llvm::GlobalVariable *g : shared) {
    for (llvm::Use &u : llvm::make_early_inc_range(g->uses())) {
      auto *inst = llvm::dyn_cast<llvm::Instruction>(u.getUser());
      if (!inst) {
        problem("shared @" + g->getName().str() + " is used outside a function");
        continue;
      }
      llvm::Function *f = inst->getFunction();
      llvm::BasicBlock &entry = f->getEntryBlock();
      llvm::Value *&bv = bases[f];
      if (!bv) {
        b.SetInsertPoint(&entry, entry.getFirstNonPHIOrDbgOrAlloca());
        bv = b.CreateCall(base);
      }
      b.SetInsertPoint(llvm::cast<llvm::Instruction>(bv)->getNextNode());
      llvm::Value *p = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), bv, offset[g]);
      u.set(b.CreateAddrSpaceCast(p, g->getType()));
    }
  }
  for (llvm::GlobalVariable *g : shared)
    if (g->use_empty())
      g->eraseFromParent();
}

llvm::Value *Lowering::toBits(llvm::Value *v) {
  llvm::Type *t = v->getType();
  if (t->isPointerTy())
    return b.CreatePtrToInt(v, b.getInt64Ty());
  unsigned bits = t->getPrimitiveSizeInBits();
  if (!t->isIntegerTy())
    v = b.CreateBitCast(v, b.getIntNTy(bits));
  return bits < 64 ? b.CreateZExt(v, b.getInt64Ty()) : v;
}

llvm::Value *Lowering::fromBits(llvm::Value *bits, llvm::Type *t) {
  unsigned n = t->getPrimitiveSizeInBits();
  llvm::Value *v = n < 64 ? b.CreateTrunc(bits, b.getIntNTy(n)) : bits;
  return t->isIntegerTy() ? v : b.CreateBitCast(v, t);
}

llvm::Value *Lowering::warpCall(int32_t op, llvm::Value *mask,
                                std::vector<llvm::Value *> ins, llvm::Type *ret) {
  llvm::Function *f = b.GetInsertBlock()->getParent();
  auto &buf = warpBuffers[f];
  auto *i64 = b.getInt64Ty();
  if (!buf.first) {
    llvm::IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
    buf.first = eb.CreateAlloca(llvm::ArrayType::get(i64, kMaxIn));
    buf.second = eb.CreateAlloca(llvm::ArrayType::get(i64, kMaxOut));
  }
  for (size_t i = 0; i < ins.size(); ++i)
    b.CreateStore(toBits(ins[i]), b.CreateConstInBoundsGEP2_32(buf.first->getAllocatedType(),
                                                               buf.first, 0, i));
  std::vector<llvm::Type *> outs;
  if (auto *st = llvm::dyn_cast<llvm::StructType>(ret))
    outs.assign(st->element_begin(), st->element_end());
  else if (!ret->isVoidTy())
    outs.push_back(ret);
  auto *i32 = b.getInt32Ty();
  auto *ptr = llvm::PointerType::get(ctx, 0);
  b.CreateCall(runtime("__thjit_emu_warp", b.getVoidTy(), {i32, i32, ptr, i32, ptr, i32}),
               {b.getInt32(op), mask, buf.first, b.getInt32(ins.size()), buf.second,
                b.getInt32(outs.size())});
  std::vector<llvm::Value *> vals;
  for (size_t i = 0; i < outs.size(); ++i)
    vals.push_back(fromBits(
        b.CreateLoad(i64, b.CreateConstInBoundsGEP2_32(buf.second->getAllocatedType(),
                                                       buf.second, 0, i)),
        outs[i]));
  if (ret->isVoidTy())
    return nullptr;
  if (!ret->isStructTy())
    return vals[0];
  llvm::Value *r = llvm::PoisonValue::get(ret);
  for (size_t i = 0; i < vals.size(); ++i)
    r = b.CreateInsertValue(r, vals[i], i);
  return r;
}

void Lowering::lowerCalls() {
  std::vector<llvm::CallInst *> calls;
  for (llvm::Function &f : m)
    for (llvm::Instruction &i : llvm::instructions(f))
      if (auto *c = llvm::dyn_cast<llvm::CallInst>(&i))
        if (llvm::Function *callee = c->getCalledFunction())
          if (callee->isDeclaration())
            calls.push_back(c);
  for (llvm::CallInst *c : calls) {
    llvm::Function *callee = c->getCalledFunction();
    llvm::StringRef name = callee->getName();
    if (name.starts_with("__thjit_emu_"))
      continue;
    if (name.starts_with("llvm.nvvm.")) {
      b.SetInsertPoint(c);
      if (!lowerNVVM(c, name))
        problem("unsupported NVVM intrinsic " + name.str());
      continue;
    }
    if (name.starts_with("llvm."))
      continue; // the host back end's (fma, sqrt, memcpy, ...)
    // libdevice's __nv_X or libm's X, run by the host's libm.
    std::string libm = name.starts_with("__nv_") ? name.substr(5).str() : name.str();
    auto it = mathFunctions().find(libm);
    if (it == mathFunctions().end())
      problem("call of external function @" + name.str() +
              " (neither libdevice's with a libm counterpart nor libm's)");
    else
      mathSymbols[name.str()] = it->second;
  }
}

/// Replaces one llvm.nvvm.* call; false when the intrinsic is unknown.
bool Lowering::lowerNVVM(llvm::CallInst *c, llvm::StringRef name) {
  auto *i32 = b.getInt32Ty();
  auto arg = [&](unsigned i) { return c->getArgOperand(i); };
  auto done = [&](llvm::Value *r) {
    if (r)
      c->replaceAllUsesWith(r);
    c->eraseFromParent();
    return true;
  };
  auto barrier = [&](int32_t op, llvm::Value *id, llvm::Value *count, llvm::Value *pred) {
    return done(b.CreateCall(runtime("__thjit_emu_barrier", i32, {i32, i32, i32, i32}),
                             {b.getInt32(op), id ? id : b.getInt32(0),
                              count ? count : b.getInt32(-1), pred ? pred : b.getInt32(0)}));
  };
  llvm::StringRef rest = name;
  if (rest.consume_front("llvm.nvvm.read.ptx.sreg.")) {
    static const std::map<std::string, int32_t> sregs{
        {"tid.x", kTidX},           {"tid.y", kTidY},           {"tid.z", kTidZ},
        {"ntid.x", kNtidX},         {"ntid.y", kNtidY},         {"ntid.z", kNtidZ},
        {"ctaid.x", kCtaidX},       {"ctaid.y", kCtaidY},       {"ctaid.z", kCtaidZ},
        {"nctaid.x", kNctaidX},     {"nctaid.y", kNctaidY},     {"nctaid.z", kNctaidZ},
        {"laneid", kLaneId},        {"warpid", kWarpId},        {"warpsize", kWarpSize},
        {"lanemask.eq", kLanemaskEq}, {"lanemask.le", kLanemaskLe},
        {"lanemask.lt", kLanemaskLt}, {"lanemask.ge", kLanemaskGe},
        {"lanemask.gt", kLanemaskGt}};
    auto it = sregs.find(rest.str());
    if (it == sregs.end() || !c->getType()->isIntegerTy(32))
      return false;
    return done(b.CreateCall(runtime("__thjit_emu_sreg", i32, {i32}), {b.getInt32(it->second)}));
  }
  if (name == "llvm.nvvm.barrier0")
    return barrier(kBarPlain, nullptr, nullptr, nullptr);
  if (name == "llvm.nvvm.barrier0.and")
    return barrier(kBarAnd, nullptr, nullptr, arg(0));
  if (name == "llvm.nvvm.barrier0.or")
    return barrier(kBarOr, nullptr, nullptr, arg(0));
  if (name == "llvm.nvvm.barrier0.popc")
    return barrier(kBarPopc, nullptr, nullptr, arg(0));
  if (name == "llvm.nvvm.barrier.sync" || name == "llvm.nvvm.barrier.n" ||
      name == "llvm.nvvm.bar.sync")
    return barrier(kBarPlain, arg(0), nullptr, nullptr);
  if (name == "llvm.nvvm.barrier" || name == "llvm.nvvm.barrier.sync.cnt")
    return barrier(kBarPlain, arg(0), arg(1), nullptr);
  if (name == "llvm.nvvm.bar.warp.sync")
    return done(warpCall(kWarpSync, arg(0), {}, b.getVoidTy()));
  if (name == "llvm.nvvm.membar.cta")
    return done(nullptr); // a block's threads run on one host thread
  if (name == "llvm.nvvm.membar.gl" || name == "llvm.nvvm.membar.sys" ||
      name.starts_with("llvm.nvvm.fence.sc")) {
    b.CreateFence(llvm::AtomicOrdering::SequentiallyConsistent);
    return done(nullptr);
  }
  // shfl[.sync].{up,down,bfly,idx}.{i32,f32}[p]
  if (rest.consume_front("llvm.nvvm.shfl.")) {
    bool sync = rest.consume_front("sync.");
    int mode = rest.consume_front("up.")     ? kUp
               : rest.consume_front("down.") ? kDown
               : rest.consume_front("bfly.") ? kBfly
               : rest.consume_front("idx.")  ? kIdx
                                             : -1;
    if (mode < 0 || !(rest == "i32" || rest == "f32" || rest == "i32p" || rest == "f32p"))
      return false;
    unsigned first = sync ? 1 : 0;
    int32_t op = kShfl | mode << 8 | (sync ? 0 : kWholeWarp);
    return done(warpCall(op, sync ? arg(0) : b.getInt32(-1),
                         {arg(first), arg(first + 1), arg(first + 2)}, c->getType()));
  }
  if (rest.consume_front("llvm.nvvm.vote.")) {
    int mode = rest.consume_front("all")      ? kAll
               : rest.consume_front("any")    ? kAny
               : rest.consume_front("uni")    ? kUni
               : rest.consume_front("ballot") ? kBallot
                                              : -1;
    bool sync = rest == ".sync";
    if (mode < 0 || !(sync || rest.empty()))
      return false;
    int32_t op = kVote | mode << 8 | (sync ? 0 : kWholeWarp);
    return done(warpCall(op, sync ? arg(0) : b.getInt32(-1), {arg(sync ? 1 : 0)},
                         c->getType()));
  }
  if (rest.consume_front("llvm.nvvm.ldmatrix.sync.aligned.m8n8.x")) {
    int count = rest.consume_front("1") ? 1 : rest.consume_front("2") ? 2
                : rest.consume_front("4")                             ? 4
                                                                      : 0;
    bool trans = rest.consume_front(".trans");
    if (!count || !rest.starts_with(".b16"))
      return false;
    return done(warpCall(kLdMatrix | (count | trans << 4) << 8 | kWholeWarp, b.getInt32(-1),
                         {arg(0)}, c->getType()));
  }
  if (name.starts_with("llvm.nvvm.mma.")) {
    static const std::map<std::string, int> kinds{
        {"llvm.nvvm.mma.m16n8k16.row.col.f32.f32", kM16N8K16F16},
        {"llvm.nvvm.mma.m16n8k16.row.col.bf16", kM16N8K16BF16},
        {"llvm.nvvm.mma.m16n8k8.row.col.f32.f32", kM16N8K8F16},
        {"llvm.nvvm.mma.m16n8k8.row.col.bf16", kM16N8K8BF16},
        {"llvm.nvvm.mma.m16n8k8.row.col.tf32", kM16N8K8TF32},
        {"llvm.nvvm.mma.m8n8k4.row.col.f64", kM8N8K4F64}};
    auto it = kinds.find(name.str());
    if (it == kinds.end() || c->arg_size() != unsigned(mmaInputs(it->second)))
      return false;
    std::vector<llvm::Value *> ins(c->arg_begin(), c->arg_end());
    return done(warpCall(kMma | it->second << 8 | kWholeWarp, b.getInt32(-1), ins, c->getType()));
  }
  if (name == "llvm.nvvm.mulhi.ui") {
    auto *i64 = b.getInt64Ty();
    llvm::Value *product = b.CreateMul(b.CreateZExt(arg(0), i64), b.CreateZExt(arg(1), i64));
    return done(b.CreateTrunc(b.CreateLShr(product, 32), i32));
  }
  if (name == "llvm.nvvm.f2tf32.rna")
    return done(b.CreateCall(runtime("__thjit_emu_f2tf32", i32, {b.getFloatTy()}), {arg(0)}));
  if (name.starts_with("llvm.nvvm.ldg.global.")) {
    auto *align = llvm::dyn_cast<llvm::ConstantInt>(arg(1));
    return done(b.CreateAlignedLoad(c->getType(), arg(0),
                                    llvm::MaybeAlign(align ? align->getZExtValue() : 1)));
  }
  return false;
}

/// fptrunc float -> bfloat, done with integers (round to nearest even,
/// NaN kept quiet): hosts without native bf16 conversion would otherwise
/// need __truncsfbf2, which older runtime libraries lack.
void Lowering::lowerBF16Truncs() {
  std::vector<llvm::FPTruncInst *> truncs;
  for (llvm::Function &f : m)
    for (llvm::Instruction &i : llvm::instructions(f))
      if (auto *t = llvm::dyn_cast<llvm::FPTruncInst>(&i))
        if (t->getType()->isBFloatTy() && t->getOperand(0)->getType()->isFloatTy())
          truncs.push_back(t);
  for (llvm::FPTruncInst *t : truncs) {
    b.SetInsertPoint(t);
    llvm::Value *x = t->getOperand(0);
    llvm::Value *u = b.CreateBitCast(x, b.getInt32Ty());
    llvm::Value *lsb = b.CreateAnd(b.CreateLShr(u, 16), 1);
    llvm::Value *rounded = b.CreateLShr(b.CreateAdd(u, b.CreateAdd(lsb, b.getInt32(0x7fff))), 16);
    llvm::Value *nan = b.CreateOr(b.CreateLShr(u, 16), 0x40);
    llvm::Value *r = b.CreateSelect(b.CreateFCmpUNO(x, x), nan, rounded);
    t->replaceAllUsesWith(b.CreateBitCast(b.CreateTrunc(r, b.getInt16Ty()), b.getBFloatTy()));
    t->eraseFromParent();
  }
}

/// One wrapper per kernel: void entry(const uint64_t *slots) calls the
/// kernel with parameter i read from slot i.
void Lowering::makeEntries() {
  auto *ptr = llvm::PointerType::get(ctx, 0);
  for (size_t k = 0; k < kernels.size(); ++k) {
    llvm::Function *kernel = m.getFunction(kernels[k].name);
    kernels[k].entryName = "__thjit_emu_entry_" + std::to_string(k);
    auto *entry = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), {ptr}, false),
                                         llvm::Function::ExternalLinkage,
                                         kernels[k].entryName, &m);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entry));
    std::vector<llvm::Value *> args;
    for (llvm::Argument &a : kernel->args())
      args.push_back(b.CreateAlignedLoad(
          a.getType(), b.CreateConstInBoundsGEP1_32(b.getInt64Ty(), entry->getArg(0), a.getArgNo()),
          llvm::Align(8)));
    b.CreateCall(kernel, args);
    b.CreateRetVoid();
  }
}

std::once_flag gInitOnce;

} // namespace

//===----------------------------------------------------------------------===//
// GPUEmulator
//===----------------------------------------------------------------------===//

struct GPUEmulator::Impl {
  Options options;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<KernelInfo> kernels;
  size_t staticShared = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  EmulatorStats stats;

  void runBlocks(Worker &w, const LaunchState &L, std::atomic<uint64_t> &next,
                 std::atomic<bool> &stop, uint64_t &failedBlock, std::string &error);
  static void runBlock(Worker &w);
};

GPUEmulator::GPUEmulator() : GPUEmulator(Options{}) {}
GPUEmulator::GPUEmulator(Options options) : impl(std::make_unique<Impl>()) {
  impl->options = options;
}
GPUEmulator::~GPUEmulator() = default;

void GPUEmulator::loadIR(const std::string &text) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(text, diag, *ctx);
  if (!m) {
    std::string msg;
    llvm::raw_string_ostream os(msg);
    diag.print("GPUEmulator", os);
    throw EmulatorError("GPU emulator: cannot parse the IR: " + msg);
  }
  loadModule(std::move(m), std::move(ctx));
}

void GPUEmulator::loadModule(std::unique_ptr<llvm::Module> m,
                             std::unique_ptr<llvm::LLVMContext> ctx) {
  if (impl->jit)
    throw EmulatorError("GPU emulator: a module is already loaded");
  std::call_once(gInitOnce, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    throw EmulatorError("GPU emulator: cannot create a JIT: " + llvm::toString(jit.takeError()));
  Lowering lowering(*m);
  lowering.run((*jit)->getDataLayout(), (*jit)->getTargetTriple().str());
  if (impl->options.optimizeHost) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb;
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(*m, mam);
  }

  llvm::orc::JITDylib &jd = (*jit)->getMainJITDylib();
  llvm::orc::SymbolMap symbols;
  auto add = [&](const std::string &name, void *p) {
    symbols[(*jit)->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(p),
                                              llvm::JITSymbolFlags::Exported};
  };
  add("__thjit_emu_sreg", reinterpret_cast<void *>(&thjitEmuSreg));
  add("__thjit_emu_barrier", reinterpret_cast<void *>(&thjitEmuBarrier));
  add("__thjit_emu_warp", reinterpret_cast<void *>(&thjitEmuWarp));
  add("__thjit_emu_shared", reinterpret_cast<void *>(&thjitEmuShared));
  add("__thjit_emu_f2tf32", reinterpret_cast<void *>(&thjitEmuF2tf32));
  for (auto &[name, p] : lowering.mathSymbols)
    add(name, p);
  if (auto err = jd.define(llvm::orc::absoluteSymbols(std::move(symbols))))
    throw EmulatorError("GPU emulator: " + llvm::toString(std::move(err)));
  // What the host back end calls by itself (memcpy, fmaf, __truncsfhf2...).
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!gen)
    throw EmulatorError("GPU emulator: " + llvm::toString(gen.takeError()));
  jd.addGenerator(std::move(*gen));
  if (auto err = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx))))
    throw EmulatorError("GPU emulator: " + llvm::toString(std::move(err)));
  // Compile everything now: errors belong to loading, not to a launch.
  for (KernelInfo &k : lowering.kernels) {
    auto addr = (*jit)->lookup(k.entryName);
    if (!addr)
      throw EmulatorError("GPU emulator: cannot compile kernel " + k.name + ": " +
                          llvm::toString(addr.takeError()));
    k.entry = addr->toPtr<void (*)(const uint64_t *)>();
  }
  impl->kernels = std::move(lowering.kernels);
  impl->staticShared = lowering.staticShared;
  impl->jit = std::move(*jit);
}

std::vector<std::string> GPUEmulator::kernels() const {
  std::vector<std::string> names;
  for (const KernelInfo &k : impl->kernels)
    names.push_back(k.name);
  return names;
}

size_t GPUEmulator::staticSharedBytes() const { return impl->staticShared; }

const EmulatorStats &GPUEmulator::stats() const { return impl->stats; }

namespace {

void fiberMain(void *) {
  Worker &w = *tWorker;
#ifdef THJIT_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w.scheduler.stackBottom, &w.scheduler.stackSize);
#endif
  Fiber &f = *w.current;
  w.L->entry(w.L->slots);
  f.state = FState::Done;
  yield();
  __builtin_unreachable();
}

} // namespace

/// Runs the block w.ctaid to completion or failure.
void GPUEmulator::Impl::runBlock(Worker &w) {
  const LaunchState &L = *w.L;
  std::memset(w.shared, L.sharedFill, L.sharedBytes);
  w.ready.clear();
  for (WarpState &ws : w.warps)
    ws.pending.clear();
  w.barArrived = 0;
  for (unsigned i : w.order) {
    Fiber &f = w.fibers[i];
    f.state = FState::Ready;
    f.waitWhat = nullptr;
    makeFiber(f.ctx, f.stack, fiberMain, &f);
    w.ready.push_back(i);
  }
  while (!w.ready.empty() && !w.failed) {
    Fiber &f = w.fibers[w.ready.front()];
    w.ready.pop_front();
    w.current = &f;
    switchTo(w.scheduler, f.ctx);
  }
  ++w.stats.blocks;
  w.stats.threads += L.threads;
  if (w.failed)
    return;
  // Nothing is ready, yet some have not finished: a deadlock.
  unsigned atBarrier = 0, done = 0;
  std::string warps;
  for (const Fiber &f : w.fibers) {
    if (f.state == FState::AtBarrier)
      ++atBarrier;
    else if (f.state == FState::Done)
      ++done;
  }
  if (done == L.threads)
    return;
  for (size_t i = 0; i < w.warps.size(); ++i)
    for (const Pending &p : w.warps[i].pending)
      warps += "; warp " + std::to_string(i) + ": lanes " + hex(p.arrived) + " wait at " +
               warpOpName(p.op) + " for lanes " + hex(p.mask & ~p.arrived) + " (mask " +
               hex(p.mask) + ")";
  std::ostringstream os;
  os << "block (" << w.ctaid[0] << ", " << w.ctaid[1] << ", " << w.ctaid[2]
     << "): deadlock: " << atBarrier << " threads wait at a barrier, " << done
     << " have exited, " << (L.threads - atBarrier - done)
     << " wait at warp collectives" << warps;
  w.failed = true;
  w.error = os.str();
}

void GPUEmulator::Impl::runBlocks(Worker &w, const LaunchState &L, std::atomic<uint64_t> &next,
                                  std::atomic<bool> &stop, uint64_t &failedBlock,
                                  std::string &error) {
  tWorker = &w;
  w.L = &L;
  // Fibers for this block shape (stacks are kept between launches).
  if (w.fibers.size() != L.threads || w.stackBytes != options.stackBytes) {
    for (Fiber &f : w.fibers)
      f.stack.release();
    w.fibers = std::vector<Fiber>(L.threads);
    for (Fiber &f : w.fibers)
      f.stack.allocate(options.stackBytes);
    w.stackBytes = options.stackBytes;
  }
  w.warps.assign((L.threads + 31) / 32, WarpState{});
  for (unsigned i = 0; i < L.threads; ++i) {
    Fiber &f = w.fibers[i];
    f.linear = i;
    f.tid[0] = i % L.block.x;
    f.tid[1] = i / L.block.x % L.block.y;
    f.tid[2] = i / (L.block.x * L.block.y);
    f.warp = i / 32;
    f.lane = i % 32;
    w.warps[f.warp].lanes |= 1u << f.lane;
  }
  w.order.resize(L.threads);
  for (unsigned i = 0; i < L.threads; ++i)
    w.order[i] = L.reverse ? L.threads - 1 - i : i;
  w.sharedBuffer.assign(L.sharedBytes / 8 + 9, 0);
  w.shared = reinterpret_cast<char *>(
      (reinterpret_cast<uintptr_t>(w.sharedBuffer.data()) + 63) & ~uintptr_t(63));
  const uint64_t total = uint64_t(L.grid.x) * L.grid.y * L.grid.z;
  for (uint64_t b; !stop && (b = next++) < total;) {
    w.ctaid[0] = b % L.grid.x;
    w.ctaid[1] = b / L.grid.x % L.grid.y;
    w.ctaid[2] = b / (uint64_t(L.grid.x) * L.grid.y);
    w.failed = false;
    w.error.clear();
    runBlock(w);
    if (w.failed) {
      // Keep the failure of the first block in grid order.
      static std::mutex mutex;
      std::lock_guard<std::mutex> lock(mutex);
      if (b < failedBlock) {
        failedBlock = b;
        error = w.error;
      }
      stop = true;
    }
  }
  tWorker = nullptr;
}

namespace {
/// The kernel named `kernel`, or EmulatorError.
const KernelInfo &findKernel(const std::vector<KernelInfo> &kernels,
                             const std::string &kernel) {
  auto it = std::find_if(kernels.begin(), kernels.end(),
                         [&](const KernelInfo &k) { return k.name == kernel; });
  if (it == kernels.end())
    throw EmulatorError("GPU emulator: no kernel " + kernel + " in the module");
  return *it;
}
} // namespace

void GPUEmulator::launchParams(const std::string &kernel, Dim3 grid, Dim3 block,
                               size_t dynamicSharedBytes, void *const *params) {
  const KernelInfo &k = findKernel(impl->kernels, kernel);
  std::vector<KernelArg> args;
  for (size_t i = 0; i < k.params.size(); ++i) {
    auto [kind, bits] = k.params[i];
    const void *p = params[i];
    switch (kind) {
    case 'p':
      args.emplace_back(*static_cast<void *const *>(p));
      break;
    case 'i': {
      uint64_t v = 0; // read as unsigned: launch() range-checks it
      std::memcpy(&v, p, (bits + 7) / 8);
      args.emplace_back(v);
      break;
    }
    case 'f':
      args.emplace_back(*static_cast<const float *>(p));
      break;
    default:
      args.emplace_back(*static_cast<const double *>(p));
    }
  }
  launch(kernel, grid, block, dynamicSharedBytes, args);
}

void GPUEmulator::launch(const std::string &kernel, Dim3 grid, Dim3 block,
                         size_t dynamicSharedBytes, const std::vector<KernelArg> &args) {
  const KernelInfo &k = findKernel(impl->kernels, kernel);
  auto bad = [&](const std::string &why) {
    throw EmulatorError("GPU emulator: launch of " + kernel + ": " + why);
  };
  if (args.size() != k.params.size())
    bad(std::to_string(args.size()) + " arguments for " + std::to_string(k.params.size()) +
        " parameters");
  std::vector<uint64_t> slots(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const KernelArg &a = args[i];
    auto [kind, bits] = k.params[i];
    const std::string which = "argument " + std::to_string(i);
    switch (kind) {
    case 'p':
      if (a.kind != KernelArg::Kind::Pointer)
        bad(which + " must be a pointer");
      slots[i] = a.bits;
      break;
    case 'i': {
      if (a.kind != KernelArg::Kind::Int)
        bad(which + " must be an integer (i" + std::to_string(bits) + ")");
      if (bits < 64) {
        int64_t s = int64_t(a.bits);
        bool fitsSigned = a.isSigned && s >= -(int64_t(1) << (bits - 1)) &&
                          s < (int64_t(1) << (bits - 1));
        bool fitsUnsigned = (!a.isSigned || s >= 0) && a.bits < (uint64_t(1) << bits);
        if (!fitsSigned && !fitsUnsigned)
          bad(which + " does not fit in i" + std::to_string(bits));
      }
      slots[i] = a.bits;
      break;
    }
    case 'f':
      if (a.kind != KernelArg::Kind::Float)
        bad(which + " must be a float");
      std::memcpy(&slots[i], &a.f32, 4);
      break;
    default:
      if (a.kind != KernelArg::Kind::Double)
        bad(which + " must be a double");
      std::memcpy(&slots[i], &a.f64, 8);
      break;
    }
  }
  if (!grid.x || !grid.y || !grid.z || !block.x || !block.y || !block.z)
    bad("a grid or block dimension is 0");
  if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    bad("the grid is larger than CUDA allows");
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (threads > 1024 || block.z > 64)
    bad("the block is larger than CUDA allows");
  const unsigned dims[3] = {block.x, block.y, block.z};
  for (int d = 0; d < 3; ++d) {
    if (k.maxntid[d] && dims[d] > k.maxntid[d])
      bad("the block exceeds the kernel's maxntid");
    if (k.reqntid[d] && dims[d] != k.reqntid[d])
      bad("the block is not the kernel's reqntid");
  }
  if (impl->staticShared + dynamicSharedBytes > impl->options.maxSharedBytes)
    bad("too much shared memory (" + std::to_string(impl->staticShared + dynamicSharedBytes) +
        " bytes)");

  LaunchState L;
  L.entry = k.entry;
  L.slots = slots.data();
  L.grid = grid;
  L.block = block;
  L.threads = unsigned(threads);
  L.sharedBytes = impl->staticShared + dynamicSharedBytes;
  L.sharedFill = impl->options.sharedFill;
  L.reverse = impl->options.reverse;

  const uint64_t total = uint64_t(grid.x) * grid.y * grid.z;
  unsigned n = impl->options.hostThreads ? impl->options.hostThreads
                                         : std::max(1u, std::thread::hardware_concurrency());
  n = unsigned(std::min<uint64_t>(n, total));
  while (impl->workers.size() < n)
    impl->workers.push_back(std::make_unique<Worker>());
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
  uint64_t failedBlock = UINT64_MAX;
  std::string error;
  for (auto &w : impl->workers)
    w->stats = {};
  if (n == 1) {
    impl->runBlocks(*impl->workers[0], L, next, stop, failedBlock, error);
  } else {
    std::vector<std::thread> threadsRunning;
    for (unsigned i = 0; i < n; ++i)
      threadsRunning.emplace_back([&, i] {
        impl->runBlocks(*impl->workers[i], L, next, stop, failedBlock, error);
      });
    for (std::thread &t : threadsRunning)
      t.join();
  }
  for (auto &w : impl->workers) {
    impl->stats.blocks += w->stats.blocks;
    impl->stats.threads += w->stats.threads;
    impl->stats.barriers += w->stats.barriers;
    impl->stats.collectives += w->stats.collectives;
  }
  if (failedBlock != UINT64_MAX)
    throw EmulatorError("GPU emulator: " + kernel + ": " + error);
}

} // namespace thjit::test
