//===- Profile.h - The PROFILE mode's records and report --------*- C++ -*-===//
///
/// \file
/// A function compiled in PROFILE mode times every step of its compiled
/// code (codegen::stepProfile) and every call. Its record outlives it: the
/// reports of all profiled functions are printed to standard error when the
/// process exits, or on request (Function::profileReport).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_RUNTIME_PROFILE_H
#define THJIT_LIB_RUNTIME_PROFILE_H

#include "thjit/CodeGen/CPU.h"
#include "thjit/Rewrite/Rewrite.h"

#include <memory>
#include <mutex>

namespace thjit {

class GPUExecutable;

struct FunctionProfile {
  std::string name;
  std::vector<PassStats> passes;
  double codegenSeconds = 0;
  std::shared_ptr<codegen::Executable> native;
  std::shared_ptr<GPUExecutable> gpu; ///< a function on the GPU instead
  std::mutex mutex;
  int64_t calls = 0;
  double callSeconds = 0;
  /// The calls the last report asked for covered: the report at exit is
  /// printed only when calls were made since (no repeat of :profile's).
  int64_t callsReported = 0;

  void recordCall(double seconds) {
    std::lock_guard<std::mutex> lock(mutex);
    ++calls;
    callSeconds += seconds;
  }
  /// The tables: per node and per op of time, calls and share; compile time
  /// per pass.
  std::string report();
  /// Keeps the record for the report printed at exit, for functions with
  /// calls not yet reported.
  static void registerForExit(std::shared_ptr<FunctionProfile> p);
};

} // namespace thjit

#endif
