//===- thjit/Grad/Grad.h - Symbolic differentiation -------------*- C++ -*-===//
///
/// \file
/// Reverse-mode differentiation over graphs (Theano's T.grad): the result is
/// a graph like any other, which can be printed, differentiated again and
/// compiled.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_GRAD_GRAD_H
#define THJIT_GRAD_GRAD_H

#include "thjit/IR/Node.h"

#include <vector>

namespace thjit {

/// What grad does when the cost does not depend on a `wrt`.
enum class DisconnectedInputs { Raise, Warn, Ignore };

struct GradOptions {
  /// Values treated as constants: no gradient flows through them.
  std::vector<Var> considerConstant;
  /// Raise (the default) a ValueError naming the variable, or warn on
  /// standard error, or silently give zeros.
  DisconnectedInputs disconnectedInputs = DisconnectedInputs::Raise;
};

/// d cost / d wrt[i] for each i. `cost` must be a float scalar; each wrt a
/// float value. Each gradient has its wrt's type.
std::vector<Var> grad(const Var &cost, const std::vector<Var> &wrt,
                      const GradOptions &options = {});
Var grad(const Var &cost, const Var &wrt, const GradOptions &options = {});

} // namespace thjit

#endif
