//===- ThreadPool.cpp - Parallel loops for JIT code -----------------------===//
//
// One process-wide pool of numThreads() - 1 workers. A parallelFor first takes
// the pool's `busy` flag (others that find it taken run inline), publishes a
// Job under the mutex and bumps `generation`, then works on the job itself.
// Chunks are claimed from an atomic counter, so fast threads take more of them.
// When the caller runs out of chunks it closes the job (workers that wake up
// later skip it) and waits only for the workers still inside it, because the
// Job lives on the caller's stack. So a worker that the OS has not scheduled
// yet never delays the loop.
//
//===----------------------------------------------------------------------===//
#include "thjit/Support/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <thread>
#include <vector>

namespace thjit {
namespace {

// A short spin before sleeping catches the next loop of a kernel that runs
// several in a row without the cost of a futex wake-up. It is kept short (at
// most some tens of microseconds) so idle workers soon stop using a core.
constexpr int kSpinIterations = 1000;
// More chunks than threads, so a thread delayed by the OS (or by OpenBLAS's
// threads) does not hold everyone up.
constexpr int64_t kChunksPerThread = 4;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Set while this thread runs chunks of a pooled loop (always on workers), so
// nested calls run inline instead of waiting on a pool that they occupy.
thread_local bool inParallelLoop = false;

int32_t callBody(ParallelBody fn, void *closure, int64_t b, int64_t e) {
  try {
    return fn(closure, b, e);
  } catch (...) { // JIT code never throws, but a C++ body might.
    return -1;
  }
}

struct Job {
  Job(ParallelBody fn, void *closure, int64_t n, int64_t numChunks)
      : fn(fn), closure(closure), numChunks(numChunks), base(n / numChunks),
        extra(n % numChunks) {}

  ParallelBody fn;
  void *closure;
  int64_t numChunks, base, extra; // chunk c has base + (c < extra) elements
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failMutex;
  int64_t failChunk = INT64_MAX;
  int32_t failStatus = 0;

  void run() {
    while (!failed.load(std::memory_order_relaxed)) {
      int64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= numChunks)
        return;
      int64_t begin = c * base + std::min(c, extra);
      int64_t end = begin + base + (c < extra ? 1 : 0);
      if (int32_t status = callBody(fn, closure, begin, end)) {
        std::lock_guard<std::mutex> lock(failMutex);
        if (c < failChunk) {
          failChunk = c;
          failStatus = status;
        }
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
};

struct Pool {
  std::mutex mutex;
  std::condition_variable wake; // workers wait here for a new generation
  std::condition_variable done; // the caller waits here for `running` == 0
  std::atomic<uint64_t> generation{0};
  Job *job = nullptr;   // guarded by mutex; null once the caller closed it
  size_t enlisted = 0;  // guarded by mutex; workers with index < enlisted help
  std::atomic<int> running{0}; // workers inside *job; raised under mutex
  std::vector<std::thread> workers; // touched only by the busy flag's owner

  void workerLoop(size_t index, uint64_t seen) {
    inParallelLoop = true;
    for (;;) {
      for (int i = 0; i < kSpinIterations &&
                      generation.load(std::memory_order_relaxed) == seen;
           ++i)
        cpuRelax();
      Job *current;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation.load() != seen; });
        seen = generation.load();
        if (!job || index >= enlisted)
          continue; // closed already, or numThreads() shrank: sit it out
        current = job;
        running.fetch_add(1, std::memory_order_relaxed);
      }
      current->run();
      if (running.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Locking orders this against the caller's predicate check, so the
        // notification cannot slip in between its check and its wait.
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
    }
  }

  // Starts workers up to `wanted`; keeps what it has if the OS refuses more.
  void grow(size_t wanted) {
    while (workers.size() < wanted) {
      try {
        workers.emplace_back(&Pool::workerLoop, this, workers.size(),
                             generation.load());
      } catch (const std::system_error &) {
        return;
      }
    }
  }
};

std::atomic<bool> poolBusy{false};
// The pool is leaked on purpose: its workers sleep in a condition variable
// until the process ends, and nothing runs at exit that could deadlock
// joining them (e.g. exit() called from a chunk, or a static destructor that
// runs a loop after the pool would have been destroyed). Only the owner of
// poolBusy reads or writes this pointer.
Pool *thePool = nullptr;

// After fork() the child has no workers; forget the old pool (leaking it) so
// the child's first parallel loop starts a fresh one.
void resetPoolInChild() {
  thePool = nullptr;
  poolBusy.store(false);
}

std::atomic<int> configuredThreads{0}; // 0: not set by setNumThreads

int defaultNumThreads() {
  static const int value = [] {
    int hw = std::max(1, std::min<int>(std::thread::hardware_concurrency(),
                                       kMaxThreads));
    const char *env = std::getenv("THJIT_NUM_THREADS");
    if (env && *env && parseNumThreads(env, 0) == 0)
      std::fprintf(stderr,
                   "thjit: warning: ignoring THJIT_NUM_THREADS='%s' (not a "
                   "positive integer); using %d threads\n",
                   env, hw);
    return parseNumThreads(env, hw);
  }();
  return value;
}

} // namespace

int parseNumThreads(const char *text, int fallback) {
  if (!text || !*text)
    return fallback;
  long long value = 0;
  for (const char *p = text; *p; ++p) {
    if (*p < '0' || *p > '9')
      return fallback;
    value = std::min<long long>(value * 10 + (*p - '0'), kMaxThreads + 1LL);
  }
  if (value < 1)
    return fallback;
  return static_cast<int>(std::min<long long>(value, kMaxThreads));
}

int numThreads() {
  int n = configuredThreads.load(std::memory_order_relaxed);
  return n > 0 ? n : defaultNumThreads();
}

void setNumThreads(int n) {
  configuredThreads.store(std::clamp(n, 1, kMaxThreads),
                          std::memory_order_relaxed);
}

int32_t parallelFor(ParallelBody fn, void *closure, int64_t n, int64_t grain) {
  if (n <= 0)
    return 0;
  grain = std::max<int64_t>(grain, 1);
  int threads = numThreads();
  // Every chunk has at least `grain` elements: n / numChunks >= grain.
  int64_t numChunks = std::min<int64_t>(n / grain, threads * kChunksPerThread);
  if (numChunks < 2 || threads == 1 || inParallelLoop ||
      poolBusy.exchange(true, std::memory_order_acquire))
    return callBody(fn, closure, 0, n);

  if (!thePool) {
    static std::once_flag atforkOnce;
    std::call_once(atforkOnce,
                   [] { pthread_atfork(nullptr, nullptr, resetPoolInChild); });
    thePool = new Pool;
  }
  Pool &pool = *thePool;
  pool.grow(static_cast<size_t>(threads - 1));

  Job job(fn, closure, n, numChunks);
  size_t enlisted = std::min({pool.workers.size(), size_t(threads - 1),
                              size_t(numChunks - 1)});
  if (enlisted > 0) {
    {
      std::lock_guard<std::mutex> lock(pool.mutex);
      pool.job = &job;
      pool.enlisted = enlisted;
      pool.generation.fetch_add(1);
    }
    pool.wake.notify_all();
  }

  inParallelLoop = true;
  job.run();
  inParallelLoop = false;

  if (enlisted > 0) {
    {
      std::lock_guard<std::mutex> lock(pool.mutex);
      pool.job = nullptr; // from now on `running` only goes down
    }
    for (int i = 0; i < kSpinIterations &&
                    pool.running.load(std::memory_order_acquire) != 0;
         ++i)
      cpuRelax();
    std::unique_lock<std::mutex> lock(pool.mutex);
    pool.done.wait(lock, [&] { return pool.running.load() == 0; });
  }
  poolBusy.store(false, std::memory_order_release);
  // Every worker that joined has left (each released `running`, acquired
  // above), so their chunks' writes and the failure fields are visible.
  return job.failed.load() ? job.failStatus : 0;
}

} // namespace thjit

extern "C" int32_t thjit_parallel_for(thjit::ParallelBody fn, void *closure,
                                      int64_t n, int64_t grain) {
  return thjit::parallelFor(fn, closure, n, grain);
}
