//===- JacobianTest.cpp - vectorizeGraph, jacobian and hessian ------------===//
//
// Batch rules are checked against the graph evaluated item by item, for
// every op family and every combination of batched operands; jacobian and
// hessian against closed forms and central differences, batched and row by
// row.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

constexpr int64_t kBatch = 3;

/// An input of unknown sizes, but broadcastable where the size is 1.
Var input(const Shape &shape, DType t = DType::Float64) {
  std::vector<int64_t> sizes;
  for (int64_t d : shape)
    sizes.push_back(d == 1 ? 1 : TensorType::kUnknown);
  return tensor(t, sizes);
}

/// Within tol (relative and absolute); the sign of a zero does not matter.
bool near(double got, double want, double tol) {
  if (std::isnan(got) || std::isnan(want))
    return std::isnan(got) && std::isnan(want);
  return std::fabs(got - want) <= tol * (1 + std::fabs(want));
}

void expectNear(const NDArray &got, const Shape &shape,
                const std::vector<double> &want, double tol = 1e-13) {
  CHECK(got.dtype() == DType::Float64);
  REQUIRE(got.shape() == shape);
  std::vector<double> g = flat(got);
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
    CHECK(near(g[i], want[i], tol));
  }
}

void expectClose(const NDArray &got, const NDArray &want, double tol) {
  CHECK(got.dtype() == want.dtype());
  expectNear(got.astype(DType::Float64), want.shape(), flat(want), tol);
}

/// Builds f on inputs of the given shapes, batches the inputs marked in
/// `batched`, and checks the vectorized graph against f item by item.
void checkVectorize(const Builder &f, const std::vector<Shape> &shapes,
                    const std::vector<bool> &batched,
                    DType dtype = DType::Float64) {
  std::mt19937 rng(7);
  std::vector<Var> xs, ins;
  std::vector<NDArray> values, batchValues;
  std::vector<std::pair<Var, Var>> replacements;
  for (size_t i = 0; i < shapes.size(); ++i) {
    xs.push_back(input(shapes[i], dtype));
    Shape s = shapes[i];
    if (batched[i])
      s.insert(s.begin(), kBatch);
    NDArray v = uniformArray(s, -1, 1, 0.1, rng).astype(dtype);
    if (batched[i]) {
      Var b = input(s, dtype);
      replacements.push_back({xs[i], b});
      ins.push_back(b);
    } else {
      ins.push_back(xs[i]);
    }
    batchValues.push_back(v);
  }
  Var y = f(xs);
  Var vy = vectorizeGraph({y}, replacements)[0];
  INFO("vectorized " << y.type()->str() << " as " << vy.type()->str());
  REQUIRE(vy.ndim() == y.ndim() + 1);
  NDArray all = call(ins, {vy}, batchValues)[0];
  REQUIRE(all.dim(0) == kBatch);
  for (int64_t item = 0; item < kBatch; ++item) {
    std::vector<NDArray> itemValues;
    for (size_t i = 0; i < shapes.size(); ++i)
      itemValues.push_back(batched[i] ? batchValues[i].select(0, item)
                                      : batchValues[i]);
    NDArray want = call(xs, {y}, itemValues)[0];
    INFO("item " << item);
    expectClose(all.select(0, item), want, 1e-12);
  }
}

/// checkVectorize for each non-empty choice of batched operands.
void checkVectorizeAll(const Builder &f, const std::vector<Shape> &shapes,
                       DType dtype = DType::Float64) {
  for (unsigned mask = 1; mask < (1u << shapes.size()); ++mask) {
    std::vector<bool> batched;
    for (size_t i = 0; i < shapes.size(); ++i)
      batched.push_back(mask >> i & 1);
    INFO("batched operands mask " << mask);
    checkVectorize(f, shapes, batched, dtype);
  }
}

/// The Jacobian of f at random points against central differences,
/// batched and row by row (static shapes).
void checkJacobian(const Builder &f, const std::vector<Shape> &shapes,
                   unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::vector<NDArray> values;
  for (const Shape &s : shapes)
    values.push_back(uniformArray(s, -1, 1, 0.1, rng));
  for (bool vectorize : {true, false}) {
    INFO("vectorize " << vectorize);
    std::vector<Var> xs;
    for (const Shape &s : shapes)
      xs.push_back(vectorize ? input(s)
                             : tensor(DType::Float64, std::vector<int64_t>(
                                                          s.begin(), s.end())));
    Var y = f(xs);
    INFO("the expression has type " << y.type()->str());
    JacobianOptions opts;
    opts.vectorize = vectorize;
    std::vector<Var> js = jacobian(y, xs, opts);
    std::vector<Var> outs = js;
    outs.push_back(y);
    std::vector<NDArray> got = call(xs, outs, values);
    Shape yShape = got.back().shape();
    for (size_t j = 0; j < xs.size(); ++j) {
      Shape want = yShape;
      want.insert(want.end(), shapes[j].begin(), shapes[j].end());
      REQUIRE(got[j].shape() == want);
      Function fn = function(xs, {y});
      NDArray J = got[j].copy();
      int64_t m = 1;
      for (int64_t d : yShape)
        m *= d;
      const double eps = 1e-6;
      for (int64_t k = 0; k < values[j].size(); ++k) {
        std::vector<NDArray> plus = values, minus = values;
        plus[j] = values[j].copy();
        minus[j] = values[j].copy();
        plus[j].data<double>()[k] += eps;
        minus[j].data<double>()[k] -= eps;
        NDArray fp = fn(plus)[0].copy(), fm = fn(minus)[0].copy();
        for (int64_t i = 0; i < m; ++i) {
          double fd = (fp.data<double>()[i] - fm.data<double>()[i]) / (2 * eps);
          double jv = J.data<double>()[i * values[j].size() + k];
          INFO("d y[" << i << "] / d x" << j << "[" << k << "]: " << jv
                      << " vs " << fd);
          CHECK(near(jv, fd, 1e-6));
        }
      }
    }
  }
}

Var at(const Var &x, int64_t i) { return subtensor(x, {Index::at(i)}); }

} // namespace

TEST_CASE("vectorizeGraph: element-wise ops align items on the right",
          "[grad][vectorize]") {
  checkVectorizeAll([](auto x) { return x[0] + x[1]; }, {{4}, {2, 4}});
  checkVectorizeAll([](auto x) { return x[0] * exp(x[1]); }, {{2, 1}, {3}});
  checkVectorizeAll([](auto x) { return where(x[0] > 0, x[1], x[2]); },
                    {{3}, {2, 3}, {}});
  checkVectorizeAll([](auto x) { return fuse(exp(x[0]) * x[1] + 1); },
                    {{2, 3}, {3}});
  checkVectorizeAll([](auto x) { return cast(x[0] * 10, DType::Int32); },
                    {{2, 2}});
}

TEST_CASE("vectorizeGraph: reductions", "[grad][vectorize]") {
  checkVectorizeAll([](auto x) { return sum(x[0], 1); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return sum(x[0]); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return max(x[0], 0, true); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return prod(x[0], {0, 2}); }, {{2, 3, 2}});
  checkVectorizeAll([](auto x) { return argmax(x[0]); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return argmin(x[0], {}, true); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return argmax(x[0], 1, true); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return argmax(x[0]); }, {{}});
  checkVectorizeAll([](auto x) { return all(x[0] > 0, 1); }, {{2, 3}});
}

TEST_CASE("vectorizeGraph: products", "[grad][vectorize]") {
  auto d = [](auto x) { return dot(x[0], x[1]); };
  checkVectorizeAll(d, {{3}, {3}});
  checkVectorizeAll(d, {{2, 3}, {3}});
  checkVectorizeAll(d, {{3}, {3, 2}});
  checkVectorizeAll(d, {{2, 3}, {3, 4}});
  checkVectorizeAll(
      [](auto x) {
        return tensordot(x[0], x[1], {0, 2}, {2, 0});
      },
      {{2, 3, 4}, {4, 5, 2}});
  checkVectorizeAll([](auto x) { return batchedDot(x[0], x[1]); },
                    {{2, 3, 4}, {2, 4}});
  checkVectorizeAll([](auto x) { return batchedDot(x[0], x[1]); },
                    {{2, 4}, {2, 4, 3}});
  checkVectorizeAll([](auto x) { return gemm(x[0], x[1], x[2], x[3], x[4]); },
                    {{2, 4}, {}, {2, 3}, {3, 4}, {}});
  checkVectorizeAll([](auto x) { return gemm(x[0], x[1], x[2], x[3], x[4]); },
                    {{2}, {}, {2, 3}, {3}, {}});
}

TEST_CASE("vectorizeGraph: shapes", "[grad][vectorize]") {
  checkVectorizeAll([](auto x) { return transpose(x[0]); }, {{2, 3}});
  checkVectorizeAll(
      [](auto x) {
        return dimshuffle(x[0], {-1, 1, 0});
      },
      {{2, 3}});
  checkVectorizeAll([](auto x) { return reshape(x[0], {-1}); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return reshape(x[0], {3, -1}); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return reshape(x[0], shape(x[1])); },
                    {{2, 3}, {3, 2}});
  checkVectorizeAll([](auto x) { return flatten(x[0]); }, {{2, 2, 3}});
  checkVectorizeAll(
      [](auto x) { return x[0] * cast(shape(x[0]), DType::Float64); },
      {{3, 2}});
  checkVectorizeAll(
      [](auto x) { return x[0] + cast(shapeOf(x[0], 1), DType::Float64); },
      {{2, 3}});
  checkVectorizeAll(
      [](auto x) {
        return alloc(x[0], {2, shapeOf(x[0], 0)});
      },
      {{3}});
  checkVectorizeAll([](auto x) { return alloc(x[0], {2, 3}); }, {{}});
  checkVectorizeAll(
      [](auto x) {
        return concatenate({x[0], x[1]}, 1);
      },
      {{2, 3}, {2, 1}});
  checkVectorizeAll([](auto x) { return stack({x[0], x[1]}); }, {{3}, {3}});
  checkVectorizeAll(
      [](auto x) {
        return split(
            x[0],
            constant(NDArray::fromValues(
                DType::Int64, {Scalar::fromInt(1), Scalar::fromInt(2)}, {2})),
            2, 1)[1];
      },
      {{2, 3}});
  checkVectorizeAll(
      [](auto x) {
        return makeVector({cast(sum(x[0]) * 10, DType::Int64), 7});
      },
      {{3}});
}

TEST_CASE("vectorizeGraph: indexing", "[grad][vectorize]") {
  checkVectorizeAll(
      [](auto x) {
        return subtensor(x[0], {Index::slice(1), Index::slice({}, {}, -1)});
      },
      {{3, 4}});
  checkVectorizeAll([](auto x) { return at(x[0], 1); }, {{3, 4}});
  checkVectorizeAll(
      [](auto x) {
        return subtensor(x[0], {Index::newAxis(), Index::at(2)});
      },
      {{3, 4}});
  checkVectorizeAll(
      [](auto x) {
        return setSubtensor(subtensor(x[0], {Index::slice(1)}), x[1]);
      },
      {{3, 4}, {4}});
  checkVectorizeAll([](auto x) { return incSubtensor(at(x[0], 0), x[1]); },
                    {{3, 4}, {4}});
  checkVectorizeAll(
      [](auto x) {
        return incSubtensor(subtensor(x[0], {Index::newAxis(), Index::at(1)}),
                            x[1]);
      },
      {{3, 4}, {1, 4}});
}

TEST_CASE("vectorizeGraph: softmax and gradient controls",
          "[grad][vectorize]") {
  checkVectorizeAll([](auto x) { return softmax(x[0]); }, {{2, 3}});
  checkVectorizeAll([](auto x) { return logSoftmax(x[0]); }, {{4}});
  checkVectorizeAll([](auto x) { return gradScale(x[0], 2.0); }, {{4}});
  checkVectorize([](auto x) { return gradClip(x[0], -1.0, x[1]); }, {{4}, {}},
                 {true, false});
}

TEST_CASE("vectorizeGraph: what cannot vary per item is an error",
          "[grad][vectorize]") {
  Var x = vector("x"), n = scalar("n", DType::Int64);
  Var X = matrix("X"), N = vector("N", DType::Int64);
  CHECK_THROWS_WITH(
      vectorizeGraph({x * cast(arange(0, n), DType::Float64)}, {{n, N}}),
      Catch::Contains("cannot vectorize arange") &&
          Catch::Contains("the size of the result"));
  CHECK_THROWS_WITH(vectorizeGraph({subtensor(x, {Index::at(n)})}, {{n, N}}),
                    Catch::Contains("cannot vectorize subtensor") &&
                        Catch::Contains("the index would differ"));
  CHECK_THROWS_WITH(vectorizeGraph({x}, {{x, x}}),
                    Catch::Contains("must have type float64 and rank 2"));
  // Nothing depends on the batch: the output is repeated.
  Var y = vectorizeGraph({x + 1}, {{n, N}})[0];
  NDArray r = call({x, N}, {y},
                   {array(DType::Float64, {2}, {1, 2}),
                    ints(DType::Int64, {3}, {0, 0, 0})})[0];
  expectNear(r, {3, 2}, {2, 3, 2, 3, 2, 3});
  (void)X;
}

TEST_CASE("jacobian against closed forms", "[grad][jacobian]") {
  Var x = vector("x"), A = matrix("A");
  NDArray xv = array(DType::Float64, {3}, {0.5, -1, 2});
  NDArray Av = array(DType::Float64, {2, 3}, {1, 2, 3, -1, 0.5, 4});

  // d (x**2) / dx = diag(2x)
  NDArray J = call({x}, {jacobian(x * x, x)}, {xv})[0];
  expectNear(J, {3, 3}, {1, 0, 0, 0, -2, 0, 0, 0, 4});

  // d (A x) / dx = A, d (A x) / dA [i, j, k] = (i == j) x[k]
  std::vector<Var> js = jacobian(dot(A, x), {x, A});
  std::vector<NDArray> r = call({x, A}, js, {xv, Av});
  expectNear(r[0], {2, 3}, flat(Av));
  expectNear(r[1], {2, 2, 3}, {0.5, -1, 2, 0, 0, 0, 0, 0, 0, 0.5, -1, 2});

  // softmax: diag(s) - s s^T
  NDArray s = call({x}, {softmax(x)}, {xv})[0];
  NDArray Js = call({x}, {jacobian(softmax(x), x)}, {xv})[0];
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      want.push_back((i == j ? flat(s)[i] : 0) - flat(s)[i] * flat(s)[j]);
  expectNear(Js, {3, 3}, want, 1e-14);

  // A scalar expression: the gradient.
  expectNear(call({x}, {jacobian(sum(x * x), x)}, {xv})[0], {3}, {1, -2, 4});
}

TEST_CASE("jacobian against central differences", "[grad][jacobian]") {
  checkJacobian([](auto x) { return tanh(dot(x[0], x[1])); }, {{2, 3}, {3}});
  checkJacobian([](auto x) { return x[0] * sum(x[1], 0); }, {{2, 3}, {2, 3}});
  checkJacobian(
      [](auto x) {
        return concatenate({exp(x[0]), x[0] * x[1]}, 0);
      },
      {{3}, {3}});
  checkJacobian([](auto x) { return logSoftmax(x[0] / (1 + sqr(x[1]))); },
                {{2, 3}, {3}});
  checkJacobian(
      [](auto x) {
        return setSubtensor(at(x[0], 1), sin(at(x[1], 0))) * max(x[1], 0);
      },
      {{2, 3}, {2, 3}});
  checkJacobian(
      [](auto x) {
        return reshape(batchedDot(x[0], transpose(x[0], {0, 2, 1})), {-1});
      },
      {{2, 2, 3}});
  checkJacobian([](auto x) { return prod(x[0], 1) + tensordot(x[0], x[1], 1); },
                {{2, 3}, {3}});
}

TEST_CASE("hessian against closed forms", "[grad][jacobian]") {
  Var x = vector("x"), A = matrix("A");
  NDArray xv = array(DType::Float64, {3}, {0.5, -1, 2});
  NDArray Av = array(DType::Float64, {3, 3}, {1, 2, 3, -1, 0.5, 4, 0, 2, 1});

  // sum(x**3): diag(6x)
  expectNear(call({x}, {hessian(sum(x * x * x), x)}, {xv})[0], {3, 3},
             {3, 0, 0, 0, -6, 0, 0, 0, 12});
  // x^T A x / 2: (A + A^T) / 2
  NDArray H = call({x, A}, {hessian(dot(x, dot(A, x)) / 2, x)}, {xv, Av})[0];
  std::vector<double> a = flat(Av), want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      want.push_back((a[i * 3 + j] + a[j * 3 + i]) / 2);
  expectNear(H, {3, 3}, want, 1e-14);
  // A cost linear in x: zeros.
  expectNear(call({x}, {hessian(sum(x * 3), x)}, {xv})[0], {3, 3},
             std::vector<double>(9, 0));
  // Batched and row by row agree (static shapes for the rows).
  Var xs = tensor(DType::Float64, {3}, "xs");
  JacobianOptions rows;
  rows.vectorize = false;
  std::vector<NDArray> both = call({xs},
                                   {hessian(sum(exp(xs) * sin(xs)), xs),
                                    hessian(sum(exp(xs) * sin(xs)), xs, rows)},
                                   {xv});
  expectClose(both[0], both[1], 1e-14);
}

TEST_CASE("hessian of the logistic regression cost", "[grad][jacobian]") {
  // The seed paper's case study: p = sigmoid(x w + b), cross-entropy plus
  // an L2 penalty. H_w = x^T diag(p (1 - p)) x / N + 0.02 I.
  Var x = matrix("x"), y = vector("y"), w = vector("w"), b = scalar("b");
  Var p = sigmoid(dot(x, w) + b);
  Var xent = -y * log(p) - (1 - y) * log(1 - p);
  Var cost = mean(xent) + 0.01 * sum(w * w);
  std::vector<Var> H = hessian(cost, {w, b});

  std::mt19937 rng(11);
  const int64_t N = 5, F = 4;
  NDArray xv = uniformArray({N, F}, -1, 1, 0, rng);
  NDArray yv = array(DType::Float64, {N}, {0, 1, 1, 0, 1});
  NDArray wv = uniformArray({F}, -1, 1, 0, rng);
  NDArray bv = NDArray::scalar(Scalar(0.3));
  std::vector<NDArray> r =
      call({x, y, w, b}, {H[0], H[1], p}, {xv, yv, wv, bv});
  std::vector<double> X = flat(xv), P = flat(r[2]), want(F * F, 0);
  double hb = 0;
  for (int64_t n = 0; n < N; ++n) {
    double s = P[n] * (1 - P[n]) / N;
    hb += s;
    for (int64_t i = 0; i < F; ++i)
      for (int64_t j = 0; j < F; ++j)
        want[i * F + j] += X[n * F + i] * s * X[n * F + j];
  }
  for (int64_t i = 0; i < F; ++i)
    want[i * F + i] += 0.02;
  expectNear(r[0], {F, F}, want, 1e-12);
  expectNear(r[1], {}, {hb}, 1e-12);
}

TEST_CASE("jacobian and hessian errors", "[grad][jacobian]") {
  Var x = vector("x"), i = vector("i", DType::Int64), z = vector("z");
  CHECK_THROWS_WITH(jacobian(i * 2, x),
                    Catch::Contains("expression must have a float dtype"));
  CHECK_THROWS_WITH(hessian(x * x, x),
                    Catch::Contains("cost must be a scalar; got f64[?]"));
  CHECK_THROWS_WITH(jacobian(x * 2, z),
                    Catch::Contains("jacobian: the expressions do not depend "
                                    "on z"));
  JacobianOptions rows;
  rows.vectorize = false;
  CHECK_THROWS_WITH(jacobian(x * 2, x, rows),
                    Catch::Contains("has an unknown size") &&
                        Catch::Contains("vectorize=True"));
  JacobianOptions ignore;
  ignore.disconnectedInputs = DisconnectedInputs::Ignore;
  NDArray J = call({x, z}, {jacobian(x * 2, z, ignore)},
                   {array(DType::Float64, {2}, {1, 2}),
                    array(DType::Float64, {3}, {1, 2, 3})})[0];
  expectNear(J, {2, 3}, std::vector<double>(6, 0));
}

TEST_CASE("vectorizeGraph: advanced indexing", "[grad][vectorize]") {
  auto idx = [](const std::vector<int64_t> &v, Shape shape = {}) {
    if (shape.empty())
      shape = {(int64_t)v.size()};
    return constant(ints(DType::Int64, shape, v));
  };
  using I = Index;
  // Unbatched indices: adjacent, separated (B first), with an integer.
  // (The value written: a shape that broadcasts to the selection.)
  const std::vector<std::pair<std::vector<Index>, Shape>> cases = {
      {{I::array(idx({2, 0, 2}))}, {4}},
      {{I::all(), I::array(idx({1, 0}, {2, 1})), I::array(idx({3, 2, 3}))},
       {2, 1}},
      {{I::array(idx({0, 2})), I::all(), I::array(idx({3, 0}))}, {4}},
      {{I::at(1), I::all(), I::array(idx({0, 3}))}, {2, 4}},
      {{I::newAxis(), I::array(idx({1, 0})), I::slice({}, {}, -1)}, {4}},
      {{I::array(constant(ints(DType::Bool, {3}, {1, 0, 1})))}, {4, 4}}};
  for (const auto &[index, yShape] : cases) {
    checkVectorizeAll([&](auto x) { return subtensor(x[0], index); },
                      {{3, 4, 4}});
    checkVectorizeAll(
        [&](auto x) { return incSubtensor(subtensor(x[0], index), x[1]); },
        {{3, 4, 4}, yShape});
    checkVectorizeAll(
        [&](auto x) {
          return setSubtensor(subtensor(x[0], index), sum(x[1]));
        },
        {{3, 4, 4}, {2}});
  }
  // Batched indices (from a batched value): an arange for the batch axis.
  auto bits = [](const Var &v) { return cast(gt(v, 0.0), DType::Int64); };
  checkVectorizeAll(
      [&](auto x) { return subtensor(x[0], {I::array(bits(x[1]))}); },
      {{3, 4}, {5}});
  checkVectorizeAll(
      [&](auto x) {
        return subtensor(x[0], {I::all(), I::array(bits(x[1])), I::at(2)});
      },
      {{2, 3, 4}, {5}});
  checkVectorizeAll(
      [&](auto x) {
        return subtensor(x[0],
                         {I::all(), I::array(bits(x[1])), I::slice(1),
                          I::array(idx({0, 3, 1, 2, 0}))});
      },
      {{2, 3, 4, 4}, {5}});
  checkVectorizeAll(
      [&](auto x) {
        return subtensor(x[0],
                         {I::slice(1), I::array(bits(x[1])),
                          I::at(argmax(x[2]))});
      },
      {{3, 2, 4}, {3}, {4}});
  checkVectorizeAll(
      [&](auto x) {
        return incSubtensor(subtensor(x[0], {I::all(), I::array(bits(x[1]))}),
                            x[2]);
      },
      {{3, 2}, {4}, {4}});
  checkVectorizeAll(
      [&](auto x) {
        return setSubtensor(
            subtensor(x[0], {I::array(bits(x[1])), I::all(), I::at(1)}), x[2]);
      },
      {{2, 3, 2}, {4}, {3}});
  // A mask that varies cannot batch.
  Var x = matrix("x"), X = tensor3("X");
  CHECK_THROWS_WITH(
      vectorizeGraph({subtensor(x, {I::array(gt(x, 0.0))})}, {{x, X}}),
      Catch::Contains("cannot vectorize advanced_subtensor") &&
          Catch::Contains("the number of elements a boolean mask selects"));
}

TEST_CASE("jacobian and hessian through advanced indexing",
          "[grad][jacobian]") {
  Var rows = constant(ints(DType::Int64, {4}, {2, 0, 2, 1}));
  checkJacobian(
      [&](auto x) { return subtensor(x[0], {Index::array(rows)}) * 2.0; },
      {{3, 2}});
  checkJacobian(
      [&](auto x) {
        return incSubtensor(subtensor(x[0], {Index::array(rows)}),
                            exp(x[1]));
      },
      {{3, 2}, {4, 2}});
  // The negative log-likelihood's Hessian, batched and row by row.
  Var x = tensor(DType::Float64, {4, 3}, "x");
  Var y = constant(ints(DType::Int32, {4}, {2, 0, 2, 1}));
  Var nll = neg(mean(subtensor(
      log(softmax(x)), {Index::array(arange(0, shapeOf(y, 0))),
                        Index::array(y)})));
  JacobianOptions rowByRow;
  rowByRow.vectorize = false;
  std::mt19937 rng(5);
  NDArray xv = uniformArray({4, 3}, -1, 1, 0, rng);
  std::vector<NDArray> both =
      call({x}, {hessian(nll, x), hessian(nll, x, rowByRow)}, {xv});
  REQUIRE(both[0].shape() == Shape{4, 3, 4, 3});
  expectClose(both[0], both[1], 1e-13);
}
