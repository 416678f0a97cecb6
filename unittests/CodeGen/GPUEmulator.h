//===- GPUEmulator.h - Runs NVPTX kernels' LLVM IR on the host --*- C++ -*-===//
///
/// \file
/// A small SIMT emulator for tests: it takes the LLVM IR of thjit's GPU
/// code generators (the module that would go to the NVPTX back end),
/// rewrites what is GPU-specific into host code, JIT-compiles it for the
/// host with LLVM ORC, and runs a kernel launch thread by thread, so that a
/// kernel's numerics can be checked on any machine, without a GPU.
///
/// WHAT IT MODELS
///
///   Threads   Every thread of a block is a fiber: its own stack (with a
///             guard page), switched in user space by a few instructions on
///             x86-64 (ucontext elsewhere, or with -DTHJIT_EMU_UCONTEXT;
///             annotated for AddressSanitizer); no OS thread per GPU thread.
///             A block's fibers run on one host thread, one at a time, in a
///             fixed order: a fiber runs until it must wait for others (a
///             barrier or a warp collective), then the next ready one runs.
///             So a run is deterministic, and a kernel that reads shared
///             memory before the barrier that should order it reads the
///             fill pattern or stale data, and fails its checks;
///             `Options::reverse` runs the fibers in the opposite order,
///             which flushes out more such bugs.
///   Blocks    run one after another (the default) or, with hostThreads != 1,
///             several at once on host threads (each block is still run by
///             one host thread, and blocks are independent, so results do
///             not depend on that unless blocks race on global memory).
///   Memory    Global memory is host memory: pointer arguments are host
///             pointers. Every shared-memory (addrspace 3) global of the
///             module, defined or `extern` (dynamic shared memory, placed
///             after the static ones, `sharedBytes` long), is a slice of a
///             per-block buffer, filled with Options::sharedFill bytes at
///             the start of each block (0xFF: NaN as a float, so reading
///             shared memory nobody wrote shows). Address spaces 0 to 5 are
///             all flat host pointers; addrspacecasts are no-ops.
///   Barriers  llvm.nvvm.barrier0, .barrier0.{and,or,popc}, barrier.sync,
///             barrier.n, bar.sync, barrier(.sync.cnt) with the whole block:
///             every thread of the block must arrive. A barrier that some
///             threads never reach (they exited, or wait elsewhere) is a
///             deadlock, reported as an error naming who waits where, not a
///             hang. membar/fence are no-ops (cta) or host fences (gl, sys).
///             llvm.nvvm.ldg.global.* are plain loads.
///   Warps     32 consecutive linear thread ids (x fastest). Warp
///             collectives wait for every lane of their member mask and
///             then compute all lanes' results at once, which is what the
///             .sync semantics promise:
///               shfl.sync.{bfly,down,up,idx}.{i32,f32}[p] (member mask,
///                 clamp and segment mask as in the PTX ISA; reading a lane
///                 outside the mask is an error, not an undefined value),
///                 and the legacy non-.sync shfl (the whole warp);
///               vote.sync.{all,any,uni,ballot} and the legacy votes;
///               bar.warp.sync;
///               ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].b16 (row
///                 addresses must be 16-byte aligned);
///               mma.sync m16n8k16 (f16 -> f32, bf16 -> f32), m16n8k8
///                 (f16 -> f32, bf16 -> f32, tf32 -> f32), m8n8k4 f64,
///                 row.col, with the PTX ISA's fragment layouts.
///             Lanes of a warp are otherwise independent (as with Volta's
///             independent thread scheduling): code that relies on
///             implicit warp-synchronous execution without __syncwarp is
///             not emulated as lockstep.
///   Numerics  Host arithmetic is IEEE like the GPU's without fast-math and
///             flush-to-zero (no FMA contraction on either side). mma
///             multiplies exactly and adds in double, rounding the result
///             once to float: real tensor cores may round differently, so
///             tests need tolerances there. cvt.rna.tf32 (f2tf32.rna) is
///             bit exact. libdevice calls (__nv_sinf, ...) and libm calls
///             run the host's libm: results may differ from libdevice's by
///             a few ulp.
///   Registers %tid, %ntid, %ctaid, %nctaid (x, y, z), %laneid, %warpid
///             (linear tid / 32), %warpsize, %lanemask_{eq,le,lt,ge,gt}.
///
/// WHAT IT DOES NOT MODEL
///
///   No memory model beyond barriers (the fibers of a block interleave only
///   at barriers and warp collectives, so data races are never observed,
///   let alone detected); no timing, occupancy, register or cache limits;
///   no async copies, mbarriers, clusters, textures, printf; no partial
///   barriers (barrier.sync.cnt with fewer threads than the block); no
///   bounds checks on global memory (a wild pointer crashes the test);
///   performance counters are not meaningful. Kernel `maxntid`/`reqntid`
///   annotations are checked against the block size, and the block size
///   against 1024 threads.
///
/// Feed it IR before libdevice is linked (calls of __nv_* functions):
/// libdevice's own bodies use NVVM intrinsics (llvm.nvvm.fma.rn.f, ...,
/// __nvvm_reflect) that are not emulated. Allocas must be in address space
/// 0 (the host data layout's).
///
/// Anything it does not know fails loudly when the module is loaded: an
/// llvm.nvvm.* intrinsic that is not listed above, inline assembly, a call
/// of an external function that is neither libdevice's (__nv_*) with a
/// libm counterpart nor a libm function, an address space outside 0-5. A
/// failure while a kernel runs (divergent collectives, a deadlock, a bad
/// shuffle source, a misaligned ldmatrix) throws EmulatorError from
/// launch() with the block and thread.
///
/// Usage:
///
///   GPUEmulator emu;
///   emu.loadIR(irText);   // e.g. gemmLLVMIR(spec, "sm_80", true)
///   emu.launch("thjit_gemm_f32_tiled", {gx, gy, 1}, {256, 1, 1}, 0,
///              {A, B, C, M, N, K, ...});
///
/// Arguments are checked against the kernel's parameters: pointers for
/// pointer parameters, integers (any C++ integer type, range-checked) for
/// integer parameters, float for float and double for double.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_CODEGEN_GPUEMULATOR_H
#define THJIT_UNITTESTS_CODEGEN_GPUEMULATOR_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace thjit::test {

/// Anything the emulator cannot load or run, with what and where.
class EmulatorError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// One kernel argument: a host pointer or a scalar, by its C++ type.
class KernelArg {
public:
  enum class Kind { Pointer, Int, Float, Double };

  template <class T> KernelArg(T *p) : kind(Kind::Pointer) {
    bits = reinterpret_cast<uintptr_t>(p);
  }
  KernelArg(std::nullptr_t) : kind(Kind::Pointer) {}
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  KernelArg(T v) : kind(Kind::Int), isSigned(std::is_signed_v<T>) {
    bits = static_cast<uint64_t>(v); // sign-extended for signed types
  }
  KernelArg(float v) : kind(Kind::Float), f32(v) {}
  KernelArg(double v) : kind(Kind::Double), f64(v) {}

  Kind kind;
  bool isSigned = false;
  uint64_t bits = 0;
  float f32 = 0;
  double f64 = 0;
};

/// What launches did, summed over all of them (for tests of the tests).
struct EmulatorStats {
  uint64_t blocks = 0, threads = 0;
  uint64_t barriers = 0;    ///< block-wide barriers completed
  uint64_t collectives = 0; ///< warp collectives completed
};

class GPUEmulator {
public:
  struct Options {
    /// Host threads running blocks; 0: one per core.
    unsigned hostThreads = 1;
    /// Run a block's threads in reverse order (highest tid first).
    bool reverse = false;
    /// The byte shared memory holds at the start of every block.
    uint8_t sharedFill = 0xFF;
    /// Stack of each emulated thread (kernels' unoptimized IR spills a
    /// lot); only what is touched is committed.
    size_t stackBytes = 512 * 1024;
    /// Run LLVM's O2 on the host module before JIT compilation (slower to
    /// load, faster to run).
    bool optimizeHost = false;
    /// Largest static + dynamic shared memory per block (sm_90: 227 KiB).
    size_t maxSharedBytes = 227 * 1024;
  };

  GPUEmulator();
  explicit GPUEmulator(Options options);
  ~GPUEmulator();
  GPUEmulator(const GPUEmulator &) = delete;
  GPUEmulator &operator=(const GPUEmulator &) = delete;

  /// Loads a module as LLVM IR text (an NVPTX module: its triple and data
  /// layout are replaced by the host's). One module per emulator.
  void loadIR(const std::string &text);
  /// Loads a module (of `ctx`, which the emulator takes over too).
  void loadModule(std::unique_ptr<llvm::Module> m,
                  std::unique_ptr<llvm::LLVMContext> ctx);

  /// The kernels of the loaded module (ptx_kernel functions, or those
  /// !nvvm.annotations marks as kernels), by name.
  std::vector<std::string> kernels() const;
  /// Bytes of static shared memory of the loaded module (all its
  /// addrspace(3) definitions, laid out one after another).
  size_t staticSharedBytes() const;

  /// Runs `kernel` on grid x block threads, with `dynamicSharedBytes` of
  /// extern shared memory, to completion. EmulatorError on a bad launch
  /// (unknown kernel, arguments not matching the parameters, an empty or
  /// too large grid or block, too much shared memory) and on a failure
  /// inside the kernel (see the file comment).
  void launch(const std::string &kernel, Dim3 grid, Dim3 block,
              size_t dynamicSharedBytes, const std::vector<KernelArg> &args);

  /// launch() with the arguments as cuLaunchKernel takes them: params[i]
  /// points at argument i, read as the kernel's parameter i's type.
  void launchParams(const std::string &kernel, Dim3 grid, Dim3 block,
                    size_t dynamicSharedBytes, void *const *params);

  const EmulatorStats &stats() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace thjit::test

#endif
