//===- CUDA.cpp - The CUDA driver, loaded at run time ---------------------===//
//
// The few driver types and constants thjit needs are declared here (values
// from the CUDA Driver API's documentation); the entry points are resolved
// with dlsym, by their `_v2` names where the ABI changed. Loading happens
// once, on first use, and remembers why it failed.
//
//===----------------------------------------------------------------------===//
#include "thjit/Runtime/CUDA.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Error.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <sstream>

namespace thjit::cuda {

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *; // CUcontext, CUmodule, CUfunction, CUstream, CUevent

constexpr CUresult kSuccess = 0;
constexpr CUresult kOutOfMemory = 2;
constexpr CUresult kNoDevice = 100;
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrMajor = 75;
constexpr int kAttrMinor = 76;
constexpr int kAttrMaxSharedOptin = 97;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
constexpr int kFuncMaxDynamicShared = 8;
constexpr unsigned kEventDefault = 0; // CU_EVENT_DEFAULT: timing enabled
constexpr unsigned kEventDisableTiming = 2; // CU_EVENT_DISABLE_TIMING

/// The entry points, by the names the driver exports.
struct Entries {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDeviceTotalMem_v2)(size_t *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(Handle *, CUdevice);
  CUresult (*cuCtxSetCurrent)(Handle);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc_v2)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree_v2)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD_v2)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr, const void *, size_t, Handle);
  CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
  CUresult (*cuMemcpyDtoH_v2)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD_v2)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8_v2)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuModuleLoadDataEx)(Handle *, const void *, unsigned, int *, void **);
  CUresult (*cuModuleUnload)(Handle);
  CUresult (*cuModuleGetFunction)(Handle *, Handle, const char *);
  CUresult (*cuFuncSetAttribute)(Handle, int, int);
  CUresult (*cuLaunchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, Handle, void **,
                             void **);
  CUresult (*cuEventCreate)(Handle *, unsigned);
  CUresult (*cuEventRecord)(Handle, Handle);
  CUresult (*cuEventSynchronize)(Handle);
  CUresult (*cuEventElapsedTime)(float *, Handle, Handle);
  CUresult (*cuEventDestroy_v2)(Handle);
};

struct Driver {
  Entries fn{};
  std::string why; // empty when usable
  int version = 0;
  std::vector<DeviceInfo> devices;
  int current = 0;
  Handle context = nullptr;
};

std::string errorText(const Entries &fn, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (!fn.cuGetErrorName || fn.cuGetErrorName(r, &name) != kSuccess || !name)
    name = "CUDA_ERROR_UNKNOWN";
  if (!fn.cuGetErrorString || fn.cuGetErrorString(r, &text) != kSuccess || !text)
    text = "unknown error";
  return std::string(name) + " (" + std::to_string(r) + "): " + text;
}

/// Resolves every entry; the first missing one's name, else empty.
std::string resolve(void *lib, Entries &fn) {
#define THJIT_RESOLVE(name)                                                    \
  if (!(fn.name = reinterpret_cast<decltype(fn.name)>(dlsym(lib, #name))))     \
    return #name;
  THJIT_RESOLVE(cuInit)
  THJIT_RESOLVE(cuDriverGetVersion)
  THJIT_RESOLVE(cuGetErrorName)
  THJIT_RESOLVE(cuGetErrorString)
  THJIT_RESOLVE(cuDeviceGetCount)
  THJIT_RESOLVE(cuDeviceGet)
  THJIT_RESOLVE(cuDeviceGetName)
  THJIT_RESOLVE(cuDeviceGetAttribute)
  THJIT_RESOLVE(cuDeviceTotalMem_v2)
  THJIT_RESOLVE(cuDevicePrimaryCtxRetain)
  THJIT_RESOLVE(cuCtxSetCurrent)
  THJIT_RESOLVE(cuCtxSynchronize)
  THJIT_RESOLVE(cuMemAlloc_v2)
  THJIT_RESOLVE(cuMemFree_v2)
  THJIT_RESOLVE(cuMemcpyHtoD_v2)
  THJIT_RESOLVE(cuMemcpyHtoDAsync_v2)
  THJIT_RESOLVE(cuMemHostAlloc)
  THJIT_RESOLVE(cuMemcpyDtoH_v2)
  THJIT_RESOLVE(cuMemcpyDtoD_v2)
  THJIT_RESOLVE(cuMemsetD8_v2)
  THJIT_RESOLVE(cuModuleLoadDataEx)
  THJIT_RESOLVE(cuModuleUnload)
  THJIT_RESOLVE(cuModuleGetFunction)
  THJIT_RESOLVE(cuFuncSetAttribute)
  THJIT_RESOLVE(cuLaunchKernel)
  THJIT_RESOLVE(cuEventCreate)
  THJIT_RESOLVE(cuEventRecord)
  THJIT_RESOLVE(cuEventSynchronize)
  THJIT_RESOLVE(cuEventElapsedTime)
  THJIT_RESOLVE(cuEventDestroy_v2)
#undef THJIT_RESOLVE
  return "";
}

/// Loads the driver and looks at the devices; never throws.
Driver *loadDriver() {
  auto *d = new Driver; // lives as long as the process: kernels may outlive main
  const char *env = std::getenv("THJIT_CUDA_DRIVER");
  std::string path = env && *env ? env : "libcuda.so.1";
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    d->why = "cannot load the CUDA driver " + path + " (" +
             (e ? e : "not found") + "); is the NVIDIA driver installed?";
    return d;
  }
  if (std::string missing = resolve(lib, d->fn); !missing.empty()) {
    d->why = "the CUDA driver " + path + " has no " + missing +
             " (a driver for CUDA 11 or later is needed)";
    return d;
  }
  Entries &fn = d->fn;
  auto fail = [&](const char *call, CUresult r) {
    d->why = std::string(call) + " failed: " + errorText(fn, r);
  };
  if (CUresult r = fn.cuInit(0); r != kSuccess) {
    if (r == kNoDevice)
      d->why = "the CUDA driver sees no device (" + errorText(fn, r) + ")";
    else
      fail("cuInit", r);
    return d;
  }
  fn.cuDriverGetVersion(&d->version);
  int count = 0;
  if (CUresult r = fn.cuDeviceGetCount(&count); r != kSuccess) {
    fail("cuDeviceGetCount", r);
    return d;
  }
  if (count == 0) {
    d->why = "the CUDA driver sees no device";
    return d;
  }
  for (int i = 0; i < count; ++i) {
    CUdevice dev;
    DeviceInfo info;
    info.ordinal = i;
    char name[256] = {};
    size_t mem = 0;
    CUresult r = fn.cuDeviceGet(&dev, i);
    if (r == kSuccess)
      r = fn.cuDeviceGetName(name, sizeof name - 1, dev);
    if (r == kSuccess)
      r = fn.cuDeviceGetAttribute(&info.major, kAttrMajor, dev);
    if (r == kSuccess)
      r = fn.cuDeviceGetAttribute(&info.minor, kAttrMinor, dev);
    if (r == kSuccess)
      r = fn.cuDeviceGetAttribute(&info.multiprocessors, kAttrMultiprocessors, dev);
    if (r == kSuccess)
      r = fn.cuDeviceGetAttribute(&info.maxSharedPerBlock, kAttrMaxSharedOptin, dev);
    if (r == kSuccess)
      r = fn.cuDeviceTotalMem_v2(&mem, dev);
    if (r != kSuccess) {
      fail("querying device properties", r);
      return d;
    }
    info.name = name;
    info.totalMemory = mem;
    d->devices.push_back(info);
  }
  if (const char *e = std::getenv("THJIT_CUDA_DEVICE"); e && *e) {
    char *end = nullptr;
    long n = std::strtol(e, &end, 10);
    if (*end || n < 0 || n >= count) {
      d->why = "THJIT_CUDA_DEVICE=" + std::string(e) + " names no device (there " +
               (count == 1 ? "is 1" : "are " + std::to_string(count)) + ")";
      return d;
    }
    d->current = (int)n;
  }
  CUdevice dev;
  CUresult r = fn.cuDeviceGet(&dev, d->current);
  if (r == kSuccess)
    r = fn.cuDevicePrimaryCtxRetain(&d->context, dev);
  if (r != kSuccess) {
    fail("cuDevicePrimaryCtxRetain", r);
    return d;
  }
  return d;
}

Driver &driver() {
  static Driver *d = loadDriver();
  return *d;
}

/// The loaded driver with its context current on this thread.
Entries &api() {
  Driver &d = driver();
  if (!d.why.empty())
    throw RuntimeError("no CUDA device: " + d.why);
  // Each thread has its own current context; setting it is cheap.
  thread_local Handle currentOnThread = nullptr;
  if (currentOnThread != d.context) {
    if (CUresult r = d.fn.cuCtxSetCurrent(d.context); r != kSuccess)
      throw RuntimeError("cuCtxSetCurrent failed: " + errorText(d.fn, r));
    currentOnThread = d.context;
  }
  return d.fn;
}

void check(CUresult r, const char *call) {
  if (r != kSuccess)
    throw RuntimeError(std::string(call) + " failed: " + errorText(driver().fn, r));
}

// ---- the caching allocator -------------------------------------------------

/// Sizes are rounded up to a class: 512-byte steps up to 1 MiB, then
/// 2 MiB steps (the driver's own granularity for large blocks).
size_t sizeClass(size_t bytes) {
  const size_t step = bytes <= (1u << 20) ? 512 : (2u << 20);
  return std::max<size_t>(step, (bytes + step - 1) / step * step);
}

struct Allocator {
  std::mutex mutex;
  std::map<size_t, std::vector<CUdeviceptr>> free; // by size class
  AllocatorStats stats;

  void releaseAll() { // with the mutex held
    for (auto &[size, blocks] : free)
      for (CUdeviceptr p : blocks) {
        driver().fn.cuMemFree_v2(p);
        stats.bytesCached -= size;
      }
    free.clear();
  }
};

Allocator &allocator() {
  static Allocator *a = new Allocator; // buffers may be freed at exit
  return *a;
}

/// Uploads through pinned memory. A copy from pageable memory makes the
/// driver wait for all the work queued before it (cuMemcpyHtoD's "stream
/// sync"), so an upload in the middle of a call (the offsets of an
/// advanced index) would stall the host until the GPU caught up. Copied
/// into this ring of pinned memory first, it is queued like a kernel
/// (cuMemcpyHtoDAsync on the same stream, so in order with the kernels).
/// A region is reused once the event recorded after its copy has passed.
struct Staging {
  static constexpr size_t kSize = 8u << 20;    // the ring
  static constexpr size_t kLargest = 1u << 20; // larger uploads copy plainly
  std::mutex mutex;
  char *ring = nullptr; // allocated at the first upload
  size_t head = 0;      // where the next region starts
  struct InFlight {
    size_t begin, end;
    Handle event;
  };
  std::deque<InFlight> inFlight; // oldest first
  std::vector<Handle> events;    // recorded and passed: reusable

  /// Copies src to dst on the stream; false when the upload is not staged.
  bool upload(Entries &fn, CUdeviceptr dst, const void *src, size_t bytes) {
    if (bytes > kLargest)
      return false;
    std::lock_guard<std::mutex> lock(mutex);
    if (!ring) {
      void *p = nullptr;
      if (fn.cuMemHostAlloc(&p, kSize, 0) != kSuccess)
        return false; // no pinned memory to spare: copy plainly
      ring = static_cast<char *>(p);
    }
    const size_t size = (bytes + 255) / 256 * 256;
    // In flight, oldest first: the last lap's regions from head on, then
    // this lap's below head. The regions this one overlaps must have been
    // read; wrapping around skips the end of the ring, whose regions are
    // then the oldest and go first.
    auto retireFront = [&] {
      check(fn.cuEventSynchronize(inFlight.front().event), "cuEventSynchronize");
      events.push_back(inFlight.front().event);
      inFlight.pop_front();
    };
    if (head + size > kSize) {
      while (!inFlight.empty() && inFlight.front().begin >= head)
        retireFront();
      head = 0;
    }
    while (!inFlight.empty() && inFlight.front().begin < head + size &&
           inFlight.front().end > head)
      retireFront();
    std::memcpy(ring + head, src, bytes);
    check(fn.cuMemcpyHtoDAsync_v2(dst, ring + head, bytes, nullptr), "cuMemcpyHtoDAsync");
    Handle e = nullptr;
    if (events.empty()) {
      check(fn.cuEventCreate(&e, kEventDisableTiming), "cuEventCreate");
    } else {
      e = events.back();
      events.pop_back();
    }
    check(fn.cuEventRecord(e, nullptr), "cuEventRecord");
    inFlight.push_back({head, head + size, e});
    head += size;
    return true;
  }
};

Staging &staging() {
  static Staging *s = new Staging; // pinned for the life of the process
  return *s;
}

} // namespace

// ---- devices ----------------------------------------------------------------

bool available() { return driver().why.empty(); }
std::string whyUnavailable() { return driver().why; }
void requireDevice() { api(); }

namespace {
/// shared(value, ..., "cuda") checks for a device when it is made.
const bool deviceCheckSet = (setCUDADeviceCheck(&requireDevice), true);
} // namespace

std::string DeviceInfo::arch() const {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

int driverVersion() {
  api();
  return driver().version;
}

std::vector<DeviceInfo> devices() {
  api();
  return driver().devices;
}

const DeviceInfo &currentDevice() {
  api();
  return driver().devices[driver().current];
}

int ptxVersionForDriver() {
  // PTX ISA 8.5 came with CUDA 12.5; older drivers read older ISAs
  // (12.0: 8.0, 11.0: 7.0, then one minor version per CUDA minor release).
  int v = driverVersion();
  int major = v / 1000, minor = v % 1000 / 10;
  if (major > 12 || (major == 12 && minor >= 5))
    return 85;
  if (major == 12)
    return 80 + minor;
  if (major == 11)
    return 70 + std::min(minor, 8);
  if (major == 10) // 10.0: 6.3, 10.1: 6.4, 10.2: 6.5
    return 63 + std::min(minor, 2);
  return 60; // CUDA 9

}

std::string devicesReport() {
  Driver &d = driver();
  std::ostringstream os;
  if (!d.why.empty()) {
    os << "no CUDA device: " << d.why << "\n";
    return os.str();
  }
  os << "CUDA driver " << d.version / 1000 << '.' << d.version % 1000 / 10
     << ", " << d.devices.size() << (d.devices.size() == 1 ? " device" : " devices")
     << "\n";
  for (const DeviceInfo &i : d.devices) {
    char mem[32];
    std::snprintf(mem, sizeof mem, "%.1f GiB", i.totalMemory / 1073741824.0);
    os << (i.ordinal == d.current ? "* " : "  ") << i.ordinal << ": " << i.name
       << ", compute capability " << i.major << '.' << i.minor << " ("
       << i.arch() << "), " << mem << ", " << i.multiprocessors
       << " multiprocessors\n";
  }
  return os.str();
}

// ---- memory -------------------------------------------------------------------

std::shared_ptr<DeviceBuffer> allocate(size_t bytes) {
  Entries &fn = api();
  const size_t cls = sizeClass(bytes);
  Allocator &a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  CUdeviceptr p = 0;
  auto it = a.free.find(cls);
  if (it != a.free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    a.stats.bytesCached -= cls;
    ++a.stats.reuses;
  } else {
    CUresult r = fn.cuMemAlloc_v2(&p, cls);
    if (r == kOutOfMemory) { // give the cache back and try again
      a.releaseAll();
      r = fn.cuMemAlloc_v2(&p, cls);
    }
    if (r != kSuccess)
      throw RuntimeError("cannot allocate " + std::to_string(bytes) +
                         " bytes on the GPU: " + errorText(fn, r));
    ++a.stats.driverAllocations;
  }
  a.stats.bytesInUse += cls;
  return std::make_shared<DeviceBuffer>(p, bytes, cls);
}

DeviceBuffer::~DeviceBuffer() {
  Allocator &a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.free[capacity].push_back(address);
  a.stats.bytesInUse -= capacity;
  a.stats.bytesCached += capacity;
}

AllocatorStats allocatorStats() {
  Allocator &a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.stats;
}

void releaseCachedMemory() {
  if (!available())
    return;
  Allocator &a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.releaseAll();
}

void copyToDevice(uint64_t dst, const void *src, size_t bytes) {
  if (!bytes)
    return;
  Entries &fn = api();
  if (!staging().upload(fn, dst, src, bytes))
    check(fn.cuMemcpyHtoD_v2(dst, src, bytes), "cuMemcpyHtoD");
}

void copyToHost(void *dst, uint64_t src, size_t bytes) {
  if (bytes)
    check(api().cuMemcpyDtoH_v2(dst, src, bytes), "cuMemcpyDtoH");
}

void copyOnDevice(uint64_t dst, uint64_t src, size_t bytes) {
  if (bytes)
    check(api().cuMemcpyDtoD_v2(dst, src, bytes), "cuMemcpyDtoD");
}

void fillBytes(uint64_t dst, unsigned char value, size_t bytes) {
  if (bytes)
    check(api().cuMemsetD8_v2(dst, value, bytes), "cuMemsetD8");
}

// ---- arrays -------------------------------------------------------------------

DeviceArray DeviceArray::empty(DType t, const Shape &shape) {
  DeviceArray a;
  a.type = t;
  a.dims = shape;
  a.steps = contiguousStrides(shape);
  a.buf = allocate(std::max<size_t>(1, shapeSize(shape) * itemSize(t)));
  return a;
}

DeviceArray DeviceArray::fromHost(const NDArray &host) {
  NDArray c = host.isContiguous() ? host : host.copy();
  DeviceArray a = empty(c.dtype(), c.shape());
  copyToDevice(a.data(), c.data(), c.nbytes());
  return a;
}

uint64_t DeviceArray::data() const {
  return buf->data() + offset * (int64_t)itemSize(type);
}

bool DeviceArray::isContiguous() const {
  int64_t expect = 1;
  for (int d = ndim() - 1; d >= 0; --d) {
    if (dims[d] != 1 && steps[d] != expect)
      return false;
    expect *= dims[d];
  }
  return true;
}

DeviceArray DeviceArray::view(const Shape &shape, const Shape &strides,
                              int64_t offsetElements) const {
  DeviceArray v = *this;
  v.dims = shape;
  v.steps = strides;
  v.offset += offsetElements;
  return v;
}

DeviceArray DeviceArray::slice(int axis, int64_t first, int64_t stop, int64_t step) const {
  int64_t n = 0;
  if (step > 0 && stop > first)
    n = (stop - first + step - 1) / step;
  else if (step < 0 && stop < first)
    n = (first - stop - step - 1) / -step;
  Shape shape = dims, strides = steps;
  shape[axis] = n;
  strides[axis] *= step;
  return view(shape, strides, n ? first * steps[axis] : 0);
}

DeviceArray DeviceArray::select(int axis, int64_t index) const {
  Shape shape = dims, strides = steps;
  shape.erase(shape.begin() + axis);
  strides.erase(strides.begin() + axis);
  return view(shape, strides, index * steps[axis]);
}

DeviceArray DeviceArray::expandDims(int axis) const {
  Shape shape = dims, strides = steps;
  shape.insert(shape.begin() + axis, 1);
  strides.insert(strides.begin() + axis, 0);
  return view(shape, strides);
}

NDArray DeviceArray::toHost() const {
  NDArray out = NDArray::empty(type, dims);
  if (size() == 0)
    return out;
  if (isContiguous()) {
    copyToHost(out.data(), data(), out.nbytes());
    return out;
  }
  // Copy the span of elements the view reaches, then gather on the host.
  int64_t lo = 0, hi = 0;
  for (int d = 0; d < ndim(); ++d) {
    int64_t reach = (dims[d] - 1) * steps[d];
    (reach < 0 ? lo : hi) += reach;
  }
  const size_t item = itemSize(type);
  auto span = std::make_shared<Buffer>((hi - lo + 1) * item);
  copyToHost(span->data(), data() + lo * (int64_t)item, (hi - lo + 1) * item);
  NDArray view(span, span->data() - lo * (int64_t)item, type, dims, steps);
  out.assign(view);
  return out;
}


// ---- modules and launches -------------------------------------------------------

std::shared_ptr<Module> Module::load(const std::string &ptx) {
  Entries &fn = api();
  char log[8192] = {};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {log, reinterpret_cast<void *>(sizeof log - 1)};
  Handle m = nullptr;
  CUresult r = fn.cuModuleLoadDataEx(&m, ptx.c_str(), 2, options, values);
  if (r != kSuccess) {
    std::string msg = "the CUDA driver cannot load thjit's PTX: " + errorText(fn, r);
    if (log[0])
      msg += "\n" + std::string(log);
    throw RuntimeError(msg);
  }
  return std::shared_ptr<Module>(new Module(m));
}

Module::~Module() {
  if (available())
    driver().fn.cuModuleUnload(handle);
}

void *Module::function(const std::string &name) const {
  Handle f = nullptr;
  check(api().cuModuleGetFunction(&f, handle, name.c_str()),
        ("cuModuleGetFunction(" + name + ")").c_str());
  return f;
}

void KernelArgs::add(const void *p, size_t n) {
  offsets.push_back(words.size());
  words.resize(words.size() + (n + 7) / 8);
  std::memcpy(&words[offsets.back()], p, n);
}

std::vector<void *> KernelArgs::pointers() {
  std::vector<void *> r;
  for (size_t o : offsets)
    r.push_back(&words[o]);
  return r;
}

void launch(void *function, unsigned gridX, unsigned gridY, unsigned gridZ,
            unsigned blockSize, unsigned sharedBytes, KernelArgs &args) {
  Entries &fn = api();
  if (sharedBytes > 48 * 1024) // more than the default needs the opt-in
    check(fn.cuFuncSetAttribute(function, kFuncMaxDynamicShared, (int)sharedBytes),
          "cuFuncSetAttribute");
  std::vector<void *> params = args.pointers();
  check(fn.cuLaunchKernel(function, gridX, gridY, gridZ, blockSize, 1, 1,
                          sharedBytes, nullptr, params.data(), nullptr),
        "cuLaunchKernel");
}

void synchronize() { check(api().cuCtxSynchronize(), "cuCtxSynchronize"); }

// ---- events -----------------------------------------------------------------------

Event::Event() {
  Handle e = nullptr;
  check(api().cuEventCreate(&e, kEventDefault), "cuEventCreate");
  handle = e;
}

Event::~Event() {
  if (handle && available())
    driver().fn.cuEventDestroy_v2(handle);
}

Event &Event::operator=(Event &&other) noexcept {
  if (this != &other) {
    if (handle && available())
      driver().fn.cuEventDestroy_v2(handle);
    handle = other.handle;
    other.handle = nullptr;
  }
  return *this;
}

void Event::record() {
  // The legacy default stream (null), where launch() and the copies go.
  check(api().cuEventRecord(handle, nullptr), "cuEventRecord");
}

void Event::synchronize() const {
  check(api().cuEventSynchronize(handle), "cuEventSynchronize");
}

float elapsedMs(const Event &start, const Event &end) {
  Entries &fn = api();
  check(fn.cuEventSynchronize(end.native()), "cuEventSynchronize");
  float ms = 0;
  check(fn.cuEventElapsedTime(&ms, start.native(), end.native()), "cuEventElapsedTime");
  return ms;
}

} // namespace thjit::cuda
