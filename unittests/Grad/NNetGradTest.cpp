//===- NNetGradTest.cpp - Gradients of softmax and log_softmax ------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

TEST_CASE("Gradients of softmax and log_softmax", "[grad][nnet]") {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    INFO(opName(k));
    auto f = [k](const std::vector<Var> &x) { return makeOp(k, {x[0]})[0]; };
    checkGradShapes(f, {{arg({5}, -3, 3)},
                        {arg({3, 4}, -3, 3)},
                        {arg({2, 2, 3}, -3, 3)},
                        {bcast({1, 4}, -3, 3)},
                        {bcast({3, 1}, -3, 3)}});
    // Large inputs stay finite and exact.
    checkGrad(f, {arg({2, 3}, 500, 510)});
    // Applied to a broadcast sum of a row and a column.
    checkGrad(
        [k](const std::vector<Var> &x) { return makeOp(k, {x[0] + x[1]})[0]; },
        {bcast({1, 4}, -2, 2), bcast({3, 1}, -2, 2)});
  }
  // The classic classifier: mean negative log-likelihood of softmax.
  Var labels =
      shared(NDArray::fromValues(DType::Float64,
                                 {Scalar(1.0), Scalar(0.0), Scalar(0.0),
                                  Scalar(0.0), Scalar(0.0), Scalar(1.0)},
                                 {2, 3}),
             "labels");
  checkGrad(
      [&](const std::vector<Var> &x) {
        return -mean(sum(labels * logSoftmax(dot(x[0], x[1])), 1));
      },
      {arg({2, 4}), arg({4, 3})});
}
