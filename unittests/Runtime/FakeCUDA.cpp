//===- FakeCUDA.cpp - A CUDA driver without a GPU, for host-side tests ----===//
//
// A stand-in for libcuda.so.1 that thjit loads through $THJIT_CUDA_DRIVER
// in tests, so that everything the runtime does on the host around a GPU
// (loading the driver, listing devices, the caching allocator, copies,
// device arrays and shared variables, error messages) is tested on
// machines without one. "Device memory" is host memory. It loads any PTX
// that declares a .version and finds its .entry names. By itself it cannot
// run kernels: cuLaunchKernel fails with CUDA_ERROR_NOT_SUPPORTED, which
// tests use to check that a failed call keeps shared variables intact. A
// test can hand it an executor (fake_cuda_set_executor, below) that runs
// the kernels of the modules it knows: EmulatedDevice.cpp runs them in the
// SIMT emulator, which makes this a slow but complete GPU.
//
// Knobs (environment): FAKE_CUDA_DEVICES (default 1; 0 makes cuInit fail
// with CUDA_ERROR_NO_DEVICE), FAKE_CUDA_MEMORY (bytes the device has,
// default 1 GiB: allocations beyond it fail with out of memory),
// FAKE_CUDA_CC (compute capability, default 90: sm_90),
// FAKE_CUDA_DRIVER_VERSION (as cuDriverGetVersion gives it, default 12080),
// FAKE_CUDA_SKIP_KERNELS=1 (launches, device-to-device copies and fills
// succeed and do nothing: what is left of a call is the host's part of it,
// which a benchmark can time).
//
// Events (cuEventRecord and cuEventElapsedTime) read the host's steady
// clock when recorded: launches run to completion inside cuLaunchKernel,
// so that clock is the fake device's timeline.
//
// Asynchronous uploads (cuMemcpyHtoDAsync) are queued, and read their
// source only when the device would have to have done them: before the
// next launch, synchronous copy, fill or free, or cuCtxSynchronize; and
// cuEventSynchronize does those queued before the event was recorded. So a caller that overwrites the source (pinned memory)
// before the copy is known to be done gets the new bytes, as it could on a
// GPU. cuMemHostAlloc is plain host memory.
//
//===----------------------------------------------------------------------===//
#include "FakeCUDAExecutor.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {
using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2,
                   kNoDevice = 100, kInvalidPTX = 218, kInvalidHandle = 400,
                   kNotFound = 500, kNotSupported = 801, kLaunchFailed = 719;

size_t capacity() {
  const char *e = std::getenv("FAKE_CUDA_MEMORY");
  return e ? std::strtoull(e, nullptr, 10) : (size_t(1) << 30);
}
int knob(const char *name, int fallback) {
  const char *e = std::getenv(name);
  return e && *e ? std::atoi(e) : fallback;
}
int deviceCount() { return knob("FAKE_CUDA_DEVICES", 1); }

std::mutex mutex;
size_t used = 0;
std::map<uintptr_t, size_t> live; // address -> bytes
int context = 42;

} // namespace


namespace {
const FakeCudaExecutor *executor = nullptr;

struct FakeModule {
  std::string ptx;
  void *executed = nullptr; // the executor's handle
};
struct FakeFunction {
  FakeModule *module;
  std::string name;
};
std::map<std::pair<FakeModule *, std::string>, FakeFunction *> functionsOf;

/// An event: when it was last recorded, if ever.
struct FakeEvent {
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
  uint64_t uploadsBefore = 0; ///< the uploads queued when it was recorded
};
std::set<FakeEvent *> events; // the live ones

/// Uploads queued by cuMemcpyHtoDAsync (the n-th has sequence number n),
/// done in order by flushUploads.
struct Upload {
  void *dst;
  const void *src;
  size_t n;
};
std::mutex uploadsMutex;
std::deque<Upload> uploads;
uint64_t uploadsQueued = 0, uploadsDone = 0;
/// Does the uploads numbered below `upTo` (all of them by default).
void flushUploads(uint64_t upTo = UINT64_MAX) {
  std::lock_guard<std::mutex> lock(uploadsMutex);
  for (; uploadsDone < upTo && !uploads.empty(); ++uploadsDone) {
    std::memcpy(uploads.front().dst, uploads.front().src, uploads.front().n);
    uploads.pop_front();
  }
}

} // namespace

extern "C" {

/// Sets (or, with null, clears) the executor of modules loaded from now on.
void fake_cuda_set_executor(const FakeCudaExecutor *e) {
  std::lock_guard<std::mutex> lock(mutex);
  executor = e;
}

CUresult cuInit(unsigned) { return deviceCount() > 0 ? kSuccess : kNoDevice; }
CUresult cuDriverGetVersion(int *v) {
  *v = knob("FAKE_CUDA_DRIVER_VERSION", 12080);
  return kSuccess;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
  switch (r) {
  case kSuccess: *s = "CUDA_SUCCESS"; break;
  case kInvalidValue: *s = "CUDA_ERROR_INVALID_VALUE"; break;
  case kOutOfMemory: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
  case kNoDevice: *s = "CUDA_ERROR_NO_DEVICE"; break;
  case kInvalidPTX: *s = "CUDA_ERROR_INVALID_PTX"; break;
  case kInvalidHandle: *s = "CUDA_ERROR_INVALID_HANDLE"; break;
  case kNotFound: *s = "CUDA_ERROR_NOT_FOUND"; break;
  case kNotSupported: *s = "CUDA_ERROR_NOT_SUPPORTED"; break;
  case kLaunchFailed: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
  default: return kInvalidValue;
  }
  return kSuccess;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  switch (r) {
  case kSuccess: *s = "no error"; break;
  case kInvalidValue: *s = "invalid argument"; break;
  case kOutOfMemory: *s = "out of memory"; break;
  case kNoDevice: *s = "no CUDA-capable device is detected"; break;
  case kInvalidPTX: *s = "a PTX JIT compilation failed"; break;
  case kInvalidHandle: *s = "invalid resource handle"; break;
  case kNotFound: *s = "named symbol not found"; break;
  case kNotSupported: *s = "the fake driver cannot run kernels"; break;
  case kLaunchFailed: *s = "the emulated kernel failed (see stderr)"; break;
  default: return kInvalidValue;
  }
  return kSuccess;
}
CUresult cuDeviceGetCount(int *n) {
  *n = deviceCount();
  return kSuccess;
}
CUresult cuDeviceGet(int *d, int i) {
  if (i < 0 || i >= deviceCount())
    return kInvalidValue;
  *d = i;
  return kSuccess;
}
CUresult cuDeviceGetName(char *name, int len, int d) {
  std::snprintf(name, len, "thjit fake device %d", d);
  return kSuccess;
}
CUresult cuDeviceGetAttribute(int *v, int attr, int) {
  switch (attr) {
  case 75: *v = knob("FAKE_CUDA_CC", 90) / 10; break; // compute capability major
  case 76: *v = knob("FAKE_CUDA_CC", 90) % 10; break; // minor
  case 16: *v = 4; break;      // multiprocessors
  case 97: *v = 232448; break; // shared memory per block, opt-in
  default: *v = 0;
  }
  return kSuccess;
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, int) {
  *bytes = capacity();
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  *ctx = &context;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &context ? kSuccess : kInvalidValue; }
CUresult cuCtxSynchronize() {
  flushUploads();
  return kSuccess;
}

CUresult cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  if (bytes == 0)
    return kInvalidValue;
  if (used + bytes > capacity())
    return kOutOfMemory;
  void *q = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!q)
    return kOutOfMemory;
  used += bytes;
  live[(uintptr_t)q] = bytes;
  *p = (uintptr_t)q;
  return kSuccess;
}
CUresult cuMemFree_v2(unsigned long long p) {
  flushUploads(); // as the real one, it waits for the device
  std::lock_guard<std::mutex> lock(mutex);
  auto it = live.find((uintptr_t)p);
  if (it == live.end())
    return kInvalidValue;
  used -= it->second;
  live.erase(it);
  std::free((void *)(uintptr_t)p);
  return kSuccess;
}
CUresult cuMemcpyHtoD_v2(unsigned long long dst, const void *src, size_t n) {
  flushUploads();
  std::memcpy((void *)(uintptr_t)dst, src, n);
  return kSuccess;
}
CUresult cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t n, void *) {
  std::lock_guard<std::mutex> lock(uploadsMutex);
  uploads.push_back({(void *)(uintptr_t)dst, src, n});
  ++uploadsQueued;
  return kSuccess;
}
CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  return *p ? kSuccess : kOutOfMemory;
}
CUresult cuMemcpyDtoH_v2(void *dst, unsigned long long src, size_t n) {
  flushUploads();
  std::memcpy(dst, (const void *)(uintptr_t)src, n);
  return kSuccess;
}
/// FAKE_CUDA_SKIP_KERNELS=1: work on the device (kernels, device copies
/// and fills) is skipped.
static bool skipDeviceWork() {
  static const bool skip = [] {
    const char *v = std::getenv("FAKE_CUDA_SKIP_KERNELS");
    return v && std::strcmp(v, "1") == 0;
  }();
  return skip;
}
CUresult cuMemcpyDtoD_v2(unsigned long long dst, unsigned long long src, size_t n) {
  flushUploads();
  if (!skipDeviceWork())
    std::memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
  return kSuccess;
}
CUresult cuMemsetD8_v2(unsigned long long dst, unsigned char v, size_t n) {
  flushUploads();
  if (!skipDeviceWork())
    std::memset((void *)(uintptr_t)dst, v, n);
  return kSuccess;
}

CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned n, int *options,
                            void **values) {
  std::string ptx = (const char *)image;
  if (ptx.find(".version") == std::string::npos) {
    for (unsigned i = 0; i < n; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::snprintf((char *)values[i], 256,
                      "ptxas application ptx input, line 1; fatal   : "
                      "Missing .version directive");
    return kInvalidPTX;
  }
  auto *fake = new FakeModule{ptx};
  std::lock_guard<std::mutex> lock(mutex);
  if (executor)
    fake->executed = executor->load(executor->self, ptx.c_str());
  *m = fake;
  return kSuccess;
}
CUresult cuModuleUnload(void *m) {
  auto *fake = (FakeModule *)m;
  std::lock_guard<std::mutex> lock(mutex);
  if (fake->executed && executor)
    executor->unload(executor->self, fake->executed);
  for (auto it = functionsOf.begin(); it != functionsOf.end();)
    if (it->first.first == fake) {
      delete it->second;
      it = functionsOf.erase(it);
    } else {
      ++it;
    }
  delete fake;
  return kSuccess;
}
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  auto *fake = (FakeModule *)m;
  if (fake->ptx.find(".entry " + std::string(name) + "(") == std::string::npos)
    return kNotFound;
  std::lock_guard<std::mutex> lock(mutex);
  FakeFunction *&fn = functionsOf[{fake, name}];
  if (!fn)
    fn = new FakeFunction{fake, name};
  *f = fn;
  return kSuccess;
}
CUresult cuFuncSetAttribute(void *, int, int) { return kSuccess; }
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned shared, void *,
                        void **params, void **) {
  flushUploads();
  auto *fn = (FakeFunction *)f;
  const FakeCudaExecutor *e;
  {
    std::lock_guard<std::mutex> lock(mutex);
    e = executor;
  }
  if (skipDeviceWork())
    return kSuccess;
  if (!e || !fn->module->executed)
    return kNotSupported;
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  char error[1024] = "";
  if (e->launch(e->self, fn->module->executed, fn->name.c_str(), grid, block, shared,
                params, error, sizeof error)) {
    std::fprintf(stderr, "fake CUDA driver: launch of %s failed: %s\n", fn->name.c_str(),
                 error);
    return kLaunchFailed;
  }
  return kSuccess;
}

// Events: the host clock (launches are synchronous). An event never
// recorded, or destroyed, is an invalid handle, as in the real driver.
CUresult cuEventCreate(void **e, unsigned flags) {
  if (!e || flags > 0xF)
    return kInvalidValue;
  std::lock_guard<std::mutex> lock(mutex);
  auto *fake = new FakeEvent;
  events.insert(fake);
  *e = fake;
  return kSuccess;
}
CUresult cuEventRecord(void *e, void *stream) {
  std::lock_guard<std::mutex> lock(mutex);
  auto *fake = (FakeEvent *)e;
  if (!events.count(fake) || stream) // only the default stream exists here
    return kInvalidHandle;
  fake->recorded = true;
  fake->when = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> queued(uploadsMutex);
  fake->uploadsBefore = uploadsQueued;
  return kSuccess;
}
CUresult cuEventSynchronize(void *e) {
  uint64_t upTo;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!events.count((FakeEvent *)e))
      return kInvalidHandle;
    upTo = ((FakeEvent *)e)->uploadsBefore;
  }
  flushUploads(upTo); // what was queued before the event, not after
  return kSuccess;
}
CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
  std::lock_guard<std::mutex> lock(mutex);
  auto *a = (FakeEvent *)start, *b = (FakeEvent *)end;
  if (!ms)
    return kInvalidValue;
  if (!events.count(a) || !events.count(b) || !a->recorded || !b->recorded)
    return kInvalidHandle;
  *ms = std::chrono::duration<float, std::milli>(b->when - a->when).count();
  return kSuccess;
}
CUresult cuEventDestroy_v2(void *e) {
  std::lock_guard<std::mutex> lock(mutex);
  auto *fake = (FakeEvent *)e;
  if (!events.erase(fake))
    return kInvalidHandle;
  delete fake;
  return kSuccess;
}

} // extern "C"
