//===- DifferentialTest.cpp - FAST_RUN against REFERENCE ------------------===//
//
// The CPU JIT's correctness net: random graphs over op set v1 (every dtype,
// broadcast patterns, ranks 0 to 6) are compiled in FAST_RUN and REFERENCE
// modes and called with arguments of several shapes and layouts (contiguous,
// Fortran, transposed, reversed, strided, offset, zero-stride, empty, 0-d);
// the results must agree (see DifferentialGen.h for the accuracy classes and
// error bounds), and an error in one mode must be the same error kind in the
// other. Then a few hand-written cases, one per layout class and integer
// corner, with known answers.
//
// Environment:
//   THJIT_DIFF_CASES=N    number of random graphs (default kDefaultGraphs,
//                         each called kMinCalls to kMaxCalls times)
//   THJIT_DIFF_SEED=S     run seed (decimal or 0x hex)
//   THJIT_DIFF_CASE=I     only graph I of the run (what a failure prints)
//   THJIT_DIFF_MODE=M     the mode checked against REFERENCE (FAST_RUN);
//                         SLOPPY checks the error bounds themselves (below)
//   THJIT_DIFF_VERBOSE=1  a summary line; 2: also every graph
//
//===----------------------------------------------------------------------===//
#include "../Ops/OpsTestUtil.h"
#include "DifferentialGen.h"
#include "../Runtime/EmulatedDevice.h"
#include "thjit/Runtime/CUDA.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

using namespace thjit;
using namespace thjit::difftest;
using thjit::test::array;
using thjit::test::ints;
using thjit::test::U;

namespace {

/// Random graphs per run, each with 3-6 outputs and called kMinCalls to
/// kMaxCalls times with new argument shapes and layouts. FAST_RUN compiles
/// each graph once (about 0.2 s with the first JIT): tune here.
constexpr int kDefaultGraphs = 120;
constexpr int kMinCalls = 8, kMaxCalls = 12;
/// The self-check of the error bounds compiles nothing: it runs more.
constexpr int kSloppyGraphs = 600;
constexpr uint64_t kDefaultSeed = 0x5eed7ab1e0d1ffull;
/// How many disagreements one run reports before it stops.
constexpr int kMaxReported = 5;
/// Multiplies every error bound.
constexpr double kSafety = 2;

struct Config {
  uint64_t seed = kDefaultSeed;
  int first = 0;
  int count = kDefaultGraphs;
  int verbose = 0;
  bool isDefault = true;
  std::string mode = "FAST_RUN";
  /// Where the compiled side runs ($THJIT_DIFF_DEVICE): "cpu" or "cuda".
  std::string device = "cpu";
  /// The compiled side reads its inputs from shared variables on `device`
  /// (set before each call), so views and copies of them run there too.
  bool sharedInputs = false;
  bool countGiven = false; ///< THJIT_DIFF_CASES or THJIT_DIFF_CASE set
};

Config configFromEnv() {
  Config c;
  if (const char *s = std::getenv("THJIT_DIFF_CASES"); s && *s) {
    c.count = std::max(0, std::atoi(s));
    c.isDefault &= c.count >= kDefaultGraphs;
    c.countGiven = true;
  }
  if (const char *s = std::getenv("THJIT_DIFF_SEED"); s && *s) {
    c.seed = std::strtoull(s, nullptr, 0);
    c.isDefault &= c.seed == kDefaultSeed;
  }
  if (const char *s = std::getenv("THJIT_DIFF_CASE"); s && *s) {
    c.first = std::atoi(s);
    c.count = 1;
    c.isDefault = false;
    c.countGiven = true;
  }
  if (const char *s = std::getenv("THJIT_DIFF_MODE"); s && *s)
    c.mode = s;
  if (const char *s = std::getenv("THJIT_DIFF_DEVICE"); s && *s)
    c.device = s;
  if (const char *s = std::getenv("THJIT_DIFF_VERBOSE"); s && *s)
    c.verbose = std::atoi(s);
  return c;
}

// ---- Calls and comparisons ------------------------------------------------------

struct Outcome {
  std::vector<NDArray> values;
  std::string kind; ///< the Error kind; empty when the call succeeded
  std::string message;
  bool foreign = false; ///< not a thjit::Error
};

Outcome call(const Function &f, const std::vector<NDArray> &args) {
  Outcome o;
  try {
    o.values = f(args);
  } catch (const Error &e) {
    o.kind = e.kind();
    o.message = e.what();
  } catch (const std::exception &e) {
    o.kind = "std::exception";
    o.message = e.what();
    o.foreign = true;
  }
  return o;
}

struct Totals {
  int graphs = 0, calls = 0, errorCalls = 0, outputs = 0;
  long exactElems = 0, boundedElems = 0, looseElems = 0, uncheckedElems = 0;
  std::map<std::string, int> ops, errorKinds, inputDTypes, layouts;
};

std::string indexStr(int64_t flat, const Shape &shape) {
  Shape idx(shape.size());
  for (int i = (int)shape.size() - 1; i >= 0; --i) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  std::string s = "(";
  for (size_t i = 0; i < idx.size(); ++i)
    s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + (idx.size() == 1 ? ",)" : ")");
}

std::string num(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

/// Where `got` differs from `want` beyond what `acc` (and the bound `err`)
/// allows; empty when they agree.
std::string compare(const NDArray &got, const NDArray &want, Acc acc,
                    const NDArray &err, double looseTol, Totals &tot) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtypeName(got.dtype()) + ", want " +
           dtypeName(want.dtype());
  if (got.shape() != want.shape())
    return "shape " + formatShape(got.shape()) + ", want " +
           formatShape(want.shape());
  DType t = want.dtype();
  NDArray bound;
  if (acc == Acc::Bounded) {
    try {
      bound = err.broadcastTo(want.shape());
    } catch (const Error &e) {
      return std::string("(test bug) the error bound of shape ") +
             formatShape(err.shape()) + " does not fit: " + e.what();
    }
  }
  double scale = 0; // Loose: the largest finite magnitude
  if (acc == Acc::Loose)
    for (int64_t i = 0; i < want.size(); ++i) {
      double m = std::abs(want.flatAt(i).toComplex());
      if (std::isfinite(m))
        scale = std::max(scale, m);
    }
  std::string bad;
  int shown = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    Scalar g = got.flatAt(i), w = want.flatAt(i);
    bool ok = true;
    std::string extra;
    if (isBool(t)) {
      ok = g.toBool() == w.toBool();
      ++tot.exactElems;
    } else if (isSignedInt(t)) {
      ok = g.toInt() == w.toInt();
      ++tot.exactElems;
    } else if (isUnsignedInt(t)) {
      ok = g.toUInt() == w.toUInt();
      ++tot.exactElems;
    } else {
      std::complex<double> gc = g.toComplex(), wc = w.toComplex();
      auto same = [](double a, double b) {
        return a == b || (std::isnan(a) && std::isnan(b));
      };
      bool identical = same(gc.real(), wc.real()) && same(gc.imag(), wc.imag());
      if (acc == Acc::Exact) {
        ok = identical;
        ++tot.exactElems;
      } else if (acc == Acc::Bounded) {
        double e = bound.flatAt(i).toDouble();
        if (!std::isfinite(e)) {
          ++tot.uncheckedElems;
          continue;
        }
        ++tot.boundedElems;
        bool anyNan = std::isnan(gc.real()) || std::isnan(gc.imag()) ||
                      std::isnan(wc.real()) || std::isnan(wc.imag());
        ok = identical || (!anyNan && std::abs(gc - wc) <= kSafety * e);
        extra = ", bound " + num(kSafety * e);
      } else {
        bool finite = std::isfinite(gc.real()) && std::isfinite(gc.imag()) &&
                      std::isfinite(wc.real()) && std::isfinite(wc.imag());
        if (!finite) {
          ++tot.uncheckedElems;
          continue;
        }
        ++tot.looseElems;
        double tol = looseTol * (std::abs(wc) + scale + 1);
        ok = std::abs(gc - wc) <= tol;
        extra = ", loose tolerance " + num(tol);
      }
    }
    if (!ok && shown++ < 4)
      bad += "\n      at " + indexStr(i, want.shape()) + ": got " + g.str() +
             ", want " + w.str() + extra;
  }
  if (bad.empty())
    return "";
  return std::to_string(shown) + " element(s) differ" + bad;
}

bool sameBits(const NDArray &a, const NDArray &b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return false;
  NDArray x = a.copy(), y = b.copy();
  return std::memcmp(x.data(), y.data(), x.nbytes()) == 0;
}

std::string describeArgs(const Function &f, const Generator::Call &c) {
  std::ostringstream o;
  for (size_t i = 0; i < c.args.size(); ++i) {
    const NDArray &a = c.args[i];
    const Var &in = f.inputs()[i];
    o << "    " << in.name() << " : " << in.type()->str() << " <- "
      << dtypeName(a.dtype()) << " shape " << formatShape(a.shape())
      << " strides " << formatShape(a.strides()) << " [" << c.layouts[i]
      << "]\n      " << a.repr() << "\n";
  }
  return o.str();
}

// ---- A sloppy evaluator: checks the error bounds themselves ------------------------
//
// The reference kernels, with every inexact operation perturbed as much as an
// accurate JIT may legitimately differ: transcendental results by up to 2
// ulps, the terms of sums, products and dots by up to n ulps each (as another
// summation order or float32 accumulation would), softmax by n ulps. Its
// results must lie within the bounds, and exact outputs must not move.

bool isTranscendental(OpKind k) {
  switch (k) {
  case OpKind::Exp:
  case OpKind::Exp2:
  case OpKind::Expm1:
  case OpKind::Log:
  case OpKind::Log2:
  case OpKind::Log10:
  case OpKind::Log1p:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::Tan:
  case OpKind::Arcsin:
  case OpKind::Arccos:
  case OpKind::Arctan:
  case OpKind::Sinh:
  case OpKind::Cosh:
  case OpKind::Tanh:
  case OpKind::Arcsinh:
  case OpKind::Arccosh:
  case OpKind::Arctanh:
  case OpKind::Erf:
  case OpKind::Erfc:
  case OpKind::Sigmoid:
  case OpKind::Softplus:
  case OpKind::Pow:
  case OpKind::Arctan2:
    return true;
  default:
    return false;
  }
}

Shape flatIndex(int64_t flat, const Shape &shape) {
  Shape idx(shape.size());
  for (int i = (int)shape.size() - 1; i >= 0; --i) {
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}

/// a with each element multiplied by (1 + x), x uniform in [-rel, rel].
NDArray perturb(const NDArray &a, double rel, Rng &r) {
  if (!isInexact(a.dtype()) || rel == 0)
    return a;
  NDArray out = a.copy();
  for (int64_t i = 0; i < a.size(); ++i) {
    std::complex<double> x = a.flatAt(i).toComplex();
    std::complex<double> y = x * (1 + (2 * r.unit() - 1) * rel);
    Scalar z = isComplex(a.dtype()) ? Scalar(y).cast(a.dtype())
                                    : Scalar(y.real()).cast(a.dtype());
    // Rounding errors of products and sums, modelled here on their
    // operands, do not make a finite operand infinite.
    std::complex<double> zc = z.toComplex();
    if (std::isfinite(std::abs(x)) &&
        !(std::isfinite(zc.real()) && std::isfinite(zc.imag())))
      continue;
    out.setAt(flatIndex(i, out.shape()), z);
  }
  return out;
}

std::vector<NDArray> sloppyEvaluate(const Function &f,
                                    const std::vector<NDArray> &args, Rng &r) {
  const Graph &g = f.graph();
  std::map<const Node *, std::vector<NDArray>> values;
  for (size_t i = 0; i < g.inputs().size(); ++i)
    values[g.inputs()[i].node()] = {f.convertArgument(i, args[i])};
  for (const Node *n : g.nodes()) {
    if (n->kind() == OpKind::Input)
      continue;
    if (n->kind() == OpKind::Constant || n->kind() == OpKind::Shared) {
      values[n] = {n->kind() == OpKind::Constant
                       ? n->constantValue()
                       : n->sharedStorage()->get()};
      continue;
    }
    std::vector<NDArray> ops;
    for (const Var &v : n->operands())
      ops.push_back(values.at(v.node())[v.index()]);
    DType t = n->resultTypes()[0]->dtype();
    double u = unitRoundoff(t);
    OpKind k = n->kind();
    bool complexArith = isComplex(t) && opFamily(k) == OpFamily::Elemwise &&
                        k != OpKind::Add && k != OpKind::Sub &&
                        k != OpKind::Neg && k != OpKind::Switch &&
                        k != OpKind::Cast;
    bool product = k == OpKind::Dot || k == OpKind::TensorDot ||
                   k == OpKind::BatchedDot;
    if (isInexact(t) && (k == OpKind::Sum || k == OpKind::Prod || product)) {
      // The reduced length: the operand's size over the result's (or, for
      // products, the contracted length).
      int64_t len = 1;
      if (k == OpKind::TensorDot) {
        for (size_t i = 0; i < n->attrs().axes.size() / 2; ++i)
          len *= ops[0].dim(n->attrs().axes[i]);
      } else if (product) {
        len = ops[0].dim(ops[0].ndim() - 1);
      } else {
        for (int a : n->attrs().axes)
          len *= ops[0].dim(a);
      }
      // Each term of a sum (or dot) by n ulps, each factor of a product by
      // one: the error of any order of evaluation.
      for (size_t i = 0; i < (product ? 2u : 1u); ++i)
        ops[i] = perturb(ops[i], k == OpKind::Prod ? 2 * u : (double)len * u, r);
    }
    std::vector<NDArray> res = evaluateNode(*n, ops);
    if ((isFloat(t) && isTranscendental(k)) || complexArith)
      res[0] = perturb(res[0], 4 * u, r);
    if (isFloat(t) && (k == OpKind::Softmax || k == OpKind::LogSoftmax)) {
      int64_t len = ops[0].dim(ops[0].ndim() - 1);
      res[0] = perturb(res[0], (double)(len + 2) * u, r);
    }
    values[n] = res;
  }
  std::vector<NDArray> out;
  for (size_t i = 0; i < f.numOutputs(); ++i) {
    const Var &o = g.outputs()[i];
    out.push_back(values.at(o.node())[o.index()]);
  }
  return out;
}

/// The error kinds the nodes of f's graph raise on these arguments, each
/// evaluated when its operands could be: a call with several failing nodes
/// may raise any of them, depending on the order of evaluation.
std::set<std::string> possibleErrors(const Function &f,
                                     const std::vector<NDArray> &args) {
  std::set<std::string> kinds;
  const Graph &g = f.graph();
  std::map<const Node *, std::vector<NDArray>> values;
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    try {
      values[g.inputs()[i].node()] = {f.convertArgument(i, args[i])};
    } catch (const Error &e) {
      kinds.insert(e.kind());
    }
  }
  for (const Node *n : g.nodes()) {
    if (n->kind() == OpKind::Input)
      continue;
    if (n->kind() == OpKind::Constant || n->kind() == OpKind::Shared) {
      values[n] = {n->kind() == OpKind::Constant
                       ? n->constantValue()
                       : n->sharedStorage()->get()};
      continue;
    }
    std::vector<NDArray> ops;
    bool ready = true;
    for (const Var &v : n->operands()) {
      auto it = values.find(v.node());
      if (it == values.end()) {
        ready = false;
        break;
      }
      ops.push_back(it->second[v.index()]);
    }
    if (!ready)
      continue;
    try {
      values[n] = evaluateNode(*n, ops);
    } catch (const Error &e) {
      kinds.insert(e.kind());
    }
  }
  return kinds;
}

// ---- One random case ---------------------------------------------------------------

/// Generates graph `index` of the run, compiles it in both modes and calls it
/// with several argument sets; returns the failures' descriptions.
std::vector<std::string> runCase(const Config &cfg, int index, GenStats &gs,
                                 Totals &tot) {
  std::vector<std::string> failures;
  Rng rng(caseSeed(cfg.seed, (uint64_t)index));
  Generator gen(rng, gs, caseSeed(cfg.seed ^ 0xad7a9ced1dull, (uint64_t)index));
  gen.generate();
  std::vector<Var> outs, errs;
  std::vector<Acc> accs;
  std::vector<double> tols;
  std::vector<int> errOf; // output -> index into errs, or -1
  for (int i : gen.outputs) {
    const Entry &e = gen.pool[i];
    outs.push_back(e.v);
    accs.push_back(e.acc);
    tols.push_back(e.tol);
    errOf.push_back(e.acc == Acc::Bounded ? (int)errs.size() : -1);
    if (e.acc == Acc::Bounded)
      errs.push_back(e.err);
  }
  if (outs.empty())
    return failures;
  ++tot.graphs;

  std::ostringstream where;
  where << "reproduce with THJIT_DIFF_SEED=0x" << std::hex << cfg.seed
        << std::dec << " THJIT_DIFF_CASE=" << index;
  if (cfg.mode != "FAST_RUN")
    where << " THJIT_DIFF_MODE=" << cfg.mode;
  if (cfg.device != "cpu")
    where << " THJIT_DIFF_DEVICE=" << cfg.device;
  auto header = [&](const std::string &what) {
    std::ostringstream o;
    o << "differential case " << index << ": " << what << "\n  " << where.str()
      << "\n";
    return o.str();
  };

  FunctionOptions opts;
  opts.onUnusedInput = OnUnusedInput::Ignore;
  opts.name = "case" + std::to_string(index);
  Function fast, ref, bounds;
  std::vector<Var> shareds; // cfg.sharedInputs: fast's inputs
  try {
    opts.mode = "REFERENCE";
    ref = function(gen.inputs, outs, opts);
    if (!errs.empty())
      bounds = function(gen.inputs, errs, opts);
  } catch (const std::exception &e) {
    failures.push_back(header(std::string("(test bug) REFERENCE compile "
                                          "failed: ") +
                              e.what()));
    return failures;
  }
  bool sloppy = cfg.mode == "SLOPPY";
  Rng noise(caseSeed(cfg.seed ^ 0x51077ull, (uint64_t)index));
  try {
    opts.mode = sloppy ? "REFERENCE" : cfg.mode;
    opts.device = sloppy ? "cpu" : cfg.device;
    if (cfg.sharedInputs) {
      for (const Var &in : gen.inputs) { // of the input's type, static sizes included
        Shape start;
        for (int64_t d : in.type()->shape())
          start.push_back(d == TensorType::kUnknown ? 1 : d);
        shareds.push_back(makeShared(NDArray::zeros(in.dtype(), start), in.type(),
                                     in.name() + "_shared", cfg.device));
        opts.givens.push_back({in, shareds.back()});
      }
      fast = function({}, outs, opts);
    } else {
      fast = function(gen.inputs, outs, opts);
    }
  } catch (const std::exception &e) {
    failures.push_back(header(cfg.mode + " compile failed: " +
                              e.what()) +
                       "  graph:\n" + ref.str());
    return failures;
  }
  for (const Node *n : fast.graph().nodes()) {
    tot.ops[n->name()]++;
    if (n->kind() == OpKind::Composite) // the ops a fused loop computes
      for (const ScalarProgram::Op &op : n->attrs().program->ops)
        tot.ops[opName(op.kind)]++;
  }
  for (const Var &in : gen.inputs)
    tot.inputDTypes[dtypeName(in.dtype())]++;

  std::string outList;
  for (size_t i = 0; i < outs.size(); ++i)
    outList += "    output " + std::to_string(i) + ": " + outs[i].type()->str() +
               ", " + accName(accs[i]) + "\n";
  if (cfg.verbose >= 2)
    std::cerr << "case " << index << ":\n" << fast.str() << "\n" << outList;

  int numCalls = (int)rng.range(kMinCalls, kMaxCalls);
  for (int c = 0; c < numCalls && failures.empty(); ++c) {
    Generator::Call args = gen.makeCall(rng, c == 0 && rng.chance(0.4));
    ++tot.calls;
    for (const std::string &l : args.layouts)
      tot.layouts[l.substr(0, l.find_first_of("( "))]++;
    std::vector<NDArray> saved;
    for (const NDArray &a : args.args)
      saved.push_back(a.copy());
    auto fail = [&](const std::string &what) {
      failures.push_back(header(what + " (call " + std::to_string(c) + ")") +
                         "  graph:\n" + fast.str() + "\n" + outList +
                         "  arguments:\n" + describeArgs(ref, args));
    };
    Outcome got;
    if (sloppy) {
      try {
        got.values = sloppyEvaluate(fast, args.args, noise);
      } catch (const Error &e) {
        got.kind = e.kind();
        got.message = e.what();
      }
    } else if (cfg.sharedInputs) {
      try {
        for (size_t i = 0; i < shareds.size(); ++i)
          shareds[i].setValue(args.args[i]);
      } catch (const Error &) {
        continue; // an argument its shared variable's type does not take
      }
      got = call(fast, {});
    } else {
      got = call(fast, args.args);
    }
    bool modified = false;
    for (size_t i = 0; i < saved.size(); ++i)
      if (!sameBits(saved[i], args.args[i])) {
        fail(cfg.mode + " modified argument " + std::to_string(i));
        modified = true;
      }
    if (modified)
      continue;
    Outcome want = call(ref, args.args);
    if (want.foreign) {
      fail("REFERENCE threw a non-thjit exception: " + want.message);
      continue;
    }
    if (got.kind != want.kind && !got.kind.empty() && !want.kind.empty() &&
        possibleErrors(ref, args.args).count(got.kind)) {
      ++tot.errorCalls; // another failing node first: fine
      tot.errorKinds[want.kind + "/" + got.kind]++;
      continue;
    }
    if (got.kind != want.kind) {
      fail(cfg.mode + " " +
           (got.kind.empty() ? std::string("succeeded")
                             : "raised " + got.kind + " (" + got.message + ")") +
           " but REFERENCE " +
           (want.kind.empty() ? std::string("succeeded")
                              : "raised " + want.kind + " (" + want.message +
                                    ")"));
      continue;
    }
    if (!want.kind.empty()) {
      ++tot.errorCalls;
      tot.errorKinds[want.kind]++;
      continue;
    }
    Outcome bnd;
    if (!errs.empty()) {
      bnd = call(bounds, args.args);
      if (!bnd.kind.empty()) {
        fail("(test bug) the error bounds raised " + bnd.kind + ": " +
             bnd.message);
        continue;
      }
    }
    if (got.values.size() != want.values.size()) {
      fail(cfg.mode + " returned " + std::to_string(got.values.size()) +
           " outputs, REFERENCE " + std::to_string(want.values.size()));
      continue;
    }
    // Results own their memory (the Runtime's promise).
    for (size_t i = 0; i < got.values.size() && !sloppy; ++i) {
      for (size_t j = 0; j < args.args.size(); ++j)
        if (got.values[i].size() && args.args[j].size() &&
            got.values[i].mayShareMemory(args.args[j]))
          fail("output " + std::to_string(i) + " shares memory with argument " +
               std::to_string(j));
      for (size_t j = 0; j < i; ++j)
        if (got.values[i].size() && got.values[j].size() &&
            got.values[i].mayShareMemory(got.values[j]))
          fail("outputs " + std::to_string(j) + " and " + std::to_string(i) +
               " share memory");
    }
    std::string diffs;
    for (size_t i = 0; i < outs.size(); ++i) {
      ++tot.outputs;
      NDArray err = errOf[i] >= 0 ? bnd.values[errOf[i]] : NDArray();
      std::string d = compare(got.values[i], want.values[i], accs[i], err,
                              tols[i], tot);
      if (d.empty())
        continue;
      diffs += "\n    output " + std::to_string(i) + " (" + accName(accs[i]) +
               "): " + d + "\n      " + cfg.mode + ": " +
               got.values[i].repr() +
               "\n      REFERENCE: " + want.values[i].repr();
      if (errOf[i] >= 0)
        diffs += "\n      bound:     " + err.repr();
    }
    if (!diffs.empty())
      fail("results differ:" + diffs + "\n");
  }
  return failures;
}

std::string summary(const Totals &t, const GenStats &gs, double seconds) {
  std::ostringstream o;
  o << t.graphs << " graphs, " << t.calls << " calls (" << t.errorCalls
    << " raising";
  for (const auto &[k, n] : t.errorKinds)
    o << " " << k << ":" << n;
  o << "), " << t.outputs << " outputs compared; elements: " << t.exactElems
    << " exact, " << t.boundedElems << " bounded, " << t.looseElems
    << " loose, " << t.uncheckedElems << " unbounded; " << gs.buildRejects
    << " random ops rejected at build; " << seconds << " s";
  return o.str();
}

} // namespace

namespace {

/// Runs the random cases of `cfg`; `checkCoverage` for the main run.
void runRandom(const Config &cfg, bool checkCoverage) {
  Totals tot;
  GenStats gs;
  int reported = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = cfg.first; i < cfg.first + cfg.count && reported < kMaxReported;
       ++i) {
    // Reported if the case crashes.
    INFO("differential case " << i << ": reproduce with THJIT_DIFF_SEED=0x"
                              << std::hex << cfg.seed << std::dec
                              << " THJIT_DIFF_CASE=" << i);
    for (const std::string &f : runCase(cfg, i, gs, tot))
      if (reported++ < kMaxReported)
        FAIL_CHECK(f);
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  std::string sum = summary(tot, gs, seconds);
  if (cfg.verbose >= 1) {
    std::cerr << "differential (" << cfg.mode << "): " << sum << "\nops:";
    for (const auto &[k, n] : tot.ops)
      std::cerr << " " << k << ":" << n;
    std::cerr << "\ninput dtypes:";
    for (const auto &[k, n] : tot.inputDTypes)
      std::cerr << " " << k << ":" << n;
    std::cerr << "\nlayouts:";
    for (const auto &[k, n] : tot.layouts)
      std::cerr << " " << k << ":" << n;
    std::cerr << "\n";
  }
  INFO(sum);
  INFO("first error-bound construction failure: " << gs.firstBoundError);
  CHECK(gs.boundErrors == 0);

  // The default run must exercise every op, dtype and layout class, so that
  // the generator cannot quietly lose coverage.
  if (checkCoverage && cfg.isDefault && reported == 0) {
    std::vector<std::string> missing;
    for (int k = 0; k < kNumOpKinds; ++k) {
      std::string name = opName((OpKind)k);
      // Composite nodes come from fuse(); unittests/Runtime/JitTest.cpp
      // checks them until the fusion pass makes them in every graph.
      // Transfers come from the GPU transfer pass (the [gpu] run below),
      // which runs after every op_from_graph is inlined.
      if (k == (int)OpKind::OpFromGraph && cfg.device == "cuda")
        continue;
      if (name == "shared" || name == "constant" || name == "split" ||
          name == "input" || name == "composite" ||
          isTransfer((OpKind)k))
        continue;
      if (!tot.ops.count(name))
        missing.push_back(name);
    }
    for (DType t : realDTypes())
      if (!tot.inputDTypes.count(dtypeName(t)))
        missing.push_back(dtypeName(t));
    for (const char *l : {"C", "F", "perm", "reversed", "strided", "offset",
                          "from"})
      if (!tot.layouts.count(l))
        missing.push_back(std::string("layout ") + l);
    INFO("never generated: " << join(missing, ", "));
    CHECK(missing.empty());
    // Most calls must succeed, or the comparisons test little.
    CHECK(tot.errorCalls * 4 < tot.calls);
  }
}

} // namespace

TEST_CASE("FAST_RUN agrees with REFERENCE on random graphs",
          "[differential]") {
  runRandom(configFromEnv(), true);
}

// The same graphs and arguments on the GPU (the kernels of the steps that
// have them, the host for the rest, transfers between).
TEST_CASE("FAST_RUN on the GPU agrees with REFERENCE on random graphs",
          "[differential][gpu]") {
  if (!test::gpuAvailable())
    return;
  Config cfg = configFromEnv();
  cfg.device = "cuda";
  runRandom(cfg, true);
  if (test::gpuEmulated()) {
    std::map<std::string, int> launches = test::emulatedLaunches();
    std::ostringstream counts;
    for (auto [what, n] : launches)
      counts << what << ':' << n << ' ';
    INFO("kernels launched: " << counts.str());
    for (const char *kind : {"contiguous", "strided", "rows", "cols", "small", "copy", "take"})
      CHECK(launches[kind] > 0);
  }
}

// The same with the arguments in GPU memory (shared variables there): what
// indexes, reshapes or joins them runs on the GPU too.
TEST_CASE("FAST_RUN on the GPU with its inputs there agrees with REFERENCE",
          "[differential][gpu]") {
  if (!test::gpuAvailable())
    return;
  Config cfg = configFromEnv();
  cfg.device = "cuda";
  cfg.sharedInputs = true;
  const std::map<std::string, int> before = test::emulatedLaunches();
  runRandom(cfg, false);
  if (test::gpuEmulated()) {
    std::map<std::string, int> launches = test::emulatedLaunches();
    std::ostringstream counts;
    for (auto [what, n] : launches)
      counts << what << ':' << n - (before.count(what) ? before.at(what) : 0) << ' ';
    INFO("kernels launched: " << counts.str());
    for (const char *kind : {"contiguous", "strided", "copy", "take", "put", "scatter"})
      CHECK(launches[kind] > (before.count(kind) ? before.at(kind) : 0));
  }
}

// The harness checking itself: the REFERENCE kernels with every inexact
// operation perturbed as an accurate JIT may differ (see sloppyEvaluate)
// must stay within the error bounds, and exact outputs must not move.
TEST_CASE("differential: the error bounds cover legitimate differences",
          "[differential]") {
  Config cfg = configFromEnv();
  cfg.mode = "SLOPPY";
  if (!cfg.countGiven)
    cfg.count = kSloppyGraphs;
  runRandom(cfg, false);
}

// ---- Hand-written cases: one per layout class and integer corner -------------------

namespace {

/// Calls the function in FAST_RUN and REFERENCE modes; both must give `want`
/// exactly (dtype, shape and values; NaN matches NaN).
void checkBoth(const std::vector<Var> &ins, const std::vector<Var> &outs,
               const std::vector<NDArray> &args,
               const std::vector<NDArray> &want) {
  for (const char *mode : {"FAST_RUN", "REFERENCE"}) {
    FunctionOptions opts;
    opts.mode = mode;
    opts.onUnusedInput = OnUnusedInput::Ignore;
    Function f = function(ins, outs, opts);
    std::vector<NDArray> got = f(args);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      Totals tot;
      std::string d = compare(got[i], want[i], Acc::Exact, NDArray(), 0, tot);
      INFO(mode << " output " << i << ": " << got[i].repr() << "\nwant "
                << want[i].repr());
      CHECK(d == "");
    }
  }
}

/// Both modes raise the same error kind.
template <class E>
void checkBothThrow(const std::vector<Var> &ins, const std::vector<Var> &outs,
                    const std::vector<NDArray> &args) {
  for (const char *mode : {"FAST_RUN", "REFERENCE"}) {
    FunctionOptions opts;
    opts.mode = mode;
    opts.onUnusedInput = OnUnusedInput::Ignore;
    Function f = function(ins, outs, opts);
    INFO(mode);
    CHECK_THROWS_AS(f(args), E);
  }
}

/// The messages of the ShapeError both modes raise, FAST_RUN's first.
std::vector<std::string> shapeErrorMessages(const std::vector<Var> &ins,
                                            const std::vector<Var> &outs,
                                            const std::vector<NDArray> &args) {
  std::vector<std::string> messages;
  for (const char *mode : {"FAST_RUN", "REFERENCE"}) {
    FunctionOptions opts;
    opts.mode = mode;
    try {
      function(ins, outs, opts)(args);
      FAIL(mode << ": no error");
    } catch (const ShapeError &e) {
      messages.push_back(e.what());
    }
  }
  return messages;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

} // namespace

// Only exactly computed values below (small integers in floats): both modes
// must give the same bits.

TEST_CASE("differential: a transposed operand", "[differential]") {
  Var x = matrix("x", DType::Float32), y = matrix("y", DType::Float32);
  NDArray xs = array(DType::Float32, {3, 2}, {0, 1, 2, 3, 4, 5}).transpose();
  REQUIRE(xs.strides() == Shape{1, 2});
  NDArray ys = array(DType::Float32, {2, 3}, {10, 20, 30, 40, 50, 60});
  checkBoth({x, y}, {x * 2.0 + y, sum(x, 0), dot(x, transpose(x)),
                  subtensor(x, {Index::at(1)})},
            {xs, ys},
            {array(DType::Float32, {2, 3}, {10, 24, 38, 42, 56, 70}),
             array(DType::Float32, {3}, {1, 5, 9}),
             array(DType::Float32, {2, 2}, {20, 26, 26, 35}),
             array(DType::Float32, {3}, {1, 3, 5})});
}

TEST_CASE("differential: a negative-stride operand", "[differential]") {
  Var x = vector("x", DType::Int32);
  NDArray xs = ints(DType::Int32, {5}, {1, 2, 3, 4, 5}).slice(0, 4, -1, -1);
  REQUIRE(xs.strides() == Shape{-1});
  Var rev = subtensor(x, {Index::slice({}, {}, -1)});
  Var every2 = subtensor(x, {Index::slice({}, {}, 2)});
  checkBoth({x}, {x * 10 + 1, every2, argmax(x), x - rev, sum(x)},
            {xs},
            {ints(DType::Int32, {5}, {51, 41, 31, 21, 11}),
             ints(DType::Int32, {3}, {5, 3, 1}),
             ints(DType::Int64, {}, {0}),
             ints(DType::Int32, {5}, {4, 2, 0, -2, -4}),
             ints(DType::Int64, {}, {15})});
  Var m = matrix("m", DType::Float64);
  NDArray ms = test::iota(DType::Float64, {2, 3}).slice(0, 1, -1, -1);
  checkBoth({m}, {sum(m, 1), subtensor(m, {Index::all(), Index::slice({}, {}, -1)})},
            {ms},
            {array(DType::Float64, {2}, {12, 3}),
             array(DType::Float64, {2, 3}, {5, 4, 3, 2, 1, 0})});
}

TEST_CASE("differential: a 0-d operand", "[differential]") {
  Var s = scalar("s", DType::Float64), m = matrix("m", DType::Float64);
  Var n = scalar("n", DType::Int8);
  // The 0-d argument is a view into a larger buffer (an unaligned pointer).
  NDArray base = array(DType::Float64, {3}, {0, 2.5, 0});
  checkBoth({s, m, n}, {s * m, s + s, -n, n * m, sum(s)},
            {base.select(0, 1), array(DType::Float64, {2, 2}, {1, 2, 3, 4}),
             ints(DType::Int8, {}, {-128})},
            {array(DType::Float64, {2, 2}, {2.5, 5, 7.5, 10}),
             array(DType::Float64, {}, {5}),
             ints(DType::Int8, {}, {-128}),
             array(DType::Float64, {2, 2}, {-128, -256, -384, -512}),
             array(DType::Float64, {}, {2.5})});
}

TEST_CASE("differential: an empty operand", "[differential]") {
  Var x = matrix("x", DType::Float32);
  NDArray xs = NDArray::zeros(DType::Float32, {0, 3});
  checkBoth({x}, {sum(x, 0), prod(x, 0), x * 2.0, max(x, 1), mean(x, 0),
                  sum(x), dot(transpose(x), x)},
            {xs},
            {array(DType::Float32, {3}, {0, 0, 0}),
             array(DType::Float32, {3}, {1, 1, 1}),
             NDArray::zeros(DType::Float32, {0, 3}),
             NDArray::zeros(DType::Float32, {0}),
             array(DType::Float32, {3}, {kNaN, kNaN, kNaN}),
             array(DType::Float32, {}, {0}),
             array(DType::Float32, {3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0})});
  // max over the empty axis has no identity: a ValueError in both modes.
  checkBothThrow<ValueError>({x}, {max(x, 0)}, {xs});
}

TEST_CASE("differential: a rank-6 operand", "[differential]") {
  Var x = tensor(DType::Float32, {U, U, U, U, U, U}, "x");
  Var y = tensor(DType::Float32, {1, U, 1, U, 1, U}, "y");
  Shape shape{2, 1, 3, 1, 2, 2};
  // x is stored with its axes reversed: no axis is contiguous.
  NDArray xs = test::transposedView(test::iota(DType::Float32, shape));
  NDArray ys = array(DType::Float32, {1, 1, 1, 1, 1, 2}, {10, 20});
  std::vector<double> plus, sums;
  for (int i = 0; i < 24; ++i)
    plus.push_back(i + (i % 2 ? 20 : 10));
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c)
        sums.push_back(2 * (a * 12 + b * 4 + c * 2) + 1);
  checkBoth({x, y}, {x + y, sum(x, {1, 3, 5}), subtensor(transpose(x), {Index::at(0)})},
            {xs, ys},
            {array(DType::Float32, shape, plus),
             array(DType::Float32, {2, 3, 2}, sums),
             array(DType::Float32, {2, 1, 3, 1, 2},
                   {0, 12, 4, 16, 8, 20, 2, 14, 6, 18, 10, 22})});
}

TEST_CASE("differential: integer division by zero and INT_MIN // -1",
          "[differential]") {
  Var a = vector("a", DType::Int8), b = vector("b", DType::Int8);
  checkBoth({a, b}, {floorDiv(a, b), mod(a, b)},
            {ints(DType::Int8, {6}, {7, -7, -128, 5, -128, 0}),
             ints(DType::Int8, {6}, {0, 0, -1, 2, 0, -3})},
            {ints(DType::Int8, {6}, {0, 0, -128, 2, 0, 0}),
             ints(DType::Int8, {6}, {0, 0, 0, 1, 0, 0})});
  Var c = vector("c", DType::Int64), d = vector("d", DType::Int64);
  int64_t lo = std::numeric_limits<int64_t>::min();
  checkBoth({c, d}, {floorDiv(c, d), mod(c, d), trueDiv(c, d)},
            {ints(DType::Int64, {4}, {lo, 9, -9, 0}),
             ints(DType::Int64, {4}, {-1, 0, 4, 0})},
            {ints(DType::Int64, {4}, {lo, 0, -3, 0}),
             ints(DType::Int64, {4}, {0, 0, 3, 0}),
             array(DType::Float64, {4}, {0x1p63, test::kInf, -2.25, kNaN})});
  Var e = vector("e", DType::UInt8), f = vector("f", DType::UInt8);
  checkBoth({e, f}, {floorDiv(e, f), mod(e, f)},
            {ints(DType::UInt8, {2}, {200, 7}), ints(DType::UInt8, {2}, {0, 2})},
            {ints(DType::UInt8, {2}, {0, 3}), ints(DType::UInt8, {2}, {0, 1})});
  // Signed integers to negative integer powers: a ValueError in both modes.
  checkBothThrow<ValueError>({c, d}, {pow(c, d)},
                             {ints(DType::Int64, {2}, {2, 3}),
                              ints(DType::Int64, {2}, {1, -1})});
}

TEST_CASE("differential: integer wrap-around", "[differential]") {
  Var a = vector("a", DType::Int8), u = vector("u", DType::UInt8);
  Var w = vector("w", DType::Int32);
  checkBoth({a, u, w}, {a + 1, -a, abs(a), u - 1, w * w, sum(a), prod(w)},
            {ints(DType::Int8, {2}, {127, -128}), ints(DType::UInt8, {1}, {0}),
             ints(DType::Int32, {2}, {65536, 65536})},
            {ints(DType::Int8, {2}, {-128, -127}),
             ints(DType::Int8, {2}, {-127, -128}),
             ints(DType::Int8, {2}, {127, -128}),
             ints(DType::UInt8, {1}, {255}),
             ints(DType::Int32, {2}, {0, 0}),
             ints(DType::Int64, {}, {-1}),
             ints(DType::Int64, {}, {int64_t(1) << 32})});
}

TEST_CASE("differential: float to integer casts saturate and NaN gives 0",
          "[differential]") {
  Var x = vector("x", DType::Float32);
  NDArray xs = array(DType::Float32, {8},
                     {kNaN, test::kInf, -test::kInf, 300.5, -300.5, -0.5,
                      127.9, -128.9});
  int64_t hi = std::numeric_limits<int64_t>::max();
  int64_t lo = std::numeric_limits<int64_t>::min();
  checkBoth({x}, {cast(x, DType::Int8), cast(x, DType::UInt8),
                  cast(x, DType::Int64), cast(x, DType::Bool)},
            {xs},
            {ints(DType::Int8, {8}, {0, 127, -128, 127, -128, 0, 127, -128}),
             ints(DType::UInt8, {8}, {0, 255, 0, 255, 0, 0, 127, 0}),
             ints(DType::Int64, {8}, {0, hi, lo, 300, -300, 0, 127, -128}),
             ints(DType::Bool, {8}, {1, 1, 1, 1, 1, 1, 1, 1})});
  // Integer to integer casts wrap.
  Var i = vector("i", DType::Int32);
  checkBoth({i}, {cast(i, DType::Int8), cast(i, DType::UInt16)},
            {ints(DType::Int32, {3}, {300, -129, -1})},
            {ints(DType::Int8, {3}, {44, 127, -1}),
             ints(DType::UInt16, {3}, {300, 65407, 65535})});
}

TEST_CASE("differential: row and column broadcasts", "[differential]") {
  Var r = row("r", DType::Float32), c = col("c", DType::Float32);
  Var m = matrix("m", DType::Float32);
  checkBoth({r, c, m}, {r + m, m + c, r + c, m * r - c},
            {array(DType::Float32, {1, 3}, {1, 2, 3}),
             array(DType::Float32, {2, 1}, {100, 200}),
             array(DType::Float32, {2, 3}, {10, 20, 30, 40, 50, 60})},
            {array(DType::Float32, {2, 3}, {11, 22, 33, 41, 52, 63}),
             array(DType::Float32, {2, 3}, {110, 120, 130, 240, 250, 260}),
             array(DType::Float32, {2, 3}, {101, 102, 103, 201, 202, 203}),
             array(DType::Float32, {2, 3}, {-90, -60, -10, -160, -100, -20})});
}

TEST_CASE("differential: zero-stride and strided unaligned operands",
          "[differential]") {
  Var m = matrix("m", DType::Float64), v = vector("v", DType::Float64);
  // m: one row seen twice (stride 0); v: every other element from the
  // second one (a pointer 8 bytes past the buffer's alignment).
  NDArray ms = array(DType::Float64, {1, 3}, {1, 2, 3}).broadcastTo({2, 3});
  REQUIRE(ms.strides() == Shape{0, 1});
  NDArray vs = test::iota(DType::Float64, {8}).slice(0, 1, 8, 2);
  REQUIRE(vs.strides() == Shape{2});
  checkBoth({m, v}, {m * 2.0, sum(m, 0), v * v, sum(v), dot(m, subtensor(v, {Index::slice(0, 3)}))},
            {ms, vs},
            {array(DType::Float64, {2, 3}, {2, 4, 6, 2, 4, 6}),
             array(DType::Float64, {3}, {2, 4, 6}),
             array(DType::Float64, {4}, {1, 9, 25, 49}),
             array(DType::Float64, {}, {16}),
             array(DType::Float64, {2}, {22, 22})});
}

TEST_CASE("differential: NaN propagates through maximum and reductions",
          "[differential]") {
  Var a = vector("a", DType::Float32), b = vector("b", DType::Float32);
  checkBoth({a, b},
            {maximum(a, b), minimum(a, b), clip(a, 0.0, 1.0), max(a),
             argmax(a), argmin(b)},
            {array(DType::Float32, {3}, {kNaN, 1, 2}),
             array(DType::Float32, {3}, {0, kNaN, 1})},
            {array(DType::Float32, {3}, {kNaN, kNaN, 2}),
             array(DType::Float32, {3}, {kNaN, kNaN, 1}),
             array(DType::Float32, {3}, {kNaN, 1, 1}),
             array(DType::Float32, {}, {kNaN}), ints(DType::Int64, {}, {0}),
             ints(DType::Int64, {}, {1})});
}

TEST_CASE("differential: round halves to even", "[differential]") {
  Var x = vector("x", DType::Float32);
  checkBoth({x}, {round(x), floor(x), trunc(x)},
            {array(DType::Float32, {6}, {0.5, 1.5, 2.5, -0.5, -2.5, 2.25})},
            {array(DType::Float32, {6}, {0, 2, 2, -0.0, -2, 2}),
             array(DType::Float32, {6}, {0, 1, 2, -1, -3, 2}),
             array(DType::Float32, {6}, {0, 1, 2, -0.0, -2, 2})});
}

TEST_CASE("differential: powers by constant exponents", "[differential]") {
  // Small integer exponents become multiplications, 0.5 a square root, -1 a
  // division: exact here, and pow's answers at the special values.
  Var x = vector("x", DType::Float64);
  const double inf = test::kInf;
  NDArray xs = array(DType::Float64, {7}, {2, -3, 1.5, -0.0, -inf, kNaN, 0.25});
  checkBoth({x},
            {pow(x, 2), pow(x, 3.0), pow(x, 10), pow(x, 16), pow(x, 0),
             pow(x, -1), pow(x, 0.5), pow(x, 17)},
            {xs},
            {array(DType::Float64, {7}, {4, 9, 2.25, 0, inf, kNaN, 0.0625}),
             array(DType::Float64, {7}, {8, -27, 3.375, -0.0, -inf, kNaN, 0.015625}),
             array(DType::Float64, {7}, {1024, 59049, 57.6650390625, 0, inf, kNaN,
                                         std::ldexp(1.0, -20)}),
             array(DType::Float64, {7}, {65536, 43046721, 43046721.0 / 65536, 0,
                                         inf, kNaN, std::ldexp(1.0, -32)}),
             array(DType::Float64, {7}, {1, 1, 1, 1, 1, 1, 1}),
             array(DType::Float64, {7}, {0.5, -1.0 / 3, 1 / 1.5, -inf, -0.0, kNaN, 4}),
             array(DType::Float64, {7}, {std::sqrt(2.0), kNaN, std::sqrt(1.5), 0,
                                         inf, kNaN, 0.5}),
             array(DType::Float64, {7}, {131072, -129140163, 129140163.0 / 131072,
                                         -0.0, -inf, kNaN, std::ldexp(1.0, -34)})});
  // Signs of zero and infinity, which the comparison does not see.
  Function f = function({x}, {pow(x, 0.5), pow(x, -1), pow(x, 3)});
  std::vector<NDArray> got = f({array(DType::Float64, {2}, {-0.0, -inf})});
  CHECK(!std::signbit(got[0].flatAt(0).toDouble())); // pow(-0, 0.5) is +0
  CHECK(got[0].flatAt(1).toDouble() == inf);          // pow(-inf, 0.5) is +inf
  CHECK(got[1].flatAt(0).toDouble() == -inf);         // 1 / -0
  CHECK(std::signbit(got[1].flatAt(1).toDouble()));   // 1 / -inf is -0
  CHECK(std::signbit(got[2].flatAt(0).toDouble()));   // (-0)**3 is -0

  // Integers square exactly and wrap; a negative constant power is the
  // reference's error.
  Var i = vector("i", DType::Int8), j = vector("j", DType::Int64);
  checkBoth({i, j}, {pow(i, 3), pow(j, 0), pow(j, 5)},
            {ints(DType::Int8, {3}, {7, -2, 0}), ints(DType::Int64, {2}, {-3, 10})},
            {ints(DType::Int8, {3}, {87, -8, 0}), ints(DType::Int64, {2}, {1, 1}),
             ints(DType::Int64, {2}, {-243, 100000})});
  checkBothThrow<ValueError>({j}, {pow(j, -1)}, {ints(DType::Int64, {2}, {1, 2})});
}

TEST_CASE("differential: element-wise producers fused into reductions",
          "[differential]") {
  Var a = vector("a", DType::Float64), b = vector("b", DType::Float64);
  Var m = matrix("m", DType::Float32), r = row("r", DType::Float32);
  NDArray as = array(DType::Float64, {4}, {1, 2, 3, 4});
  NDArray bs = array(DType::Float64, {4}, {5, -6, 7, 8});
  // a (2, 3) view with strides (1, 2)
  NDArray ms = test::transposedView(array(DType::Float32, {2, 3}, {1, 2, 3, 4, 5, 6}));
  NDArray rs = array(DType::Float32, {1, 3}, {10, 20, 30});
  // The products are read only by the reductions: one loop each.
  checkBoth({a, b, m, r},
            {sum(a * b), max(a - b), argmin(a * b), sum(m * r, 0),
             sum(m * r, 1), prod(m + 1.0), sum(pow(a, 2))},
            {as, bs, ms, rs},
            {array(DType::Float64, {}, {46}), array(DType::Float64, {}, {8}),
             ints(DType::Int64, {}, {1}), array(DType::Float32, {3}, {50, 140, 270}),
             array(DType::Float32, {2}, {140, 320}), array(DType::Float32, {}, {5040}),
             array(DType::Float64, {}, {30})});
  // Errors inside the fused producer are the reference's.
  checkBothThrow<ShapeError>({a, b}, {sum(a + b)},
                             {as, array(DType::Float64, {3}, {1, 2, 3})});
  Var j = vector("j", DType::Int64), k = vector("k", DType::Int64);
  checkBothThrow<ValueError>({j, k}, {sum(pow(j, k))},
                             {ints(DType::Int64, {2}, {2, 3}),
                              ints(DType::Int64, {2}, {1, -1})});
}

TEST_CASE("differential: steps that compute the same thing share one kernel",
          "[differential]") {
  // x * 2 and y * 3 share a step function and kernels (constants are
  // operands); so do the two column sums. Each call runs on its own
  // values: other sizes, a negative stride, a transposed layout.
  Var x = vector("x", DType::Float64), y = vector("y", DType::Float64);
  Var m = matrix("m", DType::Float32), n = matrix("n", DType::Float32);
  NDArray xs = array(DType::Float64, {3}, {1, 2, 3});
  NDArray ys = array(DType::Float64, {5}, {1, 2, 3, 4, 5}).slice(0, 4, -1, -1);
  NDArray ms = array(DType::Float32, {2, 3}, {1, 2, 3, 4, 5, 6});
  NDArray ns = test::transposedView(array(DType::Float32, {3, 2}, {1, 2, 3, 4, 5, 6}));
  checkBoth({x, y, m, n},
            {x * 2.0, y * 3.0, (x * 2.0) * 4.0, sum(m, 0), sum(n, 0), m * 0.5,
             n * 0.25},
            {xs, ys, ms, ns},
            {array(DType::Float64, {3}, {2, 4, 6}),
             array(DType::Float64, {5}, {15, 12, 9, 6, 3}),
             array(DType::Float64, {3}, {8, 16, 24}),
             array(DType::Float32, {3}, {5, 7, 9}),
             array(DType::Float32, {2}, {9, 12}),
             array(DType::Float32, {2, 3}, {0.5, 1, 1.5, 2, 2.5, 3}),
             array(DType::Float32, {3, 2}, {0.25, 0.5, 0.75, 1, 1.25, 1.5})});
  // A failure in the second user of a shared step names that step's node,
  // as the reference does.
  Var z = vector("z", DType::Float64);
  Var first = x + y, second = x + z;
  std::vector<std::string> messages = shapeErrorMessages(
      {x, y, z}, {first * second},
      {xs, array(DType::Float64, {3}, {1, 2, 3}),
       array(DType::Float64, {4}, {1, 2, 3, 4})});
  CHECK(messages[0] == messages[1]);
}

TEST_CASE("differential: batched_dot and tensordot through BLAS",
          "[differential]") {
  Var a = tensor3("a", DType::Float32), b = tensor3("b", DType::Float32);
  Var m = matrix("m", DType::Float32);
  NDArray as = test::iota(DType::Float32, {2, 2, 3});
  // b stored with its axes reversed: every batch is a strided view.
  NDArray bs = test::transposedView(test::iota(DType::Float32, {2, 3, 2}));
  NDArray ms = array(DType::Float32, {2, 3}, {1, 0, -1, 2, 1, 0});
  checkBoth({a, b, m},
            {batchedDot(a, b), batchedDot(a, m), batchedDot(m, m),
             tensordot(a, b, {1, 2}, {2, 1}), tensordot(a, a, {0, 2}, {0, 2})},
            {as, bs, ms},
            {array(DType::Float32, {2, 2, 2}, {10, 13, 28, 40, 172, 193, 244, 274}),
             array(DType::Float32, {2, 2}, {-2, -2, 19, 28}),
             array(DType::Float32, {2}, {2, 5}),
             array(DType::Float32, {2, 2}, {50, 140, 140, 446}),
             array(DType::Float32, {2, 2}, {154, 226, 226, 352})});
  // Batch sizes or inner sizes that differ: the reference's ShapeError.
  checkBothThrow<ShapeError>({a, b}, {batchedDot(a, b)},
                             {as, test::iota(DType::Float32, {3, 3, 2})});
  checkBothThrow<ShapeError>({a, b}, {tensordot(a, b, {2}, {1})},
                             {as, test::iota(DType::Float32, {2, 2, 2})});
}

TEST_CASE("differential: products of integers, booleans and mixed floats",
          "[differential]") {
  // Integer products are generated loops (a sum of products); they wrap as
  // the reference does. Mixed float dtypes go through BLAS in the result's.
  Var a = matrix("a", DType::Int8), b = matrix("b", DType::Int8);
  Var v = vector("v", DType::Int8);
  NDArray as = ints(DType::Int8, {2, 3}, {100, -100, 7, 1, 2, 3});
  // b is a transposed view: every row of it is strided.
  NDArray bs = test::transposedView(ints(DType::Int8, {3, 2}, {100, 1, 100, 2, 3, 3}));
  NDArray vs = ints(DType::Int8, {3}, {1, -1, 1});
  checkBoth({a, b, v},
            {dot(a, b), dot(a, v), dot(v, v), batchedDot(a, transpose(b))},
            {as, bs, vs},
            {ints(DType::Int8, {2, 2}, {21, -79, 53, 14}),
             ints(DType::Int8, {2}, {-49, 2}), ints(DType::Int8, {}, {3}),
             ints(DType::Int8, {2}, {21, 14})});
  Var p = matrix("p", DType::Bool), q = matrix("q", DType::Bool);
  checkBoth({p, q}, {dot(p, q)},
            {ints(DType::Bool, {2, 2}, {1, 0, 0, 0}), ints(DType::Bool, {2, 2}, {0, 1, 1, 1})},
            {ints(DType::Bool, {2, 2}, {0, 1, 0, 0})});
  Var h = matrix("h", DType::Float16), s = matrix("s", DType::Float32);
  Var d = matrix("d", DType::Float64);
  NDArray hs = array(DType::Float16, {2, 2}, {1, 2, 3, 4});
  checkBoth({h, s, d}, {dot(h, h), dot(s, d), tensordot(h, s, {0, 1}, {1, 0})},
            {hs, array(DType::Float32, {2, 2}, {1, 0, 0, 2}),
             array(DType::Float64, {2, 2}, {1, 2, 3, 4})},
            {array(DType::Float16, {2, 2}, {7, 10, 15, 22}),
             array(DType::Float64, {2, 2}, {1, 2, 6, 8}),
             array(DType::Float32, {}, {9})});
  // A mismatch is the product's own error, not that of the product's parts.
  Var j = matrix("j", DType::Int32), k = matrix("k", DType::Int32);
  std::vector<std::string> messages = shapeErrorMessages(
      {j, k}, {dot(j, k) + 1},
      {ints(DType::Int32, {2, 3}, {1, 2, 3, 4, 5, 6}),
       ints(DType::Int32, {2, 2}, {1, 2, 3, 4})});
  CHECK(messages[0] == messages[1]);
  CHECK(messages[0].find("not aligned") != std::string::npos);
}

TEST_CASE("differential: gemm, gemv and ger", "[differential]") {
  // float32/float64 go through BLAS with alpha and beta (ger for one inner
  // element), other dtypes are generated loops; both skip C where beta is
  // 0 and A, B where alpha is 0, as BLAS does.
  for (DType t : {DType::Float32, DType::Float64, DType::Int16, DType::Float16}) {
    INFO(dtypeName(t));
    Var c = matrix("c", t), a = matrix("a", t), b = matrix("b", t);
    Var y = vector("y", t), x = vector("x", t), s = scalar("s", t);
    Var alpha = scalar("alpha", t), beta = scalar("beta", t);
    NDArray cs = array(t, {2, 3}, {1, 1, 1, 1, 1, -1});
    NDArray as = test::iota(t, {2, 4});
    NDArray bs = test::transposedView(test::iota(t, {4, 3})); // Trans for BLAS
    NDArray ys = array(t, {2}, {1, -1}), xs = array(t, {4}, {1, 2, 0, 1});
    auto num = [t](double v) { return array(t, {}, {v}); };
    checkBoth({c, a, b, y, x, s, alpha, beta},
              {gemm(c, alpha, a, b, beta), gemm(y, alpha, a, x, beta),
               gemm(s, alpha, x, x, beta), ger(c, alpha, y, subtensor(x, {Index::slice({}, 3)})),
               gemm(transpose(c), alpha, transpose(b), transpose(a), beta)},
              {cs, as, bs, ys, xs, num(1), num(2), num(3)},
              {array(t, {2, 3}, {87, 99, 111, 231, 275, 313}),
               array(t, {2}, {13, 39}), array(t, {}, {15}),
               array(t, {2, 3}, {3, 5, 1, -1, -3, -1}),
               array(t, {3, 2}, {87, 231, 99, 275, 111, 313})});
    if (!isFloat(t))
      continue;
    double inf = std::numeric_limits<double>::infinity();
    NDArray nan = array(t, {2, 3}, {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN});
    NDArray infs = array(t, {2, 4}, {inf, inf, inf, inf, inf, inf, inf, inf});
    checkBoth({c, a, b, alpha, beta}, {gemm(c, alpha, a, b, beta)},
              {nan, as, bs, num(1), num(0)},
              {array(t, {2, 3}, {42, 48, 54, 114, 136, 158})});
    checkBoth({c, a, b, alpha, beta}, {gemm(c, alpha, a, b, beta)},
              {cs, infs, bs, num(0), num(-2)},
              {array(t, {2, 3}, {-2, -2, -2, -2, -2, 2})});
  }
  // Mixed dtypes: C float32 with float64 factors and a Python-like alpha.
  Var c = matrix("c", DType::Float32), a = matrix("a"), b = matrix("b");
  checkBoth({c, a, b}, {gemm(c, constant(Scalar(0.5)), a, b, constant(Scalar(2.0)))},
            {array(DType::Float32, {1, 2}, {1, 2}), array(DType::Float64, {1, 1}, {4}),
             array(DType::Float64, {1, 2}, {1, 3})},
            {array(DType::Float64, {1, 2}, {4, 10})});
  // A C of another shape than the product: the reference's message.
  std::vector<std::string> messages = shapeErrorMessages(
      {c, a, b}, {gemm(c, constant(Scalar(1.0)), a, b, constant(Scalar(1.0)))},
      {test::iota(DType::Float32, {2, 2}), test::iota(DType::Float64, {2, 3}),
       test::iota(DType::Float64, {3, 3})});
  CHECK(messages[0] == messages[1]);
  CHECK(messages[0].find("C has shape (2, 2) but dot(A, B)") != std::string::npos);
}

TEST_CASE("differential: products with one row, one column or one inner "
          "element", "[differential]") {
  // A row times a vector is a dot, a column times one number an axpy (not
  // gemv); with beta 0 (C not read), 1 and 3, rows and columns stored
  // either way round.
  for (DType t : {DType::Float32, DType::Float64}) {
    INFO(dtypeName(t));
    Var r = matrix("r", t), cm = matrix("cm", t), x = vector("x", t);
    Var one = vector("one", t), yv = vector("yv", t), y1 = vector("y1", t);
    Var alpha = scalar("alpha", t), beta = scalar("beta", t);
    Var unit = constant(NDArray::scalar(Scalar(1.0)).astype(t));
    for (bool fortran : {false, true}) {
      INFO("Fortran order " << fortran);
      NDArray rs = array(t, {1, 4}, {1, 2, 3, 4});
      NDArray cms = array(t, {4, 1}, {1, 2, 3, 4});
      if (fortran) {
        rs = test::transposedView(rs);
        cms = test::transposedView(cms);
      }
      auto v = [t](std::vector<double> xs) {
        return array(t, {(int64_t)xs.size()}, xs);
      };
      std::vector<NDArray> args{rs, cms, v({1, 2, 0, 1}), v({2}), v({1, -1, 1, -1}),
                                v({5}), array(t, {}, {2}), array(t, {}, {3})};
      checkBoth({r, cm, x, one, yv, y1, alpha, beta},
                {gemm(y1, alpha, r, x, beta), gemm(yv, alpha, cm, one, beta),
                 gemm(y1, alpha, x, cm, beta), gemm(yv, alpha, one, r, beta),
                 gemm(yv, alpha, cm, one, unit), dot(r, x), dot(cm, one),
                 dot(x, cm), dot(one, r)},
                args,
                {v({33}), v({7, 5, 15, 13}), v({33}), v({7, 5, 15, 13}),
                 v({5, 7, 13, 15}), v({9}), v({2, 4, 6, 8}), v({9}),
                 v({2, 4, 6, 8})});
      // beta 0: a NaN in C does not survive.
      args[4] = v({kNaN, kNaN, kNaN, kNaN});
      args[5] = v({kNaN});
      args[7] = array(t, {}, {0});
      checkBoth({r, cm, x, one, yv, y1, alpha, beta},
                {gemm(y1, alpha, r, x, beta), gemm(yv, alpha, cm, one, beta),
                 gemm(y1, alpha, x, cm, beta), gemm(yv, alpha, one, r, beta)},
                args, {v({18}), v({4, 8, 12, 16}), v({18}), v({4, 8, 12, 16})});
    }
  }
}
