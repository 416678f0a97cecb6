//===- Printer.cpp - The textual form of graphs ---------------------------===//
#include "thjit/IR/Graph.h"
#include "thjit/Support/Format.h"

#include <map>
#include <set>

namespace thjit {

std::string printConstant(const NDArray &value) {
  DType t = value.dtype();
  // Python's own literal types print bare; others carry their dtype.
  bool plain = t == DType::Float64 || t == DType::Int64 || t == DType::Bool;
  std::string suffix = plain ? "" : std::string(":") + dtypeShortName(t);
  if (value.ndim() == 0)
    return value.item().str() + suffix;
  if (value.size() > 8)
    return "const<" + std::string(dtypeShortName(t)) +
           formatShape(value.shape()) + ">";
  // Nested lists, row-major.
  std::vector<Scalar> vals = value.values();
  size_t pos = 0;
  std::function<std::string(int)> nest = [&](int axis) -> std::string {
    std::string s = "[";
    for (int64_t i = 0; i < value.dim(axis); ++i) {
      if (i)
        s += ", ";
      s += axis + 1 == value.ndim() ? vals[pos++].str() : nest(axis + 1);
    }
    return s + "]";
  };
  return nest(0) + suffix;
}

namespace {
/// Gives every value of a graph its printed name.
class Namer {
public:
  std::string nameOf(const Var &v) const {
    Node *n = v.node();
    if (n->kind() == OpKind::Constant)
      return printConstant(n->constantValue());
    if (n->namedApart()) {
      auto it = apart.find(v);
      return it == apart.end() ? "?" : it->second;
    }
    auto it = names.find(n);
    std::string base = it == names.end() ? "?" : it->second;
    if (n->numResults() > 1)
      base += "#" + std::to_string(v.index());
    return base;
  }

  /// Names node n's results, each its own where they are named apart.
  void assign(Node *n, bool isLeaf) {
    if (!n->namedApart())
      return assign(n, n->userName(), isLeaf);
    for (int i = 0; i < n->numResults(); ++i) {
      assign(n, n->resultName(i), isLeaf);
      apart[n->result(i)] = names[n];
    }
  }

  void assign(Node *n, const std::string &user, bool isLeaf) {
    std::string name;
    if (!user.empty()) {
      name = isLeaf ? user : "%" + user;
      if (used.count(name)) {
        int k = 1;
        while (used.count(name + "." + std::to_string(k)))
          ++k;
        name += "." + std::to_string(k);
      }
    } else if (n->kind() == OpKind::Input) {
      name = "%in" + std::to_string(unnamedInputs++);
    } else if (n->kind() == OpKind::Shared) {
      name = "%shared" + std::to_string(unnamedShared++);
    } else {
      name = "%" + std::to_string(counter++);
    }
    used.insert(name);
    names[n] = name;
  }

private:
  std::map<Node *, std::string> names;
  std::map<Var, std::string, VarLess> apart; ///< results named apart
  std::set<std::string> used;
  int counter = 0, unnamedInputs = 0, unnamedShared = 0;
};

std::string printIndex(const Node &n, const Namer &namer) {
  // The index operands follow the indexed value (and the value written).
  int next = n.kind() == OpKind::Subtensor ? 1 : 2;
  std::vector<std::string> parts;
  for (const IndexEntry &e : n.attrs().index) {
    switch (e.kind) {
    case IndexEntry::Int:
      parts.push_back(namer.nameOf(n.operand(next++)));
      break;
    case IndexEntry::NewAxis:
      parts.push_back("None");
      break;
    case IndexEntry::Slice: {
      std::string s;
      if (e.hasStart)
        s += namer.nameOf(n.operand(next++));
      s += ":";
      if (e.hasStop)
        s += namer.nameOf(n.operand(next++));
      if (e.hasStep)
        s += ":" + namer.nameOf(n.operand(next++));
      parts.push_back(s);
      break;
    }
    }
  }
  return join(parts, ", ");
}

std::string printAttrs(const Node &n, const Namer &namer) {
  const Attrs &a = n.attrs();
  std::vector<std::string> parts;
  switch (n.kind()) {
  case OpKind::Composite:
    return "{" + a.program->str() + "}";
  case OpKind::DimShuffle:
    for (int d : a.axes)
      parts.push_back(d < 0 ? "x" : std::to_string(d));
    return "{" + join(parts, ",") + "}";
  case OpKind::Subtensor:
  case OpKind::SetSubtensor:
  case OpKind::IncSubtensor:
    return "[" + printIndex(n, namer) + "]";
  case OpKind::Join:
  case OpKind::Split:
  case OpKind::ArgMax:
  case OpKind::ArgMin:
  case OpKind::ShapeI:
    if (!a.axes.empty())
      parts.push_back("axis=" + std::to_string(a.axes[0]));
    break;
  case OpKind::TensorDot: {
    size_t half = a.axes.size() / 2;
    std::vector<std::string> x, y;
    for (size_t i = 0; i < half; ++i) {
      x.push_back(std::to_string(a.axes[i]));
      y.push_back(std::to_string(a.axes[half + i]));
    }
    parts.push_back("axes=[[" + join(x, ",") + "],[" + join(y, ",") + "]]");
    break;
  }
  default:
    if (opFamily(n.kind()) == OpFamily::Reduce) {
      std::vector<std::string> ax;
      for (int d : a.axes)
        ax.push_back(std::to_string(d));
      parts.push_back("axes=[" + join(ax, ",") + "]");
    }
    break;
  }
  if (a.keepdims)
    parts.push_back("keepdims");
  if (a.dtype)
    parts.push_back(dtypeShortName(*a.dtype));
  if (a.graph)
    parts.push_back(a.graph->name);
  if (parts.empty())
    return "";
  return "{" + join(parts, ", ") + "}";
}

// The operands printed in parentheses: index operands are shown in the
// index instead.
int printedOperands(const Node &n) {
  switch (n.kind()) {
  case OpKind::Subtensor:
    return 1;
  case OpKind::SetSubtensor:
  case OpKind::IncSubtensor:
    return 2;
  default:
    return n.numOperands();
  }
}
} // namespace

std::string printGraph(const Graph &g, const std::string &title,
                       const std::vector<GraphResult> &results) {
  Namer namer;
  const std::vector<Node *> &nodes = g.nodes();
  // Leaves first so that their names do not depend on where they are used.
  for (const Var &in : g.inputs())
    namer.assign(in.node(), in.name(), true);
  std::set<Node *> inputNodes;
  for (const Var &in : g.inputs())
    inputNodes.insert(in.node());
  for (Node *n : nodes)
    if (n->isLeaf() && n->kind() != OpKind::Constant && !inputNodes.count(n))
      namer.assign(n, n->userName(), true);

  std::string out = "graph " + title + "(";
  std::vector<std::string> params;
  for (const Var &in : g.inputs())
    params.push_back(namer.nameOf(in) + ": " + in.type()->str());
  out += join(params, ", ") + ") {\n";
  for (Node *n : nodes) {
    if (n->kind() == OpKind::Shared)
      out += "  shared " + namer.nameOf(n->result(0)) + ": " +
             n->resultTypes()[0]->str() + "\n";
    else if (n->kind() == OpKind::Input && !inputNodes.count(n))
      out += "  input " + namer.nameOf(n->result(0)) + ": " +
             n->resultTypes()[0]->str() + "  (not a function input)\n";
  }
  for (Node *n : nodes) {
    if (n->isLeaf())
      continue;
    namer.assign(n, false);
    std::vector<std::string> lhs, args;
    for (int i = 0; i < n->numResults(); ++i)
      lhs.push_back(namer.nameOf(n->result(i)) + ": " +
                    n->resultTypes()[i]->str());
    for (int i = 0; i < printedOperands(*n); ++i)
      args.push_back(namer.nameOf(n->operand(i)));
    out += "  " + join(lhs, ", ") + " = " + n->name() + printAttrs(*n, namer) +
           "(" + join(args, ", ") + ")\n";
  }
  std::vector<GraphResult> shown = results;
  if (shown.empty())
    for (const Var &o : g.outputs())
      shown.push_back({"", o});
  std::vector<std::string> plain;
  for (const GraphResult &r : shown)
    if (r.label.empty())
      plain.push_back(namer.nameOf(r.value));
  if (!plain.empty())
    out += "  return " + join(plain, ", ") + "\n";
  for (const GraphResult &r : shown)
    if (!r.label.empty())
      out += "  update " + r.label + " = " + namer.nameOf(r.value) + "\n";
  return out + "}\n";
}

} // namespace thjit
