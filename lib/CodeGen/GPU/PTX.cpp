//===- PTX.cpp - Element-wise kernels as NVPTX assembly -------------------===//
//
// Each element-wise step of the plan becomes grid-stride kernels whose body
// is the ScalarEmitter's, as on the CPU; reductions and softmax get theirs
// from Reduce.cpp. libm calls the emitter makes become libdevice's __nv_
// functions, linked in (only what is used, then internalized) before LLVM's
// O3 pipeline with the NVPTX target's own passes (NVVMReflect) and the PTX
// printer. The ABI is in GPU.h.
//
//===----------------------------------------------------------------------===//
#include "thjit/CodeGen/GPU.h"
#include "../ScalarEmitter.h"
#include "PTXLowering.h"
#include "Gemm.h"
#include "thjit/CodeGen/Plan.h"
#include "thjit/CodeGen/Transfer.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Error.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/IntrinsicsNVPTX.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/IPO/Internalize.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace thjit::codegen {

using llvm::Value;

namespace gpu {

std::string sanitize(const std::string &s) {
  std::string r;
  for (char c : s)
    r += std::isalnum((unsigned char)c) ? c : '_';
  return r;
}

std::string kernelBaseName(const Plan &plan, int s) {
  return "thjit_s" + std::to_string(s) + "_" + sanitize(plan.steps[s].node->name());
}

llvm::Function *newKernel(llvm::Module &m, const std::string &name,
                          int pointers, int readOnly, int scalars,
                          const std::vector<bool> &byValue) {
  llvm::LLVMContext &ctx = m.getContext();
  auto value = [&](int p) { return p < (int)byValue.size() && byValue[p]; };
  std::vector<llvm::Type *> params;
  for (int p = 0; p < pointers; ++p)
    params.push_back(value(p) ? (llvm::Type *)llvm::Type::getInt64Ty(ctx)
                              : llvm::PointerType::get(ctx, kGlobal));
  params.insert(params.end(), scalars, llvm::Type::getInt64Ty(ctx));
  auto *f = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
      llvm::Function::ExternalLinkage, name, &m);
  // A __global__ function (LLVM 19 reads the calling convention as well as
  // nvvm.annotations; newer LLVMs only the calling convention).
  f->setCallingConv(llvm::CallingConv::PTX_Kernel);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  for (int p = 0; p < pointers; ++p) {
    if (value(p))
      continue;
    f->addParamAttr(p, llvm::Attribute::NoAlias);
    if (p < readOnly)
      f->addParamAttr(p, llvm::Attribute::ReadOnly); // ld.global.nc
  }
  return f;
}

llvm::Value *scalarFromBits(llvm::IRBuilder<> &b, llvm::Value *bits, DType t) {
  ScalarEmitter em(b);
  llvm::Type *mt = em.memType(t);
  Value *v = b.CreateTrunc(bits, b.getIntNTy((unsigned)mt->getPrimitiveSizeInBits()));
  return em.fromMemory(mt->isIntegerTy() ? v : b.CreateBitCast(v, mt), t);
}

llvm::Value *specialReg(llvm::IRBuilder<> &b, llvm::Intrinsic::ID id) {
  return b.CreateZExt(b.CreateIntrinsic(id, {}, {}), b.getInt64Ty());
}

const llvm::Target &nvptxTarget() {
  static const llvm::Target *target = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    std::string err;
    const llvm::Target *t = llvm::TargetRegistry::lookupTarget(kNVPTXTriple, err);
    if (!t)
      throw CompileError("this LLVM has no NVPTX back end: " + err);
    return t;
  }();
  return *target;
}

std::unique_ptr<llvm::TargetMachine> targetMachine(const std::string &arch,
                                                   int ptxVersion) {
  llvm::TargetOptions options; // no FMA contraction, IEEE division and sqrt
  std::unique_ptr<llvm::TargetMachine> tm(nvptxTarget().createTargetMachine(
      kNVPTXTriple, arch, "+ptx" + std::to_string(ptxVersion), options,
      std::nullopt, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    throw CompileError("LLVM cannot target " + arch);
  return tm;
}

void optimize(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

std::string printPTX(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    throw CompileError("the NVPTX back end cannot emit PTX");
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

} // namespace gpu

namespace {

using gpu::nvptxTarget;
using gpu::targetMachine;
constexpr const char *kTriple = gpu::kNVPTXTriple;

bool fileExists(const std::string &path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// libdevice's bytes by path, read once.
std::shared_ptr<const std::string> readLibdevice(const std::string &path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const std::string>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end())
    return it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return nullptr;
  std::ostringstream os;
  os << in.rdbuf();
  auto bytes = std::make_shared<const std::string>(os.str());
  cache[path] = bytes;
  return bytes;
}

/// The libm functions the ScalarEmitter may call (double and float), and
/// fmod, which replaces frem: NVPTX expands frem as x - trunc(x / y) * y,
/// which is not exact, where libdevice's fmod is (as glibc's is).
const std::set<std::string> &libmNames() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s{"fmod", "fmodf"};
    for (const MathFunction &fn : vectorizableMathFunctions()) {
      s.insert(fn.name);
      s.insert(std::string(fn.name) + "f");
    }
    return s;
  }();
  return names;
}

/// Everything a step's kernels depend on: its kind, op and (Reduce) axes,
/// its program bit for bit, and the types of its operands, results and
/// (Reduce) source. Steps with equal keys share kernels.
std::string kernelKey(const Plan &plan, const Step &step, const std::vector<bool> &byValue,
                      const std::vector<bool> &reordered) {
  std::ostringstream os;
  os << (int)step.kind;
  if (step.kind != StepKind::Elemwise) {
    os << ' ' << opName(step.node->kind()) << " [" << step.node->attrs().keepdims;
    for (int a : step.node->attrs().axes)
      os << ' ' << a;
    os << ']';
  }
  if (step.program)
    os << ' ' << programKey(*step.program);
  // A Reduce step reading a reordered view has a second main kernel.
  for (int v : step.operands)
    os << ' ' << plan.values[v].var.type()->str() << (byValue[v] ? " by value" : "")
       << (step.kind == StepKind::Reduce && reordered[v] ? " reordered" : "");
  os << " ->";
  for (int v : step.results)
    os << ' ' << plan.values[v].var.type()->str();
  if (step.kind == StepKind::Reduce)
    os << " from " << plan.values[step.source].var.type()->str();
  return os.str();
}

class PTXLowering {
public:
  PTXLowering(const Plan &plan, const std::vector<bool> &byValue, llvm::LLVMContext &ctx)
      : plan(plan), byValue(byValue), ctx(ctx), mod(std::make_unique<llvm::Module>("thjit", ctx)),
        b(ctx) {}

  /// The kernels of element-wise step s (contiguous first when there is
  /// one). CompileError when an op has no lowering.
  std::vector<llvm::Function *> emitStep(int s, std::vector<GPUKernel> &info);

  llvm::Module &module() { return *mod; }

private:
  llvm::Function *buildKernel(const Step &step, const std::string &name,
                              bool contiguous);
  int vectorWidth(const Step &step, const std::vector<bool> &read,
                  const std::vector<bool> &full);

  const Plan &plan;
  const std::vector<bool> &byValue; ///< scalarsByValue of the plan
  llvm::LLVMContext &ctx;
  std::unique_ptr<llvm::Module> mod;
  llvm::IRBuilder<> b;
};

std::vector<llvm::Function *> PTXLowering::emitStep(int s,
                                                    std::vector<GPUKernel> &info) {
  const Step &step = plan.steps[s];
  const int R = plan.values[step.results[0]].ndim;
  // The contiguous kernel reads every operand at the flat index or at 0:
  // impossible when an operand is broadcast along some dims only.
  bool partial = false;
  for (int v : step.operands) {
    const TensorType *t = plan.values[v].var.type();
    int bcast = R - t->ndim();
    for (int d = 0; d < t->ndim(); ++d)
      bcast += t->isBroadcastable(d);
    partial = partial || (bcast > 0 && bcast < R);
  }
  std::string base = gpu::kernelBaseName(plan, s);
  std::vector<llvm::Function *> fns;
  try {
    for (bool contiguous : {true, false}) {
      if (contiguous && partial)
        continue;
      std::string name = base + (contiguous ? "_contiguous" : "_strided");
      fns.push_back(buildKernel(step, name, contiguous));
      GPUKernel k;
      k.name = name;
      k.step = s;
      k.contiguous = contiguous;
      k.numOperands = (int)step.operands.size();
      k.numResults = (int)step.results.size();
      k.ndim = R;
      for (int v : step.operands)
        k.operandNdims.push_back(plan.values[v].ndim);
      info.push_back(k);
    }
  } catch (...) {
    for (llvm::Function *f : fns)
      f->eraseFromParent();
    if (llvm::BasicBlock *bb = b.GetInsertBlock()) // the one half built
      bb->getParent()->eraseFromParent();
    b.ClearInsertionPoint();
    throw;
  }
  return fns;
}

namespace {

/// Bytes of a value of memory type t (a scalar: int, half, float, double).
uint64_t memBytes(llvm::Type *t) { return t->getPrimitiveSizeInBits() / 8; }

} // namespace

/// Elements per vector access of the contiguous kernel: 128 bits of the
/// widest type it streams (operands read per element, results), at most 4
/// (the body is emitted once per element of a group); 1 for none.
int PTXLowering::vectorWidth(const Step &step, const std::vector<bool> &read,
                             const std::vector<bool> &full) {
  ScalarEmitter em(b);
  uint64_t widest = 0;
  auto see = [&](DType t) {
    llvm::Type *mt = em.memType(t);
    widest = mt->isIntegerTy() || mt->isFloatingPointTy()
                 ? std::max(widest, memBytes(mt))
                 : 16; // complex (a pair): no vector phase
  };
  for (size_t k = 0; k < step.operands.size(); ++k)
    if (read[k] && !full[k])
      see(plan.values[step.operands[k]].dtype);
  for (int r : step.results)
    see(plan.values[r].dtype);
  return widest ? (int)std::min<uint64_t>(4, 16 / widest) : 1;
}

llvm::Function *PTXLowering::buildKernel(const Step &step, const std::string &name,
                                         bool contiguous) {
  const int N = (int)step.operands.size();
  const int M = (int)step.results.size();
  const int R = plan.values[step.results[0]].ndim;
  llvm::Type *i64 = b.getInt64Ty();
  // n; the strided kernel's index and each operand's strides (GPU.h).
  const int scalars = contiguous ? 1 : 1 + 2 * R + N * R;
  std::vector<bool> valueParams;
  for (int v : step.operands)
    valueParams.push_back(byValue[v]);
  llvm::Function *f = gpu::newKernel(*mod, name, N + M + 1, N, scalars, valueParams);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
  ScalarEmitter em(b);
  Value *n = f->getArg(N + M + 1);
  gpu::StridedIndex index;
  std::vector<std::vector<Value *>> strides(N); // by result dim
  if (!contiguous) {
    index = gpu::StridedIndex::fromParams(f, N + M + 2, R);
    for (int k = 0; k < N; ++k)
      for (int d = 0; d < R; ++d)
        strides[k].push_back(f->getArg(N + M + 2 + 2 * R + k * R + d));
  }
  std::vector<bool> read = step.program->inputsRead();
  std::vector<bool> full(N, true); // broadcast along every dim by its type
  for (int k = 0; k < N; ++k) {
    const TensorType *t = plan.values[step.operands[k]].var.type();
    for (int j = 0; j < t->ndim(); ++j)
      full[k] = full[k] && t->isBroadcastable(j);
  }

  // Grid-stride loops over i in [first, n).
  auto [first, gridSize] = gpu::gridStride(b);
  llvm::AllocaInst *err = b.CreateAlloca(b.getInt1Ty());
  b.CreateStore(b.getFalse(), err);
  auto *pre = llvm::BasicBlock::Create(ctx, "pre", f);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", f);
  b.CreateCondBr(b.CreateICmpSLT(first, n), pre, exit);
  // An operand of one element is loaded once, by threads with work only.
  b.SetInsertPoint(pre);
  std::vector<Value *> uniform(N, nullptr);
  for (int k = 0; k < N; ++k)
    if (full[k] && read[k])
      uniform[k] = byValue[step.operands[k]]
                       ? gpu::scalarFromBits(b, f->getArg(k), plan.values[step.operands[k]].dtype)
                       : em.load(f->getArg(k), plan.values[step.operands[k]].dtype);
  // The contiguous kernel first does groups of V adjacent elements with
  // vector loads and stores (128 bits for the widest type) when every
  // array it streams is aligned for them; the grid-stride loop below does
  // the rest (all of it when some array is not aligned).
  auto *tail = llvm::BasicBlock::Create(ctx, "tail", f);
  const int V = contiguous ? vectorWidth(step, read, full) : 1;
  Value *vectorDone = b.getInt64(0); // elements the vector loop covers
  llvm::BasicBlock *fromPre = b.GetInsertBlock();
  if (V > 1) {
    Value *aligned = b.getTrue();
    auto checkAlign = [&](Value *ptr, DType t) {
      const uint64_t bytes = V * memBytes(em.memType(t));
      Value *low = b.CreateAnd(b.CreatePtrToInt(ptr, i64), bytes - 1);
      aligned = b.CreateAnd(aligned, b.CreateICmpEQ(low, b.getInt64(0)));
    };
    for (int k = 0; k < N; ++k)
      if (!uniform[k] && read[k])
        checkAlign(f->getArg(k), plan.values[step.operands[k]].dtype);
    for (int m = 0; m < M; ++m)
      checkAlign(f->getArg(N + m), plan.values[step.results[m]].dtype);
    Value *groups = b.CreateSelect(aligned, b.CreateUDiv(n, b.getInt64(V)), b.getInt64(0));
    vectorDone = b.CreateMul(groups, b.getInt64(V));
    auto *vloop = llvm::BasicBlock::Create(ctx, "vloop", f, tail);
    b.CreateCondBr(b.CreateICmpULT(first, groups), vloop, tail);
    b.SetInsertPoint(vloop);
    llvm::PHINode *g = b.CreatePHI(i64, 2, "g");
    g->addIncoming(first, fromPre);
    Value *base = b.CreateMul(g, b.getInt64(V));
    std::vector<std::vector<Value *>> lanes(V, std::vector<Value *>(N, nullptr));
    for (int k = 0; k < N; ++k) {
      if (uniform[k] || !read[k]) {
        for (int j = 0; j < V; ++j)
          lanes[j][k] = uniform[k];
        continue;
      }
      DType t = plan.values[step.operands[k]].dtype;
      llvm::Type *mt = em.memType(t);
      Value *vec = b.CreateAlignedLoad(llvm::FixedVectorType::get(mt, V),
                                       b.CreateInBoundsGEP(mt, f->getArg(k), base),
                                       llvm::Align(V * memBytes(mt)));
      for (int j = 0; j < V; ++j)
        lanes[j][k] = em.fromMemory(b.CreateExtractElement(vec, j), t);
    }
    std::vector<Value *> outs(M, nullptr);
    for (int j = 0; j < V; ++j) {
      em.resetErrorFlag();
      std::vector<Value *> r = em.emit(*step.program, lanes[j]);
      if (Value *e = em.errorFlag())
        b.CreateStore(b.CreateOr(b.CreateLoad(b.getInt1Ty(), err), e), err);
      for (int m = 0; m < M; ++m) {
        DType t = plan.values[step.results[m]].dtype;
        if (!outs[m])
          outs[m] = llvm::PoisonValue::get(llvm::FixedVectorType::get(em.memType(t), V));
        outs[m] = b.CreateInsertElement(outs[m], em.toMemory(r[m], t), j);
      }
    }
    for (int m = 0; m < M; ++m) {
      llvm::Type *mt = em.memType(plan.values[step.results[m]].dtype);
      b.CreateAlignedStore(outs[m], b.CreateInBoundsGEP(mt, f->getArg(N + m), base),
                           llvm::Align(V * memBytes(mt)));
    }
    Value *nextGroup = b.CreateAdd(g, gridSize);
    g->addIncoming(nextGroup, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpULT(nextGroup, groups), vloop, tail);
  } else {
    b.CreateBr(tail);
  }
  b.SetInsertPoint(tail); // vectorDone is computed in `pre`, before both
  Value *start = b.CreateAdd(first, vectorDone);
  gpu::gridStrideLoops(b, start, gridSize, n, exit, !contiguous, [&](Value *i, bool narrow) {
    std::vector<Value *> offset(N, i);
    if (!contiguous) {
      std::vector<Value *> c = index.coordinates(b, i, narrow);
      for (int k = 0; k < N; ++k) {
        offset[k] = b.getInt64(0);
        for (int d = 0; d < R && !uniform[k] && read[k]; ++d)
          offset[k] = b.CreateAdd(offset[k], b.CreateMul(c[d], strides[k][d]));
      }
    }
    std::vector<Value *> in(N, nullptr);
    for (int k = 0; k < N; ++k) {
      if (uniform[k] || !read[k]) {
        in[k] = uniform[k];
        continue;
      }
      DType t = plan.values[step.operands[k]].dtype;
      in[k] = em.load(b.CreateInBoundsGEP(em.memType(t), f->getArg(k), offset[k]), t);
    }
    em.resetErrorFlag();
    std::vector<Value *> r = em.emit(*step.program, in);
    if (Value *e = em.errorFlag())
      b.CreateStore(b.CreateOr(b.CreateLoad(b.getInt1Ty(), err), e), err);
    for (int m = 0; m < M; ++m) {
      DType t = plan.values[step.results[m]].dtype;
      em.store(r[m], b.CreateInBoundsGEP(em.memType(t), f->getArg(N + m), i), t);
    }
  });

  b.SetInsertPoint(exit);
  auto *fail = llvm::BasicBlock::Create(ctx, "fail", f);
  auto *done = llvm::BasicBlock::Create(ctx, "done", f);
  b.CreateCondBr(b.CreateLoad(b.getInt1Ty(), err), fail, done);
  b.SetInsertPoint(fail);
  b.CreateStore(b.getInt32(1), f->getArg(N + M));
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRetVoid();
  b.ClearInsertionPoint();
  return f;
}

/// Replaces each frem by a call of fmod (see libmNames).
void fremToFmod(llvm::Module &m) {
  std::vector<llvm::Instruction *> frems;
  for (llvm::Function &f : m)
    for (llvm::Instruction &inst : llvm::instructions(f))
      if (inst.getOpcode() == llvm::Instruction::FRem)
        frems.push_back(&inst);
  for (llvm::Instruction *inst : frems) {
    llvm::IRBuilder<> b(inst);
    llvm::Type *ty = inst->getType();
    const char *name = ty->isFloatTy() ? "fmodf" : "fmod";
    llvm::FunctionCallee fn =
        m.getOrInsertFunction(name, llvm::FunctionType::get(ty, {ty, ty}, false));
    auto *callee = llvm::cast<llvm::Function>(fn.getCallee());
    callee->setDoesNotAccessMemory();
    callee->setDoesNotThrow();
    llvm::CallInst *call = b.CreateCall(fn, {inst->getOperand(0), inst->getOperand(1)});
    call->setDoesNotAccessMemory();
    inst->replaceAllUsesWith(call);
    inst->eraseFromParent();
  }
}

/// The libm functions f calls (by their libm name).
std::set<std::string> libmCalls(llvm::Function &f) {
  std::set<std::string> calls;
  for (llvm::Instruction &inst : llvm::instructions(f))
    if (auto *c = llvm::dyn_cast<llvm::CallInst>(&inst))
      if (llvm::Function *g = c->getCalledFunction())
        if (g->isDeclaration() && !g->isIntrinsic())
          calls.insert(g->getName().str());
  return calls;
}

std::string valueName(const Plan &p, int v) {
  const Var &var = p.values[v].var;
  return var.name().empty() ? "%" + std::to_string(v) : var.name();
}

/// "%3 = composite(x, y)", as --emit=plan names it.
std::string describe(const Plan &p, const Step &s) {
  std::string r;
  for (size_t i = 0; i < s.results.size(); ++i)
    r += (i ? ", " : "") + valueName(p, s.results[i]);
  r += " = ";
  if (s.producer)
    r += std::string(s.producer->name()) + " into ";
  r += s.node->name();
  r += '(';
  for (size_t k = 0; k < s.operands.size(); ++k)
    r += (k ? ", " : "") + valueName(p, s.operands[k]);
  return r + ')';
}

/// The process-wide architecture, behind its mutex.
std::string &currentArch(std::unique_lock<std::mutex> &lock) {
  static std::mutex mutex;
  static std::string arch = kDefaultGPUArch;
  lock = std::unique_lock<std::mutex>(mutex);
  return arch;
}

} // namespace

std::vector<std::string> supportedGPUArchs() {
  static const std::vector<std::string> archs = [] {
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        nvptxTarget().createMCSubtargetInfo(kTriple, "", ""));
    std::vector<std::string> r;
    for (const llvm::SubtargetSubTypeKV &kv : sti->getAllProcessorDescriptions())
      r.push_back(kv.Key);
    // By number: sm_9 would sort after sm_80 as text.
    auto number = [](const std::string &a) {
      return std::atoi(a.c_str() + 3) * 2 + (a.back() == 'a');
    };
    std::sort(r.begin(), r.end(), [&](const std::string &x, const std::string &y) {
      return number(x) < number(y);
    });
    return r;
  }();
  return archs;
}

int minPTXVersion(const std::string &arch) {
  static const std::map<std::string, int> oldest = {
      {"sm_20", 32}, {"sm_21", 32}, {"sm_30", 32}, {"sm_32", 40}, {"sm_35", 32},
      {"sm_37", 41}, {"sm_50", 40}, {"sm_52", 41}, {"sm_53", 42}, {"sm_60", 50},
      {"sm_61", 50}, {"sm_62", 50}, {"sm_70", 60}, {"sm_72", 61}, {"sm_75", 63},
      {"sm_80", 70}, {"sm_86", 71}, {"sm_87", 74}, {"sm_89", 78}, {"sm_90", 78},
      {"sm_90a", 80}};
  checkGPUArch(arch);
  auto it = oldest.find(arch);
  return it == oldest.end() ? kPTXVersion : it->second;
}

void checkGPUArch(const std::string &arch) {
  const std::vector<std::string> archs = supportedGPUArchs();
  if (std::find(archs.begin(), archs.end(), arch) != archs.end())
    return;
  std::string list;
  for (const std::string &a : archs)
    list += (list.empty() ? "" : ", ") + a;
  throw ValueError("unknown GPU architecture '" + arch +
                   "': LLVM 19's NVPTX back end targets " + list);
}

void setGPUArch(const std::string &arch) {
  checkGPUArch(arch);
  std::unique_lock<std::mutex> lock;
  currentArch(lock) = arch;
}

std::string gpuArch() {
  std::unique_lock<std::mutex> lock;
  return currentArch(lock);
}

std::string libdevicePath() {
  if (const char *e = std::getenv("THJIT_LIBDEVICE"); e && *e)
    return e;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home) {
    std::string p = std::string(home) + "/nvvm/libdevice/libdevice.10.bc";
    if (fileExists(p))
      return p;
  }
  return "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc";
}

namespace {
std::mutex listenerMutex;
PTXListener listenerFn;
PTXListener currentListener() {
  std::lock_guard<std::mutex> lock(listenerMutex);
  return listenerFn;
}
} // namespace

PTXListener gpu::currentPTXListener() { return currentListener(); }

void setPTXListener(PTXListener listener) {
  std::lock_guard<std::mutex> lock(listenerMutex);
  listenerFn = std::move(listener);
}

namespace {

/// What identifies a file's contents cheaply: its path, size and time.
std::string fileIdentity(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return path + " absent";
  return path + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtime);
}

PTXModule generatePTX(const Graph &g, const std::string &arch,
                      const CompileOptions &options, int ptxVersion);

} // namespace

std::string serializePTXModule(const PTXModule &m) {
  std::ostringstream os;
  os << "thjit-ptx-module 2\n" << m.arch << ' ' << m.ptxVersion << '\n'
     << m.kernels.size() << '\n';
  for (const GPUKernel &k : m.kernels) {
    os << (int)k.kind << ' ' << k.name << ' ' << k.blockSize << ' ' << k.sharedBytes << ' '
       << k.step << ' ' << k.contiguous << ' ' << k.numOperands << ' ' << k.numResults << ' '
       << k.ndim << ' ' << (int)k.reducePart << ' ' << k.tileM << ' ' << k.tileN << ' '
       << k.batched << ' ' << k.tensorCores << ' ' << k.operandNdims.size();
    for (int d : k.operandNdims)
      os << ' ' << d;
    os << '\n';
  }
  os << m.sharedKernels.size() << '\n';
  for (auto [s, from] : m.sharedKernels)
    os << s << ' ' << from << '\n';
  os << m.hostSteps.size() << '\n';
  for (const auto &[s, why] : m.hostSteps)
    os << s << ' ' << why.size() << ' ' << why << '\n';
  os << m.ptx.size() << '\n' << m.ptx;
  return os.str();
}

std::optional<PTXModule> parsePTXModule(const std::string &text) {
  std::istringstream is(text);
  std::string magic;
  int version = 0;
  PTXModule m;
  size_t count = 0;
  if (!(is >> magic >> version >> m.arch >> m.ptxVersion >> count) ||
      magic != "thjit-ptx-module" || version != 2)
    return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    GPUKernel k;
    int kind, part, contiguous, batched, tensorCores;
    size_t ndims;
    if (!(is >> kind >> k.name >> k.blockSize >> k.sharedBytes >> k.step >> contiguous >>
          k.numOperands >> k.numResults >> k.ndim >> part >> k.tileM >> k.tileN >> batched >>
          tensorCores >> ndims))
      return std::nullopt;
    k.tensorCores = tensorCores;
    k.kind = GPUKernelKind(kind);
    k.reducePart = GPUReducePart(part);
    k.contiguous = contiguous;
    k.batched = batched;
    k.operandNdims.resize(ndims);
    for (int &d : k.operandNdims)
      if (!(is >> d))
        return std::nullopt;
    m.kernels.push_back(k);
  }
  if (!(is >> count))
    return std::nullopt;
  m.sharedKernels.resize(count);
  for (auto &[s, from] : m.sharedKernels)
    if (!(is >> s >> from))
      return std::nullopt;
  if (!(is >> count))
    return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    int s;
    size_t length;
    if (!(is >> s >> length) || is.get() != ' ')
      return std::nullopt;
    std::string why(length, '\0');
    if (!is.read(why.data(), (std::streamsize)length))
      return std::nullopt;
    m.hostSteps.push_back({s, why});
  }
  size_t length;
  if (!(is >> length) || is.get() != '\n')
    return std::nullopt;
  m.ptx.resize(length);
  if (!is.read(m.ptx.data(), (std::streamsize)length) || is.peek() != EOF)
    return std::nullopt;
  return m;
}

PTXModule compileForPTX(const Graph &g, const std::string &arch,
                        const CompileOptions &options, int ptxVersion,
                        const ObjectCache *cache) {
  if (!cache || !cache->lookup || currentListener())
    return generatePTX(g, arch, options, ptxVersion);
  const std::string key = objectKey(g, options) + "PTX for " + arch + " ISA " +
                          std::to_string(ptxVersion) + "\nlibdevice " +
                          fileIdentity(libdevicePath()) + "\n";
  if (std::optional<std::string> text = cache->lookup(key))
    if (std::optional<PTXModule> m = parsePTXModule(*text))
      return *m;
  PTXModule m = generatePTX(g, arch, options, ptxVersion);
  if (cache->store)
    cache->store(key, serializePTXModule(m));
  return m;
}

namespace {

PTXModule generatePTX(const Graph &g, const std::string &arch,
                      const CompileOptions &options, int ptxVersion) {
  if (ptxVersion > kPTXVersion || ptxVersion < minPTXVersion(arch))
    throw ValueError("PTX ISA " + std::to_string(ptxVersion / 10) + "." +
                     std::to_string(ptxVersion % 10) + " cannot be written for " + arch +
                     ": LLVM 19 writes " + std::to_string(minPTXVersion(arch) / 10) + "." +
                     std::to_string(minPTXVersion(arch) % 10) + " to " +
                     std::to_string(kPTXVersion / 10) + "." +
                     std::to_string(kPTXVersion % 10) + " for it");
  const Plan plan = makePlan(g, options.updates, PlanTarget::GPU);
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(arch, ptxVersion);
  llvm::LLVMContext ctx;
  const std::vector<bool> byValue = scalarsByValue(plan, g);
  const std::vector<bool> reordered = reorderedViews(plan, g);
  PTXLowering lowering(plan, byValue, ctx);
  llvm::Module &m = lowering.module();
  m.setTargetTriple(kTriple);
  m.setDataLayout(tm->createDataLayout());

  PTXModule out;
  out.arch = arch;
  out.ptxVersion = ptxVersion;
  const int numSteps = (int)plan.steps.size();
  std::vector<std::string> comment(numSteps);
  std::map<int, std::vector<llvm::Function *>> stepFns;
  std::map<std::string, int> firstWithKey;
  std::map<std::string, int> gemmStep; // the step of each GEMM kernel
  // In a transferred graph the steps the GPU does not run get no kernel;
  // in any other, PTX shows what each step's kernels would be.
  const bool placed = isTransferred(g);
  const std::set<const Node *> onGPU = nodesOnGPU(g);
  for (int s = 0; s < numSteps; ++s) {
    const Step &step = plan.steps[s];
    if (placed && !onGPU.count(userNode(step))) {
      comment[s] = "runs on the host";
      continue;
    }
    switch (step.kind) {
    case StepKind::Elemwise:
    case StepKind::Reduce:
      break;
    case StepKind::DimShuffle:
      comment[s] = "a view: no kernel";
      continue;
    case StepKind::ShapeI:
      comment[s] = "read from the operand's shape: no kernel";
      continue;
    case StepKind::Runtime:
      if (gpu::isSoftmaxStep(step))
        break;
      if (std::optional<GemmKernelSpec> spec = gemmSpecFor(*step.node, options)) {
        // tf32 is allowed, not required: older GPUs compute in float32.
        if (spec->path == GemmKernelSpec::Path::TF32 && std::atoi(arch.c_str() + 3) < 80)
          spec->path = GemmKernelSpec::Path::Tiled;
        if (spec->path != GemmKernelSpec::Path::Tiled && std::atoi(arch.c_str() + 3) < 80) {
          comment[s] = "no GPU kernel: tensor-core products need sm_80 or later";
          continue;
        }
        // Two kernels per spec, whatever the shapes: the large tiles, then
        // the small ones (the launcher picks one per call, Gemm.h).
        auto [it, isNew] = gemmStep.try_emplace(gemmKernelName(*spec), s);
        if (!isNew) {
          out.sharedKernels.push_back({s, it->second});
          continue;
        }
        for (bool small : {false, true}) {
          GemmKernelSpec variant = *spec;
          variant.small = small;
          GPUKernel info;
          stepFns[s].push_back(emitGemmKernel(m, gemmKernelName(variant), variant, info));
          info.step = s;
          out.kernels.push_back(info);
        }
        continue;
      }
      if (step.node->kind() == OpKind::Alloc)
        comment[s] = "a broadcast view: no kernel";
      else if (placed)
        comment[s] = "views or copies GPU memory: no kernel of its own";
      else
        comment[s] = "no GPU kernel yet, runs on the host";
      continue;
    }
    auto [it, isNew] = firstWithKey.try_emplace(kernelKey(plan, step, byValue, reordered), s);
    if (!isNew) {
      out.sharedKernels.push_back({s, it->second});
      continue;
    }
    try {
      if (step.kind == StepKind::Reduce)
        stepFns[s] = gpu::emitReduceStep(plan, byValue, reordered, s, m, out.kernels);
      else if (step.kind == StepKind::Runtime)
        stepFns[s] = gpu::emitSoftmaxStep(plan, s, m, out.kernels);
      else
        stepFns[s] = lowering.emitStep(s, out.kernels);
    } catch (const CompileError &e) {
      comment[s] = std::string("no GPU kernel: ") + e.what();
    }
  }

  // libm calls become libdevice's. A step calling anything else, or
  // needing libdevice where it is missing, has no kernel.
  fremToFmod(m);
  const std::string libdevice = libdevicePath();
  std::shared_ptr<const std::string> bytes;
  std::string libdeviceNote = "not needed";
  auto dropStep = [&](int s, const std::string &why) {
    comment[s] = why;
    for (llvm::Function *f : stepFns[s])
      f->eraseFromParent();
    out.kernels.erase(std::remove_if(out.kernels.begin(), out.kernels.end(),
                                     [&](const GPUKernel &k) { return k.step == s; }),
                      out.kernels.end());
  };
  for (auto it = stepFns.begin(); it != stepFns.end();) {
    std::set<std::string> calls;
    for (llvm::Function *f : it->second)
      for (const std::string &c : libmCalls(*f))
        calls.insert(c);
    std::string unknown, list;
    for (const std::string &c : calls) {
      std::string &to = libmNames().count(c) ? list : unknown;
      to += (to.empty() ? "" : ", ") + c;
    }
    if (!unknown.empty()) {
      dropStep(it->first, "no GPU kernel: no GPU lowering for " + unknown);
      it = stepFns.erase(it);
      continue;
    }
    if (!calls.empty() && !bytes) {
      bytes = readLibdevice(libdevice);
      libdeviceNote = bytes ? "linked" : "not found at " + libdevice;
    }
    if (!calls.empty() && !bytes) {
      dropStep(it->first, "no GPU kernel: needs libdevice for " + list +
                              " (not found at " + libdevice +
                              "; set THJIT_LIBDEVICE)");
      it = stepFns.erase(it);
      continue;
    }
    ++it;
  }
  for (llvm::Function &f : llvm::make_early_inc_range(m))
    if (f.isDeclaration() && !f.isIntrinsic()) {
      if (f.use_empty())
        f.eraseFromParent();
      else
        f.setName("__nv_" + f.getName());
    }
  for (llvm::GlobalVariable &gv : m.globals()) // none expected
    if (gv.isDeclaration())
      throw CompileError("the GPU back end cannot reference '" +
                         gv.getName().str() + "'");

  std::string listenerIR;
  if (PTXListener listener = currentListener()) {
    llvm::raw_string_ostream irOS(listenerIR);
    m.print(irOS, nullptr);
  }

  std::set<std::string> kernelNames;
  for (const GPUKernel &k : out.kernels)
    kernelNames.insert(k.name);
  if (bytes) {
    auto lib = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(*bytes, "libdevice.10.bc"), ctx);
    if (!lib)
      throw CompileError("cannot read libdevice (" + libdevice +
                         "): " + llvm::toString(lib.takeError()));
    (*lib)->setTargetTriple(kTriple);
    (*lib)->setDataLayout(m.getDataLayout());
    if (llvm::Linker::linkModules(m, std::move(*lib),
                                  llvm::Linker::Flags::LinkOnlyNeeded))
      throw CompileError("cannot link libdevice (" + libdevice + ")");
    // Denormals are kept (no flush to zero), as on the CPU.
    m.addModuleFlag(llvm::Module::Override, "nvvm-reflect-ftz", 0u);
  }
  llvm::internalizeModule(m, [&](const llvm::GlobalValue &gv) {
    return kernelNames.count(gv.getName().str()) > 0;
  });
  std::string broken;
  llvm::raw_string_ostream brokenOS(broken);
  if (llvm::verifyModule(m, &brokenOS))
    throw CompileError("the GPU back end made a broken module: " + broken);

  gpu::optimize(m, *tm);
  const std::string assembly = gpu::printPTX(m, *tm);

  // One comment line per step, then the PTX.
  std::ostringstream os;
  os << "// thjit: " << out.kernels.size()
     << (out.kernels.size() == 1 ? " kernel" : " kernels") << " for " << arch
     << ", PTX ISA " << ptxVersion / 10 << '.' << ptxVersion % 10
     << ", libdevice " << libdeviceNote << "\n";
  std::map<int, int> sharedWith(out.sharedKernels.begin(), out.sharedKernels.end());
  for (int s = 0; s < numSteps; ++s) {
    auto shared = sharedWith.find(s);
    // A step sharing the kernels of a step that has none has none either.
    std::string why = shared == sharedWith.end() ? comment[s] : comment[shared->second];
    os << "// step " << s << ": " << describe(plan, plan.steps[s]) << " -- ";
    if (!why.empty()) {
      os << why;
      out.hostSteps.push_back({s, why});
    } else if (shared != sharedWith.end()) {
      os << "the kernels of step " << shared->second;
    } else {
      os << "kernels";
      for (const GPUKernel &k : out.kernels)
        if (k.step == s)
          os << ' ' << k.name;
    }
    os << '\n';
  }
  out.sharedKernels.erase(
      std::remove_if(out.sharedKernels.begin(), out.sharedKernels.end(),
                     [&](const std::pair<int, int> &p) { return !comment[p.second].empty(); }),
      out.sharedKernels.end());
  os << "\n" << assembly;
  out.ptx = os.str();
  if (PTXListener listener = currentListener())
    listener(out.ptx, listenerIR);
  return out;
}

} // namespace

std::string emitPTX(const Graph &g, const std::string &arch,
                    const CompileOptions &options) {
  return compileForPTX(g, arch, options).ptx;
}

} // namespace thjit::codegen
