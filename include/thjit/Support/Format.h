//===- thjit/Support/Format.h - Number formatting and hashing ---*- C++ -*-===//
///
/// \file
/// Small helpers shared by every printer: Python's repr of a float, joining
/// lists, and hash combining.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_SUPPORT_FORMAT_H
#define THJIT_SUPPORT_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace thjit {

/// Python's repr() of a float: the shortest string that reads back the same
/// value ("0.1", "1.0", "1e-05", "1e+16", "inf", "nan"). With `single`, the
/// shortest string that reads back the same float32.
std::string formatPyFloat(double value, bool single = false);

/// "(2, 3)" for a shape, "(5,)" for one dimension, "()" for none.
std::string formatShape(const std::vector<int64_t> &shape);

/// Joins the strings with a separator.
std::string join(const std::vector<std::string> &parts, const std::string &sep);

/// Mixes `value` into `seed` (boost's hash_combine with a 64-bit constant).
inline void hashCombine(size_t &seed, size_t value) {
  seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

} // namespace thjit

#endif
