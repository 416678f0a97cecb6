//===- thjit/IR/TensorType.h - Types of symbolic values ---------*- C++ -*-===//
///
/// \file
/// A TensorType is a dtype and a rank with, per dimension, a static size when
/// known. A dimension of static size 1 is *broadcastable* (Theano's term):
/// element-wise ops stretch it. Types are uniqued, so they compare by pointer.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_IR_TENSORTYPE_H
#define THJIT_IR_TENSORTYPE_H

#include "thjit/Array/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace thjit {

class TensorType {
public:
  /// Unknown static size.
  static constexpr int64_t kUnknown = -1;

  /// The unique type with this dtype and static shape (kUnknown entries for
  /// unknown sizes).
  static const TensorType *get(DType dtype, const std::vector<int64_t> &shape);
  /// Rank `ndim`, no size known.
  static const TensorType *ofRank(DType dtype, int ndim);
  /// Theano's broadcastable pattern: true dims have size 1, others unknown.
  static const TensorType *getBroadcastable(DType dtype,
                                            const std::vector<bool> &bcast);

  DType dtype() const { return type; }
  int ndim() const { return (int)sizes.size(); }
  const std::vector<int64_t> &shape() const { return sizes; }
  int64_t size(int axis) const { return sizes[axis]; }
  bool isBroadcastable(int axis) const { return sizes[axis] == 1; }
  std::vector<bool> broadcastable() const;

  const TensorType *withDType(DType t) const { return get(t, sizes); }

  /// "f64[?,1]" (dtype short name, then sizes, ? when unknown).
  std::string str() const;

private:
  TensorType(DType t, std::vector<int64_t> s) : type(t), sizes(std::move(s)) {}
  DType type;
  std::vector<int64_t> sizes;
};

/// True when a value of type `from` can stand where `to` is expected: same
/// dtype and rank, and every size `to` knows is the size `from` has.
bool isAssignable(const TensorType *from, const TensorType *to);

} // namespace thjit

#endif
