//===- GPUKernels.h - What the GPU runtime's calls share --------*- C++ -*-===//
///
/// \file
/// The target to generate PTX for on the current device, loaded modules
/// shared by every function with the same PTX, dimension merging for
/// strided kernels, and device copies with the copy kernels
/// (codegen::compileCopyKernels), compiled and loaded once per process.
/// Internal to lib/Runtime.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_RUNTIME_GPUKERNELS_H
#define THJIT_LIB_RUNTIME_GPUKERNELS_H

#include "thjit/CodeGen/GPU.h"
#include "thjit/Runtime/CUDA.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace thjit::gpu {

/// The architecture and PTX ISA to generate for the device: the newest
/// architecture LLVM 19 targets at or below the device's (PTX runs on
/// later GPUs) whose PTX ISA the driver reads, and that ISA or LLVM's, the
/// older. RuntimeError for drivers before CUDA 11 (PTX ISA 7.0).
std::pair<std::string, int> targetFor(const cuda::DeviceInfo &device);

/// PTX loaded once per process: functions with the same PTX share the
/// module (the driver compiles PTX to machine code at load).
std::shared_ptr<cuda::Module> loadShared(const std::string &ptx);

/// A module of the runtime's own kernels (codegen::compileCopyKernels,
/// compileSplitKKernels) for the current device, loaded at its first use in
/// the process (compiled then, or read from the compile cache).
struct RuntimeKernels {
  std::shared_ptr<cuda::Module> module;
  std::map<std::string, void *> functions;
  std::map<std::string, codegen::GPUKernel> info;
  unsigned maxBlocks = 1; ///< for grid-stride loops: 32 per multiprocessor
};
const RuntimeKernels &runtimeKernels(codegen::PTXModule (*compile)(const std::string &, int,
                                                                   const codegen::ObjectCache *));

/// The strides of `a` over `shape` by NumPy's broadcast: a's dims line up
/// with the last ones of shape, and a dim of size 1 (or a missing one) is
/// read at 0.
Shape broadcastStrides(const cuda::DeviceArray &a, const Shape &shape);

/// Merges adjacent dims that every array steps through as one, and drops
/// dims of size 1: the same elements in the same row-major order in fewer
/// dims. `strides` holds one stride per dim of `shape` for each array.
void mergeDims(Shape &shape, std::vector<Shape> &strides);

/// Writes src, broadcast to dst's shape by NumPy's rule (the caller has
/// checked that it is), into dst's elements, on the device. They have the
/// same dtype and do not overlap.
void copyInto(const cuda::DeviceArray &dst, const cuda::DeviceArray &src);

/// The moves of advanced indexing (codegen::selectAdvanced), between an
/// array of (rows.size(), src's dims) and sub-arrays of `table` at the
/// element offsets `rows` (a contiguous int64 vector, in range: the caller
/// resolved them) from its element 0, stepping by table's strides. The
/// arrays share a dtype and do not overlap.
///
/// take: dst[i, ...] = table at rows[i]; put: table at rows[i] = src[i,
/// ...], skipping rows of kSkipRow (the caller drops repeats); scatterAdd:
/// table at rows[i] += src[i, ...] for every i, atomically (rows may
/// repeat).
constexpr int64_t kSkipRow = INT64_MIN;
void take(const cuda::DeviceArray &dst, const cuda::DeviceArray &table,
          const cuda::DeviceArray &rows);
void put(const cuda::DeviceArray &table, const cuda::DeviceArray &src,
         const cuda::DeviceArray &rows);
void scatterAdd(const cuda::DeviceArray &table, const cuda::DeviceArray &src,
                const cuda::DeviceArray &rows);

/// A contiguous device copy of a.
cuda::DeviceArray contiguousCopy(const cuda::DeviceArray &a);

} // namespace thjit::gpu

#endif
