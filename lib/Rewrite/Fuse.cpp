//===- Fuse.cpp - Element-wise sub-graphs into composite nodes ------------===//
///
/// \file
/// Groups are grown from their root (the last node, in reverse topological
/// order) through the operands: an element-wise producer of the same
/// broadcast shape joins the group when all its readers are in it, or, when
/// it is one cheap op, a copy of it joins (it is computed again rather than
/// stored and loaded). Anything else is an operand of the group, and so is
/// what would make it compute more than kMaxFusedOps ops. Each group
/// of two or more ops becomes one composite node, whose scalar program the
/// back end emits as one loop; a reduction that is the only reader of
/// its operand fuses that producer in turn (lib/CodeGen/Plan.cpp).
///
//===----------------------------------------------------------------------===//
#include "Match.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace thjit {

/// The most ops one composite computes. A bigger loop body gains nothing
/// (one more store and load per element for every few hundred ops) and
/// costs LLVM time that grows faster than its size (scheduling and
/// register allocation over one basic block): groups stop growing here.
constexpr size_t kMaxFusedOps = 256;

/// The ops node n stands for in a composite.
static size_t opCount(const Node &n) {
  return n.kind() == OpKind::Composite ? n.attrs().program->ops.size() : 1;
}

/// Ops cheaper to compute again than to store and load.
static bool isCheap(const Node &n) {
  switch (n.kind()) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sqr:
  case OpKind::Cast:
  case OpKind::Maximum:
  case OpKind::Minimum:
  case OpKind::Eq:
  case OpKind::Neq:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Switch:
    return true;
  default:
    return false;
  }
}

/// The user's nodes a composite replaces, as a graph over inputs standing
/// for the composite's operands (see Node::unfused).
static std::shared_ptr<const Graph>
userComputation(const Var &root, const std::vector<std::pair<Var, Var>> &external,
                const Node &composite) {
  std::vector<Var> inputs;
  for (const Var &o : composite.operands())
    inputs.push_back(makeInput(o.type(), o.name()));
  std::vector<std::pair<Var, Var>> pairs;
  for (const auto &[user, final] : external) {
    const auto &ops = composite.operands();
    size_t k = std::find(ops.begin(), ops.end(), final) - ops.begin();
    pairs.push_back({user, inputs[k]});
  }
  return std::make_shared<Graph>(inputs, cloneReplace({root}, pairs));
}

// ---- loops with several results ---------------------------------------------
//
// Groups above have one result each. Element-wise nodes of one shape that
// read one another's results, or read the same value, then become one loop
// with several results: the values they share are loaded once, and a value
// only they read never goes to memory (the logistic regression's
// prediction, cross-entropy and gradient all read sigmoid(X w + b); three
// loops over it become one). The merged nodes must stay a convex set: no
// path leaves the set and comes back, or the loop would need a value it
// computes before it has it.

/// Nodes that stay alone: a value only a reduction reads (the reduction
/// computes each element itself, lib/CodeGen/Plan.cpp), and an output
/// computed from a shared variable of its own type (likely that
/// variable's update, which a loop of its own writes over the old value).
static bool staysAlone(Node *n, const std::vector<Node *> &readers,
                       bool isOutput) {
  if (!isOutput)
    return readers.size() == 1 && opFamily(readers[0]->kind()) == OpFamily::Reduce;
  for (const Var &o : n->operands())
    if (o.isShared() && o.type() == n->resultTypes()[0])
      return true;
  return false;
}

static bool sameShape(const TensorType *a, const TensorType *b) {
  if (a->ndim() != b->ndim())
    return false;
  for (int d = 0; d < a->ndim(); ++d)
    if (a->size(d) != b->size(d))
      return false;
  return true;
}

/// The user's computation of a loop with several results: each member's
/// own (a composite's unfused graph, or the node) on the values of the
/// members it reads and the loop's operands.
static std::shared_ptr<const Graph>
userComputation(const std::vector<Node *> &members, const std::vector<Var> &roots,
                const std::function<Var(const Var &)> &finalOf,
                const Node &composite) {
  std::vector<Var> inputs;
  for (const Var &o : composite.operands())
    inputs.push_back(makeInput(o.type(), o.name()));
  std::unordered_map<Node *, Var> user; // each member's value
  for (Node *m : members) {
    std::vector<Var> operands;
    for (const Var &o : m->operands()) {
      auto it = user.find(o.node());
      if (it != user.end()) {
        operands.push_back(it->second);
        continue;
      }
      const auto &ops = composite.operands();
      size_t k = std::find(ops.begin(), ops.end(), finalOf(o)) - ops.begin();
      operands.push_back(k < ops.size() ? inputs[k] : o);
    }
    if (const auto &u = m->unfused()) {
      std::vector<std::pair<Var, Var>> pairs;
      for (size_t i = 0; i < u->inputs().size(); ++i)
        pairs.push_back({u->inputs()[i], operands[i]});
      user[m] = cloneReplace(u->outputs(), pairs)[0];
    } else {
      user[m] = Var(match::rebuild(*m, operands));
    }
  }
  std::vector<Var> outs;
  for (const Var &r : roots)
    outs.push_back(user.at(r.node()));
  return std::make_shared<Graph>(inputs, outs);
}

/// Most earlier readers of a shared value a node may merge with.
constexpr long kMaxSiblings = 8;

/// Most nodes the convexity check looks at for one merge; past it the
/// merge is not made (keeps the pass linear in the graph's size).
constexpr int kMaxConvexityVisits = 512;

static void fuseLoopsWithSeveralResults(Graph &g, PassStats &stats) {
  const std::vector<Node *> nodes = g.nodes();
  const int n = (int)nodes.size();
  std::unordered_map<Node *, int> position;
  for (int i = 0; i < n; ++i)
    position[nodes[i]] = i;
  std::vector<std::vector<Node *>> readers(n);
  for (Node *m : nodes)
    for (const Var &o : m->operands())
      readers[position.at(o.node())].push_back(m);
  std::vector<bool> isOutput(n, false);
  for (const Var &o : g.outputs())
    isOutput[position.at(o.node())] = true;
  std::vector<bool> candidate(n, false);
  for (int i = 0; i < n; ++i)
    candidate[i] = !nodes[i]->isLeaf() && isFusible(*nodes[i]) &&
                   !staysAlone(nodes[i], readers[i], isOutput[i]);

  // Clusters: union-find over positions; a root keeps the members (in
  // order) and the ops they compute.
  std::vector<int> parent(n), ops(n, 0);
  std::vector<std::vector<int>> members(n);
  for (int i = 0; i < n; ++i) {
    parent[i] = i;
    members[i] = {i};
    ops[i] = (int)opCount(*nodes[i]);
  }
  std::function<int(int)> find = [&](int i) {
    return parent[i] == i ? i : parent[i] = find(parent[i]);
  };
  // Whether clusters a and b together leave the graph of clusters acyclic:
  // no other cluster (or node) depends on one of them and is read by the
  // other. Searched back from their operands, cluster by cluster, through
  // what ends after the earlier of the two begins.
  auto convex = [&](int a, int b) {
    int lo = std::min(members[a][0], members[b][0]);
    auto member = [&](int j) { return find(j) == a || find(j) == b; };
    std::vector<int> stack;
    std::unordered_set<int> seen;
    auto expand = [&](int c) { // false when c reads a or b
      for (int m : members[c])
        for (const Var &o : nodes[m]->operands()) {
          int j = position.at(o.node());
          if (member(j)) {
            if (c != a && c != b)
              return false;
            continue;
          }
          int r = find(j);
          if (r != c && members[r].back() > lo && seen.insert(r).second)
            stack.push_back(r);
        }
      return true;
    };
    expand(a);
    expand(b);
    while (!stack.empty()) {
      if ((int)seen.size() > kMaxConvexityVisits)
        return false;
      int c = stack.back();
      stack.pop_back();
      if (!expand(c))
        return false;
    }
    return true;
  };
  for (int i = 0; i < n; ++i) {
    if (!candidate[i])
      continue;
    const TensorType *shape = nodes[i]->resultTypes()[0];
    // Clusters it reads from, then clusters reading what it reads.
    std::vector<int> partners;
    for (const Var &o : nodes[i]->operands()) {
      int j = position.at(o.node());
      if (candidate[j] && sameShape(o.type(), shape))
        partners.push_back(j);
    }
    for (const Var &o : nodes[i]->operands()) {
      int j = position.at(o.node());
      if (o.isConstant() || !sameShape(o.type(), shape))
        continue;
      // Readers are in graph order: the nearest few before this one (a
      // value read by thousands of nodes must not make the pass quadratic).
      const std::vector<Node *> &rs = readers[j];
      auto here = std::lower_bound(rs.begin(), rs.end(), i, [&](Node *r, int p) {
        return position.at(r) < p;
      });
      for (auto it = here; it != rs.begin() && here - it < kMaxSiblings;) {
        Node *r = *--it;
        int k = position.at(r);
        if (candidate[k] && sameShape(r->resultTypes()[0], shape))
          partners.push_back(k);
      }
    }
    for (int k : partners) {
      int a = find(i), b = find(k);
      if (a == b || ops[a] + ops[b] > (int)kMaxFusedOps || !convex(a, b))
        continue;
      int root = std::min(a, b), other = std::max(a, b);
      parent[other] = root;
      ops[root] += ops[other];
      std::vector<int> merged;
      std::merge(members[root].begin(), members[root].end(), members[other].begin(),
                 members[other].end(), std::back_inserter(merged));
      members[root] = std::move(merged);
      members[other].clear();
    }
  }

  // Rebuild, each cluster where its operands are ready: units (clusters of
  // two or more, and every other node) in a topological order of the
  // graph they make, nearest to the old order first.
  std::vector<int> unit(n);
  for (int i = 0; i < n; ++i)
    unit[i] = members[find(i)].size() > 1 ? find(i) : i;
  std::vector<std::vector<int>> successors(n);
  std::vector<int> waiting(n, 0);
  for (int i = 0; i < n; ++i)
    for (const Var &o : nodes[i]->operands()) {
      int j = position.at(o.node());
      if (unit[j] != unit[i]) {
        successors[unit[j]].push_back(unit[i]);
        ++waiting[unit[i]];
      }
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (unit[i] == i && waiting[i] == 0)
      ready.push(i);
  std::unordered_map<Node *, NodeRef> rebuilt; // nodes with new operands
  std::unordered_map<Node *, Var> resultOf;    // cluster members' values
  auto finalOf = [&](const Var &v) {
    auto r = resultOf.find(v.node());
    if (r != resultOf.end())
      return r->second;
    auto it = rebuilt.find(v.node());
    return it == rebuilt.end() ? v : Var(it->second, v.index());
  };
  while (!ready.empty()) {
    int u = ready.top();
    ready.pop();
    for (int s : successors[u])
      if (--waiting[s] == 0)
        ready.push(s);
    // A node on the final values of its operands.
    auto rebuild = [&](Node *m) {
      std::vector<Var> operands;
      bool differs = false;
      for (const Var &v : m->operands()) {
        operands.push_back(finalOf(v));
        differs |= operands.back() != v;
      }
      if (differs)
        rebuilt[m] = match::rebuild(*m, std::move(operands));
    };
    if (members[u].size() < 2) {
      if (!nodes[u]->isLeaf())
        rebuild(nodes[u]);
      continue;
    }
    std::vector<Node *> inCluster;
    std::vector<Var> roots;
    for (int m : members[u]) {
      inCluster.push_back(nodes[m]);
      bool readOutside = isOutput[m];
      for (Node *r : readers[m])
        readOutside |= unit[position.at(r)] != u;
      if (readOutside)
        roots.push_back(nodes[m]->result(0));
    }
    LocationScope scope(roots[0].node()->location());
    std::vector<Var> results = composeElementwise(
        roots, [&](const Node &m) { return unit[position.at((Node *)&m)] == u; },
        finalOf);
    if (results.empty()) { // nothing to merge after all: each stays itself
      for (int m : members[u])
        rebuild(nodes[m]);
      continue;
    }
    ++stats.rewrites;
    Node *c = results[0].node();
    if (!c->unfused())
      c->setUnfused(userComputation(inCluster, roots, finalOf, *c));
    for (size_t k = 0; k < roots.size(); ++k) {
      resultOf[roots[k].node()] = results[k];
      if (roots.size() > 1)
        c->setResultName((unsigned)k, roots[k].name());
      else if (!roots[k].name().empty())
        c->setUserName(roots[k].name());
    }
  }
  for (int i = 0; i < n; ++i)
    if (waiting[i] > 0)
      throw CompileError("internal error: fuse: the loops with several results form a cycle");
  std::vector<Var> outs;
  for (const Var &o : g.outputs())
    outs.push_back(finalOf(o));
  g = Graph(g.inputs(), std::move(outs));
}

void fuseElementwise(Graph &g, const PassOptions &, PassStats &stats) {
  const std::vector<Node *> &nodes = g.nodes();
  std::unordered_map<Node *, int> position, readers;
  for (size_t i = 0; i < nodes.size(); ++i) {
    position[nodes[i]] = (int)i;
    for (const Var &v : nodes[i]->operands())
      ++readers[v.node()];
  }
  for (const Var &o : g.outputs())
    ++readers[o.node()];

  // The groups, by root: their members (a claimed member belongs to one
  // group; a copied cheap one may be in several).
  std::unordered_map<Node *, std::unordered_set<Node *>> groups;
  std::unordered_set<Node *> claimed;
  for (size_t i = nodes.size(); i-- > 0;) {
    Node *root = nodes[i];
    if (claimed.count(root) || !isFusible(*root))
      continue;
    const TensorType *shape = root->resultTypes()[0];
    std::unordered_set<Node *> &members = groups[root];
    members.insert(root);
    size_t ops = opCount(*root);
    std::unordered_map<Node *, int> uses; // readers of a node in the group
    auto byPosition = [&](Node *a, Node *b) {
      return position[a] < position[b];
    };
    std::priority_queue<Node *, std::vector<Node *>, decltype(byPosition)>
        frontier(byPosition);
    std::unordered_set<Node *> queued;
    // A copy's operands are read by the node copied too: its reads do not
    // count toward claiming them.
    auto enqueueOperands = [&](Node *n, bool counted) {
      for (const Var &o : n->operands()) {
        Node *p = o.node();
        uses[p] += counted;
        if (queued.insert(p).second)
          frontier.push(p);
      }
    };
    enqueueOperands(root, true);
    // Latest first: when a producer comes up, every member that reads it
    // is already in the group.
    while (!frontier.empty()) {
      Node *p = frontier.top();
      frontier.pop();
      if (p->isLeaf() || claimed.count(p) || !isFusible(*p) ||
          !match::sameBroadcast(p->result(0), shape))
        continue;
      bool claim = uses[p] == readers[p];
      if ((!claim && !isCheap(*p)) || ops + opCount(*p) > kMaxFusedOps)
        continue;
      ops += opCount(*p);
      if (claim)
        claimed.insert(p);
      members.insert(p);
      enqueueOperands(p, claim);
    }
  }

  // Rebuild in order: a root becomes its composite, on the final values of
  // its operands; claimed members are computed inside their group.
  std::unordered_map<Node *, Var> finalOf;
  auto mapped = [&](const Var &v) {
    auto it = finalOf.find(v.node());
    return it == finalOf.end() ? v : Var(it->second.nodeRef(), v.index());
  };
  std::vector<Var> oldOutputs = g.outputs();
  for (Node *n : nodes) {
    if (n->isLeaf() || claimed.count(n))
      continue;
    LocationScope scope(n->location());
    Var result;
    auto group = groups.find(n);
    if (group != groups.end() && group->second.size() > 1) {
      const std::unordered_set<Node *> &members = group->second;
      std::vector<std::pair<Var, Var>> external; // (user's value, final)
      result = composeElementwise(
          n->result(0),
          [&](const Node &m) { return members.count((Node *)&m) > 0; },
          [&](const Var &v) {
            external.push_back({v, mapped(v)});
            return external.back().second;
          });
      if (result) {
        ++stats.rewrites;
        if (!result.node()->unfused())
          result.node()->setUnfused(userComputation(n->result(0), external,
                                                    *result.node()));
        if (result.name().empty() && !n->userName().empty())
          result.node()->setUserName(n->userName());
      }
    }
    if (!result) {
      std::vector<Var> operands;
      bool differs = false;
      for (const Var &v : n->operands()) {
        operands.push_back(mapped(v));
        differs |= operands.back() != v;
      }
      if (!differs)
        continue;
      result = Var(match::rebuild(*n, std::move(operands)));
    }
    finalOf[n] = result;
  }
  std::vector<Var> outs;
  for (const Var &o : oldOutputs)
    outs.push_back(mapped(o));
  g = Graph(g.inputs(), std::move(outs));
  fuseLoopsWithSeveralResults(g, stats);
  stats.rounds = 1;
}

} // namespace thjit
