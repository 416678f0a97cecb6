//===- thjit/IR/Graph.h - A working copy of a computation -------*- C++ -*-===//
///
/// \file
/// Graph is Theano's FunctionGraph: the inputs and outputs of a computation,
/// its nodes in a deterministic topological order, the clients of each value,
/// and `replace`, which substitutes a value everywhere (rebuilding the nodes
/// downstream, since nodes are immutable). Copying a Graph is cheap: nodes
/// are shared, never changed; rewrites change only the Graph.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_IR_GRAPH_H
#define THJIT_IR_GRAPH_H

#include "thjit/IR/Node.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace thjit {

class Graph {
public:
  Graph() = default;
  Graph(std::vector<Var> inputs, std::vector<Var> outputs);

  const std::vector<Var> &inputs() const { return ins; }
  const std::vector<Var> &outputs() const { return outs; }

  /// Every node the outputs depend on, leaves included, each after its
  /// operands; the order depends only on the graph's structure.
  const std::vector<Node *> &nodes() const;
  /// The shared variables the outputs depend on, in node order.
  std::vector<Var> sharedVariables() const;
  /// Inputs the outputs depend on that are not listed as graph inputs.
  std::vector<Var> missingInputs() const;

  /// The (node, operand index) pairs that use `v`, and -1 for each output
  /// that is `v`.
  std::vector<std::pair<Node *, int>> clients(const Var &v) const;

  /// Replaces `old` by `replacement` everywhere. The replacement's type must
  /// be assignable to the old one's (TypeError otherwise, naming both).
  void replace(const Var &old, const Var &replacement);
  /// Several replacements at once (none sees the others' results).
  void replaceAll(const std::vector<std::pair<Var, Var>> &pairs);

private:
  std::vector<Var> ins;
  std::vector<Var> outs;
  mutable std::vector<Node *> order; // cache, empty when stale
};

/// Copies of the graphs computing `outputs` with each replacement's first
/// value replaced by its second (Theano's clone with replace): the nodes
/// downstream are rebuilt, the rest shared.
std::vector<Var> cloneReplace(const std::vector<Var> &outputs,
                              const std::vector<std::pair<Var, Var>> &pairs);

/// Structural checks of a graph (every operand defined, result indices in
/// range, leaves with their payloads, inputs are distinct Input leaves,
/// index entries matching operand counts). When `inferTypes` is given, it is
/// run on every non-leaf node and must give the node's result types. Throws
/// CompileError naming the first bad node.
void verifyGraph(const Graph &g,
                 const std::function<std::vector<const TensorType *>(
                     const Node &)> &inferTypes = nullptr);

/// One line of the printed graph after its nodes: `return %3` or
/// `update w = %7`.
struct GraphResult {
  std::string label; ///< "" for a plain output, else the shared name.
  Var value;
};

/// Prints a graph deterministically, one node per line:
///
///   graph f(x: f64[?,?], y: i64[?]) {
///     shared w: f64[?]
///     %0: f64[?] = dot(x, w)
///     return %0
///   }
///
/// Constants appear inline (1.0, 2:i8, [1, 2]:i64); named values use their
/// names. `results` defaults to the graph's outputs.
std::string printGraph(const Graph &g, const std::string &title,
                       const std::vector<GraphResult> &results = {});

/// The graph as Graphviz DOT, what Theano's pydotprint drew: inputs
/// (green ellipses), shared variables (blue cylinders), ops as boxes
/// coloured by family, fused loops as clusters showing their scalar
/// programs, constants as plain labels, edges labelled with types, and a
/// note per result (`return %3`, `update w`).
std::string printDot(const Graph &g, const std::string &title,
                     const std::vector<GraphResult> &results = {});

/// How a constant prints inline: "1.0", "2:i8", "[1.0, 2.0]", or
/// "const<f64[100]>" when large.
std::string printConstant(const NDArray &value);

} // namespace thjit

#endif
