//===- NDArrayTest.cpp - Views, copies and casts of NDArray ---------------===//
//
// Expected values follow NumPy 1.24 on the same data, except where Scalar.h
// documents a deliberate difference (float to integer casts saturate and
// map NaN to 0).
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/NDArray.h"
#include "thjit/Support/Error.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace thjit;

// 0, 1, 2, ... as dtype `t` with the given shape (np.arange(n).reshape).
static NDArray iota(DType t, const Shape &shape) {
  std::vector<Scalar> values;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    values.push_back(Scalar::fromInt(i));
  return NDArray::fromValues(t, values, shape);
}

static NDArray doubles(const std::vector<double> &values, DType t) {
  std::vector<Scalar> s;
  for (double v : values)
    s.push_back(Scalar(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()});
}

// Every element in row-major order, as doubles.
static std::vector<double> flat(const NDArray &a) {
  std::vector<double> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toDouble());
  return out;
}

static std::vector<int64_t> flatInts(const NDArray &a) {
  std::vector<int64_t> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toInt());
  return out;
}

using Doubles = std::vector<double>;
using Ints = std::vector<int64_t>;

TEST_CASE("new arrays have C strides, or Fortran strides on request",
          "[ndarray]") {
  NDArray a = NDArray::empty(DType::Float32, {2, 3, 4});
  CHECK(a.strides() == Shape{12, 4, 1});
  CHECK(a.nbytes() == 96);
  CHECK(a.isContiguous());
  CHECK(!a.isContiguous(Order::F));
  NDArray f = NDArray::empty(DType::Float32, {2, 3, 4}, Order::F);
  CHECK(f.strides() == Shape{1, 2, 6});
  CHECK(f.isContiguous(Order::F));
  CHECK(reinterpret_cast<uintptr_t>(a.data()) % 64 == 0);

  NDArray s = NDArray::scalar(Scalar(2.5));
  CHECK(s.ndim() == 0);
  CHECK(s.size() == 1);
  CHECK(s.item().toDouble() == 2.5);
  CHECK(NDArray::zeros(DType::Int8, {0, 5}).size() == 0);
  CHECK_THROWS_AS(NDArray::empty(DType::Float64, {2, -1}), ValueError);
  CHECK_THROWS_AS(NDArray::empty(DType::Float64, Shape(33, 1)), ValueError);
  CHECK_NOTHROW(NDArray::empty(DType::Float64, Shape(32, 1)));
  CHECK_THROWS_AS(NDArray::fromValues(DType::Int32, {Scalar(1.0)}, {2}),
                  ValueError);
  CHECK(flat(NDArray::full(DType::Int16, {2, 2}, Scalar(7.0))) ==
        Doubles{7, 7, 7, 7});
}

TEST_CASE("transpose and permute are views with permuted strides",
          "[ndarray]") {
  NDArray a = iota(DType::Int64, {2, 3, 4});
  NDArray t = a.transpose();
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.strides() == Shape{1, 4, 12});
  CHECK(t.data() == a.data());
  CHECK(t.at({3, 1, 1}).toInt() == a.at({1, 1, 3}).toInt());
  CHECK(!t.isContiguous());
  CHECK(t.isContiguous(Order::F));

  NDArray p = a.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  // np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1)[1].ravel()
  CHECK(flatInts(p.select(0, 1)) == Ints{1, 5, 9, 13, 17, 21});

  NDArray s = NDArray::scalar(Scalar(1.0));
  CHECK(s.transpose().ndim() == 0);
  CHECK(iota(DType::Int8, {5}).transpose().strides() == Shape{1});

  CHECK_THROWS_AS(a.permute({0, 1}), ValueError);
  CHECK_THROWS_AS(a.permute({0, 1, 1}), ValueError);
  CHECK_THROWS_AS(a.permute({0, 1, 3}), ValueError);
  CHECK_THROWS_AS(a.permute({0, -1, 2}), ValueError);
}

TEST_CASE("slices with positive and negative steps", "[ndarray]") {
  NDArray a = iota(DType::Int32, {10});
  // Arguments as Python's slice(...).indices(10) gives them.
  CHECK(flatInts(a.slice(0, 2, 8, 2)) == Ints{2, 4, 6}); // a[2:8:2]
  CHECK(flatInts(a.slice(0, 9, -1, -1)) ==               // a[::-1]
        Ints{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(flatInts(a.slice(0, 8, 2, -3)) == Ints{8, 5});    // a[8:2:-3]
  CHECK(flatInts(a.slice(0, 1, 10, 4)) == Ints{1, 5, 9}); // a[1::4]
  CHECK(a.slice(0, 5, 5, 1).size() == 0);                 // a[5:5]
  CHECK(a.slice(0, 3, 7, -1).size() == 0);                // a[3:7:-1]
  CHECK(a.slice(0, 9, -1, -1).strides() == Shape{-1});

  NDArray r = a.slice(0, 9, -1, -1);
  CHECK(r.data() == a.data() + 9 * 4);
  CHECK(r.mayShareMemory(a));
  // A slice of a reversed view: a[::-1][7:1:-2] == [2, 4, 6].
  CHECK(flatInts(r.slice(0, 7, 1, -2)) == Ints{2, 4, 6});

  NDArray m = iota(DType::Float64, {3, 4});
  NDArray cols = m.slice(1, 3, 0, -2); // m[:, 3:0:-2]
  CHECK(cols.shape() == Shape{3, 2});
  CHECK(cols.strides() == Shape{4, -2});
  CHECK(flat(cols) == Doubles{3, 1, 7, 5, 11, 9});

  CHECK_THROWS_AS(a.slice(0, 0, 5, 0), ValueError);
  CHECK_THROWS_AS(a.slice(1, 0, 5, 1), IndexError);
}

TEST_CASE("select drops an axis and expandDims inserts one", "[ndarray]") {
  NDArray m = iota(DType::UInt16, {3, 4});
  NDArray row = m.select(0, 1);
  CHECK(row.shape() == Shape{4});
  CHECK(flatInts(row) == Ints{4, 5, 6, 7});
  NDArray col = m.select(1, 2);
  CHECK(col.strides() == Shape{4});
  CHECK(flatInts(col) == Ints{2, 6, 10});
  NDArray elem = m.select(0, 2).select(0, 3);
  CHECK(elem.ndim() == 0);
  CHECK(elem.item().toInt() == 11);
  CHECK_THROWS_AS(m.select(0, 3), IndexError);
  CHECK_THROWS_AS(m.select(0, -1), IndexError);
  CHECK_THROWS_AS(m.select(2, 0), IndexError);

  NDArray e = m.expandDims(1);
  CHECK(e.shape() == Shape{3, 1, 4});
  CHECK(flatInts(e) == flatInts(m));
  CHECK(m.expandDims(2).shape() == Shape{3, 4, 1});
  CHECK(NDArray::scalar(Scalar(1.0)).expandDims(0).shape() == Shape{1});
  CHECK_THROWS_AS(m.expandDims(3), IndexError);
}

TEST_CASE("broadcastTo makes zero-stride views", "[ndarray]") {
  NDArray v = iota(DType::Float32, {3});
  NDArray b = v.broadcastTo({2, 3});
  CHECK(b.strides() == Shape{0, 1});
  CHECK(flat(b) == Doubles{0, 1, 2, 0, 1, 2});
  NDArray c = v.expandDims(1).broadcastTo({3, 2});
  CHECK(c.strides() == Shape{1, 0});
  CHECK(flat(c) == Doubles{0, 0, 1, 1, 2, 2});
  CHECK(NDArray::scalar(Scalar(4.0)).broadcastTo({2, 2}).strides() ==
        Shape{0, 0});
  CHECK(iota(DType::Int8, {1, 3}).broadcastTo({0, 3}).size() == 0);
  CHECK(!b.isContiguous());

  CHECK_THROWS_AS(v.broadcastTo({4}), ShapeError);
  CHECK_THROWS_AS(iota(DType::Int8, {2, 3}).broadcastTo({3}), ShapeError);
  CHECK(broadcastShapes({2, 1, 4}, {3, 1}) == Shape{2, 3, 4});
  CHECK(broadcastShapes({}, {5}) == Shape{5});
  CHECK(broadcastShapes({0}, {1}) == Shape{0});
  CHECK_THROWS_AS(broadcastShapes({2, 3}, {3, 2}), ShapeError);
}

TEST_CASE("reshape is a view when the strides allow it", "[ndarray]") {
  NDArray a = iota(DType::Int64, {2, 3, 4});
  NDArray r = a.reshape({6, 4});
  CHECK(r.data() == a.data());
  CHECK(r.strides() == Shape{4, 1});
  CHECK(a.reshape({-1}).shape() == Shape{24});
  CHECK(a.reshape({4, -1}).shape() == Shape{4, 6});
  CHECK(a.reshape({2, -1, 3}).shape() == Shape{2, 4, 3});
  CHECK(a.reshape({1, 24, 1}).mayShareMemory(a));
  CHECK(iota(DType::Int8, {1}).reshape({}).ndim() == 0);
  CHECK(NDArray::scalar(Scalar(3.0)).reshape({1, 1}).shape() == Shape{1, 1});

  // np.arange(24).reshape(4, 6)[:, :4]: splitting the first axis is a view,
  // merging the two axes is not.
  NDArray s = iota(DType::Int64, {4, 6}).slice(1, 0, 4, 1);
  NDArray split = s.reshape({2, 2, 4});
  CHECK(split.mayShareMemory(s));
  CHECK(split.strides() == Shape{12, 6, 1});
  NDArray merged = s.reshape({16});
  CHECK(!merged.mayShareMemory(s));
  CHECK(flatInts(merged) ==
        Ints{0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21});
  // np.arange(24).reshape(4, 6)[:, ::2] is one evenly strided run: a view.
  NDArray even = iota(DType::Int64, {4, 6}).slice(1, 0, 6, 2);
  NDArray run = even.reshape({12});
  CHECK(run.mayShareMemory(even));
  CHECK(run.strides() == Shape{2});

  // A transposed matrix flattens to a copy in row-major order of the view.
  NDArray t = iota(DType::Float64, {2, 3}).transpose();
  NDArray tf = t.reshape({6});
  CHECK(!tf.mayShareMemory(t));
  CHECK(flat(tf) == Doubles{0, 3, 1, 4, 2, 5});
  // A reversed axis cannot merge with another one either.
  NDArray rev = iota(DType::Int32, {2, 3}).slice(1, 2, -1, -1);
  CHECK(flatInts(rev.reshape({6})) == Ints{2, 1, 0, 5, 4, 3});
  // A broadcast row reshapes by copying.
  NDArray b = iota(DType::Int32, {3}).broadcastTo({2, 3});
  CHECK(flatInts(b.reshape({3, 2})) == Ints{0, 1, 2, 0, 1, 2});

  NDArray empty = NDArray::zeros(DType::Float32, {0, 4});
  CHECK(empty.reshape({2, 0, 3}).shape() == Shape{2, 0, 3});
  CHECK(empty.reshape({4, 0}).shape() == Shape{4, 0});

  CHECK_THROWS_AS(a.reshape({5, 5}), ValueError);
  CHECK_THROWS_AS(a.reshape({-1, -1}), ValueError);
  CHECK_THROWS_AS(a.reshape({-1, 5}), ValueError);
  CHECK_THROWS_AS(a.reshape({-2, 12}), ValueError);
  CHECK_THROWS_AS(empty.reshape({-1, 0}), ValueError);
}

TEST_CASE("copy makes an independent C or Fortran array", "[ndarray]") {
  NDArray a = iota(DType::Float64, {2, 3});
  NDArray c = a.copy();
  CHECK(!c.mayShareMemory(a));
  c.setAt({0, 0}, Scalar(100.0));
  CHECK(a.at({0, 0}).toDouble() == 0);

  NDArray f = a.copy(Order::F);
  CHECK(f.strides() == Shape{1, 2});
  CHECK(flat(f) == flat(a));

  NDArray view = a.transpose().slice(0, 2, -1, -1);
  NDArray vc = view.copy();
  CHECK(vc.isContiguous());
  CHECK(flat(vc) == Doubles{2, 5, 1, 4, 0, 3});
  NDArray bc = NDArray::scalar(Scalar(1.5)).broadcastTo({2, 2}).copy();
  CHECK(bc.strides() == Shape{2, 1});
  CHECK(flat(bc) == Doubles{1.5, 1.5, 1.5, 1.5});
}

TEST_CASE("float to integer casts saturate and map NaN to 0", "[ndarray]") {
  const double inf = std::numeric_limits<double>::infinity();
  NDArray f = doubles({1e20, -1e20, NAN, 2.7, -2.7, inf, -inf}, DType::Float64);
  CHECK(flatInts(f.astype(DType::Int32)) ==
        Ints{INT32_MAX, INT32_MIN, 0, 2, -2, INT32_MAX, INT32_MIN});
  CHECK(flatInts(f.astype(DType::Int8)) ==
        Ints{127, -128, 0, 2, -2, 127, -128});
  CHECK(flatInts(f.astype(DType::UInt8)) == Ints{255, 0, 0, 2, 0, 255, 0});
  CHECK(flatInts(f.astype(DType::Int64)) ==
        Ints{INT64_MAX, INT64_MIN, 0, 2, -2, INT64_MAX, INT64_MIN});
  std::vector<Scalar> u = f.astype(DType::UInt64).values();
  CHECK(u[0].toUInt() == UINT64_MAX);
  CHECK(u[1].toUInt() == 0);
  CHECK(u[3].toUInt() == 2);
  // Through float16 and float32 storage too.
  CHECK(flatInts(f.astype(DType::Float16).astype(DType::Int16)) ==
        Ints{32767, -32768, 0, 2, -2, 32767, -32768});
}

TEST_CASE("integer casts wrap around as in NumPy", "[ndarray]") {
  NDArray i = NDArray::fromValues(DType::Int64,
                                  {Scalar::fromInt(300), Scalar::fromInt(-1),
                                   Scalar::fromInt(65536 + 7),
                                   Scalar::fromInt(INT64_MIN)},
                                  {4});
  CHECK(flatInts(i.astype(DType::UInt8)) == Ints{44, 255, 7, 0});
  CHECK(flatInts(i.astype(DType::Int8)) == Ints{44, -1, 7, 0});
  CHECK(flatInts(i.astype(DType::Int16)) == Ints{300, -1, 7, 0});
  std::vector<Scalar> u = i.astype(DType::UInt64).values();
  CHECK(u[1].toUInt() == UINT64_MAX);
  CHECK(u[3].toUInt() == (uint64_t)1 << 63);
  NDArray big =
      NDArray::fromValues(DType::UInt64, {Scalar::fromUInt(UINT64_MAX)}, {1});
  CHECK(big.astype(DType::Int64).item().toInt() == -1);
  CHECK(big.astype(DType::UInt32).item().toUInt() == 4294967295u);
}

TEST_CASE("casts between floats round once, as NumPy does", "[ndarray]") {
  // np.float64(1 + 2**-11 + 2**-40).astype(np.float16) rounds up; rounding
  // through float32 first would round to 1.0.
  double justAboveTie = 1 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  NDArray h = doubles({justAboveTie, 0.1, 65520.0, 1e-8}, DType::Float16);
  CHECK(flat(h) == Doubles{1.0009765625, 0.0999755859375, INFINITY, 0.0});
  // int64 2**60 + 2**36 + 1 -> float32 rounds up to 2**60 + 2**37.
  NDArray i = NDArray::fromValues(
      DType::Int64,
      {Scalar::fromInt((int64_t(1) << 60) + (int64_t(1) << 36) + 1)}, {1});
  CHECK(i.astype(DType::Float32).item().toDouble() ==
        std::ldexp(1.0, 60) + std::ldexp(1.0, 37));
  CHECK(i.astype(DType::Complex64).item().toDouble() ==
        std::ldexp(1.0, 60) + std::ldexp(1.0, 37));
  CHECK(doubles({0.1}, DType::Float32).item().toDouble() == (double)0.1f);
}

TEST_CASE("bool and complex casts", "[ndarray]") {
  NDArray f = doubles({0.0, 2.0, NAN, -0.0}, DType::Float64);
  std::vector<Scalar> b = f.astype(DType::Bool).values();
  CHECK(!b[0].toBool());
  CHECK(b[1].toBool());
  CHECK(b[2].toBool());
  CHECK(!b[3].toBool());
  CHECK(flat(f.astype(DType::Bool).astype(DType::Float32)) ==
        Doubles{0, 1, 1, 0});

  NDArray c = NDArray::fromValues(DType::Complex128,
                                  {Scalar(std::complex<double>(1.5, -2)),
                                   Scalar(std::complex<double>(0, 3))},
                                  {2});
  CHECK(flat(c.astype(DType::Float64)) == Doubles{1.5, 0});
  CHECK(flatInts(c.astype(DType::Int32)) == Ints{1, 0});
  std::vector<Scalar> c64 = c.astype(DType::Complex64).values();
  CHECK(c64[0].toComplex() == std::complex<double>(1.5, -2));
  CHECK(c64[0].dtype() == DType::Complex64);
  std::vector<Scalar> cb = c.astype(DType::Bool).values();
  CHECK(cb[0].toBool());
  CHECK(cb[1].toBool());
}

TEST_CASE("assign broadcasts and casts the source", "[ndarray]") {
  NDArray m = NDArray::zeros(DType::Int32, {2, 3});
  m.assign(doubles({1.9, -2.5, 3.0}, DType::Float64));
  CHECK(flatInts(m) == Ints{1, -2, 3, 1, -2, 3});
  m.select(1, 0).assign(NDArray::scalar(Scalar::fromInt(9)));
  CHECK(flatInts(m) == Ints{9, -2, 3, 9, -2, 3});
  m.transpose().select(0, 2).fill(Scalar(7.0));
  CHECK(flatInts(m) == Ints{9, -2, 7, 9, -2, 7});
  CHECK_THROWS_AS(m.assign(iota(DType::Int32, {2})), ShapeError);

  // a[1:] = a[:-1] reads the source before writing (NumPy copies overlaps).
  NDArray a = iota(DType::Float64, {5});
  a.slice(0, 1, 5, 1).assign(a.slice(0, 0, 4, 1));
  CHECK(flat(a) == Doubles{0, 0, 1, 2, 3});
  // a[:] = a[::-1] reverses in place.
  NDArray r = iota(DType::Int16, {4});
  r.assign(r.slice(0, 3, -1, -1));
  CHECK(flatInts(r) == Ints{3, 2, 1, 0});
  // Writing through a transposed view.
  NDArray t = NDArray::zeros(DType::Float32, {2, 3});
  t.transpose().assign(iota(DType::Float32, {3, 2}));
  CHECK(flat(t) == Doubles{0, 2, 4, 1, 3, 5});
}

TEST_CASE("mayShareMemory compares the byte ranges of views", "[ndarray]") {
  NDArray a = iota(DType::Float64, {10});
  NDArray b = iota(DType::Float64, {10});
  CHECK(a.mayShareMemory(a));
  CHECK(!a.mayShareMemory(b));
  CHECK(!a.slice(0, 0, 5, 1).mayShareMemory(a.slice(0, 5, 10, 1)));
  CHECK(a.slice(0, 0, 6, 1).mayShareMemory(a.slice(0, 5, 10, 1)));
  CHECK(a.slice(0, 9, -1, -1).mayShareMemory(a.slice(0, 0, 1, 1)));
  // Interleaved views share no element, but their ranges overlap; like
  // numpy.may_share_memory this is a conservative answer.
  CHECK(a.slice(0, 0, 10, 2).mayShareMemory(a.slice(0, 1, 10, 2)));
  CHECK(!a.slice(0, 3, 3, 1).mayShareMemory(a));
  CHECK(!a.mayShareMemory(NDArray()));
  CHECK(a.copy().mayShareMemory(a) == false);
  CHECK(a.reshape({2, 5}).mayShareMemory(a));
}

TEST_CASE("element access on views", "[ndarray]") {
  NDArray m = iota(DType::Int64, {3, 4}).transpose();
  CHECK(m.flatAt(1).toInt() == 4);
  CHECK(m.flatAt(11).toInt() == 11);
  CHECK(m.at({3, 2}).toInt() == 11);
  CHECK_THROWS_AS(m.at({4, 0}), IndexError);
  CHECK_THROWS_AS(m.at({-1, 0}), IndexError);
  CHECK_THROWS_AS(m.at({0}), IndexError);
  CHECK_THROWS_AS(m.item(), ValueError);
  m.setAt({1, 2}, Scalar(-5.0));
  CHECK(m.transpose().at({2, 1}).toInt() == -5);

  Shape strides = {3, 1}, other = {0, 2};
  StridedWalker w({2, 3}, {&strides, &other});
  std::vector<int64_t> offsets;
  REQUIRE(w.valid());
  do
    offsets.push_back(w.offset(0) * 10 + w.offset(1));
  while (w.next());
  CHECK(offsets == std::vector<int64_t>{0, 12, 24, 30, 42, 54});
  CHECK(!StridedWalker({2, 0}, {&strides}).valid());
}

TEST_CASE("Scalar prints as Python and NumPy scalars do", "[ndarray]") {
  CHECK(Scalar(0.1, DType::Float16).str() == "0.1");
  CHECK(Scalar(65504.0, DType::Float16).str() == "65500.0");
  CHECK(Scalar(6e-8, DType::Float16).str() == "6e-08");
  // 2**-6: the shortest decimal that reads back rounds up, not to nearest.
  CHECK(Scalar(0.015625, DType::Float16).str() == "0.01563");
  CHECK(Scalar(0.1, DType::Float32).str() == "0.1");
  CHECK(Scalar(1e16).str() == "1e+16");
  CHECK(Scalar(std::complex<double>(2, -0.0)).str() == "(2-0j)");
  CHECK(Scalar(std::complex<double>(-0.0, 2)).str() == "(-0+2j)");
  CHECK(Scalar(std::complex<double>(0, 2)).str() == "2j");
  CHECK(Scalar(std::complex<double>(1, NAN)).str() == "(1+nanj)");
  CHECK(Scalar(std::complex<double>(1, -INFINITY)).str() == "(1-infj)");
}
