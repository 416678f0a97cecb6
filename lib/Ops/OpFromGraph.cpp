//===- OpFromGraph.cpp - A graph used as one op ---------------------------===//
///
/// \file
/// Theano's OpFromGraph: a graph with declared inputs wrapped as one op. An
/// op_from_graph node prints as one node; its reference kernel evaluates
/// the graph, compiled code runs the graph compiled on its own (or inlined,
/// when the op says so, before anything else sees it). Its gradient, R-op
/// and batch rule are those of its graph (Grad.cpp and Vectorize.cpp expand
/// it), unless the op overrides the gradient or the R-op. Shared variables
/// the graph reads become extra operands of the node, so that gradients
/// reach them like any other operand.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <set>

namespace thjit {

static std::vector<const TensorType *>
graphTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  const OpGraph &g = *a.graph;
  if (ops.size() != g.inputs.size())
    throw TypeError(
        g.name + " takes " + std::to_string(g.inputs.size() - g.shared.size()) +
        " arguments but " + std::to_string(ops.size() - g.shared.size()) +
        " were given");
  for (size_t i = 0; i < ops.size(); ++i)
    if (!isAssignable(ops[i].type(), g.inputs[i].type()))
      throw TypeError(
          g.name + ": argument " + std::to_string(i + 1) + " has type " +
          ops[i].type()->str() + " but the graph's input " +
          (g.inputs[i].name().empty() ? "" : g.inputs[i].name() + " ") +
          "has type " + g.inputs[i].type()->str());
  std::vector<const TensorType *> out;
  for (const Var &o : g.outputs)
    out.push_back(o.type());
  return out;
}

static std::vector<SymShape> graphShape(const Node &n,
                                        const std::vector<SymShape> &) {
  std::vector<SymShape> out;
  for (const Var &r : inlineOpFromGraph(n))
    out.push_back(inferNodeShape(*r.node())[r.index()]);
  return out;
}

static std::vector<NDArray> graphEval(const Node &n,
                                      const std::vector<NDArray> &in) {
  const OpGraph &g = *n.attrs().graph;
  return evaluateGraph(Graph(g.inputs, g.outputs), in);
}

void registerOpFromGraphOps(OpDef *t) {
  // The gradient, R-op and batch rule: see Grad.cpp and Vectorize.cpp.
  t[(int)OpKind::OpFromGraph] = {graphTypes, graphShape, graphEval, nullptr,
                                 "a graph used as one op (Theano's "
                                 "OpFromGraph)"};
}

GraphOp opFromGraph(const std::vector<Var> &inputs,
                    const std::vector<Var> &outputs,
                    const OpFromGraphOptions &options) {
  const std::string &name = options.name;
  if (outputs.empty())
    throw ValueError(name + ": the graph has no outputs");
  std::set<Node *> seen;
  for (const Var &x : inputs) {
    if (!x.defined() || !x.isInput())
      throw TypeError(name +
                      ": the inputs must be symbolic inputs (such as "
                      "T.matrix()); to use an expression, make an input and "
                      "pass the expression as the op's argument");
    if (!seen.insert(x.node()).second)
      throw ValueError(name + ": input " + x.name() + " is listed twice");
  }
  for (const Var &y : outputs)
    if (!y.defined())
      throw ValueError(name + ": an output is undefined");
  auto g = std::make_shared<OpGraph>();
  g->name = name;
  g->inlined = options.inlined;
  g->lopOverride = options.lopOverride;
  g->lopThroughGraph = options.lopThroughGraph;
  if (!g->lopThroughGraph.empty() && g->lopThroughGraph.size() != inputs.size())
    throw ValueError(name + ": lopThroughGraph has " +
                     std::to_string(g->lopThroughGraph.size()) +
                     " entries for " + std::to_string(inputs.size()) +
                     " inputs");
  g->ropOverride = options.ropOverride;
  g->inputs = inputs;
  Graph graph(inputs, outputs);
  for (const Var &missing : graph.missingInputs())
    throw ValueError(
        name + ": the outputs depend on " +
        (missing.name().empty() ? std::string("an input") : missing.name()) +
        " of type " + missing.type()->str() + missing.node()->whereCreated() +
        ", which is not among the op's inputs");
  // Shared variables become inputs of the graph and operands of its nodes.
  std::vector<std::pair<Var, Var>> replacements;
  for (const Var &s : graph.sharedVariables()) {
    Var in = makeInput(s.type(), s.name());
    g->shared.push_back(s);
    g->inputs.push_back(in);
    replacements.push_back({s, in});
  }
  g->outputs =
      replacements.empty() ? outputs : cloneReplace(outputs, replacements);
  return g;
}

std::vector<Var> applyOp(const GraphOp &op, const std::vector<Var> &args) {
  if (!op)
    throw ValueError("applyOp: no op");
  size_t declared = op->inputs.size() - op->shared.size();
  if (args.size() != declared)
    throw TypeError(op->name + " takes " + std::to_string(declared) +
                    " arguments but " + std::to_string(args.size()) +
                    " were given");
  std::vector<Var> operands = args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i].defined())
      throw ValueError(op->name + ": argument " + std::to_string(i + 1) +
                       " is undefined");
    // Python numbers and lower dtypes are converted as for an input.
    const TensorType *want = op->inputs[i].type();
    if (args[i].dtype() != want->dtype() &&
        promoteTypes(args[i].dtype(), want->dtype()) == want->dtype())
      operands[i] = cast(args[i], want->dtype());
  }
  operands.insert(operands.end(), op->shared.begin(), op->shared.end());
  Attrs a;
  a.graph = op;
  return makeOp(OpKind::OpFromGraph, operands, a);
}

std::vector<Var> inlineOpFromGraph(const Node &node) {
  const OpGraph &g = *node.attrs().graph;
  std::vector<std::pair<Var, Var>> pairs;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    pairs.push_back({g.inputs[i], node.operand((int)i)});
  return cloneReplace(g.outputs, pairs);
}

} // namespace thjit
