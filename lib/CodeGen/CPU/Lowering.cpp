//===- Lowering.cpp - Entry point and loop kernels of one function --------===//
#include "Lowering.h"
#include "../ScalarEmitter.h"
#include "thjit/Ops/OpDef.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/IntrinsicsX86.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

namespace thjit::codegen {

using llvm::Value;

namespace {

/// Elements one thread takes at least: below this a loop runs on one thread.
constexpr int64_t kGrain = 1 << 15;
/// Float sums add blocks of this many elements with many accumulators, then
/// add the block sums with Neumaier's compensation: as accurate as NumPy's
/// pairwise summation, and vectorized.
constexpr int64_t kSumBlock = 256;
/// Elements per piece of a parallel full reduction.
constexpr int64_t kPiece = 1 << 15;
/// A cache line: the unit of streaming (non-temporal) stores.
constexpr int64_t kLineBytes = 64;

bool hostIsX86() {
  static const bool x86 = llvm::Triple(llvm::sys::getProcessTriple()).isX86();
  return x86;
}

class Lowering {
public:
  Lowering(const Plan &plan, llvm::LLVMContext &ctx, const std::string &name)
      : plan(plan), ctx(ctx), mod(std::make_unique<llvm::Module>(name, ctx)),
        b(ctx) {}

  std::unique_ptr<llvm::Module> run(const std::string &entryName);

private:
  // ---- frame access
  Value *wordPtr(Value *frame, int w) {
    return b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), frame, w);
  }
  Value *loadWord(Value *frame, int w) {
    return b.CreateLoad(b.getInt64Ty(), wordPtr(frame, w));
  }
  Value *loadData(Value *frame, int v) {
    return b.CreateLoad(b.getPtrTy(), wordPtr(frame, plan.dataWord(v)));
  }
  void storeWord(Value *frame, int w, Value *x) { b.CreateStore(x, wordPtr(frame, w)); }

  /// for (i = lo; i < hi; ++i) body(i). Returns the back edge (where loop
  /// metadata goes).
  llvm::BranchInst *forLoop(Value *lo, Value *hi,
                            const std::function<void(Value *)> &body) {
    llvm::Function *f = b.GetInsertBlock()->getParent();
    llvm::BasicBlock *pre = b.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(ctx, "loop", f);
    auto *bodyBB = llvm::BasicBlock::Create(ctx, "body", f);
    auto *exit = llvm::BasicBlock::Create(ctx, "exit", f);
    b.CreateBr(head);
    b.SetInsertPoint(head);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    b.CreateCondBr(b.CreateICmpSLT(i, hi), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    body(i);
    Value *next = b.CreateAdd(i, b.getInt64(1));
    i->addIncoming(next, b.GetInsertBlock());
    llvm::BranchInst *back = b.CreateBr(head);
    b.SetInsertPoint(exit);
    return back;
  }

  llvm::Function *declare(const char *name, llvm::Type *ret,
                          std::vector<llvm::Type *> params) {
    return llvm::cast<llvm::Function>(
        mod->getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false))
            .getCallee());
  }
  /// A step function `i32 (ptr state, ptr args, i32 slot, i32 scratchSlot,
  /// i32 phases)`: what the entry does for one Elemwise or Reduce step,
  /// given the step's argument block and the buffer slots of its result and
  /// scratch. `phases` (Phase bits) says what to do: check the operands and
  /// place the result, compute it, and whether to write it over the
  /// operand Step::inPlace names. It returns 0, or 1 when the step fails.
  /// Steps that compute the same thing share one, so it is never inlined:
  /// the entry of a graph of a thousand nodes is a thousand calls.
  llvm::Function *newStepFunction(const std::string &name) {
    auto *ty = llvm::FunctionType::get(
        b.getInt32Ty(),
        {b.getPtrTy(), b.getPtrTy(), b.getInt32Ty(), b.getInt32Ty(), b.getInt32Ty()},
        false);
    auto *f = llvm::Function::Create(ty, llvm::Function::InternalLinkage,
                                     name, mod.get());
    f->addFnAttr(llvm::Attribute::NoUnwind);
    f->addFnAttr(llvm::Attribute::NoInline);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    state = f->getArg(0); // what allocate passes on (run() restores it)
    return f;
  }
  /// What a step function is asked to do (bits of its `phases` argument;
  /// the runtime's thjit_rt_step takes the first two).
  enum Phase : int { Prepare = 1, Compute = 2, InPlace = 4 };
  /// Emits step s's phases in the entry.
  void emitStep(int s, int phases);
  /// Calls step s's step function from the entry.
  void callStep(int s, llvm::Function *stepFunction, Value *phases);
  /// A kernel `i32 (ptr args, i64 begin, i64 end)`.
  llvm::Function *newKernel(const std::string &name) {
    auto *ty = llvm::FunctionType::get(
        b.getInt32Ty(), {b.getPtrTy(), b.getInt64Ty(), b.getInt64Ty()}, false);
    auto *f = llvm::Function::Create(ty, llvm::Function::InternalLinkage,
                                     name, mod.get());
    f->addFnAttr(llvm::Attribute::NoUnwind);
    f->addParamAttr(0, llvm::Attribute::NoAlias);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    return f;
  }

  /// Loop metadata: flags, and named integer options.
  llvm::MDNode *loopMetadata(std::vector<const char *> flags,
                             std::vector<std::pair<const char *, int>> options) {
    llvm::MDBuilder md(ctx);
    auto self = llvm::MDNode::getTemporary(ctx, {});
    std::vector<llvm::Metadata *> props{self.get()};
    for (const char *f : flags)
      props.push_back(llvm::MDNode::get(ctx, md.createString(f)));
    for (auto [name, value] : options)
      props.push_back(llvm::MDNode::get(
          ctx, {md.createString(name), md.createConstant(b.getInt32((uint32_t)value))}));
    llvm::MDNode *node = llvm::MDNode::getDistinct(ctx, props);
    node->replaceOperandWith(0, node);
    return node;
  }
  /// Whether f calls a function that is not an intrinsic.
  static bool hasCalls(llvm::Function *f) {
    for (llvm::BasicBlock &bb : *f)
      for (llvm::Instruction &i : bb)
        if (auto *c = llvm::dyn_cast<llvm::CallInst>(&i))
          if (!c->getCalledFunction() || !c->getCalledFunction()->isIntrinsic())
            return true;
    return false;
  }

  // ---- the entry point
  /// Branches to the failure exit of step `s` unless `ok`.
  void check(Value *ok, int s) {
    llvm::Function *f = b.GetInsertBlock()->getParent();
    auto *cont = llvm::BasicBlock::Create(ctx, "ok", f);
    auto *fail = llvm::BasicBlock::Create(ctx, "fail", f);
    b.CreateCondBr(ok, cont, fail, llvm::MDBuilder(ctx).createLikelyBranchWeights());
    b.SetInsertPoint(fail);
    b.CreateRet(b.getInt32(s + 1));
    b.SetInsertPoint(cont);
  }
  /// Allocates buffer `slot` for an array of `shape` and `dtype`; stores its
  /// data pointer, shape and contiguous strides in descriptor `desc`.
  void allocate(Value *desc, DType dtype, Value *slot,
                const std::vector<Value *> &shape, int s) {
    Value *count = b.getInt64(1);
    for (Value *d : shape)
      count = b.CreateMul(count, d);
    Value *bytes = b.CreateMul(count, b.getInt64(itemSize(dtype)));
    Value *data = b.CreateCall(allocFn, {state, slot, bytes});
    check(b.CreateIsNotNull(data), s);
    b.CreateStore(data, desc);
    const int ndim = (int)shape.size();
    Value *stride = b.getInt64(1);
    for (int i = ndim - 1; i >= 0; --i) {
      storeWord(desc, 1 + i, shape[i]);
      storeWord(desc, 1 + ndim + i, stride);
      stride = b.CreateMul(stride, shape[i]);
    }
  }
  /// Runs kernel(args, begin, end) over [0, n) on the thread pool.
  void parallelFor(llvm::Function *kernel, Value *args, Value *n, Value *grain,
                   int s) {
    Value *st = b.CreateCall(parallelForFn, {kernel, args, n, grain});
    check(b.CreateICmpEQ(st, b.getInt32(0)), s);
  }

  // ---- what a kernel sees: its step's argument block
  /// A value's descriptor, loaded.
  struct Desc {
    Value *data;
    std::vector<Value *> shape, stride;
  };
  /// The descriptors of a step's kernel values (Step::kernelValues order),
  /// its scratch words, and the value of each operand that is one element
  /// broadcast everywhere (when the program reads it). A kernel loads all of
  /// this first thing, from `block`, before it stores anything: the loads are
  /// then known not to change (the result's stores could alias them as far
  /// as LLVM knows), and a constant operand costs no more than an immediate.
  struct Args {
    std::vector<Desc> v;
    std::vector<Value *> scratch, uniform;
    std::vector<bool> read; ///< by operand: whether the program reads it
  };
  /// Where the descriptor of each of the step's kernel values is, read
  /// from its argument block `block`.
  std::vector<Value *> descAddresses(Value *block, const Step &step) {
    std::vector<Value *> at;
    for (size_t l = 0; l < step.kernelValues().size(); ++l)
      at.push_back(b.CreateLoad(b.getPtrTy(), wordPtr(block, (int)l)));
    return at;
  }
  /// Kernel value l's descriptor, loaded from its address `at`.
  Desc loadDesc(const Step &step, int l, Value *at) {
    const int ndim = plan.values[step.kernelValues()[l]].ndim;
    Desc d;
    d.data = b.CreateLoad(b.getPtrTy(), at);
    for (int i = 0; i < ndim; ++i)
      d.shape.push_back(b.CreateLoad(
          b.getInt64Ty(), b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), at, 1 + i)));
    for (int i = 0; i < ndim; ++i)
      d.stride.push_back(b.CreateLoad(
          b.getInt64Ty(), b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), at, 1 + ndim + i)));
    return d;
  }
  /// Step functions and kernels already built, by what they compute
  /// (kernelKey): a step like an earlier one calls the earlier one's.
  std::map<std::string, std::vector<llvm::Function *>> kernels;
  std::string kernelKey(const Step &step);

  /// How the operands of an element-wise computation of rank R line up with
  /// its dims: bcast[k][d] when operand k has stride 0 along dim d (known
  /// from its type); full: along every dim; partial: along some.
  struct Broadcast {
    int R = 0;
    std::vector<std::vector<bool>> bcast;
    std::vector<bool> full, partial;
  };
  Broadcast broadcastOf(const Step &step, int R);
  /// Operand k's stride along dim d of the computation (0 where broadcast),
  /// from descriptors `a` (Step::kernelValues order).
  Value *operandStride(const std::vector<Desc> &a, const Broadcast &bc, int k,
                       int d) {
    if (bc.bcast[k][d])
      return b.getInt64(0);
    return a[k].stride[d - (bc.R - (int)a[k].stride.size())];
  }
  Args kernelArgs(Value *block, const Step &step, const Broadcast &bc,
                  ScalarEmitter &em);
  /// The computation's shape from its operands' (in the entry), checking
  /// that they agree.
  std::vector<Value *> broadcastShape(const std::vector<Desc> &a,
                                      const Broadcast &bc, int s);
  /// The step's program at element offsets of its operands (in a kernel):
  /// a value per result; a failed op sets *err.
  std::vector<Value *> computeElement(const Args &a, const Step &step, ScalarEmitter &em,
                        const std::vector<Value *> &offsets,
                        llvm::AllocaInst *err);

  /// The step function and kernels of an Elemwise or Reduce step; `base`
  /// names them.
  std::vector<llvm::Function *> buildElemwise(const Step &step, const std::string &base);
  std::vector<llvm::Function *> buildReduce(const Step &step, const std::string &base);
  void lowerDimShuffle(int s);
  void lowerShapeI(int s);

  const Plan &plan;
  llvm::LLVMContext &ctx;
  std::unique_ptr<llvm::Module> mod;
  llvm::IRBuilder<> b;
  llvm::Function *entry = nullptr;
  Value *state = nullptr, *frame = nullptr;
  llvm::Function *allocFn = nullptr, *stepFn = nullptr, *parallelForFn = nullptr,
                 *profileFn = nullptr;
  /// The runtime's streaming threshold in bytes (kStreamingBytes).
  llvm::Constant *streamingBytes = nullptr;
};

/// Steps per function the entry calls (see Lowering::run).
constexpr size_t kStepsPerSegment = 64;

std::unique_ptr<llvm::Module> Lowering::run(const std::string &entryName) {
  auto *ptr = b.getPtrTy();
  allocFn = declare(kAllocFn, ptr, {ptr, b.getInt32Ty(), b.getInt64Ty()});
  stepFn = declare(kStepFn, b.getInt32Ty(), {ptr, b.getInt32Ty(), b.getInt32Ty()});
  if (plan.profile)
    profileFn = declare(kProfileFn, b.getVoidTy(), {ptr, b.getInt32Ty()});
  parallelForFn = declare(kParallelForFn, b.getInt32Ty(),
                          {ptr, ptr, b.getInt64Ty(), b.getInt64Ty()});
  streamingBytes = mod->getOrInsertGlobal(kStreamingBytes, b.getInt64Ty());
  auto *fnTy = llvm::FunctionType::get(b.getInt32Ty(), {ptr, ptr}, false);
  entry = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage,
                                 entryName, mod.get());
  entry->addFnAttr(llvm::Attribute::NoUnwind);
  auto *entryBB = llvm::BasicBlock::Create(ctx, "entry", entry);
  b.SetInsertPoint(entryBB);
  if (profileFn)
    b.CreateCall(profileFn, {entry->getArg(0), b.getInt32(-1)});

  // What the entry does, in order: each step, except that the commit group
  // first checks every step, then computes every step.
  std::vector<std::pair<int, int>> work; // (step, phases)
  const int numSteps = (int)plan.steps.size();
  for (int s = 0; s < plan.firstCommit; ++s)
    work.push_back({s, Prepare | Compute});
  for (int phase : {Prepare, Compute})
    for (int s = plan.firstCommit; s < numSteps; ++s)
      work.push_back({s, phase});
  // In segments of kStepsPerSegment, each a function the entry calls: LLVM
  // spends time superlinear in the size of one function (register
  // allocation), so a graph of ten thousand nodes must not be one.
  for (size_t first = 0; first < work.size(); first += kStepsPerSegment) {
    auto *seg = llvm::Function::Create(fnTy, llvm::Function::InternalLinkage,
                                       "segment" + std::to_string(first), mod.get());
    seg->addFnAttr(llvm::Attribute::NoUnwind);
    seg->addFnAttr(llvm::Attribute::NoInline);
    state = seg->getArg(0);
    frame = seg->getArg(1);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", seg));
    for (size_t w = first; w < std::min(work.size(), first + kStepsPerSegment); ++w) {
      auto [s, phases] = work[w];
      emitStep(s, phases);
      // Each step's time is what passed since the previous step ended.
      if (profileFn)
        b.CreateCall(profileFn, {state, b.getInt32(s)});
    }
    b.CreateRet(b.getInt32(0));
    // The entry returns what a failed segment returns (its step + 1).
    b.SetInsertPoint(entryBB);
    Value *st = b.CreateCall(seg, {entry->getArg(0), entry->getArg(1)});
    auto *next = llvm::BasicBlock::Create(ctx, "next", entry);
    auto *fail = llvm::BasicBlock::Create(ctx, "fail", entry);
    b.CreateCondBr(b.CreateICmpEQ(st, b.getInt32(0)), next, fail,
                   llvm::MDBuilder(ctx).createLikelyBranchWeights());
    b.SetInsertPoint(fail);
    b.CreateRet(st);
    entryBB = next;
  }
  b.SetInsertPoint(entryBB);
  b.CreateRet(b.getInt32(0));
  return std::move(mod);
}

void Lowering::emitStep(int s, int phases) {
  const Step &step = plan.steps[s];
  switch (step.kind) {
  case StepKind::Elemwise:
  case StepKind::Reduce: {
    // A step like an earlier one calls the earlier one's functions.
    std::vector<llvm::Function *> &built = kernels[kernelKey(step)];
    if (built.empty()) {
      llvm::IRBuilderBase::InsertPoint ip = b.saveIP();
      Value *entryState = state;
      std::string base = "k" + std::to_string(s) + "." + step.node->name();
      built = step.kind == StepKind::Elemwise ? buildElemwise(step, base)
                                              : buildReduce(step, base);
      state = entryState;
      b.restoreIP(ip);
    }
    if (step.kind == StepKind::Reduce && !(phases & Prepare))
      return; // one phase does it all
    Value *bits = b.getInt32(step.kind == StepKind::Reduce ? Prepare | Compute : phases);
    if (step.inPlace >= 0 && step.kind == StepKind::Elemwise) {
      int j = plan.values[step.results[0]].inPlaceShared;
      Value *allowed = j < 0 ? b.getTrue()
                             : b.CreateICmpNE(loadWord(frame, plan.sharedInPlaceWords[j]),
                                              b.getInt64(0));
      bits = b.CreateOr(bits, b.CreateSelect(allowed, b.getInt32(InPlace), b.getInt32(0)));
    }
    callStep(s, built[0], bits);
    return;
  }
  case StepKind::DimShuffle:
    if (phases & Prepare)
      lowerDimShuffle(s);
    return;
  case StepKind::ShapeI:
    if (phases & Prepare)
      lowerShapeI(s);
    return;
  case StepKind::Runtime: {
    Value *st = b.CreateCall(stepFn, {state, b.getInt32(s), b.getInt32(phases)});
    check(b.CreateICmpEQ(st, b.getInt32(0)), s);
    return;
  }
  }
}

// ---- element-wise ------------------------------------------------------------

Lowering::Broadcast Lowering::broadcastOf(const Step &step, int R) {
  const int N = (int)step.operands.size();
  Broadcast bc;
  bc.R = R;
  bc.bcast.assign(N, std::vector<bool>(R));
  bc.full.assign(N, true);
  bc.partial.assign(N, false);
  for (int k = 0; k < N; ++k) {
    const TensorType *t = plan.values[step.operands[k]].var.type();
    int lead = R - t->ndim();
    for (int d = 0; d < R; ++d) {
      bc.bcast[k][d] = d < lead || t->isBroadcastable(d - lead);
      bc.full[k] = bc.full[k] && bc.bcast[k][d];
    }
    bc.partial[k] =
        !bc.full[k] && std::count(bc.bcast[k].begin(), bc.bcast[k].end(), true);
  }
  return bc;
}

void Lowering::callStep(int s, llvm::Function *stepFunction, Value *phases) {
  const Step &step = plan.steps[s];
  std::vector<int> values = step.kernelValues();
  for (size_t l = 0; l < values.size(); ++l)
    b.CreateStore(wordPtr(frame, plan.dataWord(values[l])),
                  wordPtr(frame, step.args + (int)l));
  if (step.kind == StepKind::Elemwise) // the slots of results 1, 2, ...
    for (size_t r = 1; r < step.results.size(); ++r)
      storeWord(frame, step.scratch + kElemwiseScratch + (int)r - 1,
                b.getInt64(plan.values[step.results[r]].rootIndex));
  Value *st = b.CreateCall(
      stepFunction, {state, wordPtr(frame, step.args),
                     b.getInt32(plan.values[step.results[0]].rootIndex),
                     b.getInt32(std::max(step.scratchSlot, 0)), phases});
  check(b.CreateICmpEQ(st, b.getInt32(0)), s);
}

Lowering::Args Lowering::kernelArgs(Value *block, const Step &step,
                                    const Broadcast &bc, ScalarEmitter &em) {
  Args a;
  std::vector<Value *> at = descAddresses(block, step);
  for (size_t l = 0; l < at.size(); ++l)
    a.v.push_back(loadDesc(step, (int)l, at[l]));
  for (int j = 0; j < scratchWords(step); ++j)
    a.scratch.push_back(loadWord(block, step.scratch - step.args + j));
  a.read = step.program->inputsRead();
  for (size_t k = 0; k < step.operands.size(); ++k) {
    DType t = plan.values[step.operands[k]].dtype;
    a.uniform.push_back(bc.full[k] && a.read[k]
                            ? em.load(a.v[k].data, t)
                            : nullptr);
  }
  return a;
}

/// Everything a step's kernels depend on: the step's kind and op, its
/// program (with immediates, bit for bit), the types of its kernel values
/// and (Reduce) its axes. Not where the values live: that comes from the
/// argument block.
std::string Lowering::kernelKey(const Step &step) {
  std::ostringstream os;
  os << (int)step.kind << ' ' << opName(step.node->kind()) << " ["
     << step.node->attrs().keepdims;
  for (int a : step.node->attrs().axes)
    os << ' ' << a;
  os << "] " << programKey(*step.program);
  for (int v : step.kernelValues())
    os << ' ' << plan.values[v].var.type()->str();
  if (step.inPlace >= 0) // over which operand; always or when the call says
    os << " over " << step.inPlace
       << (plan.values[step.results[0]].inPlaceShared < 0 ? "" : "?");
  return os.str();
}

std::vector<Value *> Lowering::broadcastShape(const std::vector<Desc> &a,
                                              const Broadcast &bc, int s) {
  std::vector<Value *> shape(bc.R);
  for (int d = 0; d < bc.R; ++d) {
    for (size_t k = 0; k < bc.bcast.size(); ++k) {
      if (bc.bcast[k][d])
        continue;
      Value *sz = a[k].shape[d - (bc.R - (int)a[k].shape.size())];
      if (!shape[d])
        shape[d] = sz;
      else
        check(b.CreateICmpEQ(shape[d], sz), s);
    }
    if (!shape[d])
      shape[d] = b.getInt64(1);
  }
  return shape;
}

std::vector<Value *> Lowering::computeElement(const Args &a, const Step &step,
                                ScalarEmitter &em,
                                const std::vector<Value *> &offsets,
                                llvm::AllocaInst *err) {
  std::vector<Value *> in(step.operands.size(), nullptr);
  for (size_t k = 0; k < step.operands.size(); ++k) {
    if (a.uniform[k]) {
      in[k] = a.uniform[k];
    } else if (a.read[k]) {
      DType t = plan.values[step.operands[k]].dtype;
      in[k] = em.load(b.CreateGEP(em.memType(t), a.v[k].data, offsets[k]), t);
    }
  }
  em.resetErrorFlag();
  std::vector<Value *> r = em.emit(*step.program, in);
  if (Value *e = em.errorFlag())
    b.CreateStore(b.CreateOr(b.CreateLoad(b.getInt1Ty(), err), e), err);
  return r;
}

/// Past this many ops per element a loop is bound by arithmetic, not by
/// memory: streaming stores would only cost compile time.
constexpr size_t kMaxStreamingOps = 32;

std::vector<llvm::Function *> Lowering::buildElemwise(const Step &step,
                                                     const std::string &base) {
  const int out = step.results[0];
  const int R = plan.values[out].ndim;
  const int N = (int)step.operands.size();
  const int numResults = (int)step.results.size();
  const Broadcast bc = broadcastOf(step, R);
  const std::vector<std::vector<bool>> &bcast = bc.bcast;
  const std::vector<bool> &full = bc.full, &partial = bc.partial;
  // Written over operand `over` always (its memory is dead after the step),
  // never (-1), or when the call says (a shared variable's).
  const int over = step.inPlace;
  const bool always = over >= 0 && plan.values[out].inPlaceShared < 0;
  // The step function: Prepare checks shapes and places the result
  // (allocated, or over an operand), Compute picks a kernel and runs it.
  // Its failures return 1 (the entry's check says which step).
  llvm::Function *stepF = newStepFunction(base + ".step");
  Value *args = stepF->getArg(1);
  Value *phases = stepF->getArg(4);
  auto phase = [&](int bit) {
    return b.CreateICmpNE(b.CreateAnd(phases, b.getInt32(bit)), b.getInt32(0));
  };
  std::vector<Value *> descs = descAddresses(args, step);
  const int scratch = step.scratch - step.args;

  auto *prepareBB = llvm::BasicBlock::Create(ctx, "prepare", stepF);
  auto *computeCheckBB = llvm::BasicBlock::Create(ctx, "compute.check", stepF);
  b.CreateCondBr(phase(Prepare), prepareBB, computeCheckBB);
  b.SetInsertPoint(prepareBB);
  {
    std::vector<Desc> ops;
    for (size_t l = 0; l < descs.size(); ++l)
      ops.push_back(loadDesc(step, (int)l, descs[l]));
    auto stride = [&](int k, int d) { return operandStride(ops, bc, k, d); };
    std::vector<Value *> shape = broadcastShape(ops, bc, 0);
    if (over >= 0) {
      // The operand's descriptor is the result's: same shape, contiguous.
      auto *overBB = llvm::BasicBlock::Create(ctx, "over", stepF);
      auto *allocBB = llvm::BasicBlock::Create(ctx, "alloc", stepF);
      auto *placedBB = llvm::BasicBlock::Create(ctx, "placed", stepF);
      b.CreateCondBr(always ? b.getTrue() : phase(InPlace), overBB, allocBB);
      b.SetInsertPoint(overBB);
      for (int w = 0; w < 1 + 2 * R; ++w)
        storeWord(descs[N], w, loadWord(descs[over], w));
      b.CreateBr(placedBB);
      b.SetInsertPoint(allocBB);
      allocate(descs[N], plan.values[out].dtype, stepF->getArg(2), shape, 0);
      b.CreateBr(placedBB);
      b.SetInsertPoint(placedBB);
    } else {
      allocate(descs[N], plan.values[out].dtype, stepF->getArg(2), shape, 0);
    }
    for (int r = 1; r < numResults; ++r) {
      Value *slot = b.CreateTrunc(loadWord(args, scratch + kElemwiseScratch + r - 1),
                                  b.getInt32Ty());
      allocate(descs[N + r], plan.values[step.results[r]].dtype, slot, shape, 0);
    }
    Value *total = b.getInt64(1);
    for (Value *d : shape)
      total = b.CreateMul(total, d);

    // Collapse trailing dims where every operand is contiguous across them.
    int maxCollapse = R;
    for (int k = 0; k < N; ++k)
      for (int d = R - 2; d >= 0; --d)
        if (bcast[k][d] != bcast[k][R - 1])
          maxCollapse = std::min(maxCollapse, R - 1 - d);
    Value *inner = R ? shape[R - 1] : b.getInt64(1);
    Value *collapsed = b.getInt64(R ? 1 : 0);
    Value *ok = b.getTrue();
    for (int d = R - 2; d >= R - maxCollapse; --d) {
      Value *cond = b.CreateICmpEQ(shape[d], b.getInt64(1));
      Value *all = b.getTrue();
      for (int k = 0; k < N; ++k)
        if (!bcast[k][d])
          all = b.CreateAnd(all, b.CreateICmpEQ(stride(k, d),
                                                b.CreateMul(stride(k, R - 1), inner)));
      ok = b.CreateAnd(ok, b.CreateOr(cond, all));
      inner = b.CreateSelect(ok, b.CreateMul(inner, shape[d]), inner);
      collapsed = b.CreateAdd(collapsed, b.CreateZExt(ok, b.getInt64Ty()));
    }
    // One flat loop when every operand is contiguous or a single element.
    Value *contiguous = b.getInt1(std::none_of(partial.begin(), partial.end(),
                                               [](bool p) { return p; }));
    if (R) {
      contiguous = b.CreateAnd(contiguous,
                               b.CreateICmpEQ(collapsed, b.getInt64(R)));
      for (int k = 0; k < N; ++k)
        if (!full[k])
          contiguous = b.CreateAnd(
              contiguous, b.CreateICmpEQ(stride(k, R - 1), b.getInt64(1)));
    }
    // Streaming stores where what the loop touches does not fit in the
    // cache (the runtime's threshold) and the result's lines are aligned.
    int64_t bytesPerElement = 0;
    for (int r : step.results)
      bytesPerElement += itemSize(plan.values[r].dtype);
    std::vector<bool> read = step.program->inputsRead();
    for (int k = 0; k < N; ++k)
      if (!full[k] && read[k])
        bytesPerElement += itemSize(plan.values[step.operands[k]].dtype);
    Value *threshold = b.CreateLoad(b.getInt64Ty(), streamingBytes);
    Value *aligned = b.CreateICmpEQ(
        b.CreateAnd(b.CreatePtrToInt(b.CreateLoad(b.getPtrTy(), descs[N]),
                                     b.getInt64Ty()),
                    b.getInt64(kLineBytes - 1)),
        b.getInt64(0));
    Value *stream = b.CreateAnd(
        aligned, b.CreateICmpSGE(b.CreateMul(total, b.getInt64(bytesPerElement)),
                                 threshold));
    storeWord(args, scratch, collapsed);
    storeWord(args, scratch + 1, inner);
    storeWord(args, scratch + 2, b.CreateZExt(stream, b.getInt64Ty()));
    storeWord(args, scratch + 3, total);
    storeWord(args, scratch + 4, b.CreateZExt(contiguous, b.getInt64Ty()));
    b.CreateBr(computeCheckBB);
  }

  // The kernels. Flat: one loop over contiguous elements; with streaming,
  // whole cache lines of the result go out with non-temporal stores when
  // the step says so (scratch word 2). Strided: rows of the collapsed dims.
  // Written over operand `over`, a kernel stores through that operand's
  // pointer at its offsets (the same addresses as the result's): LLVM then
  // sees each element read before it is written, and vectorizes without
  // checking at run time whether the two overlap.
  llvm::IRBuilderBase::InsertPoint ip = b.saveIP();
  enum class Kernel { Flat, FlatStreaming, Strided };
  auto body = [&](llvm::Function *f, Kernel kind, int writeOver) {
    ScalarEmitter em(b);
    const Args a = kernelArgs(f->getArg(0), step, bc, em);
    DType outType = plan.values[out].dtype; // the one result where streaming
    const int64_t itemBytes = itemSize(outType);
    const int64_t W = kLineBytes / itemBytes; // elements in a cache line
    llvm::AllocaInst *line =
        kind == Kernel::FlatStreaming
            ? b.CreateAlloca(llvm::ArrayType::get(em.memType(outType), W))
            : nullptr;
    if (line)
      line->setAlignment(llvm::Align(kLineBytes));
    llvm::AllocaInst *err = b.CreateAlloca(b.getInt1Ty());
    b.CreateStore(b.getFalse(), err);
    Value *outPtr = writeOver >= 0 ? a.v[writeOver].data : a.v[N].data;
    llvm::Type *memTy = em.memType(outType);
    auto element = [&](const std::vector<Value *> &offsets, Value *outOffset) {
      std::vector<Value *> r = computeElement(a, step, em, offsets, err);
      if (writeOver >= 0)
        outOffset = offsets[writeOver];
      for (int k = 0; k < numResults; ++k) {
        DType t = plan.values[step.results[k]].dtype;
        em.store(r[k], b.CreateGEP(em.memType(t), k ? a.v[N + k].data : outPtr, outOffset),
                 t);
      }
    };
    /// Element i of a flat loop; stored at `dest` (default: the result's).
    auto flatElement = [&](Value *i, Value *dest = nullptr) {
      std::vector<Value *> offs;
      for (int k = 0; k < N; ++k)
        offs.push_back(full[k] ? b.getInt64(0) : i);
      if (!dest)
        return element(offs, i);
      em.store(computeElement(a, step, em, offs, err)[0], dest, outType);
    };
    if (kind == Kernel::Flat) {
      forLoop(f->getArg(1), f->getArg(2), [&](Value *i) { flatElement(i); });
    } else if (kind == Kernel::FlatStreaming) {
      // Whole cache lines of the result are computed into `line` (one
      // vector) and written with a non-temporal store, which does not read
      // the line first: a third less memory traffic for a + b. Elements
      // before the first line boundary and after the last are plain. Not
      // streaming, the first loop takes every element.
      Value *lo = f->getArg(1), *hi = f->getArg(2);
      Value *stream = b.CreateICmpNE(a.scratch[2], b.getInt64(0));
      Value *misalign = b.CreateAnd(b.CreateMul(lo, b.getInt64(itemBytes)),
                                    b.getInt64(kLineBytes - 1));
      Value *peel = b.CreateUDiv(
          b.CreateAnd(b.CreateSub(b.getInt64(kLineBytes), misalign),
                      b.getInt64(kLineBytes - 1)),
          b.getInt64(itemBytes));
      Value *mid = b.CreateAdd(lo, peel);
      mid = b.CreateSelect(b.CreateAnd(stream, b.CreateICmpSLT(mid, hi)), mid, hi);
      Value *lines = b.CreateSDiv(b.CreateSub(hi, mid), b.getInt64(W));
      Value *linesEnd = b.CreateAdd(mid, b.CreateMul(lines, b.getInt64(W)));
      forLoop(lo, mid, [&](Value *i) { flatElement(i); });
      forLoop(b.getInt64(0), lines, [&](Value *l) {
        Value *first = b.CreateAdd(mid, b.CreateMul(l, b.getInt64(W)));
        llvm::BranchInst *back =
            forLoop(b.getInt64(0), b.getInt64(W), [&](Value *j) {
              flatElement(b.CreateAdd(first, j), b.CreateGEP(memTy, line, j));
            });
        // One vector of W lanes: neither unrolled nor vectorized otherwise.
        back->setMetadata(llvm::LLVMContext::MD_loop,
                          loopMetadata({"llvm.loop.unroll.disable"},
                                       {{"llvm.loop.vectorize.enable", 1},
                                        {"llvm.loop.vectorize.width", (int)W}}));
        llvm::MDBuilder md(ctx);
        auto *vecTy = llvm::FixedVectorType::get(memTy, (unsigned)W);
        Value *v = b.CreateAlignedLoad(vecTy, line, llvm::Align(kLineBytes));
        llvm::StoreInst *st = b.CreateAlignedStore(
            v, b.CreateGEP(memTy, outPtr, first), llvm::Align(kLineBytes));
        st->setMetadata(llvm::LLVMContext::MD_nontemporal,
                        llvm::MDNode::get(ctx, md.createConstant(b.getInt32(1))));
      });
      llvm::BranchInst *tail = forLoop(linesEnd, hi, [&](Value *i) { flatElement(i); });
      tail->setMetadata(llvm::LLVMContext::MD_loop,
                        loopMetadata({"llvm.loop.unroll.disable"},
                                     {{"llvm.loop.vectorize.enable", 0}}));
      auto *fence = llvm::BasicBlock::Create(ctx, "fence", f);
      auto *out = llvm::BasicBlock::Create(ctx, "out", f);
      b.CreateCondBr(stream, fence, out);
      b.SetInsertPoint(fence);
      b.CreateIntrinsic(llvm::Intrinsic::x86_sse_sfence, {}, {});
      b.CreateBr(out);
      b.SetInsertPoint(out);
    } else {
      Value *nCollapsed = a.scratch[0];
      Value *innerLen = a.scratch[1];
      std::vector<Value *> innerStride;
      for (int k = 0; k < N; ++k)
        innerStride.push_back(R ? operandStride(a.v, bc, k, R - 1) : b.getInt64(0));
      forLoop(f->getArg(1), f->getArg(2), [&](Value *row) {
        std::vector<Value *> off(N, b.getInt64(0));
        Value *rem = row;
        for (int d = R - 2; d >= 0; --d) {
          // Dims folded into the inner loop count as size 1 here.
          Value *folded = b.CreateICmpSGE(b.getInt64(d),
                                          b.CreateSub(b.getInt64(R), nCollapsed));
          Value *size = b.CreateSelect(folded, b.getInt64(1), a.v[N].shape[d]);
          Value *idx = b.CreateURem(rem, size);
          rem = b.CreateUDiv(rem, size);
          for (int k = 0; k < N; ++k)
            if (!bcast[k][d])
              off[k] = b.CreateAdd(off[k],
                                   b.CreateMul(idx, operandStride(a.v, bc, k, d)));
        }
        Value *outBase = b.CreateMul(row, innerLen);
        forLoop(b.getInt64(0), innerLen, [&](Value *j) {
          std::vector<Value *> offs;
          for (int k = 0; k < N; ++k)
            offs.push_back(b.CreateAdd(off[k], b.CreateMul(j, innerStride[k])));
          element(offs, b.CreateAdd(outBase, j));
        });
      });
    }
    b.CreateRet(b.CreateZExt(b.CreateLoad(b.getInt1Ty(), err), b.getInt32Ty()));
  };
  // Streaming stores pay where the loop is bound by memory: short programs
  // without calls (libm, integer powers), on x86, writing a result of its
  // own (written over an operand, the lines are in the cache already).
  struct Pair {
    llvm::Function *flat = nullptr, *strided = nullptr;
  };
  auto build = [&](int writeOver, const std::string &suffix) {
    Pair k;
    k.flat = newKernel(base + ".contiguous" + suffix);
    bool streams = R && hostIsX86() && writeOver < 0 && numResults == 1 &&
                   step.program->ops.size() <= kMaxStreamingOps;
    body(k.flat, streams ? Kernel::FlatStreaming : Kernel::Flat, writeOver);
    if (streams && hasCalls(k.flat)) {
      k.flat->eraseFromParent();
      k.flat = newKernel(base + ".contiguous" + suffix);
      body(k.flat, Kernel::Flat, writeOver);
    }
    k.strided = newKernel(base + ".strided" + suffix);
    body(k.strided, Kernel::Strided, writeOver);
    return k;
  };
  Pair own, overOperand;
  if (!always)
    own = build(-1, "");
  if (over >= 0)
    overOperand = build(over, ".inplace");
  b.restoreIP(ip);

  llvm::Function *f = stepF;
  b.SetInsertPoint(computeCheckBB);
  auto *computeBB = llvm::BasicBlock::Create(ctx, "compute", f);
  auto *done = llvm::BasicBlock::Create(ctx, "done", f);
  Value *total = loadWord(args, scratch + 3);
  b.CreateCondBr(b.CreateAnd(phase(Compute), b.CreateICmpSGT(total, b.getInt64(0))),
                 computeBB, done);
  b.SetInsertPoint(computeBB);
  // Which pair of kernels: over the operand or not.
  auto launch = [&](const Pair &k) {
    auto *flatBB = llvm::BasicBlock::Create(ctx, "flat", f);
    auto *stridedBB = llvm::BasicBlock::Create(ctx, "strided", f);
    b.CreateCondBr(b.CreateICmpNE(loadWord(args, scratch + 4), b.getInt64(0)),
                   flatBB, stridedBB);
    b.SetInsertPoint(flatBB);
    parallelFor(k.flat, args, total, b.getInt64(kGrain), 0);
    b.CreateBr(done);
    b.SetInsertPoint(stridedBB);
    Value *inner = loadWord(args, scratch + 1);
    Value *rows = b.CreateSDiv(total, inner);
    Value *grain = b.CreateAdd(b.CreateSDiv(b.getInt64(kGrain), inner), b.getInt64(1));
    parallelFor(k.strided, args, rows, grain, 0);
    b.CreateBr(done);
  };
  if (always) {
    launch(overOperand);
  } else if (over < 0) {
    launch(own);
  } else {
    auto *overBB = llvm::BasicBlock::Create(ctx, "compute.over", f);
    auto *ownBB = llvm::BasicBlock::Create(ctx, "compute.own", f);
    b.CreateCondBr(phase(InPlace), overBB, ownBB);
    b.SetInsertPoint(overBB);
    launch(overOperand);
    b.SetInsertPoint(ownBB);
    launch(own);
  }
  b.SetInsertPoint(done);
  b.CreateRet(b.getInt32(0));
  std::vector<llvm::Function *> fs{stepF};
  for (const Pair &k : {own, overOperand})
    for (llvm::Function *kf : {k.flat, k.strided})
      if (kf)
        fs.push_back(kf);
  return fs;
}

// ---- views and shapes --------------------------------------------------------

void Lowering::lowerDimShuffle(int s) {
  const Step &step = plan.steps[s];
  int in = step.operands[0], out = step.results[0];
  b.CreateStore(loadData(frame, in), wordPtr(frame, plan.dataWord(out)));
  const std::vector<int> &pattern = step.node->attrs().axes;
  for (size_t i = 0; i < pattern.size(); ++i) {
    bool fresh = pattern[i] < 0;
    storeWord(frame, plan.shapeWord(out, (int)i),
              fresh ? b.getInt64(1) : loadWord(frame, plan.shapeWord(in, pattern[i])));
    storeWord(frame, plan.strideWord(out, (int)i),
              fresh ? b.getInt64(0) : loadWord(frame, plan.strideWord(in, pattern[i])));
  }
}

void Lowering::lowerShapeI(int s) {
  const Step &step = plan.steps[s];
  int in = step.operands[0], out = step.results[0];
  allocate(wordPtr(frame, plan.dataWord(out)), plan.values[out].dtype,
           b.getInt32(plan.values[out].rootIndex), {}, s);
  Value *size = loadWord(frame, plan.shapeWord(in, step.node->attrs().axes[0]));
  b.CreateStore(size, loadData(frame, out));
}

// ---- reductions --------------------------------------------------------------

std::vector<llvm::Function *> Lowering::buildReduce(const Step &step,
                                                    const std::string &base) {
  const OpKind kind = step.node->kind();
  // x: what is reduced, computed element by element by the step's program
  // (a load of operand 0, or a fused producer's expression).
  const int x = step.source, out = step.results[0];
  const int R = plan.values[x].ndim;
  const int N = (int)step.operands.size();
  const DType inType = plan.values[x].dtype, outType = plan.values[out].dtype;
  const Broadcast bc = broadcastOf(step, R);
  // The step function (see buildElemwise).
  llvm::Function *stepF = newStepFunction(base + ".step");
  Value *args = stepF->getArg(1);
  std::vector<Value *> descs = descAddresses(args, step);
  auto descOf = [&](int l) { return loadDesc(step, l, descs[l]); };
  const int X = N + 1; // x's place in the argument block, after the result
  if (step.producer) { // x has no memory; its descriptor holds its shape
    std::vector<Desc> ops;
    for (int k = 0; k < N; ++k)
      ops.push_back(descOf(k));
    std::vector<Value *> shape = broadcastShape(ops, bc, 0);
    for (int d = 0; d < R; ++d)
      storeWord(descs[X], 1 + d, shape[d]);
  }
  const Desc xDesc = descOf(X);
  const bool isArg = kind == OpKind::ArgMax || kind == OpKind::ArgMin;
  std::vector<bool> reduced(R, false);
  for (int a : reducedAxes(kind, step.node->attrs(), R))
    reduced[a] = true;
  std::vector<int> kept, red;
  for (int d = 0; d < R; ++d)
    (reduced[d] ? red : kept).push_back(d);

  // Result shape; the reduced element count.
  std::vector<Value *> outShape;
  Value *redSize = b.getInt64(1), *outTotal = b.getInt64(1);
  for (int d = 0; d < R; ++d) {
    Value *sz = xDesc.shape[d];
    if (reduced[d]) {
      redSize = b.CreateMul(redSize, sz);
      if (step.node->attrs().keepdims)
        outShape.push_back(b.getInt64(1));
    } else {
      outShape.push_back(sz);
      outTotal = b.CreateMul(outTotal, sz);
    }
  }
  allocate(descs[N], outType, stepF->getArg(2), outShape, 0);
  if (!reductionHasIdentity(kind)) // "zero-size array to a reduction with no identity"
    check(b.CreateOr(b.CreateICmpSGT(redSize, b.getInt64(0)),
                     b.CreateICmpEQ(outTotal, b.getInt64(0))),
          0);

  // The accumulator: float sums and products in double, as the reference.
  DType acc;
  switch (kind) {
  case OpKind::Sum:
  case OpKind::Prod:
    acc = isFloat(outType) ? DType::Float64 : outType;
    break;
  case OpKind::All:
  case OpKind::Any:
    acc = DType::Bool;
    break;
  default:
    acc = inType;
  }
  namespace I = llvm::Intrinsic;
  auto identity = [&](ScalarEmitter &em) -> Value * {
    switch (kind) {
    case OpKind::Sum:
      return em.constant(acc, 0);
    case OpKind::Prod:
      return em.constant(acc, 1);
    case OpKind::All:
      return b.getTrue();
    case OpKind::Any:
      return b.getFalse();
    default: {
      bool wantMax = kind == OpKind::Max || kind == OpKind::ArgMax;
      llvm::Type *t = em.regType(acc);
      if (isFloat(acc))
        return llvm::ConstantFP::getInfinity(t, wantMax);
      if (isBool(acc))
        return b.getInt1(!wantMax);
      unsigned w = t->getIntegerBitWidth();
      llvm::APInt v = isSignedInt(acc)
                          ? (wantMax ? llvm::APInt::getSignedMinValue(w)
                                     : llvm::APInt::getSignedMaxValue(w))
                          : (wantMax ? llvm::APInt::getMinValue(w)
                                     : llvm::APInt::getMaxValue(w));
      return llvm::ConstantInt::get(t, v);
    }
    }
  };
  /// acc (op) v, v already converted to the accumulator type.
  auto combine = [&](Value *a, Value *v, DType t) -> Value * {
    bool f = isFloat(t), sg = isSignedInt(t);
    switch (kind) {
    case OpKind::Sum: {
      if (!f)
        return b.CreateAdd(a, v);
      auto *add = llvm::cast<llvm::Instruction>(b.CreateFAdd(a, v));
      add->setHasAllowReassoc(true); // blocked summation, see kSumBlock
      return add;
    }
    case OpKind::Prod: {
      if (!f)
        return b.CreateMul(a, v);
      auto *mul = llvm::cast<llvm::Instruction>(b.CreateFMul(a, v));
      mul->setHasAllowReassoc(true);
      return mul;
    }
    case OpKind::All:
      return b.CreateAnd(a, v);
    case OpKind::Any:
      return b.CreateOr(a, v);
    case OpKind::Max:
      if (isBool(t))
        return b.CreateOr(a, v);
      return b.CreateBinaryIntrinsic(f ? I::maximum : sg ? I::smax : I::umax, a, v);
    case OpKind::Min:
      if (isBool(t))
        return b.CreateAnd(a, v);
      return b.CreateBinaryIntrinsic(f ? I::minimum : sg ? I::smin : I::umin, a, v);
    default:
      return nullptr;
    }
  };

  /// Neumaier's step: sum += p, the lost low bits added to *comp.
  auto compensatedAdd = [&](llvm::AllocaInst *sumSlot, llvm::AllocaInst *compSlot,
                            Value *p) {
    Value *sum = b.CreateLoad(b.getDoubleTy(), sumSlot);
    Value *t = b.CreateFAdd(sum, p);
    Value *bigSum = b.CreateFCmpOGE(b.CreateUnaryIntrinsic(I::fabs, sum),
                                    b.CreateUnaryIntrinsic(I::fabs, p));
    Value *lost = b.CreateSelect(bigSum, b.CreateFAdd(b.CreateFSub(sum, t), p),
                                 b.CreateFAdd(b.CreateFSub(p, t), sum));
    // Once the sum is infinite (or NaN) there are no low bits to keep, and
    // inf - inf would make the compensation, and the result, NaN.
    Value *finite = b.CreateFCmpOLT(
        b.CreateUnaryIntrinsic(I::fabs, t),
        llvm::ConstantFP::getInfinity(b.getDoubleTy()));
    lost = b.CreateSelect(finite, lost,
                          llvm::ConstantFP::get(b.getDoubleTy(), 0.0));
    b.CreateStore(b.CreateFAdd(b.CreateLoad(b.getDoubleTy(), compSlot), lost),
                  compSlot);
    b.CreateStore(t, sumSlot);
  };
  const bool floatSum = kind == OpKind::Sum && isFloat(acc);
  const bool innerReduce = isArg || red.empty() || reduced[R - 1];
  // Reduced elements of an inner reduction: `outerCount` rows of `len`
  // (the last reduced axis), from x's descriptor.
  const int last = red.empty() ? -1 : red.back();
  const std::vector<int> outerRed(red.begin(), red.empty() ? red.end() : red.end() - 1);
  auto rowsOf = [&](const Desc &xd) {
    Value *len = last < 0 ? b.getInt64(1) : xd.shape[last];
    Value *outerCount = b.getInt64(1);
    for (int d : outerRed)
      outerCount = b.CreateMul(outerCount, xd.shape[d]);
    return std::make_pair(len, outerCount);
  };
  // A full reduction of many elements is split into pieces of about
  // kPiece elements (whole rows, or parts of one row) reduced in parallel;
  // the partial results are combined in order. The pieces depend only on
  // the shape, so the result does not depend on the number of threads.
  struct Pieces {
    Value *perRow, *rowsPer, *count;
  };
  auto piecesOf = [&](Value *len, Value *outerCount) {
    Value *one = b.getInt64(1), *piece = b.getInt64(kPiece);
    Value *perRow = b.CreateUDiv(b.CreateAdd(len, b.getInt64(kPiece - 1)), piece);
    perRow = b.CreateSelect(b.CreateICmpUGT(perRow, one), perRow, one);
    Value *split = b.CreateICmpUGT(perRow, one);
    Value *lenOr1 = b.CreateSelect(b.CreateICmpUGT(len, one), len, one);
    Value *rowsPer = b.CreateUDiv(piece, lenOr1);
    rowsPer = b.CreateSelect(split, one,
                             b.CreateSelect(b.CreateICmpUGT(rowsPer, one), rowsPer, one));
    Value *count = b.CreateSelect(
        split, b.CreateMul(outerCount, perRow),
        b.CreateUDiv(b.CreateAdd(outerCount, b.CreateSub(rowsPer, one)), rowsPer));
    return Pieces{perRow, rowsPer, count};
  };

  llvm::IRBuilderBase::InsertPoint ip = b.saveIP();
  /// Builds a kernel: `.rows` (one result element per index), `.pieces`
  /// (one partial result per index, into the step's scratch buffer) or
  /// `.columns` (the last axis kept: indices are its columns).
  enum class Kind { Rows, Pieces, Columns };
  auto build = [&](Kind kernelKind) {
    const char *suffix = kernelKind == Kind::Rows     ? ".rows"
                         : kernelKind == Kind::Pieces ? ".pieces"
                                                      : ".columns";
    llvm::Function *kernel = newKernel(base + suffix);
    Value *begin = kernel->getArg(1), *end = kernel->getArg(2);
    ScalarEmitter em(b);
    const Args a = kernelArgs(kernel->getArg(0), step, bc, em);
    llvm::AllocaInst *err = b.CreateAlloca(b.getInt1Ty());
    b.CreateStore(b.getFalse(), err);
    Value *outPtr = a.v[N].data;
    auto shapeOf = [&](int d) { return a.v[X].shape[d]; };
    // Offsets are per operand: off[k] + i * stride(k, d).
    using Offsets = std::vector<Value *>;
    auto advance = [&](const Offsets &off, Value *i, int d) {
      Offsets r = off;
      for (int k = 0; k < N; ++k)
        if (!bc.bcast[k][d])
          r[k] = b.CreateAdd(r[k], b.CreateMul(i, operandStride(a.v, bc, k, d)));
      return r;
    };
    /// The offsets of flat index `i` over dims `dims` (row-major).
    auto offsetOf = [&](Value *i, const std::vector<int> &dims, Offsets off) {
      for (size_t n = dims.size(); n-- > 0;) {
        Value *sz = shapeOf(dims[n]);
        off = advance(off, b.CreateURem(i, sz), dims[n]);
        i = b.CreateUDiv(i, sz);
      }
      return off;
    };
    const Offsets zero(N, b.getInt64(0));
    auto loadX = [&](const Offsets &off) {
      return computeElement(a, step, em, off, err)[0];
    };
    if (kernelKind != Kind::Columns) {
      auto [len, outerCount] = rowsOf(a.v[X]);
      llvm::AllocaInst *accSlot = b.CreateAlloca(em.regType(acc));
      llvm::AllocaInst *compSlot = b.CreateAlloca(b.getDoubleTy());
      llvm::AllocaInst *bestIdx = b.CreateAlloca(b.getInt64Ty());
      llvm::AllocaInst *part = b.CreateAlloca(b.getDoubleTy());
      auto init = [&] {
        b.CreateStore(identity(em), accSlot);
        b.CreateStore(llvm::ConstantFP::get(b.getDoubleTy(), 0.0), compSlot);
        b.CreateStore(b.getInt64(0), bestIdx);
      };
      // Rows [rLo, rHi) of the reduced elements, elements [jLo, jHi) of each.
      auto accumulate = [&](const Offsets &baseOff, Value *rLo, Value *rHi,
                            Value *jLo, Value *jHi) {
        forLoop(rLo, rHi, [&](Value *r) {
          Offsets rowOff = offsetOf(r, outerRed, baseOff);
          auto element = [&](Value *j) {
            return loadX(last < 0 ? rowOff : advance(rowOff, j, last));
          };
          if (isArg) {
            bool wantMax = kind == OpKind::ArgMax;
            forLoop(jLo, jHi, [&](Value *j) {
              Value *v = element(j);
              Value *best = b.CreateLoad(em.regType(acc), accSlot);
              Value *better;
              if (isFloat(acc))
                better = b.CreateAnd(
                    b.CreateFCmpORD(best, best),
                    b.CreateOr(b.CreateFCmpUNO(v, v),
                               b.CreateFCmp(wantMax ? llvm::CmpInst::FCMP_OGT
                                                    : llvm::CmpInst::FCMP_OLT,
                                            v, best)));
              else
                better = b.CreateICmp(
                    isSignedInt(acc)
                        ? (wantMax ? llvm::CmpInst::ICMP_SGT : llvm::CmpInst::ICMP_SLT)
                        : (wantMax ? llvm::CmpInst::ICMP_UGT : llvm::CmpInst::ICMP_ULT),
                    v, best);
              // The first element is the answer until one beats it.
              Value *first = b.CreateAnd(b.CreateICmpEQ(r, b.getInt64(0)),
                                         b.CreateICmpEQ(j, b.getInt64(0)));
              better = b.CreateOr(better, first);
              b.CreateStore(b.CreateSelect(better, v, best), accSlot);
              Value *idx = b.CreateAdd(b.CreateMul(r, len), j);
              b.CreateStore(b.CreateSelect(better, idx,
                                           b.CreateLoad(b.getInt64Ty(), bestIdx)),
                            bestIdx);
            });
          } else if (floatSum) {
            // Blocks summed with many accumulators, block sums compensated.
            Value *n = b.CreateSub(jHi, jLo);
            Value *nBlocks = b.CreateUDiv(b.CreateAdd(n, b.getInt64(kSumBlock - 1)),
                                          b.getInt64(kSumBlock));
            forLoop(b.getInt64(0), nBlocks, [&](Value *blk) {
              Value *lo = b.CreateAdd(jLo, b.CreateMul(blk, b.getInt64(kSumBlock)));
              Value *hi = b.CreateAdd(lo, b.getInt64(kSumBlock));
              hi = b.CreateSelect(b.CreateICmpSLT(hi, jHi), hi, jHi);
              b.CreateStore(llvm::ConstantFP::get(b.getDoubleTy(), 0.0), part);
              forLoop(lo, hi, [&](Value *j) {
                Value *v = em.convert(element(j), inType, acc);
                b.CreateStore(combine(b.CreateLoad(b.getDoubleTy(), part), v, acc), part);
              });
              compensatedAdd(accSlot, compSlot, b.CreateLoad(b.getDoubleTy(), part));
            });
          } else {
            forLoop(jLo, jHi, [&](Value *j) {
              Value *v = kind == OpKind::All || kind == OpKind::Any
                             ? em.convert(element(j), inType, DType::Bool)
                             : em.convert(element(j), inType, acc);
              b.CreateStore(combine(b.CreateLoad(em.regType(acc), accSlot), v, acc), accSlot);
            });
          }
        });
      };
      if (kernelKind == Kind::Rows) {
        forLoop(begin, end, [&](Value *o) {
          init();
          accumulate(offsetOf(o, kept, zero), b.getInt64(0), outerCount,
                     b.getInt64(0), len);
          Value *result;
          if (isArg) {
            result = b.CreateLoad(b.getInt64Ty(), bestIdx);
          } else {
            result = b.CreateLoad(em.regType(acc), accSlot);
            if (floatSum)
              result = b.CreateFAdd(result, b.CreateLoad(b.getDoubleTy(), compSlot));
            result = em.convert(result, acc, outType);
          }
          em.store(result, b.CreateGEP(em.memType(outType), outPtr, o), outType);
        });
      } else {
        // The one result element's pieces: partial accumulators, then the
        // compensations, in the scratch buffer.
        Pieces pc = piecesOf(len, outerCount);
        Value *partials = b.CreateIntToPtr(a.scratch[0], b.getPtrTy());
        Value *comps = b.CreateGEP(b.getInt64Ty(), partials, pc.count);
        forLoop(begin, end, [&](Value *q) {
          Value *split = b.CreateICmpUGT(pc.perRow, b.getInt64(1));
          Value *r0 = b.CreateSelect(split, b.CreateUDiv(q, pc.perRow),
                                     b.CreateMul(q, pc.rowsPer));
          Value *r1 = b.CreateAdd(r0, pc.rowsPer);
          r1 = b.CreateSelect(b.CreateICmpULT(r1, outerCount), r1, outerCount);
          Value *j0 = b.CreateSelect(
              split, b.CreateMul(b.CreateURem(q, pc.perRow), b.getInt64(kPiece)),
              b.getInt64(0));
          Value *j1 = b.CreateAdd(j0, b.getInt64(kPiece));
          j1 = b.CreateSelect(b.CreateAnd(split, b.CreateICmpULT(j1, len)), j1, len);
          init();
          accumulate(zero, r0, r1, j0, j1);
          // Each partial takes an 8-byte word whatever the accumulator.
          Value *slotPtr = b.CreateGEP(b.getInt64Ty(), partials, q);
          b.CreateStore(b.CreateLoad(em.regType(acc), accSlot), slotPtr);
          b.CreateStore(b.CreateLoad(b.getDoubleTy(), compSlot),
                        b.CreateGEP(b.getDoubleTy(), comps, q));
        });
      }
    } else {
      // The last axis is kept: rows of x accumulate into rows of the
      // result; each index is a column, so threads never share an element.
      std::vector<Value *> outStride(R, b.getInt64(0));
      Value *st = b.getInt64(1);
      for (int d = R - 1; d >= 0; --d)
        if (!reduced[d]) {
          outStride[d] = st;
          st = b.CreateMul(st, shapeOf(d));
        }
      Value *len = shapeOf(R - 1);
      Value *outRows = b.CreateUDiv(st, len); // the kernel runs when len > 0
      forLoop(b.getInt64(0), outRows, [&](Value *orow) {
        Value *rowBase = b.CreateMul(orow, len);
        forLoop(begin, end, [&](Value *j) {
          em.store(em.convert(identity(em), acc, outType),
                   b.CreateGEP(em.memType(outType), outPtr, b.CreateAdd(rowBase, j)),
                   outType);
        });
      });
      Value *rows = b.getInt64(1);
      for (int d = 0; d < R - 1; ++d)
        rows = b.CreateMul(rows, shapeOf(d));
      forLoop(b.getInt64(0), rows, [&](Value *row) {
        Offsets xOff = zero;
        Value *oOff = b.getInt64(0), *i = row;
        for (int d = R - 2; d >= 0; --d) {
          Value *sz = shapeOf(d);
          Value *idx = b.CreateURem(i, sz);
          i = b.CreateUDiv(i, sz);
          xOff = advance(xOff, idx, d);
          oOff = b.CreateAdd(oOff, b.CreateMul(idx, outStride[d]));
        }
        forLoop(begin, end, [&](Value *j) {
          Value *optr = b.CreateGEP(em.memType(outType), outPtr, b.CreateAdd(oOff, j));
          Value *v = loadX(advance(xOff, j, R - 1));
          Value *a = em.load(optr, outType);
          DType at = isBool(outType) ? DType::Bool : outType;
          v = em.convert(v, inType, at);
          em.store(combine(a, v, at), optr, outType);
        });
      });
    }
    b.CreateRet(b.CreateZExt(b.CreateLoad(b.getInt1Ty(), err), b.getInt32Ty()));
    return kernel;
  };
  llvm::Function *kernel = build(innerReduce ? Kind::Rows : Kind::Columns);
  llvm::Function *piecesK = innerReduce && !isArg ? build(Kind::Pieces) : nullptr;
  b.restoreIP(ip);

  auto *done = llvm::BasicBlock::Create(ctx, "done", stepF);
  auto finish = [&] {
    b.SetInsertPoint(done);
    b.CreateRet(b.getInt32(0));
    return std::vector<llvm::Function *>{stepF, kernel, piecesK};
  };
  if (!innerReduce) {
    Value *len = xDesc.shape[R - 1];
    auto *run = llvm::BasicBlock::Create(ctx, "run", stepF);
    b.CreateCondBr(b.CreateICmpSGT(len, b.getInt64(0)), run, done);
    b.SetInsertPoint(run);
    Value *perColumn = b.getInt64(1); // elements of x per column
    for (int d = 0; d < R - 1; ++d)
      perColumn = b.CreateMul(perColumn, xDesc.shape[d]);
    perColumn = b.CreateAdd(perColumn, b.getInt64(1));
    Value *grain = b.CreateAdd(b.CreateSDiv(b.getInt64(kGrain), perColumn), b.getInt64(1));
    parallelFor(kernel, args, len, grain, 0);
    b.CreateBr(done);
    return finish();
  }
  auto *run = llvm::BasicBlock::Create(ctx, "run", stepF);
  auto *rowsBB = llvm::BasicBlock::Create(ctx, "rows", stepF);
  b.CreateCondBr(b.CreateICmpSGT(outTotal, b.getInt64(0)), run, done);
  b.SetInsertPoint(run);
  if (piecesK) {
    auto *piecesBB = llvm::BasicBlock::Create(ctx, "pieces", stepF);
    Value *many = b.CreateAnd(b.CreateICmpEQ(outTotal, b.getInt64(1)),
                              b.CreateICmpSGE(redSize, b.getInt64(2 * kPiece)));
    b.CreateCondBr(many, piecesBB, rowsBB);
    b.SetInsertPoint(piecesBB);
    auto [len, outerCount] = rowsOf(xDesc);
    Pieces pc = piecesOf(len, outerCount);
    Value *buf = b.CreateCall(allocFn, {state, stepF->getArg(3),
                                        b.CreateMul(pc.count, b.getInt64(16))});
    check(b.CreateIsNotNull(buf), 0);
    storeWord(args, step.scratch - step.args, b.CreatePtrToInt(buf, b.getInt64Ty()));
    parallelFor(piecesK, args, pc.count, b.getInt64(1), 0);
    // Combine the partials in order.
    ScalarEmitter em(b);
    llvm::IRBuilderBase::InsertPoint here = b.saveIP();
    b.SetInsertPoint(&stepF->getEntryBlock(), stepF->getEntryBlock().begin());
    llvm::AllocaInst *accSlot = b.CreateAlloca(em.regType(acc));
    llvm::AllocaInst *compSlot = b.CreateAlloca(b.getDoubleTy());
    b.restoreIP(here);
    b.CreateStore(identity(em), accSlot);
    b.CreateStore(llvm::ConstantFP::get(b.getDoubleTy(), 0.0), compSlot);
    Value *comps = b.CreateGEP(b.getInt64Ty(), buf, pc.count);
    forLoop(b.getInt64(0), pc.count, [&](Value *q) {
      Value *p = b.CreateLoad(em.regType(acc), b.CreateGEP(b.getInt64Ty(), buf, q));
      if (floatSum) {
        compensatedAdd(accSlot, compSlot, p);
        Value *c = b.CreateLoad(b.getDoubleTy(), b.CreateGEP(b.getDoubleTy(), comps, q));
        b.CreateStore(b.CreateFAdd(b.CreateLoad(b.getDoubleTy(), compSlot), c), compSlot);
      } else {
        b.CreateStore(combine(b.CreateLoad(em.regType(acc), accSlot), p, acc), accSlot);
      }
    });
    Value *result = b.CreateLoad(em.regType(acc), accSlot);
    if (floatSum)
      result = b.CreateFAdd(result, b.CreateLoad(b.getDoubleTy(), compSlot));
    em.store(em.convert(result, acc, outType), b.CreateLoad(b.getPtrTy(), descs[N]),
             outType);
    b.CreateBr(done);
  } else {
    b.CreateBr(rowsBB);
  }
  b.SetInsertPoint(rowsBB);
  Value *perItem = b.CreateAdd(redSize, b.getInt64(1));
  Value *grain = b.CreateAdd(b.CreateSDiv(b.getInt64(kGrain), perItem), b.getInt64(1));
  parallelFor(kernel, args, outTotal, grain, 0);
  b.CreateBr(done);
  return finish();
}

} // namespace

std::unique_ptr<llvm::Module> lowerToLLVM(const Plan &plan,
                                          const std::string &entryName,
                                          llvm::LLVMContext &ctx) {
  return Lowering(plan, ctx, entryName).run(entryName);
}

} // namespace thjit::codegen
