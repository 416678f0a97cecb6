//===- EmulatedDevice.cpp - The SIMT emulator as the fake driver's executor ===//
#include "EmulatedDevice.h"
#include "../CodeGen/GPUEmulator.h"
#include "FakeCUDAExecutor.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/Runtime/CUDA.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace thjit::test {

namespace {

/// LLVM IR by PTX text, from every compileForPTX of the process.
std::mutex irMutex;
std::map<std::string, std::string> irByPTX;

/// Launches so far, by the last part of the kernel's name.
std::mutex launchesMutex;
std::map<std::string, int> launchCounts;

struct EmulatedModule {
  std::mutex mutex; // one launch at a time per emulator
  GPUEmulator emulator;
};

void *loadModule(void *, const char *ptx) {
  std::string ir;
  {
    std::lock_guard<std::mutex> lock(irMutex);
    auto it = irByPTX.find(ptx);
    if (it == irByPTX.end())
      return nullptr; // not thjit's: its launches fail as unsupported
    ir = it->second;
  }
  auto m = std::make_unique<EmulatedModule>();
  try {
    m->emulator.loadIR(ir);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "emulated device: cannot load a module: %s\n", e.what());
    return nullptr;
  }
  return m.release();
}

void unloadModule(void *, void *m) { delete static_cast<EmulatedModule *>(m); }

int launchKernel(void *, void *module, const char *kernel, const unsigned grid[3],
                 const unsigned block[3], unsigned sharedBytes, void **params,
                 char *error, size_t errorBytes) {
  auto *m = static_cast<EmulatedModule *>(module);
  std::lock_guard<std::mutex> lock(m->mutex);
  {
    std::lock_guard<std::mutex> count(launchesMutex);
    std::string name = kernel;
    ++launchCounts[name.substr(name.rfind('_') + 1)];
  }
  try {
    m->emulator.launchParams(kernel, {grid[0], grid[1], grid[2]},
                             {block[0], block[1], block[2]}, sharedBytes, params);
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(error, errorBytes, "%s", e.what());
    return 1;
  }
}

FakeCudaExecutor executor{loadModule, unloadModule, launchKernel, nullptr};

/// Installs the emulator when $THJIT_CUDA_DRIVER is the fake driver.
bool installEmulator() {
  const char *path = std::getenv("THJIT_CUDA_DRIVER");
  if (!path || !*path)
    return false;
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return false;
  auto set = reinterpret_cast<FakeCudaSetExecutor>(dlsym(lib, "fake_cuda_set_executor"));
  if (!set)
    return false; // a real driver
  codegen::setPTXListener([](const std::string &ptx, const std::string &ir) {
    std::lock_guard<std::mutex> lock(irMutex);
    irByPTX[ptx] = ir;
  });
  set(&executor);
  return true; // the library stays loaded: the runtime uses it too
}

} // namespace

std::map<std::string, int> emulatedLaunches() {
  std::lock_guard<std::mutex> lock(launchesMutex);
  return launchCounts;
}

int emulatedLaunches(const std::string &kind) {
  std::lock_guard<std::mutex> lock(launchesMutex);
  auto it = launchCounts.find(kind);
  return it == launchCounts.end() ? 0 : it->second;
}

bool gpuEmulated() {
  static const bool emulated = installEmulator();
  return emulated;
}

bool gpuAvailable() {
  gpuEmulated();
  if (cuda::available())
    return true;
  WARN("skipped: no CUDA device: " << cuda::whyUnavailable());
  return false;
}

} // namespace thjit::test
