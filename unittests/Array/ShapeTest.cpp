//===- ShapeTest.cpp - Shape, the small vector of sizes and strides -------===//
//
// Shape keeps four entries inline and moves to the heap beyond: every
// operation is checked against std::vector across that boundary.
//
//===----------------------------------------------------------------------===//

#include "thjit/Array/Shape.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace thjit;

namespace {
std::vector<int64_t> asVector(const Shape &s) { return {s.begin(), s.end()}; }
} // namespace

TEST_CASE("Shape grows from inline storage to the heap and back", "[shape]") {
  Shape s;
  std::vector<int64_t> v;
  for (int64_t i = 0; i < 40; ++i) {
    s.push_back(i * 3);
    v.push_back(i * 3);
    REQUIRE(asVector(s) == v);
  }
  while (!s.empty()) {
    s.pop_back();
    v.pop_back();
    REQUIRE(asVector(s) == v);
  }
  s.resize(6, 7);
  REQUIRE(asVector(s) == std::vector<int64_t>(6, 7));
  s.resize(2);
  s.resize(3);
  REQUIRE(asVector(s) == std::vector<int64_t>{7, 7, 0});
}

TEST_CASE("Shape inserts and erases anywhere, also from itself", "[shape]") {
  for (size_t n : {0, 1, 3, 4, 5, 9}) {
    for (size_t at = 0; at <= n; ++at) {
      Shape s;
      std::vector<int64_t> v;
      for (size_t i = 0; i < n; ++i) {
        s.push_back((int64_t)i);
        v.push_back((int64_t)i);
      }
      s.insert(s.begin() + at, 100);
      v.insert(v.begin() + at, 100);
      REQUIRE(asVector(s) == v);
      // A range of the shape itself, inserted into it (may reallocate).
      Shape copy = s;
      s.insert(s.begin() + at, s.begin(), s.end());
      v.insert(v.begin() + at, copy.begin(), copy.end());
      REQUIRE(asVector(s) == v);
      s.erase(s.begin() + at);
      v.erase(v.begin() + at);
      REQUIRE(asVector(s) == v);
      s.erase(s.begin(), s.begin() + at);
      v.erase(v.begin(), v.begin() + at);
      REQUIRE(asVector(s) == v);
    }
  }
}

TEST_CASE("Shape copies and moves keep the entries and leave the source valid",
          "[shape]") {
  for (size_t n : {0, 2, 4, 5, 33}) {
    Shape a(n, 5);
    Shape b = a;
    REQUIRE(b == a);
    Shape c = std::move(b);
    REQUIRE(c == a);
    REQUIRE(b.empty());
    b.push_back(1); // a moved-from shape is usable
    REQUIRE(asVector(b) == std::vector<int64_t>{1});
    Shape d{1, 2};
    d = std::move(c);
    REQUIRE(d == a);
    d = d; // self-assignment
    REQUIRE(d == a);
    std::vector<int64_t> v = d;
    REQUIRE(Shape(v) == a);
  }
  REQUIRE(Shape{1, 2} < Shape{1, 3});
  REQUIRE(Shape{1, 2} < Shape{1, 2, 0});
  REQUIRE(Shape{1, 2} != Shape{1, 2, 0});
  REQUIRE(Shape(3) == Shape{0, 0, 0});
}
