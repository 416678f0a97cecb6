//===- SpecializeTest.cpp -------------------------------------------------===//
//
// For each rewrite of the specialize pass: the graph after the pass alone
// has the faster form (or, where the rewrite must not fire, the old one),
// and FAST_RUN (every pass, compiled) computes what REFERENCE (no rewrites,
// the reference kernels) does, to rounding, on several inputs: float32 and
// float64, transposed views, broadcast scalings, shapes with 1s.
//
//===----------------------------------------------------------------------===//
#include "RewriteTestUtil.h"

using namespace thjit;
using namespace thjit::test;

namespace {

const DType F32 = DType::Float32, F64 = DType::Float64;

/// The graph of `outs` after the specialize pass alone.
Graph specialized(const std::vector<Var> &ins, const std::vector<Var> &outs) {
  return rewrite(ins, outs, {"specialize"});
}

/// How many nodes of this kind the graph has.
int countKind(const Graph &g, OpKind kind) {
  int n = 0;
  for (Node *node : g.nodes())
    n += node->kind() == kind;
  return n;
}

/// FAST_RUN and REFERENCE give the same dtypes, shapes and values: equal
/// to a relative `rtol` (NaN, infinities and signed zeros exactly).
void checkSameAsReference(const std::vector<Var> &ins,
                          const std::vector<Var> &outs,
                          const std::vector<NDArray> &args, double rtol) {
  std::vector<NDArray> fast = runIn("FAST_RUN", ins, outs, args);
  std::vector<NDArray> ref = runIn("REFERENCE", ins, outs, args);
  REQUIRE(fast.size() == ref.size());
  for (size_t o = 0; o < fast.size(); ++o) {
    INFO("output " << o);
    CHECK(dtypeName(fast[o].dtype()) == std::string(dtypeName(ref[o].dtype())));
    REQUIRE(fast[o].shape() == ref[o].shape());
    std::vector<double> f = flat(fast[o]), r = flat(ref[o]);
    for (size_t i = 0; i < f.size(); ++i) {
      INFO("element " << i << ": FAST_RUN " << f[i] << ", REFERENCE " << r[i]);
      CHECK(close(f[i], r[i], rtol, 0));
    }
  }
}

/// Some values of dtype t in [-2, 2) and shape `shape`, none zero.
NDArray values(DType t, const Shape &shape, double seed = 0) {
  std::vector<double> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(std::fmod((double)i * 0.7371 + seed * 0.311, 4.0) - 1.9921875);
  return array(t, shape, v);
}

double rtolOf(DType t) { return t == F32 ? 2e-6 : 1e-14; }

} // namespace

// ---- Powers ---------------------------------------------------------------

TEST_CASE("x ** 2 is sqr(x), x ** -1 a division; x ** 0.5 stays pow",
          "[specialize][pow]") {
  Var x = vector("x", F64);
  Graph g =
      specialized({x}, {pow(x, 2), pow(x, 0.5), pow(x, -1), pow(x, -0.5)});
  INFO(printed(g));
  // sqrt differs from pow at -0 and -inf; the loop emitter already
  // computes x ** 0.5 as a square root with pow's answers there.
  CHECK(countKind(g, OpKind::Pow) == 2);
  CHECK(countKind(g, OpKind::Sqr) == 1);
  CHECK_FALSE(contains(g, OpKind::Sqrt));
  CHECK(countKind(g, OpKind::TrueDiv) == 1);
  CHECK(g.outputs()[0].node()->kind() == OpKind::Sqr);
  NDArray edges = array(F64, {4}, {-0.0, -kInf, kInf, 4});
  auto fast = runIn("FAST_RUN", {x}, {pow(x, 0.5)}, {edges});
  CHECK_FALSE(std::signbit(fast[0].flatAt(0).toDouble()));
  CHECK(fast[0].flatAt(1).toDouble() == kInf);
}

TEST_CASE("small integer powers of integers are multiplications by "
          "squaring; of floats they stay pow",
          "[specialize][pow]") {
  Var i = vector("i", DType::Int64);
  struct Case {
    int n, muls, sqrs;
  } cases[] = {{3, 1, 1}, {4, 0, 2}, {5, 1, 2}, {6, 1, 2}, {7, 2, 2}, {8, 0, 3}};
  for (const Case &c : cases) {
    INFO("i ** " << c.n);
    Graph g = specialized({i}, {pow(i, c.n)});
    INFO(printed(g));
    CHECK_FALSE(contains(g, OpKind::Pow));
    CHECK(countKind(g, OpKind::Mul) == c.muls);
    CHECK(countKind(g, OpKind::Sqr) == c.sqrs);
    checkSameAsReference({i}, {pow(i, c.n)},
                         {ints(DType::Int64, {4}, {-3, 0, 7, 100003})}, 0);
  }
  // Floats (the emitter squares in double-double), past 8, negative
  // exponents and non-integers stay pow.
  Var x = vector("x", F64);
  for (double e : {3.0, 7.0, -3.0, 9.0, -9.0, 2.5, 1.5, 0.25}) {
    INFO("x ** " << e);
    CHECK(contains(specialized({x}, {pow(x, e)}), OpKind::Pow));
  }
  CHECK(contains(specialized({i}, {pow(i, 9)}), OpKind::Pow));
}

TEST_CASE("x ** 1 is x and x ** 0 ones, NaN included", "[specialize][pow]") {
  Var x = vector("x", F64);
  Graph one = specialized({x}, {pow(x, 1)});
  CHECK(one.outputs()[0] == x);
  Graph zero = specialized({x}, {pow(x, 0)});
  INFO(printed(zero));
  CHECK_FALSE(contains(zero, OpKind::Pow));
  CHECK(contains(zero, OpKind::Alloc));
  NDArray a = array(F64, {4}, {kNaN, kInf, -0.0, 3});
  checkSameAsReference({x}, {pow(x, 0), pow(x, 1)}, {a}, 0);
  expectValues(runIn("FAST_RUN", {x}, {pow(x, 0)}, {a})[0], F64, {4},
               {1, 1, 1, 1});
}

TEST_CASE("powers keep pow's dtype", "[specialize][pow]") {
  SECTION("int ** 2 and int ** 3 stay integers, wrapping as pow does") {
    Var i = vector("i", DType::Int32);
    Graph g = specialized({i}, {pow(i, 2), pow(i, 3)});
    INFO(printed(g));
    CHECK_FALSE(contains(g, OpKind::Pow));
    CHECK(g.outputs()[0].dtype() == DType::Int32);
    CHECK(g.outputs()[1].dtype() == DType::Int32);
    NDArray a = ints(DType::Int32, {4}, {-3, 0, 7, 100000});
    checkSameAsReference({i}, {pow(i, 2), pow(i, 3)}, {a}, 0);
  }
  SECTION("integers to negative powers are not rewritten (they raise)") {
    Var i = vector("i", DType::Int64);
    CHECK(contains(specialized({i}, {pow(i, -1)}), OpKind::Pow));
    CHECK(contains(specialized({i}, {pow(i, -2)}), OpKind::Pow));
  }
  SECTION("int ** 0.5 is the square root of the int as float64") {
    Var i = vector("i", DType::Int32);
    Var p = pow(i, 0.5);
    Graph g = specialized({i}, {p});
    INFO(printed(g));
    CHECK(contains(g, OpKind::Pow)); // the emitter takes its square root
    CHECK(g.outputs()[0].dtype() == p.dtype());
    checkSameAsReference({i}, {p}, {ints(DType::Int32, {3}, {0, 4, 7})}, 1e-15);
  }
  SECTION("float32 with a float64 constant exponent computes in float64") {
    Var x = vector("x", F32);
    Var p = pow(x, constant(Scalar(2.0)));
    REQUIRE(p.dtype() == F64);
    Graph g = specialized({x}, {p});
    CHECK(g.outputs()[0].dtype() == F64);
    checkSameAsReference({x}, {p}, {values(F32, {5})}, 0);
  }
}

TEST_CASE("a broadcast constant exponent keeps the result's shape",
          "[specialize][pow]") {
  Var x = row("x", F64); // (1, ?)
  Var e = constant(NDArray::full(F64, {3, 1}, Scalar(2.0)));
  Var p = pow(x, e); // (3, ?)
  Graph g = specialized({x}, {p});
  INFO(printed(g));
  CHECK_FALSE(contains(g, OpKind::Pow));
  CHECK(g.outputs()[0].type() == p.type());
  checkSameAsReference({x}, {p}, {values(F64, {1, 4})}, 0);
}

TEST_CASE("powers compute what pow does, to rounding", "[specialize][pow]") {
  for (DType t : {F32, F64}) {
    INFO(dtypeName(t));
    Var x = vector("x", t);
    std::vector<Var> outs;
    for (double e :
         {2.0, 3.0, 4.0, 5.0, 7.0, 8.0, -1.0, -2.0, -3.0, -8.0, 0.5, -0.5})
      outs.push_back(pow(x, e));
    // A few ulps: each multiplication rounds.
    double rtol = t == F32 ? 1e-6 : 2e-15;
    checkSameAsReference({x}, outs, {values(t, {37})}, rtol);
    checkSameAsReference({x}, outs, {values(t, {1})}, rtol);
    // Zeros, infinities, NaN: where sqrt and pow agree (+0, +inf).
    NDArray special = array(t, {5}, {0.0, kInf, kNaN, 1e-30, 3e10});
    checkSameAsReference({x}, outs, {special}, rtol);
    // A strided view.
    NDArray m = transposedView(values(t, {6, 5}));
    checkSameAsReference({x}, outs, {m.select(0, 1)}, rtol);
  }
}

// ---- gemm and gemv
// ------------------------------------------------------------

TEST_CASE("C + dot(A, B) and its scaled forms are one gemm",
          "[specialize][gemm]") {
  for (DType t : {F32, F64}) {
    INFO(dtypeName(t));
    Var A = matrix("A", t), B = matrix("B", t), C = matrix("C", t);
    Var a = scalar("a", t), b = scalar("b", t);
    std::vector<Var> forms = {
        C + dot(A, B),         dot(A, B) + C,
        b * C + a * dot(A, B), dot(A, B) * a + C * b,
        C - dot(A, B),         dot(A, B) - C,
        C - a * dot(A, B),     b * C - dot(A, B) * 2.0,
        neg(dot(A, B)) + C,    2.0 * dot(A, B) + neg(C),
    };
    for (size_t i = 0; i < forms.size(); ++i) {
      INFO("form " << i);
      Graph g = specialized({A, B, C, a, b}, {forms[i]});
      INFO(printed(g));
      CHECK(countKind(g, OpKind::Gemm) == 1);
      CHECK_FALSE(contains(g, OpKind::Dot));
      CHECK_FALSE(contains(g, OpKind::Add));
      CHECK_FALSE(contains(g, OpKind::Sub));
      CHECK(g.outputs()[0].node()->kind() == OpKind::Gemm);
    }
    NDArray av = values(t, {3, 4}, 1), bv = values(t, {4, 5}, 2),
            cv = values(t, {3, 5}, 3);
    NDArray x = array(t, {}, {1.5}), y = array(t, {}, {-0.75});
    checkSameAsReference({A, B, C, a, b}, forms, {av, bv, cv, x, y},
                         rtolOf(t) * 10);
    // Transposed and strided operands.
    checkSameAsReference(
        {A, B, C, a, b}, forms,
        {transposedView(av), transposedView(bv), transposedView(cv), x, y},
        rtolOf(t) * 10);
    // Shapes with 1s: one row, one inner element (a rank-1 update).
    checkSameAsReference(
        {A, B, C, a, b}, forms,
        {values(t, {1, 4}), values(t, {4, 1}, 1), values(t, {1, 1}, 2), x, y},
        rtolOf(t) * 10);
    checkSameAsReference({A, B, C, a, b}, forms,
                         {values(t, {3, 1}), values(t, {1, 5}, 1), cv, x, y},
                         rtolOf(t) * 10);
  }
}

TEST_CASE("a matrix times a vector plus a vector is one gemv",
          "[specialize][gemm]") {
  for (DType t : {F32, F64}) {
    INFO(dtypeName(t));
    Var A = matrix("A", t), x = vector("x", t), y = vector("y", t);
    Var a = scalar("a", t);
    std::vector<Var> forms = {y + dot(A, x), a * dot(x, A) + y,
                              y - dot(transpose(A), x) * a};
    for (size_t i = 0; i < forms.size(); ++i) {
      INFO("form " << i);
      Graph g = specialized({A, x, y, a}, {forms[i]});
      INFO(printed(g));
      CHECK(g.outputs()[0].node()->kind() == OpKind::Gemm);
      CHECK_FALSE(contains(g, OpKind::Dot));
    }
    NDArray s = array(t, {}, {0.5});
    checkSameAsReference(
        {A, x, y, a}, forms,
        {values(t, {4, 4}), values(t, {4}, 1), values(t, {4}, 2), s},
        rtolOf(t) * 10);
    checkSameAsReference({A, x, y, a}, forms,
                         {transposedView(values(t, {4, 4})),
                          transposedView(values(t, {4, 8})).select(1, 3),
                          values(t, {4}, 2), s},
                         rtolOf(t) * 10);
  }
}

TEST_CASE("transposed operands stay views of the gemm", "[specialize][gemm]") {
  Var A = matrix("A", F64), B = matrix("B", F64), C = matrix("C", F64);
  Var out = C + dot(transpose(A), transpose(B));
  Graph g = specialized({A, B, C}, {out});
  INFO(printed(g));
  Node *gemm = g.outputs()[0].node();
  REQUIRE(gemm->kind() == OpKind::Gemm);
  CHECK(gemm->operand(2).node()->kind() == OpKind::DimShuffle);
  CHECK(gemm->operand(3).node()->kind() == OpKind::DimShuffle);
  checkSameAsReference(
      {A, B, C}, {out},
      {values(F64, {4, 3}), values(F64, {5, 4}, 1), values(F64, {3, 5}, 2)},
      1e-14);
}

TEST_CASE("dot(A, B).T is dot(B.T, A.T), and then a gemm",
          "[specialize][gemm]") {
  Var A = matrix("A", F64), B = matrix("B", F64), C = matrix("C", F64);
  SECTION("alone") {
    Var out = transpose(dot(A, B));
    Graph g = specialized({A, B}, {out});
    INFO(printed(g));
    Node *d = g.outputs()[0].node();
    REQUIRE(d->kind() == OpKind::Dot);
    CHECK(d->operand(0).node()->kind() == OpKind::DimShuffle);
    CHECK(d->operand(0).node()->operand(0) == B);
    checkSameAsReference({A, B}, {out},
                         {values(F64, {2, 3}), values(F64, {3, 4}, 1)}, 1e-14);
  }
  SECTION("a transposed operand's transpose is the operand") {
    Graph g = specialized({A, B}, {transpose(dot(transpose(A), B))});
    Node *d = g.outputs()[0].node();
    REQUIRE(d->kind() == OpKind::Dot);
    CHECK(d->operand(1) == A);
  }
  SECTION("plus C") {
    Var out = transpose(dot(A, B)) + C;
    Graph g = specialized({A, B, C}, {out});
    INFO(printed(g));
    CHECK(g.outputs()[0].node()->kind() == OpKind::Gemm);
    checkSameAsReference(
        {A, B, C}, {out},
        {values(F64, {2, 3}), values(F64, {3, 4}, 1), values(F64, {4, 2}, 2)},
        1e-14);
  }
  SECTION("not when the dot has another reader") {
    Var d = dot(A, B);
    Graph g = specialized({A, B}, {transpose(d), d});
    CHECK(countKind(g, OpKind::Dot) == 1);
    CHECK(g.outputs()[0].node()->kind() == OpKind::DimShuffle);
  }
}

TEST_CASE("broadcast scalings become gemm's alpha and beta",
          "[specialize][gemm]") {
  Var A = matrix("A", F64), B = matrix("B", F64), C = matrix("C", F64);
  Var a11 = tensor(F64, {1, 1}, "a11"); // one number as a matrix
  Var s = scalar("s", F64);
  Var out = dimshuffle(s, {-1, -1}) * C + dot(A, B) * a11;
  Graph g = specialized({A, B, C, a11, s}, {out});
  INFO(printed(g));
  Node *gemm = g.outputs()[0].node();
  REQUIRE(gemm->kind() == OpKind::Gemm);
  CHECK(gemm->operand(1).ndim() == 0);
  CHECK(gemm->operand(4) == s);
  checkSameAsReference({A, B, C, a11, s}, {out},
                       {values(F64, {3, 2}), values(F64, {2, 4}, 1),
                        values(F64, {3, 4}, 2), array(F64, {1, 1}, {-2.5}),
                        array(F64, {}, {3})},
                       1e-14);
  // A constant scaling is a constant alpha.
  Graph c = specialized(
      {A, B, C},
      {C + constant(NDArray::full(F64, {1, 1}, Scalar(4.0))) * dot(A, B)});
  INFO(printed(c));
  REQUIRE(c.outputs()[0].node()->kind() == OpKind::Gemm);
  const Var &alpha = c.outputs()[0].node()->operand(1);
  REQUIRE(alpha.isConstant());
  CHECK(alpha.ndim() == 0);
  CHECK(alpha.constantValue().item().toDouble() == 4.0);
}

TEST_CASE("sums of several products nest gemms", "[specialize][gemm]") {
  Var A = matrix("A", F64), B = matrix("B", F64), C = matrix("C", F64),
      D = matrix("D", F64);
  Var out = dot(A, B) + dot(C, D);
  Graph g = specialized({A, B, C, D}, {out});
  INFO(printed(g));
  CHECK(countKind(g, OpKind::Gemm) == 1);
  CHECK(countKind(g, OpKind::Dot) == 1);
  checkSameAsReference({A, B, C, D}, {out, out + dot(A, B) * 2.0},
                       {values(F64, {2, 3}), values(F64, {3, 2}, 1),
                        values(F64, {2, 4}, 2), values(F64, {4, 2}, 3)},
                       1e-14);
}

TEST_CASE("gemm is not formed where it must not be", "[specialize][gemm]") {
  Var A = matrix("A", F64), B = matrix("B", F64), C = matrix("C", F64);
  SECTION("the dot has another reader") {
    Var d = dot(A, B);
    Graph g = specialized({A, B, C}, {C + d, d});
    INFO(printed(g));
    CHECK_FALSE(contains(g, OpKind::Gemm));
  }
  SECTION("the scaled dot has another reader") {
    Var d = 2.0 * dot(A, B);
    Graph g = specialized({A, B, C}, {C + d, d});
    CHECK_FALSE(contains(g, OpKind::Gemm));
  }
  SECTION("integers") {
    Var I = matrix("I", DType::Int64), J = matrix("J", DType::Int64),
        K = matrix("K", DType::Int64);
    CHECK_FALSE(
        contains(specialized({I, J, K}, {K + dot(I, J)}), OpKind::Gemm));
  }
  SECTION("C is broadcast (a bias row)") {
    Var v = vector("v", F64);
    Graph g = specialized({A, B, v}, {dot(A, B) + v});
    CHECK_FALSE(contains(g, OpKind::Gemm));
    checkSameAsReference(
        {A, B, v}, {dot(A, B) + v},
        {values(F64, {2, 3}), values(F64, {3, 4}, 1), values(F64, {4}, 2)},
        1e-14);
  }
  SECTION("the product is broadcast (one row against C's rows)") {
    Var r = row("r", F64);
    Var out = C + dot(r, B);
    Graph g = specialized({r, B, C}, {out});
    CHECK_FALSE(contains(g, OpKind::Gemm));
    checkSameAsReference(
        {r, B, C}, {out},
        {values(F64, {1, 3}), values(F64, {3, 4}, 1), values(F64, {2, 4}, 2)},
        1e-14);
  }
  SECTION("matching broadcast patterns do form it") {
    Var r = row("r", F64), c = row("c", F64);
    Graph g = specialized({r, B, c}, {c + dot(r, B)});
    CHECK(contains(g, OpKind::Gemm));
  }
  SECTION("mixed dtypes (float32 C, float64 product)") {
    Var C32 = matrix("C32", F32);
    CHECK_FALSE(
        contains(specialized({A, B, C32}, {C32 + dot(A, B)}), OpKind::Gemm));
  }
  SECTION("a scaling that is not one number") {
    Var v = vector("v", F64);
    CHECK_FALSE(
        contains(specialized({A, B, C, v}, {C + v * dot(A, B)}), OpKind::Gemm));
  }
  SECTION("a zero scaling (gemm would not read C or the product)") {
    // 0 * C stays computed (a NaN in C must reach the result) ...
    Graph z = specialized({A, B, C}, {C * 0.0 + dot(A, B)});
    INFO(printed(z));
    REQUIRE(z.outputs()[0].node()->kind() == OpKind::Gemm);
    CHECK(z.outputs()[0].node()->operand(0).node()->kind() == OpKind::Mul);
    // ... and 0 * dot(A, B) is no alpha.
    Graph g = specialized({A, B, C}, {C + dot(A, B) * 0.0});
    CHECK_FALSE(contains(g, OpKind::Gemm));
    NDArray nanC = NDArray::full(F64, {2, 2}, Scalar(kNaN));
    checkSameAsReference({A, B, C}, {C * 0.0 + dot(A, B)},
                         {values(F64, {2, 3}), values(F64, {3, 2}, 1), nanC},
                         0);
  }
  SECTION("a dot of two vectors") {
    Var x = vector("x", F64), y = vector("y", F64), s = scalar("s", F64);
    CHECK_FALSE(
        contains(specialized({x, y, s}, {s + dot(x, y)}), OpKind::Gemm));
  }
  SECTION("outer products stay element-wise (one fused loop is faster)") {
    Var x = vector("x", F64), y = vector("y", F64);
    CHECK_FALSE(
        contains(specialized({x, y, C}, {C + outer(x, y)}), OpKind::Gemm));
  }
}

// ---- sum(x * y) -------------------------------------------------------------

TEST_CASE("sum(x * y) of float64 vectors is dot(x, y)", "[specialize][dot]") {
  Var x = vector("x", F64), y = vector("y", F64);
  Var out = sum(x * y);
  Graph g = specialized({x, y}, {out});
  INFO(printed(g));
  REQUIRE(g.outputs()[0].node()->kind() == OpKind::Dot);
  CHECK_FALSE(contains(g, OpKind::Sum));
  CHECK_FALSE(contains(g, OpKind::Mul));
  checkSameAsReference({x, y}, {out, sum(x * x)},
                       {values(F64, {1000}), values(F64, {1000}, 1)}, 1e-13);
  checkSameAsReference(
      {x, y}, {out},
      {transposedView(values(F64, {3, 2})).select(1, 0), values(F64, {3}, 1)},
      1e-14);
  checkSameAsReference({x, y}, {out}, {values(F64, {0}), values(F64, {0})}, 0);
}

TEST_CASE("sum(x * y) stays a reduction where dot does not pay",
          "[specialize][dot]") {
  SECTION("float32: sdot would accumulate in float32") {
    Var x = vector("x", F32), y = vector("y", F32);
    CHECK_FALSE(contains(specialized({x, y}, {sum(x * y)}), OpKind::Dot));
  }
  SECTION("vectors known to be short") {
    Var x = tensor(F64, {8}, "x"), y = tensor(F64, {8}, "y");
    CHECK_FALSE(contains(specialized({x, y}, {sum(x * y)}), OpKind::Dot));
  }
  Var x = vector("x", F64), y = vector("y", F64);
  SECTION("x * y has another reader") {
    Var p = x * y;
    CHECK_FALSE(contains(specialized({x, y}, {sum(p), p}), OpKind::Dot));
  }
  SECTION("broadcasting") {
    Var s = tensor(F64, {1}, "s");
    Var out = sum(x * s);
    CHECK_FALSE(contains(specialized({x, s}, {out}), OpKind::Dot));
  }
  SECTION("a matrix") {
    Var m = matrix("m", F64);
    CHECK_FALSE(contains(specialized({m}, {sum(m * m)}), OpKind::Dot));
  }
  SECTION("keepdims") {
    CHECK_FALSE(
        contains(specialized({x, y}, {sum(x * y, Axes(), true)}), OpKind::Dot));
  }
}
