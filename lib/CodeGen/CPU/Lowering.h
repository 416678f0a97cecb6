//===- Lowering.h - A graph's plan to one LLVM module -----------*- C++ -*-===//
///
/// \file
/// Emits the module of one compiled function: the entry point
/// `i32 NAME(ptr state, ptr frame)` that runs every step of the plan in
/// order, and one kernel per generated loop, `i32 (ptr frame, i64 begin,
/// i64 end)`, which the entry runs through the thread pool. The entry
/// returns 0, or step + 1 for the step that failed (a shape mismatch, an
/// integer raised to a negative power, a failed runtime call); the runtime
/// turns that into the exception the reference kernel raises.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_CPU_LOWERING_H
#define THJIT_CODEGEN_CPU_LOWERING_H

#include "thjit/CodeGen/Plan.h"

#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace thjit::codegen {

/// Runtime functions JIT code calls (defined in Executable.cpp).
constexpr const char *kAllocFn = "thjit_rt_alloc";
constexpr const char *kStepFn = "thjit_rt_step";
constexpr const char *kParallelForFn = "thjit_parallel_for";
/// Profiling: called with -1 when the entry starts, then with each step's
/// index when it ends.
constexpr const char *kProfileFn = "thjit_rt_profile";
/// An int64 variable: element-wise loops touching at least this many bytes
/// write their result with streaming stores (THJIT_STREAMING_BYTES, default
/// the size of the last-level cache).
constexpr const char *kStreamingBytes = "thjit_rt_streaming_bytes";

std::unique_ptr<llvm::Module> lowerToLLVM(const Plan &plan,
                                          const std::string &entryName,
                                          llvm::LLVMContext &ctx);

} // namespace thjit::codegen

#endif
