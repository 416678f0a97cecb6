//===- thjit/CodeGen/CPU.h - Native code for the host CPU -------*- C++ -*-===//
///
/// \file
/// The CPU back end: a graph becomes one LLVM module (an entry point that
/// runs every step, fused strided loops, reductions, BLAS calls), optimized
/// for the host CPU with all its features and JIT-compiled in process with
/// ORC. No LLVM type appears here, so users of the runtime do not pay for
/// LLVM's headers.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_CPU_H
#define THJIT_CODEGEN_CPU_H

#include "thjit/IR/Graph.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace thjit::codegen {

/// Compiled native code for one graph, with the state its calls reuse
/// (buffers that persist between calls of the same shapes).
class Executable;

/// Where compiled objects are kept between processes (lib/Runtime's
/// CompileCache): the object for a key text, if any; and a store.
struct ObjectCache {
  std::function<std::optional<std::string>(const std::string &key)> lookup;
  std::function<void(const std::string &key, const std::string &object)>
      store;
};

/// How a graph is compiled.
struct CompileOptions {
  /// For each graph output, the shared variable it is the new value of
  /// (undefined for plain outputs; may be shorter than the outputs): such
  /// an update may be written over the variable's old value in place.
  std::vector<Var> updates;
  /// Time every step of every call (see stepProfile).
  bool profile = false;
  /// GPU float32 matrix products may round their factors to tf32 (10 bits
  /// of mantissa) on the tensor cores, on sm_80 and later
  /// (FunctionOptions::allowTF32). The CPU ignores it.
  bool allowTF32 = false;
};

/// Compiles a graph (its outputs may be computed from inputs, shared
/// variables and constants). With a cache, an object compiled before for
/// the same graph, options, host and versions is loaded instead of
/// generated. CompileError when LLVM fails.
std::shared_ptr<Executable> compileForCPU(const Graph &g,
                                          const ObjectCache *cache = nullptr,
                                          const CompileOptions &options = {});

/// The text that identifies a graph's object file: the graph's canonical
/// text, which outputs update which shared variables, the host CPU and its
/// features, the LLVM and thjit versions, the build ID of the thjit binary,
/// whether it profiles and whether it allows tf32 (so that a PTX module
/// cached for one setting is not read for the other).
std::string objectKey(const Graph &g, const CompileOptions &options = {});

/// The time one step of compiled code took, summed over the calls made so
/// far (executables compiled with `profile`; zeros otherwise).
struct StepProfile {
  /// The node the step computes (the user's node a lowering split up);
  /// `producer` an element-wise node fused into a reduction, or null.
  const Node *node = nullptr, *producer = nullptr;
  /// Generated code, or a call into the runtime (BLAS, reference kernel).
  bool generated = true;
  int64_t calls = 0;
  double seconds = 0;
};
std::vector<StepProfile> stepProfile(const Executable &exe);

/// Runs compiled code on input values already converted to the inputs'
/// types; returns the values of the graph's outputs, each owning its
/// memory. Throws the exceptions the reference kernels raise for bad
/// values (shape mismatches, ...). Safe to call from several threads.
std::vector<NDArray> run(const Executable &exe,
                         const std::vector<NDArray> &inputs);

/// The module of a graph as LLVM IR text, before or after optimization.
std::string emitLLVM(const Graph &g, bool optimized = true,
                     const CompileOptions &options = {});
/// The host assembly of a graph's module.
std::string emitAssembly(const Graph &g, const CompileOptions &options = {});
/// The steps compiled code runs, and where each value lives (printPlan).
std::string emitPlan(const Graph &g, const CompileOptions &options = {});

/// The host CPU and its features as LLVM sees them ("skylake-avx512 +avx2
/// ..."): part of the compile cache key.
std::string hostTargetDescription();

} // namespace thjit::codegen

#endif
