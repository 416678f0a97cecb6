//===- AdvancedSubtensorTest.cpp - Advanced indexing against NumPy 1.24 ---===//
//
// x[index] with integer index arrays (any integer dtype, negative entries,
// broadcast together, mixed with ints, slices, None and Ellipsis, adjacent
// or not) and boolean masks; advanced set_subtensor and inc_subtensor
// (duplicates: the last value, every increment); static types, symbolic
// shapes, strided operands and the errors, with NumPy's messages.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

using namespace thjit;
using namespace thjit::test;

namespace {

using I = Index;

/// A constant integer index array (a vector unless a shape is given).
Var idx(const std::vector<int64_t> &values, Shape shape = {},
        DType t = DType::Int64) {
  if (shape.empty())
    shape = {(int64_t)values.size()};
  return constant(ints(t, shape, values));
}

Var boolConst(const Shape &shape, const std::vector<int64_t> &values) {
  return constant(ints(DType::Bool, shape, values));
}

Var mask34() {
  return boolConst({3, 4}, {1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0});
}
Var mask4() { return boolConst({4}, {0, 1, 0, 1}); }
Var mask45() {
  std::vector<int64_t> m(20, 0);
  m[1 * 5 + 2] = 1;
  m[3 * 5 + 0] = 1;
  return boolConst({4, 5}, m);
}

struct AdvCase {
  const char *what;
  std::vector<Index> index;
  Shape shape;
  std::vector<int64_t> want;
};

// x = arange(60).reshape(3, 4, 5); the values are NumPy's.
std::vector<AdvCase> advCases() {
  return {
      {"x[[2, 0, -1]]",
       {I::array(idx({2, 0, -1}))},
       {3, 4, 5},
       {40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54,
        55, 56, 57, 58, 59, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,
        10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 40, 41, 42, 43, 44,
        45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59}},
      {"x[[0, 2], [1, 3]]",
       {I::array(idx({0, 2})), I::array(idx({1, 3}))},
       {2, 5},
       {5, 6, 7, 8, 9, 55, 56, 57, 58, 59}},
      {"x[:, [3, 0]]",
       {I::all(), I::array(idx({3, 0}))},
       {3, 2, 5},
       {15, 16, 17, 18, 19, 0,  1,  2,  3,  4,  35, 36, 37, 38, 39,
        20, 21, 22, 23, 24, 55, 56, 57, 58, 59, 40, 41, 42, 43, 44}},
      // Arrays separated by a slice: B first.
      {"x[[0, 2], :, [4, 0]]",
       {I::array(idx({0, 2})), I::all(), I::array(idx({4, 0}))},
       {2, 4},
       {4, 9, 14, 19, 40, 45, 50, 55}},
      // An integer counts as an index array: separated, B first.
      {"x[1, :, [0, 4]]",
       {I::at(1), I::all(), I::array(idx({0, 4}))},
       {2, 4},
       {20, 25, 30, 35, 24, 29, 34, 39}},
      {"x[1, [0, 3]]",
       {I::at(1), I::array(idx({0, 3}))},
       {2, 5},
       {20, 21, 22, 23, 24, 35, 36, 37, 38, 39}},
      {"x[:, [[0], [3]], [1, 2]]",
       {I::all(), I::array(idx({0, 3}, {2, 1})), I::array(idx({1, 2}))},
       {3, 2, 2},
       {1, 2, 16, 17, 21, 22, 36, 37, 41, 42, 56, 57}},
      {"x[None, [1, 2], ::2]",
       {I::newAxis(), I::array(idx({1, 2})), I::slice({}, {}, 2)},
       {1, 2, 2, 5},
       {20, 21, 22, 23, 24, 30, 31, 32, 33, 34,
        40, 41, 42, 43, 44, 50, 51, 52, 53, 54}},
      // A new axis between the arrays separates them.
      {"x[[1, 2], None, [0, 1]]",
       {I::array(idx({1, 2})), I::newAxis(), I::array(idx({0, 1}))},
       {2, 1, 5},
       {20, 21, 22, 23, 24, 45, 46, 47, 48, 49}},
      {"x[..., [4, -5]]",
       {I::ellipsisAll(), I::array(idx({4, -5}))},
       {3, 4, 2},
       {4,  0,  9,  5,  14, 10, 19, 15, 24, 20, 29, 25,
        34, 30, 39, 35, 44, 40, 49, 45, 54, 50, 59, 55}},
      {"x[-1:0:-1, [1], 1:4:2]",
       {I::slice(-1, 0, -1), I::array(idx({1})), I::slice(1, 4, 2)},
       {2, 1, 2},
       {46, 48, 26, 28}},
      {"x[[0, 0, 0], 2]",
       {I::array(idx({0, 0, 0})), I::at(2)},
       {3, 5},
       {10, 11, 12, 13, 14, 10, 11, 12, 13, 14, 10, 11, 12, 13, 14}},
      {"x[[]]", {I::array(idx({}, {0}))}, {0, 4, 5}, {}},
      {"x[uint8 [2, 1], int16 [[0, 1]]]",
       {I::array(idx({2, 1}, {2}, DType::UInt8)),
        I::array(idx({0, 1}, {1, 2}, DType::Int16))},
       {1, 2, 5},
       {40, 41, 42, 43, 44, 25, 26, 27, 28, 29}},
      // Boolean masks: their nonzero() arrays.
      {"x[mask34]",
       {I::array(mask34())},
       {4, 5},
       {0, 1, 2, 3, 4, 15, 16, 17, 18, 19, 45, 46, 47, 48, 49, 50, 51, 52, 53,
        54}},
      {"x[:, mask4]",
       {I::all(), I::array(mask4())},
       {3, 2, 5},
       {5,  6,  7,  8,  9,  15, 16, 17, 18, 19, 25, 26, 27, 28, 29,
        35, 36, 37, 38, 39, 45, 46, 47, 48, 49, 55, 56, 57, 58, 59}},
      {"x[[0, 1], mask45]",
       {I::array(idx({0, 1})), I::array(mask45())},
       {2},
       {7, 35}},
      {"x[2, mask4, 1:]",
       {I::at(2), I::array(mask4()), I::slice(1)},
       {2, 4},
       {46, 47, 48, 49, 56, 57, 58, 59}},
  };
}

} // namespace

TEST_CASE("Advanced indexing with constant index arrays", "[subtensor]") {
  Var x = tensor3("x", DType::Float64);
  Var xs = tensor(DType::Float64, {3, 4, 5}, "xs"); // static sizes
  NDArray plain = iota(DType::Float64, {3, 4, 5});
  NDArray transposed = transposedView(plain);
  NDArray reversed = plain.slice(0, 2, -1, -1)
                         .slice(2, 4, -1, -1)
                         .copy()
                         .slice(0, 2, -1, -1)
                         .slice(2, 4, -1, -1);
  REQUIRE(reversed.strides()[0] < 0);
  for (const AdvCase &c : advCases()) {
    INFO(c.what);
    std::vector<double> want(c.want.begin(), c.want.end());
    for (const NDArray &xv : {plain, transposed, reversed}) {
      Var z = subtensor(x, c.index);
      CHECK(z.node()->kind() == OpKind::AdvancedSubtensor);
      expectValues(evalChecked(z, {{x, xv}}), DType::Float64, c.shape, want);
      // Constant indices and static sizes give a static result type.
      Var zs = subtensor(xs, c.index);
      CHECK(zs.type()->shape() == std::vector<int64_t>(c.shape.begin(),
                                                       c.shape.end()));
      expectValues(evalChecked(zs, {{xs, xv}}), DType::Float64, c.shape,
                   want);
    }
  }
  // Integer arrays keep their dtype; `at` with an array is an index array.
  Var xi = matrix("xi", DType::Int16);
  expectInts(evalChecked(subtensor(xi, {I::at(idx({1, 0, 1}))}),
                         {{xi, ints(DType::Int16, {2, 2}, {1, 2, 3, 4})}}),
             DType::Int16, {3, 2}, {3, 4, 1, 2, 3, 4});
  // A 0-d array is an integer: basic indexing.
  CHECK(subtensor(x, {I::array(constant(Scalar::fromInt(1)))}).node()->kind() ==
        OpKind::Subtensor);
  // Equal indices give one node.
  CHECK(subtensor(x, {I::array(idx({1, 2}))}) ==
        subtensor(x, {I::array(idx({1, 2}))}));
}

TEST_CASE("Advanced indexing with symbolic index arrays", "[subtensor]") {
  Var x = matrix("x"), v = vector("v", DType::Int32),
      w = vector("w", DType::Int64), m = matrix("m", DType::Int8);
  NDArray xv = iota(DType::Float64, {4, 5});
  // The classic x[arange(n), y].
  Var nll = subtensor(x, {I::array(arange(0, shapeOf(v, 0))), I::array(v)});
  CHECK(nll.type()->str() == "f64[?]");
  expectValues(evalChecked(nll, {{x, xv}, {v, ints(DType::Int32, {4},
                                                    {4, 0, -1, 2})}}),
               DType::Float64, {4}, {4, 5, 14, 17});
  // Broadcast: a column of row indices with a row of column indices.
  Var col = dimshuffle(w, {0, -1});
  Var z = subtensor(x, {I::array(col), I::array(v)});
  CHECK(z.type()->str() == "f64[?,?]");
  expectValues(evalChecked(z, {{x, xv},
                               {w, ints(DType::Int64, {2}, {3, 0})},
                               {v, ints(DType::Int32, {3}, {0, -1, 2})}}),
               DType::Float64, {2, 3}, {15, 19, 17, 0, 4, 2});
  // A matrix of indices, non-contiguous (transposed) at run time.
  Var zm = subtensor(x, {I::all(), I::array(m)});
  CHECK(zm.type()->str() == "f64[?,?,?]");
  expectValues(
      evalChecked(zm, {{x, xv},
                       {m, transposedView(ints(DType::Int8, {2, 2},
                                               {0, 4, -2, 1}))}}),
      DType::Float64, {4, 2, 2},
      {0, 4, -2 + 5, 1, 5, 9, 8, 6, 10, 14, 13, 11, 15, 19, 18, 16});
  // A symbolic mask: a size known at run time only.
  Var masked = subtensor(x, {I::array(gt(x, 11.5))});
  CHECK(masked.type()->str() == "f64[?]");
  expectValues(evalChecked(masked, {{x, xv}}), DType::Float64, {8},
               {12, 13, 14, 15, 16, 17, 18, 19});
  Var rows = subtensor(x, {I::array(gt(sum(x, 1), 40.0))});
  CHECK(rows.type()->str() == "f64[?,?]");
  expectValues(evalChecked(rows, {{x, xv}}), DType::Float64, {2, 5},
               {10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  // Runtime errors name the axis, the index and the size.
  CHECK_THROWS_KIND(eval(nll, {{x, xv}, {v, ints(DType::Int32, {4},
                                                  {0, 5, 0, 0})}}),
                    IndexError,
                    "index 5 is out of bounds for axis 1 with size 5");
  CHECK_THROWS_KIND(eval(subtensor(x, {I::array(w)}),
                         {{x, xv}, {w, ints(DType::Int64, {2}, {-5, 0})}}),
                    IndexError,
                    "index -5 is out of bounds for axis 0 with size 4");
  Var zz = subtensor(x, {I::array(w), I::array(v)});
  CHECK_THROWS_KIND(eval(zz, {{x, xv},
                              {w, ints(DType::Int64, {2}, {0, 0})},
                              {v, ints(DType::Int32, {3}, {0, 0, 0})}}),
                    IndexError,
                    "shape mismatch: indexing arrays could not be broadcast "
                    "together with shapes (2,) (3,)");
  // Size 1 broadcasts only where the type says so.
  CHECK_THROWS_KIND(eval(zz, {{x, xv},
                              {w, ints(DType::Int64, {1}, {0})},
                              {v, ints(DType::Int32, {3}, {0, 0, 0})}}),
                    IndexError, "broadcasts only when its type says so");
  Var bm = tensor(DType::Bool, {U, U}, "bm");
  CHECK_THROWS_KIND(eval(subtensor(x, {I::array(bm)}),
                         {{x, xv}, {bm, ints(DType::Bool, {4, 4},
                                             std::vector<int64_t>(16, 1))}}),
                    IndexError,
                    "boolean index did not match indexed array along "
                    "dimension 1; dimension is 5 but corresponding boolean "
                    "dimension is 4");
}

TEST_CASE("Advanced indexing errors", "[subtensor]") {
  Var x = matrix("x"), xs = tensor(DType::Float64, {3, 4}, "xs");
  CHECK_THROWS_KIND(subtensor(x, {I::array(vector("f"))}), IndexError,
                    "arrays used as indices must be of integer (or boolean) "
                    "type; got f64[?]");
  CHECK_THROWS_KIND(subtensor(xs, {I::array(idx({0, 3}))}), IndexError,
                    "index 3 is out of bounds for axis 0 with size 3");
  CHECK_THROWS_KIND(subtensor(xs, {I::all(), I::array(idx({-5}))}), IndexError,
                    "index -5 is out of bounds for axis 1 with size 4");
  CHECK_THROWS_KIND(subtensor(xs, {I::array(idx({0, 1})),
                                   I::array(idx({0, 1, 2}))}),
                    IndexError,
                    "shape mismatch: indexing arrays could not be broadcast "
                    "together with shapes (2,) (3,)");
  CHECK_THROWS_KIND(subtensor(xs, {I::array(boolConst({2}, {1, 0}))}),
                    IndexError,
                    "boolean index did not match indexed array along "
                    "dimension 0; dimension is 3 but corresponding boolean "
                    "dimension is 2");
  CHECK_THROWS_KIND(subtensor(x, {I::array(idx({0})), I::at(0), I::at(0)}),
                    IndexError, "too many indices");
  CHECK_THROWS_KIND(subtensor(x, {I::array(mask34()), I::at(0)}), IndexError,
                    "too many indices");
  // The op itself wants an array entry.
  Attrs a;
  a.index = {IndexEntry{}};
  CHECK_THROWS_KIND(makeOp(OpKind::AdvancedSubtensor,
                           {x, constant(Scalar::fromInt(0))}, a),
                    TypeError, "advanced_subtensor: an advanced index needs "
                               "an index array");
  a.index[0].kind = IndexEntry::Array;
  CHECK_THROWS_KIND(makeOp(OpKind::AdvancedSubtensor, {x}, a), ValueError,
                    "the index takes 2 operands but 1 were given");
  // ... and the basic ops take none.
  CHECK_THROWS_KIND(makeOp(OpKind::Subtensor, {x, idx({0})}, a), TypeError,
                    "subtensor: an index with arrays is advanced indexing");
}

TEST_CASE("Advanced set_subtensor and inc_subtensor", "[subtensor]") {
  Var x = matrix("x"), t = tensor3("t");
  NDArray xv = iota(DType::Float64, {4, 5});
  NDArray tv = iota(DType::Float64, {2, 3, 4});
  struct WriteCase {
    const char *what;
    Var value;
    Bindings args;
    Shape shape;
    std::vector<double> want;
  };
  Var y = vector("y"), ym = matrix("ym"), yr = row("yr");
  std::vector<WriteCase> cases = {
      // Every increment of a row selected three times counts.
      {"inc x[[0, 1, 0, 3, 0]] += 1",
       incSubtensor(subtensor(x, {I::array(idx({0, 1, 0, 3, 0}))}), 1.0),
       {{x, xv}},
       {4, 5},
       {3, 4, 5, 6, 7, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 16, 17, 18, 19,
        20}},
      {"inc x[[0, 2], [1, 1]] += y",
       incSubtensor(
           subtensor(x, {I::array(idx({0, 2})), I::array(idx({1, 1}))}), y),
       {{x, xv}, {y, array(DType::Float64, {2}, {10, 20})}},
       {4, 5},
       {0, 11, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31, 12, 13, 14, 15, 16, 17, 18,
        19}},
      // A position set twice gets the last value.
      {"x[[0, 0], [1, 1]] = y",
       setSubtensor(
           subtensor(x, {I::array(idx({0, 0})), I::array(idx({1, 1}))}), y),
       {{x, xv}, {y, array(DType::Float64, {2}, {7, 8})}},
       {4, 5},
       {0, 8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
        19}},
      {"inc x[[0, 2], 1:] += row",
       incSubtensor(subtensor(x, {I::array(idx({0, 2})), I::slice(1)}), yr),
       {{x, xv}, {yr, array(DType::Float64, {1, 4}, {1, 2, 3, 4})}},
       {4, 5},
       {0, 2, 4, 6, 8, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 15, 16, 17, 18,
        19}},
      // Separated arrays: the selection has B first.
      {"t[[0, 1], :, [3, 0]] = ym",
       setSubtensor(subtensor(t, {I::array(idx({0, 1})), I::all(),
                                  I::array(idx({3, 0}))}),
                    ym),
       {{t, tv}, {ym, iota(DType::Float64, {2, 3}, 100)}},
       {2, 3, 4},
       {0,  1,  2,  100, 4,   5,  6,  101, 8,   9,  10, 102,
        103, 13, 14, 15, 104, 17, 18, 19,  105, 21, 22, 23}},
      {"inc t[1, :, [0, 2]] += ym",
       incSubtensor(subtensor(t, {I::at(1), I::all(), I::array(idx({0, 2}))}),
                    ym),
       {{t, tv}, {ym, iota(DType::Float64, {2, 3}, 1)}},
       {2, 3, 4},
       {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
        13, 13, 18, 15, 18, 17, 23, 19, 23, 21, 28, 23}},
      {"x[x % 3 == 0] = -1",
       setSubtensor(subtensor(x, {I::array(eq(mod(x, 3.0), 0.0))}), -1.0),
       {{x, xv}},
       {4, 5},
       {-1, 1, 2, -1, 4, 5, -1, 7, 8, -1, 10, 11, -1, 13, 14, -1, 16, 17, -1,
        19}},
      {"inc x[[-1, -1]] += ym",
       incSubtensor(subtensor(x, {I::array(idx({-1, -1}))}), ym),
       {{x, xv},
        {ym, array(DType::Float64, {2, 5}, {1, 2, 3, 4, 5, 1, 2, 3, 4, 5})}},
       {4, 5},
       {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 20, 23, 26, 29}},
      {"x[[]] = 5",
       setSubtensor(subtensor(x, {I::array(idx({}, {0}))}), 5.0),
       {{x, xv}},
       {4, 5},
       flat(xv)},
  };
  for (const WriteCase &c : cases) {
    INFO(c.what);
    for (bool transposed : {false, true}) {
      Bindings args = c.args;
      if (transposed)
        args[0].second = transposedView(args[0].second);
      NDArray before = args[0].second.copy();
      expectValues(evalChecked(c.value, args), DType::Float64, c.shape,
                   c.want);
      // The argument itself is never written.
      CHECK(flat(args[0].second) == flat(before));
    }
  }
  // Integers wrap around; booleans or.
  Var xi = matrix("xi", DType::Int8), yi = matrix("yi", DType::Int8);
  expectInts(evalChecked(incSubtensor(subtensor(xi, {I::array(idx({0, 0}))}),
                                      yi),
                         {{xi, ints(DType::Int8, {2, 2}, {120, 1, 2, 3})},
                          {yi, ints(DType::Int8, {2, 2}, {5, 0, 5, 0})}}),
             DType::Int8, {2, 2}, {-126, 1, 2, 3});
  Var b = vector("b", DType::Bool), yb = vector("yb", DType::Bool);
  expectInts(evalChecked(incSubtensor(subtensor(b, {I::array(idx({0, 0}))}),
                                      yb),
                         {{b, ints(DType::Bool, {3}, {0, 1, 0})},
                          {yb, ints(DType::Bool, {2}, {1, 0})}}),
             DType::Bool, {3}, {1, 1, 0});
  // float32 values written into float64.
  Var f32 = vector("f32", DType::Float32);
  expectValues(evalChecked(incSubtensor(subtensor(x, {I::array(idx({1})),
                                                      I::at(0)}),
                                        f32),
                           {{x, xv}, {f32, array(DType::Float32, {1}, {0.5})}}),
               DType::Float64, {4, 5},
               {0, 1, 2, 3, 4, 5.5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                18, 19});
  CHECK(incSubtensor(subtensor(x, {I::array(idx({1}))}), 1.0).node()->kind() ==
        OpKind::AdvancedIncSubtensor);
  CHECK(setSubtensor(subtensor(x, {I::array(idx({1}))}), 1.0).node()->kind() ==
        OpKind::AdvancedSetSubtensor);
}

TEST_CASE("Advanced write errors", "[subtensor]") {
  Var x = matrix("x"), xi = matrix("xi", DType::Int32);
  Var xs = tensor(DType::Float64, {4, 5});
  CHECK_THROWS_KIND(
      setSubtensor(subtensor(xi, {I::array(idx({0}))}), vector("f")),
      TypeError,
      "advanced_set_subtensor: cannot write float64 values into a int32");
  CHECK_THROWS_KIND(
      incSubtensor(subtensor(xs, {I::array(idx({0, 1}))}),
                   tensor(DType::Float64, {3, 5})),
      ShapeError, "the value written has type f64[3,5] but the selection "
                  "f64[2,5]");
  CHECK_THROWS_KIND(incSubtensor(subtensor(x, {I::array(idx({0, 1}))}),
                                 tensor3()),
                    ValueError, "the value written has type f64[?,?,?]");
  Var v = vector("v");
  CHECK_THROWS_KIND(
      eval(setSubtensor(subtensor(x, {I::array(idx({0, 1})), I::at(0)}), v),
           {{x, iota(DType::Float64, {4, 5})}, {v, iota(DType::Float64, {3})}}),
      ShapeError,
      "cannot write a value of shape (3,) into a selection of shape (2,)");
  CHECK_THROWS_KIND(
      eval(incSubtensor(subtensor(x, {I::array(idx({0, 9}))}), 1.0),
           {{x, iota(DType::Float64, {4, 5})}}),
      IndexError, "index 9 is out of bounds for axis 0 with size 4");
}

TEST_CASE("Advanced indexing prints its index", "[subtensor][ir]") {
  Var x = matrix("x"), i = vector("i", DType::Int64), y = vector("y");
  Var z = subtensor(x, {I::array(i), I::slice(1)});
  CHECK_THAT(printGraph(Graph({x, i}, {z}), "f"),
             Catch::Contains("advanced_subtensor[i, 1:](x)"));
  Var w = incSubtensor(subtensor(x, {I::at(0), I::array(i)}), y);
  CHECK_THAT(printGraph(Graph({x, i, y}, {w}), "f"),
             Catch::Contains("advanced_inc_subtensor[0, i](x, y)"));
}
