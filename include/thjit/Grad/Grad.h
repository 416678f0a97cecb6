//===- thjit/Grad/Grad.h - Symbolic differentiation -------------*- C++ -*-===//
///
/// \file
/// Differentiation over graphs: reverse mode (Theano's T.grad and Lop) and
/// forward mode (Rop). The results are graphs like any other, which can be
/// printed, differentiated again and compiled.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_GRAD_GRAD_H
#define THJIT_GRAD_GRAD_H

#include "thjit/IR/Node.h"

#include <utility>
#include <vector>

namespace thjit {

/// What to do when a result does not depend on a variable.
enum class DisconnectedInputs { Raise, Warn, Ignore };
/// What a disconnected gradient (or tangent) is: zeros of the variable's
/// type, or an undefined Var (Theano's return_disconnected='none').
enum class ReturnDisconnected { Zero, None };
/// What a gradient that flows through undefined_grad is: an error naming
/// the undefined_grad, or NaNs.
enum class NullGradients { Raise, ReturnNaN };

struct GradOptions {
  /// Values treated as constants: no gradient flows through them.
  std::vector<Var> considerConstant;
  /// A wrt the cost does not depend on: raise (the default) a ValueError
  /// naming the variable, or warn on standard error, or nothing.
  DisconnectedInputs disconnectedInputs = DisconnectedInputs::Raise;
  /// Gradients known for intermediate values: back-propagation starts from
  /// them (as well as from the cost, when there is one).
  std::vector<std::pair<Var, Var>> knownGrads;
  ReturnDisconnected returnDisconnected = ReturnDisconnected::Zero;
  NullGradients nullGradients = NullGradients::Raise;
};

/// d cost / d wrt[i] for each i. `cost` must be a float scalar (or undefined
/// when knownGrads are given); each wrt a float value. Each gradient has its
/// wrt's type.
std::vector<Var> grad(const Var &cost, const std::vector<Var> &wrt,
                      const GradOptions &options = {});
Var grad(const Var &cost, const Var &wrt, const GradOptions &options = {});

/// Reverse mode from given cotangents: sum_i v[i]^T . d f[i] / d wrt[j] for
/// each j (Theano's Lop), without forming a Jacobian. Each v[i] has f[i]'s
/// rank.
std::vector<Var> Lop(const std::vector<Var> &f, const std::vector<Var> &wrt,
                     const std::vector<Var> &evalPoints,
                     const GradOptions &options = {});

struct RopOptions {
  /// An f that depends on no wrt.
  DisconnectedInputs disconnectedOutputs = DisconnectedInputs::Raise;
  ReturnDisconnected returnDisconnected = ReturnDisconnected::Zero;
};

/// Forward mode: sum_j d f[i] / d wrt[j] . v[j] for each i (Theano's Rop),
/// without forming a Jacobian. Each v[j] has wrt[j]'s rank (and is cast to
/// its dtype); each result has f[i]'s type.
std::vector<Var> Rop(const std::vector<Var> &f, const std::vector<Var> &wrt,
                     const std::vector<Var> &evalPoints,
                     const RopOptions &options = {});

struct JacobianOptions {
  std::vector<Var> considerConstant;
  DisconnectedInputs disconnectedInputs = DisconnectedInputs::Raise;
  /// Computes every row at once: reverse mode from a batch of one-hot
  /// cotangents (the identity), through each op's batch rule. When false,
  /// or where an op of the gradient cannot be batched, one reverse pass per
  /// row of the Jacobian (which needs the expression's size to be known).
  bool vectorize = true;
};

/// The Jacobian of `expression` with respect to each wrt: d expression[i...]
/// / d wrt[j...], of shape expression.shape + wrt.shape (a gradient for a
/// scalar expression).
std::vector<Var> jacobian(const Var &expression, const std::vector<Var> &wrt,
                          const JacobianOptions &options = {});
Var jacobian(const Var &expression, const Var &wrt,
             const JacobianOptions &options = {});

/// The Hessian of a scalar cost with respect to each wrt on its own (the
/// diagonal blocks): the Jacobian of its gradient, of shape wrt.shape +
/// wrt.shape.
std::vector<Var> hessian(const Var &cost, const std::vector<Var> &wrt,
                         const JacobianOptions &options = {});
Var hessian(const Var &cost, const Var &wrt,
            const JacobianOptions &options = {});

/// The graph computing `outputs` for a batch of values of some of its
/// inputs: each replacement pairs a value with a batch of values of its
/// type stacked along a new leading axis (all batches of one size). Each
/// output gets that leading axis. Values that do not depend on a batched
/// one are shared, computed once. NotImplementedError naming the op where
/// one cannot be batched (a size or an index that would differ per item).
std::vector<Var>
vectorizeGraph(const std::vector<Var> &outputs,
               const std::vector<std::pair<Var, Var>> &replacements);

} // namespace thjit

#endif
