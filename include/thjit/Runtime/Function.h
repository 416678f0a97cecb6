//===- thjit/Runtime/Function.h - Compiled functions ------------*- C++ -*-===//
///
/// \file
/// function(): Theano's theano.function. It copies the user's graph into a
/// Graph, applies givens, checks inputs, outputs and updates, and returns a
/// callable Function. A call checks its arguments against the input types,
/// evaluates every node, and only then applies all updates together (each
/// computed from the values before the call): a call that fails changes no
/// shared variable.
///
/// FAST_RUN (the default) and FAST_COMPILE compile the graph to native code
/// with the CPU back end (lib/CodeGen, docs/cpu-backend.md); REFERENCE
/// evaluates it with the reference kernels (lib/Ops), the oracle of tests.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_RUNTIME_FUNCTION_H
#define THJIT_RUNTIME_FUNCTION_H

#include "thjit/IR/Graph.h"
#include "thjit/Ops/OpDef.h" // evaluateGraph
#include "thjit/Rewrite/Rewrite.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace thjit {

/// What function() does with an input no output or update uses.
enum class OnUnusedInput { Raise, Warn, Ignore };

struct FunctionOptions {
  /// (shared variable, new value) pairs, applied together after a call.
  std::vector<std::pair<Var, Var>> updates;
  /// (variable, replacement) pairs substituted in the graph before compiling.
  std::vector<std::pair<Var, Var>> givens;
  OnUnusedInput onUnusedInput = OnUnusedInput::Raise;
  /// Accept arguments whose conversion to the input's dtype loses precision.
  bool allowInputDowncast = false;
  /// FAST_RUN (default): every pass; FAST_COMPILE: merge and canonicalize;
  /// DEBUG: checks every rewrite and kernel against the reference kernels
  /// on each call's inputs; NANGUARD: reports the first node producing a
  /// NaN or infinity; PROFILE: times every node (profileReport);
  /// REFERENCE: no passes, the reference kernels. When empty, the
  /// THJIT_MODE environment variable's, else FAST_RUN.
  std::string mode;
  /// Rewrites added to a pass for this function only, (pass, rewrite):
  /// tests register a deliberately wrong one to see DEBUG mode catch it.
  std::vector<std::pair<std::string, Rewrite>> extraRewrites;
  /// The name printed for the function ("f" when empty).
  std::string name;
  /// Where it runs: "cpu", or "cuda" for the GPU (the transfer pass moves
  /// what has a GPU lowering there; see docs/gpu-backend.md). When empty:
  /// "cuda" if a shared variable it reads lives there, else
  /// defaultDevice(). The GPU runs FAST_RUN and FAST_COMPILE functions;
  /// other modes run on the CPU (asking for "cuda" with them is an error).
  std::string device;
  /// On the GPU (sm_80 and later), float32 matrix products may round their
  /// factors to tf32 (10 bits of mantissa, as PyTorch's
  /// allow_tf32) and run on the tensor cores: faster, and about 1e-3
  /// relative error instead of float32's 1e-7. The script language's
  /// `theano.function(..., allow_tf32=True)`.
  bool allowTF32 = false;
};

/// The device of functions that do not choose one: setDefaultDevice's
/// ("cpu" or "cuda", thjit's --device), else $THJIT_DEVICE, else "cpu".
/// ValueError for another name.
void setDefaultDevice(const std::string &device);
std::string defaultDevice();

class Function {
public:
  /// Runs the function: one array per input, one result per output.
  std::vector<NDArray> operator()(const std::vector<NDArray> &args) const;

  const std::vector<Var> &inputs() const;
  /// The number of outputs (updates not included).
  size_t numOutputs() const;
  const std::string &name() const;
  /// The graph the function evaluates, after the mode's passes: its
  /// outputs are the function's outputs followed by the update values.
  const Graph &graph() const;
  /// The graph before the passes (givens applied, inline ops expanded).
  const Graph &sourceGraph() const;
  /// The printed graph (or the source graph's), with `update NAME = ...`
  /// lines for updates.
  std::string str(bool optimized = true) const;
  /// The same graph as Graphviz DOT (printDot).
  std::string dot(bool optimized = true) const;
  /// What the graph compiles to, as text: "plan" (the steps and where
  /// each value lives, in place or not), "llvm" (the optimized module),
  /// "asm" (the host's assembly) or "ptx" (NVPTX kernels of its
  /// element-wise steps: for a "cuda" function those it loads, for the
  /// device's architecture; else for codegen::gpuArch(), default sm_80;
  /// see thjit/CodeGen/GPU.h). ValueError for anything else.
  std::string emit(const std::string &what) const;
  /// "cpu" or "cuda": where it runs.
  const std::string &device() const;
  /// The mode it was compiled in and what each pass did.
  const std::string &mode() const;
  const std::vector<PassStats> &passStats() const;
  /// PROFILE mode: the table of time per node and per op over the calls
  /// made so far, and compile time per pass (also printed to standard
  /// error at exit). ValueError in other modes.
  std::string profileReport() const;

  /// Converts an argument to input i's type: a lossless conversion is always
  /// accepted, a lossy one only with allowInputDowncast. TypeError otherwise,
  /// naming the input and both types.
  NDArray convertArgument(size_t i, const NDArray &arg) const;
  /// Whether an argument has input i's type already (no conversion).
  bool argumentFits(size_t i, const NDArray &arg) const;

  struct Impl;

private:
  friend Function function(std::vector<Var>, std::vector<Var>,
                           FunctionOptions);
  std::shared_ptr<const Impl> impl;
};

/// Compiles a function. Errors (CompileError, TypeError, ValueError) name the
/// offending variable: an input that is not a symbolic input, a missing or
/// unused input, an update of a non-shared variable or of another type.
Function function(std::vector<Var> inputs, std::vector<Var> outputs,
                  FunctionOptions options = {});


} // namespace thjit

#endif
