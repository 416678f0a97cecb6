//===- Graph.cpp - Topological order, clients, replace --------------------===//
#include "thjit/IR/Graph.h"

#include <map>
#include <unordered_map>
#include <unordered_set>

namespace thjit {

Graph::Graph(std::vector<Var> inputs, std::vector<Var> outputs)
    : ins(std::move(inputs)), outs(std::move(outputs)) {}

const std::vector<Node *> &Graph::nodes() const {
  if (!order.empty() || outs.empty())
    return order;
  // Iterative post-order DFS from the outputs, operands left to right.
  std::unordered_set<Node *> done;
  std::vector<std::pair<Node *, int>> stack;
  for (const Var &o : outs) {
    if (done.count(o.node()))
      continue;
    stack.push_back({o.node(), 0});
    while (!stack.empty()) {
      auto &[n, next] = stack.back();
      if (next < n->numOperands()) {
        Node *child = n->operand(next++).node();
        if (!done.count(child))
          stack.push_back({child, 0});
        continue;
      }
      if (done.insert(n).second)
        order.push_back(n);
      stack.pop_back();
    }
  }
  return order;
}

std::vector<Var> Graph::sharedVariables() const {
  std::vector<Var> out;
  for (Node *n : nodes())
    if (n->kind() == OpKind::Shared)
      out.push_back(n->result(0));
  return out;
}

std::vector<Var> Graph::missingInputs() const {
  std::unordered_set<Node *> given;
  for (const Var &v : ins)
    given.insert(v.node());
  std::vector<Var> out;
  for (Node *n : nodes())
    if (n->kind() == OpKind::Input && !given.count(n))
      out.push_back(n->result(0));
  return out;
}

std::vector<std::pair<Node *, int>> Graph::clients(const Var &v) const {
  std::vector<std::pair<Node *, int>> out;
  for (Node *n : nodes())
    for (int i = 0; i < n->numOperands(); ++i)
      if (n->operand(i) == v)
        out.push_back({n, i});
  for (const Var &o : outs)
    if (o == v)
      out.push_back({nullptr, -1});
  return out;
}

void Graph::replace(const Var &old, const Var &replacement) {
  replaceAll({{old, replacement}});
}

void Graph::replaceAll(const std::vector<std::pair<Var, Var>> &pairs) {
  std::map<Var, Var, VarLess> subst;
  for (const auto &[old, repl] : pairs) {
    if (!isAssignable(repl.type(), old.type()))
      throw TypeError("cannot replace a value of type " + old.type()->str() +
                      " by one of type " + repl.type()->str() +
                      old.node()->whereCreated());
    subst[old] = repl;
  }
  auto mapped = [&](const Var &v) {
    auto it = subst.find(v);
    return it == subst.end() ? v : it->second;
  };
  // The nodes to rebuild: those the outputs reach without passing through
  // a replaced value (what only a replaced value reaches is dead after),
  // each after its operands. Linear in what is kept: cloning a small
  // sub-graph of a large one does not walk the large one.
  std::vector<Node *> walk;
  {
    std::unordered_set<Node *> done;
    std::vector<std::pair<Node *, int>> stack;
    auto visit = [&](const Var &v) {
      if (!subst.count(v) && !done.count(v.node()))
        stack.push_back({v.node(), 0});
    };
    for (const Var &o : outs) {
      visit(o);
      while (!stack.empty()) {
        auto &[n, next] = stack.back();
        if (next < n->numOperands()) {
          const Var &child = n->operand(next++);
          visit(child);
          continue;
        }
        if (done.insert(n).second)
          walk.push_back(n);
        stack.pop_back();
      }
    }
  }
  // Keep the old nodes alive while we walk them.
  std::vector<Var> oldOuts = outs;
  for (Node *n : walk) {
    if (n->isLeaf())
      continue;
    bool changed = false;
    std::vector<Var> operands;
    for (const Var &v : n->operands()) {
      operands.push_back(mapped(v));
      changed |= operands.back() != v;
    }
    if (!changed)
      continue;
    NodeRef rebuilt;
    {
      LocationScope scope(n->location());
      rebuilt = makeNode(n->kind(), std::move(operands), n->attrs(),
                         n->resultTypes());
    }
    if (rebuilt->userName().empty())
      rebuilt->setUserName(n->userName());
    for (int i = 0; i < n->numResults(); ++i) {
      Var from = n->result(i);
      if (!subst.count(from))
        subst[from] = Var(rebuilt, i);
    }
  }
  for (Var &o : outs)
    o = mapped(o);
  order.clear();
}

std::vector<Var> cloneReplace(const std::vector<Var> &outputs,
                              const std::vector<std::pair<Var, Var>> &pairs) {
  Graph g({}, outputs);
  g.replaceAll(pairs);
  return g.outputs();
}

} // namespace thjit
