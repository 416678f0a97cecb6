//===- ShapeGradTest.cpp - Gradients of the shape ops ---------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

TEST_CASE("Gradients of dimshuffle and transpose", "[grad][shape]") {
  checkGrad([](const std::vector<Var> &x) { return transpose(x[0]); },
            {arg({2, 3})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return transpose(x[0], {1, 2, 0});
      },
      {arg({2, 3, 2})});
  // New broadcastable axes, then a broadcast against another operand.
  checkGrad(
      [](const std::vector<Var> &x) {
        return dimshuffle(x[0], {-1, 1, -1, 0}) * x[1];
      },
      {arg({2, 3}), arg({2, 3, 4, 2})});
  // Dropping the broadcastable axis of a row and of a column.
  checkGrad([](const std::vector<Var> &x) { return dimshuffle(x[0], {1}); },
            {bcast({1, 4})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return dimshuffle(x[0], {-1, 0});
      },
      {bcast({3, 1})});
  // A 0-d value made a matrix.
  checkGrad(
      [](const std::vector<Var> &x) {
        return dimshuffle(x[0], {-1, -1}) * x[1];
      },
      {arg({}), arg({2, 3})});
}

TEST_CASE("Gradients of reshape and flatten", "[grad][shape]") {
  checkGrad(
      [](const std::vector<Var> &x) {
        return reshape(x[0], {3, -1});
      },
      {arg({2, 3, 2})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return reshape(x[0], {2, 1, 3});
      },
      {arg({6})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return reshape(x[0], std::vector<Operand>{});
      },
      {bcast({1, 1})});
  // A symbolic shape computed from another value's shape.
  checkGrad(
      [](const std::vector<Var> &x) {
        return reshape(x[0], {shapeOf(x[1], 1), -1}) * x[1].ndim();
      },
      {arg({2, 6}), arg({1, 4})});
  for (int n : {1, 2, 3})
    checkGrad([n](const std::vector<Var> &x) { return flatten(x[0], n); },
              {arg({2, 3, 2})});
}

TEST_CASE("Gradients of alloc and fill", "[grad][shape]") {
  // A 0-d value, a vector broadcast along a new axis, a column stretched.
  checkGrad(
      [](const std::vector<Var> &x) {
        return alloc(x[0], {2, 3});
      },
      {arg({})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return alloc(x[0], {4, 3});
      },
      {arg({3})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return alloc(x[0], {2, 3});
      },
      {bcast({2, 1})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return alloc(x[0], {shapeOf(x[1], 0), 2}) * x[1];
      },
      {bcast({1, 2}), arg({3, 2})});
  checkGrad([](const std::vector<Var> &x) { return fill(x[1], x[0]) * x[1]; },
            {arg({}), arg({2, 3})});
  // The model of fill only gives a shape.
  checkGrad([](const std::vector<Var> &x) { return fill(x[0], 2.0) * x[0]; },
            {arg({2, 2})});
}

TEST_CASE("Gradients of concatenate and stack", "[grad][shape]") {
  checkGrad(
      [](const std::vector<Var> &x) {
        return concatenate({x[0], x[1]}, 0);
      },
      {arg({2, 3}), arg({1, 3})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return concatenate({x[0], x[1], x[0]}, 1);
      },
      {arg({2, 3}), arg({2, 1})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return concatenate({x[0], x[1]}, -1);
      },
      {arg({2}), arg({3})});
  // A broadcastable piece and an empty piece.
  checkGrad(
      [](const std::vector<Var> &x) {
        return concatenate({x[0], x[1], x[2]}, 0);
      },
      {bcast({1, 3}), arg({0, 3}), arg({2, 3})});
  for (int axis : {0, 1, -1})
    checkGrad(
        [axis](const std::vector<Var> &x) {
          return stack({x[0], x[1], x[0]}, axis);
        },
        {arg({2, 3}), arg({2, 3})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return stack({x[0], x[1]});
      },
      {arg({}), arg({})});
}

TEST_CASE("Gradient of split", "[grad][shape]") {
  Var sizes = constant(NDArray::fromValues(
      DType::Int64, {Scalar::fromInt(1), Scalar::fromInt(3)}, {2}));
  // Both pieces used.
  checkGrad(
      [&](const std::vector<Var> &x) {
        std::vector<Var> p = split(x[0], sizes, 2, 1);
        return sum(p[0] * 2.0, 1) + sum(sqr(p[1]), 1);
      },
      {arg({2, 4})});
  // One piece unused: its gradient is zero.
  checkGrad(
      [&](const std::vector<Var> &x) {
        std::vector<Var> p = split(x[0], sizes, 2, 0);
        return exp(p[1]);
      },
      {arg({4, 2})});
  // Symbolic sizes computed from the shape.
  checkGrad(
      [&](const std::vector<Var> &x) {
        Var n = shapeOf(x[0], 0);
        std::vector<Var> p = split(x[0], makeVector({n - 1, 0, 1}), 3, 0);
        return concatenate({p[2], p[0] * p[0]});
      },
      {arg({3})});
}

TEST_CASE("Gradient of make_vector of float scalars", "[grad][shape]") {
  checkGrad(
      [](const std::vector<Var> &x) {
        return makeOp(OpKind::MakeVector, {x[0], x[1], x[0]})[0] * x[2];
      },
      {arg({}), arg({}), arg({3})});
}
