//===- thjit/Runtime/VerifyGrad.h - Numerical gradient checks ---*- C++ -*-===//
///
/// \file
/// Theano's verify_grad: checks the symbolic gradient (and the R-op) of an
/// expression against central differences at given points.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_RUNTIME_VERIFYGRAD_H
#define THJIT_RUNTIME_VERIFYGRAD_H

#include "thjit/Array/NDArray.h"
#include "thjit/IR/Node.h"

#include <functional>
#include <string>
#include <vector>

namespace thjit {

struct VerifyGradOptions {
  /// Random projections (and R-op directions) tried.
  int nTests = 2;
  /// Seeds the random projections and directions.
  int64_t seed = 0;
  /// The central-difference step; 0 picks one for the inputs' dtypes
  /// (float64 1e-6, float32 3e-3, float16 3e-2).
  double eps = 0;
  /// An element is wrong when both its absolute and its relative error
  /// exceed these; 0 picks Theano's for the dtypes (float64 1e-4,
  /// float32 1e-2, float16 5e-2).
  double absTol = 0, relTol = 0;
  /// The mode the expression and its derivatives are compiled in.
  std::string mode;
};

/// Builds `fun` on symbolic inputs typed like the points `pt` (float
/// arrays), and checks at `pt`, for random projections P, the gradient of
/// sum(fun(...) * P) against central differences, and the R-op J . v along
/// random directions v likewise. Throws GradientError naming the
/// expression's op, where it was made, the input, and the largest absolute
/// and relative errors.
void verifyGrad(const std::function<Var(const std::vector<Var> &)> &fun,
                const std::vector<NDArray> &pt,
                const VerifyGradOptions &options = {});

} // namespace thjit

#endif
