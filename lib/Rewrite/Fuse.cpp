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
  stats.rounds = 1;
}

} // namespace thjit
