//===- thjit/Array/Npy.h - NumPy's .npy file format -------------*- C++ -*-===//
///
/// \file
/// Reads and writes NumPy's .npy format (versions 1.0, 2.0 and 3.0 on read,
/// 1.0 on write unless the header needs more): every dtype of DType, any rank,
/// C or Fortran order, little- or big-endian data on read. Malformed or
/// truncated files are an IOError that says what is wrong.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_NPY_H
#define THJIT_ARRAY_NPY_H

#include "thjit/Array/NDArray.h"

#include <string>

namespace thjit {

/// Parses the bytes of a .npy file; `source` names it in error messages.
NDArray parseNpy(const std::string &bytes, const std::string &source);
/// The bytes of a .npy file holding `a` (C order, little-endian).
std::string serializeNpy(const NDArray &a);

NDArray loadNpy(const std::string &path);
void saveNpy(const std::string &path, const NDArray &a);

} // namespace thjit

#endif
