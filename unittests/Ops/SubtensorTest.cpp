//===- SubtensorTest.cpp - Basic indexing and writes against NumPy 1.24 ---===//
//
// x[index] with ints, slices of any step, None and Ellipsis, with constant
// and symbolic bounds; set_subtensor and inc_subtensor; out-of-range and
// malformed indices.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

using namespace thjit;
using namespace thjit::test;

namespace {

using I = Index;

// x = arange(20).reshape(4, 5).
NDArray xValue() { return iota(DType::Float64, {4, 5}); }

struct IndexCase {
  const char *what;
  std::vector<Index> index;
  Shape shape;
  std::vector<int64_t> want;
};

std::vector<IndexCase> indexCases() {
  return {
      {"x[1]", {I::at(1)}, {5}, {5, 6, 7, 8, 9}},
      {"x[-1, 2]", {I::at(-1), I::at(2)}, {}, {17}},
      {"x[2, 3]", {I::at(2), I::at(3)}, {}, {13}},
      {"x[1:3]", {I::slice(1, 3)}, {2, 5}, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"x[::-1]", {I::slice({}, {}, -1)}, {4, 5}, {15, 16, 17, 18, 19, 10, 11,
                                                   12, 13, 14, 5,  6,  7,  8,
                                                   9,  0,  1,  2,  3,  4}},
      {"x[::2, ::-2]",
       {I::slice({}, {}, 2), I::slice({}, {}, -2)},
       {2, 3},
       {4, 2, 0, 14, 12, 10}},
      {"x[-1:0:-2, 1]", {I::slice(-1, 0, -2), I::at(1)}, {2}, {16, 6}},
      {"x[None, 1]", {I::newAxis(), I::at(1)}, {1, 5}, {5, 6, 7, 8, 9}},
      {"x[:, None, 2]",
       {I::all(), I::newAxis(), I::at(2)},
       {4, 1},
       {2, 7, 12, 17}},
      {"x[..., 3]", {I::ellipsisAll(), I::at(3)}, {4}, {3, 8, 13, 18}},
      {"x[1, ...]", {I::at(1), I::ellipsisAll()}, {5}, {5, 6, 7, 8, 9}},
      {"x[10:]", {I::slice(10)}, {0, 5}, {}},
      {"x[3:1]", {I::slice(3, 1)}, {0, 5}, {}},
      {"x[-100:100:3]",
       {I::slice(-100, 100, 3)},
       {2, 5},
       {0, 1, 2, 3, 4, 15, 16, 17, 18, 19}},
      {"x[1:-1, -2:]", {I::slice(1, -1), I::slice(-2)}, {2, 2}, {8, 9, 13, 14}},
  };
}

} // namespace

TEST_CASE("Basic indexing with constant indices", "[subtensor]") {
  Var x = matrix("x");
  Var xs = tensor(DType::Float64, {4, 5}, "xs"); // static sizes
  // The same values, contiguous, transposed and reversed in both axes.
  NDArray plain = xValue();
  NDArray transposed = plain.transpose().copy().transpose();
  NDArray reversed = plain.slice(0, 3, -1, -1)
                         .slice(1, 4, -1, -1)
                         .copy()
                         .slice(0, 3, -1, -1)
                         .slice(1, 4, -1, -1);
  REQUIRE(reversed.strides()[0] < 0);
  for (const IndexCase &c : indexCases()) {
    INFO(c.what);
    for (const NDArray &xv : {plain, transposed, reversed}) {
      Var z = subtensor(x, c.index);
      expectValues(evalChecked(z, {{x, xv}}), DType::Float64, c.shape,
                   std::vector<double>(c.want.begin(), c.want.end()));
      // With static input sizes the result sizes are static too.
      Var zs = subtensor(xs, c.index);
      for (int i = 0; i < zs.ndim(); ++i)
        CHECK(zs.type()->size(i) == c.shape[i]);
      evalChecked(zs, {{xs, xv}});
    }
  }
  // Indexing an empty array.
  expectValues(evalChecked(subtensor(x, {I::all(), I::at(1)}),
                           {{x, NDArray::empty(DType::Float64, {0, 5})}}),
               DType::Float64, {0}, {});
  expectValues(evalChecked(subtensor(x, {I::slice({}, {}, -1)}),
                           {{x, NDArray::empty(DType::Float64, {3, 0})}}),
               DType::Float64, {3, 0}, {});
  // A rank-3 example mixing everything.
  Var t = tensor3("t");
  expectInts(evalChecked(subtensor(t, {I::at(1), I::slice({}, {}, -1),
                                       I::newAxis(), I::slice(2)}),
                         {{t, iota(DType::Int32, {2, 3, 4})}})
                 .astype(DType::Int64),
             DType::Int64, {3, 1, 2}, {22, 23, 18, 19, 14, 15});
  // Full slices and a lone ellipsis are the value itself; so is x[...].
  CHECK(subtensor(x, {I::all(), I::all()}) == x);
  CHECK(subtensor(x, {I::ellipsisAll()}) == x);
  // A step of 1 needs no operand.
  CHECK(subtensor(x, {I::slice(1, 3, 1)}) == subtensor(x, {I::slice(1, 3)}));
}

TEST_CASE("Basic indexing with symbolic indices", "[subtensor]") {
  Var x = matrix("x"), i = scalar("i", DType::Int32),
      a = scalar("a", DType::Int64), b = scalar("b", DType::Int64),
      s = scalar("s", DType::Int8);
  Var z = subtensor(x, {I::at(i), I::slice(a, b, s)});
  CHECK(z.type()->str() == "f64[?]");
  auto run = [&](int64_t iv, int64_t av, int64_t bv, int64_t sv) {
    return evalChecked(z, {{x, xValue()},
                           {i, ints(DType::Int32, {}, {iv})},
                           {a, ints(DType::Int64, {}, {av})},
                           {b, ints(DType::Int64, {}, {bv})},
                           {s, ints(DType::Int8, {}, {sv})}});
  };
  expectValues(run(1, 0, 5, 2), DType::Float64, {3}, {5, 7, 9});
  expectValues(run(-2, 4, -6, -1), DType::Float64, {5}, {14, 13, 12, 11, 10});
  expectValues(run(0, 3, 1, 1), DType::Float64, {0}, {});
  expectValues(run(3, -2, 100, 1), DType::Float64, {2}, {18, 19});
  // A slice of known size followed by symbolic slices and an index.
  Var xs = tensor(DType::Float64, {4, U, U}, "xs");
  Var zs = subtensor(xs, {I::slice(1, 3), I::slice(a, b), I::at(i)});
  CHECK(zs.type()->str() == "f64[2,?]");
  expectValues(evalChecked(zs, {{xs, iota(DType::Float64, {4, 5, 2})},
                                {a, ints(DType::Int64, {}, {4})},
                                {b, ints(DType::Int64, {}, {1})},
                                {i, ints(DType::Int32, {}, {1})}}),
               DType::Float64, {2, 0}, {});
  expectValues(evalChecked(zs, {{xs, iota(DType::Float64, {4, 5, 2})},
                                {a, ints(DType::Int64, {}, {3})},
                                {b, ints(DType::Int64, {}, {5})},
                                {i, ints(DType::Int32, {}, {-1})}}),
               DType::Float64, {2, 2}, {17, 19, 27, 29});
  CHECK_THROWS_KIND(run(4, 0, 1, 1), IndexError,
                    "index 4 is out of bounds for axis 0 with size 4");
  CHECK_THROWS_KIND(run(0, 0, 1, 0), ValueError, "slice step cannot be zero");
  // Only integer scalars index.
  CHECK_THROWS_KIND(subtensor(x, {I::at(scalar("f"))}), IndexError,
                    "indices must be integer scalars");
  // An integer vector is an index array (AdvancedSubtensorTest.cpp).
  CHECK(subtensor(x, {I::at(vector("v", DType::Int64))}).node()->kind() ==
        OpKind::AdvancedSubtensor);
  CHECK_THROWS_KIND(subtensor(x, {I::at(1.5)}), IndexError,
                    "indices must be integers or slices");
}

TEST_CASE("Indexing errors", "[subtensor]") {
  Var x = matrix("x"), xs = tensor(DType::Float64, {4, 5}, "xs");
  CHECK_THROWS_KIND(subtensor(xs, {I::at(4)}), IndexError,
                    "index 4 is out of bounds for axis 0 with size 4");
  CHECK_THROWS_KIND(subtensor(xs, {I::all(), I::at(-6)}), IndexError,
                    "index -6 is out of bounds for axis 1 with size 5");
  CHECK_THROWS_KIND(eval(subtensor(x, {I::at(-5)}), {{x, xValue()}}),
                    IndexError, "index -5 is out of bounds for axis 0");
  CHECK_THROWS_KIND(subtensor(x, {I::at(0), I::at(0), I::at(0)}), IndexError,
                    "too many indices");
  CHECK_THROWS_KIND(subtensor(x, {I::slice(0, 4, 0)}), ValueError,
                    "slice step cannot be zero");
  CHECK_THROWS_KIND(subtensor(x, {I::ellipsisAll(), I::ellipsisAll()}),
                    IndexError, "single ellipsis");
  // Indexing a 0-d value.
  Var s = scalar("s");
  CHECK_THROWS_KIND(subtensor(s, {I::at(0)}), IndexError, "too many indices");
  expectValues(evalChecked(subtensor(s, {I::newAxis()}),
                           {{s, array(DType::Float64, {}, {3})}}),
               DType::Float64, {1}, {3});
}

TEST_CASE("set_subtensor and inc_subtensor", "[subtensor]") {
  Var x = matrix("x");
  NDArray plain = xValue();
  NDArray transposed = plain.transpose().copy().transpose();
  for (const NDArray &xv : {plain, transposed}) {
    NDArray before = xv.copy();
    Bindings args{{x, xv}};
    expectValues(
        evalChecked(setSubtensor(
                        subtensor(x, {I::slice(1, 3), I::slice({}, {}, 2)}), 0),
                    args),
        DType::Float64, {4, 5},
        {0, 1, 2, 3, 4, 0, 6, 0, 8, 0, 0, 11, 0, 13, 0, 15, 16, 17, 18, 19});
    Var v = vector("v");
    Var inc = incSubtensor(subtensor(x, {I::slice({}, {}, -1), I::at(1)}), v);
    expectValues(
        evalChecked(
            inc, {{x, xv}, {v, array(DType::Float64, {4}, {10, 20, 30, 40})}}),
        DType::Float64, {4, 5}, {0,  41, 2,  3,  4,  5,  36, 7,  8,  9,
                                 10, 31, 12, 13, 14, 15, 26, 17, 18, 19});
    // A broadcastable row added to two rows.
    Var r = row("r");
    expectValues(
        evalChecked(
            incSubtensor(subtensor(x, {I::slice(1, 3)}), r),
            {{x, xv}, {r, array(DType::Float64, {1, 5}, {1, 2, 3, 4, 5})}}),
        DType::Float64, {4, 5}, {0,  1,  2,  3,  4,  6,  8,  10, 12, 14,
                                 11, 13, 15, 17, 19, 15, 16, 17, 18, 19});
    expectValues(
        evalChecked(
            setSubtensor(subtensor(x, {I::at(0)}), v),
            {{x, xv}, {v, array(DType::Float64, {5}, {9, 8, 7, 6, 5})}}),
        DType::Float64, {4, 5},
        {9, 8, 7, 6, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
    expectValues(
        evalChecked(setSubtensor(subtensor(x, {I::at(-1), I::at(4)}), -1.0),
                    args),
        DType::Float64, {4, 5},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, -1});
    expectValues(
        evalChecked(
            setSubtensor(subtensor(x, {I::all(), I::newAxis(), I::at(2)}), -1),
            args),
        DType::Float64, {4, 5}, {0,  1,  -1, 3,  4,  5,  6,  -1, 8,  9,
                                 10, 11, -1, 13, 14, 15, 16, -1, 18, 19});
    // An empty selection changes nothing.
    expectValues(
        evalChecked(setSubtensor(subtensor(x, {I::slice(3, 1)}), 7), args),
        DType::Float64, {4, 5}, flat(plain));
    // The argument itself is never written.
    CHECK(flat(xv) == flat(before));
  }
  // Integer arrays take integer values (a Python int is typed as x).
  Var xi = matrix("xi", DType::Int16);
  expectInts(evalChecked(incSubtensor(subtensor(xi, {I::at(0)}), 3),
                         {{xi, ints(DType::Int16, {2, 2}, {1, 2, 3, 4})}}),
             DType::Int16, {2, 2}, {4, 5, 3, 4});
}

TEST_CASE("Write errors", "[subtensor]") {
  Var x = matrix("x"), xi = matrix("xi", DType::Int32);
  CHECK_THROWS_KIND(setSubtensor(subtensor(xi, {I::at(0)}), vector("f")),
                    TypeError, "cannot write float64 values into a int32");
  CHECK_THROWS_KIND(setSubtensor(subtensor(xi, {I::at(0)}), 1.5), TypeError,
                    "without losing precision");
  CHECK_THROWS_KIND(setSubtensor(x, 1.0), TypeError,
                    "set_subtensor: the first argument must be an indexed "
                    "value");
  CHECK_THROWS_KIND(incSubtensor(subtensor(x, {I::at(0)}), matrix()),
                    ValueError, "the value written has type f64[?,?]");
  Var xs = tensor(DType::Float64, {4, 5});
  CHECK_THROWS_KIND(setSubtensor(subtensor(xs, {I::slice(0, 2)}),
                                 tensor(DType::Float64, {3, 5})),
                    ShapeError, "the value written has type f64[3,5]");
  Var v = vector("v");
  CHECK_THROWS_KIND(eval(setSubtensor(subtensor(x, {I::at(0)}), v),
                         {{x, xValue()}, {v, iota(DType::Float64, {3})}}),
                    ShapeError,
                    "cannot write a value of shape (3,) into a selection of "
                    "shape (5,)");
  // A size-1 value that its type does not call broadcastable.
  CHECK_THROWS_KIND(eval(setSubtensor(subtensor(x, {I::at(0)}), v),
                         {{x, xValue()}, {v, iota(DType::Float64, {1})}}),
                    ShapeError, "cannot write");
}
