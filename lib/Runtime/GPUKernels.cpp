//===- GPUKernels.cpp - What the GPU runtime's calls share ----------------===//
#include "GPUKernels.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/Runtime/CompileCache.h"
#include "thjit/Support/Error.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

namespace thjit::gpu {

std::pair<std::string, int> targetFor(const cuda::DeviceInfo &device) {
  const int ptx = std::min(codegen::kPTXVersion, cuda::ptxVersionForDriver());
  if (ptx < 70)
    throw RuntimeError("the CUDA driver " + std::to_string(cuda::driverVersion() / 1000) +
                       "." + std::to_string(cuda::driverVersion() % 1000 / 10) +
                       " is too old: thjit's GPU kernels need CUDA 11.0 or later "
                       "(PTX ISA 7.0); update the NVIDIA driver");
  const int want = device.major * 10 + device.minor;
  std::string best = "sm_70"; // PTX ISA 6.0
  for (const std::string &a : codegen::supportedGPUArchs())
    if (a.back() != 'a' && std::atoi(a.c_str() + 3) <= want &&
        codegen::minPTXVersion(a) <= ptx)
      best = a;
  return {best, ptx};
}

std::shared_ptr<cuda::Module> loadShared(const std::string &ptx) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<cuda::Module>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  std::weak_ptr<cuda::Module> &slot = loaded[ptx];
  std::shared_ptr<cuda::Module> m = slot.lock();
  if (!m)
    slot = m = cuda::Module::load(ptx);
  return m;
}

Shape broadcastStrides(const cuda::DeviceArray &a, const Shape &shape) {
  const int R = (int)shape.size(), lead = R - a.ndim();
  Shape strides(R, 0);
  for (int d = lead; d < R; ++d)
    if (!(a.shape()[d - lead] == 1 && shape[d] != 1))
      strides[d] = a.strides()[d - lead];
  return strides;
}

void mergeDims(Shape &shape, std::vector<Shape> &strides) {
  Shape merged;
  std::vector<Shape> mergedStrides(strides.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    // The outer run (size a, strides s) and this dim (size b, strides t)
    // are one dim of size a * b when s == t * b for every array.
    bool one = !merged.empty();
    for (size_t k = 0; one && k < strides.size(); ++k)
      one = mergedStrides[k].back() == strides[k][d] * shape[d];
    if (one) {
      merged.back() *= shape[d];
      for (size_t k = 0; k < strides.size(); ++k)
        mergedStrides[k].back() = strides[k][d];
      continue;
    }
    merged.push_back(shape[d]);
    for (size_t k = 0; k < strides.size(); ++k)
      mergedStrides[k].push_back(strides[k][d]);
  }
  shape = std::move(merged);
  strides = std::move(mergedStrides);
}

const RuntimeKernels &runtimeKernels(codegen::PTXModule (*compile)(const std::string &, int,
                                                                   const codegen::ObjectCache *)) {
  static std::mutex mutex;
  static std::map<decltype(compile), std::unique_ptr<RuntimeKernels>> modules;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<RuntimeKernels> &kernels = modules[compile];
  if (!kernels) {
    const cuda::DeviceInfo &device = cuda::currentDevice();
    auto [arch, ptxVersion] = targetFor(device);
    codegen::PTXModule ptx = compile(arch, ptxVersion, &CompileCache::globalForCodegen());
    auto k = std::make_unique<RuntimeKernels>();
    k->module = loadShared(ptx.ptx);
    for (const codegen::GPUKernel &kernel : ptx.kernels) {
      k->functions[kernel.name] = k->module->function(kernel.name);
      k->info[kernel.name] = kernel;
    }
    k->maxBlocks = 32u * (unsigned)std::max(1, device.multiprocessors);
    kernels = std::move(k);
  }
  return *kernels;
}

namespace {

constexpr unsigned kCopyBlock = 256;

/// What copyElements does with each element (codegen::compileCopyKernels).
enum class Move { Copy, Take, Put, ScatterAdd };

/// Moves `shape` elements of dtype t from src to dst (device addresses of
/// element 0; strides in elements, merged already). The other moves read
/// `rows` (the device address of shape[0] int64s): the offset of src's
/// (Take) or dst's (Put, ScatterAdd) sub-array c0.
void copyElements(DType t, Move move, uint64_t src, uint64_t dst, const Shape &shape,
                  const Shape &srcStrides, const Shape &dstStrides, uint64_t rows = 0) {
  const int R = (int)shape.size(), bytes = (int)itemSize(t);
  if (move == Move::Copy &&
      (R == 0 || (R == 1 && srcStrides[0] == 1 && dstStrides[0] == 1))) {
    cuda::copyOnDevice(dst, src, size_t(R ? shape[0] : 1) * bytes);
    return;
  }
  if (R > codegen::kCopyRank) { // one piece per index of the outer dim
    const int d = move == Move::Copy ? 0 : 1; // (the rows stay whole)
    auto without = [&](const Shape &v) {
      Shape w = v;
      w.erase(w.begin() + d);
      return w;
    };
    for (int64_t i = 0; i < shape[d]; ++i)
      copyElements(t, move, src + uint64_t(i * srcStrides[d] * bytes),
                   dst + uint64_t(i * dstStrides[d] * bytes), without(shape),
                   without(srcStrides), without(dstStrides), rows);
    return;
  }
  const RuntimeKernels &k = runtimeKernels(&codegen::compileCopyKernels);
  const int64_t n = shapeSize(shape);
  cuda::KernelArgs args;
  args.pointer(src);
  if (move != Move::Copy)
    args.pointer(rows);
  args.pointer(dst);
  args.i64(n);
  for (int64_t d : shape)
    args.i64(d);
  for (int64_t d : shape)
    args.i64((int64_t)codegen::gpuDivider(d));
  for (int64_t s : srcStrides)
    args.i64(s);
  for (int64_t s : dstStrides)
    args.i64(s);
  const unsigned blocks = (unsigned)std::clamp<int64_t>((n + kCopyBlock - 1) / kCopyBlock, 1,
                                                        k.maxBlocks);
  const std::string name = move == Move::Copy   ? codegen::copyKernelName(bytes, R)
                           : move == Move::Take ? codegen::takeKernelName(bytes, R)
                           : move == Move::Put  ? codegen::putKernelName(bytes, R)
                                                : codegen::scatterAddKernelName(t, R);
  cuda::launch(k.functions.at(name), blocks, 1, 1, kCopyBlock, 0, args);
}

/// `other` is dst (Take) or src (Put, ScatterAdd), of shape (rows.size(),
/// table's dims).
void moveRows(Move move, const cuda::DeviceArray &table, const cuda::DeviceArray &other,
              const cuda::DeviceArray &rows) {
  const Shape &full = other.shape(), &otherStrides = other.strides();
  if (shapeSize(full) == 0)
    return;
  // Dim 0 is the rows'; the others, the table's dims, merge.
  Shape rest(full.begin() + 1, full.end());
  std::vector<Shape> strides{table.strides(), Shape(otherStrides.begin() + 1, otherStrides.end())};
  mergeDims(rest, strides);
  Shape shape{rows.size()};
  shape.insert(shape.end(), rest.begin(), rest.end());
  strides[0].insert(strides[0].begin(), 0); // (the rows are offsets)
  strides[1].insert(strides[1].begin(), otherStrides[0]);
  if (move == Move::Take) // table -> other
    copyElements(table.dtype(), move, table.data(), other.data(), shape, strides[0],
                 strides[1], rows.data());
  else // other -> table
    copyElements(table.dtype(), move, other.data(), table.data(), shape, strides[1],
                 strides[0], rows.data());
}

} // namespace

void copyInto(const cuda::DeviceArray &dst, const cuda::DeviceArray &src) {
  Shape shape = dst.shape();
  if (shapeSize(shape) == 0)
    return;
  std::vector<Shape> strides{broadcastStrides(src, shape), dst.strides()};
  mergeDims(shape, strides);
  copyElements(dst.dtype(), Move::Copy, src.data(), dst.data(), shape, strides[0],
               strides[1]);
}

void take(const cuda::DeviceArray &dst, const cuda::DeviceArray &table,
          const cuda::DeviceArray &rows) {
  moveRows(Move::Take, table, dst, rows);
}

void put(const cuda::DeviceArray &table, const cuda::DeviceArray &src,
         const cuda::DeviceArray &rows) {
  moveRows(Move::Put, table, src, rows);
}

void scatterAdd(const cuda::DeviceArray &table, const cuda::DeviceArray &src,
                const cuda::DeviceArray &rows) {
  moveRows(Move::ScatterAdd, table, src, rows);
}

cuda::DeviceArray contiguousCopy(const cuda::DeviceArray &a) {
  cuda::DeviceArray c = cuda::DeviceArray::empty(a.dtype(), a.shape());
  copyInto(c, a);
  return c;
}

} // namespace thjit::gpu
