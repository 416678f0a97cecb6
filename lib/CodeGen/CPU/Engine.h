//===- Engine.h - LLVM for the host: optimize, emit, JIT --------*- C++ -*-===//
///
/// \file
/// The process-wide LLVM state of the CPU back end: the host target machine
/// (the CPU's name and all its features), the O3 pipeline with glibc's
/// libmvec registered as the vector library, object emission, and one ORC
/// LLJIT into which compiled objects are loaded and from which they are
/// removed when the last function using them is gone.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_CPU_ENGINE_H
#define THJIT_CODEGEN_CPU_ENGINE_H

#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace thjit::codegen {

/// Code loaded into the JIT; unloaded when destroyed.
class LoadedCode {
public:
  virtual ~LoadedCode() = default;
  virtual void *address() const = 0;
};

class Engine {
public:
  static Engine &get();

  /// Sets the module's triple and data layout for the host.
  void configure(llvm::Module &m);
  /// The O3 pipeline for the host CPU.
  void optimize(llvm::Module &m);
  /// Object file bytes, or assembly text.
  std::string emitObject(llvm::Module &m);
  std::string emitAssembly(llvm::Module &m);
  /// Loads an object file and looks up `symbol` in it. CompileError on
  /// failure.
  std::shared_ptr<LoadedCode> load(const std::string &object,
                                   const std::string &symbol);
  /// "<triple> <cpu> <features>".
  const std::string &hostDescription() const;

  struct Impl;

private:
  Engine();
  std::unique_ptr<Impl> impl;
};

} // namespace thjit::codegen

#endif
