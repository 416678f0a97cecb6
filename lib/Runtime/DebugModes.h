//===- DebugModes.h - DEBUG and NANGUARD checks of a call -------*- C++ -*-===//
///
/// \file
/// In DEBUG and NANGUARD modes the compiled code returns, after the
/// function's outputs, the value of every node of the rewritten graph (the
/// "probed" values). NANGUARD looks for the first NaN or infinity among
/// them; DEBUG compares every rewrite the passes made (before and after,
/// with the reference kernels on the call's inputs) and every compiled
/// kernel (against its reference kernel on the same operand values).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_RUNTIME_DEBUGMODES_H
#define THJIT_LIB_RUNTIME_DEBUGMODES_H

#include "thjit/Rewrite/Rewrite.h"

#include <unordered_map>
#include <vector>

namespace thjit::debugmode {

/// Every result of every non-leaf node of g, in order.
std::vector<Var> probedValues(const Graph &g);

/// The values of one call: the inputs' arguments and the probed values.
class CallValues {
public:
  CallValues(const std::vector<Var> &inputs, const std::vector<NDArray> &args,
             const std::vector<Var> &probed,
             const std::vector<NDArray> &values);
  /// The value of v this call (leaves: argument, constant, shared value).
  NDArray of(const Var &v) const;

private:
  std::unordered_map<Var, NDArray, VarHash> known;
};

/// NANGUARD: FloatingPointError naming the first input or node whose value
/// holds a NaN or an infinity (for a fused node, the user's node inside it).
void nanGuard(const std::string &function, const std::vector<Var> &inputs,
              const std::vector<Var> &probed, const CallValues &values);

/// DEBUG: AssertionError naming the first rewrite whose replacement
/// computes another value than what it replaced (reference kernels, on the
/// call's inputs), then the first node whose compiled value differs from
/// its reference kernel's on the same operands.
void checkRewrites(const std::string &function,
                   const std::vector<RewriteEvent> &events,
                   const std::vector<Var> &inputs,
                   const std::vector<NDArray> &args);
void checkKernels(const std::string &function, const std::vector<Var> &probed,
                  const CallValues &values);

} // namespace thjit::debugmode

#endif
