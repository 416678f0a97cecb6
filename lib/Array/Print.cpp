//===- Print.cpp - NumPy-style printing of arrays -------------------------===//
#include "thjit/Array/NDArray.h"

namespace thjit {
// Placeholder until the printing helper lands.
std::string NDArray::repr() const { return "array(...)"; }
std::string NDArray::str() const { return "[...]"; }
} // namespace thjit
