//===- Vectorize.cpp - A graph applied to a batch of values ---------------===//
///
/// \file
/// vectorizeGraph rebuilds a graph for values stacked along a new leading
/// axis, node by node with each op's batch rule (OpDef::vectorize), so that
/// a batch costs one graph of batched kernels rather than one graph per
/// item. The nodes that do not depend on the batch stay as they are and
/// are computed once. jacobian and hessian batch reverse mode this way.
///
//===----------------------------------------------------------------------===//
#include "thjit/Grad/Grad.h"
#include "thjit/IR/Graph.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <algorithm>
#include <map>

namespace thjit {

/// A value's form in the vectorized graph: a batch, or one value the same
/// for every item (the shape of a batched value).
struct Rebuilt {
  Var value;
  bool batched = true;
};
using RebuiltMap = std::map<Var, Rebuilt, VarLess>;

/// Rebuilds the nodes computing `outputs` that the values in `rebuilt`
/// reach, adding them to `rebuilt`.
static void rebuild(const std::vector<Var> &outputs, RebuiltMap &rebuilt,
                    const Var &n) {
  Graph graph({}, outputs);
  for (Node *node : graph.nodes()) {
    if (node->isLeaf() || rebuilt.count(node->result(0)))
      continue;
    std::vector<Var> ops;
    std::vector<bool> batched;
    bool any = false;
    for (const Var &x : node->operands()) {
      auto it = rebuilt.find(x);
      any |= it != rebuilt.end();
      ops.push_back(it != rebuilt.end() ? it->second.value : x);
      batched.push_back(it != rebuilt.end() && it->second.batched);
    }
    if (!any)
      continue;
    LocationScope scope(node->location());
    if (node->kind() == OpKind::OpFromGraph &&
        std::find(batched.begin(), batched.end(), true) != batched.end()) {
      // Through its graph, inlined.
      std::vector<Var> inlined = inlineOpFromGraph(*node);
      rebuild(inlined, rebuilt, n);
      for (int r = 0; r < node->numResults(); ++r) {
        auto it = rebuilt.find(inlined[r]);
        rebuilt[node->result(r)] =
            it != rebuilt.end() ? it->second : Rebuilt{inlined[r], false};
      }
      continue;
    }
    std::vector<Var> results;
    if (std::find(batched.begin(), batched.end(), true) == batched.end()) {
      // Only rebuilt values the same for every item: the op as it is.
      results = makeOp(node->kind(), ops, node->attrs());
    } else {
      const OpDef &def = opDef(node->kind());
      if (!def.vectorize)
        throw NotImplementedError("cannot vectorize " +
                                  std::string(node->name()) +
                                  node->whereCreated() +
                                  ": it has no batch rule");
      results = def.vectorize(*node, ops, batched, n);
    }
    for (int r = 0; r < node->numResults(); ++r)
      rebuilt[node->result(r)] = {
          results[r], results[r].ndim() == node->resultTypes()[r]->ndim() + 1};
  }
}

std::vector<Var>
vectorizeGraph(const std::vector<Var> &outputs,
               const std::vector<std::pair<Var, Var>> &replacements) {
  if (replacements.empty())
    throw ValueError("vectorize: no value to batch");
  RebuiltMap rebuilt;
  for (const auto &[v, b] : replacements) {
    if (!v.defined() || !b.defined())
      throw ValueError("vectorize: an undefined value or batch");
    if (b.ndim() != v.ndim() + 1 || b.dtype() != v.dtype())
      throw TypeError("vectorize: a batch of values of type " +
                      v.type()->str() + " must have type " +
                      std::string(dtypeName(v.dtype())) + " and rank " +
                      std::to_string(v.ndim() + 1) +
                      " (the batch axis first); got " + b.type()->str());
    rebuilt[v] = {b};
  }
  for (const Var &y : outputs)
    if (!y.defined())
      throw ValueError("vectorize: an output is undefined");
  Var n = shapeOf(replacements[0].second, 0);
  rebuild(outputs, rebuilt, n);
  std::vector<Var> out;
  for (const Var &y : outputs) {
    auto it = rebuilt.find(y);
    if (it == rebuilt.end())
      out.push_back(batchOf(y, n));
    else
      out.push_back(it->second.batched ? it->second.value
                                       : batchOf(it->second.value, n));
  }
  return out;
}

} // namespace thjit
