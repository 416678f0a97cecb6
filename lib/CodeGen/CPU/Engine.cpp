//===- Engine.cpp - LLVM for the host: optimize, emit, JIT ----------------===//
#include "Engine.h"
#include "Lowering.h"
#include "../ScalarEmitter.h"
#include "thjit/Support/Error.h"
#include "thjit/Support/ThreadPool.h"

#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <atomic>
#include <deque>
#include <mutex>

extern "C" {
void *thjit_rt_alloc(void *state, int32_t slot, int64_t bytes);
int32_t thjit_rt_step(void *state, int32_t step);
void thjit_rt_profile(void *state, int32_t step);
extern int64_t thjit_rt_streaming_bytes;
}

namespace thjit::codegen {

struct Engine::Impl {
  std::mutex mutex; // the target machine and pass pipeline are not thread-safe
  std::unique_ptr<llvm::TargetMachine> tm;
  std::unique_ptr<llvm::TargetLibraryInfoImpl> tlii;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::deque<std::string> vecNames; // VecDesc keeps StringRefs into these
  std::string host;
};

static void check(llvm::Error e, const char *what) {
  if (e)
    throw CompileError(std::string(what) + ": " + llvm::toString(std::move(e)));
}
template <class T> static T check(llvm::Expected<T> v, const char *what) {
  if (!v)
    throw CompileError(std::string(what) + ": " + llvm::toString(v.takeError()));
  return std::move(*v);
}

Engine &Engine::get() {
  static Engine engine; // built on first use, thread-safe
  return engine;
}

Engine::Engine() : impl(std::make_unique<Impl>()) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser();
  auto jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "host");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  impl->tm = check(jtmb.createTargetMachine(), "target machine");
  const llvm::Triple &triple = impl->tm->getTargetTriple();
  impl->host = triple.str() + " " + impl->tm->getTargetCPU().str() + " " +
               impl->tm->getTargetFeatureString().str();

  // glibc's libmvec: vector variants of libm for SSE (b), AVX2 (d) and
  // AVX-512 (e), named by the x86 vector function ABI.
  impl->tlii = std::make_unique<llvm::TargetLibraryInfoImpl>(triple);
  std::string missing;
  if (!llvm::sys::DynamicLibrary::LoadLibraryPermanently("libmvec.so.1",
                                                         &missing)) {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    struct Isa {
      char letter;
      int bytes;
      bool present;
    };
    std::vector<Isa> isas{{'b', 16, features.lookup("sse4.2")},
                          {'d', 32, features.lookup("avx2")},
                          {'e', 64, features.lookup("avx512f")}};
    std::vector<llvm::VecDesc> descs;
    auto keep = [&](std::string s) -> llvm::StringRef {
      impl->vecNames.push_back(std::move(s));
      return impl->vecNames.back();
    };
    for (const MathFunction &fn : vectorizableMathFunctions())
      for (const Isa &isa : isas) {
        if (!isa.present)
          continue;
        for (int single = 0; single < 2; ++single) {
          int vf = isa.bytes / (single ? 4 : 8);
          std::string name = std::string(fn.name) + (single ? "f" : "");
          std::string params(fn.arity, 'v');
          descs.emplace_back(
              keep(name),
              keep("_ZGV" + std::string(1, isa.letter) + "N" +
                   std::to_string(vf) + params + "_" + name),
              llvm::ElementCount::getFixed(vf), false,
              keep("_ZGV_LLVM_N" + std::to_string(vf) + params));
        }
      }
    impl->tlii->addVectorizableFunctions(descs);
  }

  impl->jit = check(llvm::orc::LLJITBuilder()
                        .setJITTargetMachineBuilder(std::move(jtmb))
                        .create(),
                    "JIT");
  llvm::orc::JITDylib &jd = impl->jit->getMainJITDylib();
  jd.addGenerator(check(
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          impl->jit->getDataLayout().getGlobalPrefix()),
      "process symbols"));
  llvm::orc::MangleAndInterner mangle(impl->jit->getExecutionSession(),
                                      impl->jit->getDataLayout());
  llvm::orc::SymbolMap runtime;
  auto add = [&](const char *name, void *fn) {
    runtime[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                             llvm::JITSymbolFlags::Exported};
  };
  add(kAllocFn, (void *)&thjit_rt_alloc);
  add(kStepFn, (void *)&thjit_rt_step);
  add(kProfileFn, (void *)&thjit_rt_profile);
  add(kParallelForFn, (void *)&thjit_parallel_for);
  add(kStreamingBytes, (void *)&thjit_rt_streaming_bytes);
  check(jd.define(llvm::orc::absoluteSymbols(std::move(runtime))), "runtime");
}

void Engine::configure(llvm::Module &m) {
  m.setTargetTriple(impl->tm->getTargetTriple().str());
  m.setDataLayout(impl->tm->createDataLayout());
  for (llvm::Function &f : m)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", impl->tm->getTargetCPU());
      f.addFnAttr("target-features", impl->tm->getTargetFeatureString());
    }
}

void Engine::optimize(llvm::Module &m) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  llvm::PassBuilder pb(impl->tm.get(), pto);
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(*impl->tlii); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

static std::string emitFile(llvm::TargetMachine &tm, llvm::Module &m,
                            llvm::CodeGenFileType type) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type))
    throw CompileError("the host target cannot emit this file type");
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

std::string Engine::emitObject(llvm::Module &m) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return emitFile(*impl->tm, m, llvm::CodeGenFileType::ObjectFile);
}

std::string Engine::emitAssembly(llvm::Module &m) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return emitFile(*impl->tm, m, llvm::CodeGenFileType::AssemblyFile);
}

namespace {
/// One object in its own JITDylib, so that objects may define the same
/// names; the dylib goes when the last function using it does.
class JitCode : public LoadedCode {
public:
  JitCode(llvm::orc::LLJIT &jit, llvm::orc::JITDylib &jd, void *addr)
      : jit(jit), jd(&jd), addr(addr) {}
  ~JitCode() override {
    if (llvm::Error e = jit.getExecutionSession().removeJITDylib(*jd))
      llvm::consumeError(std::move(e)); // nothing useful to do at teardown
  }
  void *address() const override { return addr; }
  void setAddress(void *a) { addr = a; }

private:
  llvm::orc::LLJIT &jit;
  llvm::orc::JITDylibSP jd;
  void *addr;
};
} // namespace

std::shared_ptr<LoadedCode> Engine::load(const std::string &object,
                                         const std::string &symbol) {
  static std::atomic<uint64_t> counter{0};
  auto created = impl->jit->createJITDylib("thjit." + std::to_string(counter++));
  if (!created)
    throw CompileError("JIT: " + llvm::toString(created.takeError()));
  llvm::orc::JITDylib &jd = *created;
  jd.addToLinkOrder(impl->jit->getMainJITDylib());
  auto code = std::make_shared<JitCode>(*impl->jit, jd, nullptr);
  check(impl->jit->addObjectFile(
            jd, llvm::MemoryBuffer::getMemBufferCopy(object, symbol)),
        "loading compiled code");
  // On failure `code` removes the dylib again.
  auto addr = check(impl->jit->lookup(jd, symbol), "loading compiled code");
  code->setAddress(addr.toPtr<void *>());
  return code;
}

const std::string &Engine::hostDescription() const { return impl->host; }

} // namespace thjit::codegen
