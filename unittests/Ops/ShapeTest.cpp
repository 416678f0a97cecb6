//===- ShapeTest.cpp - dimshuffle, reshape, alloc, arange, join, split ----===//
//
// The shape family: values (views where NumPy gives views), static types,
// symbolic shapes, strided inputs, 0-d and empty arrays, and the errors.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

using namespace thjit;
using namespace thjit::test;

TEST_CASE("dimshuffle and transpose", "[shape]") {
  Var m = matrix("m");
  NDArray mv = iota(DType::Float64, {2, 3});
  expectValues(evalChecked(transpose(m), {{m, mv}}), DType::Float64, {3, 2},
               {0, 3, 1, 4, 2, 5});
  // New broadcastable axes ('x') anywhere.
  Var d = dimshuffle(m, {-1, 1, -1, 0});
  CHECK(d.type()->str() == "f64[1,?,1,?]");
  expectValues(evalChecked(d, {{m, mv}}), DType::Float64, {1, 3, 1, 2},
               {0, 3, 1, 4, 2, 5});
  // Broadcastable axes can be dropped.
  Var r = row("r");
  Var dropped = dimshuffle(r, {1});
  CHECK(dropped.type()->str() == "f64[?]");
  expectValues(evalChecked(dropped, {{r, iota(DType::Float64, {1, 4})}}),
               DType::Float64, {4}, {0, 1, 2, 3});
  // A strided (reversed, transposed) input.
  NDArray rev = mv.slice(1, 2, -1, -1);
  expectValues(evalChecked(transpose(m), {{m, rev}}), DType::Float64, {3, 2},
               {2, 5, 1, 4, 0, 3});
  // transpose with a permutation; negative axes count from the end.
  Var t = tensor3("t");
  NDArray tv = iota(DType::Float64, {2, 3, 4});
  NDArray p = evalChecked(transpose(t, {1, -1, 0}), {{t, tv}});
  CHECK(p.shape() == Shape{3, 4, 2});
  CHECK(p.at({2, 1, 1}).toDouble() == tv.at({1, 2, 1}).toDouble());
  // 0-d: only new axes.
  Var s = scalar("s");
  expectValues(evalChecked(dimshuffle(s, {-1, -1}),
                           {{s, array(DType::Float64, {}, {7})}}),
               DType::Float64, {1, 1}, {7});
  // The identity pattern is the value itself.
  CHECK(dimshuffle(m, {0, 1}) == m);
  // Empty.
  expectValues(
      evalChecked(transpose(m), {{m, NDArray::empty(DType::Float64, {0, 3})}}),
      DType::Float64, {3, 0}, {});
  CHECK_THROWS_KIND(dimshuffle(m, {0}), ValueError,
                    "cannot drop axis 1 of f64[?,?]");
  CHECK_THROWS_KIND(dimshuffle(m, {0, 0}), ValueError,
                    "each input axis may appear once");
  CHECK_THROWS_KIND(dimshuffle(m, {0, 2}), ValueError, "invalid pattern");
  CHECK_THROWS_KIND(transpose(m, {0}), ValueError, "1 axes given");
}

TEST_CASE("reshape and flatten", "[shape]") {
  Var m = matrix("m");
  NDArray mv = iota(DType::Float64, {2, 6});
  Var r = reshape(m, {3, -1});
  CHECK(r.type()->str() == "f64[3,?]");
  expectValues(evalChecked(r, {{m, mv}}), DType::Float64, {3, 4}, flat(mv));
  expectValues(evalChecked(reshape(m, {2, 3, 2}), {{m, mv}}), DType::Float64,
               {2, 3, 2}, flat(mv));
  CHECK(reshape(m, {2, 3, 2}).type()->str() == "f64[2,3,2]");
  // A transposed (non-contiguous) input reshapes in row-major order.
  NDArray tv = iota(DType::Float64, {6, 2}).transpose();
  expectValues(evalChecked(reshape(m, {-1}), {{m, tv}}), DType::Float64, {12},
               {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11});
  // A symbolic shape vector of known length.
  Var shp = tensor(DType::Int64, {2}, "shp");
  expectValues(evalChecked(reshape(m, shp),
                           {{m, mv}, {shp, ints(DType::Int64, {2}, {4, -1})}}),
               DType::Float64, {4, 3}, flat(mv));
  Var n = scalar("n", DType::Int32);
  expectValues(evalChecked(reshape(m, {n, -1}),
                           {{m, mv}, {n, ints(DType::Int32, {}, {6})}}),
               DType::Float64, {6, 2}, flat(mv));
  // To and from 0-d and empty.
  Var s = scalar("s");
  expectValues(
      evalChecked(reshape(s, {1, 1}), {{s, array(DType::Float64, {}, {5})}}),
      DType::Float64, {1, 1}, {5});
  Var one = tensor(DType::Float64, {1, 1}, "one");
  expectValues(evalChecked(reshape(one, std::vector<Operand>{}),
                           {{one, array(DType::Float64, {1, 1}, {5})}}),
               DType::Float64, {}, {5});
  expectValues(evalChecked(reshape(m, {5, 0, 2}),
                           {{m, NDArray::empty(DType::Float64, {0, 3})}}),
               DType::Float64, {5, 0, 2}, {});
  // As in NumPy, -1 cannot be inferred next to a zero size.
  CHECK_THROWS_KIND(eval(reshape(m, std::vector<Operand>{0, -1}),
                         {{m, NDArray::empty(DType::Float64, {0, 3})}}),
                    ValueError, "cannot reshape array of size 0");
  // flatten keeps ndim-1 leading axes.
  Var t = tensor3("t");
  NDArray t3 = iota(DType::Float64, {2, 3, 4});
  expectValues(evalChecked(flatten(t), {{t, t3}}), DType::Float64, {24},
               flat(t3));
  expectValues(evalChecked(flatten(t, 2), {{t, t3}}), DType::Float64, {2, 12},
               flat(t3));
  expectValues(evalChecked(flatten(s), {{s, array(DType::Float64, {}, {5})}}),
               DType::Float64, {1}, {5});
  // Errors.
  CHECK_THROWS_KIND(reshape(m, {-1, -1}), ValueError,
                    "only specify one unknown dimension");
  CHECK_THROWS_KIND(reshape(m, {-2, 3}), ValueError, "negative size -2");
  CHECK_THROWS_KIND(reshape(tensor(DType::Float64, {2, 3}), {4, 2}), ValueError,
                    "cannot reshape f64[2,3] into shape (4, 2)");
  CHECK_THROWS_KIND(eval(reshape(m, {5, -1}), {{m, mv}}), ValueError,
                    "reshape");
  CHECK_THROWS_KIND(reshape(m, vector("v", DType::Int64)), TypeError,
                    "integer vector of known length");
  CHECK_THROWS_KIND(reshape(m, tensor(DType::Float64, {2})), TypeError,
                    "integer vector of known length; got f64[2]");
  CHECK_THROWS_KIND(reshape(m, {1.5}), TypeError, "must be integers");
  CHECK_THROWS_KIND(flatten(m, 3), ValueError, "flatten: ndim must be");
}

TEST_CASE("shape, shape_i and make_vector", "[shape]") {
  Var t = tensor(DType::Float32, {2, U, U}, "t");
  NDArray tv = NDArray::zeros(DType::Float32, {2, 5, 0});
  expectInts(evalChecked(shape(t), {{t, tv}}), DType::Int64, {3}, {2, 5, 0});
  Var s1 = shapeOf(t, 1);
  CHECK(s1.node()->kind() == OpKind::ShapeI);
  expectInts(evalChecked(s1, {{t, tv}}), DType::Int64, {}, {5});
  expectInts(evalChecked(shapeOf(t, -1), {{t, tv}}), DType::Int64, {}, {0});
  // Known sizes are constants.
  CHECK(shapeOf(t, 0).isConstant());
  CHECK(shape(tensor(DType::Float64, {2, 3})).isConstant());
  CHECK_THROWS_KIND(shapeOf(t, 3), ValueError, "axis 3 is out of bounds");
  // shape of a 0-d value is empty.
  Var s = scalar("s");
  expectInts(evalChecked(shape(s), {{s, array(DType::Float64, {}, {1})}}),
             DType::Int64, {0}, {});

  Var a = scalar("a", DType::Int64), b = scalar("b", DType::Int8);
  Var mv = makeVector({a, 3, b});
  CHECK(mv.node()->kind() == OpKind::MakeVector);
  CHECK(mv.type()->str() == "i64[3]");
  expectInts(evalChecked(mv, {{a, ints(DType::Int64, {}, {-4})},
                              {b, ints(DType::Int8, {}, {9})}}),
             DType::Int64, {3}, {-4, 3, 9});
  CHECK(makeVector({1, 2}).isConstant());
  CHECK_THROWS_KIND(makeVector({vector("v", DType::Int64)}), TypeError,
                    "integer scalars");
  CHECK_THROWS_KIND(makeVector({scalar("f")}), TypeError, "integer scalars");
  CHECK_THROWS_KIND(makeOp(OpKind::MakeVector,
                           {a, constant(Scalar::fromInt(1, DType::Int8))}),
                    TypeError, "one dtype");
}

TEST_CASE("alloc, fill, zeros and ones", "[shape]") {
  Var n = scalar("n", DType::Int64);
  Bindings args{{n, ints(DType::Int64, {}, {3})}};
  Var z = alloc(1.5, {2, n});
  CHECK(z.type()->str() == "f64[2,?]");
  expectValues(evalChecked(z, args), DType::Float64, {2, 3},
               {1.5, 1.5, 1.5, 1.5, 1.5, 1.5});
  // A vector value broadcast along new leading axes; from a strided view.
  Var v = vector("v");
  NDArray vv =
      array(DType::Float64, {6}, {3, 9, 2, 9, 1, 9}).slice(0, 4, -1, -2);
  expectValues(evalChecked(alloc(v, {n, 3}), {{n, args[0].second}, {v, vv}}),
               DType::Float64, {3, 3}, {1, 2, 3, 1, 2, 3, 1, 2, 3});
  // A broadcastable column stretched.
  Var c = col("c", DType::Int32);
  expectInts(
      evalChecked(alloc(c, {2, 3}), {{c, ints(DType::Int32, {2, 1}, {7, 8})}}),
      DType::Int32, {2, 3}, {7, 7, 7, 8, 8, 8});
  // Empty and 0-d.
  expectValues(evalChecked(alloc(2.0, {0, n}), args), DType::Float64, {0, 3},
               {});
  expectValues(evalChecked(alloc(2.0, {})), DType::Float64, {}, {2});
  // fill / zeros / ones and their dtypes.
  Var m = matrix("m", DType::Float32);
  NDArray mv = NDArray::zeros(DType::Float32, {2, 2});
  expectValues(evalChecked(fill(m, 3), {{m, mv}}), DType::Float32, {2, 2},
               {3, 3, 3, 3});
  expectValues(evalChecked(zerosLike(m), {{m, mv}}), DType::Float32, {2, 2},
               {0, 0, 0, 0});
  expectInts(evalChecked(onesLike(m, DType::Int8), {{m, mv}}), DType::Int8,
             {2, 2}, {1, 1, 1, 1});
  expectValues(evalChecked(zeros({n}), args), floatX(), {3}, {0, 0, 0});
  expectInts(evalChecked(ones({2}, DType::Bool)), DType::Bool, {2}, {1, 1});
  // Errors.
  CHECK_THROWS_KIND(alloc(1.0, {-1}), ValueError, "negative size -1");
  CHECK_THROWS_KIND(eval(alloc(1.0, {n}), {{n, ints(DType::Int64, {}, {-2})}}),
                    ValueError, "negative size -2");
  CHECK_THROWS_KIND(alloc(matrix(), {3}), ValueError,
                    "the value has rank 2 but the new array only 1");
  CHECK_THROWS_KIND(alloc(tensor(DType::Float64, {4}), {2, 3}), ShapeError,
                    "does not fit size 3");
  CHECK_THROWS_KIND(eval(alloc(v, {2, 4}), {{v, vv}}), ShapeError,
                    "does not fit the shape (2, 4)");
  CHECK_THROWS_KIND(alloc(1.0, {2.5}), TypeError, "must be integers");
}

TEST_CASE("arange", "[shape]") {
  expectValues(evalChecked(arange(0, 1, 0.1)), DType::Float64, {10},
               {0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5,
                0.6000000000000001, 0.7000000000000001, 0.8, 0.9});
  expectInts(evalChecked(arange(10, 2, -3)), DType::Int64, {3}, {10, 7, 4});
  expectInts(evalChecked(arange(-3, 3, 2)), DType::Int64, {3}, {-3, -1, 1});
  expectValues(evalChecked(arange(1, 2.5, 0.5)), DType::Float64, {3},
               {1, 1.5, 2});
  expectInts(evalChecked(arange(5, 5)), DType::Int64, {0}, {});
  expectInts(evalChecked(arange(5, 1)), DType::Int64, {0}, {});
  expectValues(evalChecked(arange(0, 3, 1, DType::Float32)), DType::Float32,
               {3}, {0, 1, 2});
  CHECK(arange(0, 10, 3).type()->str() == "i64[4]");
  // Symbolic bounds: the length is known only when run.
  Var n = scalar("n", DType::Int64), s = scalar("s", DType::Int64);
  Var r = arange(1, n, s);
  CHECK(r.type()->str() == "i64[?]");
  expectInts(evalChecked(r, {{n, ints(DType::Int64, {}, {10})},
                             {s, ints(DType::Int64, {}, {4})}}),
             DType::Int64, {3}, {1, 5, 9});
  expectInts(evalChecked(r, {{n, ints(DType::Int64, {}, {-10})},
                             {s, ints(DType::Int64, {}, {4})}}),
             DType::Int64, {0}, {});
  Var i8 = scalar("i8", DType::Int8);
  CHECK(arange(0, i8).dtype() == DType::Int8);
  CHECK_THROWS_KIND(arange(0, 5, 0), ValueError, "the step must not be zero");
  CHECK_THROWS_KIND(eval(r, {{n, ints(DType::Int64, {}, {10})},
                             {s, ints(DType::Int64, {}, {0})}}),
                    ValueError, "the step must not be zero");
  CHECK_THROWS_KIND(arange(vector(), 3), TypeError, "real scalars");
}

TEST_CASE("eye", "[shape]") {
  expectValues(evalChecked(eye(3, 4, 1)), DType::Float64, {3, 4},
               {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  expectValues(evalChecked(eye(3, 2, -1)), DType::Float64, {3, 2},
               {0, 0, 1, 0, 0, 1});
  expectInts(evalChecked(eye(2, 2, 0, DType::Int8)), DType::Int8, {2, 2},
             {1, 0, 0, 1});
  expectValues(evalChecked(eye(0, 3)), DType::Float64, {0, 3}, {});
  Var n = scalar("n", DType::Int32);
  Var e = eye(n, 2);
  CHECK(e.type()->str() == "f64[?,2]");
  expectValues(evalChecked(e, {{n, ints(DType::Int32, {}, {2})}}),
               DType::Float64, {2, 2}, {1, 0, 0, 1});
  CHECK_THROWS_KIND(eval(e, {{n, ints(DType::Int32, {}, {-1})}}), ValueError,
                    "negative size");
  CHECK_THROWS_KIND(eye(2.5, 2), TypeError, "must be integers");
}

TEST_CASE("concatenate (join) and stack", "[shape]") {
  Var a = matrix("a"), b = matrix("b");
  NDArray av = iota(DType::Float64, {2, 2});
  NDArray bv = iota(DType::Float64, {2, 3}, 10);
  Bindings args{{a, av}, {b, bv}};
  Var j = concatenate({a, b}, 1);
  expectValues(evalChecked(j, args), DType::Float64, {2, 5},
               {0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  expectValues(evalChecked(concatenate({a, b}, -1), args), DType::Float64,
               {2, 5}, {0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  expectValues(evalChecked(concatenate({a, a, a}, 0), args), DType::Float64,
               {6, 2}, {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  // Strided pieces, an empty piece, and static sizes.
  Bindings views{{a, av.transpose()},
                 {b, NDArray::empty(DType::Float64, {2, 0})}};
  expectValues(evalChecked(j, views), DType::Float64, {2, 2}, {0, 2, 1, 3});
  Var p = tensor(DType::Float64, {2, 3}), q = tensor(DType::Float64, {4, U});
  CHECK(concatenate({p, q}).type()->str() == "f64[6,3]");
  CHECK_THROWS_KIND(concatenate({p, q}, 1), ShapeError,
                    "differ in dimension 0 (2 and 4)");
  // dtypes promote.
  Var i = vector("i", DType::Int8), f = vector("f", DType::Float32);
  Var ji = concatenate({i, f});
  CHECK(ji.dtype() == DType::Float32);
  expectValues(evalChecked(ji, {{i, ints(DType::Int8, {2}, {-1, 2})},
                                {f, array(DType::Float32, {1}, {0.5})}}),
               DType::Float32, {3}, {-1, 2, 0.5});
  // stack adds an axis.
  Var v = vector("v"), w = vector("w");
  Bindings vargs{{v, array(DType::Float64, {2}, {1, 2})},
                 {w, array(DType::Float64, {2}, {3, 4})}};
  expectValues(evalChecked(stack({v, w}), vargs), DType::Float64, {2, 2},
               {1, 2, 3, 4});
  expectValues(evalChecked(stack({v, w}, 1), vargs), DType::Float64, {2, 2},
               {1, 3, 2, 4});
  expectValues(evalChecked(stack({v, w, v}, -1), vargs), DType::Float64, {2, 3},
               {1, 3, 1, 2, 4, 2});
  Var s = scalar("s");
  expectValues(
      evalChecked(stack({s, s}), {{s, array(DType::Float64, {}, {7})}}),
      DType::Float64, {2}, {7, 7});
  CHECK(concatenate({a}) == a);
  // Errors.
  CHECK_THROWS_KIND(concatenate({a, v}), ValueError, "must have rank 2");
  CHECK_THROWS_KIND(concatenate({s, s}), ValueError, "zero-dimensional");
  CHECK_THROWS_KIND(concatenate({p, tensor(DType::Float64, {2, 4})}),
                    ShapeError, "differ in dimension 1");
  CHECK_THROWS_KIND(eval(concatenate({a, b}, 0), args), ShapeError,
                    "differ in dimension 1");
  CHECK_THROWS_KIND(concatenate({a, b}, 2), ValueError, "axis 2");
  CHECK_THROWS_KIND(concatenate({}), ValueError, "at least one");
  CHECK_THROWS_KIND(stack({v, a}), ValueError, "same rank");
}

TEST_CASE("split", "[shape]") {
  Var m = matrix("m");
  NDArray mv = iota(DType::Float64, {2, 5});
  std::vector<Var> parts =
      split(m, constant(ints(DType::Int64, {3}, {1, 0, 4})), 3, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].type()->str() == "f64[?,1]");
  CHECK(parts[1].type()->str() == "f64[?,0]");
  expectValues(evalChecked(parts[0], {{m, mv}}), DType::Float64, {2, 1},
               {0, 5});
  expectValues(evalChecked(parts[1], {{m, mv}}), DType::Float64, {2, 0}, {});
  expectValues(evalChecked(parts[2], {{m, mv}}), DType::Float64, {2, 4},
               {1, 2, 3, 4, 6, 7, 8, 9});
  // Symbolic sizes, on a reversed view.
  Var sizes = tensor(DType::Int32, {2}, "sizes");
  std::vector<Var> halves = split(m, sizes, 2, -1);
  Bindings args{{m, mv.slice(1, 4, -1, -1)},
                {sizes, ints(DType::Int32, {2}, {2, 3})}};
  expectValues(evalChecked(halves[0], args), DType::Float64, {2, 2},
               {4, 3, 9, 8});
  expectValues(evalChecked(halves[1], args), DType::Float64, {2, 3},
               {2, 1, 0, 7, 6, 5});
  CHECK_THROWS_KIND(
      eval(halves[0], {{m, mv}, {sizes, ints(DType::Int32, {2}, {2, 2})}}),
      ValueError, "the piece sizes add up to 4");
  CHECK_THROWS_KIND(
      eval(halves[0], {{m, mv}, {sizes, ints(DType::Int32, {2}, {-1, 6})}}),
      ValueError, "negative piece size");
  CHECK_THROWS_KIND(split(m, sizes, 3), ValueError, "3 pieces asked for");
  CHECK_THROWS_KIND(split(m, tensor(DType::Float64, {2}), 2), TypeError,
                    "integer vector of known length; got f64[2]");
}

TEST_CASE("Reference kernels give views where NumPy does", "[shape]") {
  Var m = matrix("m");
  NDArray mv = iota(DType::Float64, {2, 6});
  // Runs the kernel of v's node with `x` for m and the constants' values.
  auto kernel = [&](const Var &v, const NDArray &x) {
    std::vector<NDArray> operands;
    for (const Var &o : v.node()->operands())
      operands.push_back(o == m ? x : o.constantValue());
    return evaluateNode(*v.node(), operands)[v.index()];
  };
  CHECK(kernel(transpose(m), mv).mayShareMemory(mv));
  CHECK(kernel(subtensor(m, {Index::slice({}, {}, -1), Index::at(1)}), mv)
            .mayShareMemory(mv));
  CHECK(kernel(split(m, constant(ints(DType::Int64, {2}, {2, 4})), 2, 1)[1], mv)
            .mayShareMemory(mv));
  // reshape is a view of a contiguous array and a copy of a transposed one.
  Var r = reshape(m, {3, 4});
  CHECK(kernel(r, mv).mayShareMemory(mv));
  NDArray tv = iota(DType::Float64, {6, 2}).transpose();
  NDArray copied = kernel(r, tv);
  CHECK_FALSE(copied.mayShareMemory(tv));
  CHECK(flat(copied) == flat(tv.copy()));
  // Writes never touch their operand.
  NDArray before = mv.copy();
  NDArray written = kernel(setSubtensor(subtensor(m, {Index::at(0)}), 5.0), mv);
  CHECK_FALSE(written.mayShareMemory(mv));
  CHECK(flat(mv) == flat(before));
  CHECK(written.at({0, 3}).toDouble() == 5);
}
