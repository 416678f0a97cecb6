//===- benchmarks/baselines.cpp - Hand-written C baselines ----------------===//
#include "baselines.h"

#include <algorithm>
#include <chrono>

namespace bench {

Team::Team(int threads) : numThreads(std::max(threads, 1)) {
  for (int i = 1; i < numThreads; ++i)
    workers.emplace_back(&Team::worker, this, i);
}

Team::~Team() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stop = true;
    generation.fetch_add(1);
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

static void chunkBounds(int64_t n, int chunks, int c, int64_t &begin, int64_t &end) {
  // 8 doubles = one cache line: chunk boundaries never split a line.
  int64_t lines = (n + 7) / 8;
  int64_t per = lines / chunks, extra = lines % chunks;
  int64_t first = c * per + std::min<int64_t>(c, extra);
  begin = std::min(n, first * 8);
  end = std::min(n, (first + per + (c < extra ? 1 : 0)) * 8);
}

static inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void Team::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin up to 50 us for the next call, then sleep.
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (int i = 0; generation.load(std::memory_order_acquire) == seen; ++i) {
      relax();
      if ((i & 63) == 0 && std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation.load() != seen; });
        break;
      }
    }
    seen = generation.load(std::memory_order_acquire);
    if (stop.load())
      return;
    int64_t b, e;
    chunkBounds(jobN, numThreads, index, b, e);
    if (b < e)
      (*job)(index, b, e);
    pending.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void Team::run(int64_t n,
               const std::function<void(int, int64_t, int64_t)> &body) {
  if (numThreads == 1 || n < 4096) {
    body(0, 0, n);
    return;
  }
  job = &body;
  jobN = n;
  pending.store(numThreads - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex); // pairs with the sleepers' wait
    generation.fetch_add(1, std::memory_order_release);
  }
  wake.notify_all();
  int64_t b, e;
  chunkBounds(n, numThreads, 0, b, e);
  if (b < e)
    body(0, b, e);
  // A worker the OS has not scheduled yet gets our core after a while.
  for (int i = 0; pending.load(std::memory_order_acquire) != 0; ++i)
    if (i % 1024 == 1023)
      std::this_thread::yield();
    else
      relax();
  job = nullptr;
}

void formulaF1(const double *__restrict a, const double *__restrict b,
               double *__restrict out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = a[i] * a[i] + b[i] * b[i] + 2.0 * a[i] * b[i];
}
void formulaF2(const double *__restrict a, const double *__restrict b,
               double *__restrict out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = 2.0 * a[i] + 3.0 * b[i];
}
void formulaF3(const double *__restrict a, const double *__restrict,
               double *__restrict out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = a[i] + 1.0;
}
void formulaF4(const double *__restrict a, const double *__restrict b,
               double *__restrict out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    double b2 = b[i] * b[i], b4 = b2 * b2, b8 = b4 * b4;
    out[i] = 2.0 * a[i] + b8 * b2;
  }
}

void triad(double *__restrict a, const double *__restrict b,
           const double *__restrict c, double s, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    a[i] = b[i] + s * c[i];
}

double plainSum(const double *__restrict x, int64_t begin, int64_t end) {
  // Eight independent accumulators, so the loop is bound by memory, not by
  // the latency of one chain of additions.
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int k = 0; k < 8; ++k)
      acc[k] += x[i + k];
  for (; i < end; ++i)
    acc[0] += x[i];
  double s = 0;
  for (double v : acc)
    s += v;
  return s;
}

} // namespace bench
