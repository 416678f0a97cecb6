//===- thjit/Runtime/CUDA.h - The CUDA driver, device memory ----*- C++ -*-===//
///
/// \file
/// thjit's access to NVIDIA GPUs: the CUDA Driver API, loaded at run time
/// with dlopen (no CUDA header or library is needed to build thjit), the
/// devices it sees, device memory through a caching allocator, arrays in
/// device memory, and PTX modules and kernel launches.
///
/// The driver library is $THJIT_CUDA_DRIVER when set, else "libcuda.so.1".
/// Every driver call is checked: a failure becomes a thjit::RuntimeError
/// naming the call and the driver's error name and description. Without a
/// driver or a device, available() is false and whyUnavailable() says why;
/// everything else raises RuntimeError("no CUDA device: <why>").
///
/// Work goes to device $THJIT_CUDA_DEVICE (default 0), in its primary
/// context, on the legacy default stream: launches run in order, and a
/// copy to the host waits for the kernels before it.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_RUNTIME_CUDA_H
#define THJIT_RUNTIME_CUDA_H

#include "thjit/Array/NDArray.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace thjit::cuda {

/// Whether a CUDA device can be used (loads the driver on first use).
bool available();
/// Why not (empty when available()): no driver library, an old driver, or
/// no device.
std::string whyUnavailable();
/// RuntimeError("no CUDA device: " + whyUnavailable()) unless available().
void requireDevice();

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0; ///< compute capability
  uint64_t totalMemory = 0; ///< bytes
  int multiprocessors = 0;
  int maxSharedPerBlock = 0; ///< bytes, with the opt-in
  /// "sm_90" for compute capability 9.0: what kernels are generated for.
  std::string arch() const;
};

/// The driver's CUDA version as the driver reports it (12040 for 12.4).
int driverVersion();
/// Every device the driver sees (requireDevice() first).
std::vector<DeviceInfo> devices();
/// The device work goes to.
const DeviceInfo &currentDevice();
/// What `thjit --devices` prints: the driver, then one line per device, or
/// why there are none.
std::string devicesReport();
/// The PTX ISA version to generate for this driver: LLVM 19's newest (85)
/// or older when the driver cannot read it (as `+ptxNN`'s NN).
int ptxVersionForDriver();

/// A block of device memory from the caching allocator: freeing it (the
/// last reference going away) returns it to the allocator's free lists,
/// so that steady-state calls never call cuMemAlloc.
class DeviceBuffer {
public:
  DeviceBuffer(uint64_t address, size_t bytes, size_t capacity)
      : address(address), bytes(bytes), capacity(capacity) {}
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  uint64_t data() const { return address; }
  size_t size() const { return bytes; }

private:
  uint64_t address;
  size_t bytes, capacity;
};

/// `bytes` of device memory (256-byte aligned), reusing a freed block of
/// the same size class when there is one. When the device is out of
/// memory, the cached blocks are released and the allocation retried once.
std::shared_ptr<DeviceBuffer> allocate(size_t bytes);

struct AllocatorStats {
  uint64_t driverAllocations = 0; ///< cuMemAlloc calls so far
  uint64_t reuses = 0;            ///< allocations served from the cache
  uint64_t bytesInUse = 0, bytesCached = 0;
};
AllocatorStats allocatorStats();
/// Returns every cached (free) block to the driver.
void releaseCachedMemory();

/// An n-d array in device memory: dtype, shape, strides in elements (any
/// sign; 0 for broadcast dims), the element where index 0 lives.
class DeviceArray {
public:
  DeviceArray() = default;
  /// A new contiguous (row-major) array, uninitialized.
  static DeviceArray empty(DType t, const Shape &shape);
  /// A contiguous copy of a host array.
  static DeviceArray fromHost(const NDArray &a);

  bool defined() const { return buf != nullptr; }
  DType dtype() const { return type; }
  int ndim() const { return (int)dims.size(); }
  const Shape &shape() const { return dims; }
  const Shape &strides() const { return steps; }
  int64_t size() const { return shapeSize(dims); }
  /// The device address of element 0 (index 0 in every dim).
  uint64_t data() const;
  const std::shared_ptr<DeviceBuffer> &buffer() const { return buf; }
  bool isContiguous() const;

  /// A view with other shape and strides over the same memory.
  DeviceArray view(const Shape &shape, const Shape &strides,
                   int64_t offsetElements = 0) const;
  /// Views as NDArray's (applyIndex indexes device arrays with them):
  /// elements first, first + step, ... before stop along `axis`; the
  /// element `index` of `axis` (dropping it); a new axis of size 1. The
  /// caller has checked the axis and the index.
  int64_t dim(int axis) const { return dims[axis]; }
  DeviceArray slice(int axis, int64_t first, int64_t stop, int64_t step) const;
  DeviceArray select(int axis, int64_t index) const;
  DeviceArray expandDims(int axis) const;
  /// A contiguous host copy (waits for the kernels writing it).
  NDArray toHost() const;

private:
  std::shared_ptr<DeviceBuffer> buf;
  DType type = DType::Float64;
  Shape dims, steps;
  int64_t offset = 0; ///< in elements
};

/// A loaded PTX module; unloaded when the last reference goes.
class Module {
public:
  /// Loads PTX with cuModuleLoadDataEx; RuntimeError with the driver's
  /// error log when it refuses it.
  static std::shared_ptr<Module> load(const std::string &ptx);
  ~Module();
  /// A kernel's handle (RuntimeError when the module has no such entry).
  void *function(const std::string &name) const;

private:
  explicit Module(void *handle) : handle(handle) {}
  void *handle;
};

/// The arguments of one launch, packed as cuLaunchKernel takes them: each
/// value is kept here and a pointer to it passed.
class KernelArgs {
public:
  void pointer(uint64_t address) { add(&address, sizeof address); }
  void i64(int64_t v) { add(&v, sizeof v); }
  void f32(float v) { add(&v, sizeof v); }
  void f64(double v) { add(&v, sizeof v); }
  /// The pointers cuLaunchKernel reads (valid while this object lives and
  /// is not added to).
  std::vector<void *> pointers();

private:
  void add(const void *p, size_t n);
  std::vector<uint64_t> words; // every argument 8-byte aligned in its own words
  std::vector<size_t> offsets;
};

/// Launches a kernel on the default stream (asynchronously).
void launch(void *function, unsigned gridX, unsigned gridY, unsigned gridZ,
            unsigned blockSize, unsigned sharedBytes, KernelArgs &args);
/// Waits for everything launched so far; raises what a kernel failed with.
void synchronize();

/// Copies between host and device memory (the host side contiguous bytes).
/// copyToDevice may return before the device has the bytes (src may be
/// reused at once): small uploads are staged in pinned memory and queued
/// in order with the kernels (lib/Runtime/CUDA.cpp, Staging).
void copyToDevice(uint64_t dst, const void *src, size_t bytes);
void copyToHost(void *dst, uint64_t src, size_t bytes);
void copyOnDevice(uint64_t dst, uint64_t src, size_t bytes);
void fillBytes(uint64_t dst, unsigned char value, size_t bytes);

/// A CUDA event with timing, for measuring GPU time: record() marks a
/// point of the default stream (the one launches and copies go to), and
/// elapsedMs(start, end) is the device time between two such points. The
/// event is created on construction and destroyed with this object.
///
///   cuda::Event start, end;
///   start.record();
///   f({});                   // kernels launched on the default stream
///   end.record();
///   float ms = cuda::elapsedMs(start, end); // waits for `end`
class Event {
public:
  Event(); ///< cuEventCreate (default flags: timing enabled)
  ~Event();
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;
  Event(Event &&other) noexcept : handle(other.handle) { other.handle = nullptr; }
  Event &operator=(Event &&other) noexcept;

  /// cuEventRecord on the default stream: the event completes when the
  /// work launched before it has.
  void record();
  /// cuEventSynchronize: waits until the event has completed.
  void synchronize() const;
  /// The driver's CUevent.
  void *native() const { return handle; }

private:
  void *handle = nullptr;
};

/// Milliseconds of device time between two recorded events (the driver's
/// resolution is about half a microsecond). Waits for `end` first.
/// RuntimeError (naming cuEventElapsedTime) when either was never recorded.
float elapsedMs(const Event &start, const Event &end);

} // namespace thjit::cuda

#endif
