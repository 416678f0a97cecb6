//===- ElemwiseGradTest.cpp - Gradients of element-wise ops ---------------===//
//
// Every differentiable element-wise op against central differences in
// float64, at several shapes including broadcast rows, columns, lower-rank
// and 0-d operands; piecewise-constant ops have zero gradients.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

struct Domain {
  double lo = -1, hi = 1;
};

/// Shapes for a binary op: equal shapes, a row with a column, a matrix with
/// a vector (lower rank), a 0-d with a vector, a column with a matrix.
std::vector<std::vector<GradArg>> binaryShapes(Domain a, Domain b) {
  return {{arg({2, 3}, a.lo, a.hi), arg({2, 3}, b.lo, b.hi)},
          {bcast({1, 3}, a.lo, a.hi), bcast({2, 1}, b.lo, b.hi)},
          {arg({2, 3}, a.lo, a.hi), arg({3}, b.lo, b.hi)},
          {arg({}, a.lo, a.hi), arg({3}, b.lo, b.hi)},
          {bcast({2, 1}, a.lo, a.hi), arg({2, 3}, b.lo, b.hi)}};
}

std::vector<std::vector<GradArg>> unaryShapes(Domain d) {
  return {{arg({2, 3}, d.lo, d.hi)},
          {arg({}, d.lo, d.hi)},
          {bcast({1, 4}, d.lo, d.hi)},
          {arg({2, 1, 2}, d.lo, d.hi)}};
}

/// The smallest distance of any element of `v` to an integer.
Var distanceToIntegers(const Var &v) { return min(abs(v - round(v))); }

} // namespace

TEST_CASE("Gradients of unary element-wise ops", "[grad][elemwise]") {
  const struct {
    OpKind kind;
    Domain domain;
  } cases[] = {
      {OpKind::Neg, {}},
      {OpKind::Exp, {-2, 2}},
      {OpKind::Exp2, {-2, 2}},
      {OpKind::Expm1, {-2, 2}},
      {OpKind::Log, {0.2, 3}},
      {OpKind::Log2, {0.2, 3}},
      {OpKind::Log10, {0.2, 3}},
      {OpKind::Log1p, {-0.5, 2}},
      {OpKind::Sqrt, {0.2, 3}},
      {OpKind::Sqr, {-2, 2}},
      {OpKind::Sin, {-3, 3}},
      {OpKind::Cos, {-3, 3}},
      {OpKind::Tan, {-1.2, 1.2}},
      {OpKind::Arcsin, {-0.8, 0.8}},
      {OpKind::Arccos, {-0.8, 0.8}},
      {OpKind::Arctan, {-3, 3}},
      {OpKind::Sinh, {-2, 2}},
      {OpKind::Cosh, {-2, 2}},
      {OpKind::Tanh, {-2, 2}},
      {OpKind::Arcsinh, {-3, 3}},
      {OpKind::Arccosh, {1.2, 3}},
      {OpKind::Arctanh, {-0.8, 0.8}},
      {OpKind::Erf, {-2, 2}},
      {OpKind::Erfc, {-2, 2}},
      {OpKind::Sigmoid, {-4, 4}},
      {OpKind::Softplus, {-4, 4}},
  };
  for (const auto &c : cases) {
    INFO(opName(c.kind));
    checkGradShapes(
        [&](const std::vector<Var> &x) { return elemwise(c.kind, {x[0]}); },
        unaryShapes(c.domain));
  }
}

TEST_CASE("Gradient of abs away from 0", "[grad][elemwise]") {
  for (Shape s : {Shape{2, 3}, Shape{}, Shape{5}}) {
    GradArg a = arg(s, -2, 2);
    a.awayFromZero = 0.1;
    checkGrad([](const std::vector<Var> &x) { return abs(x[0]); }, {a});
  }
}

TEST_CASE("Gradients of binary element-wise ops", "[grad][elemwise]") {
  auto binary = [](OpKind k) {
    return [k](const std::vector<Var> &x) { return elemwise(k, {x[0], x[1]}); };
  };
  checkGradShapes(binary(OpKind::Add), binaryShapes({}, {}));
  checkGradShapes(binary(OpKind::Sub), binaryShapes({}, {}));
  checkGradShapes(binary(OpKind::Mul), binaryShapes({-2, 2}, {-2, 2}));
  checkGradShapes(binary(OpKind::TrueDiv), binaryShapes({-2, 2}, {0.5, 2}));
  checkGradShapes(binary(OpKind::Pow), binaryShapes({0.5, 2}, {-1.5, 1.5}));
  checkGradShapes(binary(OpKind::Arctan2), binaryShapes({0.2, 2}, {-2, 2}));
  GradCheckOptions apart;
  apart.kinkDistance = [](const std::vector<Var> &x) {
    return min(abs(x[0] - x[1]));
  };
  apart.margin = 0.05;
  checkGradShapes(binary(OpKind::Maximum), binaryShapes({-2, 2}, {-2, 2}),
                  apart);
  checkGradShapes(binary(OpKind::Minimum), binaryShapes({-2, 2}, {-2, 2}),
                  apart);
  // mod and floor_div jump where x / y is an integer.
  GradCheckOptions offGrid;
  offGrid.kinkDistance = [](const std::vector<Var> &x) {
    return distanceToIntegers(x[0] / x[1]);
  };
  offGrid.margin = 0.05;
  checkGradShapes(binary(OpKind::Mod), binaryShapes({-3, 3}, {0.7, 1.5}),
                  offGrid);
  checkGradShapes(binary(OpKind::Mod), binaryShapes({-3, 3}, {-1.5, -0.7}),
                  offGrid);
  checkGradShapes(binary(OpKind::FloorDiv), binaryShapes({-3, 3}, {0.7, 1.5}),
                  offGrid);
}

TEST_CASE("Gradients with Python-number operands", "[grad][elemwise]") {
  checkGradShapes([](const std::vector<Var> &x) { return 2.5 * x[0] - 1; },
                  unaryShapes({}));
  checkGradShapes([](const std::vector<Var> &x) { return 1.0 / x[0]; },
                  unaryShapes({0.5, 2}));
  checkGradShapes([](const std::vector<Var> &x) { return pow(x[0], 3); },
                  unaryShapes({-2, 2}));
  checkGradShapes([](const std::vector<Var> &x) { return pow(2.0, x[0]); },
                  unaryShapes({-2, 2}));
  checkGradShapes([](const std::vector<Var> &x) { return mod(x[0], 0.75); },
                  unaryShapes({0.1, 0.7}));
}

TEST_CASE("Piecewise-constant ops have zero gradients", "[grad][elemwise]") {
  GradCheckOptions offGrid;
  offGrid.kinkDistance = [](const std::vector<Var> &x) {
    return distanceToIntegers(x[0]);
  };
  offGrid.margin = 0.05;
  for (OpKind k : {OpKind::Floor, OpKind::Ceil, OpKind::Trunc}) {
    INFO(opName(k));
    checkGradShapes(
        [k](const std::vector<Var> &x) { return elemwise(k, {x[0]}); },
        unaryShapes({-3, 3}), offGrid);
  }
  GradCheckOptions offHalves;
  offHalves.kinkDistance = [](const std::vector<Var> &x) {
    return distanceToIntegers(x[0] + 0.5);
  };
  offHalves.margin = 0.05;
  checkGradShapes([](const std::vector<Var> &x) { return round(x[0]); },
                  unaryShapes({-3, 3}), offHalves);
  GradArg nonZero = arg({2, 3}, -2, 2);
  nonZero.awayFromZero = 0.1;
  checkGrad([](const std::vector<Var> &x) { return sign(x[0]); }, {nonZero});
  // Comparisons and logical ops: their bool results carry no gradient, so
  // the gradient of a cost that uses them is zero.
  GradCheckOptions apart;
  apart.kinkDistance = [](const std::vector<Var> &x) {
    return min(abs(x[0] - x[1]));
  };
  apart.margin = 0.05;
  for (OpKind k :
       {OpKind::Eq, OpKind::Neq, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge,
        OpKind::LogicalAnd, OpKind::LogicalOr, OpKind::LogicalXor}) {
    INFO(opName(k));
    checkGradShapes(
        [k](const std::vector<Var> &x) {
          return cast(elemwise(k, {x[0], x[1]}), DType::Float64) + x[0];
        },
        binaryShapes({-2, 2}, {-2, 2}), apart);
  }
  for (OpKind k : {OpKind::IsNan, OpKind::IsInf, OpKind::LogicalNot}) {
    INFO(opName(k));
    checkGradShapes(
        [k](const std::vector<Var> &x) {
          return cast(elemwise(k, {x[0]}), DType::Float64);
        },
        unaryShapes({-2, 2}));
  }
}

TEST_CASE("Gradient of cast", "[grad][elemwise]") {
  // Through float32: the rounding of the cast needs a larger step.
  GradCheckOptions coarse;
  coarse.eps = 1e-3;
  coarse.rtol = 1e-3;
  coarse.atol = 1e-5;
  checkGradShapes(
      [](const std::vector<Var> &x) { return cast(sqr(x[0]), DType::Float32); },
      unaryShapes({-2, 2}), coarse);
  checkGradShapes(
      [](const std::vector<Var> &x) {
        return cast(cast(x[0], DType::Float32), DType::Float64) * x[0];
      },
      unaryShapes({-2, 2}), coarse);
  // Through an integer: zero away from the integers.
  GradCheckOptions offGrid;
  offGrid.kinkDistance = [](const std::vector<Var> &x) {
    return distanceToIntegers(x[0]);
  };
  offGrid.margin = 0.05;
  checkGradShapes(
      [](const std::vector<Var> &x) {
        return cast(cast(x[0], DType::Int32), DType::Float64);
      },
      unaryShapes({-3, 3}), offGrid);
}

TEST_CASE("Gradients of switch/where", "[grad][elemwise]") {
  // The condition depends on the inputs too (no gradient through it).
  GradCheckOptions away;
  away.kinkDistance = [](const std::vector<Var> &x) { return min(abs(x[0])); };
  away.margin = 0.05;
  checkGradShapes(
      [](const std::vector<Var> &x) {
        return where(x[0] > 0, x[0] * x[1], sin(x[1]));
      },
      binaryShapes({-2, 2}, {-2, 2}), away);
  // A condition broadcast against the other operand and a Python-number
  // branch.
  checkGradShapes(
      [](const std::vector<Var> &x) { return where(lt(x[1], 0.0), x[0], 2.0); },
      binaryShapes({-2, 2}, {-2, 2}), away);
  // A float condition gets a zero gradient.
  checkGrad([](const std::vector<Var> &x) { return where(x[0], x[1], -x[1]); },
            {arg({2, 3}, 0.5, 1), arg({2, 3})});
}

TEST_CASE("Gradients of clip", "[grad][elemwise]") {
  GradCheckOptions away;
  away.kinkDistance = [](const std::vector<Var> &x) {
    return minimum(min(abs(x[0] - x[1])), min(abs(x[0] - x[2])));
  };
  away.margin = 0.05;
  auto build = [](const std::vector<Var> &x) { return clip(x[0], x[1], x[2]); };
  checkGradShapes(
      build,
      {{arg({2, 3}, -2, 2), arg({2, 3}, -1.5, -0.2), arg({2, 3}, 0.2, 1.5)},
       {arg({2, 3}, -2, 2), arg({}, -1, -0.2), arg({}, 0.2, 1)},
       {arg({3, 2}, -2, 2), bcast({1, 2}, -1, -0.2), bcast({3, 1}, 0.2, 1)}},
      away);
  checkGradShapes(
      [](const std::vector<Var> &x) { return clip(x[0], -0.5, 0.5); },
      unaryShapes({-1, 1}),
      [] {
        GradCheckOptions o;
        o.kinkDistance = [](const std::vector<Var> &x) {
          return min(abs(abs(x[0]) - 0.5));
        };
        o.margin = 0.05;
        return o;
      }());
}

TEST_CASE("Gradients through chains of element-wise ops", "[grad][elemwise]") {
  checkGradShapes(
      [](const std::vector<Var> &x) {
        return tanh(x[0] * x[1] + exp(-sqr(x[0]))) / (1.0 + sqr(x[1]));
      },
      binaryShapes({-1.5, 1.5}, {-1.5, 1.5}));
  // The same variable used several times accumulates its contributions.
  checkGradShapes(
      [](const std::vector<Var> &x) { return x[0] * x[0] * sin(x[0]); },
      unaryShapes({-2, 2}));
}
