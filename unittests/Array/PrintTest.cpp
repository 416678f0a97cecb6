//===- PrintTest.cpp - NumPy-compatible repr() and str() of arrays --------===//
//
// Every expected string below was printed by NumPy 1.24 (repr(a) and str(a)
// with the default print options) for the same data, and pasted in.
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/NDArray.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <complex>

using namespace thjit;

// `values` cast to `t`, as a 1-d array.
static NDArray make(DType t, const std::vector<double> &values) {
  std::vector<Scalar> s;
  for (double v : values)
    s.push_back(Scalar(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()});
}

static NDArray makeInts(DType t, const std::vector<int64_t> &values) {
  std::vector<Scalar> s;
  for (int64_t v : values)
    s.push_back(Scalar::fromInt(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()});
}

static NDArray makeUInts(DType t, const std::vector<uint64_t> &values) {
  std::vector<Scalar> s;
  for (uint64_t v : values)
    s.push_back(Scalar::fromUInt(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()});
}

static NDArray makeBools(const std::vector<bool> &values) {
  std::vector<Scalar> s;
  for (bool v : values)
    s.push_back(Scalar::fromBool(v));
  return NDArray::fromValues(DType::Bool, s, {(int64_t)values.size()});
}

static NDArray makeComplex(DType t,
                           const std::vector<std::complex<double>> &values) {
  std::vector<Scalar> s;
  for (std::complex<double> v : values)
    s.push_back(Scalar(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()});
}

// numpy: (start + step * np.arange(n)).astype(t)
static NDArray arange(DType t, int64_t n, double start = 0, double step = 1) {
  std::vector<double> values;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(start + step * (double)i);
  return make(t, values);
}

static NDArray scalar(DType t, double v) {
  return NDArray::scalar(Scalar(v, t));
}

// numpy: a = np.arange(2000.); a[1000] = 1e10
static NDArray hiddenOutlier() {
  NDArray a = arange(DType::Float64, 2000);
  a.setAt({1000}, Scalar(1e10));
  return a;
}

static void checkPrint(const NDArray &a, const std::string &repr,
                       const std::string &str) {
  INFO("expected repr:\n" << repr);
  CHECK(a.repr() == repr);
  INFO("expected str:\n" << str);
  CHECK(a.str() == str);
}

TEST_CASE("booleans print as True and False", "[print]") {
  checkPrint(makeBools({true, false, true}), R"(array([ True, False,  True]))",
             R"([ True False  True])");
  checkPrint(makeBools({true, false, false, true}).reshape({2, 2}),
             R"(array([[ True, False],
       [False,  True]]))",
             R"([[ True False]
 [False  True]])");
  checkPrint(NDArray::scalar(Scalar::fromBool(true)), R"(array(True))",
             R"(True)");
  checkPrint(NDArray::scalar(Scalar::fromBool(false)), R"(array(False))",
             R"(False)");
}

TEST_CASE("integers of every width align right, with their dtype", "[print]") {
  checkPrint(makeInts(DType::Int8, {-128, 0, 127}),
             R"(array([-128,    0,  127], dtype=int8))", R"([-128    0  127])");
  checkPrint(makeInts(DType::Int16, {-32768, 5, 32767}),
             R"(array([-32768,      5,  32767], dtype=int16))",
             R"([-32768      5  32767])");
  checkPrint(makeInts(DType::Int32, {-2147483648, 7, 2147483647}),
             R"(array([-2147483648,           7,  2147483647], dtype=int32))",
             R"([-2147483648           7  2147483647])");
  checkPrint(
      makeInts(DType::Int64, {INT64_MIN, -1, 9223372036854775807}),
      R"(array([-9223372036854775808,                   -1,  9223372036854775807]))",
      R"([-9223372036854775808                   -1  9223372036854775807])");
  checkPrint(makeUInts(DType::UInt8, {0u, 7u, 255u}),
             R"(array([  0,   7, 255], dtype=uint8))", R"([  0   7 255])");
  checkPrint(makeUInts(DType::UInt16, {0u, 65535u}),
             R"(array([    0, 65535], dtype=uint16))", R"([    0 65535])");
  checkPrint(makeUInts(DType::UInt32, {0u, 4294967295u}),
             R"(array([         0, 4294967295], dtype=uint32))",
             R"([         0 4294967295])");
  checkPrint(
      makeUInts(DType::UInt64, {0u, 1u, UINT64_MAX}),
      R"(array([                   0,                    1, 18446744073709551615],
      dtype=uint64))",
      R"([                   0                    1 18446744073709551615])");
  checkPrint(makeInts(DType::Int64, {-5, 10, 100}), R"(array([ -5,  10, 100]))",
             R"([ -5  10 100])");
  checkPrint(arange(DType::Int32, 12, -6.0, 1.0).reshape({3, 4}),
             R"(array([[-6, -5, -4, -3],
       [-2, -1,  0,  1],
       [ 2,  3,  4,  5]], dtype=int32))",
             R"([[-6 -5 -4 -3]
 [-2 -1  0  1]
 [ 2  3  4  5]])");
}

TEST_CASE("floats print unique digits padded to a common fraction", "[print]") {
  checkPrint(make(DType::Float64, {0.1, 0.25}), R"(array([0.1 , 0.25]))",
             R"([0.1  0.25])");
  checkPrint(make(DType::Float64, {1.0, 2.5, -3.125}),
             R"(array([ 1.   ,  2.5  , -3.125]))", R"([ 1.     2.5   -3.125])");
  checkPrint(make(DType::Float64, {1.0, 2.0, 3.0}), R"(array([1., 2., 3.]))",
             R"([1. 2. 3.])");
  checkPrint(make(DType::Float64, {0.5, -0.5}), R"(array([ 0.5, -0.5]))",
             R"([ 0.5 -0.5])");
  checkPrint(make(DType::Float64, {100.0, 0.001}), R"(array([1.e+02, 1.e-03]))",
             R"([1.e+02 1.e-03])");
  checkPrint(make(DType::Float64,
                  {0.123456789, 0.3333333333333333, 0.6666666666666666}),
             R"(array([0.12345679, 0.33333333, 0.66666667]))",
             R"([0.12345679 0.33333333 0.66666667])");
  checkPrint(make(DType::Float64, {12345678.9, 0.5}),
             R"(array([1.23456789e+07, 5.00000000e-01]))",
             R"([1.23456789e+07 5.00000000e-01])");
  checkPrint(make(DType::Float64, {99999999.0, 1.0}),
             R"(array([9.9999999e+07, 1.0000000e+00]))",
             R"([9.9999999e+07 1.0000000e+00])");
  checkPrint(make(DType::Float32, {0.1, 0.2, 0.3}),
             R"(array([0.1, 0.2, 0.3], dtype=float32))", R"([0.1 0.2 0.3])");
  checkPrint(make(DType::Float32, {0.3333333333333333, 0.1}),
             R"(array([0.33333334, 0.1       ], dtype=float32))",
             R"([0.33333334 0.1       ])");
  checkPrint(
      make(DType::Float16, {0.1, 0.2, 0.3, 65504.0}),
      R"(array([1.00e-01, 2.00e-01, 3.00e-01, 6.55e+04], dtype=float16))",
      R"([1.00e-01 2.00e-01 3.00e-01 6.55e+04])");
  checkPrint(make(DType::Float16, {0.3333333333333333, 2.0}),
             R"(array([0.3333, 2.    ], dtype=float16))", R"([0.3333 2.    ])");
  checkPrint(make(DType::Float64, {3.14159265358979, 2.718281828459045}),
             R"(array([3.14159265, 2.71828183]))",
             R"([3.14159265 2.71828183])");
}

TEST_CASE("floats switch to scientific notation as NumPy does", "[print]") {
  checkPrint(make(DType::Float64, {100000000.0, 1.0}),
             R"(array([1.e+08, 1.e+00]))", R"([1.e+08 1.e+00])");
  checkPrint(make(DType::Float64, {1e-05, 1.0}), R"(array([1.e-05, 1.e+00]))",
             R"([1.e-05 1.e+00])");
  checkPrint(make(DType::Float64, {1.0, 1001.0}),
             R"(array([1.000e+00, 1.001e+03]))", R"([1.000e+00 1.001e+03])");
  checkPrint(make(DType::Float64, {1.0, 1000.0}), R"(array([   1., 1000.]))",
             R"([   1. 1000.])");
  checkPrint(make(DType::Float64, {0.0001, 0.01}), R"(array([0.0001, 0.01  ]))",
             R"([0.0001 0.01  ])");
  checkPrint(make(DType::Float32, {0.0001, 0.01}),
             R"(array([1.e-04, 1.e-02], dtype=float32))", R"([1.e-04 1.e-02])");
  checkPrint(make(DType::Float16, {0.0001, 0.01}),
             R"(array([0.0001, 0.01  ], dtype=float16))", R"([0.0001 0.01  ])");
  checkPrint(make(DType::Float64, {1e+100, 1e-100, 1.0}),
             R"(array([1.e+100, 1.e-100, 1.e+000]))",
             R"([1.e+100 1.e-100 1.e+000])");
  checkPrint(make(DType::Float64, {1.5, 1000000000.0, 0.123456789123}),
             R"(array([1.50000000e+00, 1.00000000e+09, 1.23456789e-01]))",
             R"([1.50000000e+00 1.00000000e+09 1.23456789e-01])");
  checkPrint(make(DType::Float64, {0.1, 1000.5, 100000.0}),
             R"(array([1.0000e-01, 1.0005e+03, 1.0000e+05]))",
             R"([1.0000e-01 1.0005e+03 1.0000e+05])");
  checkPrint(make(DType::Float64, {1e-300, 5e-324}),
             R"(array([1.e-300, 5.e-324]))", R"([1.e-300 5.e-324])");
  checkPrint(make(DType::Float64, {1.7976931348623157e+308, -1.0}),
             R"(array([ 1.79769313e+308, -1.00000000e+000]))",
             R"([ 1.79769313e+308 -1.00000000e+000])");
  checkPrint(make(DType::Float32, {0.3, 1000000000.0}),
             R"(array([3.e-01, 1.e+09], dtype=float32))", R"([3.e-01 1.e+09])");
  checkPrint(make(DType::Float32, {3.4028234663852886e+38, 1.0}),
             R"(array([3.4028235e+38, 1.0000000e+00], dtype=float32))",
             R"([3.4028235e+38 1.0000000e+00])");
  checkPrint(make(DType::Float16, {0.1, 1000.5, 0.001}),
             R"(array([9.9976e-02, 1.0005e+03, 1.0004e-03], dtype=float16))",
             R"([9.9976e-02 1.0005e+03 1.0004e-03])");
  checkPrint(make(DType::Float16, {6e-08, 1.0}),
             R"(array([6.e-08, 1.e+00], dtype=float16))", R"([6.e-08 1.e+00])");
  checkPrint(make(DType::Float64, {0.0, 1e-05, 100000.0}),
             R"(array([0.e+00, 1.e-05, 1.e+05]))", R"([0.e+00 1.e-05 1.e+05])");
}

TEST_CASE("nan, inf and negative zero", "[print]") {
  checkPrint(make(DType::Float64, {NAN, INFINITY, -INFINITY, 1.5}),
             R"(array([ nan,  inf, -inf,  1.5]))", R"([ nan  inf -inf  1.5])");
  checkPrint(make(DType::Float64, {NAN, INFINITY}), R"(array([nan, inf]))",
             R"([nan inf])");
  checkPrint(make(DType::Float64, {NAN, -INFINITY}), R"(array([ nan, -inf]))",
             R"([ nan -inf])");
  checkPrint(make(DType::Float64, {NAN}), R"(array([nan]))", R"([nan])");
  checkPrint(make(DType::Float64, {NAN, 10000000000.0, 0.5}),
             R"(array([   nan, 1.e+10, 5.e-01]))", R"([   nan 1.e+10 5.e-01])");
  checkPrint(make(DType::Float64, {-INFINITY, 1e-07}),
             R"(array([  -inf, 1.e-07]))", R"([  -inf 1.e-07])");
  checkPrint(make(DType::Float64, {-0.0, 0.0, 1.0}),
             R"(array([-0.,  0.,  1.]))", R"([-0.  0.  1.])");
  checkPrint(make(DType::Float64, {-0.0}), R"(array([-0.]))", R"([-0.])");
  checkPrint(make(DType::Float32, {-0.0, NAN}),
             R"(array([-0., nan], dtype=float32))", R"([-0. nan])");
  checkPrint(make(DType::Float16, {INFINITY, -INFINITY, NAN, 2.0}),
             R"(array([ inf, -inf,  nan,   2.], dtype=float16))",
             R"([ inf -inf  nan   2.])");
  checkPrint(scalar(DType::Float64, NAN), R"(array(nan))", R"(nan)");
  checkPrint(scalar(DType::Float64, -INFINITY), R"(array(-inf))", R"(-inf)");
  checkPrint(scalar(DType::Float64, -0.0), R"(array(-0.))", R"(-0.0)");
}

TEST_CASE("complex numbers format real and imaginary parts separately",
          "[print]") {
  checkPrint(makeComplex(DType::Complex128, {{1.0, 2.0}, {3.5, -1e-09}}),
             R"(array([1. +2.e+00j, 3.5-1.e-09j]))",
             R"([1. +2.e+00j 3.5-1.e-09j])");
  checkPrint(makeComplex(DType::Complex64, {{1.0, 2.0}, {3.5, -1e-09}}),
             R"(array([1. +2.e+00j, 3.5-1.e-09j], dtype=complex64))",
             R"([1. +2.e+00j 3.5-1.e-09j])");
  checkPrint(
      makeComplex(DType::Complex128, {{0.1, 0.2}, {-1.0, -1.0}, {0.0, 2.0}}),
      R"(array([ 0.1+0.2j, -1. -1.j ,  0. +2.j ]))",
      R"([ 0.1+0.2j -1. -1.j   0. +2.j ])");
  checkPrint(makeComplex(DType::Complex64, {{0.1, 0.2}, {10000000000.0, 0.0}}),
             R"(array([1.e-01+0.2j, 1.e+10+0.j ], dtype=complex64))",
             R"([1.e-01+0.2j 1.e+10+0.j ])");
  checkPrint(makeComplex(DType::Complex128,
                         {{NAN, 1.0}, {1.0, INFINITY}, {-INFINITY, -INFINITY}}),
             R"(array([ nan +1.j,   1.+infj, -inf-infj]))",
             R"([ nan +1.j   1.+infj -inf-infj])");
  checkPrint(makeComplex(DType::Complex128, {{-0.0, -0.0}, {0.0, 0.0}}),
             R"(array([-0.-0.j,  0.+0.j]))", R"([-0.-0.j  0.+0.j])");
  checkPrint(makeComplex(DType::Complex128,
                         {{1.0, 1.0}, {2.0, 2.0}, {3.0, 3.0}, {4.0, -4.0}})
                 .reshape({2, 2}),
             R"(array([[1.+1.j, 2.+2.j],
       [3.+3.j, 4.-4.j]]))",
             R"([[1.+1.j 2.+2.j]
 [3.+3.j 4.-4.j]])");
  checkPrint(scalar(DType::Complex128, 0.0), R"(array(0.+0.j))", R"(0j)");
}

TEST_CASE("0-d arrays print as their scalar", "[print]") {
  checkPrint(scalar(DType::Float64, 1.0), R"(array(1.))", R"(1.0)");
  checkPrint(scalar(DType::Float64, 0.1), R"(array(0.1))", R"(0.1)");
  checkPrint(scalar(DType::Float64, 1e+16), R"(array(1.e+16))", R"(1e+16)");
  checkPrint(scalar(DType::Float64, 1e-05), R"(array(1.e-05))", R"(1e-05)");
  checkPrint(scalar(DType::Float64, 123456789.125), R"(array(1.23456789e+08))",
             R"(123456789.125)");
  checkPrint(scalar(DType::Float32, 0.1), R"(array(0.1, dtype=float32))",
             R"(0.1)");
  checkPrint(scalar(DType::Float32, 10000000000.0),
             R"(array(1.e+10, dtype=float32))", R"(10000000000.0)");
  checkPrint(scalar(DType::Float16, 0.1), R"(array(0.1, dtype=float16))",
             R"(0.1)");
  checkPrint(scalar(DType::Float16, 65504.0), R"(array(65504., dtype=float16))",
             R"(65500.0)");
  checkPrint(scalar(DType::Int8, -7.0), R"(array(-7, dtype=int8))", R"(-7)");
  checkPrint(scalar(DType::UInt8, 200.0), R"(array(200, dtype=uint8))",
             R"(200)");
  checkPrint(scalar(DType::Int64, 5.0), R"(array(5))", R"(5)");
  checkPrint(NDArray::scalar(Scalar(std::complex<double>(1, 2))),
             R"(array(1.+2.j))", R"((1+2j))");
  checkPrint(NDArray::scalar(Scalar(std::complex<double>(-0.0, 2))),
             R"(array(-0.+2.j))", R"((-0+2j))");
  checkPrint(NDArray::scalar(Scalar(std::complex<double>(2, -0.0))),
             R"(array(2.-0.j))", R"((2-0j))");
  checkPrint(NDArray::scalar(Scalar(std::complex<double>(0, NAN))),
             R"(array(0.+nanj))", R"(nanj)");
  checkPrint(
      NDArray::scalar(Scalar(std::complex<double>(0.1, 0.2), DType::Complex64)),
      R"(array(0.1+0.2j, dtype=complex64))", R"((0.1+0.2j))");
}

TEST_CASE("ranks 0 to 4 nest brackets with blank lines between blocks",
          "[print]") {
  checkPrint(scalar(DType::Float64, 3.0), R"(array(3.))", R"(3.0)");
  checkPrint(arange(DType::Float64, 3), R"(array([0., 1., 2.]))",
             R"([0. 1. 2.])");
  checkPrint(arange(DType::Float64, 6).reshape({2, 3}),
             R"(array([[0., 1., 2.],
       [3., 4., 5.]]))",
             R"([[0. 1. 2.]
 [3. 4. 5.]])");
  checkPrint(arange(DType::Int64, 8).reshape({2, 2, 2}),
             R"(array([[[0, 1],
        [2, 3]],

       [[4, 5],
        [6, 7]]]))",
             R"([[[0 1]
  [2 3]]

 [[4 5]
  [6 7]]])");
  checkPrint(arange(DType::Int16, 24).reshape({2, 3, 1, 4}),
             R"(array([[[[ 0,  1,  2,  3]],

        [[ 4,  5,  6,  7]],

        [[ 8,  9, 10, 11]]],


       [[[12, 13, 14, 15]],

        [[16, 17, 18, 19]],

        [[20, 21, 22, 23]]]], dtype=int16))",
             R"([[[[ 0  1  2  3]]

  [[ 4  5  6  7]]

  [[ 8  9 10 11]]]


 [[[12 13 14 15]]

  [[16 17 18 19]]

  [[20 21 22 23]]]])");
  checkPrint(arange(DType::Float32, 16, 0.0, 0.5).reshape({2, 2, 2, 2}),
             R"(array([[[[0. , 0.5],
         [1. , 1.5]],

        [[2. , 2.5],
         [3. , 3.5]]],


       [[[4. , 4.5],
         [5. , 5.5]],

        [[6. , 6.5],
         [7. , 7.5]]]], dtype=float32))",
             R"([[[[0.  0.5]
   [1.  1.5]]

  [[2.  2.5]
   [3.  3.5]]]


 [[[4.  4.5]
   [5.  5.5]]

  [[6.  6.5]
   [7.  7.5]]]])");
  checkPrint(arange(DType::Float64, 3).reshape({1, 1, 3}),
             R"(array([[[0., 1., 2.]]]))", R"([[[0. 1. 2.]]])");
}

TEST_CASE("long rows wrap at 75 columns", "[print]") {
  checkPrint(
      arange(DType::Float64, 30),
      R"(array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,
       13., 14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25.,
       26., 27., 28., 29.]))",
      R"([ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.
 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.])");
  checkPrint(
      arange(DType::Int64, 40),
      R"(array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,
       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
       34, 35, 36, 37, 38, 39]))",
      R"([ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39])");
  checkPrint(
      arange(DType::Float64, 25, 0.0, 0.1),
      R"(array([0. , 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1. , 1.1, 1.2,
       1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2. , 2.1, 2.2, 2.3, 2.4]))",
      R"([0.  0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.  1.1 1.2 1.3 1.4 1.5 1.6 1.7
 1.8 1.9 2.  2.1 2.2 2.3 2.4])");
  checkPrint(
      arange(DType::Int64, 60, 0.0, 1000.0).reshape({3, 20}),
      R"(array([[    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,
         9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000,
        18000, 19000],
       [20000, 21000, 22000, 23000, 24000, 25000, 26000, 27000, 28000,
        29000, 30000, 31000, 32000, 33000, 34000, 35000, 36000, 37000,
        38000, 39000],
       [40000, 41000, 42000, 43000, 44000, 45000, 46000, 47000, 48000,
        49000, 50000, 51000, 52000, 53000, 54000, 55000, 56000, 57000,
        58000, 59000]]))",
      R"([[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000
  12000 13000 14000 15000 16000 17000 18000 19000]
 [20000 21000 22000 23000 24000 25000 26000 27000 28000 29000 30000 31000
  32000 33000 34000 35000 36000 37000 38000 39000]
 [40000 41000 42000 43000 44000 45000 46000 47000 48000 49000 50000 51000
  52000 53000 54000 55000 56000 57000 58000 59000]])");
  checkPrint(
      arange(DType::Float64, 40, 0.0, 1.5).reshape({2, 2, 10}),
      R"(array([[[ 0. ,  1.5,  3. ,  4.5,  6. ,  7.5,  9. , 10.5, 12. , 13.5],
        [15. , 16.5, 18. , 19.5, 21. , 22.5, 24. , 25.5, 27. , 28.5]],

       [[30. , 31.5, 33. , 34.5, 36. , 37.5, 39. , 40.5, 42. , 43.5],
        [45. , 46.5, 48. , 49.5, 51. , 52.5, 54. , 55.5, 57. , 58.5]]]))",
      R"([[[ 0.   1.5  3.   4.5  6.   7.5  9.  10.5 12.  13.5]
  [15.  16.5 18.  19.5 21.  22.5 24.  25.5 27.  28.5]]

 [[30.  31.5 33.  34.5 36.  37.5 39.  40.5 42.  43.5]
  [45.  46.5 48.  49.5 51.  52.5 54.  55.5 57.  58.5]]])");
  checkPrint(
      arange(DType::Complex128, 12, 0.0, 0.5),
      R"(array([0. +0.j, 0.5+0.j, 1. +0.j, 1.5+0.j, 2. +0.j, 2.5+0.j, 3. +0.j,
       3.5+0.j, 4. +0.j, 4.5+0.j, 5. +0.j, 5.5+0.j]))",
      R"([0. +0.j 0.5+0.j 1. +0.j 1.5+0.j 2. +0.j 2.5+0.j 3. +0.j 3.5+0.j 4. +0.j
 4.5+0.j 5. +0.j 5.5+0.j])");
  checkPrint(arange(DType::Float32, 11),
             R"(array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10.],
      dtype=float32))",
             R"([ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10.])");
  checkPrint(
      arange(DType::Int8, 15),
      R"(array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14],
      dtype=int8))",
      R"([ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14])");
  checkPrint(
      arange(DType::Int8, 14),
      R"(array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13], dtype=int8))",
      R"([ 0  1  2  3  4  5  6  7  8  9 10 11 12 13])");
  checkPrint(arange(DType::Complex64, 7),
             R"(array([0.+0.j, 1.+0.j, 2.+0.j, 3.+0.j, 4.+0.j, 5.+0.j, 6.+0.j],
      dtype=complex64))",
             R"([0.+0.j 1.+0.j 2.+0.j 3.+0.j 4.+0.j 5.+0.j 6.+0.j])");
  checkPrint(
      arange(DType::UInt16, 30),
      R"(array([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,
       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], dtype=uint16))",
      R"([ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
 24 25 26 27 28 29])");
  checkPrint(
      make(DType::Float32,
           {1e-10, 1e-10, 1e-10, 1e-10, 1e-10, 1e-10, 1e-10, 1e-10, 1e-10}),
      R"(array([1.e-10, 1.e-10, 1.e-10, 1.e-10, 1.e-10, 1.e-10, 1.e-10, 1.e-10,
       1.e-10], dtype=float32))",
      R"([1.e-10 1.e-10 1.e-10 1.e-10 1.e-10 1.e-10 1.e-10 1.e-10 1.e-10])");
}

TEST_CASE("large arrays are summarized with ellipses", "[print]") {
  checkPrint(arange(DType::Int64, 2000),
             R"(array([   0,    1,    2, ..., 1997, 1998, 1999]))",
             R"([   0    1    2 ... 1997 1998 1999])");
  checkPrint(arange(DType::Float64, 1001),
             R"(array([   0.,    1.,    2., ...,  998.,  999., 1000.]))",
             R"([   0.    1.    2. ...  998.  999. 1000.])");
  checkPrint(
      arange(DType::Float64, 2000).reshape({40, 50}),
      R"(array([[0.000e+00, 1.000e+00, 2.000e+00, ..., 4.700e+01, 4.800e+01,
        4.900e+01],
       [5.000e+01, 5.100e+01, 5.200e+01, ..., 9.700e+01, 9.800e+01,
        9.900e+01],
       [1.000e+02, 1.010e+02, 1.020e+02, ..., 1.470e+02, 1.480e+02,
        1.490e+02],
       ...,
       [1.850e+03, 1.851e+03, 1.852e+03, ..., 1.897e+03, 1.898e+03,
        1.899e+03],
       [1.900e+03, 1.901e+03, 1.902e+03, ..., 1.947e+03, 1.948e+03,
        1.949e+03],
       [1.950e+03, 1.951e+03, 1.952e+03, ..., 1.997e+03, 1.998e+03,
        1.999e+03]]))",
      R"([[0.000e+00 1.000e+00 2.000e+00 ... 4.700e+01 4.800e+01 4.900e+01]
 [5.000e+01 5.100e+01 5.200e+01 ... 9.700e+01 9.800e+01 9.900e+01]
 [1.000e+02 1.010e+02 1.020e+02 ... 1.470e+02 1.480e+02 1.490e+02]
 ...
 [1.850e+03 1.851e+03 1.852e+03 ... 1.897e+03 1.898e+03 1.899e+03]
 [1.900e+03 1.901e+03 1.902e+03 ... 1.947e+03 1.948e+03 1.949e+03]
 [1.950e+03 1.951e+03 1.952e+03 ... 1.997e+03 1.998e+03 1.999e+03]])");
  checkPrint(arange(DType::Int16, 1200).reshape({2, 30, 20}),
             R"(array([[[   0,    1,    2, ...,   17,   18,   19],
        [  20,   21,   22, ...,   37,   38,   39],
        [  40,   41,   42, ...,   57,   58,   59],
        ...,
        [ 540,  541,  542, ...,  557,  558,  559],
        [ 560,  561,  562, ...,  577,  578,  579],
        [ 580,  581,  582, ...,  597,  598,  599]],

       [[ 600,  601,  602, ...,  617,  618,  619],
        [ 620,  621,  622, ...,  637,  638,  639],
        [ 640,  641,  642, ...,  657,  658,  659],
        ...,
        [1140, 1141, 1142, ..., 1157, 1158, 1159],
        [1160, 1161, 1162, ..., 1177, 1178, 1179],
        [1180, 1181, 1182, ..., 1197, 1198, 1199]]], dtype=int16))",
             R"([[[   0    1    2 ...   17   18   19]
  [  20   21   22 ...   37   38   39]
  [  40   41   42 ...   57   58   59]
  ...
  [ 540  541  542 ...  557  558  559]
  [ 560  561  562 ...  577  578  579]
  [ 580  581  582 ...  597  598  599]]

 [[ 600  601  602 ...  617  618  619]
  [ 620  621  622 ...  637  638  639]
  [ 640  641  642 ...  657  658  659]
  ...
  [1140 1141 1142 ... 1157 1158 1159]
  [1160 1161 1162 ... 1177 1178 1179]
  [1180 1181 1182 ... 1197 1198 1199]]])");
  checkPrint(
      arange(DType::Float32, 2000, 0.0, 0.25).reshape({2, 10, 100}),
      R"(array([[[0.0000e+00, 2.5000e-01, 5.0000e-01, ..., 2.4250e+01,
         2.4500e+01, 2.4750e+01],
        [2.5000e+01, 2.5250e+01, 2.5500e+01, ..., 4.9250e+01,
         4.9500e+01, 4.9750e+01],
        [5.0000e+01, 5.0250e+01, 5.0500e+01, ..., 7.4250e+01,
         7.4500e+01, 7.4750e+01],
        ...,
        [1.7500e+02, 1.7525e+02, 1.7550e+02, ..., 1.9925e+02,
         1.9950e+02, 1.9975e+02],
        [2.0000e+02, 2.0025e+02, 2.0050e+02, ..., 2.2425e+02,
         2.2450e+02, 2.2475e+02],
        [2.2500e+02, 2.2525e+02, 2.2550e+02, ..., 2.4925e+02,
         2.4950e+02, 2.4975e+02]],

       [[2.5000e+02, 2.5025e+02, 2.5050e+02, ..., 2.7425e+02,
         2.7450e+02, 2.7475e+02],
        [2.7500e+02, 2.7525e+02, 2.7550e+02, ..., 2.9925e+02,
         2.9950e+02, 2.9975e+02],
        [3.0000e+02, 3.0025e+02, 3.0050e+02, ..., 3.2425e+02,
         3.2450e+02, 3.2475e+02],
        ...,
        [4.2500e+02, 4.2525e+02, 4.2550e+02, ..., 4.4925e+02,
         4.4950e+02, 4.4975e+02],
        [4.5000e+02, 4.5025e+02, 4.5050e+02, ..., 4.7425e+02,
         4.7450e+02, 4.7475e+02],
        [4.7500e+02, 4.7525e+02, 4.7550e+02, ..., 4.9925e+02,
         4.9950e+02, 4.9975e+02]]], dtype=float32))",
      R"([[[0.0000e+00 2.5000e-01 5.0000e-01 ... 2.4250e+01 2.4500e+01 2.4750e+01]
  [2.5000e+01 2.5250e+01 2.5500e+01 ... 4.9250e+01 4.9500e+01 4.9750e+01]
  [5.0000e+01 5.0250e+01 5.0500e+01 ... 7.4250e+01 7.4500e+01 7.4750e+01]
  ...
  [1.7500e+02 1.7525e+02 1.7550e+02 ... 1.9925e+02 1.9950e+02 1.9975e+02]
  [2.0000e+02 2.0025e+02 2.0050e+02 ... 2.2425e+02 2.2450e+02 2.2475e+02]
  [2.2500e+02 2.2525e+02 2.2550e+02 ... 2.4925e+02 2.4950e+02 2.4975e+02]]

 [[2.5000e+02 2.5025e+02 2.5050e+02 ... 2.7425e+02 2.7450e+02 2.7475e+02]
  [2.7500e+02 2.7525e+02 2.7550e+02 ... 2.9925e+02 2.9950e+02 2.9975e+02]
  [3.0000e+02 3.0025e+02 3.0050e+02 ... 3.2425e+02 3.2450e+02 3.2475e+02]
  ...
  [4.2500e+02 4.2525e+02 4.2550e+02 ... 4.4925e+02 4.4950e+02 4.4975e+02]
  [4.5000e+02 4.5025e+02 4.5050e+02 ... 4.7425e+02 4.7450e+02 4.7475e+02]
  [4.7500e+02 4.7525e+02 4.7550e+02 ... 4.9925e+02 4.9950e+02 4.9975e+02]]])");
  checkPrint(arange(DType::Int32, 1040).reshape({2, 2, 2, 130}),
             R"(array([[[[   0,    1,    2, ...,  127,  128,  129],
         [ 130,  131,  132, ...,  257,  258,  259]],

        [[ 260,  261,  262, ...,  387,  388,  389],
         [ 390,  391,  392, ...,  517,  518,  519]]],


       [[[ 520,  521,  522, ...,  647,  648,  649],
         [ 650,  651,  652, ...,  777,  778,  779]],

        [[ 780,  781,  782, ...,  907,  908,  909],
         [ 910,  911,  912, ..., 1037, 1038, 1039]]]], dtype=int32))",
             R"([[[[   0    1    2 ...  127  128  129]
   [ 130  131  132 ...  257  258  259]]

  [[ 260  261  262 ...  387  388  389]
   [ 390  391  392 ...  517  518  519]]]


 [[[ 520  521  522 ...  647  648  649]
   [ 650  651  652 ...  777  778  779]]

  [[ 780  781  782 ...  907  908  909]
   [ 910  911  912 ... 1037 1038 1039]]]])");
  checkPrint(arange(DType::Float64, 2000).slice(0, 0, 1001, 1),
             R"(array([   0.,    1.,    2., ...,  998.,  999., 1000.]))",
             R"([   0.    1.    2. ...  998.  999. 1000.])");
}

TEST_CASE("empty arrays", "[print]") {
  checkPrint(make(DType::Float64, {}), R"(array([], dtype=float64))", R"([])");
  checkPrint(NDArray::zeros(DType::Float64, {0, 3}),
             R"(array([], shape=(0, 3), dtype=float64))", R"([])");
  checkPrint(NDArray::zeros(DType::Int8, {2, 0, 4}),
             R"(array([], shape=(2, 0, 4), dtype=int8))", R"([])");
  checkPrint(NDArray::zeros(DType::Bool, {0}), R"(array([], dtype=bool))",
             R"([])");
  checkPrint(NDArray::zeros(DType::Int64, {0}), R"(array([], dtype=int64))",
             R"([])");
  checkPrint(NDArray::zeros(DType::Complex64, {3, 0}),
             R"(array([], shape=(3, 0), dtype=complex64))", R"([])");
}

TEST_CASE("views print their own elements", "[print]") {
  checkPrint(arange(DType::Float64, 6).reshape({2, 3}).transpose(),
             R"(array([[0., 3.],
       [1., 4.],
       [2., 5.]]))",
             R"([[0. 3.]
 [1. 4.]
 [2. 5.]])");
  checkPrint(arange(DType::Int64, 10).slice(0, 9, -1, -1),
             R"(array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]))",
             R"([9 8 7 6 5 4 3 2 1 0])");
  checkPrint(arange(DType::Int64, 10).slice(0, 1, 10, 3), R"(array([1, 4, 7]))",
             R"([1 4 7])");
  checkPrint(arange(DType::Float32, 12).reshape({3, 4}).slice(1, 3, 0, -2),
             R"(array([[ 3.,  1.],
       [ 7.,  5.],
       [11.,  9.]], dtype=float32))",
             R"([[ 3.  1.]
 [ 7.  5.]
 [11.  9.]])");
  checkPrint(arange(DType::Float64, 3, 0.5, 1.0).broadcastTo({2, 3}),
             R"(array([[0.5, 1.5, 2.5],
       [0.5, 1.5, 2.5]]))",
             R"([[0.5 1.5 2.5]
 [0.5 1.5 2.5]])");
  checkPrint(arange(DType::Int8, 3).expandDims(1).broadcastTo({3, 4}),
             R"(array([[0, 0, 0, 0],
       [1, 1, 1, 1],
       [2, 2, 2, 2]], dtype=int8))",
             R"([[0 0 0 0]
 [1 1 1 1]
 [2 2 2 2]])");
  checkPrint(arange(DType::Float64, 24)
                 .reshape({2, 3, 4})
                 .permute({2, 0, 1})
                 .select(1, 1),
             R"(array([[12., 16., 20.],
       [13., 17., 21.],
       [14., 18., 22.],
       [15., 19., 23.]]))",
             R"([[12. 16. 20.]
 [13. 17. 21.]
 [14. 18. 22.]
 [15. 19. 23.]])");
  checkPrint(
      arange(DType::Float64, 2004).slice(0, 2003, -1, -2),
      R"(array([2.003e+03, 2.001e+03, 1.999e+03, ..., 5.000e+00, 3.000e+00,
       1.000e+00]))",
      R"([2.003e+03 2.001e+03 1.999e+03 ... 5.000e+00 3.000e+00 1.000e+00])");
  checkPrint(make(DType::Float64, {1.0}).broadcastTo({1200}),
             R"(array([1., 1., 1., ..., 1., 1., 1.]))",
             R"([1. 1. 1. ... 1. 1. 1.])");
}

TEST_CASE("elements hidden by summarization do not affect the format",
          "[print]") {
  checkPrint(
      hiddenOutlier(),
      R"(array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,
       1.999e+03]))",
      R"([0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03])");
}
