//===- CUDATest.cpp - The driver loader and device memory, on the fake driver =//
//
// thjit/Runtime/CUDA.h against FakeCUDA.cpp, a driver whose "device
// memory" is host memory: loading and device listing, the caching
// allocator (reuse, out-of-memory retry), device arrays and their copies,
// PTX modules and the errors of the driver, events. Runs on every machine; the
// tests that run kernels on a real GPU are GPUTest.cpp's.
//
//===----------------------------------------------------------------------===//
#include "thjit/CodeGen/GPU.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace thjit;

namespace {

/// The fake driver beside this binary, unless the environment names one
/// (ctest does): set before anything loads the driver.
const bool driverChosen = [] {
  if (!std::getenv("THJIT_CUDA_DRIVER")) {
    auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    setenv("THJIT_CUDA_DRIVER", (dir / "libthjitFakeCUDA.so").c_str(), 1);
  }
  return true;
}();

NDArray iota(DType t, const Shape &shape) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(double(i) * 0.5 - 3));
  return NDArray::fromValues(t, v, shape);
}

std::string thrown(const std::function<void()> &f) {
  try {
    f();
  } catch (const RuntimeError &e) {
    return e.what();
  }
  return "(nothing thrown)";
}

} // namespace

TEST_CASE("the fake driver is loaded and its device listed", "[cuda]") {
  REQUIRE(driverChosen);
  REQUIRE(cuda::available());
  CHECK(cuda::whyUnavailable().empty());
  CHECK(cuda::driverVersion() == 12080);
  CHECK(cuda::ptxVersionForDriver() == 85);
  std::vector<cuda::DeviceInfo> devices = cuda::devices();
  REQUIRE(devices.size() == 1);
  CHECK(devices[0].name == "thjit fake device 0");
  CHECK(devices[0].arch() == "sm_90");
  CHECK(cuda::currentDevice().multiprocessors == 4);
  std::string report = cuda::devicesReport();
  CHECK(report == "CUDA driver 12.8, 1 device\n"
                  "* 0: thjit fake device 0, compute capability 9.0 (sm_90), "
                  "1.0 GiB, 4 multiprocessors\n");
}

TEST_CASE("the caching allocator reuses freed blocks of a size class", "[cuda]") {
  cuda::releaseCachedMemory();
  cuda::AllocatorStats before = cuda::allocatorStats();
  { auto a = cuda::allocate(1000); CHECK(a->size() == 1000); CHECK(a->data() % 256 == 0); }
  cuda::AllocatorStats mid = cuda::allocatorStats();
  CHECK(mid.driverAllocations == before.driverAllocations + 1);
  CHECK(mid.bytesCached == before.bytesCached + 1024);
  CHECK(mid.bytesInUse == before.bytesInUse);
  {
    auto b = cuda::allocate(600); // the same 1024-byte class
    cuda::AllocatorStats now = cuda::allocatorStats();
    CHECK(now.driverAllocations == mid.driverAllocations);
    CHECK(now.reuses == mid.reuses + 1);
    CHECK(now.bytesInUse == mid.bytesInUse + 1024);
    auto c = cuda::allocate(600); // the cache is empty again: a new block
    CHECK(cuda::allocatorStats().driverAllocations == mid.driverAllocations + 1);
    CHECK(c->data() != b->data());
  }
  // Large blocks come in 2 MiB classes.
  { auto big = cuda::allocate((3u << 20) + 1); }
  CHECK(cuda::allocatorStats().bytesCached >= (4u << 20));
  cuda::releaseCachedMemory();
  CHECK(cuda::allocatorStats().bytesCached == 0);
}

TEST_CASE("out of device memory: the cache is given back, then an error", "[cuda]") {
  cuda::releaseCachedMemory();
  setenv("FAKE_CUDA_MEMORY", std::to_string(5u << 20).c_str(), 1);
  { auto a = cuda::allocate(3u << 20); } // cached: 4 MiB of 5 held
  uint64_t allocations = cuda::allocatorStats().driverAllocations;
  // 2 MiB does not fit beside the cached 4 MiB block: the cache goes back.
  { auto b = cuda::allocate(2u << 20); }
  CHECK(cuda::allocatorStats().driverAllocations == allocations + 1);
  CHECK(cuda::allocatorStats().bytesCached == (2u << 20));
  std::string e = thrown([] { cuda::allocate(6u << 20); });
  CHECK(e.find("cannot allocate 6291456 bytes on the GPU: CUDA_ERROR_OUT_OF_MEMORY (2): "
               "out of memory") != std::string::npos);
  unsetenv("FAKE_CUDA_MEMORY");
  cuda::releaseCachedMemory();
}

TEST_CASE("device arrays copy to and from the host, views included", "[cuda]") {
  for (DType t : {DType::Float32, DType::Float64, DType::Int8, DType::Bool}) {
    NDArray host = iota(t, {3, 4});
    cuda::DeviceArray d = cuda::DeviceArray::fromHost(host);
    CHECK(d.isContiguous());
    CHECK(d.dtype() == t);
    CHECK(d.toHost().repr() == host.repr());
    // A transposed view, reversed rows, a broadcast column, one element.
    CHECK(d.view({4, 3}, {1, 4}).toHost().repr() == host.transpose().repr());
    std::vector<Scalar> reversed;
    for (int64_t r = 2; r >= 0; --r)
      for (int64_t c = 0; c < 4; ++c)
        reversed.push_back(host.flatAt(r * 4 + c));
    CHECK(d.view({3, 4}, {-4, 1}, 8).toHost().repr() ==
          NDArray::fromValues(t, reversed, {3, 4}).repr());
    CHECK(d.view({2, 4}, {0, 1}, 4).toHost().repr() ==
          host.slice(0, 1, 2, 1).broadcastTo({2, 4}).repr());
    CHECK(d.view({}, {}, 5).toHost().repr() == NDArray::scalar(host.flatAt(5)).repr());
    CHECK(!d.view({4, 3}, {1, 4}).isContiguous());
    CHECK(d.view({4, 3}, {1, 4}).toHost().repr() == host.transpose().repr());
    // A host view is copied contiguously first.
    CHECK(cuda::DeviceArray::fromHost(host.transpose()).toHost().repr() ==
          host.transpose().repr());
  }
  cuda::DeviceArray empty = cuda::DeviceArray::empty(DType::Float32, {0, 5});
  CHECK(empty.toHost().shape() == Shape{0, 5});
}

TEST_CASE("uploads queue through pinned memory, reused only once read", "[cuda]") {
  // Uploads up to 1 MiB are staged in an 8 MiB ring of pinned memory and
  // queued; the fake driver does a queued upload only when the device
  // would have had to (the next launch or synchronous copy, or a wait for
  // an event recorded after it), reading its source then. So a region of
  // the ring written over before its upload was known to be done would
  // show here as wrong contents. Nothing in between waits: a first lap of
  // 4 KiB uploads fills the ring; a second of 1 MB ones wraps short of the
  // end, where the first lap's last regions are still queued; a third
  // must still wait for the second's; then uploads of varied sizes.
  std::vector<int64_t> sizes(2048, 1024); // int32 elements
  sizes.insert(sizes.end(), 9, 250000);
  for (int i = 0; i < 400; ++i)
    sizes.push_back(1000 + 37 * (i % 211));
  std::vector<cuda::DeviceArray> devices;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<Scalar> v;
    for (int64_t k = 0; k < sizes[i]; ++k)
      v.push_back(Scalar(int64_t(i * 7919 + k)));
    NDArray host = NDArray::fromValues(DType::Int32, v, {sizes[i]});
    devices.push_back(cuda::DeviceArray::fromHost(host));
    host.setAt({0}, Scalar(int64_t(-1))); // the source may change at once
  }
  // A large upload copies plainly.
  NDArray big = iota(DType::Float64, {300000});
  cuda::DeviceArray bigOnDevice = cuda::DeviceArray::fromHost(big);
  int wrong = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    NDArray back = devices[i].toHost();
    const int32_t *p = reinterpret_cast<const int32_t *>(back.data());
    for (int64_t k = 0; k < sizes[i]; ++k)
      wrong += p[k] != int32_t(i * 7919 + k);
  }
  CHECK(wrong == 0);
  CHECK(bigOnDevice.toHost().repr() == big.repr());
}

TEST_CASE("shared(value, ..., \"cuda\") checks for a device at once", "[cuda]") {
  // The runtime sets the check when it is linked in: here the fake
  // device is there; a check that finds none raises when the variable is
  // made, not at the first function that reads it.
  CHECK_NOTHROW(shared(iota(DType::Float32, {3}), "ok", {}, "cuda"));
  setCUDADeviceCheck([] { throw RuntimeError("no CUDA device: none here"); });
  CHECK_THROWS_WITH(shared(iota(DType::Float32, {3}), "v", {}, "cuda"),
                    Catch::Contains("no CUDA device: none here"));
  CHECK_NOTHROW(shared(iota(DType::Float32, {3}), "host", {}, "cpu"));
  setCUDADeviceCheck(&cuda::requireDevice);
}

TEST_CASE("PTX modules: loaded, kernels found, errors with the driver's log", "[cuda]") {
  Var x = vector("x", DType::Float32);
  Function f = function({x}, {exp(x) * 2});
  codegen::PTXModule m = codegen::compileForPTX(f.graph(), "sm_90");
  REQUIRE(!m.kernels.empty());
  std::shared_ptr<cuda::Module> module = cuda::Module::load(m.ptx);
  CHECK(module->function(m.kernels[0].name) != nullptr);
  CHECK(thrown([&] { module->function("nothing"); }) ==
        "cuModuleGetFunction(nothing) failed: CUDA_ERROR_NOT_FOUND (500): named "
        "symbol not found");
  CHECK(thrown([] { cuda::Module::load("garbage"); }) ==
        "the CUDA driver cannot load thjit's PTX: CUDA_ERROR_INVALID_PTX (218): a "
        "PTX JIT compilation failed\nptxas application ptx input, line 1; fatal   "
        ": Missing .version directive");
  cuda::KernelArgs args;
  args.pointer(0x1000);
  args.i64(-7);
  args.f32(1.5f);
  args.f64(2.25);
  std::vector<void *> p = args.pointers();
  REQUIRE(p.size() == 4);
  CHECK(*(uint64_t *)p[0] == 0x1000);
  CHECK(*(int64_t *)p[1] == -7);
  CHECK(*(float *)p[2] == 1.5f);
  CHECK(*(double *)p[3] == 2.25);
  CHECK(thrown([&] {
          cuda::launch(module->function(m.kernels[0].name), 1, 1, 1, 128, 0, args);
        }) == "cuLaunchKernel failed: CUDA_ERROR_NOT_SUPPORTED (801): the fake "
              "driver cannot run kernels");
}

// Functions on the fake device: everything but kernels runs (transfers,
// views of device arrays, host steps, shared variables kept in GPU memory).

TEST_CASE("shared variables on the GPU: host steps, views, updates kept there", "[cuda]") {
  NDArray start = iota(DType::Float32, {2, 3});
  Var w = shared(start, "w", {}, "cuda");
  CHECK(w.node()->sharedStorage()->device() == "cuda");
  // w[:, [2, 1, 0]] through complex64 (complex values have no GPU
  // kernels): w comes to the host and goes back.
  FunctionOptions o;
  Var reverse = constant(NDArray::fromValues(
      DType::Int64, {Scalar::fromInt(2), Scalar::fromInt(1), Scalar::fromInt(0)}, {3}));
  o.updates = {{w, cast(subtensor(cast(w, DType::Complex64), {Index::all(), Index::array(reverse)}),
                        DType::Float32)}};
  Function flip = function({}, {transpose(w)}, o);
  CHECK(flip.device() == "cuda");
  std::string printed = flip.str();
  CHECK(printed.find("host_from_gpu(w)") != std::string::npos);
  CHECK(printed.find("dimshuffle") != std::string::npos);
  std::vector<NDArray> r = flip({});
  CHECK(r[0].repr() == start.transpose().repr()); // a view of device memory
  // The new value lives on the device; get_value brings it back.
  auto onDevice = w.node()->sharedStorage()->deviceValue();
  REQUIRE(onDevice);
  std::vector<Scalar> rows;
  for (int64_t i : {2, 1, 0, 5, 4, 3})
    rows.push_back(start.flatAt(i));
  NDArray flipped = NDArray::fromValues(DType::Float32, rows, {2, 3});
  CHECK(w.getValue().repr() == flipped.repr());
  flip({});
  CHECK(w.getValue().repr() == start.repr());
  // A value set on the host is uploaded at the next call.
  w.setValue(flipped);
  CHECK(!w.node()->sharedStorage()->deviceValue());
  CHECK(flip({})[0].repr() == flipped.transpose().repr());
  CHECK(w.getValue().repr() == start.repr());
}

TEST_CASE("a failed GPU call changes no shared variable", "[cuda]") {
  NDArray start = iota(DType::Float64, {4});
  Var w = shared(start, "w", {}, "cuda");
  Var x = vector("x", DType::Float64);
  FunctionOptions o;
  o.updates = {{w, w * x}};
  Function f = function({x}, {exp(w)}, o);
  CHECK(f.device() == "cuda");
  CHECK(thrown([&] { f({iota(DType::Float64, {4})}); }) ==
        "cuLaunchKernel failed: CUDA_ERROR_NOT_SUPPORTED (801): the fake driver "
        "cannot run kernels");
  CHECK(w.getValue().repr() == start.repr());
  // The PTX it loads is for the device's architecture.
  CHECK(f.emit("ptx").find(".target sm_90") != std::string::npos);
  // Other modes run on the CPU, with the value brought to the host.
  FunctionOptions ref = o;
  ref.mode = "REFERENCE";
  Function g = function({x}, {exp(w)}, ref);
  CHECK(g.device() == "cpu");
  g({NDArray::full(DType::Float64, {4}, Scalar(2.0))});
  CHECK(w.getValue().repr() == evalElemwise(OpKind::Mul, {start, NDArray::full(DType::Float64, {4}, Scalar(2.0))}).repr());
  ref.device = "cuda";
  std::string e;
  try {
    function({x}, {exp(w)}, ref);
  } catch (const ValueError &err) {
    e = err.what();
  }
  CHECK(e == "function: mode REFERENCE runs on the CPU only; use FAST_RUN, "
             "FAST_COMPILE or PROFILE with device='cuda'");
}

TEST_CASE("events time the default stream", "[cuda]") {
  cuda::Event start, end;
  // Never recorded: the driver's error, naming the call.
  CHECK(thrown([&] { cuda::elapsedMs(start, end); }) ==
        "cuEventElapsedTime failed: CUDA_ERROR_INVALID_HANDLE (400): invalid "
        "resource handle");
  start.record();
  // The fake driver's clock is the host's: 20 ms of sleep are 20 ms of its
  // device time (work runs synchronously there).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto a = cuda::allocate(1 << 20), b = cuda::allocate(1 << 20);
  cuda::copyOnDevice(b->data(), a->data(), 1 << 20);
  end.record();
  end.synchronize();
  float ms = cuda::elapsedMs(start, end);
  CHECK(ms >= 19.5f);
  CHECK(ms < 5000.0f);
  CHECK(cuda::elapsedMs(end, start) == -ms); // order matters, as on a GPU
  // Recorded again: the later point counts.
  start.record();
  end.record();
  float again = cuda::elapsedMs(start, end);
  CHECK(again >= 0.0f);
  CHECK(again < ms);
  // Moved, the event keeps its handle; the moved-from one has none.
  cuda::Event moved = std::move(end);
  CHECK(moved.native() != nullptr);
  CHECK(end.native() == nullptr);
  CHECK(cuda::elapsedMs(start, moved) == again);
  cuda::Event other;
  other = std::move(moved);
  CHECK(cuda::elapsedMs(start, other) == again);
}
