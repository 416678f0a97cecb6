//===- DTypeTest.cpp - DType names and NumPy's promotion table ------------===//
#include "thjit/Array/DType.h"

#include <catch2/catch.hpp>
#include <sstream>

using namespace thjit;

// numpy.result_type(a, b) for every pair, printed by NumPy 1.24 (rows and
// columns in THJIT_DTYPES order).
static const char *kNumpyTable = R"(
bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64 complex128
int8 int8 int16 int32 int64 int16 int32 int64 float64 float16 float32 float64 complex64 complex128
int16 int16 int16 int32 int64 int16 int32 int64 float64 float32 float32 float64 complex64 complex128
int32 int32 int32 int32 int64 int32 int32 int64 float64 float64 float64 float64 complex128 complex128
int64 int64 int64 int64 int64 int64 int64 int64 float64 float64 float64 float64 complex128 complex128
uint8 int16 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64 complex128
uint16 int32 int32 int32 int64 uint16 uint16 uint32 uint64 float32 float32 float64 complex64 complex128
uint32 int64 int64 int64 int64 uint32 uint32 uint32 uint64 float64 float64 float64 complex128 complex128
uint64 float64 float64 float64 float64 uint64 uint64 uint64 uint64 float64 float64 float64 complex128 complex128
float16 float16 float32 float64 float64 float16 float32 float64 float64 float16 float32 float64 complex64 complex128
float32 float32 float32 float64 float64 float32 float32 float64 float64 float32 float32 float64 complex64 complex128
float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 float64 complex128 complex128
complex64 complex64 complex64 complex128 complex128 complex64 complex64 complex128 complex128 complex64 complex64 complex128 complex64 complex128
complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128 complex128
)";

TEST_CASE("promoteTypes reproduces numpy.result_type", "[dtype]") {
  std::istringstream in(kNumpyTable);
  for (int a = 0; a < kNumDTypes; ++a)
    for (int b = 0; b < kNumDTypes; ++b) {
      std::string expect;
      in >> expect;
      INFO(dtypeName((DType)a) << " with " << dtypeName((DType)b));
      CHECK(dtypeName(promoteTypes((DType)a, (DType)b)) == expect);
    }
}

TEST_CASE("float upcast and sum result types follow NumPy", "[dtype]") {
  CHECK(upcastToFloat(DType::Int8) == DType::Float16);
  CHECK(upcastToFloat(DType::Int16) == DType::Float32);
  CHECK(upcastToFloat(DType::Int64) == DType::Float64);
  CHECK(upcastToFloat(DType::Float32) == DType::Float32);
  CHECK(sumResultType(DType::Int8) == DType::Int64);
  CHECK(sumResultType(DType::UInt8) == DType::UInt64);
  CHECK(sumResultType(DType::Bool) == DType::Int64);
  CHECK(sumResultType(DType::Float32) == DType::Float32);
}

TEST_CASE("Python scalars are weakly typed (NEP 50)", "[dtype]") {
  CHECK(promoteWithPyScalar(DType::Float32, PyScalarKind::Float) ==
        DType::Float32);
  CHECK(promoteWithPyScalar(DType::Int8, PyScalarKind::Int) == DType::Int8);
  CHECK(promoteWithPyScalar(DType::Int8, PyScalarKind::Float) ==
        DType::Float64);
  CHECK(promoteWithPyScalar(DType::Bool, PyScalarKind::Int) == DType::Int64);
  CHECK(promoteWithPyScalar(DType::Float32, PyScalarKind::Complex) ==
        DType::Complex64);
}

TEST_CASE("dtype names parse both ways", "[dtype]") {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = (DType)i;
    CHECK(parseDType(dtypeName(t)) == t);
    CHECK(parseDType(dtypeShortName(t)) == t);
  }
  CHECK(parseDType("float") == DType::Float64);
  CHECK(parseDType("f4") == DType::Float32);
  CHECK(!parseDType("float128"));
}

TEST_CASE("Half converts with round to nearest even", "[dtype]") {
  CHECK((float)Half(1.0f) == 1.0f);
  CHECK((float)Half(65504.0f) == 65504.0f);
  CHECK(std::isinf((float)Half(70000.0f)));
  CHECK((float)Half(1.0f + 1.0f / 4096) == 1.0f); // halfway: to even
  CHECK((float)Half(5.960464477539063e-08f) == 5.960464477539063e-08f);
  CHECK(std::isnan((float)Half(NAN)));
  for (uint32_t bits = 0; bits < 0x7c00; ++bits) {
    Half h;
    h.bits = (uint16_t)bits;
    REQUIRE(Half((float)h).bits == bits);
  }
}
