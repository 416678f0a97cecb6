//===- Printer.cpp - The textual form of graphs ---------------------------===//
#include "thjit/IR/Graph.h"
#include "thjit/Support/Format.h"

#include <cstdint>
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

int printedOperands(const Node &n);

std::string printIndex(const Node &n, const Namer &namer) {
  // The index operands follow the indexed value (and the value written).
  int next = printedOperands(n);
  std::vector<std::string> parts;
  for (const IndexEntry &e : n.attrs().index) {
    switch (e.kind) {
    case IndexEntry::Int:
    case IndexEntry::Array:
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
  case OpKind::AdvancedSubtensor:
  case OpKind::AdvancedSetSubtensor:
  case OpKind::AdvancedIncSubtensor:
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
  case OpKind::AdvancedSubtensor:
    return 1;
  case OpKind::SetSubtensor:
  case OpKind::IncSubtensor:
  case OpKind::AdvancedSetSubtensor:
  case OpKind::AdvancedIncSubtensor:
    return 2;
  default:
    return n.numOperands();
  }
}
} // namespace

namespace {
/// Names the graph's leaves first, so that their names do not depend on
/// where they are used; returns the function inputs' nodes.
std::set<Node *> nameLeaves(const Graph &g, Namer &namer) {
  std::set<Node *> inputNodes;
  for (const Var &in : g.inputs()) {
    namer.assign(in.node(), in.name(), true);
    inputNodes.insert(in.node());
  }
  for (Node *n : g.nodes())
    if (n->isLeaf() && n->kind() != OpKind::Constant && !inputNodes.count(n))
      namer.assign(n, n->userName(), true);
  return inputNodes;
}

std::vector<GraphResult> resultsOrOutputs(const Graph &g,
                                          const std::vector<GraphResult> &r) {
  if (!r.empty())
    return r;
  std::vector<GraphResult> shown;
  for (const Var &o : g.outputs())
    shown.push_back({"", o});
  return shown;
}
} // namespace

std::string printGraph(const Graph &g, const std::string &title,
                       const std::vector<GraphResult> &results) {
  Namer namer;
  const std::vector<Node *> &nodes = g.nodes();
  std::set<Node *> inputNodes = nameLeaves(g, namer);

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
  std::vector<GraphResult> shown = resultsOrOutputs(g, results);
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

// ---- Graphviz ---------------------------------------------------------------

namespace {
/// A DOT string literal's contents.
std::string dotEscape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

/// The fill colour of an op by family, so that a picture shows at a glance
/// where the element-wise work, the products and the reductions are.
const char *familyColour(OpFamily f) {
  switch (f) {
  case OpFamily::Elemwise: return "#fdd0a2";
  case OpFamily::Reduce: return "#bcbddc";
  case OpFamily::Blas: return "#fc9272";
  case OpFamily::Shape: return "#ffffb2";
  case OpFamily::Subtensor: return "#c7e9c0";
  case OpFamily::NNet: return "#9ecae1";
  case OpFamily::GradControl: return "#d9d9d9";
  case OpFamily::OpFromGraph: return "#fbb4c9";
  case OpFamily::Transfer: return "#a1d99b";
  case OpFamily::Leaf: break;
  }
  return "#ffffff";
}

/// A constant of a scalar program, as ScalarProgram::str prints it.
std::string scalarConstant(const ScalarProgram::Op &op) {
  if (isFloat(op.dtype))
    return formatPyFloat(op.floatValue);
  if (op.dtype == DType::UInt64)
    return std::to_string((uint64_t)op.intValue);
  return std::to_string(op.intValue);
}

class DotWriter {
public:
  explicit DotWriter(const Graph &g) : g(g) {}

  std::string write(const std::string &title,
                    const std::vector<GraphResult> &results) {
    std::set<Node *> inputNodes = nameLeaves(g, namer);
    out += "digraph \"" + dotEscape(title) + "\" {\n"
           "  label=\"" + dotEscape(title) + "\"; labelloc=t; rankdir=TB;\n"
           "  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n"
           "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n";
    for (Node *n : g.nodes()) {
      if (n->kind() == OpKind::Input || n->kind() == OpKind::Shared) {
        bool isInput = n->kind() == OpKind::Input;
        std::string note = isInput && !inputNodes.count(n)
                               ? "\n(not a function input)" : "";
        out += "  " + id(n) + " [label=\"" +
               dotEscape(namer.nameOf(n->result(0)) + "\n" +
                         n->resultTypes()[0]->str() + note) +
               "\", shape=" + (isInput ? "ellipse" : "cylinder") +
               ", fillcolor=\"" + (isInput ? "#a1d99b" : "#9ecae1") + "\"];\n";
        sources[n->result(0)] = id(n);
      }
    }
    for (Node *n : g.nodes()) {
      if (n->isLeaf())
        continue;
      namer.assign(n, false);
      if (n->kind() == OpKind::Composite)
        writeComposite(n);
      else
        writeOp(n);
    }
    int k = 0;
    for (const GraphResult &r : resultsOrOutputs(g, results)) {
      std::string rid = "out" + std::to_string(k++);
      std::string label = r.label.empty() ? "return " + namer.nameOf(r.value)
                                          : "update " + r.label;
      out += "  " + rid + " [label=\"" + dotEscape(label) +
             "\", shape=note, fillcolor=\"#f0f0f0\"];\n";
      edge(r.value, rid, "");
    }
    return out + "}\n";
  }

private:
  const Graph &g;
  Namer namer;
  std::string out;
  /// The DOT node each value comes from (an op, or a composite's scalar op).
  std::map<Var, std::string, VarLess> sources;
  int constants = 0;

  std::map<const Node *, int> ids; ///< numbered in graph order

  std::string id(const Node *n) {
    auto [it, added] = ids.try_emplace(n, (int)ids.size());
    return "n" + std::to_string(it->second);
  }

  /// An edge from value v's source to DOT node `to`, labelled with v's
  /// type; constants are drawn as a plain label of their own per use.
  void edge(const Var &v, const std::string &to, const std::string &prefix) {
    std::string from;
    if (v.node()->kind() == OpKind::Constant) {
      from = "c" + std::to_string(constants++);
      out += "  " + from + " [label=\"" +
             dotEscape(printConstant(v.node()->constantValue())) +
             "\", shape=plaintext, style=\"\"];\n";
    } else {
      auto it = sources.find(v);
      from = it == sources.end() ? "missing" : it->second;
    }
    out += "  " + from + " -> " + to + " [label=\"" +
           dotEscape(prefix + v.type()->str()) + "\"];\n";
  }

  std::string resultNames(Node *n) {
    std::vector<std::string> names;
    for (int i = 0; i < n->numResults(); ++i)
      names.push_back(namer.nameOf(n->result(i)));
    return join(names, ", ");
  }

  void writeOp(Node *n) {
    out += "  " + id(n) + " [label=\"" +
           dotEscape(std::string(n->name()) + printAttrs(*n, namer) + "\n" +
                     resultNames(n)) +
           "\", shape=box, fillcolor=\"" + familyColour(opFamily(n->kind())) +
           "\"];\n";
    for (int i = 0; i < n->numResults(); ++i)
      sources[n->result(i)] = id(n);
    int shown = printedOperands(*n);
    for (int i = 0; i < shown; ++i)
      edge(n->operand(i), id(n),
           shown > 1 ? std::to_string(i) + ": " : std::string());
  }

  /// A fused loop: a cluster holding its scalar program, one small node per
  /// scalar op; the operands feed the scalar inputs.
  void writeComposite(Node *n) {
    const ScalarProgram &p = *n->attrs().program;
    std::string c = id(n);
    out += "  subgraph cluster_" + c + " {\n    label=\"" +
           dotEscape("composite " + resultNames(n)) +
           "\"; style=\"rounded,filled\"; fillcolor=\"#fff5eb\"; "
           "color=\"#e6550d\";\n";
    auto valueId = [&](int i) { return c + "_" + std::to_string(i); };
    std::string body;
    for (size_t i = 0; i < p.inputs.size(); ++i)
      body += "    " + valueId((int)i) + " [label=\"i" + std::to_string(i) +
              "\", shape=circle, fixedsize=true, width=0.3, fillcolor=\"white\"];\n";
    for (size_t k = 0; k < p.ops.size(); ++k) {
      const ScalarProgram::Op &op = p.ops[k];
      int v = (int)(p.inputs.size() + k);
      std::string label = op.kind == OpKind::Constant
                              ? scalarConstant(op)
                              : std::string(opName(op.kind)) +
                                    (op.castTo ? std::string("{") +
                                                     dtypeShortName(*op.castTo) + "}"
                                               : "");
      body += "    " + valueId(v) + " [label=\"" + dotEscape(label) + "\", " +
              (op.kind == OpKind::Constant ? "shape=plaintext, style=\"\""
                                           : "shape=box, style=\"rounded,filled\", "
                                             "fillcolor=\"#fdd0a2\"") +
              "];\n";
      for (int a : op.args)
        body += "    " + valueId(a) + " -> " + valueId(v) + ";\n";
    }
    out += body + "  }\n";
    for (size_t i = 0; i < p.outputs.size(); ++i)
      sources[n->result((int)i)] = valueId(p.outputs[i]);
    for (int i = 0; i < n->numOperands(); ++i)
      edge(n->operand(i), valueId(i), "");
  }
};
} // namespace

std::string printDot(const Graph &g, const std::string &title,
                     const std::vector<GraphResult> &results) {
  return DotWriter(g).write(title, results);
}

} // namespace thjit
