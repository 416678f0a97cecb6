//===- benchmarks/scalar_libm.cpp - Scalar libm loops ---------------------===//
///
/// \file
/// One libm call per element. CMakeLists.txt builds this file with
/// -fno-tree-vectorize -fno-builtin, so these loops stay scalar calls of
/// glibc's expf/tanhf whatever the project's flags are.
///
//===----------------------------------------------------------------------===//
#include "baselines.h"

#include <cmath>

namespace bench {

void scalarExpf(const float *x, float *out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = ::expf(x[i]);
}

void scalarTanhf(const float *x, float *out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    out[i] = ::tanhf(x[i]);
}

} // namespace bench
