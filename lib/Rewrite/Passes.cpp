//===- Passes.cpp - The pass table, pipelines per mode, printing ----------===//
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/Support/Format.h"

#include <chrono>
#include <iostream>
#include <sstream>

namespace thjit {

/// Hash-consing already merges equal nodes as they are made; a sweep with no
/// rewrites rebuilds what replacements (givens, inlining) left unmerged and
/// keeps only what the outputs need.
static const RewriteSet *mergeRewrites() {
  static const RewriteSet set({});
  return &set;
}

const std::vector<Pass> &passTable() {
  static const std::vector<Pass> table = {
      {"merge", "merge equal nodes, drop dead ones", mergeRewrites},
      {"canonicalize",
       "constant folding, algebraic normal forms (fractions, neg-neg, "
       "exp/log), useless casts/allocs/subtensors, shape chains",
       canonicalizeRewrites},
      {"stabilize",
       "numerically stable forms: softplus, log1p, expm1, log_softmax, "
       "log-sum-exp, softmax cross-entropy",
       stabilizeRewrites},
      {"specialize",
       "faster forms: sqr/reciprocal for powers, gemm/gemv, "
       "transposes into BLAS, sum(x*y) into dot",
       specializeRewrites},
      {"fuse",
       "element-wise sub-graphs into one composite loop each",
       nullptr, fuseElementwise},
  };
  return table;
}

const Pass *findPass(const std::string &name) {
  for (const Pass &p : passTable())
    if (name == p.name)
      return &p;
  return nullptr;
}

static std::string knownPassNames() {
  std::vector<std::string> names;
  for (const Pass &p : passTable())
    names.push_back(p.name);
  return join(names, ", ");
}

void checkPassNames(const std::vector<std::string> &names,
                    const std::string &where) {
  for (const std::string &n : names)
    if (!findPass(n))
      throw ValueError(where + ": unknown pass '" + n + "' (passes: " +
                       knownPassNames() + ")");
}

PipelineOverrides &pipelineOverrides() {
  static PipelineOverrides o;
  return o;
}

std::vector<std::string> passesForMode(const std::string &mode) {
  if (mode == "REFERENCE")
    return {};
  const PipelineOverrides &o = pipelineOverrides();
  if (o.overridePasses)
    return o.passes;
  if (mode == "FAST_COMPILE")
    return {"merge", "canonicalize"};
  // NANGUARD checks every node's value: nothing hides inside fused loops.
  std::vector<std::string> all;
  for (const Pass &p : passTable())
    if (mode != "NANGUARD" || std::string(p.name) != "fuse")
      all.push_back(p.name);
  return all;
}

std::string describePasses() {
  std::ostringstream out;
  for (const Pass &p : passTable()) {
    out << p.name << "\n    " << p.doc << "\n";
    if (!p.rewrites)
      continue;
    for (const Rewrite &r : p.rewrites()->all())
      out << "    - " << r.name << (*r.doc ? ": " : "") << r.doc << "\n";
  }
  return out.str();
}

std::vector<PassStats> optimizeGraph(Graph &g, const PassOptions &options) {
  checkPassNames(options.passes, "passes");
  std::ostream &log = options.log ? *options.log : std::cerr;
  std::vector<PassStats> all;
  for (const std::string &name : options.passes) {
    const Pass &pass = *findPass(name);
    auto start = std::chrono::steady_clock::now();
    PassStats stats;
    int before = (int)g.nodes().size();
    if (pass.rewrites) {
      const RewriteSet *set = pass.rewrites();
      std::vector<Rewrite> extra;
      for (const auto &[p, r] : options.extraRewrites)
        if (p == name)
          extra.push_back(r);
      if (!extra.empty()) {
        std::vector<Rewrite> rs = set->all();
        rs.insert(rs.begin(), extra.begin(), extra.end());
        RewriteSet with(std::move(rs));
        stats = applyRewrites(g, with, name, options);
      } else {
        stats = applyRewrites(g, *set, name, options);
      }
    } else {
      stats.pass = name;
      pass.run(g, options, stats);
    }
    stats.nodesBefore = before;
    stats.nodesAfter = (int)g.nodes().size();
    stats.seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (stats.budgetExhausted)
      log << "thjit: warning: pass " << name << " stopped after "
          << stats.rewrites << " rewrites in " << stats.rounds
          << " rounds (its budget): rewrites may be undoing each other; the "
             "graph is correct but may be less optimized\n";
    bool print = options.printAfterAll;
    for (const std::string &p : options.printAfter)
      print |= p == name;
    if (print)
      log << "// after " << name << "\n"
          << (options.print ? options.print(g) : printGraph(g, "f"))
          << std::flush;
    all.push_back(stats);
  }
  return all;
}

} // namespace thjit
