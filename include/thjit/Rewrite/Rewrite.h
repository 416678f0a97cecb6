//===- thjit/Rewrite/Rewrite.h - Graph rewrites and passes ------*- C++ -*-===//
///
/// \file
/// function() turns the user's graph into the one it compiles by a pipeline
/// of named passes (the seed paper's "Compilation by theano.function"):
///
///   merge         hash-consing again after replacements; dead code goes
///   canonicalize  constant folding, algebraic normal forms, shape chains
///   stabilize     numerically stable forms (softplus, log1p, log_softmax..)
///   specialize    faster forms (sqr, gemm/gemv, transposes into BLAS)
///   fuse          element-wise sub-graphs become one composite node
///
/// Most passes are sets of node-local rewrites: a rewrite is a small function
/// that looks at one node (and what computes its operands) and returns a
/// replacement for its results, or nothing. A set indexes its rewrites by op
/// kind, and the greedy driver applies them bottom-up, in one linear sweep
/// over the graph per round, until a round changes nothing or the budget of
/// rewrites runs out (which it reports). Nodes a rewrite makes get the
/// creation place of the node they replace, and the replacement the user's
/// name, so errors still point at the user's code.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_REWRITE_REWRITE_H
#define THJIT_REWRITE_REWRITE_H

#include "thjit/IR/Graph.h"

#include <functional>
#include <iosfwd>
#include <string>
#include <unordered_map>
#include <vector>

namespace thjit {

/// What a rewrite may ask about the graph besides its node.
class RewriteContext {
public:
  /// How many readers `v` has in the graph being rewritten (a graph output
  /// counts as one). Values made during this round count one.
  int numClients(const Var &v) const;
private:
  friend class RewriteDriver;
  std::unordered_map<Node *, std::vector<int>> clients;
};

/// A node-local rewrite. `apply` returns one value per result of the node
/// (of a type assignable to the result's), or nothing.
struct Rewrite {
  const char *name;
  /// The op kinds whose nodes it looks at; empty: every non-leaf node.
  std::vector<OpKind> kinds;
  std::vector<Var> (*apply)(const Node &node, const RewriteContext &ctx);
  /// One line for `--list-passes` and docs.
  const char *doc = "";
};

/// What a rewrite did: its pass and name, the value it replaced and the
/// replacement (DEBUG mode checks each against the reference kernels).
struct RewriteEvent {
  std::string pass, rewrite;
  Var before, after;
};

/// What one application of a pass did.
struct PassStats {
  std::string pass;
  int rewrites = 0;  ///< replacements made
  int rounds = 0;    ///< sweeps over the graph
  bool budgetExhausted = false;
  double seconds = 0;
  int nodesBefore = 0, nodesAfter = 0;
};

/// How optimizeGraph runs a pipeline.
struct PassOptions {
  /// The passes, in order (see passTable()).
  std::vector<std::string> passes;
  /// Rewrites one pass may make: `budgetPerNode` times the graph's nodes
  /// plus `budgetBase`. Past it the pass stops with a warning.
  int budgetPerNode = 16, budgetBase = 1000;
  /// Called for every replacement (DEBUG mode).
  std::function<void(const RewriteEvent &)> onRewrite;
  /// Print the graph after these passes, or after every pass, to `log`.
  std::vector<std::string> printAfter;
  bool printAfterAll = false;
  /// Where printing and warnings go (std::cerr when null).
  std::ostream *log = nullptr;
  /// How to print a graph (function() labels its updates); printGraph
  /// titled "f" when null.
  std::function<std::string(const Graph &)> print;
  /// Rewrites to add to their pass for this run only (tests register a
  /// deliberately wrong one to see DEBUG mode catch it).
  std::vector<std::pair<std::string, Rewrite>> extraRewrites;
};

/// A set of node-local rewrites, indexed by op kind.
class RewriteSet {
public:
  RewriteSet(std::vector<Rewrite> rewrites);
  /// The rewrites that look at nodes of this kind, in registration order.
  const std::vector<const Rewrite *> &forKind(OpKind kind) const {
    return byKind[(size_t)kind];
  }
  const std::vector<Rewrite> &all() const { return rewrites; }

private:
  std::vector<Rewrite> rewrites;
  std::vector<std::vector<const Rewrite *>> byKind;
};

/// Applies a set's rewrites until none applies (or the budget runs out);
/// merges and drops dead nodes on the way. Returns what it did.
PassStats applyRewrites(Graph &g, const RewriteSet &set,
                        const std::string &passName,
                        const PassOptions &options);

/// A named pass of the pipeline.
struct Pass {
  const char *name;
  const char *doc;
  /// The pass's rewrite set, when it is one (else null and `run` is set).
  const RewriteSet *(*rewrites)() = nullptr;
  /// A pass that is not a rewrite set: transforms the graph in one go.
  void (*run)(Graph &g, const PassOptions &options, PassStats &stats) = nullptr;
};

/// Every pass, in pipeline order.
const std::vector<Pass> &passTable();
/// The pass with this name, or null.
const Pass *findPass(const std::string &name);
/// The passes a mode runs: FAST_RUN (and "", DEBUG, PROFILE) all of them;
/// NANGUARD all but fuse (so that every node's value is seen);
/// FAST_COMPILE merge and canonicalize; REFERENCE none.
std::vector<std::string> passesForMode(const std::string &mode);
/// `--list-passes`: each pass with its doc and rewrites.
std::string describePasses();
/// ValueError naming the unknown pass and listing the known ones.
void checkPassNames(const std::vector<std::string> &names,
                    const std::string &where);

/// Runs the passes of `options` on `g` in order; returns what each did.
std::vector<PassStats> optimizeGraph(Graph &g, const PassOptions &options);

/// Process-wide settings of the driver (`--passes=`, `--print-after=`):
/// when `passes` is set it replaces every mode's pipeline but REFERENCE's.
struct PipelineOverrides {
  bool overridePasses = false;
  std::vector<std::string> passes;
  std::vector<std::string> printAfter;
  bool printAfterAll = false;
};
PipelineOverrides &pipelineOverrides();

// Rewrite sets of the passes (lib/Rewrite/<Pass>.cpp).
const RewriteSet *canonicalizeRewrites();
const RewriteSet *stabilizeRewrites();
const RewriteSet *specializeRewrites();
void fuseElementwise(Graph &g, const PassOptions &options, PassStats &stats);

} // namespace thjit

#endif
