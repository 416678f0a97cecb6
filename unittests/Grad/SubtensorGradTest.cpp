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
