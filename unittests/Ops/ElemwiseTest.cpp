//===- ElemwiseTest.cpp - Element-wise ops against NumPy 1.24 -------------===//
//
// Reference-kernel values, result dtypes, broadcasting, 0-d and empty arrays,
// strided views, the integer corner cases and the errors of every
// element-wise op. Expected values are NumPy 1.24's, pasted as literals.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

#include <limits>

using namespace thjit;
using namespace thjit::test;

namespace {

struct FloatCase {
  OpKind kind;
  std::vector<double> want;
};

struct BoolCase {
  OpKind kind;
  std::vector<int64_t> want;
};

// a = [[-2.5, -1, 0, 1.5, 3]] (a row), b = [[-2], [0], [0.5], [2]] (a col).
const std::vector<FloatCase> kFloatBinary = {
    {OpKind::Add, {-4.5, -3.0, -2.0, -0.5, 1.0, -2.5, -1.0, 0.0, 1.5, 3.0,
                   -2.0, -0.5, 0.5,  2.0,  3.5, -0.5, 1.0,  2.0, 3.5, 5.0}},
    {OpKind::Sub, {-0.5, 1.0,  2.0,  3.5, 5.0, -2.5, -1.0, 0.0,  1.5,  3.0,
                   -3.0, -1.5, -0.5, 1.0, 2.5, -4.5, -3.0, -2.0, -0.5, 1.0}},
    {OpKind::Mul, {5.0,   2.0,  -0.0, -3.0, -6.0, -0.0, -0.0, 0.0, 0.0, 0.0,
                   -1.25, -0.5, 0.0,  0.75, 1.5,  -5.0, -2.0, 0.0, 3.0, 6.0}},
    {OpKind::TrueDiv,
     {1.25, 0.5,  -0.0, -0.75, -1.5, -kInf, -kInf, kNaN, kInf, kInf,
      -5.0, -2.0, 0.0,  3.0,   6.0,  -1.25, -0.5,  0.0,  0.75, 1.5}},
    {OpKind::FloorDiv,
     {1.0,  0.0,  -0.0, -1.0, -2.0, -kInf, -kInf, kNaN, kInf, kInf,
      -5.0, -2.0, 0.0,  3.0,  6.0,  -2.0,  -1.0,  0.0,  0.0,  1.0}},
    {OpKind::Mod, {-0.5, -1.0, -0.0, -0.5, -1.0, kNaN, kNaN, kNaN, kNaN, kNaN,
                   0.0,  0.0,  0.0,  0.0,  0.0,  1.5,  1.0,  0.0,  1.5,  1.0}},
    {OpKind::Pow,
     {0.16,
      1.0,
      kInf,
      0.4444444444444444,
      0.1111111111111111,
      1.0,
      1.0,
      1.0,
      1.0,
      1.0,
      kNaN,
      kNaN,
      0.0,
      1.224744871391589,
      1.7320508075688772,
      6.25,
      1.0,
      0.0,
      2.25,
      9.0}},
    {OpKind::Maximum, {-2.0, -1.0, 0.0, 1.5, 3.0, 0.0, 0.0, 0.0, 1.5, 3.0,
                       0.5,  0.5,  0.5, 1.5, 3.0, 2.0, 2.0, 2.0, 2.0, 3.0}},
    {OpKind::Minimum,
     {-2.5, -2.0, -2.0, -2.0, -2.0, -2.5, -1.0, 0.0, 0.0, 0.0,
      -2.5, -1.0, 0.0,  0.5,  0.5,  -2.5, -1.0, 0.0, 1.5, 2.0}},
    {OpKind::Arctan2,
     {-2.2455372690184494,
      -2.677945044588987,
      3.141592653589793,
      2.498091544796509,
      2.1587989303424644,
      -1.5707963267948966,
      -1.5707963267948966,
      0.0,
      1.5707963267948966,
      1.5707963267948966,
      -1.3734007669450157,
      -1.1071487177940904,
      0.0,
      1.2490457723982544,
      1.4056476493802696,
      -0.8960553845713438,
      -0.46364760900080615,
      0.0,
      0.6435011087932845,
      0.9827937232473289}},
};

const std::vector<BoolCase> kBoolBinary = {
    {OpKind::Eq, {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {OpKind::Neq, {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {OpKind::Lt, {1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0}},
    {OpKind::Le, {1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0}},
    {OpKind::Gt, {0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1}},
    {OpKind::Ge, {0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1}},
    {OpKind::LogicalAnd,
     {1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1}},
    {OpKind::LogicalOr,
     {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {OpKind::LogicalXor,
     {0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}},
};

// x = [-2.5, -0.5, 0, 0.5, 1.5, 2.5, nan, inf, -inf]; erf, erfc, sigmoid
// and softplus from Python's math module.
const std::vector<FloatCase> kFloatUnary = {
    {OpKind::Neg, {2.5, 0.5, -0.0, -0.5, -1.5, -2.5, kNaN, -kInf, kInf}},
    {OpKind::Abs, {2.5, 0.5, 0.0, 0.5, 1.5, 2.5, kNaN, kInf, kInf}},
    {OpKind::Sign, {-1.0, -1.0, 0.0, 1.0, 1.0, 1.0, kNaN, 1.0, -1.0}},
    {OpKind::Exp,
     {0.0820849986238988, 0.6065306597126334, 1.0, 1.6487212707001282,
      4.481689070338065, 12.182493960703473, kNaN, kInf, 0.0}},
    {OpKind::Exp2,
     {0.1767766952966369, 0.7071067811865476, 1.0, 1.4142135623730951,
      2.8284271247461903, 5.656854249492381, kNaN, kInf, 0.0}},
    {OpKind::Expm1,
     {-0.9179150013761012, -0.3934693402873666, 0.0, 0.6487212707001282,
      3.481689070338065, 11.182493960703473, kNaN, kInf, -1.0}},
    {OpKind::Log,
     {kNaN, kNaN, -kInf, -0.6931471805599453, 0.4054651081081644,
      0.916290731874155, kNaN, kInf, kNaN}},
    {OpKind::Log2,
     {kNaN, kNaN, -kInf, -1.0, 0.5849625007211562, 1.3219280948873624, kNaN,
      kInf, kNaN}},
    {OpKind::Log10,
     {kNaN, kNaN, -kInf, -0.3010299956639812, 0.17609125905568124,
      0.3979400086720376, kNaN, kInf, kNaN}},
    {OpKind::Log1p,
     {kNaN, -0.6931471805599453, 0.0, 0.4054651081081644, 0.916290731874155,
      1.252762968495368, kNaN, kInf, kNaN}},
    {OpKind::Sqrt,
     {kNaN, kNaN, 0.0, 0.7071067811865476, 1.224744871391589,
      1.5811388300841898, kNaN, kInf, kNaN}},
    {OpKind::Sqr, {6.25, 0.25, 0.0, 0.25, 2.25, 6.25, kNaN, kInf, kInf}},
    {OpKind::Sin,
     {-0.5984721441039564, -0.47942553860420295, 0.0, 0.47942553860420295,
      0.9974949866040544, 0.5984721441039564, kNaN, kNaN, kNaN}},
    {OpKind::Cos,
     {-0.8011436155469338, 0.8775825618903725, 1.0, 0.8775825618903725,
      0.0707372016677029, -0.8011436155469338, kNaN, kNaN, kNaN}},
    {OpKind::Tan,
     {0.7470222972386602, -0.5463024898437905, 0.0, 0.5463024898437905,
      14.10141994717172, -0.7470222972386602, kNaN, kNaN, kNaN}},
    {OpKind::Arcsin,
     {kNaN, -0.5235987755982989, 0.0, 0.5235987755982989, kNaN, kNaN, kNaN,
      kNaN, kNaN}},
    {OpKind::Arccos,
     {kNaN, 2.0943951023931957, 1.5707963267948966, 1.0471975511965976, kNaN,
      kNaN, kNaN, kNaN, kNaN}},
    {OpKind::Arctan,
     {-1.1902899496825317, -0.4636476090008061, 0.0, 0.4636476090008061,
      0.982793723247329, 1.1902899496825317, kNaN, 1.5707963267948966,
      -1.5707963267948966}},
    {OpKind::Sinh,
     {-6.0502044810397875, -0.5210953054937474, 0.0, 0.5210953054937474,
      2.1292794550948173, 6.0502044810397875, kNaN, kInf, -kInf}},
    {OpKind::Cosh,
     {6.132289479663686, 1.1276259652063807, 1.0, 1.1276259652063807,
      2.352409615243247, 6.132289479663686, kNaN, kInf, kInf}},
    {OpKind::Tanh,
     {-0.9866142981514303, -0.46211715726000974, 0.0, 0.46211715726000974,
      0.9051482536448665, 0.9866142981514303, kNaN, 1.0, -1.0}},
    {OpKind::Arcsinh,
     {-1.6472311463710958, -0.48121182505960347, 0.0, 0.48121182505960347,
      1.1947632172871092, 1.6472311463710958, kNaN, kInf, -kInf}},
    {OpKind::Arccosh,
     {kNaN, kNaN, kNaN, kNaN, 0.9624236501192069, 1.566799236972411, kNaN, kInf,
      kNaN}},
    {OpKind::Arctanh,
     {kNaN, -0.5493061443340549, 0.0, 0.5493061443340549, kNaN, kNaN, kNaN,
      kNaN, kNaN}},
    {OpKind::Floor, {-3.0, -1.0, 0.0, 0.0, 1.0, 2.0, kNaN, kInf, -kInf}},
    {OpKind::Ceil, {-2.0, -0.0, 0.0, 1.0, 2.0, 3.0, kNaN, kInf, -kInf}},
    {OpKind::Round, {-2.0, -0.0, 0.0, 0.0, 2.0, 2.0, kNaN, kInf, -kInf}},
    {OpKind::Trunc, {-2.0, -0.0, 0.0, 0.0, 1.0, 2.0, kNaN, kInf, -kInf}},
    {OpKind::Erf,
     {-0.999593047982555, -0.5204998778130465, 0.0, 0.5204998778130465,
      0.9661051464753108, 0.999593047982555, kNaN, 1.0, -1.0}},
    {OpKind::Erfc,
     {1.999593047982555, 1.5204998778130465, 1.0, 0.4795001221869535,
      0.033894853524689274, 0.0004069520174449589, kNaN, 0.0, 2.0}},
    {OpKind::Sigmoid,
     {0.07585818002124356, 0.37754066879814546, 0.5, 0.6224593312018546,
      0.8175744761936437, 0.9241418199787566, kNaN, 1.0, 0.0}},
    {OpKind::Softplus,
     {0.07888973429254963, 0.4740769841801067, 0.6931471805599453,
      0.9740769841801067, 1.7014132779827524, 2.5788897342925496, kNaN, kInf,
      0.0}},
};

const std::vector<BoolCase> kBoolUnary = {
    {OpKind::IsNan, {0, 0, 0, 0, 0, 0, 1, 0, 0}},
    {OpKind::IsInf, {0, 0, 0, 0, 0, 0, 0, 1, 1}},
    {OpKind::LogicalNot, {0, 0, 1, 0, 0, 0, 0, 0, 0}},
};

const std::vector<double> kUnaryInput = {-2.5, -0.5, 0,    0.5,  1.5,
                                         2.5,  kNaN, kInf, -kInf};

NDArray rowValue() {
  return array(DType::Float64, {1, 5}, {-2.5, -1, 0, 1.5, 3});
}
NDArray colValue() { return array(DType::Float64, {4, 1}, {-2, 0, 0.5, 2}); }

} // namespace

TEST_CASE("Binary float ops broadcast a row against a column", "[elemwise]") {
  Var a = row("a"), b = col("b");
  // The same values as contiguous arrays and as strided views: a reversed
  // (negative stride) and b every other row of a taller column.
  NDArray aRev =
      array(DType::Float64, {1, 5}, {3, 1.5, 0, -1, -2.5}).slice(1, 4, -1, -1);
  NDArray bT = array(DType::Float64, {8, 1}, {-2, 9, 0, 9, 0.5, 9, 2, 9})
                   .slice(0, 0, 8, 2);
  REQUIRE(aRev.strides()[1] < 0);
  REQUIRE_FALSE(bT.isContiguous());
  for (bool views : {false, true}) {
    Bindings args{{a, views ? aRev : rowValue()}, {b, views ? bT : colValue()}};
    for (const FloatCase &c : kFloatBinary) {
      INFO(opName(c.kind) << (views ? " on views" : ""));
      Var z = elemwise(c.kind, {a, b});
      CHECK(z.type()->str() == "f64[?,?]");
      expectValues(evalChecked(z, args), DType::Float64, {4, 5}, c.want);
    }
    for (const BoolCase &c : kBoolBinary) {
      INFO(opName(c.kind) << (views ? " on views" : ""));
      Var z = elemwise(c.kind, {a, b});
      expectInts(evalChecked(z, args), DType::Bool, {4, 5}, c.want);
    }
  }
}

TEST_CASE("Binary float ops on infinities, NaN and signed zeros",
          "[elemwise]") {
  // a = [[inf, -inf, nan, 5, -5, 0, -0.0]], b = [[2], [-2], [inf], [-inf],
  // [nan], [0]]; signs of zeros are compared too.
  const std::vector<FloatCase> cases = {
      {OpKind::FloorDiv,
       {kNaN, kNaN, kNaN, 2.0,   -3.0, 0.0,  -0.0,  kNaN, kNaN, kNaN, -3.0,
        2.0,  -0.0, 0.0,  kNaN,  kNaN, kNaN, 0.0,   -1.0, 0.0,  -0.0, kNaN,
        kNaN, kNaN, -1.0, 0.0,   -0.0, 0.0,  kNaN,  kNaN, kNaN, kNaN, kNaN,
        kNaN, kNaN, kInf, -kInf, kNaN, kInf, -kInf, kNaN, kNaN}},
      {OpKind::Mod,
       {kNaN, kNaN, kNaN,  1.0,  1.0,  0.0,  0.0,  kNaN, kNaN, kNaN, -1.0,
        -1.0, -0.0, -0.0,  kNaN, kNaN, kNaN, 5.0,  kInf, 0.0,  0.0,  kNaN,
        kNaN, kNaN, -kInf, -5.0, -0.0, -0.0, kNaN, kNaN, kNaN, kNaN, kNaN,
        kNaN, kNaN, kNaN,  kNaN, kNaN, kNaN, kNaN, kNaN, kNaN}},
      {OpKind::Pow,
       {kInf, kInf, kNaN, 25.0, 25.0, 0.0,  0.0,  0.0,  0.0,  kNaN, 0.04,
        0.04, kInf, kInf, kInf, kInf, kNaN, kInf, kInf, 0.0,  0.0,  0.0,
        0.0,  kNaN, 0.0,  0.0,  kInf, kInf, kNaN, kNaN, kNaN, kNaN, kNaN,
        kNaN, kNaN, 1.0,  1.0,  1.0,  1.0,  1.0,  1.0,  1.0}},
      {OpKind::Arctan2,
       {1.5707963267948966,
        -1.5707963267948966,
        kNaN,
        1.1902899496825317,
        -1.1902899496825317,
        0.0,
        -0.0,
        1.5707963267948966,
        -1.5707963267948966,
        kNaN,
        1.9513027039072615,
        -1.9513027039072615,
        3.141592653589793,
        -3.141592653589793,
        0.7853981633974483,
        -0.7853981633974483,
        kNaN,
        0.0,
        -0.0,
        0.0,
        -0.0,
        2.356194490192345,
        -2.356194490192345,
        kNaN,
        3.141592653589793,
        -3.141592653589793,
        3.141592653589793,
        -3.141592653589793,
        kNaN,
        kNaN,
        kNaN,
        kNaN,
        kNaN,
        kNaN,
        kNaN,
        1.5707963267948966,
        -1.5707963267948966,
        kNaN,
        1.5707963267948966,
        -1.5707963267948966,
        0.0,
        -0.0}},
      {OpKind::TrueDiv,
       {kInf, -kInf, kNaN, 2.5,   -2.5, 0.0,  -0.0,  -kInf, kInf, kNaN, -2.5,
        2.5,  -0.0,  0.0,  kNaN,  kNaN, kNaN, 0.0,   -0.0,  0.0,  -0.0, kNaN,
        kNaN, kNaN,  -0.0, 0.0,   -0.0, 0.0,  kNaN,  kNaN,  kNaN, kNaN, kNaN,
        kNaN, kNaN,  kInf, -kInf, kNaN, kInf, -kInf, kNaN,  kNaN}},
      {OpKind::Mul,
       {kInf, -kInf, kNaN,  10.0, -10.0, 0.0,  -0.0, -kInf, kInf, kNaN, -10.0,
        10.0, -0.0,  0.0,   kInf, -kInf, kNaN, kInf, -kInf, kNaN, kNaN, -kInf,
        kInf, kNaN,  -kInf, kInf, kNaN,  kNaN, kNaN, kNaN,  kNaN, kNaN, kNaN,
        kNaN, kNaN,  kNaN,  kNaN, kNaN,  0.0,  -0.0, 0.0,   -0.0}},
      {OpKind::Sub,
       {kInf, -kInf, kNaN, 3.0,   -7.0,  -2.0, -2.0,  kInf,  -kInf, kNaN,  7.0,
        -3.0, 2.0,   2.0,  kNaN,  -kInf, kNaN, -kInf, -kInf, -kInf, -kInf, kInf,
        kNaN, kNaN,  kInf, kInf,  kInf,  kInf, kNaN,  kNaN,  kNaN,  kNaN,  kNaN,
        kNaN, kNaN,  kInf, -kInf, kNaN,  5.0,  -5.0,  0.0,   -0.0}},
  };
  Var a = row("a"), b = col("b");
  Bindings args{
      {a, array(DType::Float64, {1, 7}, {kInf, -kInf, kNaN, 5, -5, 0, -0.0})},
      {b, array(DType::Float64, {6, 1}, {2, -2, kInf, -kInf, kNaN, 0})}};
  for (const FloatCase &c : cases) {
    INFO(opName(c.kind));
    expectValues(evalChecked(elemwise(c.kind, {a, b}), args), DType::Float64,
                 {6, 7}, c.want);
  }
}

TEST_CASE("Unary float ops on special values", "[elemwise]") {
  Var x = vector("x");
  NDArray xv = array(DType::Float64, {9}, kUnaryInput);
  // Every other element of a longer array: a strided view.
  std::vector<double> spread;
  for (double v : kUnaryInput) {
    spread.push_back(v);
    spread.push_back(99);
  }
  NDArray strided = array(DType::Float64, {18}, spread).slice(0, 0, 18, 2);
  for (const FloatCase &c : kFloatUnary) {
    INFO(opName(c.kind));
    Var z = elemwise(c.kind, {x});
    expectValues(evalChecked(z, {{x, xv}}), DType::Float64, {9}, c.want);
    expectValues(evalChecked(z, {{x, strided}}), DType::Float64, {9}, c.want);
    // float32 in, float32 out, the same values to float32 precision.
    Var x32 = vector("x32", DType::Float32);
    Var z32 = elemwise(c.kind, {x32});
    CHECK(z32.dtype() == DType::Float32);
    expectValues(evalChecked(z32, {{x32, xv.astype(DType::Float32)}}),
                 DType::Float32, {9}, c.want, 2e-7, 1e-37);
  }
  for (const BoolCase &c : kBoolUnary) {
    INFO(opName(c.kind));
    Var z = elemwise(c.kind, {x});
    expectInts(evalChecked(z, {{x, xv}}), DType::Bool, {9}, c.want);
  }
}

TEST_CASE("Transcendentals of integers and float16", "[elemwise]") {
  Var i8 = vector("i", DType::Int8);
  NDArray iv = ints(DType::Int8, {6}, {-3, -1, 0, 1, 2, 100});
  // np.exp(int8) is float16 (and overflows to inf at 100).
  expectValues(
      evalChecked(exp(i8), {{i8, iv}}), DType::Float16, {6},
      {0.049774169921875, 0.367919921875, 1.0, 2.71875, 7.390625, kInf});
  Var i32 = vector("i", DType::Int32);
  expectValues(evalChecked(exp(i32), {{i32, iv.astype(DType::Int32)}}),
               DType::Float64, {6},
               {0.04978706836786394, 0.3678794411714424, 1.0, 2.718281828459045,
                7.38905609893065, 2.6881171418161356e+43});
  Var h = vector("h", DType::Float16);
  NDArray hv = array(DType::Float16, {6}, {-2.5, -0.5, 0, 0.5, 1.5, 2.5});
  expectValues(
      evalChecked(exp(h), {{h, hv}}), DType::Float16, {6},
      {0.08209228515625, 0.6064453125, 1.0, 1.6484375, 4.48046875, 12.1796875});
  expectValues(evalChecked(sin(h), {{h, hv}}), DType::Float16, {6},
               {-0.5986328125, -0.4794921875, 0.0, 0.4794921875, 0.99755859375,
                0.5986328125});
  expectValues(evalChecked(round(h), {{h, hv}}), DType::Float16, {6},
               {-2.0, -0.0, 0.0, 0.0, 2.0, 2.0});
}

TEST_CASE("Integer binary ops wrap around and never trap", "[elemwise]") {
  Var a = tensor(DType::Int8, {1, U}, "a"),
      b = tensor(DType::Int8, {U, 1}, "b");
  NDArray av = ints(DType::Int8, {1, 6}, {-128, -7, -1, 0, 7, 127});
  NDArray bv = ints(DType::Int8, {5, 1}, {-3, -1, 0, 2, 5});
  const struct {
    OpKind kind;
    std::vector<int64_t> want;
  } cases[] = {
      {OpKind::Add, {125, -10, -4,   -3,   4,    124, 127, -8,  -2,   -1,
                     6,   126, -128, -7,   -1,   0,   7,   127, -126, -5,
                     1,   2,   9,    -127, -123, -2,  4,   5,   12,   -124}},
      {OpKind::Sub, {-125, -4,   2,    3,   10,  -126, -127, -6,  0,   1,
                     8,    -128, -128, -7,  -1,  0,    7,    127, 126, -9,
                     -3,   -2,   5,    125, 123, -12,  -6,   -5,  2,   122}},
      {OpKind::Mul,
       {-128, 21, 3, 0, -21, -125, -128, 7,  1,  0,    -7,  -127, 0, 0,  0,
        0,    0,  0, 0, -14, -2,   0,    14, -2, -128, -35, -5,   0, 35, 123}},
      {OpKind::FloorDiv,
       {42, 2, 0, 0,   -3, -43, -128, 7, 1,  0,   -7, -127, 0, 0, 0,
        0,  0, 0, -64, -4, -1,  0,    3, 63, -26, -2, -1,   0, 1, 25}},
      {OpKind::Mod, {-2, -1, -1, 0, -2, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                     0,  0,  0,  0, 1,  1,  0, 1, 1, 2, 3, 4, 0, 2, 2}},
      {OpKind::Maximum,
       {-3, -3, -1,  0, 7, 127, -1, -1, -1,  0, 7, 127, 0, 0, 0,
        0,  7,  127, 2, 2, 2,   2,  7,  127, 5, 5, 5,   5, 7, 127}},
      {OpKind::Minimum,
       {-128, -7, -3, -3,   -3, -3, -128, -7, -1, -1,   -1, -1, -128, -7, -1,
        0,    0,  0,  -128, -7, -1, 0,    2,  2,  -128, -7, -1, 0,    5,  5}},
      {OpKind::BitAnd,
       {-128, -7, -3, 0, 5, 125, -128, -7, -1, 0, 7, 127, 0, 0, 0,
        0,    0,  0,  0, 0, 2,   0,    2,  2,  0, 1, 5,   0, 5, 5}},
      {OpKind::BitOr,
       {-3, -3, -1,  -3,   -1, -1, -1, -1, -1,  -1,   -1, -1, -128, -7, -1,
        0,  7,  127, -126, -5, -1, 2,  7,  127, -123, -3, -1, 5,    7,  127}},
      {OpKind::BitXor, {125, 4,    2,    -3,  -6,   -126, 127, 6,   0,    -1,
                        -8,  -128, -128, -7,  -1,   0,    7,   127, -126, -5,
                        -3,  2,    5,    125, -123, -4,   -6,  5,   2,    122}},
  };
  for (const auto &c : cases) {
    INFO(opName(c.kind));
    Var z = elemwise(c.kind, {a, b});
    CHECK(z.dtype() == DType::Int8);
    expectInts(evalChecked(z, {{a, av}, {b, bv}}), DType::Int8, {5, 6}, c.want);
  }
  // True division of integers gives float64 (NumPy's int/int rule).
  Var q = a / b;
  CHECK(q.dtype() == DType::Float64);
  expectValues(evalChecked(q, {{a, av}, {b, bv}}), DType::Float64, {5, 6},
               {42.666666666666664,
                2.3333333333333335,
                0.3333333333333333,
                -0.0,
                -2.3333333333333335,
                -42.333333333333336,
                128.0,
                7.0,
                1.0,
                -0.0,
                -7.0,
                -127.0,
                -kInf,
                -kInf,
                -kInf,
                kNaN,
                kInf,
                kInf,
                -64.0,
                -3.5,
                -0.5,
                0.0,
                3.5,
                63.5,
                -25.6,
                -1.4,
                -0.2,
                0.0,
                1.4,
                25.4});
  // arctan2 of int8 computes in float16, as NumPy does.
  Var t = arctan2(a, b);
  CHECK(t.dtype() == DType::Float16);
  expectValues(evalChecked(t, {{a, av}, {b, bv}}), DType::Float16, {5, 6},
               {-1.59375,      -1.9755859375,  -2.8203125,
                3.140625,      1.9755859375,   1.5947265625,
                -1.578125,     -1.712890625,   -2.35546875,
                3.140625,      1.712890625,    1.5791015625,
                -1.5703125,    -1.5703125,     -1.5703125,
                0.0,           1.5703125,      1.5703125,
                -1.5546875,    -1.29296875,    -0.463623046875,
                0.0,           1.29296875,     1.5546875,
                -1.5322265625, -0.95068359375, -0.1973876953125,
                0.0,           0.95068359375,  1.53125},
               1e-3);
  // Powers with non-negative exponents wrap; negative ones are an error.
  Var p = tensor(DType::Int8, {U, 1}, "p");
  expectInts(
      evalChecked(pow(a, p),
                  {{a, av}, {p, ints(DType::Int8, {4, 1}, {0, 1, 2, 7})}}),
      DType::Int8, {4, 6}, {1, 1,  1, 1, 1,  1, -128, -7, -1, 0, 7,  127,
                            0, 49, 1, 0, 49, 1, 0,    9,  -1, 0, -9, 127});
  CHECK_THROWS_KIND(
      eval(pow(a, p), {{a, av}, {p, ints(DType::Int8, {1, 1}, {-1})}}),
      ValueError, "negative integer powers");
}

TEST_CASE("Unsigned and 64-bit integer corner cases", "[elemwise]") {
  Var u = tensor(DType::UInt8, {1, U}, "u"),
      v = tensor(DType::UInt8, {U, 1}, "v");
  Bindings args{{u, ints(DType::UInt8, {1, 4}, {0, 1, 200, 255})},
                {v, ints(DType::UInt8, {3, 1}, {0, 3, 255})}};
  expectInts(evalChecked(u + v, args), DType::UInt8, {3, 4},
             {0, 1, 200, 255, 3, 4, 203, 2, 255, 0, 199, 254});
  expectInts(evalChecked(u - v, args), DType::UInt8, {3, 4},
             {0, 1, 200, 255, 253, 254, 197, 252, 1, 2, 201, 0});
  expectInts(evalChecked(u * v, args), DType::UInt8, {3, 4},
             {0, 0, 0, 0, 0, 3, 88, 253, 0, 255, 56, 1});
  expectInts(evalChecked(floorDiv(u, v), args), DType::UInt8, {3, 4},
             {0, 0, 0, 0, 0, 0, 66, 85, 0, 0, 0, 1});
  expectInts(evalChecked(mod(u, v), args), DType::UInt8, {3, 4},
             {0, 0, 0, 0, 0, 1, 2, 0, 0, 1, 200, 0});
  expectInts(evalChecked(invert(u), args), DType::UInt8, {1, 4},
             {255, 254, 55, 0});

  const int64_t lo = std::numeric_limits<int64_t>::min();
  Var m = vector("m", DType::Int64);
  Bindings margs{{m, ints(DType::Int64, {2}, {lo, 7})}};
  expectInts(evalChecked(floorDiv(m, -1), margs), DType::Int64, {2}, {lo, -7});
  expectInts(evalChecked(mod(m, -1), margs), DType::Int64, {2}, {0, 0});
  expectInts(evalChecked(abs(m), margs), DType::Int64, {2}, {lo, 7});
  expectInts(evalChecked(neg(m), margs), DType::Int64, {2}, {lo, -7});
  expectInts(evalChecked(m * m, margs), DType::Int64, {2}, {0, 49});

  Var i = tensor(DType::Int8, {U}, "i");
  NDArray iv = ints(DType::Int8, {6}, {-128, -7, -1, 0, 7, 127});
  expectInts(evalChecked(invert(i), {{i, iv}}), DType::Int8, {6},
             {127, 6, 0, -1, -8, -128});
  expectInts(evalChecked(sign(i), {{i, iv}}), DType::Int8, {6},
             {-1, -1, -1, 0, 1, 1});
  expectInts(evalChecked(abs(i), {{i, iv}}), DType::Int8, {6},
             {-128, 7, 1, 0, 7, 127});
  expectInts(evalChecked(sqr(i), {{i, iv}}), DType::Int8, {6},
             {0, 49, 1, 0, 49, 1});
  Var b = vector("b", DType::Bool);
  expectInts(evalChecked(invert(b), {{b, ints(DType::Bool, {2}, {1, 0})}}),
             DType::Bool, {2}, {0, 1});
}

TEST_CASE("Boolean arithmetic", "[elemwise]") {
  // NumPy: True + True is True (logical or), * is logical and.
  Var a = vector("a", DType::Bool), b = vector("b", DType::Bool);
  Bindings args{{a, ints(DType::Bool, {4}, {1, 1, 0, 0})},
                {b, ints(DType::Bool, {4}, {1, 0, 1, 0})}};
  expectInts(evalChecked(a + b, args), DType::Bool, {4}, {1, 1, 1, 0});
  expectInts(evalChecked(a * b, args), DType::Bool, {4}, {1, 0, 0, 0});
  expectInts(evalChecked(a & b, args), DType::Bool, {4}, {1, 0, 0, 0});
  expectInts(evalChecked(a | b, args), DType::Bool, {4}, {1, 1, 1, 0});
  expectInts(evalChecked(a ^ b, args), DType::Bool, {4}, {0, 1, 1, 0});
  expectInts(evalChecked(maximum(a, b), args), DType::Bool, {4}, {1, 1, 1, 0});
  expectInts(evalChecked(a > b, args), DType::Bool, {4}, {0, 1, 0, 0});
  expectInts(evalChecked(logicalXor(a, b), args), DType::Bool, {4},
             {0, 1, 1, 0});
  expectValues(evalChecked(a / b, args), DType::Float64, {4},
               {1, kInf, 0, kNaN});
  // Logical ops on numbers use truth values; the result is bool.
  Var i = vector("i", DType::Int32);
  expectInts(
      evalChecked(logicalAnd(i, 2), {{i, ints(DType::Int32, {3}, {-1, 0, 5})}}),
      DType::Bool, {3}, {1, 0, 1});
}

TEST_CASE("Integer division and modulo by zero give 0", "[elemwise]") {
  for (DType t : {DType::Int8, DType::Int16, DType::Int32, DType::Int64,
                  DType::UInt8, DType::UInt64}) {
    INFO(dtypeName(t));
    Var a = vector("a", t), b = vector("b", t);
    Bindings args{{a, ints(t, {3}, {0, 5, 100})}, {b, ints(t, {3}, {0, 0, 0})}};
    expectInts(evalChecked(floorDiv(a, b), args), t, {3}, {0, 0, 0});
    expectInts(evalChecked(mod(a, b), args), t, {3}, {0, 0, 0});
  }
  Var b = vector("b", DType::Bool);
  Bindings bargs{{b, ints(DType::Bool, {2}, {1, 0})}};
  // bool // bool and bool % bool compute in int8, as NumPy does.
  expectInts(evalChecked(floorDiv(b, b), bargs), DType::Int8, {2}, {1, 0});
  expectInts(evalChecked(mod(b, b), bargs), DType::Int8, {2}, {0, 0});
}

TEST_CASE("Floor division and modulo take NumPy's signs", "[elemwise]") {
  // Python: -7 // 2 == -4, -7 % 2 == 1, 7 % -2 == -1, -7 % -2 == -1.
  Var a = vector("a", DType::Int32), b = vector("b", DType::Int32);
  Bindings args{{a, ints(DType::Int32, {4}, {-7, 7, 7, -7})},
                {b, ints(DType::Int32, {4}, {2, -2, 2, -2})}};
  expectInts(evalChecked(floorDiv(a, b), args), DType::Int32, {4},
             {-4, -4, 3, 3});
  expectInts(evalChecked(mod(a, b), args), DType::Int32, {4}, {1, -1, 1, -1});

  Var x = vector("x"), y = vector("y");
  Bindings fargs{{x, array(DType::Float64, {6}, {-7.5, 7.5, 7.5, -7.5, 6, -6})},
                 {y, array(DType::Float64, {6}, {2, -2, 2, -2, -3, 3})}};
  expectValues(evalChecked(floorDiv(x, y), fargs), DType::Float64, {6},
               {-4, -4, 3, 3, -2, -2});
  NDArray r = evalChecked(mod(x, y), fargs);
  // A zero remainder takes the sign of the divisor: 6 % -3 is -0.0.
  expectValues(r, DType::Float64, {6}, {0.5, -0.5, 1.5, -1.5, -0.0, 0});
}

TEST_CASE("round rounds half to even", "[elemwise]") {
  std::vector<double> in = {-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999};
  std::vector<double> want = {-4, -2, -2, -0.0, 0, 2, 2, 4, 2};
  for (DType t : {DType::Float64, DType::Float32}) {
    Var x = vector("x", t);
    expectValues(evalChecked(round(x), {{x, array(t, {9}, in)}}), t, {9}, want);
  }
  // Integers are already round.
  Var i = vector("i", DType::Int16);
  expectInts(evalChecked(round(i), {{i, ints(DType::Int16, {2}, {-3, 5})}}),
             DType::Int16, {2}, {-3, 5});
}

TEST_CASE("maximum and minimum propagate NaN from either side", "[elemwise]") {
  Var a = vector("a"), b = vector("b");
  Bindings args{{a, array(DType::Float64, {4}, {kNaN, 1, kNaN, -kInf})},
                {b, array(DType::Float64, {4}, {1, kNaN, kNaN, 2})}};
  expectValues(evalChecked(maximum(a, b), args), DType::Float64, {4},
               {kNaN, kNaN, kNaN, 2});
  expectValues(evalChecked(minimum(a, b), args), DType::Float64, {4},
               {kNaN, kNaN, kNaN, -kInf});
  // clip is minimum(maximum(x, lo), hi): NaN stays NaN, lo > hi gives hi.
  expectValues(evalChecked(clip(a, 0, 0.5), args), DType::Float64, {4},
               {kNaN, 0.5, kNaN, 0});
  expectValues(evalChecked(clip(b, 3, 1), args), DType::Float64, {4},
               {1, kNaN, kNaN, 1});
}

TEST_CASE("cast saturates float to int and maps NaN to 0", "[elemwise]") {
  Var x = vector("x");
  NDArray xv = array(DType::Float64, {9},
                     {1e20, -1e20, kNaN, 3.7, -3.7, kInf, -kInf, 300, -129});
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const int64_t lo = std::numeric_limits<int64_t>::min();
  expectInts(evalChecked(cast(x, DType::Int64), {{x, xv}}), DType::Int64, {9},
             {hi, lo, 0, 3, -3, hi, lo, 300, -129});
  expectInts(evalChecked(cast(x, DType::Int8), {{x, xv}}), DType::Int8, {9},
             {127, -128, 0, 3, -3, 127, -128, 127, -128});
  expectInts(evalChecked(cast(x, DType::UInt8), {{x, xv}}), DType::UInt8, {9},
             {255, 0, 0, 3, 0, 255, 0, 255, 0});
  // Non-zero (NaN included) is true, as in NumPy.
  Var y = vector("y");
  expectInts(evalChecked(cast(y, DType::Bool),
                         {{y, array(DType::Float64, {4}, {kNaN, 0, -0.0, 2})}}),
             DType::Bool, {4}, {1, 0, 0, 1});
  // Integer narrowing wraps, as NumPy's astype.
  Var i = vector("i", DType::Int64);
  expectInts(evalChecked(cast(i, DType::Int8),
                         {{i, ints(DType::Int64, {4}, {300, -129, 255, 256})}}),
             DType::Int8, {4}, {44, 127, -1, 0});
  expectInts(evalChecked(cast(i, DType::UInt8),
                         {{i, ints(DType::Int64, {2}, {300, -1})}}),
             DType::UInt8, {2}, {44, 255});
  // float64 -> float16 rounds to nearest, overflowing to inf.
  Var f = vector("f");
  expectValues(
      evalChecked(
          cast(f, DType::Float16),
          {{f, array(DType::Float64, {5}, {65504, 65520, 1e-8, 0.1, 2049})}}),
      DType::Float16, {5}, {65504.0, kInf, 0.0, 0.0999755859375, 2048.0});
  // cast to the same dtype is the value itself.
  CHECK(cast(f, DType::Float64) == f);
}

TEST_CASE("Result dtypes follow NumPy's promotion", "[elemwise][dtype]") {
  const struct {
    DType a, b, sum, quotient;
  } binary[] = {
      {DType::Int8, DType::Int8, DType::Int8, DType::Float64},
      {DType::Int8, DType::UInt8, DType::Int16, DType::Float64},
      {DType::UInt8, DType::UInt16, DType::UInt16, DType::Float64},
      {DType::Int8, DType::Float16, DType::Float16, DType::Float16},
      {DType::Int16, DType::Float16, DType::Float32, DType::Float32},
      {DType::Int32, DType::Float32, DType::Float64, DType::Float64},
      {DType::Int64, DType::Float32, DType::Float64, DType::Float64},
      {DType::UInt64, DType::Int64, DType::Float64, DType::Float64},
      {DType::UInt32, DType::Int32, DType::Int64, DType::Float64},
      {DType::Bool, DType::Bool, DType::Bool, DType::Float64},
      {DType::Bool, DType::Int8, DType::Int8, DType::Float64},
      {DType::Float16, DType::Float32, DType::Float32, DType::Float32},
      {DType::Float32, DType::Float64, DType::Float64, DType::Float64},
      {DType::Float32, DType::Complex64, DType::Complex64, DType::Complex64},
      {DType::Float64, DType::Complex64, DType::Complex128, DType::Complex128},
  };
  for (const auto &c : binary) {
    INFO(dtypeName(c.a) << " and " << dtypeName(c.b));
    Var a = vector("a", c.a), b = vector("b", c.b);
    Var s = a + b, q = a / b;
    CHECK(dtypeName(s.dtype()) == std::string(dtypeName(c.sum)));
    CHECK(dtypeName(q.dtype()) == std::string(dtypeName(c.quotient)));
    Bindings args{{a, ints(c.a, {2}, {1, 0})}, {b, ints(c.b, {2}, {1, 1})}};
    CHECK(evalChecked(s, args).dtype() == c.sum);
    CHECK(evalChecked(q, args).dtype() == c.quotient);
  }

  const struct {
    DType in, exp, sum, max, mean, floor;
  } unary[] = {
      {DType::Bool, DType::Float16, DType::Int64, DType::Bool, DType::Float64,
       DType::Float16},
      {DType::Int8, DType::Float16, DType::Int64, DType::Int8, DType::Float64,
       DType::Float16},
      {DType::UInt8, DType::Float16, DType::UInt64, DType::UInt8,
       DType::Float64, DType::Float16},
      {DType::Int16, DType::Float32, DType::Int64, DType::Int16, DType::Float64,
       DType::Float32},
      {DType::UInt16, DType::Float32, DType::UInt64, DType::UInt16,
       DType::Float64, DType::Float32},
      {DType::Int32, DType::Float64, DType::Int64, DType::Int32, DType::Float64,
       DType::Float64},
      {DType::Int64, DType::Float64, DType::Int64, DType::Int64, DType::Float64,
       DType::Float64},
      {DType::UInt64, DType::Float64, DType::UInt64, DType::UInt64,
       DType::Float64, DType::Float64},
      {DType::Float16, DType::Float16, DType::Float16, DType::Float16,
       DType::Float16, DType::Float16},
      {DType::Float32, DType::Float32, DType::Float32, DType::Float32,
       DType::Float32, DType::Float32},
  };
  for (const auto &c : unary) {
    INFO(dtypeName(c.in));
    Var x = vector("x", c.in);
    Bindings args{{x, ints(c.in, {3}, {1, 0, 1})}};
    const std::pair<Var, DType> results[] = {
        {exp(x), c.exp},     {sqrt(x), c.exp},     {sum(x), c.sum},
        {prod(x), c.sum},    {max(x), c.max},      {mean(x), c.mean},
        {floor(x), c.floor}, {x < 1, DType::Bool}, {isnan(x), DType::Bool}};
    for (const auto &[v, want] : results) {
      INFO(v.node()->name());
      CHECK(dtypeName(v.dtype()) == std::string(dtypeName(want)));
      CHECK(evalChecked(v, args).dtype() == want);
    }
  }
  // sqr, pow and floor_div of booleans compute in int8.
  Var b = vector("b", DType::Bool);
  CHECK(sqr(b).dtype() == DType::Int8);
  CHECK(pow(b, b).dtype() == DType::Int8);
  CHECK(floorDiv(b, b).dtype() == DType::Int8);
  // |complex| is real.
  CHECK(abs(vector("c", DType::Complex64)).dtype() == DType::Float32);
  CHECK(abs(vector("c", DType::Complex128)).dtype() == DType::Float64);
}

TEST_CASE("Python numbers are weakly typed (NEP 50)", "[elemwise][dtype]") {
  Var f32 = vector("f", DType::Float32);
  CHECK((f32 * 2.0).dtype() == DType::Float32);
  CHECK((2 * f32).dtype() == DType::Float32);
  CHECK((f32 + true).dtype() == DType::Float32);
  Var i8 = vector("i", DType::Int8);
  CHECK((i8 + 1).dtype() == DType::Int8);
  CHECK((i8 + 127).dtype() == DType::Int8);
  CHECK((i8 + 2.5).dtype() == DType::Float64);
  CHECK((i8 / 2).dtype() == DType::Float64);
  Var u8 = vector("u", DType::UInt8);
  CHECK((u8 * 255).dtype() == DType::UInt8);
  CHECK(where(vector("c", DType::Bool), i8, 1.5).dtype() == DType::Float64);
  CHECK(where(vector("c", DType::Bool), i8, 3).dtype() == DType::Int8);
  Var b = vector("b", DType::Bool), h = vector("h", DType::Float16);
  CHECK((b + 1).dtype() == DType::Int64);
  CHECK((b * 1.5).dtype() == DType::Float64);
  CHECK((h + 1.5).dtype() == DType::Float16);
  CHECK((f32 + std::complex<double>(0, 1)).dtype() == DType::Complex64);
  CHECK((vector("c", DType::Complex64) * 2.0).dtype() == DType::Complex64);
  // A Python int that does not fit the tensor's dtype is an error.
  CHECK_THROWS_KIND(i8 + 300, ValueError, "300 is out of bounds for int8");
  CHECK_THROWS_KIND(i8 - 129, ValueError, "out of bounds for int8");
  CHECK_THROWS_KIND(u8 + (-1), ValueError, "-1 is out of bounds for uint8");
  // The values computed keep the weak dtype and wrap in it.
  expectInts(evalChecked(i8 + 100, {{i8, ints(DType::Int8, {2}, {1, 100})}}),
             DType::Int8, {2}, {101, -56});
  expectValues(evalChecked(f32 * 0.1, {{f32, array(DType::Float32, {1}, {3})}}),
               DType::Float32, {1}, {0.30000001192092896});
  // Numbers alone: int64 and float64.
  CHECK(add(1, 2).dtype() == DType::Int64);
  CHECK(add(1, 2.0).dtype() == DType::Float64);
  expectInts(evalChecked(add(1, 2)), DType::Int64, {}, {3});
}

TEST_CASE("Broadcasting follows the types (Theano's rule)", "[elemwise]") {
  SECTION("lower-rank operands align on the right") {
    Var m = matrix("m"), v = vector("v"), s = scalar("s");
    Bindings args{{m, iota(DType::Float64, {2, 3})},
                  {v, array(DType::Float64, {3}, {10, 20, 30})},
                  {s, array(DType::Float64, {}, {100})}};
    Var z = m + v;
    CHECK(z.type()->str() == "f64[?,?]");
    expectValues(evalChecked(z, args), DType::Float64, {2, 3},
                 {10, 21, 32, 13, 24, 35});
    expectValues(evalChecked(v - m, args), DType::Float64, {2, 3},
                 {10, 19, 28, 7, 16, 25});
    expectValues(evalChecked(m * s, args), DType::Float64, {2, 3},
                 {0, 100, 200, 300, 400, 500});
    // A rank-3 tensor with a row and a vector.
    Var t = tensor3("t"), r = row("r");
    NDArray tv = iota(DType::Float64, {2, 2, 3});
    Var w = t + r + v;
    CHECK(w.ndim() == 3);
    NDArray got =
        evalChecked(w, {{t, tv},
                        {r, array(DType::Float64, {1, 3}, {1, 1, 1})},
                        {v, array(DType::Float64, {3}, {0, 0, 100})}});
    expectValues(got, DType::Float64, {2, 2, 3},
                 {1, 2, 103, 4, 5, 106, 7, 8, 109, 10, 11, 112});
  }
  SECTION("static sizes combine") {
    Var a = tensor(DType::Float64, {2, 1, U}),
        b = tensor(DType::Float64, {U, 4, 3});
    CHECK((a + b).type()->str() == "f64[2,4,3]");
    CHECK((row() + col()).type()->str() == "f64[?,?]");
    CHECK((row() + row()).type()->str() == "f64[1,?]");
    CHECK_THROWS_KIND(tensor(DType::Float64, {2, 3}) +
                          tensor(DType::Float64, {3, 3}),
                      ShapeError, "do not match in dimension 0");
  }
  SECTION("a size-1 value broadcasts only when its type says so") {
    Var a = matrix("a"), b = matrix("b");
    CHECK_THROWS_KIND(eval(a + b, {{a, iota(DType::Float64, {2, 3})},
                                   {b, iota(DType::Float64, {1, 3})}}),
                      ShapeError, "broadcasts only when its type says so");
    Var c = vector("c"), d = vector("d");
    CHECK_THROWS_KIND(eval(c * d, {{c, iota(DType::Float64, {3})},
                                   {d, iota(DType::Float64, {4})}}),
                      ShapeError, "differ in dimension 0");
    // A row variable refuses a value with several rows.
    Var r = row("r");
    CHECK_THROWS_AS(eval(r + a, {{r, iota(DType::Float64, {2, 3})},
                                 {a, iota(DType::Float64, {2, 3})}}),
                    TypeError);
  }
  SECTION("constants broadcast by their shape") {
    Var m = matrix("m");
    Var k = constant(array(DType::Float64, {1, 3}, {1, 2, 3}));
    CHECK(k.type()->str() == "f64[1,3]");
    expectValues(evalChecked(m * k, {{m, iota(DType::Float64, {2, 3})}}),
                 DType::Float64, {2, 3}, {0, 2, 6, 3, 8, 15});
  }
}

TEST_CASE("0-d and empty arrays", "[elemwise]") {
  SECTION("0-d") {
    Var a = scalar("a"), b = scalar("b", DType::Int32);
    Bindings args{{a, array(DType::Float64, {}, {2.5})},
                  {b, ints(DType::Int32, {}, {-3})}};
    expectValues(evalChecked(a * b, args), DType::Float64, {}, {-7.5});
    expectValues(evalChecked(exp(a), args), DType::Float64, {},
                 {12.182493960703473});
    expectInts(evalChecked(floorDiv(b, 2), args), DType::Int32, {}, {-2});
    expectInts(evalChecked(a > b, args), DType::Bool, {}, {1});
    expectValues(evalChecked(where(a > 0, a, b), args), DType::Float64, {},
                 {2.5});
    expectValues(evalChecked(clip(a, 0, 1), args), DType::Float64, {}, {1});
  }
  SECTION("empty") {
    Var m = matrix("m"), r = row("r"), c = col("c");
    NDArray e = NDArray::empty(DType::Float64, {0, 3});
    Bindings args{{m, e},
                  {r, iota(DType::Float64, {1, 3})},
                  {c, NDArray::empty(DType::Float64, {0, 1})}};
    expectValues(evalChecked(m + r, args), DType::Float64, {0, 3}, {});
    expectValues(evalChecked(exp(m), args), DType::Float64, {0, 3}, {});
    expectValues(evalChecked(r * c, args), DType::Float64, {0, 3}, {});
    expectInts(evalChecked(m < r, args), DType::Bool, {0, 3}, {});
    expectValues(evalChecked(where(m > 0, m, r), args), DType::Float64, {0, 3},
                 {});
    expectValues(evalChecked(cast(m, DType::Int8), args).astype(DType::Float64),
                 DType::Float64, {0, 3}, {});
  }
}

TEST_CASE("switch/where and clip", "[elemwise]") {
  // The condition's truth value: any non-zero number is true.
  Var c = col("c", DType::Int32), a = row("a"), b = scalar("b");
  Bindings args{{c, ints(DType::Int32, {3, 1}, {0, 2, -1})},
                {a, array(DType::Float64, {1, 2}, {1, 2})},
                {b, array(DType::Float64, {}, {-5})}};
  Var w = where(c, a, b);
  CHECK(w.type()->str() == "f64[?,?]");
  expectValues(evalChecked(w, args), DType::Float64, {3, 2},
               {-5, -5, 1, 2, 1, 2});
  // The result dtype comes from a and b only.
  Var i8 = vector("i", DType::Int8), f32 = vector("f", DType::Float32);
  CHECK(where(vector("x"), i8, f32).dtype() == DType::Float32);
  CHECK(where(vector("x"), i8, i8).dtype() == DType::Int8);

  Var x = vector("x"), lo = vector("lo");
  Bindings cargs{{x, array(DType::Float64, {4}, {-2, 0.5, 3, 1})},
                 {lo, array(DType::Float64, {4}, {0, 0, 0, 2})}};
  expectValues(evalChecked(clip(x, lo, 1.5), cargs), DType::Float64, {4},
               {0, 0.5, 1.5, 1.5});
  Var xi = vector("xi", DType::Int16);
  expectInts(
      evalChecked(clip(xi, -1, 1), {{xi, ints(DType::Int16, {3}, {-7, 0, 9})}}),
      DType::Int16, {3}, {-1, 0, 1});
}

TEST_CASE("Complex element-wise arithmetic", "[elemwise]") {
  Var z = vector("z", DType::Complex128);
  std::vector<Scalar> vals = {
      Scalar(std::complex<double>(3, 4)),
      Scalar(std::complex<double>(0, 3.14159265358979))};
  NDArray zv = NDArray::fromValues(DType::Complex128, vals, {2});
  expectValues(evalChecked(abs(z), {{z, zv}}), DType::Float64, {2},
               {5, 3.14159265358979});
  NDArray e = evalChecked(exp(z), {{z, zv}});
  CHECK(e.dtype() == DType::Complex128);
  std::complex<double> e0 = e.at({0}).toComplex();
  // np.exp(3+4j) = (-13.128783081462158-15.200784463067954j)
  CHECK(e0.real() == Approx(-13.128783081462158).epsilon(1e-14));
  CHECK(e0.imag() == Approx(-15.200784463067954).epsilon(1e-14));
  CHECK_THROWS_KIND(maximum(z, z), TypeError, "not defined for complex");
  CHECK_THROWS_KIND(z < z, TypeError, "complex");
}

TEST_CASE("Element-wise type errors name the op and dtypes", "[elemwise]") {
  Var f = vector("f"), b = vector("b", DType::Bool);
  CHECK_THROWS_KIND(bitwiseAnd(f, f), TypeError,
                    "bitwise_and: only defined for booleans and integers");
  CHECK_THROWS_KIND(invert(f), TypeError, "float64");
  CHECK_THROWS_KIND(b - b, TypeError, "sub: not defined for booleans");
  CHECK_THROWS_KIND(neg(b), TypeError, "neg: not defined for booleans");
  CHECK_THROWS_KIND(sign(b), TypeError, "sign");
  CHECK_THROWS_KIND(makeOp(OpKind::Add, {f}), TypeError, "add: takes 2");
  CHECK_THROWS_KIND(makeOp(OpKind::Cast, {f}), TypeError, "needs a dtype");
  CHECK_THROWS_KIND(makeOp(OpKind::Add, {f, Var()}), ValueError,
                    "add: an operand is undefined");
}

TEST_CASE("Element-wise shape inference with symbolic sizes",
          "[elemwise][shape]") {
  // Sizes come from whichever operand does not broadcast.
  Var r = row("r"), c = col("c"), t = tensor3("t");
  Bindings args{{r, iota(DType::Float64, {1, 4})},
                {c, iota(DType::Float64, {3, 1})},
                {t, iota(DType::Float64, {2, 3, 4})}};
  for (Var z :
       {r + c, c * r, t + r, exp(t) + c, where(c > 1, r, c), clip(t, c, r)}) {
    NDArray v = evalChecked(z, args);
    CHECK(v.ndim() == z.ndim());
  }
}
