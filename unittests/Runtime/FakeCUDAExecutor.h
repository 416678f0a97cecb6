//===- FakeCUDAExecutor.h - How the fake CUDA driver runs kernels -*- C++ -*-===//
///
/// \file
/// The fake driver (FakeCUDA.cpp) runs no kernel itself: a test hands it an
/// executor with `fake_cuda_set_executor`, looked up with dlsym in the
/// driver library (EmulatedDevice.cpp hands it the SIMT emulator).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_RUNTIME_FAKECUDAEXECUTOR_H
#define THJIT_UNITTESTS_RUNTIME_FAKECUDAEXECUTOR_H

#include <cstddef>

extern "C" {

/// Runs kernels for the fake driver. load returns a handle for a module's
/// PTX, or null when it cannot run it (its launches then fail with
/// CUDA_ERROR_NOT_SUPPORTED); launch runs a kernel to completion and
/// returns 0, or writes why it failed into error and returns nonzero.
struct FakeCudaExecutor {
  void *(*load)(void *self, const char *ptx);
  void (*unload)(void *self, void *module);
  int (*launch)(void *self, void *module, const char *kernel, const unsigned grid[3],
                const unsigned block[3], unsigned sharedBytes, void **params,
                char *error, size_t errorBytes);
  void *self;
};

/// Sets (or, with null, clears) the executor of modules loaded from now on.
using FakeCudaSetExecutor = void (*)(const FakeCudaExecutor *);

} // extern "C"

#endif
