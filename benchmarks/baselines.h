//===- benchmarks/baselines.h - Hand-written C baselines --------*- C++ -*-===//
///
/// \file
/// The loops thjit is measured against, compiled with the project's flags:
/// the STREAM triad (the bandwidth yardstick), hand-fused formula loops, a
/// plain sum, and scalar libm loops (scalar_libm.cpp, built with
/// -fno-tree-vectorize). Parallel baselines run on Team, a small pool of
/// plain std::threads independent of thjit's own pool, with the same number
/// of threads (the caller included) and one contiguous chunk per thread.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_BENCHMARKS_BASELINES_H
#define THJIT_BENCHMARKS_BASELINES_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bench {

/// n-1 worker threads plus the caller; run() splits [0, n) into one
/// contiguous chunk per thread (64-byte aligned boundaries) and returns when
/// all are done. Between calls a worker spins for up to 50 us (so calls in
/// a row do not pay for a wake-up, as with thjit's pool), then sleeps on a
/// condition variable.
class Team {
public:
  explicit Team(int threads);
  ~Team();
  Team(const Team &) = delete;
  Team &operator=(const Team &) = delete;
  int size() const { return numThreads; }
  /// body(begin, end) on every chunk; partial results by chunk index.
  void run(int64_t n, const std::function<void(int chunk, int64_t, int64_t)> &body);

private:
  void worker(int index);
  int numThreads;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<bool> stop{false};
  int64_t jobN = 0;
  const std::function<void(int, int64_t, int64_t)> *job = nullptr;
};

// Formulas of the seed paper's Figure 7, hand-fused (one pass).
using FormulaFn = void (*)(const double *a, const double *b, double *out,
                           int64_t begin, int64_t end);
void formulaF1(const double *a, const double *b, double *out, int64_t begin, int64_t end);
void formulaF2(const double *a, const double *b, double *out, int64_t begin, int64_t end);
void formulaF3(const double *a, const double *b, double *out, int64_t begin, int64_t end);
void formulaF4(const double *a, const double *b, double *out, int64_t begin, int64_t end);

/// STREAM triad a[i] = b[i] + s * c[i] over [begin, end).
void triad(double *a, const double *b, const double *c, double s,
           int64_t begin, int64_t end);
/// Plain sum of x[begin, end) (vectorized by the compiler with several
/// accumulators where allowed).
double plainSum(const double *x, int64_t begin, int64_t end);

/// Scalar libm loops: out[i] = expf(x[i]) / tanhf(x[i]), one call each.
using UnaryF32Fn = void (*)(const float *x, float *out, int64_t begin, int64_t end);
void scalarExpf(const float *x, float *out, int64_t begin, int64_t end);
void scalarTanhf(const float *x, float *out, int64_t begin, int64_t end);

} // namespace bench

#endif
