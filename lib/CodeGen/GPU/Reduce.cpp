//===- Reduce.cpp - Reduction and softmax kernels as NVPTX ----------------===//
//
// A Reduce step (sum, prod, max, min, all, any, argmax, argmin over any
// axes, with an element-wise producer fused in) becomes these kernels:
//
//   <base>_rows and <base>_cols  each block reduces 256/G outputs, G threads
//                                on each: a thread accumulates every G-th
//                                element of its output's range (the producer
//                                computed per element, as on the CPU), then
//                                the G partials are combined: warp shuffles
//                                and shared memory (_rows: the G threads of
//                                an output are adjacent lanes, for memory
//                                contiguous along the reduced elements), or
//                                a tree in shared memory (_cols: adjacent
//                                lanes on adjacent outputs, for memory
//                                contiguous along the outputs). The same
//                                parameters: the launcher picks one per call
//                                by the operands' strides, so that loads
//                                coalesce. Only a step that may read a
//                                transposed view gets both (variants).
//   <base>_finish                when the launcher splits each output's
//                                elements into P pieces (few outputs of many
//                                elements), the main kernel writes P partial
//                                results per output to a scratch buffer and
//                                this one combines them, a block per output.
//
// softmax and log_softmax over the last axis get <base>_rows: G threads per
// row find the maximum, then the sum of exponentials, then write the row,
// in double as the reference kernel does.
//
// Everything is a grid-stride loop over work items with 64-bit indices, so
// any grid covers every output; G and P are run-time parameters. The ABI,
// and how a launcher picks G, P and the grid, is in GPU.h.
//
//===----------------------------------------------------------------------===//
#include "PTXLowering.h"
#include "../ScalarEmitter.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Error.h"

#include "llvm/IR/IntrinsicsNVPTX.h"

#include <algorithm>
#include <functional>

namespace thjit::codegen::gpu {

using llvm::Value;
namespace I = llvm::Intrinsic;

namespace {

/// Threads per block of every kernel here (8 warps), as a power of two.
constexpr int kLogBlock = 8;
constexpr int kBlock = 1 << kLogBlock;
constexpr int kWarps = kBlock / 32;

/// IR-building helpers for one kernel at a time.
class KernelBuilder {
public:
  explicit KernelBuilder(llvm::Module &m)
      : m(m), ctx(m.getContext()), b(ctx), em(b) {}

protected:
  void start(llvm::Function *fn) {
    f = fn;
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
  }
  llvm::BasicBlock *block(const char *name) {
    return llvm::BasicBlock::Create(ctx, name, f);
  }
  Value *i64(int64_t v) { return b.getInt64(v); }
  Value *arg(int i) { return f->getArg(i); }
  Value *umin(Value *x, Value *y) { return b.CreateBinaryIntrinsic(I::umin, x, y); }
  Value *umax(Value *x, Value *y) { return b.CreateBinaryIntrinsic(I::umax, x, y); }

  /// A stack slot in the entry block (promoted to registers by SROA),
  /// set to `init` where the builder is.
  llvm::AllocaInst *slot(llvm::Type *t, Value *init) {
    llvm::IRBuilder<> e(&f->getEntryBlock(), f->getEntryBlock().begin());
    llvm::AllocaInst *a = e.CreateAlloca(t);
    if (init)
      b.CreateStore(init, a);
    return a;
  }

  /// for (i = lo; i < hi; i += step) body(i), signed 64-bit.
  void loop(Value *lo, Value *hi, Value *step,
            const std::function<void(Value *)> &body) {
    llvm::BasicBlock *pre = b.GetInsertBlock();
    llvm::BasicBlock *head = block("loop"), *bodyBB = block("body"),
                     *exit = block("endloop");
    b.CreateBr(head);
    b.SetInsertPoint(head);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    b.CreateCondBr(b.CreateICmpSLT(i, hi), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    body(i);
    i->addIncoming(b.CreateAdd(i, step), b.GetInsertBlock());
    b.CreateBr(head);
    b.SetInsertPoint(exit);
  }

  void ifThen(Value *cond, const std::function<void()> &then,
              const std::function<void()> &otherwise = nullptr) {
    llvm::BasicBlock *yes = block("then"), *join = block("endif");
    llvm::BasicBlock *no = otherwise ? block("else") : join;
    b.CreateCondBr(cond, yes, no);
    b.SetInsertPoint(yes);
    then();
    b.CreateBr(join);
    if (otherwise) {
      b.SetInsertPoint(no);
      otherwise();
      b.CreateBr(join);
    }
    b.SetInsertPoint(join);
  }

  /// __syncthreads(): every caller reaches it with the whole block.
  void barrier() { b.CreateIntrinsic(I::nvvm_barrier0, {}, {}); }

  /// v from the lane whose index is this lane's xor `laneMask`. Full mask:
  /// every caller reaches it with all 32 lanes (code outside any branch
  /// that depends on the thread). Values wider than 32 bits go as two
  /// words, narrower ones widened.
  Value *shuffleXor(Value *v, unsigned laneMask) {
    llvm::Type *t = v->getType(), *i32 = b.getInt32Ty(), *i64t = b.getInt64Ty();
    auto word = [&](Value *w) {
      return b.CreateIntrinsic(I::nvvm_shfl_sync_bfly_i32, {},
                               {b.getInt32(~0u), w, b.getInt32(laneMask),
                                b.getInt32(0x1f)});
    };
    unsigned bits = t->getPrimitiveSizeInBits();
    if (bits <= 32) {
      Value *w = !t->isIntegerTy() ? b.CreateBitCast(v, i32)
                 : bits < 32      ? b.CreateZExt(v, i32)
                                  : v;
      w = word(w);
      return !t->isIntegerTy() ? b.CreateBitCast(w, t)
             : bits < 32      ? b.CreateTrunc(w, t)
                              : w;
    }
    Value *x = t->isIntegerTy() ? v : b.CreateBitCast(v, i64t);
    Value *lo = word(b.CreateTrunc(x, i32));
    Value *hi = word(b.CreateTrunc(b.CreateLShr(x, 32), i32));
    Value *r = b.CreateOr(b.CreateZExt(lo, i64t), b.CreateShl(b.CreateZExt(hi, i64t), 32));
    return t->isIntegerTy() ? r : b.CreateBitCast(r, t);
  }

  /// A static shared-memory array of the kernel's (no dynamic shared
  /// memory for the launcher to provide).
  llvm::GlobalVariable *shared(llvm::Type *elem, int count, const char *what) {
    auto *ty = llvm::ArrayType::get(elem, count);
    auto *gv = new llvm::GlobalVariable(
        m, ty, false, llvm::GlobalValue::InternalLinkage, llvm::UndefValue::get(ty),
        f->getName() + "_" + what, nullptr, llvm::GlobalValue::NotThreadLocal, kShared);
    gv->setAlignment(llvm::Align(8));
    globals.push_back(gv);
    return gv;
  }
  Value *at(llvm::GlobalVariable *gv, Value *i) {
    return b.CreateInBoundsGEP(gv->getValueType(), gv, {i64(0), i});
  }

  /// How the block's threads share its outputs: G threads per output (G
  /// from the parameter, made a power of two in [1, 256]), T = 256 / G
  /// outputs; thread tid works on output t of the block's T, as its s-th
  /// thread. Rows: tid = t * G + s; columns: tid = s * T + t.
  struct Layout {
    Value *tid, *G, *logG, *T, *logT, *t, *s;
  };
  Layout layout(Value *gParam, bool columns) {
    Layout L;
    L.tid = specialReg(b, I::nvvm_read_ptx_sreg_tid_x);
    Value *g = umin(umax(gParam, i64(1)), i64(kBlock)); // unsigned: any value
    L.logG = b.CreateSub(i64(63), b.CreateBinaryIntrinsic(I::ctlz, g, b.getTrue()));
    L.G = b.CreateShl(i64(1), L.logG);
    L.logT = b.CreateSub(i64(kLogBlock), L.logG);
    L.T = b.CreateShl(i64(1), L.logT);
    if (columns) {
      L.t = b.CreateAnd(L.tid, b.CreateSub(L.T, i64(1)));
      L.s = b.CreateLShr(L.tid, L.logT);
    } else {
      L.t = b.CreateLShr(L.tid, L.logG);
      L.s = b.CreateAnd(L.tid, b.CreateSub(L.G, i64(1)));
    }
    return L;
  }

  /// The offset of each operand (strides by x's dims, null where an
  /// operand is not read) at the coordinates of flat index i over `dims`
  /// (row-major), added to `base`. Divides by the sizes of dims[1..]: the
  /// caller knows they are not 0.
  std::vector<Value *> offsetsOf(Value *i, const std::vector<int> &dims,
                                 const std::vector<Value *> &shape,
                                 const std::vector<std::vector<Value *>> &strides,
                                 std::vector<Value *> base) {
    for (size_t n = dims.size(); n-- > 0;) {
      int d = dims[n];
      Value *idx = n ? b.CreateURem(i, shape[d]) : i;
      if (n)
        i = b.CreateUDiv(i, shape[d]);
      for (size_t k = 0; k < base.size(); ++k)
        if (strides[k][d])
          base[k] = b.CreateAdd(base[k], b.CreateMul(idx, strides[k][d]));
    }
    return base;
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  llvm::IRBuilder<> b;
  ScalarEmitter em;
  llvm::Function *f = nullptr;
  /// The shared arrays made so far (erased with the kernels on failure).
  std::vector<llvm::GlobalVariable *> globals;

public:
  void eraseAll(std::vector<llvm::Function *> &fns) {
    if (f && std::find(fns.begin(), fns.end(), f) == fns.end())
      fns.push_back(f); // the one half built
    for (llvm::Function *fn : fns)
      fn->eraseFromParent();
    for (llvm::GlobalVariable *gv : globals)
      gv->eraseFromParent();
    fns.clear();
    globals.clear();
    f = nullptr;
    b.ClearInsertionPoint();
  }
};

// ---- reductions ----------------------------------------------------------

class ReduceEmitter : public KernelBuilder {
public:
  ReduceEmitter(const Plan &plan, const std::vector<bool> &byValue,
                const std::vector<bool> &reordered, const Step &step, llvm::Module &m);

  /// A main kernel: `_cols` (adjacent threads on adjacent outputs) when
  /// `columns`, else `_rows` (the threads of an output adjacent).
  llvm::Function *buildMain(const std::string &name, bool columns);
  /// The kernel that combines the partial results of a split main kernel.
  llvm::Function *buildFinish(const std::string &name);

  /// The main kernels the step gets, as `columns` values: first the one of
  /// x's axes (`_cols` when the last is kept), for memory in their order;
  /// then the other, for memory in another order (a transposed view), when
  /// it can be the better one: some axes are kept and some reduced, and an
  /// operand of x's rank that is read may be such a view (reorderedViews).
  /// The launcher's rule (GPU.h) would not pick it otherwise, but for dims
  /// of size 1 or broadcast.
  std::vector<bool> variants() const {
    const bool lastKept = !kept.empty() && kept.back() == R - 1;
    const std::vector<bool> read = step.program->inputsRead();
    bool anyReordered = false;
    for (int k = 0; k < N; ++k) {
      const int v = step.operands[k];
      anyReordered = anyReordered || (read[k] && plan.values[v].ndim == R && reordered[v]);
    }
    if (kept.empty() || red.empty() || !anyReordered)
      return {lastKept};
    return {lastKept, !lastKept};
  }

private:
  /// A partial result: the accumulator, and (arg reductions) the index of
  /// its element in the output's reduced elements.
  struct Acc {
    Value *v, *idx;
  };
  /// One thread's running result (stack slots).
  struct State {
    llvm::AllocaInst *v, *comp, *idx;
  };

  Value *identity();
  Acc combine(Acc a, Acc c);
  State newState() {
    return {slot(em.regType(acc), nullptr), slot(b.getDoubleTy(), nullptr),
            slot(b.getInt64Ty(), nullptr)};
  }
  void reset(const State &st);
  void add(const State &st, Value *v, Value *j);
  Acc result(const State &st);
  Acc groupRows(Acc a, const Layout &L);
  Acc groupColumns(Acc a, const Layout &L);
  /// Stores what thread s == 0 of output o computed: the result, or when
  /// P > 1 the partial result of piece `piece` in the scratch buffer.
  void write(Acc a, Value *out, Value *scratch, Value *o, Value *piece, Value *P,
             Value *M);
  Value *finalValue(Acc a) {
    return isArg ? a.idx : em.convert(a.v, acc, outType);
  }

  const Plan &plan;
  const std::vector<bool> &byValue;  ///< scalarsByValue of the plan
  const std::vector<bool> &reordered; ///< reorderedViews of the plan
  const Step &step;
  OpKind kind;
  bool isArg, compensated;
  int R, N;
  DType inType, outType, acc;
  std::vector<int> kept, red;
  llvm::Type *accMem;
};

ReduceEmitter::ReduceEmitter(const Plan &plan, const std::vector<bool> &byValue,
                             const std::vector<bool> &reordered, const Step &step,
                             llvm::Module &m)
    : KernelBuilder(m), plan(plan), byValue(byValue), reordered(reordered), step(step) {
  kind = step.node->kind();
  isArg = kind == OpKind::ArgMax || kind == OpKind::ArgMin;
  R = plan.values[step.source].ndim;
  N = (int)step.operands.size();
  inType = plan.values[step.source].dtype;
  outType = plan.values[step.results[0]].dtype;
  // The CPU lowering's accumulator (Lowering.cpp buildReduce): float sums
  // and products in double as the reference kernel, integer ones in the
  // 64-bit result type, all / any in bool, the others in the input type.
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
  // float64 elements are summed with compensation, as on the CPU; float32
  // ones have 29 bits to spare in a double and are summed plainly.
  compensated = kind == OpKind::Sum && inType == DType::Float64;
  accMem = em.memType(acc);
  std::vector<bool> reduced(R, false);
  for (int a : reducedAxes(kind, step.node->attrs(), R))
    reduced[a] = true;
  for (int d = 0; d < R; ++d)
    (reduced[d] ? red : kept).push_back(d);
}

Value *ReduceEmitter::identity() {
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
}

/// a (op) c. Associative and commutative, so that any tree of partial
/// results gives the CPU's answer up to float rounding: for arg
/// reductions the NaN, else the extreme value, with the lowest index.
ReduceEmitter::Acc ReduceEmitter::combine(Acc a, Acc c) {
  bool fl = isFloat(acc), sg = isSignedInt(acc);
  Value *v = a.v, *x = c.v;
  switch (kind) {
  case OpKind::Sum:
    return {fl ? b.CreateFAdd(v, x) : b.CreateAdd(v, x), nullptr};
  case OpKind::Prod:
    return {fl ? b.CreateFMul(v, x) : b.CreateMul(v, x), nullptr};
  case OpKind::All:
    return {b.CreateAnd(v, x), nullptr};
  case OpKind::Any:
    return {b.CreateOr(v, x), nullptr};
  case OpKind::Max:
    if (isBool(acc))
      return {b.CreateOr(v, x), nullptr};
    // NaN-propagating, as the reference kernel.
    return {b.CreateBinaryIntrinsic(fl ? I::maximum : sg ? I::smax : I::umax, v, x),
            nullptr};
  case OpKind::Min:
    if (isBool(acc))
      return {b.CreateAnd(v, x), nullptr};
    return {b.CreateBinaryIntrinsic(fl ? I::minimum : sg ? I::smin : I::umin, v, x),
            nullptr};
  default:
    break;
  }
  bool wantMax = kind == OpKind::ArgMax;
  Value *first = b.CreateICmpSLT(c.idx, a.idx); // c comes first
  Value *takeC;
  if (fl) {
    Value *aNaN = b.CreateFCmpUNO(v, v), *cNaN = b.CreateFCmpUNO(x, x);
    Value *beats = b.CreateFCmp(wantMax ? llvm::CmpInst::FCMP_OGT
                                        : llvm::CmpInst::FCMP_OLT,
                                x, v);
    Value *ties = b.CreateAnd(b.CreateFCmpOEQ(x, v), first);
    // The first NaN wins; else the extreme value, first on ties.
    takeC = b.CreateSelect(aNaN, b.CreateAnd(cNaN, first),
                           b.CreateOr(cNaN, b.CreateOr(beats, ties)));
  } else {
    Value *beats = b.CreateICmp(
        sg ? (wantMax ? llvm::CmpInst::ICMP_SGT : llvm::CmpInst::ICMP_SLT)
           : (wantMax ? llvm::CmpInst::ICMP_UGT : llvm::CmpInst::ICMP_ULT),
        x, v);
    takeC = b.CreateOr(beats, b.CreateAnd(b.CreateICmpEQ(x, v), first));
  }
  return {b.CreateSelect(takeC, x, v), b.CreateSelect(takeC, c.idx, a.idx)};
}

void ReduceEmitter::reset(const State &st) {
  b.CreateStore(identity(), st.v);
  b.CreateStore(llvm::ConstantFP::get(b.getDoubleTy(), 0.0), st.comp);
  // No element yet: any element's index is lower.
  b.CreateStore(i64(INT64_MAX), st.idx);
}

/// Accumulates one element (already of the accumulator's type) of index j.
void ReduceEmitter::add(const State &st, Value *v, Value *j) {
  if (compensated) {
    // Neumaier's step, as the CPU's compensated block sums: sum += v, the
    // lost low bits added to comp.
    Value *sum = b.CreateLoad(b.getDoubleTy(), st.v);
    Value *t = b.CreateFAdd(sum, v);
    Value *bigSum = b.CreateFCmpOGE(b.CreateUnaryIntrinsic(I::fabs, sum),
                                    b.CreateUnaryIntrinsic(I::fabs, v));
    Value *lost = b.CreateSelect(bigSum, b.CreateFAdd(b.CreateFSub(sum, t), v),
                                 b.CreateFAdd(b.CreateFSub(v, t), sum));
    // An infinite (or NaN) sum has no low bits to keep: inf - inf would
    // make the result NaN.
    Value *finite = b.CreateFCmpOLT(b.CreateUnaryIntrinsic(I::fabs, t),
                                    llvm::ConstantFP::getInfinity(b.getDoubleTy()));
    lost = b.CreateSelect(finite, lost, llvm::ConstantFP::get(b.getDoubleTy(), 0.0));
    b.CreateStore(b.CreateFAdd(b.CreateLoad(b.getDoubleTy(), st.comp), lost), st.comp);
    b.CreateStore(t, st.v);
    return;
  }
  Acc r = combine({b.CreateLoad(em.regType(acc), st.v),
                   isArg ? b.CreateLoad(b.getInt64Ty(), st.idx) : nullptr},
                  {v, j});
  b.CreateStore(r.v, st.v);
  if (isArg)
    b.CreateStore(r.idx, st.idx);
}

ReduceEmitter::Acc ReduceEmitter::result(const State &st) {
  Value *v = b.CreateLoad(em.regType(acc), st.v);
  if (compensated)
    v = b.CreateFAdd(v, b.CreateLoad(b.getDoubleTy(), st.comp));
  return {v, isArg ? b.CreateLoad(b.getInt64Ty(), st.idx) : nullptr};
}

/// Combines the partials of each output's G adjacent threads: butterfly
/// shuffles within the warp (offsets below G), then, for G > 32, the
/// warps' results through shared memory. The result is in thread s == 0.
/// Called by the whole block.
ReduceEmitter::Acc ReduceEmitter::groupRows(Acc a, const Layout &L) {
  for (unsigned off = 16; off >= 1; off /= 2) {
    Acc other{shuffleXor(a.v, off), isArg ? shuffleXor(a.idx, off) : nullptr};
    Acc c = combine(a, other);
    Value *use = b.CreateICmpULT(i64(off), L.G); // uniform: no branch
    a = {b.CreateSelect(use, c.v, a.v), isArg ? b.CreateSelect(use, c.idx, a.idx) : nullptr};
  }
  // Every warp's lane 0 writes its warp's value; an output of G > 32
  // threads takes in those of its other warps, warp + 1 .. warp + G/32 - 1
  // (aligned: within the block's 8), without branches: all 7 are read, in
  // bounds, and the ones past the output's warps left out.
  llvm::GlobalVariable *sv = shared(accMem, kWarps, "acc");
  llvm::GlobalVariable *si = isArg ? shared(b.getInt64Ty(), kWarps, "idx") : nullptr;
  Value *lane = b.CreateAnd(L.tid, i64(31)), *warp = b.CreateLShr(L.tid, 5);
  Value *perGroup = b.CreateLShr(L.G, 5); // warps per output, 0 for G < 32
  ifThen(b.CreateICmpEQ(lane, i64(0)), [&] {
    em.store(a.v, at(sv, warp), acc);
    if (isArg)
      b.CreateStore(a.idx, at(si, warp));
  });
  barrier();
  for (int w = 1; w < kWarps; ++w) {
    Value *k = b.CreateAnd(b.CreateAdd(warp, i64(w)), i64(kWarps - 1));
    Acc c = combine(a, {em.load(at(sv, k), acc),
                        isArg ? b.CreateLoad(b.getInt64Ty(), at(si, k)) : nullptr});
    Value *use = b.CreateICmpULT(i64(w), perGroup);
    a = {b.CreateSelect(use, c.v, a.v), isArg ? b.CreateSelect(use, c.idx, a.idx) : nullptr};
  }
  return a;
}

/// Combines the partials of each output's G threads, T apart: a tree in
/// shared memory, log2(G) levels. The result is in thread s == 0. Called
/// by the whole block.
ReduceEmitter::Acc ReduceEmitter::groupColumns(Acc a, const Layout &L) {
  llvm::GlobalVariable *sv = shared(accMem, kBlock, "acc");
  llvm::GlobalVariable *si = isArg ? shared(b.getInt64Ty(), kBlock, "idx") : nullptr;
  auto load = [&](Value *k) {
    return Acc{em.load(at(sv, k), acc),
               isArg ? b.CreateLoad(b.getInt64Ty(), at(si, k)) : nullptr};
  };
  auto store = [&](Acc x, Value *k) {
    em.store(x.v, at(sv, k), acc);
    if (isArg)
      b.CreateStore(x.idx, at(si, k));
  };
  store(a, L.tid);
  barrier();
  // Level l: threads s < h = G >> (l + 1) take in the partial h * T
  // further on (tid + h * T < 2 * h * T <= 256).
  loop(i64(0), L.logG, i64(1), [&](Value *l) {
    Value *h = b.CreateLShr(L.G, b.CreateAdd(l, i64(1)));
    ifThen(b.CreateICmpULT(L.s, h), [&] {
      store(combine(load(L.tid), load(b.CreateAdd(L.tid, b.CreateMul(h, L.T)))), L.tid);
    });
    barrier();
  });
  return load(L.tid);
}

void ReduceEmitter::write(Acc a, Value *out, Value *scratch, Value *o,
                          Value *piece, Value *P, Value *M) {
  ifThen(
      b.CreateICmpEQ(P, i64(1)),
      [&] {
        em.store(finalValue(a), b.CreateInBoundsGEP(em.memType(outType), out, o),
                 outType);
      },
      [&] {
        // Partial q = o * P + piece in word q of the scratch buffer (each
        // accumulator takes 8 bytes), its index in word M * P + q.
        Value *q = b.CreateAdd(b.CreateMul(o, P), piece);
        em.store(a.v, b.CreateInBoundsGEP(b.getInt64Ty(), scratch, q), acc);
        if (isArg)
          b.CreateStore(a.idx, b.CreateInBoundsGEP(b.getInt64Ty(), scratch,
                                                   b.CreateAdd(b.CreateMul(M, P), q)));
      });
}

llvm::Function *ReduceEmitter::buildMain(const std::string &name, bool columns) {
  int scalars = 2 + R; // G, P, x's shape
  for (int v : step.operands)
    scalars += plan.values[v].ndim;
  std::vector<bool> valueParams;
  for (int v : step.operands)
    valueParams.push_back(byValue[v]);
  start(newKernel(m, name, N + 3, N, scalars, valueParams));
  Value *out = arg(N), *scratch = arg(N + 1), *status = arg(N + 2);
  // Scalars taken by value (their parameter holds the bits).
  std::vector<Value *> given(N, nullptr);
  for (int k = 0; k < N; ++k)
    if (valueParams[k])
      given[k] = scalarFromBits(b, arg(k), plan.values[step.operands[k]].dtype);
  int p = N + 3;
  Value *gParam = arg(p++), *pParam = arg(p++);
  std::vector<Value *> shape;
  for (int d = 0; d < R; ++d)
    shape.push_back(arg(p++));
  // Strides by x's dim; null where the operand's type broadcasts (unread).
  std::vector<std::vector<Value *>> strides(N);
  for (int k = 0; k < N; ++k) {
    const TensorType *t = plan.values[step.operands[k]].var.type();
    strides[k].assign(R, nullptr);
    for (int j = 0; j < t->ndim(); ++j) {
      Value *st = arg(p++);
      if (!t->isBroadcastable(j))
        strides[k][R - t->ndim() + j] = st;
    }
  }
  const std::vector<bool> read = step.program->inputsRead();

  Layout L = layout(gParam, columns);
  Value *P = umax(pParam, i64(1));
  Value *M = i64(1), *K = i64(1); // outputs; elements per output
  for (int d : kept)
    M = b.CreateMul(M, shape[d]);
  for (int d : red)
    K = b.CreateMul(K, shape[d]);
  Value *tiles = b.CreateLShr(b.CreateAdd(M, b.CreateSub(L.T, i64(1))), L.logT);
  Value *items = b.CreateMul(tiles, P);
  Value *chunk = b.CreateUDiv(b.CreateAdd(K, b.CreateSub(P, i64(1))), P);
  llvm::AllocaInst *err = slot(b.getInt1Ty(), b.getFalse());
  State st = newState();
  std::vector<llvm::AllocaInst *> coord; // reduced coordinates, for 2+ axes
  for (size_t i = 0; i < red.size() && red.size() > 1; ++i)
    coord.push_back(slot(b.getInt64Ty(), nullptr));
  const std::vector<Value *> zero(N, i64(0));

  // Work item = (tile of T outputs, piece of their elements), grid-stride.
  loop(specialReg(b, I::nvvm_read_ptx_sreg_ctaid_x), items,
       specialReg(b, I::nvvm_read_ptx_sreg_nctaid_x), [&](Value *item) {
    Value *tile = b.CreateUDiv(item, P);
    Value *piece = b.CreateSub(item, b.CreateMul(tile, P));
    Value *o = b.CreateAdd(b.CreateShl(tile, L.logT), L.t);
    Value *valid = b.CreateICmpULT(o, M);
    Value *jBegin = b.CreateMul(piece, chunk);
    Value *jEnd = umin(K, b.CreateAdd(jBegin, chunk));
    Value *j0 = b.CreateAdd(jBegin, L.s);
    reset(st);
    // Threads with elements: M > 0 and K > 0, so no size divided by is 0.
    ifThen(b.CreateAnd(valid, b.CreateICmpULT(j0, jEnd)), [&] {
      std::vector<Value *> base = offsetsOf(o, kept, shape, strides, zero);
      // The reduced coordinates of j0, and G's digits in the same radices:
      // a step of G elements adds them with carries, no division.
      std::vector<Value *> gDigit(coord.size());
      Value *rem = j0, *gRem = L.G;
      for (size_t n = coord.size(); n-- > 0;) {
        Value *sz = shape[red[n]];
        b.CreateStore(n ? b.CreateURem(rem, sz) : rem, coord[n]);
        gDigit[n] = n ? b.CreateURem(gRem, sz) : gRem;
        if (n) {
          rem = b.CreateUDiv(rem, sz);
          gRem = b.CreateUDiv(gRem, sz);
        }
      }
      loop(j0, jEnd, L.G, [&](Value *j) {
        std::vector<Value *> off = base;
        for (int k = 0; k < N; ++k)
          for (size_t n = 0; n < red.size(); ++n)
            if (Value *stride = strides[k][red[n]]) {
              Value *c = coord.empty() ? j : b.CreateLoad(b.getInt64Ty(), coord[n]);
              off[k] = b.CreateAdd(off[k], b.CreateMul(c, stride));
            }
        std::vector<Value *> in(N, nullptr);
        for (int k = 0; k < N; ++k)
          if (given[k]) {
            in[k] = given[k];
          } else if (read[k]) {
            DType t = plan.values[step.operands[k]].dtype;
            in[k] = em.load(b.CreateInBoundsGEP(em.memType(t), arg(k), off[k]), t);
          }
        em.resetErrorFlag();
        Value *x = em.emit(*step.program, in)[0];
        if (Value *e = em.errorFlag())
          b.CreateStore(b.CreateOr(b.CreateLoad(b.getInt1Ty(), err), e), err);
        // The element as the CPU would have stored it (a float16 producer
        // computes in float, and the reference reduces the rounded array).
        x = em.fromMemory(em.toMemory(x, inType), inType);
        add(st, em.convert(x, inType, acc), j);
        // Next coordinates: + G's digits, carrying (each digit stays below
        // twice its size, so one subtraction wraps it).
        Value *carry = i64(0);
        for (size_t n = coord.size(); n-- > 0;) {
          Value *c = b.CreateAdd(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), coord[n]),
                                             gDigit[n]),
                                 carry);
          if (n) {
            Value *sz = shape[red[n]];
            Value *wrap = b.CreateICmpUGE(c, sz);
            c = b.CreateSelect(wrap, b.CreateSub(c, sz), c);
            carry = b.CreateZExt(wrap, b.getInt64Ty());
          }
          b.CreateStore(c, coord[n]);
        }
      });
    });
    Acc a = result(st);
    a = columns ? groupColumns(a, L) : groupRows(a, L);
    ifThen(b.CreateAnd(valid, b.CreateICmpEQ(L.s, i64(0))),
           [&] { write(a, out, scratch, o, piece, P, M); });
    barrier(); // shared memory is reused by the next item
  });
  ifThen(b.CreateLoad(b.getInt1Ty(), err),
         [&] { b.CreateStore(b.getInt32(1), status); });
  b.CreateRetVoid();
  b.ClearInsertionPoint();
  return f;
}

llvm::Function *ReduceEmitter::buildFinish(const std::string &name) {
  start(newKernel(m, name, 2, 0, 3));
  // The partials are read only while this kernel runs (ld.global.nc).
  f->addParamAttr(1, llvm::Attribute::ReadOnly);
  Value *out = arg(0), *scratch = arg(1);
  Layout L = layout(arg(2), false);
  Value *M = arg(3), *P = umax(arg(4), i64(1));
  Value *tiles = b.CreateLShr(b.CreateAdd(M, b.CreateSub(L.T, i64(1))), L.logT);
  State st = newState();
  loop(specialReg(b, I::nvvm_read_ptx_sreg_ctaid_x), tiles,
       specialReg(b, I::nvvm_read_ptx_sreg_nctaid_x), [&](Value *tile) {
    Value *o = b.CreateAdd(b.CreateShl(tile, L.logT), L.t);
    Value *valid = b.CreateICmpULT(o, M);
    reset(st);
    ifThen(valid, [&] {
      loop(L.s, P, L.G, [&](Value *j) {
        Value *q = b.CreateAdd(b.CreateMul(o, P), j);
        Value *v = em.load(b.CreateInBoundsGEP(b.getInt64Ty(), scratch, q), acc);
        Value *idx = nullptr;
        if (isArg)
          idx = b.CreateLoad(b.getInt64Ty(),
                             b.CreateInBoundsGEP(b.getInt64Ty(), scratch,
                                                 b.CreateAdd(b.CreateMul(M, P), q)));
        add(st, v, idx);
      });
    });
    Acc a = groupRows(result(st), L);
    ifThen(b.CreateAnd(valid, b.CreateICmpEQ(L.s, i64(0))), [&] {
      em.store(finalValue(a), b.CreateInBoundsGEP(em.memType(outType), out, o), outType);
    });
    barrier();
  });
  b.CreateRetVoid();
  b.ClearInsertionPoint();
  return f;
}

// ---- softmax -------------------------------------------------------------

class SoftmaxEmitter : public KernelBuilder {
public:
  SoftmaxEmitter(const Plan &plan, const Step &step, llvm::Module &m)
      : KernelBuilder(m), plan(plan), step(step) {}
  llvm::Function *build(const std::string &name);

private:
  /// The maximum or sum of v over each row's G threads, in all of them:
  /// butterfly shuffles, then for G > 32 the warps' values through shared
  /// memory, combined in order by every thread of the row. Called by the
  /// whole block.
  Value *rowAll(Value *v, bool isMax, const Layout &L, llvm::GlobalVariable *sm);
  Value *op(bool isMax, Value *x, Value *y) {
    return isMax ? b.CreateBinaryIntrinsic(I::maximum, x, y) : b.CreateFAdd(x, y);
  }

  const Plan &plan;
  const Step &step;
};

Value *SoftmaxEmitter::rowAll(Value *v, bool isMax, const Layout &L,
                              llvm::GlobalVariable *sm) {
  for (unsigned off = 16; off >= 1; off /= 2)
    v = b.CreateSelect(b.CreateICmpULT(i64(off), L.G), op(isMax, v, shuffleXor(v, off)), v);
  // As in ReduceEmitter::groupRows, every thread of the row combining its
  // row's warps (the first of them being `first`) in order.
  Value *lane = b.CreateAnd(L.tid, i64(31)), *warp = b.CreateLShr(L.tid, 5);
  Value *perRow = b.CreateLShr(L.G, 5); // warps per row, 0 for G < 32
  ifThen(b.CreateICmpEQ(lane, i64(0)), [&] { b.CreateStore(v, at(sm, warp)); });
  barrier();
  Value *first = b.CreateAnd(warp, b.CreateNot(b.CreateSub(umax(perRow, i64(1)), i64(1))));
  Value *r = b.CreateLoad(b.getDoubleTy(), at(sm, first));
  for (int w = 1; w < kWarps; ++w) {
    Value *k = b.CreateAnd(b.CreateAdd(first, i64(w)), i64(kWarps - 1));
    Value *x = b.CreateLoad(b.getDoubleTy(), at(sm, k));
    r = b.CreateSelect(b.CreateICmpULT(i64(w), perRow), op(isMax, r, x), r);
  }
  return b.CreateSelect(b.CreateICmpUGT(perRow, i64(1)), r, v);
}

llvm::Function *SoftmaxEmitter::build(const std::string &name) {
  const bool isLog = step.node->kind() == OpKind::LogSoftmax;
  const int x = step.operands[0], out = step.results[0];
  const int R = plan.values[x].ndim;
  const DType inType = plan.values[x].dtype, outType = plan.values[out].dtype;
  const DType f64 = DType::Float64;
  start(newKernel(m, name, 2, 1, 1 + 2 * R));
  Layout L = layout(arg(2), false);
  std::vector<Value *> shape, strides;
  for (int d = 0; d < R; ++d)
    shape.push_back(arg(3 + d));
  for (int d = 0; d < R; ++d)
    strides.push_back(arg(3 + R + d));
  Value *rows = i64(1), *cols = shape[R - 1], *colStride = strides[R - 1];
  std::vector<int> lead;
  for (int d = 0; d + 1 < R; ++d) {
    rows = b.CreateMul(rows, shape[d]);
    lead.push_back(d);
  }
  Value *tiles = b.CreateLShr(b.CreateAdd(rows, b.CreateSub(L.T, i64(1))), L.logT);
  llvm::GlobalVariable *smMax = shared(b.getDoubleTy(), kWarps, "max");
  llvm::GlobalVariable *smSum = shared(b.getDoubleTy(), kWarps, "sum");
  llvm::AllocaInst *acc = slot(b.getDoubleTy(), nullptr);
  Value *negInf = llvm::ConstantFP::getInfinity(b.getDoubleTy(), true);
  Value *zero = llvm::ConstantFP::get(b.getDoubleTy(), 0.0);

  loop(specialReg(b, I::nvvm_read_ptx_sreg_ctaid_x), tiles,
       specialReg(b, I::nvvm_read_ptx_sreg_nctaid_x), [&](Value *tile) {
    Value *r = b.CreateAdd(b.CreateShl(tile, L.logT), L.t);
    Value *valid = b.CreateICmpULT(r, rows);
    // Some row exists, so no leading size is 0.
    Value *rowOff = offsetsOf(r, lead, shape, {strides}, {i64(0)})[0];
    auto element = [&](Value *j) {
      Value *p = b.CreateInBoundsGEP(em.memType(inType), arg(0),
                                     b.CreateAdd(rowOff, b.CreateMul(j, colStride)));
      return em.convert(em.load(p, inType), inType, f64);
    };
    // The maximum, NaN if an element is; 0 if infinite, as the reference.
    b.CreateStore(negInf, acc);
    ifThen(valid, [&] {
      loop(L.s, cols, L.G, [&](Value *j) {
        b.CreateStore(op(true, b.CreateLoad(b.getDoubleTy(), acc), element(j)), acc);
      });
    });
    Value *mx = rowAll(b.CreateLoad(b.getDoubleTy(), acc), true, L, smMax);
    Value *isInf = b.CreateFCmpOEQ(b.CreateUnaryIntrinsic(I::fabs, mx),
                                   llvm::ConstantFP::getInfinity(b.getDoubleTy()));
    mx = b.CreateSelect(isInf, zero, mx);
    b.CreateStore(zero, acc);
    ifThen(valid, [&] {
      loop(L.s, cols, L.G, [&](Value *j) {
        Value *e = em.callMath("exp", f64, {b.CreateFSub(element(j), mx)});
        b.CreateStore(b.CreateFAdd(b.CreateLoad(b.getDoubleTy(), acc), e), acc);
      });
    });
    Value *sum = rowAll(b.CreateLoad(b.getDoubleTy(), acc), false, L, smSum);
    ifThen(valid, [&] {
      Value *logSum = isLog ? em.callMath("log", f64, {sum}) : nullptr;
      Value *outRow = b.CreateMul(r, cols);
      loop(L.s, cols, L.G, [&](Value *j) {
        Value *d = b.CreateFSub(element(j), mx);
        Value *y = isLog ? b.CreateFSub(d, logSum)
                         : b.CreateFDiv(em.callMath("exp", f64, {d}), sum);
        em.store(em.convert(y, f64, outType),
                 b.CreateInBoundsGEP(em.memType(outType), arg(1), b.CreateAdd(outRow, j)),
                 outType);
      });
    });
    // No barrier needed here: the next row's writes of smMax come after
    // this row's second barrier, its writes of smSum after its own first.
  });
  b.CreateRetVoid();
  b.ClearInsertionPoint();
  return f;
}

} // namespace

bool isSoftmaxStep(const Step &step) {
  if (step.kind != StepKind::Runtime || step.results.size() != 1 ||
      step.operands.size() != 1)
    return false;
  OpKind k = step.node->kind();
  return (k == OpKind::Softmax || k == OpKind::LogSoftmax) &&
         !isComplex(step.node->operand(0).dtype());
}

std::vector<llvm::Function *> emitReduceStep(const Plan &plan,
                                             const std::vector<bool> &byValue,
                                             const std::vector<bool> &reordered, int s,
                                             llvm::Module &m,
                                             std::vector<GPUKernel> &info) {
  const Step &step = plan.steps[s];
  const std::string base = kernelBaseName(plan, s);
  ReduceEmitter re(plan, byValue, reordered, step, m);
  const std::vector<bool> variants = re.variants();
  std::vector<llvm::Function *> fns;
  try {
    for (bool columns : variants)
      fns.push_back(re.buildMain(base + (columns ? "_cols" : "_rows"), columns));
    fns.push_back(re.buildFinish(base + "_finish"));
  } catch (...) {
    re.eraseAll(fns);
    throw;
  }
  for (size_t i = 0; i < fns.size(); ++i) {
    GPUKernel k;
    k.kind = GPUKernelKind::Reduce;
    k.blockSize = kBlock;
    k.step = s;
    k.name = fns[i]->getName().str();
    k.numResults = 1;
    if (i == variants.size()) {
      k.reducePart = GPUReducePart::Finish;
    } else {
      k.reducePart = variants[i] ? GPUReducePart::Columns : GPUReducePart::Rows;
      k.numOperands = (int)step.operands.size();
      k.ndim = plan.values[step.source].ndim;
      for (int v : step.operands)
        k.operandNdims.push_back(plan.values[v].ndim);
    }
    info.push_back(k);
  }
  return fns;
}

std::vector<llvm::Function *> emitSoftmaxStep(const Plan &plan, int s,
                                              llvm::Module &m,
                                              std::vector<GPUKernel> &info) {
  const Step &step = plan.steps[s];
  SoftmaxEmitter se(plan, step, m);
  std::vector<llvm::Function *> fns;
  try {
    fns.push_back(se.build(kernelBaseName(plan, s) + "_rows"));
  } catch (...) {
    se.eraseAll(fns);
    throw;
  }
  GPUKernel k;
  k.kind = GPUKernelKind::Softmax;
  k.blockSize = kBlock;
  k.step = s;
  k.name = fns[0]->getName().str();
  k.numOperands = 1;
  k.numResults = 1;
  k.ndim = plan.values[step.operands[0]].ndim;
  k.operandNdims = {k.ndim};
  info.push_back(k);
  return fns;
}

} // namespace thjit::codegen::gpu
