//===- BlasGradTest.cpp - Gradients of dot, tensordot, batched_dot --------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

Var dot2(const std::vector<Var> &x) { return dot(x[0], x[1]); }

} // namespace

TEST_CASE("Gradient of dot in all four rank combinations", "[grad][blas]") {
  checkGradShapes(dot2, {
                            {arg({4}), arg({4})},       // vector . vector
                            {arg({2, 3}), arg({3})},    // matrix . vector
                            {arg({3}), arg({3, 2})},    // vector . matrix
                            {arg({2, 3}), arg({3, 4})}, // matrix . matrix
                            // Broadcastable operands: a row and a column.
                            {bcast({1, 3}), arg({3, 2})},
                            {arg({2, 1}), bcast({1, 3})},
                            {arg({2, 3}), bcast({3, 1})},
                            // Empty inner axis.
                            {arg({2, 0}), arg({0, 3})},
                        });
  // Higher ranks (lowered to tensordot) and a 0-d operand.
  checkGradShapes(dot2, {
                            {arg({2, 3, 4}), arg({4, 2})},
                            {arg({2, 3}), arg({2, 3, 2})},
                            {arg({2, 2, 3}), arg({3})},
                            {arg({}), arg({2, 3})},
                        });
  checkGrad([](const std::vector<Var> &x) { return matmul(x[0], x[1]); },
            {arg({2, 3}), arg({3, 2})});
}

TEST_CASE("Gradient of tensordot", "[grad][blas]") {
  checkGrad(
      [](const std::vector<Var> &x) {
        return tensordot(x[0], x[1], {0, 2}, {2, 0});
      },
      {arg({2, 3, 4}), arg({4, 2, 2})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return tensordot(x[0], x[1], {2, 1}, {0, 2});
      },
      {arg({2, 3, 4}), arg({4, 2, 3})});
  checkGrad([](const std::vector<Var> &x) { return tensordot(x[0], x[1], 2); },
            {arg({2, 3, 4}), arg({3, 4, 2})});
  checkGrad([](const std::vector<Var> &x) { return tensordot(x[0], x[1], 0); },
            {arg({3}), arg({2, 2})});
  checkGrad(
      [](const std::vector<Var> &x) { return tensordot(x[0], x[1], {1}, {0}); },
      {arg({2, 3}), arg({3})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return tensordot(x[0], x[1], {0, 1}, {1, 0});
      },
      {arg({2, 3}), arg({3, 2})});
}

TEST_CASE("Gradient of batched_dot in every rank combination", "[grad][blas]") {
  auto bd = [](const std::vector<Var> &x) { return batchedDot(x[0], x[1]); };
  checkGradShapes(bd, {
                          {arg({2, 3, 4}), arg({2, 4, 2})},
                          {arg({2, 3, 4}), arg({2, 4})},
                          {arg({2, 4}), arg({2, 4, 3})},
                          {arg({3, 4}), arg({3, 4})},
                          {bcast({1, 2, 3}), arg({1, 3, 2})},
                      });
}

TEST_CASE("Gradient of outer", "[grad][blas]") {
  auto o = [](const std::vector<Var> &x) { return outer(x[0], x[1]); };
  checkGradShapes(o, {{arg({3}), arg({2})},
                      {arg({2, 2}), arg({3})},
                      {bcast({1, 3}), arg({2})}});
}

TEST_CASE("Gradient of gemm and ger", "[grad][blas]") {
  auto g = [](const std::vector<Var> &x) {
    return gemm(x[0], x[1], x[2], x[3], x[4]);
  };
  checkGradShapes(g, {
                         // gemm, gemv (both sides), vector . vector
                         {arg({2, 4}), arg({}), arg({2, 3}), arg({3, 4}), arg({})},
                         {arg({2}), arg({}), arg({2, 3}), arg({3}), arg({})},
                         {arg({4}), arg({}), arg({3}), arg({3, 4}), arg({})},
                         {arg({}), arg({}), arg({3}), arg({3}), arg({})},
                     });
  checkGrad(
      [](const std::vector<Var> &x) { return ger(x[0], x[1], x[2], x[3]); },
      {arg({2, 3}), arg({}), arg({2}), arg({3})});
}
