//===- Gemm.h - Matrix-product kernels for NVIDIA GPUs ----------*- C++ -*-===//
///
/// \file
/// GPU kernels for C = alpha * A @ B + beta * C, generated as LLVM IR and
/// printed as PTX by LLVM's NVPTX back end. Three paths:
///
///   Tiled       float32 or float64: a shared-memory tiled kernel on the
///               CUDA cores (FMA), each thread a register micro-tile.
///   TensorCore  float16 or bfloat16 inputs, float32 accumulation, with
///               `mma.sync.m16n8k16` and `ldmatrix` (sm_80 and later).
///   TF32        float32 inputs rounded to tf32 (cvt.rna), float32
///               accumulation, `mma.sync.m16n8k8` (sm_80 and later). Opt-in
///               (CompileOptions::allowTF32, a script's allow_tf32=True):
///               it is less exact than Tiled.
///
/// Each can be batched (a batch stride per operand, gridDim.z over the
/// batch), and each comes in two sizes of tile: large (the fastest for big
/// products) and small (`_small`: 4 to 16 times as many blocks, for
/// products too small to fill the GPU with large tiles). This header names no LLVM type (llvm::Module and llvm::Function
/// are only forward-declared), so tests may include it.
///
/// THE KERNEL ABI (every path; `T` is the element type in memory: half,
/// bfloat16 (raw 16 bits), float or double; `S` the scalar type of alpha and
/// beta: float for Float16, BFloat16 and Float32, double for Float64):
///
///   #  parameter  PTX type  what it is
///   0  A          .u64      const T *, global memory, read only
///   1  B          .u64      const T *, global memory, read only
///   2  C          .u64      T *, global memory; must not overlap A or B
///   3  M          .u64 (i64) rows of op(A) and C
///   4  N          .u64 (i64) columns of op(B) and C
///   5  K          .u64 (i64) columns of op(A), rows of op(B)
///   6  lda_r      i64       element (i, k) of op(A) is
///   7  lda_c      i64         A[i * lda_r + k * lda_c]
///   8  ldb_r      i64       element (k, j) of op(B) is
///   9  ldb_c      i64         B[k * ldb_r + j * ldb_c]
///  10  ldc_r      i64       element (i, j) of C is
///  11  ldc_c      i64         C[i * ldc_r + j * ldc_c]
///  12  alpha      S
///  13  beta       S
///  batched kernels only:
///  14  batch      i64       the number of products
///  15  stride_a   i64       product z reads A + z * stride_a,
///  16  stride_b   i64         B + z * stride_b
///  17  stride_c   i64         and writes C + z * stride_c
///  then, at 14 (18 when batched):
///      C_in       .u64      const T *, read only: what beta scales
///      ldci_r     i64       element (i, j) of C_in is
///      ldci_c     i64         C_in[i * ldci_r + j * ldci_c]
///  batched kernels only:
///      stride_ci  i64       product z reads C_in + z * stride_ci
///  TensorCore and TF32 read C_in at C's strides (ldci_r and ldci_c must
///  equal ldc_r and ldc_c): strides of its own would cost the registers
///  those kernels do not have to spare.
///
/// Strides are in elements, of any sign (a transposed operand is just its
/// strides swapped); every index is computed in 64 bits. M, N, K (and batch)
/// may be anything >= 0. The elements of C must not overlap one another
/// (no zero strides in C when M, N > 1); C_in's may (a row broadcast down
/// C has ldci_r = 0). C must not overlap C_in: for BLAS's C = alpha A B +
/// beta C in place, copy C first or pass a C_in apart.
///
/// Semantics, as reference BLAS with C's old value in C_in: C = alpha *
/// sum_k op(A)(i,k) op(B)(k,j) + beta * C_in. C is only written. When beta
/// == 0, C_in is never read (it may hold NaN, or be null). When
/// alpha == 0, A and B are not read, and when K == 0 the product is 0, so
/// then C = beta * C_in. Products accumulate with fused multiply-adds, in the
/// accumulator type: float for Float16, BFloat16, TF32 and Float32, double
/// for Float64. Outputs are stored in T: for Float16 and BFloat16, alpha *
/// acc + beta * C_in is computed in float and rounded once (to nearest even).
///
/// LAUNCH (gemmTiling() gives the numbers below; blockM x blockN is the
/// tile of C one block computes):
///
///   block  (threads, 1, 1), threads = 256 for every path (8 warps). The
///          kernel is compiled for exactly that (.maxntid 256).
///   grid   (ceil(N / blockN), ceil(M / blockM), batch), batch = 1 when not
///          batched. Block (x, y, z) computes the tile of C at rows
///          y * blockM, columns x * blockN, of product z; blocks past an
///          edge do nothing, so a larger grid is correct too. CUDA limits y
///          and z to 65535 (M <= 65535 * blockM, batch <= 65535): for more,
///          launch several times with A, C (and batches) offset. Launch
///          nothing when M, N or batch is 0 (a grid dimension of 0 is
///          invalid); K == 0 is fine.
///   shared the kernel uses static shared memory only (gemmTiling's
///          staticSharedBytes, under 48 KiB): launch with 0 bytes of dynamic
///          shared memory (GPUKernel::sharedBytes is 0).
///
///   Tiled f32: blockM x blockN x blockK = 128 x 128 x 8, 16 x 16 threads
///              of 8 x 8 elements; 16896 bytes of shared memory.
///   Tiled f64: 64 x 64 x 8, 16 x 16 threads of 4 x 4; 16896 bytes.
///   TensorCore: 128 x 128 x 32, 8 warps of 64 x 32 (2 x 4 warps), 4 x 4
///              mma tiles of 16 x 8 per warp; 37888 bytes.
///   TF32:      128 x 128 x 16, warps as TensorCore; 37888 bytes.
///
///   Small tiles (spec.small, kernel names ending in `_small`): the same
///   256 threads, each with fewer results.
///   Tiled f32 small: 32 x 32 x 32, 16 x 16 threads of 2 x 2; 18432 bytes.
///   Tiled f64 small: 32 x 32 x 16, 16 x 16 threads of 2 x 2; 17408 bytes.
///   TensorCore small: 64 x 64 x 32, 8 warps of 32 x 16, 2 x 2 mma tiles
///              per warp; 19456 bytes.
///   TF32 small: 64 x 64 x 16, warps as TensorCore small; 19456 bytes.
///
///   Why these: a product whose large tiles give fewer blocks than the GPU
///   has multiprocessors leaves most of them idle (an H200 has 132; the
///   MLP's 60 x 784 by 784 x 500 makes 4 blocks of 128 x 128). A 32 x 32
///   tile is the smallest at which each thread still has a 2 x 2
///   micro-tile (two shared loads per four FMAs) with all 256 threads busy;
///   it gives 16 times the blocks of 128 x 128 (32 blocks there, 400 for the
///   784 x 60 by 60 x 500 of its gradient). Small products are latency
///   bound, so the small tiles keep 256 threads (more warps to hide memory
///   latency) and take a K tile of 32 (f32) so that a long K needs a
///   quarter of the K steps and barriers. The mma paths halve each side
///   (64 x 64, 4 times the blocks): one ldmatrix.x4 of B still feeds two
///   n8 tiles, and every thread still loads exactly one slot of A and one
///   of B per K tile. A launcher picks per product: the large tiles when
///   their grid has at least 2 blocks per multiprocessor, else the small
///   ones (lib/Runtime/GPUExecutable.cpp, Call::product).
///
///   A and B may be the same memory (both are only read, through the
///   non-coherent cache: neither may change during the kernel).
///
/// FAST PATHS (chosen inside the kernel at run time, per operand and per
/// launch; the slow path is always correct):
///   - An operand (A or B) is read with 128-bit loads (ld.global.nc.v4 /
///     .v2) when one of its two strides is 1, the other stride is a multiple
///     of V = 16 / sizeof(T) elements, its pointer is 16-byte aligned, and
///     (batched) its batch stride is a multiple of V. A vector of V
///     elements at the edge of the matrix that is not wholly inside it is
///     read element by element. Otherwise every element is read alone, with
///     the same bounds checks.
///   - C (Tiled only) is written, and C_in read, VL elements at a time
///     (VL = V: 128 bits in the large kernels; VL = 2: 64 bits (f32) or
///     128 bits (f64) in the small ones) when for both (C_in only when
///     beta != 0) ld*_c == 1, ld*_r and the batch stride are multiples of
///     VL and the pointer is aligned to VL elements, else element by
///     element.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_CODEGEN_GPU_GEMM_H
#define THJIT_LIB_CODEGEN_GPU_GEMM_H

#include "thjit/CodeGen/GPU.h"
#include "thjit/IR/Node.h"

#include <optional>
#include <string>

namespace llvm {
class Function;
class Module;
} // namespace llvm

namespace thjit::codegen {


/// The element type of A, B and C. (thjit's DType has no bfloat16.)
enum class GemmType { Float16, BFloat16, Float32, Float64 };

/// Which kernel to generate. Valid combinations: Tiled with Float32 or
/// Float64, TensorCore with Float16 or BFloat16, TF32 with Float32; each
/// batched or not, with large or small tiles.
struct GemmKernelSpec {
  GemmType type = GemmType::Float32;
  enum class Path { Tiled, TensorCore, TF32 } path = Path::Tiled;
  bool batched = false;
  /// The small tiles (see LAUNCH above): the name ends in "_small".
  bool small = false;
};

/// The launch numbers of a spec's kernel (see LAUNCH above).
struct GemmTiling {
  int blockM = 0, blockN = 0, blockK = 0;
  int threads = 0;
  int staticSharedBytes = 0;
};

/// ValueError for an invalid combination.
GemmTiling gemmTiling(const GemmKernelSpec &spec);

/// The default kernel name, e.g. "thjit_gemm_f32_tiled",
/// "thjit_gemm_bf16_mma_batched", "thjit_gemm_f32_tf32",
/// "thjit_gemm_f64_tiled_batched_small".
std::string gemmKernelName(const GemmKernelSpec &spec);

/// The element type of a DType (Float16, Float32, Float64), for a product
/// of that dtype; ValueError for others.
GemmType gemmTypeOf(DType t);

/// Adds kernel `name` for `spec` to m (whose target triple and data layout
/// are NVPTX's; the TensorCore and TF32 paths need sm_80 or later) and
/// fills info: kind Gemm, name, blockSize = threads, sharedBytes = 0 (the
/// shared memory is static), numOperands 2 (A, B), numResults 1 (C), ndim
/// 2, operandNdims {2, 2}, tileM = blockM, tileN = blockN, batched. Besides the kernel it adds to m an internal
/// shared-memory global `<name>_smem` and a `maxntidx` entry in
/// !nvvm.annotations (`.maxntid threads`). Nothing external is referenced:
/// no libdevice. ValueError for an invalid spec.
llvm::Function *emitGemmKernel(llvm::Module &m, const std::string &name,
                               const GemmKernelSpec &spec, GPUKernel &info);

/// The kernel that computes node n, if one does: a dot, gemm or
/// batched_dot of float32 or float64 (Tiled) or float16 (TensorCore, which
/// needs sm_80 or later) whose factors (matrices, or batches of them) and
/// gemm's C are of the result's dtype. A product with a vector factor has
/// none: a tile of C would be one column wide, so the GPU plan computes it
/// as its sum of products, a reduction (productAsSumFor, Plan.h). With options.allowTF32,
/// float32 takes the TF32 path, which needs sm_80 or later too: below
/// that, a caller falls back to Tiled (tf32 is a permission, not a
/// demand). Whether there is a kernel does not depend on the options.
/// The spec is for the large tiles (small is false).
std::optional<GemmKernelSpec> gemmSpecFor(const Node &n,
                                          const CompileOptions &options = {});

/// The PTX of a module holding only gemmKernelName(spec), optimized (O3
/// with the NVPTX target's passes) for `arch` at PTX ISA kPTXVersion.
/// ValueError for an unknown arch (checkGPUArch), an invalid spec, or the
/// TensorCore and TF32 paths below sm_80.
std::string gemmPTX(const GemmKernelSpec &spec, const std::string &arch);

/// The LLVM IR, as text, of the module gemmPTX compiles: before its O3
/// pipeline (optimized false) or after it (true), with the same checks.
/// For tests: the host emulator (unittests/CodeGen/GPUEmulator.h) runs it.
std::string gemmLLVMIR(const GemmKernelSpec &spec, const std::string &arch,
                       bool optimized);

} // namespace thjit::codegen

#endif
