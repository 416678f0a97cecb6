//===- DebugModes.cpp - DEBUG and NANGUARD checks of a call ---------------===//
#include "DebugModes.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Format.h"

#include <cmath>
#include <functional>

namespace thjit::debugmode {

std::vector<Var> probedValues(const Graph &g) {
  std::vector<Var> out;
  for (Node *n : g.nodes())
    if (!n->isLeaf())
      for (int r = 0; r < n->numResults(); ++r)
        out.push_back(n->result(r));
  return out;
}

CallValues::CallValues(const std::vector<Var> &inputs,
                       const std::vector<NDArray> &args,
                       const std::vector<Var> &probed,
                       const std::vector<NDArray> &values) {
  for (size_t i = 0; i < inputs.size(); ++i)
    known[inputs[i]] = args[i];
  for (size_t i = 0; i < probed.size(); ++i)
    known[probed[i]] = values[i];
}

NDArray CallValues::of(const Var &v) const {
  auto it = known.find(v);
  if (it != known.end())
    return it->second;
  return v.constantValue(); // constants and shared variables
}

/// A short one-line form of the expression computing v: `log(add(1.0, x))`.
static std::string expression(const Var &v, int depth = 3) {
  Node *n = v.node();
  if (!v.name().empty() && (n->isLeaf() || depth < 3))
    return v.name();
  if (v.isConstant())
    return printConstant(v.constantValue());
  if (n->isLeaf())
    return n->name();
  if (depth == 0)
    return "...";
  std::string s = n->name();
  if (n->kind() == OpKind::Composite)
    s += "{" + n->attrs().program->str() + "}";
  std::vector<std::string> args;
  for (const Var &o : n->operands())
    args.push_back(expression(o, depth - 1));
  s += "(" + join(args, ", ") + ")";
  if (n->numResults() > 1)
    s += "[" + std::to_string(v.index()) + "]";
  return s;
}

/// Every element as double (real part), row-major.
static std::vector<double> asDoubles(const NDArray &a) {
  NDArray d = a.astype(DType::Float64);
  if (!d.isContiguous())
    d = d.copy();
  const double *p = d.data<double>();
  return std::vector<double>(p, p + d.size());
}

/// Where `a` first holds a NaN or an infinity, as "nan at [3]"; "" if not.
static std::string nonFinite(const NDArray &a) {
  if (!isFloat(a.dtype()) || a.size() == 0)
    return "";
  std::vector<double> xs = asDoubles(a);
  for (size_t i = 0; i < xs.size(); ++i)
    if (!std::isfinite(xs[i]))
      return std::string(std::isnan(xs[i]) ? "nan" : xs[i] > 0 ? "inf" : "-inf") +
             (a.ndim() ? " at flat index " + std::to_string(i) : "");
  return "";
}

/// How `got` differs from `want` beyond rounding, or "". A finite value
/// where `want` is not counts as equal: stabilizing rewrites do that.
static std::string difference(const NDArray &got, const NDArray &want) {
  if (got.shape() != want.shape())
    return "shape " + formatShape(got.shape()) + " instead of " +
           formatShape(want.shape());
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtypeName(got.dtype()) + " instead of " +
           dtypeName(want.dtype());
  if (isComplex(got.dtype()))
    return ""; // not checked
  double rtol = 0, atol = 0;
  if (got.dtype() == DType::Float64)
    rtol = 1e-7, atol = 1e-12;
  else if (got.dtype() == DType::Float32)
    rtol = 1e-4, atol = 1e-6;
  else if (isFloat(got.dtype()))
    rtol = 1e-2, atol = 1e-3;
  std::vector<double> g = asDoubles(got), w = asDoubles(want);
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i])) ||
        !std::isfinite(w[i]))
      continue;
    if (std::isfinite(g[i]) &&
        std::fabs(g[i] - w[i]) <= atol + rtol * std::fabs(w[i]))
      continue;
    return "element " + std::to_string(i) + " (row-major) is " +
           formatPyFloat(g[i]) + " instead of " + formatPyFloat(w[i]);
  }
  return "";
}

using NodeValues = std::unordered_map<Node *, std::vector<NDArray>>;

/// Evaluates with the reference kernels every node `outputs` need that
/// `values` lacks (leaves: constants and shared values). Returns the first
/// node evaluated whose results `stop` accepts (it stops there), or null.
static Node *evaluateMissing(
    const std::vector<Var> &outputs, NodeValues &values,
    const std::function<bool(const std::vector<NDArray> &)> &stop = nullptr) {
  Graph reach({}, outputs);
  for (Node *n : reach.nodes()) {
    if (values.count(n))
      continue;
    if (n->isLeaf()) {
      values[n] = {n->result(0).constantValue()};
      continue;
    }
    std::vector<NDArray> in;
    for (const Var &o : n->operands())
      in.push_back(values.at(o.node())[o.index()]);
    values[n] = evaluateNode(*n, in);
    if (stop && stop(values[n]))
      return n;
  }
  return nullptr;
}

/// The user's node inside a fused one whose value first holds a NaN or an
/// infinity, given the fused node's operand values.
static const Node *culpritInside(const Node &fused,
                                 const std::vector<NDArray> &operands) {
  const Graph &g = *fused.unfused();
  NodeValues values;
  for (size_t i = 0; i < g.inputs().size(); ++i)
    values[g.inputs()[i].node()] = {operands[i]};
  Node *culprit = evaluateMissing(
      g.outputs(), values, [](const std::vector<NDArray> &results) {
        for (const NDArray &r : results)
          if (!nonFinite(r).empty())
            return true;
        return false;
      });
  return culprit ? culprit : &fused;
}

void nanGuard(const std::string &function, const std::vector<Var> &inputs,
              const std::vector<Var> &probed, const CallValues &values) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string where = nonFinite(values.of(inputs[i]));
    if (!where.empty())
      throw FloatingPointError(
          function + ": NANGUARD: input " +
          (inputs[i].name().empty() ? "#" + std::to_string(i + 1)
                                    : "'" + inputs[i].name() + "'") +
          " holds " + where);
  }
  for (const Var &v : probed) {
    std::string where = nonFinite(values.of(v));
    if (where.empty())
      continue;
    // Nodes come after their operands: the inputs and the nodes before
    // were clean, so this node made it.
    const Node *n = v.node();
    std::vector<NDArray> operands;
    for (const Var &o : n->operands())
      operands.push_back(values.of(o));
    Node *culprit = const_cast<Node *>(
        n->unfused() ? culpritInside(*n, operands) : n);
    throw FloatingPointError(function + ": NANGUARD: " + culprit->name() +
                             " produced " + where + " (" +
                             expression(culprit->result(0)) + ")" +
                             culprit->whereCreated());
  }
}

void checkRewrites(const std::string &function,
                   const std::vector<RewriteEvent> &events,
                   const std::vector<Var> &inputs,
                   const std::vector<NDArray> &args) {
  // One evaluation of every value the events name, with the reference
  // kernels, sharing what they have in common.
  NodeValues values;
  for (size_t i = 0; i < inputs.size(); ++i)
    values[inputs[i].node()] = {args[i]};
  auto valueOf = [&](const Var &root) -> NDArray {
    evaluateMissing({root}, values);
    return values.at(root.node())[root.index()];
  };
  for (const RewriteEvent &e : events) {
    NDArray before = valueOf(e.before);
    NDArray after;
    try {
      after = valueOf(e.after);
    } catch (const Error &err) {
      throw AssertionError(function + ": DEBUG: after rewrite " + e.rewrite +
                           " (pass " + e.pass + "), evaluating " +
                           expression(e.after) + " fails: " + err.what() +
                           "; before it, " + expression(e.before) +
                           " did not" + e.before.node()->whereCreated());
    }
    std::string diff = difference(after, before);
    if (!diff.empty())
      throw AssertionError(function + ": DEBUG: rewrite " + e.rewrite +
                           " (pass " + e.pass + ") changed a value: " + diff +
                           "\n  before: " + expression(e.before) +
                           "\n  after:  " + expression(e.after) + "\n " +
                           e.before.node()->whereCreated());
  }
}

void checkKernels(const std::string &function, const std::vector<Var> &probed,
                  const CallValues &values) {
  for (const Var &v : probed) {
    if (v.index() != 0)
      continue; // checked with the node's first result
    const Node *n = v.node();
    std::vector<NDArray> operands;
    for (const Var &o : n->operands())
      operands.push_back(values.of(o));
    std::vector<NDArray> want = evaluateNode(*n, operands);
    for (int r = 0; r < n->numResults(); ++r) {
      std::string diff =
          difference(values.of(Var(NodeRef((Node *)n), r)), want[r]);
      if (!diff.empty())
        throw AssertionError(function + ": DEBUG: the compiled code of " +
                             expression(v) +
                             " disagrees with its reference kernel: " + diff +
                             n->whereCreated());
    }
  }
}

} // namespace thjit::debugmode
