//===- Match.h - What rewrites use to read and build graphs -----*- C++ -*-===//
///
/// \file
/// Small helpers shared by the rewrite sets (lib/Rewrite/*.cpp): reading
/// what computes a value, constants of equal elements, and making a
/// replacement stand for a node's result (its dtype and broadcast shape).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_REWRITE_MATCH_H
#define THJIT_LIB_REWRITE_MATCH_H

#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Rewrite/Rewrite.h"

#include <optional>

namespace thjit::match {

/// v's node when v is its first result and it is of kind `k`; else null.
const Node *def(const Var &v, OpKind k);

/// The value of every element of v, when v is a real (not complex)
/// constant whose elements are all equal, or a dimshuffle or alloc of one.
std::optional<double> constantValue(const Var &v);
/// Whether v is such a constant equal to x.
bool isConstant(const Var &v, double x);

/// Node n's op on new operands (types inferred again), made where n was
/// made and named as n: how a pass rebuilds a node whose operands changed.
NodeRef rebuild(const Node &n, std::vector<Var> operands);

/// A 0-d constant of dtype t.
Var scalarConstant(double x, DType t);

/// Whether v can stand for a value of type t under Theano's broadcasting
/// rule: same rank, and broadcastable exactly where t is (so at run time
/// the same shape as every other operand the result was computed from).
bool sameBroadcast(const Var &v, const TensorType *t);

/// `r` made to stand for result `i` of node n: cast to its dtype, and
/// broadcast (by alloc) to its shape when r's rank, broadcastable
/// dimensions or known sizes differ. Undefined when even that does not fit
/// the result's type.
Var asResult(const Var &r, const Node &n, int i = 0);

/// A node's one result as a rewrite's answer (none when v is undefined).
inline std::vector<Var> replaceBy(const Var &v) {
  return v.defined() ? std::vector<Var>{v} : std::vector<Var>{};
}
/// The answer replacing node n's one result by r, made to fit (asResult).
inline std::vector<Var> replaceWith(const Var &r, const Node &n) {
  return replaceBy(asResult(r, n));
}

} // namespace thjit::match

#endif
