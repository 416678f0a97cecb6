//===- thjit/CodeGen/GPU.h - PTX for NVIDIA GPUs ----------------*- C++ -*-===//
///
/// \file
/// The first part of the GPU back end: the element-wise steps of a graph
/// (single ops and fused `composite` nodes, several results included), its
/// reductions and its softmax / log_softmax nodes become NVPTX kernels,
/// generated in process by LLVM's NVPTX back end from the same scalar
/// emitter as the CPU loops, so that both compute the same thing. Nothing
/// here loads or runs code on a device (see docs/gpu-backend.md). No LLVM
/// type appears here, as in CPU.h.
///
/// Every element-wise step gets a grid-stride kernel over the flat index of
/// its result, and also a contiguous one unless an operand is broadcast
/// along some of its dims but not all. Kernel parameters, in
/// order (pointers are global memory, elements of the value's dtype; bool is
/// one byte):
///
///   operands...   one pointer per operand, read only; or, for a scalar
///                 on the host the plan passes by value (scalarsByValue in
///                 Transfer.h), its bits zero-extended to an i64
///   results...    one pointer per result: contiguous, row-major, never
///                 overlapping an operand
///   status        pointer to an i32 the kernel sets to 1 when an element
///                 fails (a signed integer to a negative power); else
///                 untouched
///   n             i64, the number of elements of the result
///   strided only: the result's shape as a strided index of rank R, the
///                 result's rank: sizes[R], then dividers[R] (i64 each; see
///                 gpuDivider), then for each operand R strides in elements
///                 (i64, any sign; 0 along a dim it is broadcast in).
///
/// The contiguous kernel reads operand k at the flat index (element 0 for an
/// operand broadcast along every dim): the launcher uses it when every
/// operand is contiguous or a single element. The strided kernel reads
/// operand k at the sum of coordinate * stride over the dims, so a launcher
/// may pass any shape of the same flat order: with dims merged where every
/// operand steps through them as one, and padded with leading dims of size
/// 1, which keeps the divisions per element few. While n < 2^31 the
/// coordinates take 32-bit multiply-high and shift instructions, not
/// division.
///
/// Reductions (GPUKernelKind::Reduce, lib/CodeGen/GPU/Reduce.cpp). A Reduce
/// step reduces x: operand 0, or the element-wise producer fused into the
/// step, computed per element from the step's operands (x then has no
/// memory, only a shape). Let R be x's rank, M the number of results (the
/// product of x's kept dims; 1 when none is kept) and K the elements per
/// result (the product of the reduced dims). The step's kernels, in order:
/// the main kernel for memory in the order of x's dims, `<base>_rows` (x's
/// last dim reduced, or R == 0) or `<base>_cols` (last dim kept); then the
/// other of the two when x has kept and reduced dims and an operand of x's
/// rank that the kernels read may be a transposed view (a dimshuffle that
/// reorders dims made it, or a view of one); then `<base>_finish`. `_rows`
/// and `_cols` take the same parameters and compute the same results: they
/// differ in which threads read which elements. `_rows` puts the G threads
/// of a result on adjacent lanes, which read adjacent elements when x's
/// innermost dim in memory is its last reduced one; `_cols` puts adjacent
/// results on adjacent lanes, which do when it is the last kept one. All
/// take blockSize = 256 threads per block and no dynamic shared memory (what
/// they use is static, <= 4 KiB). Any grid of >= 1 blocks is correct
/// (grid-stride loops over work items). The main kernels' parameters, in
/// order:
///
///   operands...   one pointer per operand, read only (or by value, as
///                 for element-wise kernels)
///   out           M elements of the result's dtype, contiguous, in the
///                 row-major order of x's kept dims (keepdims or not)
///   scratch       when P > 1: 8 * M * P bytes (16 * M * P for argmax and
///                 argmin), 8-byte aligned; else unused (may be null)
///   status        pointer to an i32 set to 1 when the producer fails on an
///                 element (a signed integer to a negative power); else
///                 untouched
///   G             i64, threads per result: a power of two, 1 to 256 (other
///                 values are clamped to that range, then rounded down to a
///                 power of two). A block works on 256 / G results.
///   P             i64, pieces per result (< 1 means 1). P == 1: the kernel
///                 writes `out`. P > 1: each result's K elements are cut
///                 into P runs of ceil(K / P), and the kernel writes each
///                 run's partial result in `scratch` for `_finish`.
///   shape[R]      x's shape, i64 each
///   strides...    for each operand, its strides in elements (i64, one per
///                 dim of the operand, any sign), as the strided element-wise
///                 kernel's: lower ranks line up with x's trailing dims, and
///                 dims the operand's type broadcasts are not read.
///
/// Work items are (256 / G results, one of P pieces): ceil(M / (256 / G)) * P
/// of them; a grid of that many blocks (or fewer: each block loops) covers
/// them. `_finish` takes (out, scratch, G, M, P): the same out and scratch,
/// the same M and P, and its own G (threads per result over the P partials,
/// say the power of two >= P, at most 256); its work items are
/// ceil(M / (256 / G)). With M == 0 there is nothing to launch. With K == 0
/// the kernels write the identity (0, 1, true, false), so the launcher must
/// raise "zero-size array to a reduction with no identity" for max, min,
/// argmax and argmin first, as the CPU does.
///
/// A launcher can pick the main kernel by the strides of the first operand
/// the kernel reads that has x's shape and some dim of more than one
/// element and a stride other than 0. Of those dims, the one of least
/// |stride| is innermost in memory: `_rows` when it is x's last reduced dim
/// of more than one element, `_cols` when it is the last kept one, else
/// (or when the step has one main kernel) the first. Then, with S
/// multiprocessors: G = the power of two >= ceil(K / 8), at most 256 (for
/// `_cols` at most 8 while M >= 32, so that a warp reads 32 adjacent
/// results); then when the work items are fewer than 2 * S and K >= 4096,
/// split: G = 256, P = min(ceil(2 * S / work items), ceil(K / 2048)).
/// Results do not depend on the main kernel, G, P or the grid but through
/// the order of float sums and products.
///
/// Semantics are the CPU's (docs/cpu-backend.md): float sums and products
/// accumulate in double (float64 elements summed with compensation in each
/// thread), integer ones in the 64-bit result type (wrapping), all and any
/// in bool, max and min in the element type, NaN-propagating. argmax and
/// argmin give the first NaN, else the first extreme element, as an int64
/// flat (row-major) index over the reduced dims: over every dim when the
/// node has no axis.
///
/// Matrix products (GPUKernelKind::Gemm, lib/CodeGen/GPU/Gemm.h has the
/// ABI): dot, gemm and batched_dot of float32, float64 (tiled kernels;
/// float32 on tf32 tensor cores with CompileOptions::allowTF32 on sm_80 and
/// later) or float16 (tensor cores, sm_80 and later) vectors and matrices whose
/// factors (and gemm's C) have the result's dtype. Two kernels per element
/// type, shared by every step that uses it: the large tiles, then the
/// small ones (`_small`), for products whose large tiles would leave
/// multiprocessors idle; the launcher picks one per call.
///
/// softmax and log_softmax (GPUKernelKind::Softmax), over the last dim of
/// x of rank R >= 1 (rows: the product of the others; N: the last size):
/// one kernel `<base>_rows`, blockSize 256, no dynamic shared memory, any
/// grid; 256 / G rows per block, ceil(rows / (256 / G)) work items.
/// Parameters: x (read only), out (contiguous, x's shape, the result's
/// dtype), G (i64, threads per row, as for reductions; say the power of two
/// >= ceil(N / 4), at most 256), x's shape[R], x's strides[R] (in
/// elements). Computed in double, as the reference kernel: m = the row's
/// maximum (NaN if an element is, 0 if infinite), s = sum(exp(x - m)), then
/// exp(x - m) / s or (x - m) - log(s). Nothing can fail: no status word.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_GPU_H
#define THJIT_CODEGEN_GPU_H

#include "thjit/CodeGen/CPU.h"
#include "thjit/IR/Graph.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace thjit::codegen {

/// The PTX ISA version of the emitted PTX, as LLVM's `+ptxNN` feature: 8.5,
/// the newest LLVM 19 can write. CUDA 13's ptxas accepts it (it reads up to
/// 9.0); a driver loading it needs CUDA 12.5 or later.
constexpr int kPTXVersion = 85;

/// The oldest PTX ISA version that has `arch` (as LLVM 19's NVPTX back end
/// knows it: sm_75 6.3, sm_80 7.0, sm_86 7.1, sm_87 7.4, sm_89 and sm_90
/// 7.8, sm_90a 8.0), as `+ptxNN` numbers it.
int minPTXVersion(const std::string &arch);

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

/// What a kernel computes, which fixes its parameters and how it is
/// launched (documented where each kind is generated).
enum class GPUKernelKind {
  Elemwise, ///< the grid-stride kernels described above; any launch shape
  Reduce,   ///< a reduction step (lib/CodeGen/GPU/Reduce.cpp)
  Softmax,  ///< softmax / log_softmax rows (lib/CodeGen/GPU/Reduce.cpp)
  Gemm,     ///< a matrix product (lib/CodeGen/GPU/Gemm.cpp)
  Copy,     ///< a strided copy, take, put or scatter-add (compileCopyKernels)
  Sum,      ///< the sum of split-K partial products (compileSplitKKernels)
};

/// Which of a Reduce step's kernels a kernel is (see the reductions' ABI
/// above).
enum class GPUReducePart {
  None,    ///< not a Reduce kernel
  Rows,    ///< `_rows`: an output's G threads are adjacent lanes
  Columns, ///< `_cols`: adjacent lanes work on adjacent outputs
  Finish,  ///< `_finish`: combines the partial results of a split launch
};

/// One kernel of a PTX module.
struct GPUKernel {
  GPUKernelKind kind = GPUKernelKind::Elemwise;
  std::string name;
  /// The threads per block it must be launched with (0: any), and the
  /// bytes of dynamic shared memory per block it needs.
  int blockSize = 0;
  int sharedBytes = 0;
  /// The plan step it computes (numbered as `--emit=plan` numbers them);
  /// -1 for the runtime's own kernels (compileCopyKernels,
  /// compileSplitKKernels).
  int step = 0;
  /// The flat kernel (every operand contiguous or one element), else the
  /// strided one.
  bool contiguous = false;
  int numOperands = 0, numResults = 0;
  /// The result's rank (the strided kernel's shape parameters).
  int ndim = 0;
  /// Each operand's rank (the strided kernel's stride parameters).
  std::vector<int> operandNdims;
  /// Reduce kernels: rows, columns or finish.
  GPUReducePart reducePart = GPUReducePart::None;
  /// Gemm kernels (ABI in lib/CodeGen/GPU/Gemm.h): the tile of C a block
  /// computes (the grid is ceil(N / tileN) x ceil(M / tileM) x batch), and
  /// whether the kernel takes a batch, and whether it is a tensor-core
  /// path (which reads C_in at C's strides).
  int tileM = 0, tileN = 0;
  bool batched = false, tensorCores = false;
};

/// The PTX of a graph for one architecture.
struct PTXModule {
  std::string arch;
  int ptxVersion = kPTXVersion;
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

/// Generates the kernels of g's element-wise, reduction and softmax steps
/// for `arch` (checked as checkGPUArch does). Transcendentals call NVIDIA's libdevice, linked in
/// when found (libdevicePath()); without it, a step that needs it is listed
/// in hostSteps with the function it lacks. `options.updates` orders the
/// steps as the CPU plan does. CompileError when LLVM fails.
///
/// `ptxVersion` is the PTX ISA to write (a GPU runtime passes the minimum of
/// kPTXVersion and what its driver reads): ValueError when it is above
/// kPTXVersion or below minPTXVersion(arch).
///
/// With a cache, a module compiled before for the same graph, options,
/// architecture, ISA, libdevice file, host and versions is read from it
/// instead (and a new one stored), except while a PTXListener is set: it
/// sees every module compiled.
PTXModule compileForPTX(const Graph &g, const std::string &arch,
                        const CompileOptions &options = {},
                        int ptxVersion = kPTXVersion,
                        const ObjectCache *cache = nullptr);

/// A PTXModule as text, and back (nullopt for text that is not one: a
/// corrupt or old cache entry).
std::string serializePTXModule(const PTXModule &m);
std::optional<PTXModule> parsePTXModule(const std::string &text);

/// compileForPTX(g, arch, options).ptx.
std::string emitPTX(const Graph &g, const std::string &arch = gpuArch(),
                    const CompileOptions &options = {});

/// A strided kernel's divider of a dim of `size` elements, for sizes 1 to
/// 2^31 (else 0, which a kernel reads only when n >= 2^31): the magic
/// number m in the low 32 bits and the shift s in the high ones, such that
/// q = (umulhi(i, m) + i) >> s is i / size for every i < 2^31
/// (Granlund and Montgomery's round-up method).
uint64_t gpuDivider(int64_t size);

/// The runtime's copy kernels, the same for every graph: for each element
/// size in bytes (1, 2, 4, 8, 16) and rank R from 1 to kCopyRank, a kernel
/// copyKernelName(bytes, R) (GPUKernelKind::Copy, any launch shape, a
/// grid-stride loop) with the parameters
///
///   src           pointer, read only
///   dst           pointer, overlapping no element of src
///   n             i64, the elements to copy
///   sizes[R], dividers[R]   the shape, as the strided element-wise kernel's
///   srcStrides[R], dstStrides[R]   in elements, any sign (0 broadcasts src)
///
/// which copies src's element at each coordinate to dst's. A launcher
/// copies arrays of higher rank (after merging dims) in pieces. The same
/// listener as compileForPTX's sees the module.
///
/// The kernels of advanced indexing take the same parameters with `rows`
/// after src: a read-only pointer to shape[0] int64 element offsets (each
/// in range: the launcher resolves the index on the host). In the array
/// the rows index, coordinate c is at rows[c0] + the sum of c1, ... times
/// its strides (its dim-0 stride is not read):
///
/// - takeKernelName(bytes, R): dst[c] = src at rows[c0]; c1, ... (a gather);
/// - putKernelName(bytes, R): dst at rows[c0]; c1, ... = src[c], skipping
///   the c0 whose row is INT64_MIN (the launcher drops repeated rows so
///   that the last write wins, as NumPy's);
/// - scatterAddKernelName(t, R), for every dtype t: dst at rows[c0]; c1,
///   ... += src[c] atomically, so rows may repeat (the order of float sums
///   is then the device's). Integers wrap, booleans add as `or`, complex
///   numbers part by part; unsigned integers share the kernel of the
///   signed ones of their width.
constexpr int kCopyRank = 4;
std::string copyKernelName(int bytes, int rank);
std::string takeKernelName(int bytes, int rank);
std::string putKernelName(int bytes, int rank);
std::string scatterAddKernelName(DType t, int rank);
///
/// The runtime's modules (this one and the split-K module below) are
/// compiled once per process, at their first use; with a cache, once per
/// machine for the same thjit binary, LLVM, architecture and PTX ISA
/// (not while a PTX listener listens: it hears every module it asks for).
PTXModule compileCopyKernels(const std::string &arch, int ptxVersion = kPTXVersion,
                             const ObjectCache *cache = nullptr);

/// The runtime's split-K module, for products of float32 or float64 whose
/// result has too few tiles to fill the GPU and whose K is long: the
/// batched GEMM kernels of small tiles (GemmKernelSpec batched and small,
/// Tiled path; ABI in lib/CodeGen/GPU/Gemm.h; splitKGemmKernelName(t))
/// compute the products of K's pieces into a scratch buffer, then
/// splitKSumKernelName(t) (kind Sum,
/// any launch shape, a grid-stride loop) with the parameters
///
///   partials  pointer, read only: S arrays of n elements of t, one after
///             the other
///   c         pointer: n elements of t, contiguous
///   n, S      i64
///   alpha, beta   i64, the bits of doubles
///
/// sets c[i] = alpha * (the sum over s of partials[s * n + i]) + beta *
/// c[i] (c not read when beta is 0), in t's precision.
PTXModule compileSplitKKernels(const std::string &arch, int ptxVersion = kPTXVersion,
                               const ObjectCache *cache = nullptr);
std::string splitKGemmKernelName(DType t);
std::string splitKSumKernelName(DType t);

/// Where libdevice is read from: $THJIT_LIBDEVICE when set, else
/// $CUDA_HOME/nvvm/libdevice/libdevice.10.bc when it exists, else
/// /usr/local/cuda/nvvm/libdevice/libdevice.10.bc. The file may not exist.
std::string libdevicePath();

/// For tests that run kernels without a GPU (unittests/Runtime/
/// EmulatedDevice.h): when set, compileForPTX calls it with each module's
/// PTX text and the LLVM IR it was made from, taken before libdevice is
/// linked (transcendentals are still calls of __nv_ functions) and before
/// optimization. Process-wide; pass an empty function to unset.
using PTXListener = std::function<void(const std::string &ptx, const std::string &ir)>;
void setPTXListener(PTXListener listener);

} // namespace thjit::codegen

#endif
