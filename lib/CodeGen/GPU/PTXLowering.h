//===- PTXLowering.h - Shared pieces of the PTX back end --------*- C++ -*-===//
///
/// \file
/// What PTX.cpp (element-wise kernels, the module and its passes) and
/// Reduce.cpp (reduction and softmax kernels) share: the address spaces,
/// kernel declarations with the ABI's attributes, and the entry points of
/// Reduce.cpp. Internal to lib/CodeGen.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_CODEGEN_GPU_PTXLOWERING_H
#define THJIT_LIB_CODEGEN_GPU_PTXLOWERING_H

#include "thjit/CodeGen/GPU.h"
#include "thjit/CodeGen/Plan.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Target;
class TargetMachine;
} // namespace llvm

namespace thjit::codegen::gpu {

/// The NVPTX target, initialized once, and a machine for `arch` with the
/// PTX ISA `ptxVersion`, O3 and no FMA contraction (CompileError when LLVM
/// cannot). Every GPU code generator emits through these.
constexpr const char *kNVPTXTriple = "nvptx64-nvidia-cuda";
const llvm::Target &nvptxTarget();
std::unique_ptr<llvm::TargetMachine> targetMachine(const std::string &arch,
                                                   int ptxVersion = kPTXVersion);

/// Global memory, where every kernel pointer points; shared memory (per
/// block).
constexpr unsigned kGlobal = 1;
constexpr unsigned kShared = 3;

/// s with every character but letters and digits replaced by '_'.
std::string sanitize(const std::string &s);

/// "thjit_s<step>_<op>": what the names of a step's kernels start with.
std::string kernelBaseName(const Plan &plan, int s);

/// A kernel (ptx_kernel calling convention, nounwind) taking `pointers`
/// global pointers, all noalias, the first `readOnly` of them read only
/// (ld.global.nc), then `scalars` i64 values. Pointer p is an i64 value
/// instead where byValue[p] (a scalar operand passed by value).
llvm::Function *newKernel(llvm::Module &m, const std::string &name,
                          int pointers, int readOnly, int scalars,
                          const std::vector<bool> &byValue = {});

/// Operand k's value from its by-value parameter (the bits of a value of
/// dtype t, zero-extended to 64), as ScalarEmitter::load would give it.
llvm::Value *scalarFromBits(llvm::IRBuilder<> &b, llvm::Value *bits, DType t);

/// A special register (tid.x, ctaid.x, ...) as an i64.
llvm::Value *specialReg(llvm::IRBuilder<> &b, llvm::Intrinsic::ID id);

/// LLVM's O3 pipeline with the target's passes (NVVMReflect answers
/// libdevice's questions about the architecture and flush-to-zero).
void optimize(llvm::Module &m, llvm::TargetMachine &tm);

/// m as PTX assembly (CompileError when the back end cannot).
std::string printPTX(llvm::Module &m, llvm::TargetMachine &tm);

/// The listener compileForPTX's modules go to (GPU.h), or an empty one.
PTXListener currentPTXListener();

/// A module of the runtime's own kernels (compileCopyKernels,
/// compileSplitKKernels) for arch: `fill` adds the kernels to the module
/// and lists them (of no step: -1); the module is then checked, optimized
/// and printed, its PTX headed by a line counting `what`, and shown to the
/// listener. With a cache (and no listener), a module stored under the
/// same name, arch, ISA and versions (objectKey) is read instead.
PTXModule runtimeModule(const std::string &name, const std::string &what,
                        const std::string &arch, int ptxVersion,
                        const std::function<void(llvm::Module &, PTXModule &)> &fill,
                        const ObjectCache *cache);

/// A kernel's view of a row-major shape of rank R (Strided.cpp): each
/// dim's size, and its divider (GPU.h's gpuDivider; dim 0's is unused):
/// the parameters of strided kernels.
struct StridedIndex {
  std::vector<llvm::Value *> sizes, dividers;
  /// The R parameters of sizes, then R of dividers, from parameter `first`.
  static StridedIndex fromParams(llvm::Function *f, int first, int R);
  /// The coordinates (i64) of flat index i, last dim fastest. Narrow: i
  /// and every size are below 2^31, and each division is a 32-bit multiply-
  /// high and shift by the divider; else 64-bit division.
  std::vector<llvm::Value *> coordinates(llvm::IRBuilder<> &b, llvm::Value *i,
                                         bool narrow) const;
};

/// A grid-stride loop's first index (this thread's in the grid) and step
/// (the grid's threads), as i64.
std::pair<llvm::Value *, llvm::Value *> gridStride(llvm::IRBuilder<> &b);

/// `for (i = start; i < n; i += step) body(i, narrow)`, from the current
/// block, going on at `exit` (start, step and n are i64, n >= 0). With
/// `split`, the loop is emitted twice, narrow (taken when n < 2^31, so the
/// body may use 32-bit index math) and wide; else once, wide. The body may
/// add blocks.
void gridStrideLoops(llvm::IRBuilder<> &b, llvm::Value *start, llvm::Value *step,
                     llvm::Value *n, llvm::BasicBlock *exit, bool split,
                     const std::function<void(llvm::Value *i, bool narrow)> &body);

/// Reduce.cpp: whether a Runtime step is a softmax or log_softmax that
/// gets a kernel (every Reduce step gets kernels).
bool isSoftmaxStep(const Step &step);

/// Reduce.cpp: the kernels of a Reduce step (its main kernels, `<base>_rows`
/// and `<base>_cols` when an operand is one of the `reordered` values
/// (reorderedViews), else the one of its axes; then `<base>_finish`;
/// operands that byValue marks are taken by value) or of a softmax /
/// log_softmax step (`<base>_rows`), added to m, with their entries
/// appended to `info`.
/// CompileError when the step's program has no lowering; nothing of the
/// step is left in m then.
std::vector<llvm::Function *> emitReduceStep(const Plan &plan,
                                             const std::vector<bool> &byValue,
                                             const std::vector<bool> &reordered, int s,
                                             llvm::Module &m,
                                             std::vector<GPUKernel> &info);
std::vector<llvm::Function *> emitSoftmaxStep(const Plan &plan, int s,
                                              llvm::Module &m,
                                              std::vector<GPUKernel> &info);

} // namespace thjit::codegen::gpu

#endif
