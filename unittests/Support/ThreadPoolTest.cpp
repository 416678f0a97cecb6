//===- ThreadPoolTest.cpp - Parallel loops for JIT code -------------------===//
#include "thjit/Support/ThreadPool.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

using namespace thjit;

namespace {

/// Counts visits of every index and records the chunks fn was called with.
struct Visits {
  explicit Visits(int64_t n) : counts(static_cast<size_t>(n)) {}
  std::vector<std::atomic<int>> counts;
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  std::vector<std::thread::id> threads;
};

int32_t visitBody(void *closure, int64_t begin, int64_t end) {
  auto *v = static_cast<Visits *>(closure);
  for (int64_t i = begin; i < end; ++i)
    v->counts[static_cast<size_t>(i)].fetch_add(1);
  std::lock_guard<std::mutex> lock(v->mutex);
  v->chunks.emplace_back(begin, end);
  v->threads.push_back(std::this_thread::get_id());
  return 0;
}

/// Restores a known thread count after a test changes it.
struct ThreadsGuard {
  ~ThreadsGuard() { setNumThreads(4); }
};

} // namespace

TEST_CASE("parallelFor visits every index once in contiguous chunks",
          "[threadpool]") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 4, 8})
    for (int64_t n : {0, 1, 2, 5, 7, 100, 1000, 1001, 4097})
      for (int64_t grain : {-3, 0, 1, 3, 10, 64, 5000}) {
        CAPTURE(threads, n, grain);
        setNumThreads(threads);
        Visits v(n);
        REQUIRE(parallelFor(visitBody, &v, n, grain) == 0);
        for (auto &c : v.counts)
          REQUIRE(c.load() == 1);
        if (n == 0) {
          CHECK(v.chunks.empty());
          continue;
        }
        // Sorted chunks tile [0, n); each has >= grain elements unless the
        // loop ran as one inline chunk.
        std::sort(v.chunks.begin(), v.chunks.end());
        int64_t expectBegin = 0;
        for (auto [b, e] : v.chunks) {
          CHECK(b == expectBegin);
          CHECK(b < e);
          if (v.chunks.size() > 1)
            CHECK(e - b >= std::max<int64_t>(grain, 1));
          expectBegin = e;
        }
        CHECK(expectBegin == n);
        if (threads == 1 || n <= std::max<int64_t>(grain, 1))
          CHECK(v.chunks.size() == 1);
        // At most a few chunks per thread.
        CHECK(v.chunks.size() <= static_cast<size_t>(threads) * 4);
      }
}

TEST_CASE("thjit_parallel_for is the C entry point", "[threadpool]") {
  ThreadsGuard guard;
  setNumThreads(3);
  Visits v(777);
  REQUIRE(thjit_parallel_for(visitBody, &v, 777, 5) == 0);
  for (auto &c : v.counts)
    CHECK(c.load() == 1);
}

TEST_CASE("setNumThreads(1) runs inline on the caller", "[threadpool]") {
  ThreadsGuard guard;
  setNumThreads(1);
  CHECK(numThreads() == 1);
  Visits v(10000);
  REQUIRE(parallelFor(visitBody, &v, 10000, 1) == 0);
  REQUIRE(v.chunks.size() == 1);
  CHECK(v.chunks[0] == std::make_pair<int64_t, int64_t>(0, 10000));
  CHECK(v.threads[0] == std::this_thread::get_id());

  setNumThreads(0);
  CHECK(numThreads() == 1);
  setNumThreads(-7);
  CHECK(numThreads() == 1);
  setNumThreads(1 << 20); // clamped; no loop runs with it
  CHECK(numThreads() == kMaxThreads);
}

TEST_CASE("a small loop runs inline on the caller", "[threadpool]") {
  ThreadsGuard guard;
  setNumThreads(4);
  Visits v(50);
  REQUIRE(parallelFor(visitBody, &v, 50, 50) == 0);
  REQUIRE(v.chunks.size() == 1);
  CHECK(v.threads[0] == std::this_thread::get_id());
}

namespace {
struct FailState {
  int64_t badIndex; // -1: every chunk fails, chunk 0 with 101, others 102
};
int32_t failBody(void *closure, int64_t begin, int64_t end) {
  auto *s = static_cast<FailState *>(closure);
  if (s->badIndex < 0)
    return begin == 0 ? 101 : 102;
  return begin <= s->badIndex && s->badIndex < end ? 7 : 0;
}
int32_t throwBody(void *, int64_t begin, int64_t) {
  if (begin == 0)
    throw std::runtime_error("boom");
  return 0;
}
} // namespace

TEST_CASE("parallelFor returns a failing chunk's status", "[threadpool]") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    setNumThreads(threads);
    FailState one{500};
    CHECK(parallelFor(failBody, &one, 1000, 10) == 7);
    FailState none{5000};
    CHECK(parallelFor(failBody, &none, 1000, 10) == 0);
    // Chunk 0 is always claimed first and so always runs: its status wins.
    FailState all{-1};
    CHECK(parallelFor(failBody, &all, 1000, 10) == 101);
    CHECK(parallelFor(throwBody, nullptr, 1000, 10) == -1);
  }
}

namespace {
struct NestState {
  Visits inner{64 * 100};
  std::atomic<int> wrongThread{0};
  std::atomic<int> failures{0};
};
struct InnerState {
  NestState *outer;
  int64_t offset;
  std::thread::id thread;
};
int32_t innerBody(void *closure, int64_t begin, int64_t end) {
  auto *s = static_cast<InnerState *>(closure);
  if (std::this_thread::get_id() != s->thread)
    s->outer->wrongThread.fetch_add(1);
  for (int64_t i = begin; i < end; ++i)
    s->outer->inner.counts[static_cast<size_t>(s->offset + i)].fetch_add(1);
  return 0;
}
int32_t outerBody(void *closure, int64_t begin, int64_t end) {
  auto *s = static_cast<NestState *>(closure);
  for (int64_t row = begin; row < end; ++row) {
    InnerState inner{s, row * 100, std::this_thread::get_id()};
    if (parallelFor(innerBody, &inner, 100, 1) != 0)
      s->failures.fetch_add(1);
  }
  return 0;
}
} // namespace

TEST_CASE("nested parallelFor runs inline and completes", "[threadpool]") {
  ThreadsGuard guard;
  setNumThreads(4);
  NestState s;
  REQUIRE(parallelFor(outerBody, &s, 64, 1) == 0);
  CHECK(s.wrongThread.load() == 0);
  CHECK(s.failures.load() == 0);
  for (auto &c : s.inner.counts)
    CHECK(c.load() == 1);
}

TEST_CASE("concurrent callers all get correct results", "[threadpool]") {
  ThreadsGuard guard;
  setNumThreads(4);
  std::atomic<int> errors{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&errors, t] {
      for (int rep = 0; rep < 50; ++rep) {
        int64_t n = 3000 + 17 * t + rep;
        Visits v(n);
        if (parallelFor(visitBody, &v, n, 16) != 0)
          errors.fetch_add(1);
        for (auto &c : v.counts)
          if (c.load() != 1)
            errors.fetch_add(1);
        FailState one{n / 2};
        if (parallelFor(failBody, &one, n, 16) != 7)
          errors.fetch_add(1);
      }
    });
  for (auto &c : callers)
    c.join();
  CHECK(errors.load() == 0);
}

TEST_CASE("parseNumThreads accepts positive integers only", "[threadpool]") {
  CHECK(parseNumThreads(nullptr, 3) == 3);
  CHECK(parseNumThreads("", 3) == 3);
  CHECK(parseNumThreads("1", 3) == 1);
  CHECK(parseNumThreads("8", 3) == 8);
  CHECK(parseNumThreads("016", 3) == 16);
  CHECK(parseNumThreads("0", 3) == 3);
  CHECK(parseNumThreads("-2", 3) == 3);
  CHECK(parseNumThreads("+2", 3) == 3);
  CHECK(parseNumThreads("4x", 3) == 3);
  CHECK(parseNumThreads(" 4", 3) == 3);
  CHECK(parseNumThreads("abc", 3) == 3);
  CHECK(parseNumThreads("2.5", 3) == 3);
  CHECK(parseNumThreads("5000", 3) == kMaxThreads);
  CHECK(parseNumThreads("99999999999999999999999", 3) == kMaxThreads);
}
