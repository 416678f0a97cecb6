//===- benchmarks/gpu_bench_catch.cpp - Catch2's runtime for gpu_bench_emulated ===//
//
// gpu_bench_emulated links the tests' emulator library, whose
// test::gpuAvailable() reports a skip with Catch2's WARN: Catch's
// implementation must be linked, but not its main() (gpu_bench has its own
// and never calls gpuAvailable()).
//
//===----------------------------------------------------------------------===//
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
