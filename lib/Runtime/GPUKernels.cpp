//===- GPUKernels.cpp - What the GPU runtime's calls share ----------------===//
#include "GPUKernels.h"
#include "thjit/CodeGen/GPU.h"
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

namespace {

/// The copy kernels for the current device, compiled and loaded at the
/// first copy of the process.
struct CopyKernels {
  std::shared_ptr<cuda::Module> module;
  std::map<std::string, void *> functions;
  unsigned maxBlocks = 1;
};

const CopyKernels &copyKernels() {
  static std::mutex mutex;
  static std::unique_ptr<CopyKernels> kernels;
  std::lock_guard<std::mutex> lock(mutex);
  if (!kernels) {
    const cuda::DeviceInfo &device = cuda::currentDevice();
    auto [arch, ptxVersion] = targetFor(device);
    codegen::PTXModule ptx = codegen::compileCopyKernels(arch, ptxVersion);
    auto k = std::make_unique<CopyKernels>();
    k->module = loadShared(ptx.ptx);
    for (const codegen::GPUKernel &kernel : ptx.kernels)
      k->functions[kernel.name] = k->module->function(kernel.name);
    k->maxBlocks = 32u * (unsigned)std::max(1, device.multiprocessors);
    kernels = std::move(k);
  }
  return *kernels;
}

constexpr unsigned kCopyBlock = 256;

/// Copies `shape` elements of `bytes` each from src to dst (device
/// addresses of element 0; strides in elements, merged already). With
/// `rows` (the device address of shape[0] int64s), src's coordinate along
/// dim 0 is rows[c0] (a take).
void copyElements(int bytes, uint64_t src, uint64_t dst, const Shape &shape,
                  const Shape &srcStrides, const Shape &dstStrides, uint64_t rows = 0) {
  const int R = (int)shape.size();
  if (!rows && (R == 0 || (R == 1 && srcStrides[0] == 1 && dstStrides[0] == 1))) {
    cuda::copyOnDevice(dst, src, size_t(R ? shape[0] : 1) * bytes);
    return;
  }
  if (R > codegen::kCopyRank) { // one piece per index of the outer dim
    const int d = rows ? 1 : 0; // (a take's rows stay whole)
    auto without = [&](const Shape &v) {
      Shape w = v;
      w.erase(w.begin() + d);
      return w;
    };
    for (int64_t i = 0; i < shape[d]; ++i)
      copyElements(bytes, src + uint64_t(i * srcStrides[d] * bytes),
                   dst + uint64_t(i * dstStrides[d] * bytes), without(shape),
                   without(srcStrides), without(dstStrides), rows);
    return;
  }
  const CopyKernels &k = copyKernels();
  const int64_t n = shapeSize(shape);
  cuda::KernelArgs args;
  args.pointer(src);
  if (rows)
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
  const std::string name =
      rows ? codegen::takeKernelName(bytes, R) : codegen::copyKernelName(bytes, R);
  cuda::launch(k.functions.at(name), blocks, 1, 1, kCopyBlock, 0, args);
}

} // namespace

void copyInto(const cuda::DeviceArray &dst, const cuda::DeviceArray &src) {
  Shape shape = dst.shape();
  if (shapeSize(shape) == 0)
    return;
  const int R = dst.ndim(), lead = R - src.ndim();
  std::vector<Shape> strides(2, Shape(R, 0));
  for (int d = 0; d < R; ++d) {
    if (d >= lead && !(src.shape()[d - lead] == 1 && shape[d] != 1))
      strides[0][d] = src.strides()[d - lead];
    strides[1][d] = dst.strides()[d];
  }
  mergeDims(shape, strides);
  copyElements((int)itemSize(dst.dtype()), src.data(), dst.data(), shape, strides[0],
               strides[1]);
}

void take(const cuda::DeviceArray &dst, const cuda::DeviceArray &src,
          const cuda::DeviceArray &rows) {
  Shape shape = dst.shape();
  if (shapeSize(shape) == 0)
    return;
  // Dim 0 is the take's; the others, src's dims after its first, merge.
  Shape rest(shape.begin() + 1, shape.end());
  std::vector<Shape> strides{Shape(src.strides().begin() + 1, src.strides().end()),
                             Shape(dst.strides().begin() + 1, dst.strides().end())};
  mergeDims(rest, strides);
  shape = {rows.size()};
  shape.insert(shape.end(), rest.begin(), rest.end());
  strides[0].insert(strides[0].begin(), src.strides()[0]);
  strides[1].insert(strides[1].begin(), dst.strides()[0]);
  copyElements((int)itemSize(dst.dtype()), src.data(), dst.data(), shape, strides[0],
               strides[1], rows.data());
}

cuda::DeviceArray contiguousCopy(const cuda::DeviceArray &a) {
  cuda::DeviceArray c = cuda::DeviceArray::empty(a.dtype(), a.shape());
  copyInto(c, a);
  return c;
}

} // namespace thjit::gpu
