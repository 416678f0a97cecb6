//===- GPUExecutable.h - Running a transferred graph on the GPU -*- C++ -*-===//
///
/// \file
/// What function() compiles a graph for `device=cuda` into: the plan of the
/// transferred graph (thjit/CodeGen/Transfer.h) and the PTX of its kernels
/// for the device's architecture, loaded at the first call. A call walks
/// the plan: steps with a kernel launch it on device arrays; views permute
/// device descriptors; steps without a GPU lowering run their reference
/// kernel on the host. Values move between host and GPU memory where a
/// step needs them elsewhere (at the transfers the pass inserted), and
/// constants are uploaded once.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_RUNTIME_GPUEXECUTABLE_H
#define THJIT_RUNTIME_GPUEXECUTABLE_H

#include "thjit/CodeGen/CPU.h"
#include "thjit/IR/Graph.h"

#include <memory>
#include <string>
#include <vector>

namespace thjit {

struct GPUExecutableImpl;

/// One output of a call: on the host, or (an update of a shared variable
/// that lives on the GPU) in GPU memory.
struct GPUResult {
  NDArray host;
  std::shared_ptr<const DeviceValue> device;
};

class GPUExecutable {
public:
  /// Plans g (already transferred) and generates its PTX for the current
  /// device's architecture, or for codegen::gpuArch() when there is no
  /// device (the PTX can still be printed; calls raise "no CUDA device"),
  /// or reads it from `cache` when it holds it.
  GPUExecutable(const Graph &g, const codegen::CompileOptions &options,
                const codegen::ObjectCache *cache = nullptr);
  ~GPUExecutable();
  /// Runs a call: one result per output of g, in GPU memory where
  /// `keepOnDevice[o]` (device shared variables' updates), else on the host.
  std::vector<GPUResult> run(const std::vector<NDArray> &inputs,
                             const std::vector<bool> &keepOnDevice) const;
  /// The PTX it loads.
  const std::string &ptx() const;
  /// Its plan (`--emit=plan`): each step with its kernels, or why it has
  /// none (a view, or it runs on the host).
  std::string plan() const;
  /// Compiled with options.profile: each step's time so far, summed over
  /// the calls, as the device's events saw it (the span between events
  /// recorded before and after the step: its kernels, or what a step on
  /// the host took). Zeros otherwise.
  std::vector<codegen::StepProfile> stepProfile() const;

private:
  std::unique_ptr<GPUExecutableImpl> impl;
};

} // namespace thjit

#endif
