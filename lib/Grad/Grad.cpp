//===- Grad.cpp - Reverse-mode differentiation ----------------------------===//
#include "thjit/Grad/Grad.h"
#include "thjit/IR/Graph.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <iostream>
#include <map>
#include <set>
#include <unordered_set>

namespace thjit {

static std::string describe(const Var &v) {
  std::string s = v.name().empty() ? "a value" : v.name();
  return s + " of type " + v.type()->str() + v.node()->whereCreated();
}

std::vector<Var> grad(const Var &cost, const std::vector<Var> &wrt,
                      const GradOptions &options) {
  if (!cost.defined())
    throw ValueError("grad: the cost is undefined");
  if (cost.ndim() != 0)
    throw TypeError("grad: cost must be a scalar; got " + cost.type()->str() +
                    "; use jacobian or Lop for a non-scalar expression "
                    "(or sum it)");
  if (!isFloat(cost.dtype()))
    throw TypeError("grad: cost must have a float dtype; got " +
                    std::string(dtypeName(cost.dtype())) +
                    " (cast it to a float type first)");
  for (const Var &w : wrt) {
    if (!w.defined())
      throw ValueError("grad: a wrt variable is undefined");
    if (!isFloat(w.dtype()))
      throw TypeError("grad: cannot differentiate with respect to " +
                      describe(w) +
                      ": gradients are only defined for float values");
  }

  Graph g({}, {cost});
  const std::vector<Node *> &nodes = g.nodes();
  std::set<Node *> wrtNodes;
  for (const Var &w : wrt)
    wrtNodes.insert(w.node());
  std::set<Node *> constants;
  for (const Var &c : options.considerConstant)
    constants.insert(c.node());

  // Which nodes depend on some wrt (only they need gradients).
  std::unordered_set<Node *> connected;
  for (Node *n : nodes) {
    if (wrtNodes.count(n)) {
      connected.insert(n);
      continue;
    }
    if (constants.count(n))
      continue;
    for (const Var &v : n->operands())
      if (connected.count(v.node())) {
        connected.insert(n);
        break;
      }
  }

  // Which nodes the cost depends on at all (consider_constant cuts): a wrt
  // among them without a gradient depends on the cost only through integer
  // or piecewise-constant values, and its gradient is zero, not undefined.
  std::unordered_set<Node *> reached{cost.node()};
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
    if (reached.count(*it) && !constants.count(*it))
      for (const Var &v : (*it)->operands())
        reached.insert(v.node());

  std::map<Var, std::vector<Var>, VarLess> contributions;
  contributions[cost].push_back(onesLike(cost));
  auto total = [&](const Var &v) -> Var {
    auto it = contributions.find(v);
    if (it == contributions.end() || it->second.empty())
      return Var();
    Var s = it->second[0];
    for (size_t i = 1; i < it->second.size(); ++i)
      s = s + it->second[i];
    it->second = {s};
    return s;
  };

  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node *n = *it;
    if (n->isLeaf() || !connected.count(n) || constants.count(n))
      continue;
    std::vector<Var> resultGrads;
    bool any = false;
    for (int i = 0; i < n->numResults(); ++i) {
      resultGrads.push_back(total(n->result(i)));
      any |= resultGrads.back().defined();
    }
    if (!any)
      continue;
    // Operands that need a gradient: float and connected to a wrt.
    std::vector<bool> needed(n->numOperands(), false);
    bool anyNeeded = false;
    for (int i = 0; i < n->numOperands(); ++i) {
      const Var &x = n->operand(i);
      needed[i] = connected.count(x.node()) && isFloat(x.dtype());
      anyNeeded |= needed[i];
    }
    if (!anyNeeded)
      continue;
    const OpDef &def = opDef(n->kind());
    if (!def.lop)
      throw TypeError("grad: " + std::string(n->name()) +
                      " is not differentiable" + n->whereCreated() +
                      "; wrap its operand in disconnected_grad or use "
                      "consider_constant if its gradient is not needed");
    std::vector<Var> operandGrads;
    {
      // The gradient's nodes are located where the node was created.
      LocationScope scope(n->location());
      operandGrads = def.lop(*n, resultGrads);
    }
    for (int i = 0; i < n->numOperands(); ++i) {
      if (!needed[i] || i >= (int)operandGrads.size() ||
          !operandGrads[i].defined())
        continue;
      const Var &x = n->operand(i);
      LocationScope scope(n->location());
      contributions[x].push_back(fitGradient(operandGrads[i], x));
    }
  }

  std::vector<Var> out;
  for (const Var &w : wrt) {
    Var gw = total(w);
    if (!gw.defined() && reached.count(w.node()))
      gw = zerosLike(w);
    if (!gw.defined()) {
      std::string msg = "grad: the cost does not depend on " + describe(w) +
                        " (it is disconnected from the cost)";
      switch (options.disconnectedInputs) {
      case DisconnectedInputs::Raise:
        throw ValueError(msg + "; pass disconnected_inputs='ignore' to get "
                               "zeros instead");
      case DisconnectedInputs::Warn:
        std::cerr << "warning: " << msg << "; its gradient is zero\n";
        break;
      case DisconnectedInputs::Ignore:
        break;
      }
      gw = zerosLike(w);
    }
    out.push_back(gw);
  }
  return out;
}

Var grad(const Var &cost, const Var &wrt, const GradOptions &options) {
  return grad(cost, std::vector<Var>{wrt}, options)[0];
}

} // namespace thjit
