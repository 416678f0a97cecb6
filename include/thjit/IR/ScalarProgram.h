//===- thjit/IR/ScalarProgram.h - Per-element sub-graphs --------*- C++ -*-===//
///
/// \file
/// A scalar program is what one element of a fused (composite) element-wise
/// node computes: element-wise ops over the node's operands and earlier
/// results. Back ends emit it as one loop body (lib/CodeGen/ScalarEmitter).
/// Value i of a program is input i when i < inputs.size(), else the result
/// of op i - inputs.size().
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_IR_SCALARPROGRAM_H
#define THJIT_IR_SCALARPROGRAM_H

#include "thjit/Array/DType.h"

#include <optional>
#include <string>
#include <vector>

namespace thjit {

enum class OpKind : uint16_t;

struct ScalarProgram {
  struct Op {
    OpKind kind;
    std::vector<int> args;
    DType dtype;                 ///< the result dtype
    std::optional<DType> castTo; ///< for Cast
    bool operator==(const Op &o) const {
      return kind == o.kind && args == o.args && dtype == o.dtype &&
             castTo == o.castTo;
    }
  };
  std::vector<DType> inputs;
  std::vector<Op> ops;
  /// The value each output is.
  std::vector<int> outputs;

  DType dtypeOf(int i) const {
    return i < (int)inputs.size() ? inputs[i] : ops[i - inputs.size()].dtype;
  }
  bool operator==(const ScalarProgram &o) const {
    return inputs == o.inputs && ops == o.ops && outputs == o.outputs;
  }
  size_t hash() const;
  /// "t0=sqr(i0); t1=add(t0,i1)": value names i<n> and t<n>.
  std::string str() const;
};

} // namespace thjit

#endif
