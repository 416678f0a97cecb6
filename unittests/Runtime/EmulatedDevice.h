//===- EmulatedDevice.h - GPU tests on a CUDA device or an emulated one -*- C++ -*-===//
///
/// \file
/// The [gpu] test cases run kernels. On a machine with a CUDA device they
/// run there. Without one, ctest runs them a second time (labelled
/// `emulated-gpu`) against the fake driver (FakeCUDA.cpp, through
/// $THJIT_CUDA_DRIVER) with an executor that runs each launch in the SIMT
/// emulator (unittests/CodeGen/GPUEmulator.h), on the LLVM IR compileForPTX
/// made the PTX from (codegen::setPTXListener). So the whole runtime path
/// (transfers, argument marshalling, grids, scratch buffers, updates kept
/// in device memory) and the kernels' numerics are tested on every
/// machine; what only real hardware shows (timing, races the emulator's
/// interleaving hides, the driver's PTX compiler) is not.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_RUNTIME_EMULATEDDEVICE_H
#define THJIT_UNITTESTS_RUNTIME_EMULATEDDEVICE_H

#include <map>
#include <string>

namespace thjit::test {

/// Whether [gpu] cases can run: true on a CUDA device, and on the fake
/// driver once the emulator is installed as its executor (done here, the
/// first time; call this before compiling the functions a case runs).
/// Otherwise it WARNs why the case is skipped and returns false.
bool gpuAvailable();

/// Whether kernels run in the emulator (the fake driver) rather than on a
/// device: cases then use smaller sizes.
bool gpuEmulated();

/// The kernels the emulator ran so far, counted by the last `_` part of
/// their names ("rows", "cols", "finish", "contiguous", "strided", ...):
/// cases check that what they meant to test ran on the GPU.
std::map<std::string, int> emulatedLaunches();
/// Those of one kind ("copy", "take", ...): 0 on a real device, where
/// nothing counts them.
int emulatedLaunches(const std::string &kind);

} // namespace thjit::test

#endif
