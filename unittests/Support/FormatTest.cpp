//===- FormatTest.cpp - Python-style number formatting --------------------===//
#include "thjit/Support/Format.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace thjit;

TEST_CASE("formatPyFloat matches Python's repr", "[format]") {
  CHECK(formatPyFloat(1.0) == "1.0");
  CHECK(formatPyFloat(0.1) == "0.1");
  CHECK(formatPyFloat(-2.5) == "-2.5");
  CHECK(formatPyFloat(1e-5) == "1e-05");
  CHECK(formatPyFloat(0.0001) == "0.0001");
  CHECK(formatPyFloat(1e16) == "1e+16");
  CHECK(formatPyFloat(123456789012345.6) == "123456789012345.6");
  CHECK(formatPyFloat(1.5e300) == "1.5e+300");
  CHECK(formatPyFloat(-0.0) == "-0.0");
  CHECK(formatPyFloat(100.0) == "100.0");
  CHECK(formatPyFloat(INFINITY) == "inf");
  CHECK(formatPyFloat(-INFINITY) == "-inf");
  CHECK(formatPyFloat(NAN) == "nan");
  CHECK(formatPyFloat(0.1f, /*single=*/true) == "0.1");
}

TEST_CASE("formatShape uses Python tuple syntax", "[format]") {
  CHECK(formatShape({}) == "()");
  CHECK(formatShape({5}) == "(5,)");
  CHECK(formatShape({2, 3}) == "(2, 3)");
}
