//===- Verifier.cpp - Structural checks of graphs -------------------------===//
#include "thjit/IR/Graph.h"

#include <set>

namespace thjit {

[[noreturn]] static void fail(const Node &n, const std::string &what) {
  throw CompileError("invalid graph: " + std::string(n.name()) + " node" +
                     n.whereCreated() + ": " + what);
}

void verifyGraph(const Graph &g,
                 const std::function<std::vector<const TensorType *>(
                     const Node &)> &inferTypes) {
  std::set<Node *> seen;
  for (const Var &in : g.inputs()) {
    if (!in.defined() || in.node()->kind() != OpKind::Input)
      throw CompileError("invalid graph: a function input is not a symbolic "
                         "input variable");
    if (!seen.insert(in.node()).second)
      throw CompileError("invalid graph: input " + in.name() +
                         " is listed twice");
  }
  for (const Var &o : g.outputs())
    if (!o.defined())
      throw CompileError("invalid graph: an output is undefined");
  for (Node *n : g.nodes()) {
    if (n->resultTypes().empty())
      fail(*n, "no results");
    for (const TensorType *t : n->resultTypes())
      if (!t)
        fail(*n, "a result without a type");
    for (const Var &v : n->operands()) {
      if (!v.defined())
        fail(*n, "an undefined operand");
      if ((int)v.index() >= v.node()->numResults())
        fail(*n, "an operand refers to a missing result");
    }
    switch (n->kind()) {
    case OpKind::Input:
    case OpKind::Shared:
    case OpKind::Constant:
      if (n->numOperands() != 0 || n->numResults() != 1)
        fail(*n, "a leaf with operands or several results");
      if (n->kind() == OpKind::Shared && !n->sharedStorage())
        fail(*n, "a shared variable without storage");
      if (n->kind() == OpKind::Constant &&
          !typeMismatch(n->constantValue(), n->resultTypes()[0]).empty())
        fail(*n, "a constant whose value does not fit its type");
      continue;
    case OpKind::Subtensor:
    case OpKind::SetSubtensor:
    case OpKind::IncSubtensor:
    case OpKind::AdvancedSubtensor:
    case OpKind::AdvancedSetSubtensor:
    case OpKind::AdvancedIncSubtensor: {
      int expect = n->kind() == OpKind::Subtensor ||
                           n->kind() == OpKind::AdvancedSubtensor
                       ? 1
                       : 2;
      for (const IndexEntry &e : n->attrs().index)
        expect += e.numOperands();
      if (expect != n->numOperands())
        fail(*n, "the index takes " + std::to_string(expect) +
                     " operands but the node has " +
                     std::to_string(n->numOperands()));
      break;
    }
    default:
      break;
    }
    if (inferTypes && inferTypes(*n) != n->resultTypes())
      fail(*n, "result types differ from what type inference gives");
  }
}

} // namespace thjit
