//===- SubtensorGradTest.cpp - Gradients of indexing and writes -----------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

using I = Index;

std::vector<std::vector<Index>> indices() {
  return {
      {I::at(1)},
      {I::at(-1), I::at(2)},
      {I::slice(1, 3)},
      {I::slice({}, {}, -1)},
      {I::slice({}, {}, 2), I::slice({}, {}, -2)},
      {I::slice(-1, 0, -2), I::at(1)},
      {I::newAxis(), I::at(1)},
      {I::all(), I::newAxis(), I::slice(3, 0, -1)},
      {I::ellipsisAll(), I::at(3)},
      {I::slice(3, 1)}, // empty
  };
}

} // namespace

TEST_CASE("Gradient of subtensor", "[grad][subtensor]") {
  for (const auto &index : indices())
    checkGrad([&](const std::vector<Var> &x) { return subtensor(x[0], index); },
              {arg({4, 5})});
  // A symbolic index from a shared variable; an index used twice.
  Var i = shared(NDArray::scalar(Scalar::fromInt(2)), "i");
  checkGrad(
      [&](const std::vector<Var> &x) {
        return subtensor(x[0], {I::slice(i), I::at(i)}) +
               subtensor(x[0], {I::slice(1, 3), I::at(0)});
      },
      {arg({4, 3})});
}

TEST_CASE("Gradients of set_subtensor", "[grad][subtensor]") {
  // Both x (outside the selection) and y (inside) get gradients.
  const struct {
    std::vector<Index> index;
    GradArg y;
  } cases[] = {
      {{I::slice(1, 3), I::slice({}, {}, 2)}, arg({2, 3})},
      {{I::slice({}, {}, -1), I::at(1)}, arg({4})},
      {{I::slice(1, 3)}, bcast({1, 5})}, // a broadcast row
      {{I::slice(1, 3)}, arg({5})},      // a lower-rank value
      {{I::at(-1), I::at(4)}, arg({})},  // one element
      {{I::all(), I::newAxis(), I::at(2)}, bcast({4, 1})},
  };
  for (const auto &c : cases) {
    checkGrad(
        [&](const std::vector<Var> &x) {
          return setSubtensor(subtensor(x[0], c.index), x[1]);
        },
        {arg({4, 5}), c.y});
    checkGrad(
        [&](const std::vector<Var> &x) {
          return incSubtensor(subtensor(x[0], c.index), x[1]);
        },
        {arg({4, 5}), c.y});
  }
  // A Python-number value: only x has a gradient.
  checkGrad(
      [](const std::vector<Var> &x) {
        return setSubtensor(subtensor(x[0], {I::at(0)}), 2.0) * x[0];
      },
      {arg({3, 2})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return sqr(incSubtensor(subtensor(x[0], {I::slice(1)}), 1.5));
      },
      {arg({4})});
}

TEST_CASE("Gradients when a value is written into itself",
          "[grad][subtensor]") {
  // x[1:] = x[:-1] and x[::-1] += x: x reaches the result on two paths.
  checkGrad(
      [](const std::vector<Var> &x) {
        return setSubtensor(subtensor(x[0], {I::slice(1)}),
                            subtensor(x[0], {I::slice({}, -1)}));
      },
      {arg({4})});
  checkGrad(
      [](const std::vector<Var> &x) {
        return incSubtensor(subtensor(x[0], {I::slice({}, {}, -1)}), x[0]);
      },
      {arg({4})});
}

namespace {

Var idx(const std::vector<int64_t> &values, Shape shape = {}) {
  if (shape.empty())
    shape = {(int64_t)values.size()};
  return constant(ints(DType::Int64, shape, values));
}

} // namespace

TEST_CASE("Gradient of advanced_subtensor", "[grad][subtensor]") {
  // Repeated indices accumulate (numpy.add.at).
  const std::vector<std::vector<Index>> matrixIndices = {
      {I::array(idx({2, 0, 2, 1, 2}))},
      {I::array(idx({0, 3})), I::array(idx({4, -1}))},
      {I::all(), I::array(idx({1, 1, 0}))},
      {I::array(idx({3, 0}, {2, 1})), I::array(idx({1, 2, 1}))},
      {I::slice({}, {}, -1), I::array(idx({0, 0}))},
      {I::array(constant(ints(DType::Bool, {4, 5},
                              {1, 0, 0, 1, 0, 0, 1, 1, 0, 0,
                               0, 0, 0, 0, 0, 1, 0, 0, 0, 1})))},
  };
  for (const auto &index : matrixIndices)
    checkGrad([&](const std::vector<Var> &x) { return subtensor(x[0], index); },
              {arg({4, 5})});
  const std::vector<std::vector<Index>> tensorIndices = {
      {I::array(idx({0, 2})), I::all(), I::array(idx({4, 0}))},
      {I::at(1), I::all(), I::array(idx({0, 4, 0}))},
      {I::newAxis(), I::array(idx({1, 2, 1})), I::slice({}, {}, 2)},
      {I::array(idx({1, 1})), I::newAxis(), I::array(idx({0, 3}))},
  };
  for (const auto &index : tensorIndices)
    checkGrad([&](const std::vector<Var> &x) { return subtensor(x[0], index); },
              {arg({3, 4, 5})});
  // A symbolic mask (away from its kink) and symbolic index arrays.
  GradArg away = arg({3, 4});
  away.awayFromZero = 0.05;
  checkGrad(
      [](const std::vector<Var> &x) {
        return subtensor(x[0], {I::array(gt(x[0], 0.0))});
      },
      {away});
  Var rows = shared(ints(DType::Int32, {4}, {2, 0, 2, 1}), "rows");
  checkGrad(
      [&](const std::vector<Var> &x) {
        return subtensor(x[0], {I::array(arange(0, shapeOf(rows, 0))),
                                I::array(rows)});
      },
      {arg({4, 3})});
}

TEST_CASE("Gradients of advanced set_subtensor and inc_subtensor",
          "[grad][subtensor]") {
  const struct {
    std::vector<Index> index;
    GradArg y;
    bool unique; // set_subtensor's y gradient assumes distinct positions
  } cases[] = {
      {{I::array(idx({2, 0}))}, arg({2, 5}), true},
      {{I::array(idx({0, 3, 0}))}, arg({3, 5}), false},
      {{I::array(idx({2, 0})), I::slice(1, 3)}, bcast({1, 2}), true},
      {{I::array(idx({1, 3})), I::array(idx({4, 0}))}, arg({}), true},
      {{I::all(), I::array(idx({4, 4, 1}))}, arg({3}), false},
      {{I::array(idx({3, 0}, {2, 1})), I::array(idx({1, 2, 0}))},
       arg({2, 3}),
       true},
  };
  for (const auto &c : cases) {
    if (c.unique)
      checkGrad(
          [&](const std::vector<Var> &x) {
            return setSubtensor(subtensor(x[0], c.index), x[1]);
          },
          {arg({4, 5}), c.y});
    checkGrad(
        [&](const std::vector<Var> &x) {
          return incSubtensor(subtensor(x[0], c.index), x[1]);
        },
        {arg({4, 5}), c.y});
  }
  // Separated arrays (B first) in a rank-3 value.
  std::vector<Index> sep = {I::array(idx({0, 2})), I::all(),
                            I::array(idx({3, 1}))};
  checkGrad(
      [&](const std::vector<Var> &x) {
        return setSubtensor(subtensor(x[0], sep), x[1]);
      },
      {arg({3, 4, 5}), arg({2, 4})});
  checkGrad(
      [&](const std::vector<Var> &x) {
        return incSubtensor(subtensor(x[0], sep), x[1]) * x[0];
      },
      {arg({3, 4, 5}), arg({2, 4})});
}

TEST_CASE("Gradients of the negative log-likelihood and of an embedding",
          "[grad][subtensor]") {
  // -mean(log(softmax(x))[arange(n), y]), Theano's classic.
  Var y = constant(ints(DType::Int32, {4}, {2, 0, 2, 1}));
  checkGrad(
      [&](const std::vector<Var> &x) {
        Var logp = log(softmax(x[0]));
        return neg(mean(subtensor(
            logp, {I::array(arange(0, shapeOf(y, 0))), I::array(y)})));
      },
      {arg({4, 3})});
  // W[idx] with a repeated row, through a nonlinearity.
  checkGrad(
      [](const std::vector<Var> &x) {
        return tanh(dot(subtensor(x[0], {I::array(idx({1, 3, 1, 1}))}), x[1]));
      },
      {arg({5, 3}), arg({3, 2})});
}
