//===- thjit/Support/ThreadPool.h - Parallel loops for JIT code -*- C++ -*-===//
///
/// \file
/// The runtime thread pool that JIT-compiled kernels call to run a loop in
/// parallel, after Halide's do_par_for: the kernel outlines the loop body as a
/// function over a range [begin, end) and calls thjit_parallel_for, which
/// splits [0, n) into contiguous chunks and runs them on the pool's workers and
/// on the calling thread.
///
/// The pool is process-wide and created lazily on the first parallel call.
/// Idle workers sleep on a condition variable (after a very short spin), so
/// they do not compete with OpenBLAS's own threads. Only one parallelFor at a
/// time uses the pool; a call made while it is busy, a nested call (from
/// inside a chunk), or a loop too small to split runs inline on the caller.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_SUPPORT_THREADPOOL_H
#define THJIT_SUPPORT_THREADPOOL_H

#include <cstdint>

namespace thjit {

/// A chunk of work: processes [begin, end) and returns 0, or a nonzero status
/// that stops the loop (chunks not yet started are skipped).
using ParallelBody = int32_t (*)(void *closure, int64_t begin, int64_t end);

/// Threads that a parallel loop uses, the caller included: the value given to
/// setNumThreads, else THJIT_NUM_THREADS, else hardware_concurrency(). Always
/// in [1, kMaxThreads]. An invalid THJIT_NUM_THREADS prints one warning to
/// stderr and the default is used.
int numThreads();

/// Sets numThreads() at run time; n < 1 means 1, n > kMaxThreads means
/// kMaxThreads. The pool grows on its next parallel loop if needed.
void setNumThreads(int n);

/// Upper bound on numThreads(), against typos such as THJIT_NUM_THREADS=80000.
constexpr int kMaxThreads = 1024;

/// Parses a THJIT_NUM_THREADS value: a positive decimal integer (digits only,
/// values above kMaxThreads clamp to it). Returns \p fallback when \p text is
/// null, empty or invalid. Prints nothing.
int parseNumThreads(const char *text, int fallback);

/// Runs fn over [0, n) in contiguous chunks of at least max(grain, 1)
/// elements, each index exactly once, on up to numThreads() threads (the
/// caller included). n <= 0 calls nothing and returns 0. Runs fn(closure, 0, n)
/// inline on the caller when n < 2 * grain, numThreads() == 1, the call is
/// nested inside a parallel loop, or another thread's loop is using the pool.
///
/// Returns 0 when every chunk returned 0. Otherwise returns the status of the
/// lowest-indexed chunk that ran and failed; once a chunk fails, chunks not
/// yet started are skipped. An exception escaping fn counts as status -1.
int32_t parallelFor(ParallelBody fn, void *closure, int64_t n, int64_t grain);

} // namespace thjit

/// The entry point JIT code calls; the same as thjit::parallelFor.
extern "C" int32_t thjit_parallel_for(thjit::ParallelBody fn, void *closure,
                                      int64_t n, int64_t grain);

#endif // THJIT_SUPPORT_THREADPOOL_H
