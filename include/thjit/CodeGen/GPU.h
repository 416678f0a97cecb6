//===- thjit/CodeGen/GPU.h - PTX for NVIDIA GPUs ----------------*- C++ -*-===//
///
/// \file
/// The first part of the GPU back end: the element-wise steps of a graph
/// (single ops and fused `composite` nodes, several results included) become
/// NVPTX kernels, generated in process by LLVM's NVPTX back end from the
/// same scalar emitter as the CPU loops, so that both compute the same
/// thing. Nothing here loads or runs code on a device yet (see
/// docs/gpu-backend.md). No LLVM type appears here, as in CPU.h.
///
/// Every element-wise step gets a grid-stride kernel over the flat index of
/// its result (64-bit indices), and also a contiguous one unless an operand
/// is broadcast along some of its dims but not all. Kernel parameters, in
/// order (pointers are global memory, elements of the value's dtype; bool is
/// one byte):
///
///   operands...   one pointer per operand, read only
///   results...    one pointer per result: contiguous, row-major, never
///                 overlapping an operand
///   status        pointer to an i32 the kernel sets to 1 when an element
///                 fails (a signed integer to a negative power); else
///                 untouched
///   n             i64, the number of elements of the result
///   strided only: shape[ndim] of the result (i64 each), then for each
///                 operand, its strides in elements (i64, one per dim of the
///                 operand; any sign). Operands of lower rank line up with
///                 the result's trailing dims; dims the operand's type says
///                 are broadcast are not read.
///
/// The contiguous kernel reads operand k at the flat index (element 0 for an
/// operand broadcast along every dim): the launcher uses it when every
/// operand is contiguous or a single element.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_GPU_H
#define THJIT_CODEGEN_GPU_H

#include "thjit/CodeGen/CPU.h"
#include "thjit/IR/Graph.h"

#include <string>
#include <vector>

namespace thjit::codegen {

/// The PTX ISA version of the emitted PTX, as LLVM's `+ptxNN` feature: 8.5,
/// the newest LLVM 19 can write. CUDA 13's ptxas accepts it (it reads up to
/// 9.0); a driver loading it needs CUDA 12.5 or later.
constexpr int kPTXVersion = 85;

/// The architecture `Function::emit("ptx")` targets until setGPUArch.
constexpr const char *kDefaultGPUArch = "sm_80";

/// The architectures LLVM 19's NVPTX back end targets ("sm_20" ... "sm_90a").
/// CUDA 13's ptxas takes sm_75 and later.
std::vector<std::string> supportedGPUArchs();

/// ValueError unless `arch` is one of supportedGPUArchs(), with a message
/// that lists them.
void checkGPUArch(const std::string &arch);

/// The process-wide architecture `Function::emit("ptx")` targets (the
/// driver's `--gpu-arch=`). setGPUArch checks it first (checkGPUArch).
/// Thread-safe.
void setGPUArch(const std::string &arch);
std::string gpuArch();

/// One kernel of a PTX module.
struct GPUKernel {
  std::string name;
  /// The plan step it computes (numbered as `--emit=plan` numbers them).
  int step = 0;
  /// The flat kernel (every operand contiguous or one element), else the
  /// strided one.
  bool contiguous = false;
  int numOperands = 0, numResults = 0;
  /// The result's rank (the strided kernel's shape parameters).
  int ndim = 0;
  /// Each operand's rank (the strided kernel's stride parameters).
  std::vector<int> operandNdims;
};

/// The PTX of a graph for one architecture.
struct PTXModule {
  std::string arch;
  /// The PTX text, headed by one comment line per plan step: its kernels,
  /// or why it has none (not element-wise yet, or a missing library).
  std::string ptx;
  std::vector<GPUKernel> kernels;
  /// Steps whose kernels are another step's (they compute the same thing
  /// on values of the same types): (step, the step whose kernels it uses).
  std::vector<std::pair<int, int>> sharedKernels;
  /// Steps that have no GPU kernel, with why (the same as their comment).
  std::vector<std::pair<int, std::string>> hostSteps;
};

/// Generates the kernels of g's element-wise steps for `arch` (checked as
/// checkGPUArch does). Transcendentals call NVIDIA's libdevice, linked in
/// when found (libdevicePath()); without it, a step that needs it is listed
/// in hostSteps with the function it lacks. `options.updates` orders the
/// steps as the CPU plan does. CompileError when LLVM fails.
PTXModule compileForPTX(const Graph &g, const std::string &arch,
                        const CompileOptions &options = {});

/// compileForPTX(g, arch, options).ptx.
std::string emitPTX(const Graph &g, const std::string &arch = gpuArch(),
                    const CompileOptions &options = {});

/// Where libdevice is read from: $THJIT_LIBDEVICE when set, else
/// $CUDA_HOME/nvvm/libdevice/libdevice.10.bc when it exists, else
/// /usr/local/cuda/nvvm/libdevice/libdevice.10.bc. The file may not exist.
std::string libdevicePath();

} // namespace thjit::codegen

#endif
