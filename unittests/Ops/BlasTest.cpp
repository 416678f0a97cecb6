//===- BlasTest.cpp - dot, tensordot, batched_dot against NumPy 1.24 ------===//
//
// Every rank combination of dot, tensordot with explicit and counted axes,
// batched_dot, outer and matmul, on strided views and empty operands, with
// the dtypes and shape errors NumPy gives.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

using namespace thjit;
using namespace thjit::test;

namespace {

// A = arange(6).reshape(2, 3) - 2, B = arange(12).reshape(3, 4) * 0.5 - 1.
NDArray aValue() { return iota(DType::Float64, {2, 3}, -2); }
NDArray bValue() { return iota(DType::Float64, {3, 4}, -1, 0.5); }
// T = arange(24).reshape(2, 3, 4) - 10.
NDArray tValue() { return iota(DType::Float64, {2, 3, 4}, -10); }

// The same values as `a`, with the last axis stored reversed.
NDArray reversedView(const NDArray &a) {
  int last = a.ndim() - 1;
  int64_t n = a.dim(last);
  return a.slice(last, n - 1, -1, -1).copy().slice(last, n - 1, -1, -1);
}

} // namespace

TEST_CASE("dot of vectors and matrices", "[blas]") {
  Var a = matrix("a"), b = matrix("b"), v = vector("v"), w = vector("w");
  NDArray v3 = array(DType::Float64, {3}, {1, -2, 0.5});
  NDArray v2 = array(DType::Float64, {2}, {3, -1});
  for (int layout = 0; layout < 3; ++layout) {
    INFO("layout " << layout);
    auto view = [&](const NDArray &x) {
      return layout == 0   ? x
             : layout == 1 ? transposedView(x)
                           : reversedView(x);
    };
    Bindings args{
        {a, view(aValue())}, {b, view(bValue())}, {v, view(v3)}, {w, view(v2)}};
    expectValues(evalChecked(dot(a, b), args), DType::Float64, {2, 4},
                 {1.0, -0.5, -2.0, -3.5, 10.0, 13.0, 16.0, 19.0});
    expectValues(evalChecked(dot(a, v), args), DType::Float64, {2},
                 {0.0, -1.5});
    expectValues(evalChecked(dot(w, a), args), DType::Float64, {3},
                 {-7.0, -5.0, -3.0});
    expectValues(evalChecked(dot(v, v), args), DType::Float64, {}, {5.25});
    expectValues(evalChecked(matmul(a, b), args), DType::Float64, {2, 4},
                 {1.0, -0.5, -2.0, -3.5, 10.0, 13.0, 16.0, 19.0});
    expectValues(evalChecked(outer(w, v), args), DType::Float64, {2, 3},
                 {3.0, -6.0, 1.5, -1.0, 2.0, -0.5});
  }
  // A scalar operand multiplies.
  Var s = scalar("s");
  expectValues(
      evalChecked(dot(s, v), {{s, array(DType::Float64, {}, {2})}, {v, v3}}),
      DType::Float64, {3}, {2, -4, 1});
  // Static sizes flow through.
  Var p = tensor(DType::Float64, {2, U}), q = tensor(DType::Float64, {U, 5});
  CHECK(dot(p, q).type()->str() == "f64[2,5]");
  CHECK(dot(p, vector()).type()->str() == "f64[2]");
}

TEST_CASE("dot of higher ranks contracts the last and second-to-last axes",
          "[blas]") {
  Var t = tensor3("t"), c = matrix("c"), a = matrix("a"), d = tensor3("d"),
      w = vector("w");
  NDArray cv = iota(DType::Float64, {4, 5}, 0, 0.25);
  NDArray dv = iota(DType::Float64, {4, 3, 2}, 0, 0.5);
  for (bool views : {false, true}) {
    auto view = [&](const NDArray &x) { return views ? reversedView(x) : x; };
    Bindings args{{t, view(tValue())},
                  {c, view(cv)},
                  {a, view(aValue())},
                  {d, view(dv)},
                  {w, array(DType::Float64, {4}, {1, 0, -1, 2})}};
    expectValues(evalChecked(dot(t, c), args), DType::Float64, {2, 3, 5},
                 {-57.5, -66.0, -74.5, -83.0, -91.5, -27.5, -32.0, -36.5,
                  -41.0, -45.5, 2.5,   2.0,   1.5,   1.0,   0.5,   32.5,
                  36.0,  39.5,  43.0,  46.5,  62.5,  70.0,  77.5,  85.0,
                  92.5,  92.5,  104.0, 115.5, 127.0, 138.5});
    expectValues(evalChecked(dot(a, d), args), DType::Float64, {2, 4, 2},
                 {-1.0, -2.5, -10.0, -11.5, -19.0, -20.5, -28.0, -29.5, 8.0,
                  11.0, 26.0, 29.0, 44.0, 47.0, 62.0, 65.0});
    expectValues(evalChecked(dot(t, w), args), DType::Float64, {2, 3},
                 {-16.0, -8.0, 0.0, 8.0, 16.0, 24.0});
  }
}

TEST_CASE("tensordot", "[blas]") {
  Var t = tensor3("t"), e = tensor3("e");
  Bindings args{{t, tValue()}, {e, iota(DType::Float64, {4, 5, 2}, 0, 0.1)}};
  // Axes in any order: a's axis 0 with e's axis 2, a's 2 with e's 0.
  Var z = tensordot(t, e, {0, 2}, {2, 0});
  CHECK(z.ndim() == 2);
  expectValues(evalChecked(z, args), DType::Float64, {3, 5},
               {-18.6, -22.6, -26.60000000000001, -30.599999999999994, -34.6,
                31.000000000000004, 33.400000000000006, 35.8, 38.20000000000001,
                40.60000000000001, 80.6, 89.4, 98.2, 107.00000000000001,
                115.80000000000001},
               1e-13);
  // Negative axes count from the end.
  expectValues(evalChecked(tensordot(t, e, {-3, -1}, {-1, 0}), args),
               DType::Float64, {3, 5}, flat(eval(z, args)));
  // tensordot(a, b, n): the last n axes of a with the first n of b.
  Var m = matrix("m");
  expectValues(evalChecked(tensordot(t, m, 2),
                           {{t, tValue()}, {m, iota(DType::Float64, {3, 4})}}),
               DType::Float64, {2}, {-154.0, 638.0});
  Var v = vector("v"), w = vector("w");
  Bindings vargs{{v, array(DType::Float64, {2}, {3, -1})},
                 {w, array(DType::Float64, {3}, {1, -2, 0.5})}};
  expectValues(evalChecked(tensordot(v, w, 0), vargs), DType::Float64, {2, 3},
               {3.0, -6.0, 1.5, -1.0, 2.0, -0.5});
  // Errors.
  CHECK_THROWS_KIND(tensordot(t, e, {0}, {0, 1}), ValueError,
                    "the axis lists have lengths 1 and 2");
  CHECK_THROWS_KIND(tensordot(t, e, {0, 0}, {1, 2}), ValueError,
                    "invalid axes");
  CHECK_THROWS_KIND(tensordot(t, e, {3}, {0}), ValueError, "out of bounds");
  CHECK_THROWS_KIND(tensordot(t, m, 3), ValueError, "cannot contract 3 axes");
  CHECK_THROWS_KIND(eval(tensordot(t, e, {1}, {1}), args), ShapeError,
                    "not aligned");
}

TEST_CASE("batched_dot in every rank combination", "[blas]") {
  Var x3 = tensor3("x3"), y3 = tensor3("y3"), x2 = matrix("x2"),
      y2 = matrix("y2");
  NDArray x3v = iota(DType::Float64, {2, 2, 3}, -5);
  NDArray y3v = iota(DType::Float64, {2, 3, 3}, 0, 0.5);
  NDArray x2v = array(DType::Float64, {2, 3}, {1, 2, 3, -1, 0, 2});
  NDArray y2v = array(DType::Float64, {2, 3}, {0.5, 1, -1, 2, 2, 2});
  for (bool views : {false, true}) {
    auto view = [&](const NDArray &x) { return views ? transposedView(x) : x; };
    Bindings args{
        {x3, view(x3v)}, {y3, view(y3v)}, {x2, view(x2v)}, {y2, view(y2v)}};
    expectValues(evalChecked(batchedDot(x3, y3), args), DType::Float64,
                 {2, 2, 3},
                 {-15.0, -21.0, -27.0, -1.5, -3.0, -4.5, 39.0, 42.0, 45.0, 93.0,
                  100.5, 108.0});
    expectValues(evalChecked(batchedDot(x3, y2), args), DType::Float64, {2, 2},
                 {-3.5, -2.0, 12.0, 30.0});
    expectValues(evalChecked(batchedDot(x2, y3), args), DType::Float64, {2, 3},
                 {12.0, 15.0, 18.0, 10.5, 11.0, 11.5});
    expectValues(evalChecked(batchedDot(x2, y2), args), DType::Float64, {2},
                 {-0.5, 2.0});
  }
  // An empty batch.
  expectValues(evalChecked(batchedDot(x3, y3),
                           {{x3, NDArray::empty(DType::Float64, {0, 2, 3})},
                            {y3, NDArray::empty(DType::Float64, {0, 3, 4})}}),
               DType::Float64, {0, 2, 4}, {});
  CHECK_THROWS_KIND(batchedDot(vector(), x3), TypeError,
                    "each operand must have rank 2 or 3");
  CHECK_THROWS_KIND(
      eval(batchedDot(x2, y2), {{x2, x2v}, {y2, iota(DType::Float64, {3, 3})}}),
      ShapeError, "the batch sizes differ");
  CHECK_THROWS_KIND(batchedDot(tensor(DType::Float64, {2, 3}),
                               tensor(DType::Float64, {2, 4})),
                    ShapeError, "not aligned");
}

TEST_CASE("dot dtypes and empty operands", "[blas]") {
  // int8 accumulates with wrap-around, as NumPy's int8 dot.
  Var i = matrix("i", DType::Int8);
  expectInts(evalChecked(dot(i, i),
                         {{i, ints(DType::Int8, {2, 2}, {50, 100, 150, 200})}}),
             DType::Int8, {2, 2}, {92, -88, 124, -40});
  Var b = matrix("b", DType::Bool);
  expectInts(
      evalChecked(dot(b, b), {{b, ints(DType::Bool, {2, 2}, {1, 0, 0, 0})}}),
      DType::Bool, {2, 2}, {1, 0, 0, 0});
  Var f32 = matrix("f", DType::Float32), i32 = matrix("j", DType::Int32);
  CHECK(dot(f32, matrix()).dtype() == DType::Float64);
  CHECK(dot(f32, f32).dtype() == DType::Float32);
  CHECK(dot(i32, f32).dtype() == DType::Float64);
  CHECK(dot(i, i32).dtype() == DType::Int32);
  // Contracting an empty axis gives zeros; empty free axes give empty.
  Var p = matrix("p"), q = matrix("q");
  expectValues(
      evalChecked(dot(p, q), {{p, NDArray::empty(DType::Float64, {2, 0})},
                              {q, NDArray::empty(DType::Float64, {0, 3})}}),
      DType::Float64, {2, 3}, {0, 0, 0, 0, 0, 0});
  expectValues(
      evalChecked(dot(p, q), {{p, NDArray::empty(DType::Float64, {0, 3})},
                              {q, iota(DType::Float64, {3, 2})}}),
      DType::Float64, {0, 2}, {});
}

TEST_CASE("dot errors", "[blas]") {
  CHECK_THROWS_KIND(
      dot(tensor(DType::Float64, {2, 3}), tensor(DType::Float64, {4, 5})),
      ShapeError, "are not aligned");
  Var a = matrix("a"), b = matrix("b");
  CHECK_THROWS_KIND(eval(dot(a, b), {{a, iota(DType::Float64, {2, 3})},
                                     {b, iota(DType::Float64, {2, 3})}}),
                    ShapeError, "(2, 3) and (2, 3) are not aligned");
  CHECK_THROWS_KIND(makeOp(OpKind::Dot, {tensor3(), a}), TypeError,
                    "the Dot op takes vectors and matrices");
  CHECK_THROWS_KIND(matmul(scalar(), a), ValueError, "use * instead");
  CHECK_THROWS_KIND(matmul(tensor3(), a), NotImplementedError, "batched_dot");
}

TEST_CASE("gemm, gemv and ger", "[blas]") {
  Var c = matrix("c"), a = matrix("a"), b = matrix("b");
  Var alpha = scalar("alpha"), beta = scalar("beta");
  NDArray cv = array(DType::Float64, {2, 3}, {1, 1, 1, 1, 1, 1});
  NDArray av = iota(DType::Float64, {2, 4}), bv = iota(DType::Float64, {4, 3});
  auto num = [](double x) { return NDArray::scalar(Scalar(x)); };
  for (bool views : {false, true}) {
    auto view = [&](const NDArray &x) { return views ? transposedView(x) : x; };
    Bindings args{{c, view(cv)}, {a, view(av)}, {b, view(bv)},
                  {alpha, num(2)}, {beta, num(3)}};
    expectValues(evalChecked(gemm(c, alpha, a, b, beta), args), DType::Float64,
                 {2, 3}, {87, 99, 111, 231, 275, 319});
  }
  // A zero beta does not read C; a zero alpha does not read A and B.
  double inf = std::numeric_limits<double>::infinity();
  NDArray nan = NDArray::full(DType::Float64, {2, 3}, Scalar(std::nan("")));
  expectValues(evalChecked(gemm(c, alpha, a, b, beta),
                           {{c, nan}, {a, av}, {b, bv}, {alpha, num(1)},
                            {beta, num(0)}}),
               DType::Float64, {2, 3}, {42, 48, 54, 114, 136, 158});
  expectValues(evalChecked(gemm(c, alpha, a, b, beta),
                           {{c, cv}, {a, NDArray::full(DType::Float64, {2, 4},
                                                       Scalar(inf))},
                            {b, bv}, {alpha, num(0)}, {beta, num(-2)}}),
               DType::Float64, {2, 3}, {-2, -2, -2, -2, -2, -2});
  // Matrix . vector (gemv), vector . vector, and ger's rank-1 update.
  Var y = vector("y"), x = vector("x"), s = scalar("s");
  expectValues(evalChecked(gemm(y, alpha, a, x, beta),
                           {{y, array(DType::Float64, {2}, {1, -1})},
                            {a, av}, {x, array(DType::Float64, {4}, {1, 1, 1, 1})},
                            {alpha, num(1)}, {beta, num(0.5)}}),
               DType::Float64, {2}, {6.5, 21.5});
  expectValues(evalChecked(gemm(s, alpha, x, x, beta),
                           {{s, num(1)}, {x, array(DType::Float64, {3}, {1, 2, 3})},
                            {alpha, num(2)}, {beta, num(-1)}}),
               DType::Float64, {}, {27});
  expectValues(evalChecked(ger(c, alpha, y, x),
                           {{c, cv}, {alpha, num(2)},
                            {y, array(DType::Float64, {2}, {0, 1})},
                            {x, array(DType::Float64, {3}, {0, 1, 2})}}),
               DType::Float64, {2, 3}, {1, 1, 1, 1, 3, 5});
  // The dtype is the product's and C's; alpha and beta are numbers.
  Var f = matrix("f", DType::Float32), i = matrix("i", DType::Int32);
  CHECK(gemm(f, alpha, f, f, beta).dtype() == DType::Float32);
  CHECK(gemm(f, alpha, i, i, beta).dtype() == DType::Float64);
  Var k = scalar("k", DType::Int32);
  expectInts(evalChecked(gemm(i, k, i, i, k),
                         {{i, ints(DType::Int32, {2, 2}, {1, 2, 3, 4})},
                          {k, ints(DType::Int32, {}, {2})}}),
             DType::Int32, {2, 2}, {16, 24, 36, 52});
  // Errors.
  CHECK_THROWS_KIND(gemm(c, x, a, b, beta), TypeError,
                    "alpha must be a scalar; got f64[?]");
  CHECK_THROWS_KIND(gemm(y, alpha, a, b, beta), ShapeError,
                    "C is f64[?] but dot(A, B) of f64[?,?] and f64[?,?] has "
                    "rank 2");
  CHECK_THROWS_KIND(gemm(matrix("p", DType::Bool), alpha,
                         matrix("q", DType::Bool), matrix("r", DType::Bool),
                         beta),
                    TypeError, "gemm of booleans");
  CHECK_THROWS_KIND(ger(c, alpha, a, x), TypeError, "must be vectors");
  CHECK_THROWS_KIND(eval(gemm(c, alpha, a, b, beta),
                         {{c, iota(DType::Float64, {3, 3})}, {a, av}, {b, bv},
                          {alpha, num(1)}, {beta, num(1)}}),
                    ShapeError,
                    "C has shape (3, 3) but dot(A, B) of (2, 4) and (4, 3) "
                    "has shape (2, 3)");
}
