//===- Grad.cpp - Reverse and forward mode differentiation ----------------===//
///
/// \file
/// Reverse mode walks the graph from its seeds (the cost, known gradients,
/// Lop's cotangents) back to the variables, summing each value's gradient
/// contributions and calling each op's L-op. Forward mode walks it the
/// other way, calling each op's R-op on the tangents of its operands.
/// Gradient controls act here: disconnected_grad cuts like
/// consider_constant, undefined_grad makes the gradients it reaches "null"
/// (an error, or NaN, where a wrt needs one).
///
//===----------------------------------------------------------------------===//
#include "thjit/Grad/Grad.h"
#include "thjit/IR/Graph.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>

namespace thjit {

static std::string describe(const Var &v) {
  std::string s = v.name().empty() ? "a value" : v.name();
  return s + " of type " + v.type()->str() + v.node()->whereCreated();
}

/// Says that `what` does not depend on `on`, as `mode` asks.
static void disconnected(DisconnectedInputs mode, const std::string &msg,
                         const char *option) {
  switch (mode) {
  case DisconnectedInputs::Raise:
    throw ValueError(msg + "; pass " + option +
                     "='ignore' to get zeros instead");
  case DisconnectedInputs::Warn:
    std::cerr << "warning: " << msg << "; its gradient is zero\n";
    break;
  case DisconnectedInputs::Ignore:
    break;
  }
}

static std::vector<Var> backprop(const std::vector<std::pair<Var, Var>> &seeds,
                                 const std::vector<Var> &wrt,
                                 const GradOptions &options, const char *what);

/// Expressions over an op_from_graph node's graph inputs (some undefined)
/// as expressions over the node's operands.
static std::vector<Var> onOperands(const Node &n,
                                   const std::vector<Var> &inner) {
  const OpGraph &g = *n.attrs().graph;
  std::vector<Var> defined;
  for (const Var &v : inner)
    if (v.defined())
      defined.push_back(v);
  std::vector<std::pair<Var, Var>> pairs;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    pairs.push_back({g.inputs[i], n.operand((int)i)});
  std::vector<Var> outer = cloneReplace(defined, pairs), out;
  for (size_t k = 0, d = 0; k < inner.size(); ++k)
    out.push_back(inner[k].defined() ? outer[d++] : Var());
  return out;
}

/// The L-op of an op_from_graph node: its override for the declared
/// operands, else reverse mode through its graph.
static std::vector<Var> opFromGraphLop(const Node &n,
                                       const std::vector<Var> &resultGrads,
                                       const std::vector<bool> &needed) {
  const OpGraph &g = *n.attrs().graph;
  size_t declared = g.inputs.size() - g.shared.size();
  std::vector<Var> grads(n.numOperands());
  std::vector<Var> filled; // the result gradients, zeros where undefined
  for (int r = 0; r < n.numResults(); ++r)
    filled.push_back(resultGrads[r].defined()
                         ? resultGrads[r]
                         : zerosLike(const_cast<Node &>(n).result(r)));
  // The inputs whose gradients come from back-propagation through the
  // graph: all without an override; else the shared variables read inside
  // and the inputs marked to.
  auto throughGraph = [&](size_t i) {
    return !g.lopOverride || i >= declared ||
           (i < g.lopThroughGraph.size() && g.lopThroughGraph[i]);
  };
  if (g.lopOverride) {
    std::vector<Var> args(n.operands().begin(),
                          n.operands().begin() + declared);
    std::vector<Var> given = g.lopOverride(args, filled);
    if (given.size() != declared)
      throw ValueError(g.name + ": the gradient override returned " +
                       std::to_string(given.size()) + " gradients for " +
                       std::to_string(declared) + " inputs");
    for (size_t i = 0; i < declared; ++i)
      if (!throughGraph(i))
        grads[i] = given[i];
  }
  std::vector<std::pair<Var, Var>> seeds;
  for (int r = 0; r < n.numResults(); ++r)
    if (resultGrads[r].defined() && isFloat(g.outputs[r].dtype()))
      seeds.push_back({g.outputs[r], resultGrads[r]});
  std::vector<Var> wrt;
  std::vector<size_t> which;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    if (needed[i] && throughGraph(i)) {
      wrt.push_back(g.inputs[i]);
      which.push_back(i);
    }
  if (seeds.empty() || wrt.empty())
    return grads;
  GradOptions o;
  o.disconnectedInputs = DisconnectedInputs::Ignore;
  o.returnDisconnected = ReturnDisconnected::None;
  std::vector<Var> outer = onOperands(n, backprop(seeds, wrt, o, "grad"));
  for (size_t k = 0; k < outer.size(); ++k)
    grads[which[k]] = outer[k];
  return grads;
}

/// Reverse mode from seeds (value, gradient) to wrt. `what` names the
/// caller in messages.
static std::vector<Var> backprop(const std::vector<std::pair<Var, Var>> &seeds,
                                 const std::vector<Var> &wrt,
                                 const GradOptions &options, const char *what) {
  for (const Var &w : wrt) {
    if (!w.defined())
      throw ValueError(std::string(what) + ": a wrt variable is undefined");
    if (!isFloat(w.dtype()))
      throw TypeError(std::string(what) +
                      ": cannot differentiate with "
                      "respect to " +
                      describe(w) +
                      ": gradients are only defined for float values");
  }
  std::vector<Var> roots;
  for (const auto &[v, g] : seeds)
    roots.push_back(v);
  Graph graph({}, roots);
  const std::vector<Node *> &nodes = graph.nodes();
  std::set<Node *> wrtNodes;
  for (const Var &w : wrt)
    wrtNodes.insert(w.node());
  std::set<Node *> constants;
  for (const Var &c : options.considerConstant)
    constants.insert(c.node());
  auto cut = [&](Node *n) {
    return constants.count(n) || n->kind() == OpKind::DisconnectedGrad;
  };

  // Which nodes depend on some wrt (only they need gradients).
  std::unordered_set<Node *> connected;
  for (Node *n : nodes) {
    if (wrtNodes.count(n)) {
      connected.insert(n);
      continue;
    }
    if (cut(n))
      continue;
    for (const Var &v : n->operands())
      if (connected.count(v.node())) {
        connected.insert(n);
        break;
      }
  }

  // Which nodes the seeds depend on at all (cuts excluded): a wrt among
  // them without a gradient depends on them only through integer or
  // piecewise-constant values, and its gradient is zero, not undefined.
  std::unordered_set<Node *> reached;
  for (const Var &r : roots)
    reached.insert(r.node());
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
    if (reached.count(*it) && !cut(*it))
      for (const Var &v : (*it)->operands())
        reached.insert(v.node());

  std::map<Var, std::vector<Var>, VarLess> contributions;
  // Values whose gradient flows through an undefined_grad: why.
  std::map<Var, std::string, VarLess> nullWhy;
  for (const auto &[v, g] : seeds)
    contributions[v].push_back(fitGradient(g, v));
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
    if (n->isLeaf() || !connected.count(n) || cut(n))
      continue;
    std::vector<Var> resultGrads;
    bool any = false;
    std::string why;
    for (int i = 0; i < n->numResults(); ++i) {
      resultGrads.push_back(total(n->result(i)));
      any |= resultGrads.back().defined();
      if (auto w = nullWhy.find(n->result(i)); w != nullWhy.end()) {
        why = w->second;
        any = true;
      }
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
    if (n->kind() == OpKind::UndefinedGrad && why.empty())
      why = "it flows through undefined_grad" + n->whereCreated();
    if (!why.empty()) { // null gradients stay null
      for (int i = 0; i < n->numOperands(); ++i)
        if (needed[i])
          nullWhy.emplace(n->operand(i), why);
      continue;
    }
    const OpDef &def = opDef(n->kind());
    if (!def.lop && n->kind() != OpKind::OpFromGraph)
      throw TypeError(std::string(what) + ": " + n->name() +
                      " is not differentiable" + n->whereCreated() +
                      "; wrap its operand in disconnected_grad or use "
                      "consider_constant if its gradient is not needed");
    std::vector<Var> operandGrads;
    {
      // The gradient's nodes are located where the node was created.
      LocationScope scope(n->location());
      operandGrads = n->kind() == OpKind::OpFromGraph
                         ? opFromGraphLop(*n, resultGrads, needed)
                         : def.lop(*n, resultGrads);
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
    if (auto why = nullWhy.find(w); why != nullWhy.end()) {
      if (options.nullGradients == NullGradients::Raise)
        throw ValueError(std::string(what) +
                         ": the gradient with respect "
                         "to " +
                         describe(w) + " is undefined: " + why->second +
                         " (pass null_gradients='return_nan' "
                         "to get NaN instead)");
      out.push_back(fill(w, std::numeric_limits<double>::quiet_NaN()));
      continue;
    }
    Var gw = total(w);
    if (!gw.defined() && reached.count(w.node()))
      gw = zerosLike(w);
    if (!gw.defined()) {
      std::string from =
          std::string(what) == "grad" ? "the cost" : "the expressions";
      disconnected(options.disconnectedInputs,
                   std::string(what) + ": " + from + " do" +
                       (from == "the cost" ? "es" : "") + " not depend on " +
                       describe(w) + " (it is disconnected from " + from + ")",
                   "disconnected_inputs");
      if (options.returnDisconnected == ReturnDisconnected::Zero)
        gw = zerosLike(w);
    }
    out.push_back(gw);
  }
  return out;
}

std::vector<Var> grad(const Var &cost, const std::vector<Var> &wrt,
                      const GradOptions &options) {
  std::vector<std::pair<Var, Var>> seeds;
  if (cost.defined()) {
    if (cost.ndim() != 0)
      throw TypeError("grad: cost must be a scalar; got " + cost.type()->str() +
                      "; use jacobian or Lop for a non-scalar expression "
                      "(or sum it)");
    if (!isFloat(cost.dtype()))
      throw TypeError("grad: cost must have a float dtype; got " +
                      std::string(dtypeName(cost.dtype())) +
                      " (cast it to a float type first)");
    seeds.push_back({cost, onesLike(cost)});
  } else if (options.knownGrads.empty()) {
    throw ValueError("grad: the cost is undefined (and no known_grads are "
                     "given)");
  }
  for (const auto &[v, g] : options.knownGrads) {
    if (!v.defined() || !g.defined())
      throw ValueError("grad: a known_grads entry is undefined");
    if (!isFloat(v.dtype()) || !isFloat(g.dtype()))
      throw TypeError("grad: known_grads must map float values to float "
                      "gradients; got " +
                      describe(v) +
                      " and a gradient "
                      "of type " +
                      g.type()->str());
    if (g.ndim() > v.ndim())
      throw TypeError("grad: the known gradient of " + describe(v) +
                      " has type " + g.type()->str() + ", of higher rank");
    seeds.push_back({v, g});
  }
  return backprop(seeds, wrt, options, "grad");
}

Var grad(const Var &cost, const Var &wrt, const GradOptions &options) {
  return grad(cost, std::vector<Var>{wrt}, options)[0];
}

/// Checks that points[i] can stand for values of vars[i]'s type.
static void checkPoints(const char *what, const std::vector<Var> &vars,
                        const std::vector<Var> &points, const char *role) {
  if (vars.size() != points.size())
    throw ValueError(std::string(what) + ": " + std::to_string(vars.size()) +
                     " " + role + " but " + std::to_string(points.size()) +
                     " eval_points");
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].defined() || !points[i].defined())
      throw ValueError(std::string(what) + ": an undefined " + role +
                       " or eval point");
    if (!isFloat(points[i].dtype()) || points[i].ndim() != vars[i].ndim())
      throw TypeError(std::string(what) + ": eval point " + std::to_string(i) +
                      " has type " + points[i].type()->str() + " but " +
                      describe(vars[i]) + " needs a float value of rank " +
                      std::to_string(vars[i].ndim()));
  }
}

std::vector<Var> Lop(const std::vector<Var> &f, const std::vector<Var> &wrt,
                     const std::vector<Var> &evalPoints,
                     const GradOptions &options) {
  checkPoints("Lop", f, evalPoints, "expressions");
  GradOptions o = options;
  for (size_t i = 0; i < f.size(); ++i) {
    if (!isFloat(f[i].dtype()))
      throw TypeError("Lop: " + describe(f[i]) +
                      " is not a float value: it has no gradient");
    o.knownGrads.push_back({f[i], evalPoints[i]});
  }
  return backprop(o.knownGrads, wrt, o, "Lop");
}

/// The R-op of an op_from_graph node: its override, else forward mode
/// through its graph.
static std::vector<Var> opFromGraphRop(const Node &n,
                                       const std::vector<Var> &tangents) {
  const OpGraph &g = *n.attrs().graph;
  size_t declared = g.inputs.size() - g.shared.size();
  std::vector<Var> out;
  if (g.ropOverride) {
    std::vector<Var> args, filled;
    for (size_t i = 0; i < declared; ++i) {
      args.push_back(n.operand((int)i));
      filled.push_back(tangents[i].defined() ? tangents[i]
                                             : zerosLike(n.operand((int)i)));
    }
    out = g.ropOverride(args, filled);
    if ((int)out.size() != n.numResults())
      throw ValueError(g.name + ": the R-op override returned " +
                       std::to_string(out.size()) + " tangents for " +
                       std::to_string(n.numResults()) + " outputs");
    return out;
  }
  std::vector<Var> wrt, points;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    if (tangents[i].defined() && isFloat(g.inputs[i].dtype())) {
      wrt.push_back(g.inputs[i]);
      points.push_back(tangents[i]);
    }
  std::vector<Var> floats;
  for (const Var &o : g.outputs)
    if (isFloat(o.dtype()))
      floats.push_back(o);
  RopOptions o;
  o.disconnectedOutputs = DisconnectedInputs::Ignore;
  o.returnDisconnected = ReturnDisconnected::None;
  std::vector<Var> outer = onOperands(n, Rop(floats, wrt, points, o));
  for (size_t r = 0, k = 0; r < g.outputs.size(); ++r)
    out.push_back(isFloat(g.outputs[r].dtype()) ? outer[k++] : Var());
  return out;
}

std::vector<Var> Rop(const std::vector<Var> &f, const std::vector<Var> &wrt,
                     const std::vector<Var> &evalPoints,
                     const RopOptions &options) {
  checkPoints("Rop", wrt, evalPoints, "wrt variables");
  for (const Var &w : wrt)
    if (!isFloat(w.dtype()))
      throw TypeError("Rop: cannot differentiate with respect to " +
                      describe(w) +
                      ": derivatives are only defined for float values");
  for (const Var &y : f)
    if (!y.defined())
      throw ValueError("Rop: an expression is undefined");
  Graph graph({}, f);
  std::map<Var, Var, VarLess> tangent;
  for (size_t i = 0; i < wrt.size(); ++i) {
    // Put in wrt's shape, which checks it at run time (a ShapeError) and
    // makes the result a function of wrt, as in Theano.
    const Var &v = evalPoints[i];
    tangent[wrt[i]] =
        alloc(v.dtype() == wrt[i].dtype() ? v : cast(v, wrt[i].dtype()),
              sizesOf(wrt[i]));
  }
  for (Node *n : graph.nodes()) {
    if (n->isLeaf())
      continue;
    std::vector<Var> t;
    bool any = false;
    for (const Var &x : n->operands()) {
      auto it = tangent.find(x);
      t.push_back(it == tangent.end() ? Var() : it->second);
      any |= t.back().defined();
    }
    bool floatResult = false;
    for (const TensorType *r : n->resultTypes())
      floatResult |= isFloat(r->dtype());
    if (!any || !floatResult)
      continue;
    const OpDef &def = opDef(n->kind());
    if (!def.rop && n->kind() != OpKind::OpFromGraph)
      throw TypeError("Rop: " + std::string(n->name()) +
                      " is not differentiable" + n->whereCreated());
    std::vector<Var> rt;
    {
      LocationScope scope(n->location());
      rt = n->kind() == OpKind::OpFromGraph ? opFromGraphRop(*n, t)
                                            : def.rop(*n, t);
    }
    for (int r = 0; r < n->numResults() && r < (int)rt.size(); ++r) {
      Var z = n->result(r);
      if (rt[r].defined() && isFloat(z.dtype()) && !tangent.count(z)) {
        LocationScope scope(n->location());
        tangent[z] = fitTangent(rt[r], z);
      }
    }
  }
  std::vector<Var> out;
  for (const Var &y : f) {
    auto it = tangent.find(y);
    if (it != tangent.end()) {
      out.push_back(it->second);
      continue;
    }
    if (!isFloat(y.dtype()))
      throw TypeError("Rop: " + describe(y) +
                      " is not a float value: it has no derivative");
    disconnected(options.disconnectedOutputs,
                 "Rop: " + describe(y) +
                     " does not depend on any wrt "
                     "variable",
                 "disconnected_outputs");
    out.push_back(options.returnDisconnected == ReturnDisconnected::Zero
                      ? zerosLike(y)
                      : Var());
  }
  return out;
}

/// The Jacobian's rows as one batch: reverse mode from a cotangent v,
/// vectorized over v = the rows of the identity.
static std::vector<Var> batchedJacobian(const Var &flat,
                                        const std::vector<Var> &wrt,
                                        const GradOptions &options) {
  Var v = makeInput(flat.type(), "v");
  std::vector<Var> grads = backprop({{flat, v}}, wrt, options, "jacobian");
  Var m = shapeOf(flat, 0);
  Var identity = eye(m, m, 0, flat.dtype());
  std::vector<std::pair<Var, Var>> batch{{v, identity}};
  return vectorizeGraph(grads, batch);
}

/// The number of elements of x when its type knows it, else -1.
static int64_t staticSize(const Var &x) {
  int64_t m = 1;
  for (int i = 0; i < x.ndim(); ++i) {
    if (x.type()->size(i) == TensorType::kUnknown)
      return -1;
    m *= x.type()->size(i);
  }
  return m;
}

/// One reverse pass per row of the expression, flattened: its size must
/// be known.
static std::vector<Var> rowByRowJacobian(const Var &expression, const Var &flat,
                                         const std::vector<Var> &wrt,
                                         const GradOptions &options) {
  int64_t m = staticSize(expression);
  if (m < 0)
    throw ValueError("jacobian: a Jacobian computed row by row needs the "
                     "number of elements of the expression, and " +
                     describe(expression) +
                     " has an unknown size; give it "
                     "a static shape or use vectorize=True");
  std::vector<std::vector<Var>> rows(wrt.size());
  for (int64_t i = 0; i < m; ++i) {
    std::vector<Var> g =
        backprop({{subtensor(flat, {Index::at(i)}),
                   constant(Scalar::fromInt(1, flat.dtype()))}},
                 wrt, options, "jacobian");
    for (size_t j = 0; j < wrt.size(); ++j)
      rows[j].push_back(g[j]);
  }
  std::vector<Var> out;
  for (size_t j = 0; j < wrt.size(); ++j) {
    if (m > 0) {
      out.push_back(stack(rows[j]));
      continue;
    }
    std::vector<Operand> none{int64_t(0)};
    for (const Operand &s : sizesOf(wrt[j]))
      none.push_back(s);
    out.push_back(zeros(none, wrt[j].dtype()));
  }
  return out;
}

static GradOptions gradOptionsOf(const JacobianOptions &options) {
  GradOptions g;
  g.considerConstant = options.considerConstant;
  g.disconnectedInputs = options.disconnectedInputs;
  return g;
}

std::vector<Var> jacobian(const Var &expression, const std::vector<Var> &wrt,
                          const JacobianOptions &options) {
  if (!expression.defined())
    throw ValueError("jacobian: the expression is undefined");
  if (!isFloat(expression.dtype()))
    throw TypeError("jacobian: the expression must have a float dtype; got " +
                    describe(expression) + " (cast it to a float type first)");
  GradOptions g = gradOptionsOf(options);
  if (expression.ndim() == 0)
    return backprop({{expression, onesLike(expression)}}, wrt, g, "jacobian");
  Var flat = expression.ndim() == 1 ? expression : flatten(expression);
  std::vector<Var> rows;
  if (!options.vectorize) {
    rows = rowByRowJacobian(expression, flat, wrt, g);
  } else {
    try {
      rows = batchedJacobian(flat, wrt, g);
    } catch (const NotImplementedError &e) {
      if (staticSize(expression) < 0)
        throw NotImplementedError(
            "jacobian: " + std::string(e.what()) +
            "; the rows cannot be computed one by one either, since " +
            describe(expression) + " has an unknown size");
      rows = rowByRowJacobian(expression, flat, wrt, g);
    }
  }
  if (expression.ndim() == 1)
    return rows;
  std::vector<Var> out;
  for (size_t j = 0; j < wrt.size(); ++j)
    out.push_back(
        reshape(rows[j], concatenate({shape(expression), shape(wrt[j])})));
  return out;
}

Var jacobian(const Var &expression, const Var &wrt,
             const JacobianOptions &options) {
  return jacobian(expression, std::vector<Var>{wrt}, options)[0];
}

std::vector<Var> hessian(const Var &cost, const std::vector<Var> &wrt,
                         const JacobianOptions &options) {
  if (!cost.defined())
    throw ValueError("hessian: the cost is undefined");
  if (cost.ndim() != 0)
    throw TypeError("hessian: cost must be a scalar; got " +
                    cost.type()->str() +
                    "; use jacobian of a gradient for a non-scalar expression");
  if (!isFloat(cost.dtype()))
    throw TypeError("hessian: cost must have a float dtype; got " +
                    describe(cost) + " (cast it to a float type first)");
  GradOptions g = gradOptionsOf(options);
  // A gradient that does not depend on w (a cost linear in w) has a zero
  // Jacobian: the cost's connection to w was checked by grad.
  JacobianOptions second = options;
  second.disconnectedInputs = DisconnectedInputs::Ignore;
  std::vector<Var> out;
  for (const Var &w : wrt)
    out.push_back(jacobian(
        backprop({{cost, onesLike(cost)}}, {w}, g, "hessian")[0], w, second));
  return out;
}

Var hessian(const Var &cost, const Var &wrt, const JacobianOptions &options) {
  return hessian(cost, std::vector<Var>{wrt}, options)[0];
}

} // namespace thjit
