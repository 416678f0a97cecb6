//===- thjit/IR/ScalarProgram.h - Per-element sub-graphs --------*- C++ -*-===//
///
/// \file
/// A scalar program is what one element of a fused (composite) element-wise
/// node computes: element-wise ops over the node's operands and earlier
/// results. Back ends emit it as one loop body (lib/CodeGen/ScalarEmitter).
/// Value i of a program is input i when i < inputs.size(), else the result
/// of op i - inputs.size(). An op of kind Constant has no arguments: it is
/// an immediate (a 0-d constant operand folded in by the back end).
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
    /// For Constant: the value (floatValue for float dtypes, else intValue,
    /// two's complement for uint64).
    double floatValue = 0;
    int64_t intValue = 0;
    bool operator==(const Op &o) const {
      return kind == o.kind && args == o.args && dtype == o.dtype &&
             castTo == o.castTo && (floatValue == o.floatValue ||
                                    (floatValue != floatValue &&
                                     o.floatValue != o.floatValue)) &&
             intValue == o.intValue;
    }
  };
  std::vector<DType> inputs;
  std::vector<Op> ops;
  /// The value each output is.
  std::vector<int> outputs;

  /// The op that computes value i, or null for an input.
  const Op *opOf(int i) const {
    return i < (int)inputs.size() ? nullptr : &ops[i - inputs.size()];
  }
  /// Whether some op or output reads each input.
  std::vector<bool> inputsRead() const {
    std::vector<bool> r(inputs.size(), false);
    auto mark = [&](int a) {
      if (a < (int)inputs.size())
        r[a] = true;
    };
    for (const Op &op : ops)
      for (int a : op.args)
        mark(a);
    for (int o : outputs)
      mark(o);
    return r;
  }
  DType dtypeOf(int i) const {
    return i < (int)inputs.size() ? inputs[i] : ops[i - inputs.size()].dtype;
  }
  bool operator==(const ScalarProgram &o) const {
    return inputs == o.inputs && ops == o.ops && outputs == o.outputs;
  }
  /// Whether an element may hold a value the program refuses (a signed
  /// integer to a negative power, which NumPy refuses): the loop emitter
  /// raises its error flag there. Such a loop must not write over its
  /// operands: the reference kernel re-runs on them to say what failed.
  bool mayFail() const;
  size_t hash() const;
  /// "t0=sqr(i0); t1=add(t0,i1)": value names i<n> and t<n>; an immediate
  /// prints as "t2=0.5".
  std::string str() const;
};

} // namespace thjit

#endif
