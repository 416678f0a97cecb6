//===- Driver.cpp - The greedy rewrite driver -----------------------------===//
///
/// \file
/// One round is one sweep over the graph in topological order. Each node is
/// rebuilt on its operands' final values (hash-consing merges what became
/// equal), then the rewrites for its kind are tried; a replacement is itself
/// settled (its new nodes rewritten, bottom-up) before the sweep goes on.
/// Since a node's operands are final before it is looked at, rewrites that
/// read only their node and its operands reach their fixed point in one
/// round; rounds repeat for those that read client counts, which a round
/// changes. Each round is linear in the graph's size.
///
//===----------------------------------------------------------------------===//
#include "Match.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Rewrite/Rewrite.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <unordered_set>

namespace thjit {

int RewriteContext::numClients(const Var &v) const {
  auto it = clients.find(v.node());
  if (it == clients.end() || v.index() >= it->second.size())
    return 1;
  return it->second[v.index()];
}

RewriteSet::RewriteSet(std::vector<Rewrite> rs)
    : rewrites(std::move(rs)), byKind(kNumOpKinds) {
  for (const Rewrite &r : rewrites) {
    if (r.kinds.empty()) {
      for (int k = 0; k < kNumOpKinds; ++k)
        if (opFamily((OpKind)k) != OpFamily::Leaf)
          byKind[k].push_back(&r);
      continue;
    }
    for (OpKind k : r.kinds)
      byKind[(size_t)k].push_back(&r);
  }
}

/// THJIT_TRACE_REWRITES=1 prints every rewrite applied (to standard error).
static bool traceRewrites() {
  static const bool on = std::getenv("THJIT_TRACE_REWRITES") != nullptr;
  return on;
}

class RewriteDriver {
public:
  RewriteDriver(const RewriteSet &set, const std::string &pass,
                const PassOptions &options, int budget)
      : set(set), pass(pass), options(options), budget(budget) {}

  /// One sweep; returns whether anything changed.
  bool round(Graph &g) {
    changed = false;
    ctx.clients.clear();
    settled.clear();
    for (Node *n : g.nodes()) {
      for (const Var &v : n->operands())
        countClient(v, 1);
    }
    for (const Var &o : g.outputs())
      countClient(o, 1);
    std::unordered_map<Node *, std::vector<Var>> finalOf;
    auto mapped = [&](const Var &v) {
      auto it = finalOf.find(v.node());
      return it == finalOf.end() ? v : it->second[v.index()];
    };
    // Keep the old graph's nodes alive while we walk them.
    std::vector<Var> oldOutputs = g.outputs();
    for (Node *n : g.nodes()) {
      if (n->isLeaf())
        continue;
      std::vector<Var> operands;
      bool differs = false;
      for (const Var &v : n->operands()) {
        operands.push_back(mapped(v));
        differs |= operands.back() != v;
      }
      NodeRef m(n);
      if (differs) {
        m = match::rebuild(*n, std::move(operands));
        // The rebuilt node has the old one's readers (and, when it merged
        // with a node that exists, those too).
        if (m.get() != n)
          for (int r = 0; r < n->numResults(); ++r)
            countClient(m->result(r), clientsOf(n->result(r)));
        changed = true;
      }
      finalOf[n] = settle(m);
    }
    std::vector<Var> outs;
    for (const Var &o : oldOutputs)
      outs.push_back(mapped(o));
    g = Graph(g.inputs(), std::move(outs));
    return changed;
  }

  int applied = 0;
  bool exhausted = false;

private:
  void countClient(const Var &v, int n) {
    std::vector<int> &c = ctx.clients[v.node()];
    if (c.size() < (size_t)v.node()->numResults())
      c.resize(v.node()->numResults(), 0);
    c[v.index()] += n;
  }
  int clientsOf(const Var &v) {
    auto it = ctx.clients.find(v.node());
    return it == ctx.clients.end() ? 0 : it->second[v.index()];
  }

  /// The final values of node m's results, whose operands are final: m's
  /// results, or what rewrites replace them by (settled in turn).
  std::vector<Var> settle(const NodeRef &m) {
    if (auto it = settled.find(m.get()); it != settled.end())
      return it->second;
    InProgress guard(inProgress, m.get());
    std::vector<Var> results;
    for (int r = 0; r < m->numResults(); ++r)
      results.push_back(m->result(r));
    if (!m->isLeaf() && !exhausted)
      for (const Rewrite *rw : set.forKind(m->kind())) {
        std::vector<Var> repl;
        {
          LocationScope scope(m->location());
          repl = rw->apply(*m, ctx);
        }
        if (repl.empty() || repl == results)
          continue; // no change (a rewrite that answers the node itself)
        check(*rw, *m, repl);
        if (applied >= budget) {
          exhausted = true;
          break;
        }
        ++applied;
        changed = true;
        if (traceRewrites())
          std::cerr << "thjit: rewrite " << rw->name << " (" << pass
                    << ") on " << m->name() << m->whereCreated() << "\n";
        for (size_t r = 0; r < repl.size(); ++r) {
          if (!m->userName().empty() && !repl[r].isLeaf() &&
              repl[r].name().empty())
            repl[r].node()->setUserName(m->userName());
          if (options.onRewrite)
            options.onRewrite({pass, rw->name, results[r], repl[r]});
          // What the replaced value had as readers, the replacement has.
          countClient(repl[r], clientsOf(results[r]));
        }
        // Keep m alive in `settled` while its replacement settles.
        std::vector<Var> finals;
        for (const Var &v : repl)
          finals.push_back(settleVar(v));
        settled[m.get()] = finals;
        keepAlive.push_back(m);
        return finals;
      }
    settled[m.get()] = results;
    keepAlive.push_back(m);
    return results;
  }

  /// The final value of a value a rewrite made: its new nodes are rebuilt on
  /// final operands and rewritten, bottom-up.
  Var settleVar(const Var &v) {
    Node *n = v.node();
    // A rewrite that leads back to a node being settled (a cycle of
    // rewrites, a bug the budget also stops) ends there.
    if (n->isLeaf() || inProgress.count(n))
      return v;
    if (auto it = settled.find(n); it != settled.end())
      return it->second[v.index()];
    std::vector<Var> operands;
    bool differs = false;
    for (const Var &o : n->operands()) {
      operands.push_back(settleVar(o));
      differs |= operands.back() != o;
    }
    NodeRef m = differs ? match::rebuild(*n, std::move(operands)) : NodeRef(n);
    std::vector<Var> finals = settle(m);
    if (m.get() != n) {
      settled[n] = finals;
      keepAlive.push_back(NodeRef(n));
    }
    return finals[v.index()];
  }

  /// A rewrite must give one value per result, each of a type that can
  /// stand for the result's: anything else is a bug in the rewrite.
  static void check(const Rewrite &rw, const Node &m,
                    const std::vector<Var> &repl) {
    if ((int)repl.size() != m.numResults())
      throw CompileError(std::string("rewrite ") + rw.name + " gave " +
                         std::to_string(repl.size()) + " values for " +
                         m.name() + ", which has " +
                         std::to_string(m.numResults()) + " results");
    for (int r = 0; r < m.numResults(); ++r)
      if (!repl[r].defined() ||
          !isAssignable(repl[r].type(), m.resultTypes()[r]))
        throw CompileError(
            std::string("rewrite ") + rw.name + " replaced a value of type " +
            m.resultTypes()[r]->str() + " (" + m.name() + ") by " +
            (repl[r].defined() ? "one of type " + repl[r].type()->str()
                               : std::string("nothing")) +
            m.whereCreated());
  }

  const RewriteSet &set;
  const std::string &pass;
  const PassOptions &options;
  const int budget;
  RewriteContext ctx;
  bool changed = false;
  std::unordered_map<Node *, std::vector<Var>> settled;
  std::vector<NodeRef> keepAlive;
  std::unordered_set<Node *> inProgress;
  struct InProgress {
    InProgress(std::unordered_set<Node *> &s, Node *n) : s(s), n(n) {
      s.insert(n);
    }
    ~InProgress() { s.erase(n); }
    std::unordered_set<Node *> &s;
    Node *n;
  };
};

PassStats applyRewrites(Graph &g, const RewriteSet &set,
                        const std::string &passName,
                        const PassOptions &options) {
  PassStats stats;
  stats.pass = passName;
  int budget = options.budgetPerNode * (int)g.nodes().size() +
               options.budgetBase;
  RewriteDriver driver(set, passName, options, budget);
  // Rounds past a few mean rewrites that undo each other: a budget too.
  const int maxRounds = 16;
  while (driver.round(g)) {
    if (++stats.rounds >= maxRounds)
      driver.exhausted = true;
    if (driver.exhausted)
      break;
  }
  if (!driver.exhausted)
    ++stats.rounds; // the last one, which changed nothing
  stats.rewrites = driver.applied;
  stats.budgetExhausted = driver.exhausted;
  return stats;
}

} // namespace thjit
