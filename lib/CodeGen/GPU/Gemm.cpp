//===- Gemm.cpp - Matrix-product kernels as NVPTX assembly ----------------===//
//
// C = alpha * A @ B + beta * C on NVIDIA GPUs, generated as LLVM IR (the ABI
// and launch rules are in Gemm.h). Every path has the same skeleton:
//
//   block (x, y, z) computes the tile (y, x) of C for product z:
//     acc = 0
//     stage tile 0 of A and B: global -> registers -> shared buffer 0
//     for each K tile kt:
//       if there is a next tile, start loading it from global memory
//       multiply-accumulate from shared buffer kt % 2
//       if there is a next tile, store what was loaded into buffer
//         1 - kt % 2
//       barrier
//     C = alpha * acc + beta * C (C not read when beta == 0)
//
// Double buffering needs one barrier per K tile: a buffer is overwritten
// only after the barrier that ends the K tile reading it, so buffer
// 1 - kt % 2 is free during all of K tile kt. Every loop bound and branch
// around a barrier, ldmatrix or mma.sync is the same for all the threads of
// a block. Global tiles are read one "slot" (16 bytes of consecutive
// elements) per thread at a time, along whichever stride is 1. A slot the
// fast path allows is one 128-bit load kept in registers during the math
// (latency hidden); any other slot is read element by element and stored
// into the free buffer at once (the slow path).
//
//===----------------------------------------------------------------------===//
#include "Gemm.h"
#include "PTXLowering.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Error.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/IntrinsicsNVPTX.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <cstdlib>
#include <functional>

namespace thjit::codegen {

using llvm::Value;
using Path = GemmKernelSpec::Path;

namespace {

constexpr const char *kTriple = gpu::kNVPTXTriple;
constexpr unsigned kGlobal = 1; ///< address space of kernel pointers
constexpr unsigned kShared = 3; ///< address space of the tiles
constexpr int kThreads = 256;   ///< every path: 8 warps

/// Everything about a spec that is fixed when the kernel is generated.
struct Shape {
  int BM, BN, BK;
  int V;          ///< elements of T in 16 bytes (one slot)
  int smemBytes;  ///< sizeof(shared element): T, i16 (f16/bf16), i32 (tf32)
  // Tiled: the 16 x 16 threads each own H x H chunks of VL x VL results
  // (a W x W micro-tile, W = H * VL): chunk (h, h') of thread (ty, tx) is
  // rows ty * VL + h * BM / H, columns tx * VL + h' * BN / H, read from
  // shared memory VL at a time and written to C VL at a time.
  int VL = 0, H = 0;
  // TensorCore and TF32: the 2 x 4 warps each own MI x NJ mma tiles of
  // 16 x 8 (a warp tile of 16 MI x 8 NJ).
  int MI = 0, NJ = 0;
  // Shared tiles: element (r, c) of a tile (rows and columns as in global
  // memory: A is M x K, B is K x N) is at r * sr + c * sc of its buffer.
  // Rows are padded (ld > width) so that the reads of the compute loop do
  // not conflict on banks; ld stays a multiple of V for 16-byte stores.
  int aSr, aSc, aBuf; ///< A's strides and elements per buffer
  int bSr, bSc, bBuf;
};

Shape shapeOf(const GemmKernelSpec &spec) {
  Shape s{};
  switch (spec.path) {
  case Path::Tiled:
    if (spec.type != GemmType::Float32 && spec.type != GemmType::Float64)
      throw ValueError("the tiled GEMM kernel takes float32 or float64");
    s.smemBytes = spec.type == GemmType::Float32 ? 4 : 8;
    s.V = 16 / s.smemBytes;
    if (spec.small) {
      // 16 x 16 threads of 2 x 2 results: 32 x 32. A deeper K tile (as
      // many K as one slot per thread loads) halves or quarters the
      // barriers of a long K loop.
      s.VL = 2, s.H = 1;
      s.BK = kThreads * s.V / 32; // 32 (f32), 16 (f64)
    } else {
      // 16 x 16 threads of 2V x 2V: 128 x 128 (f32), 64 x 64 (f64).
      s.VL = s.V, s.H = 2;
      s.BK = 8;
    }
    s.BM = s.BN = 16 * s.H * s.VL;
    // A is stored k-major (As[k][m]) so that a thread reads its VL
    // consecutive rows with one shared load; B as Bs[k][n].
    s.aSr = 1, s.aSc = s.BM + s.V;
    s.bSr = s.BN + s.V, s.bSc = 1;
    s.aBuf = s.BK * s.aSc;
    s.bBuf = s.BK * s.bSr;
    break;
  case Path::TensorCore:
    if (spec.type != GemmType::Float16 && spec.type != GemmType::BFloat16)
      throw ValueError("the tensor-core GEMM kernel takes float16 or bfloat16");
    s.smemBytes = 2;
    s.V = 8;
    s.MI = s.NJ = spec.small ? 2 : 4;
    s.BM = 2 * 16 * s.MI, s.BN = 4 * 8 * s.NJ; // 128 x 128, small 64 x 64
    s.BK = 32;
    // As[m][k] for ldmatrix, Bs[k][n] for ldmatrix.trans. Row pitches of
    // 80 and 272 (small: 144) bytes put the 8 rows one ldmatrix phase
    // reads in 8 distinct groups of 4 banks.
    s.aSr = s.BK + 8, s.aSc = 1;
    s.bSr = s.BN + 8, s.bSc = 1;
    s.aBuf = s.BM * s.aSr;
    s.bBuf = s.BK * s.bSr;
    break;
  case Path::TF32:
    if (spec.type != GemmType::Float32)
      throw ValueError("the tf32 GEMM kernel takes float32");
    s.smemBytes = 4;
    s.V = 4;
    s.MI = s.NJ = spec.small ? 2 : 4;
    s.BM = 2 * 16 * s.MI, s.BN = 4 * 8 * s.NJ; // 128 x 128, small 64 x 64
    s.BK = 16;
    // As[m][k] and Bs[k][n] of tf32 bits. Fragments are read one word per
    // lane: A at (g, t) is bank 20g + t, B at (t, g) is bank 8t + g (mod
    // 32), both distinct over a warp.
    s.aSr = s.BK + 4, s.aSc = 1;
    s.bSr = s.BN + 8, s.bSc = 1;
    s.aBuf = s.BM * s.aSr;
    s.bBuf = s.BK * s.bSr;
    break;
  }
  return s;
}

int sharedBytesOf(const Shape &s) {
  return 2 * (s.aBuf + s.bBuf) * s.smemBytes; // two buffers of each
}

const char *typeName(GemmType t) {
  switch (t) {
  case GemmType::Float16:
    return "f16";
  case GemmType::BFloat16:
    return "bf16";
  case GemmType::Float32:
    return "f32";
  case GemmType::Float64:
    return "f64";
  }
  return "?";
}

/// One of A and B, as the tile loaders see it.
struct Operand {
  Value *ptr = nullptr;            ///< this batch's matrix (global)
  Value *rows = nullptr, *cols = nullptr;
  Value *rs = nullptr, *cs = nullptr;
  Value *colsMode = nullptr; ///< i1, uniform: cs == 1, slots run along columns
  Value *vecOK = nullptr;    ///< i1, uniform: in-bounds slots are one load
  int TR = 0, TC = 0;        ///< tile size
  int sr = 0, sc = 0, buf = 0;
  Value *smem = nullptr;     ///< buffer 0 (shared)
  /// The slots read whole, between global and shared memory, and which
  /// slots those are (i1 each).
  llvm::AllocaInst *stage = nullptr, *staged = nullptr;
};

class GemmEmitter {
public:
  GemmEmitter(llvm::Module &m, const GemmKernelSpec &spec)
      : m(m), ctx(m.getContext()), spec(spec), s(shapeOf(spec)), b(ctx) {}

  llvm::Function *emit(const std::string &name);

private:
  // Types.
  llvm::Type *memTy(); ///< T in global memory (i16 for f16/bf16)
  llvm::Type *smemTy();
  llvm::Type *accTy() {
    return spec.type == GemmType::Float64 ? b.getDoubleTy() : b.getFloatTy();
  }
  bool mma() const { return spec.path != Path::Tiled; }
  int slots() const { return s.BM * s.BK / (s.V * kThreads); } // same for B
  /// Accumulators per thread: the micro-tile, or 4 per mma tile.
  int numAcc() const { return mma() ? s.MI * s.NJ * 4 : s.H * s.VL * s.H * s.VL; }

  // Control flow (every helper leaves the builder after what it made).
  void loop(Value *start, Value *end, Value *step,
            const std::function<void(Value *)> &body, bool rolled = false);
  void ifThen(Value *cond, const std::function<void()> &then,
              const std::function<void()> &otherwise = nullptr);
  llvm::BasicBlock *block(const char *name) {
    return llvm::BasicBlock::Create(ctx, name, fn);
  }

  Value *sreg(llvm::Intrinsic::ID id) { return b.CreateIntrinsic(id, {}, {}); }
  Value *i32(int v) { return b.getInt32(v); }
  Value *i64(int64_t v) { return b.getInt64(v); }
  Value *ceilDiv(Value *x, int d) {
    return b.CreateAdd(b.CreateUDiv(x, i64(d)),
                       b.CreateZExt(b.CreateICmpNE(b.CreateURem(x, i64(d)), i64(0)),
                                    b.getInt64Ty()));
  }
  Value *allocaAt(llvm::AllocaInst *a, int i) {
    return b.CreateConstInBoundsGEP1_32(a->getAllocatedType()->getArrayElementType(),
                                        a, i);
  }
  llvm::AllocaInst *array(llvm::Type *t, int n, const char *name);

  // The pieces of the skeleton.
  void setupOperand(Operand &op, Value *rs, Value *cs, Value *batchStride);
  void tile(Value *tileM, Value *tileN);
  void loadGlobal(Operand &op, Value *r0, Value *c0, Value *buf);
  void loadGlobalMode(Operand &op, Value *r0, Value *c0, Value *buf, bool colsMode);
  std::pair<Value *, Value *> slotOrigin(Operand &op, int j, bool colsMode);
  Value *toShared(Value *x); ///< a loaded element as stored in shared memory
  /// One slot in registers: 16 bytes as <4 x i32> (16-bit T), else <V x T>.
  llvm::Type *slotTy() {
    if (memTy()->isIntegerTy(16))
      return llvm::FixedVectorType::get(b.getInt32Ty(), 4);
    return llvm::FixedVectorType::get(memTy(), s.V);
  }
  void storeShared(Operand &op, Value *buf);
  void storeSharedMode(Operand &op, Value *buf, bool colsMode);
  void computeTiled(Value *buf);
  void computeMMA(Value *buf);
  void epilogueTiled(Value *m0, Value *n0, bool readC);
  void epilogueMMA(Value *m0, Value *n0, bool readC);
  /// alpha * acc (+ beta * c, c in registers as accTy) rounded to T.
  Value *result(Value *acc, Value *c);
  Value *loadC(Value *ptr);         ///< one element of C, as accTy
  void storeC(Value *v, Value *ptr); ///< v (accTy) stored as T
  Value *cPtr(Value *gm, Value *gn) {
    return b.CreateGEP(memTy(), C, b.CreateAdd(b.CreateMul(gm, ldcR),
                                                b.CreateMul(gn, ldcC)));
  }
  /// Element (gm, gn) of C_in, which beta scales.
  Value *cInPtr(Value *gm, Value *gn) {
    return b.CreateGEP(memTy(), Cin, b.CreateAdd(b.CreateMul(gm, ldciR),
                                                  b.CreateMul(gn, ldciC)));
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  GemmKernelSpec spec;
  Shape s;
  llvm::IRBuilder<> b;
  llvm::Function *fn = nullptr;

  // Kernel-wide values.
  Value *M = nullptr, *N = nullptr, *K = nullptr;
  Value *ldcR = nullptr, *ldcC = nullptr, *alpha = nullptr, *beta = nullptr;
  Value *C = nullptr;      ///< this batch's C
  Value *Cin = nullptr, *ldciR = nullptr, *ldciC = nullptr; ///< this batch's C_in
  Value *cVecOK = nullptr; ///< Tiled: C's rows allow VL-element accesses
  Value *cInVecOK = nullptr; ///< Tiled: and C_in's, or C_in is not read
  Value *numKT = nullptr;  ///< K tiles to multiply (0 when alpha == 0)
  Value *betaNZ = nullptr;
  Value *tid = nullptr;    ///< i32
  Operand A, B;
  llvm::AllocaInst *acc = nullptr;
};

llvm::Type *GemmEmitter::memTy() {
  switch (spec.type) {
  case GemmType::Float16:
  case GemmType::BFloat16:
    return b.getInt16Ty(); // raw bits: the tiles only move them
  case GemmType::Float32:
    return b.getFloatTy();
  case GemmType::Float64:
    return b.getDoubleTy();
  }
  return nullptr;
}

llvm::Type *GemmEmitter::smemTy() {
  return spec.path == Path::TF32 ? b.getInt32Ty() : memTy();
}

llvm::AllocaInst *GemmEmitter::array(llvm::Type *t, int n, const char *name) {
  // In the entry block, indexed by constants only: SROA makes registers.
  llvm::IRBuilder<> eb(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  return eb.CreateAlloca(llvm::ArrayType::get(t, n), nullptr, name);
}

void GemmEmitter::loop(Value *start, Value *end, Value *step,
                       const std::function<void(Value *)> &body, bool rolled) {
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *head = block("loop"), *exit = block("loop.exit");
  b.CreateCondBr(b.CreateICmpSLT(start, end), head, exit);
  b.SetInsertPoint(head);
  llvm::PHINode *i = b.CreatePHI(start->getType(), 2);
  i->addIncoming(start, pre);
  body(i);
  Value *next = b.CreateAdd(i, step);
  i->addIncoming(next, b.GetInsertBlock());
  llvm::BranchInst *br = b.CreateCondBr(b.CreateICmpSLT(next, end), head, exit);
  if (rolled) {
    // !{!self, !{"llvm.loop.unroll.disable"}}
    llvm::MDNode *disable = llvm::MDNode::get(
        ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")});
    llvm::MDNode *id = llvm::MDNode::getDistinct(ctx, {nullptr, disable});
    id->replaceOperandWith(0, id);
    br->setMetadata(llvm::LLVMContext::MD_loop, id);
  }
  b.SetInsertPoint(exit);
}

void GemmEmitter::ifThen(Value *cond, const std::function<void()> &then,
                         const std::function<void()> &otherwise) {
  llvm::BasicBlock *t = block("then"), *join = block("join");
  llvm::BasicBlock *e = otherwise ? block("else") : join;
  b.CreateCondBr(cond, t, e);
  b.SetInsertPoint(t);
  then();
  b.CreateBr(join);
  if (otherwise) {
    b.SetInsertPoint(e);
    otherwise();
    b.CreateBr(join);
  }
  b.SetInsertPoint(join);
}

/// The uniform flags of an operand's fast path (see Gemm.h).
void GemmEmitter::setupOperand(Operand &op, Value *rs, Value *cs,
                               Value *batchStride) {
  op.rs = rs;
  op.cs = cs;
  Value *one = i64(1), *zero = i64(0), *v = i64(s.V);
  op.colsMode = b.CreateICmpEQ(cs, one);
  Value *rowsVec = b.CreateAnd(b.CreateICmpEQ(rs, one),
                               b.CreateICmpEQ(b.CreateSRem(cs, v), zero));
  Value *colsVec = b.CreateICmpEQ(b.CreateSRem(rs, v), zero);
  Value *ok = b.CreateSelect(op.colsMode, colsVec, rowsVec);
  Value *addr = b.CreatePtrToInt(op.ptr, b.getInt64Ty());
  ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateAnd(addr, i64(15)), zero));
  if (batchStride)
    ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(batchStride, v), zero));
  op.vecOK = ok;
}

/// Starts loading the tile of `op` at (r0, c0) for shared buffer `buf`
/// (i32, 0 or 1): zero outside the matrix. Slots run along columns when
/// cs == 1, else along rows. A whole slot the fast path allows is one
/// 16-byte load into op.stage, stored by storeShared after the math; any
/// other slot is read element by element and stored into `buf` at once
/// (the buffer is free: see the file comment).
void GemmEmitter::loadGlobal(Operand &op, Value *r0, Value *c0, Value *buf) {
  ifThen(op.colsMode, [&] { loadGlobalMode(op, r0, c0, buf, true); },
         [&] { loadGlobalMode(op, r0, c0, buf, false); });
}

/// Slot j's first element (r, c) in the tile, as i32.
std::pair<Value *, Value *> GemmEmitter::slotOrigin(Operand &op, int j,
                                                    bool colsMode) {
  const int per = colsMode ? op.TC / s.V : op.TR / s.V; // slots per tile line
  Value *slot = b.CreateAdd(tid, i32(j * kThreads));
  Value *line = b.CreateUDiv(slot, i32(per));
  Value *at = b.CreateMul(b.CreateURem(slot, i32(per)), i32(s.V));
  return colsMode ? std::make_pair(line, at) : std::make_pair(at, line);
}

Value *GemmEmitter::toShared(Value *x) {
  if (spec.path == Path::TF32) // round to tf32 once, here
    return b.CreateIntrinsic(llvm::Intrinsic::nvvm_f2tf32_rna, {}, {x});
  return x;
}

void GemmEmitter::loadGlobalMode(Operand &op, Value *r0, Value *c0, Value *buf,
                                 bool colsMode) {
  const int V = s.V;
  llvm::Type *T = memTy(), *E = smemTy();
  const int dr = colsMode ? 0 : 1, dc = colsMode ? 1 : 0;
  Value *sbase = b.CreateGEP(E, op.smem, b.CreateMul(buf, i32(op.buf)));
  for (int j = 0; j < slots(); ++j) {
    auto [r, c] = slotOrigin(op, j, colsMode);
    Value *gr = b.CreateAdd(r0, b.CreateZExt(r, b.getInt64Ty()));
    Value *gc = b.CreateAdd(c0, b.CreateZExt(c, b.getInt64Ty()));
    Value *whole = b.CreateAnd(b.CreateICmpSLT(b.CreateAdd(gr, i64((V - 1) * dr)), op.rows),
                               b.CreateICmpSLT(b.CreateAdd(gc, i64((V - 1) * dc)), op.cols));
    Value *vec = b.CreateAnd(op.vecOK, whole);
    b.CreateStore(vec, allocaAt(op.staged, j));
    ifThen(
        vec,
        [&] {
          // 16 bytes at once; the conditions make the address 16-aligned.
          Value *p = b.CreateGEP(T, op.ptr, b.CreateAdd(b.CreateMul(gr, op.rs),
                                                         b.CreateMul(gc, op.cs)));
          b.CreateStore(b.CreateAlignedLoad(slotTy(), p, llvm::Align(16)),
                        allocaAt(op.stage, j));
        },
        [&] {
          // Element by element, in a loop kept rolled: unrolled, LLVM
          // would keep every element's address live across the K loop. An
          // element outside the matrix reads element (0, 0), which exists
          // whenever a tile is loaded, and is replaced by 0.
          loop(i64(0), i64(V), i64(1), [&](Value *v) {
            Value *er = b.CreateAdd(gr, b.CreateMul(v, i64(dr)));
            Value *ec = b.CreateAdd(gc, b.CreateMul(v, i64(dc)));
            Value *in = b.CreateAnd(b.CreateICmpSLT(er, op.rows),
                                    b.CreateICmpSLT(ec, op.cols));
            Value *p = b.CreateGEP(T, op.ptr, b.CreateAdd(b.CreateMul(er, op.rs),
                                                           b.CreateMul(ec, op.cs)));
            Value *x = b.CreateLoad(T, b.CreateSelect(in, p, op.ptr));
            x = b.CreateSelect(in, x, llvm::Constant::getNullValue(T));
            Value *v32 = b.CreateTrunc(v, b.getInt32Ty());
            Value *rr = b.CreateAdd(r, b.CreateMul(v32, i32(dr)));
            Value *cc = b.CreateAdd(c, b.CreateMul(v32, i32(dc)));
            b.CreateStore(toShared(x),
                          b.CreateInBoundsGEP(E, sbase, b.CreateAdd(b.CreateMul(rr, i32(op.sr)),
                                                                    b.CreateMul(cc, i32(op.sc)))));
          }, /*rolled=*/true);
        });
  }
}

/// Stores the slots loadGlobal left in op.stage into shared buffer `buf`.
void GemmEmitter::storeShared(Operand &op, Value *buf) {
  ifThen(op.colsMode, [&] { storeSharedMode(op, buf, true); },
         [&] { storeSharedMode(op, buf, false); });
}

void GemmEmitter::storeSharedMode(Operand &op, Value *buf, bool colsMode) {
  const int V = s.V;
  llvm::Type *E = smemTy();
  const int dr = colsMode ? 0 : 1, dc = colsMode ? 1 : 0;
  // The slot is contiguous in shared memory too when its direction has
  // shared stride 1: one 16-byte store.
  const bool vector = (colsMode ? op.sc : op.sr) == 1;
  Value *base = b.CreateGEP(E, op.smem, b.CreateMul(buf, i32(op.buf)));
  for (int j = 0; j < slots(); ++j) {
    auto [r, c] = slotOrigin(op, j, colsMode);
    ifThen(b.CreateLoad(b.getInt1Ty(), allocaAt(op.staged, j)), [&] {
      Value *vec = b.CreateBitCast(b.CreateLoad(slotTy(), allocaAt(op.stage, j)),
                                   llvm::FixedVectorType::get(memTy(), V));
      std::vector<Value *> xs;
      for (int v = 0; v < V; ++v)
        xs.push_back(toShared(b.CreateExtractElement(vec, v)));
      auto at = [&](int v) {
        Value *rr = b.CreateAdd(r, i32(v * dr)), *cc = b.CreateAdd(c, i32(v * dc));
        return b.CreateInBoundsGEP(E, base, b.CreateAdd(b.CreateMul(rr, i32(op.sr)),
                                                        b.CreateMul(cc, i32(op.sc))));
      };
      if (vector) {
        Value *out = llvm::PoisonValue::get(llvm::FixedVectorType::get(E, V));
        for (int v = 0; v < V; ++v)
          out = b.CreateInsertElement(out, xs[v], v);
        b.CreateAlignedStore(b.CreateBitCast(out, slotTy()), at(0), llvm::Align(16));
      } else {
        for (int v = 0; v < V; ++v)
          b.CreateStore(xs[v], at(v));
      }
    });
  }
}

/// One K tile on the CUDA cores: thread (ty, tx) of 16 x 16 owns rows
/// {h * BM/H + ty*VL + i} and columns {h * BN/H + tx*VL + j}, h < H,
/// i, j < VL, so that its operands are 2H shared loads of VL elements per
/// k (16 bytes each in the large kernels).
void GemmEmitter::computeTiled(Value *buf) {
  const int VL = s.VL, H = s.H, W = H * VL;
  llvm::Type *T = memTy();
  llvm::Type *vt = llvm::FixedVectorType::get(T, VL);
  Value *ty = b.CreateUDiv(tid, i32(16)), *tx = b.CreateURem(tid, i32(16));
  Value *aBase = b.CreateGEP(T, A.smem, b.CreateMul(buf, i32(A.buf)));
  Value *bBase = b.CreateGEP(T, B.smem, b.CreateMul(buf, i32(B.buf)));
  std::vector<Value *> c(W * W);
  for (int e = 0; e < W * W; ++e)
    c[e] = b.CreateLoad(T, allocaAt(acc, e));
  // Every pitch and chunk offset is a multiple of VL, and the buffers are
  // 16-byte aligned: each load is aligned to its size.
  const llvm::Align align(VL * s.smemBytes);
  auto frag = [&](Value *base, int pitch, int chunk, Value *t, int k) {
    std::vector<Value *> r;
    for (int h = 0; h < H; ++h) {
      Value *idx = b.CreateAdd(b.CreateMul(t, i32(VL)), i32(k * pitch + h * chunk));
      Value *vec = b.CreateAlignedLoad(vt, b.CreateInBoundsGEP(T, base, idx), align);
      for (int v = 0; v < VL; ++v)
        r.push_back(b.CreateExtractElement(vec, v));
    }
    return r;
  };
  for (int k = 0; k < s.BK; ++k) {
    std::vector<Value *> a = frag(aBase, A.sc, s.BM / H, ty, k);
    std::vector<Value *> bb = frag(bBase, B.sr, s.BN / H, tx, k);
    for (int i = 0; i < W; ++i)
      for (int j = 0; j < W; ++j)
        c[i * W + j] = b.CreateIntrinsic(llvm::Intrinsic::fma, {T},
                                         {a[i], bb[j], c[i * W + j]});
  }
  for (int e = 0; e < W * W; ++e)
    b.CreateStore(c[e], allocaAt(acc, e));
}

/// One K tile on the tensor cores. Warp w (of 2 x 4) owns the 16 MI x 8 NJ
/// block of rows (w / 4) * 16 MI and columns (w % 4) * 8 NJ: MI x NJ mma
/// tiles of 16 x 8 (4 x 4 in the large kernels, 64 x 32), 4 accumulators
/// each (acc index (i * NJ + j) * 4 + q).
void GemmEmitter::computeMMA(Value *buf) {
  llvm::Type *E = smemTy();
  const int MI = s.MI, NJ = s.NJ;
  Value *warp = b.CreateUDiv(tid, i32(32)), *lane = b.CreateURem(tid, i32(32));
  Value *wm = b.CreateMul(b.CreateUDiv(warp, i32(4)), i32(16 * MI));
  Value *wn = b.CreateMul(b.CreateURem(warp, i32(4)), i32(8 * NJ));
  Value *aBase = b.CreateGEP(E, A.smem, b.CreateMul(buf, i32(A.buf)));
  Value *bBase = b.CreateGEP(E, B.smem, b.CreateMul(buf, i32(B.buf)));
  auto at = [&](Value *base, int pitch, Value *r, Value *c) {
    return b.CreateInBoundsGEP(E, base, b.CreateAdd(b.CreateMul(r, i32(pitch)), c));
  };
  std::vector<Value *> c(MI * NJ * 4);
  for (size_t e = 0; e < c.size(); ++e)
    c[e] = b.CreateLoad(b.getFloatTy(), allocaAt(acc, e));

  const bool tf32 = spec.path == Path::TF32;
  const int kStep = tf32 ? 8 : 16;
  llvm::Intrinsic::ID mmaId =
      tf32 ? llvm::Intrinsic::nvvm_mma_m16n8k8_row_col_tf32
      : spec.type == GemmType::Float16 ? llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_f32_f32
                                       : llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_bf16;
  // f16 fragments are <2 x half>; bf16 and tf32 ones are i32.
  llvm::Type *fragTy = spec.type == GemmType::Float16
                           ? (llvm::Type *)llvm::FixedVectorType::get(b.getHalfTy(), 2)
                           : b.getInt32Ty();
  Value *g = b.CreateUDiv(lane, i32(4)), *t = b.CreateURem(lane, i32(4));
  // ldmatrix: lane l gives the address of row l % 16, column (l / 16) * 8.
  Value *lrow = b.CreateURem(lane, i32(16));
  Value *lcol = b.CreateMul(b.CreateUDiv(lane, i32(16)), i32(8));
  for (int k = 0; k < s.BK; k += kStep) {
    std::vector<std::vector<Value *>> af(MI), bf(NJ);
    if (tf32) {
      // A (16 x 8): a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4);
      // B (8 x 8): b0 (t, g), b1 (t + 4, g).
      for (int i = 0; i < MI; ++i) {
        Value *row = b.CreateAdd(wm, b.CreateAdd(g, i32(i * 16)));
        Value *col = b.CreateAdd(t, i32(k));
        for (int q = 0; q < 4; ++q)
          af[i].push_back(b.CreateLoad(
              E, at(aBase, A.sr, b.CreateAdd(row, i32(q % 2 * 8)),
                    b.CreateAdd(col, i32(q / 2 * 4)))));
      }
      for (int j = 0; j < NJ; ++j) {
        Value *col = b.CreateAdd(wn, b.CreateAdd(g, i32(j * 8)));
        for (int q = 0; q < 2; ++q)
          bf[j].push_back(b.CreateLoad(
              E, at(bBase, B.sr, b.CreateAdd(t, i32(k + q * 4)), col)));
      }
    } else {
      // A (16 x 16) is ldmatrix.x4's four 8 x 8 matrices in a0..a3 order:
      // rows 0-7 / 8-15 by lane % 16, columns 0-7 / 8-15 by lane / 16.
      auto regs = [&](Value *call, std::vector<Value *> &out) {
        for (int q = 0; q < 4; ++q)
          out.push_back(b.CreateExtractValue(call, q));
      };
      for (int i = 0; i < MI; ++i) {
        Value *p = at(aBase, A.sr, b.CreateAdd(wm, b.CreateAdd(lrow, i32(i * 16))),
                      b.CreateAdd(lcol, i32(k)));
        regs(b.CreateIntrinsic(llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_b16,
                               {p->getType()}, {p}),
             af[i]);
      }
      // B (16 x 16, two n8 tiles) from Bs[k][n] transposed: matrices
      // (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
      // are b0, b1 of tile 2jj, then b0, b1 of tile 2jj + 1.
      for (int jj = 0; jj < NJ / 2; ++jj) {
        Value *p = at(bBase, B.sr, b.CreateAdd(lrow, i32(k)),
                      b.CreateAdd(wn, b.CreateAdd(lcol, i32(jj * 16))));
        std::vector<Value *> r;
        regs(b.CreateIntrinsic(
                 llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_trans_b16,
                 {p->getType()}, {p}),
             r);
        bf[2 * jj] = {r[0], r[1]};
        bf[2 * jj + 1] = {r[2], r[3]};
      }
    }
    for (int i = 0; i < MI; ++i)
      for (int j = 0; j < NJ; ++j) {
        std::vector<Value *> args;
        for (Value *x : af[i])
          args.push_back(b.CreateBitCast(x, fragTy));
        for (Value *x : bf[j])
          args.push_back(b.CreateBitCast(x, fragTy));
        for (int q = 0; q < 4; ++q)
          args.push_back(c[(i * NJ + j) * 4 + q]);
        Value *d = b.CreateIntrinsic(mmaId, {}, args);
        for (int q = 0; q < 4; ++q)
          c[(i * NJ + j) * 4 + q] = b.CreateExtractValue(d, q);
      }
  }
  for (size_t e = 0; e < c.size(); ++e)
    b.CreateStore(c[e], allocaAt(acc, e));
}

Value *GemmEmitter::loadC(Value *ptr) {
  switch (spec.type) {
  case GemmType::Float16:
    return b.CreateFPExt(b.CreateLoad(b.getHalfTy(), ptr), b.getFloatTy());
  case GemmType::BFloat16: {
    // bfloat16 is the high half of a float: exact.
    Value *bits = b.CreateZExt(b.CreateLoad(b.getInt16Ty(), ptr), b.getInt32Ty());
    return b.CreateBitCast(b.CreateShl(bits, 16), b.getFloatTy());
  }
  default:
    return b.CreateLoad(memTy(), ptr);
  }
}

void GemmEmitter::storeC(Value *v, Value *ptr) {
  switch (spec.type) {
  case GemmType::Float16:
    b.CreateStore(b.CreateFPTrunc(v, b.getHalfTy()), ptr); // cvt.rn.f16.f32
    return;
  case GemmType::BFloat16:
    b.CreateStore(b.CreateFPTrunc(v, b.getBFloatTy()), ptr); // cvt.rn.bf16.f32
    return;
  default:
    b.CreateStore(v, ptr);
  }
}

Value *GemmEmitter::result(Value *a, Value *c) {
  Value *r = b.CreateFMul(alpha, a);
  if (c)
    r = b.CreateIntrinsic(llvm::Intrinsic::fma, {accTy()}, {beta, c, r});
  return r;
}

/// C for the thread's micro-tile (computeTiled's rows and columns): VL
/// elements at a time where C and C_in allow it (cVecOK, cInVecOK), else
/// element by element.
void GemmEmitter::epilogueTiled(Value *m0, Value *n0, bool readC) {
  const int V = s.VL, H = s.H, W = H * V;
  llvm::Type *T = memTy();
  llvm::Type *vt = llvm::FixedVectorType::get(T, V);
  const llvm::Align align(V * s.smemBytes);
  Value *ty = b.CreateZExt(b.CreateUDiv(tid, i32(16)), b.getInt64Ty());
  Value *tx = b.CreateZExt(b.CreateURem(tid, i32(16)), b.getInt64Ty());
  for (int i = 0; i < W; ++i) {
    Value *gm = b.CreateAdd(m0, b.CreateAdd(b.CreateMul(ty, i64(V)),
                                            i64(i / V * (s.BM / H) + i % V)));
    Value *rowIn = b.CreateICmpSLT(gm, M);
    for (int h = 0; h < H; ++h) {
      Value *gn = b.CreateAdd(n0, b.CreateAdd(b.CreateMul(tx, i64(V)), i64(h * (s.BN / H))));
      Value *whole = b.CreateAnd(rowIn, b.CreateICmpSLT(b.CreateAdd(gn, i64(V - 1)), N));
      auto elem = [&](int v) { return allocaAt(acc, i * W + h * V + v); };
      ifThen(
          b.CreateAnd(b.CreateAnd(cVecOK, cInVecOK), whole),
          [&] {
            Value *p = cPtr(gm, gn);
            Value *cv = readC ? b.CreateAlignedLoad(vt, cInPtr(gm, gn), align) : nullptr;
            Value *out = llvm::PoisonValue::get(vt);
            for (int v = 0; v < V; ++v)
              out = b.CreateInsertElement(
                  out, result(b.CreateLoad(T, elem(v)),
                              cv ? b.CreateExtractElement(cv, v) : nullptr), v);
            b.CreateAlignedStore(out, p, align);
          },
          [&] {
            for (int v = 0; v < V; ++v) {
              Value *e = b.CreateAdd(gn, i64(v));
              ifThen(b.CreateAnd(rowIn, b.CreateICmpSLT(e, N)), [&] {
                Value *p = cPtr(gm, e);
                storeC(result(b.CreateLoad(T, elem(v)), readC ? loadC(cInPtr(gm, e)) : nullptr),
                       p);
              });
            }
          });
    }
  }
}

/// C for the thread's mma accumulators: accumulator q of tile (i, j) is
/// row wm + 16i + g + 8(q / 2), column wn + 8j + 2t + q % 2.
void GemmEmitter::epilogueMMA(Value *m0, Value *n0, bool readC) {
  const int MI = s.MI, NJ = s.NJ;
  Value *warp = b.CreateUDiv(tid, i32(32)), *lane = b.CreateURem(tid, i32(32));
  auto wide = [&](Value *v) { return b.CreateZExt(v, b.getInt64Ty()); };
  Value *rowBase = b.CreateAdd(
      m0, wide(b.CreateAdd(b.CreateMul(b.CreateUDiv(warp, i32(4)), i32(16 * MI)),
                           b.CreateUDiv(lane, i32(4)))));
  Value *colBase = b.CreateAdd(
      n0, wide(b.CreateAdd(b.CreateMul(b.CreateURem(warp, i32(4)), i32(8 * NJ)),
                           b.CreateMul(b.CreateURem(lane, i32(4)), i32(2)))));
  for (int i = 0; i < MI; ++i)
    for (int j = 0; j < NJ; ++j)
      for (int q = 0; q < 4; ++q) {
        Value *gm = b.CreateAdd(rowBase, i64(i * 16 + q / 2 * 8));
        Value *gn = b.CreateAdd(colBase, i64(j * 8 + q % 2));
        ifThen(b.CreateAnd(b.CreateICmpSLT(gm, M), b.CreateICmpSLT(gn, N)), [&] {
          Value *p = cPtr(gm, gn);
          Value *a = b.CreateLoad(b.getFloatTy(), allocaAt(acc, (i * NJ + j) * 4 + q));
          // C_in at C's strides: its own would take registers the mma
          // kernels do not have to spare (ptxas would spill).
          Value *in = b.CreateGEP(memTy(), Cin, b.CreateAdd(b.CreateMul(gm, ldcR),
                                                             b.CreateMul(gn, ldcC)));
          storeC(result(a, readC ? loadC(in) : nullptr), p);
        });
      }
}

/// One tile of C: the K loop, double-buffered, then the epilogue.
void GemmEmitter::tile(Value *tileM, Value *tileN) {
  Value *m0 = b.CreateMul(tileM, i64(s.BM)), *n0 = b.CreateMul(tileN, i64(s.BN));
  for (int e = 0; e < numAcc(); ++e)
    b.CreateStore(llvm::ConstantFP::get(accTy(), 0.0), allocaAt(acc, e));
  // Origins of K tile kt: A at (m0, kt * BK), B at (kt * BK, n0).
  auto load = [&](Value *kt, Value *buf) {
    Value *k0 = b.CreateMul(kt, i64(s.BK));
    loadGlobal(A, m0, k0, buf);
    loadGlobal(B, k0, n0, buf);
  };
  auto store = [&](Value *buf) {
    storeShared(A, buf);
    storeShared(B, buf);
  };
  auto barrier = [&] { b.CreateIntrinsic(llvm::Intrinsic::nvvm_barrier0, {}, {}); };
  ifThen(b.CreateICmpSGT(numKT, i64(0)), [&] {
    load(i64(0), i32(0));
    store(i32(0));
    barrier();
    loop(i64(0), numKT, i64(1), [&](Value *kt) {
      Value *buf = b.CreateTrunc(b.CreateAnd(kt, i64(1)), b.getInt32Ty());
      Value *next = b.CreateAdd(kt, i64(1));
      Value *more = b.CreateICmpSLT(next, numKT);
      Value *other = b.CreateXor(buf, i32(1));
      ifThen(more, [&] { load(next, other); }); // in flight during the math
      if (mma())
        computeMMA(buf);
      else
        computeTiled(buf);
      ifThen(more, [&] { store(other); });
      barrier();
    });
  });
  auto epilogue = [&](bool readC) {
    if (mma())
      epilogueMMA(m0, n0, readC);
    else
      epilogueTiled(m0, n0, readC);
  };
  ifThen(betaNZ, [&] { epilogue(true); }, [&] { epilogue(false); });
}

llvm::Function *GemmEmitter::emit(const std::string &name) {
  llvm::Type *gptr = llvm::PointerType::get(ctx, kGlobal);
  llvm::Type *i64t = b.getInt64Ty();
  std::vector<llvm::Type *> params{gptr, gptr, gptr};
  params.insert(params.end(), 9, i64t); // M N K, then 6 strides
  params.insert(params.end(), 2, accTy()); // alpha, beta
  if (spec.batched)
    params.insert(params.end(), 4, i64t); // batch, 3 batch strides
  params.push_back(gptr);                 // C_in
  params.insert(params.end(), spec.batched ? 3 : 2, i64t); // its strides
  fn = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), params, false),
                              llvm::Function::ExternalLinkage, name, &m);
  fn->setCallingConv(llvm::CallingConv::PTX_Kernel);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  const unsigned cInArg = spec.batched ? 18 : 14;
  for (unsigned p : {0u, 1u, 2u, cInArg}) {
    fn->addParamAttr(p, llvm::Attribute::NoAlias);
    if (p != 2)
      fn->addParamAttr(p, llvm::Attribute::ReadOnly); // ld.global.nc
  }
  static const char *names[] = {"A", "B", "C", "M", "N", "K", "lda_r", "lda_c",
                                "ldb_r", "ldb_c", "ldc_r", "ldc_c", "alpha",
                                "beta", "batch", "stride_a", "stride_b", "stride_c"};
  static const char *cInNames[] = {"C_in", "ldci_r", "ldci_c", "stride_ci"};
  for (unsigned p = 0; p < fn->arg_size(); ++p)
    fn->getArg(p)->setName(p < cInArg ? names[p] : cInNames[p - cInArg]);
  // The block size, for ptxas's register allocation (.maxntid).
  llvm::NamedMDNode *ann = m.getOrInsertNamedMetadata("nvvm.annotations");
  ann->addOperand(llvm::MDNode::get(
      ctx, {llvm::ValueAsMetadata::get(fn), llvm::MDString::get(ctx, "maxntidx"),
            llvm::ConstantAsMetadata::get(b.getInt32(kThreads))}));
  // Small tiles run when there are fewer than 2 blocks per multiprocessor
  // (Gemm.h): ask for registers that let 2 blocks share one
  // (.minnctapersm 2: at most 128 a thread). Without it ptxas 13 gives
  // the f64 kernel for sm_90 64 registers and a spill.
  if (spec.small)
    ann->addOperand(llvm::MDNode::get(
        ctx, {llvm::ValueAsMetadata::get(fn), llvm::MDString::get(ctx, "minctasm"),
              llvm::ConstantAsMetadata::get(b.getInt32(2))}));

  // The tiles, in static shared memory (16-byte aligned for vector and
  // ldmatrix accesses): A's two buffers, then B's.
  auto *smemTyArr = llvm::ArrayType::get(b.getInt8Ty(), sharedBytesOf(s));
  auto *smem = new llvm::GlobalVariable(
      m, smemTyArr, false, llvm::GlobalValue::InternalLinkage,
      llvm::UndefValue::get(smemTyArr), name + "_smem", nullptr,
      llvm::GlobalValue::NotThreadLocal, kShared);
  smem->setAlignment(llvm::Align(16));

  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  Value *a = fn->getArg(0), *bp = fn->getArg(1);
  C = fn->getArg(2);
  M = fn->getArg(3), N = fn->getArg(4), K = fn->getArg(5);
  ldcR = fn->getArg(10), ldcC = fn->getArg(11);
  alpha = fn->getArg(12), beta = fn->getArg(13);
  Value *batch = spec.batched ? fn->getArg(14) : nullptr;
  Value *strideA = spec.batched ? fn->getArg(15) : nullptr;
  Value *strideB = spec.batched ? fn->getArg(16) : nullptr;
  Value *strideC = spec.batched ? fn->getArg(17) : nullptr;
  Cin = fn->getArg(cInArg);
  ldciR = fn->getArg(cInArg + 1), ldciC = fn->getArg(cInArg + 2);
  Value *strideCi = spec.batched ? fn->getArg(cInArg + 3) : nullptr;

  tid = sreg(llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x);
  acc = array(accTy(), numAcc(), "acc");
  A.ptr = a, B.ptr = bp;
  A.rows = M, A.cols = K, A.TR = s.BM, A.TC = s.BK;
  B.rows = K, B.cols = N, B.TR = s.BK, B.TC = s.BN;
  A.sr = s.aSr, A.sc = s.aSc, A.buf = s.aBuf;
  B.sr = s.bSr, B.sc = s.bSc, B.buf = s.bBuf;
  A.smem = smem;
  B.smem = b.CreateConstInBoundsGEP1_32(b.getInt8Ty(), smem, 2 * s.aBuf * s.smemBytes);
  A.stage = array(slotTy(), slots(), "stageA");
  B.stage = array(slotTy(), slots(), "stageB");
  A.staged = array(b.getInt1Ty(), slots(), "stagedA");
  B.staged = array(b.getInt1Ty(), slots(), "stagedB");
  setupOperand(A, fn->getArg(6), fn->getArg(7), strideA);
  setupOperand(B, fn->getArg(8), fn->getArg(9), strideB);
  betaNZ = b.CreateFCmpUNE(beta, llvm::ConstantFP::get(accTy(), 0.0));
  if (!mma()) {
    // C and C_in are accessed VL elements at a time (16 bytes in the large
    // kernels) where their rows allow it.
    Value *zero = i64(0), *v = i64(s.VL);
    auto vectorRows = [&](Value *ptr, Value *ldR, Value *ldC, Value *strideZ) {
      Value *ok = b.CreateAnd(b.CreateICmpEQ(ldC, i64(1)),
                              b.CreateICmpEQ(b.CreateSRem(ldR, v), zero));
      ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(ptr, i64t),
                                                      i64(s.VL * s.smemBytes - 1)),
                                          zero));
      if (strideZ)
        ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(strideZ, v), zero));
      return ok;
    };
    cVecOK = vectorRows(C, ldcR, ldcC, strideC);
    cInVecOK = b.CreateOr(b.CreateNot(betaNZ), vectorRows(Cin, ldciR, ldciC, strideCi));
  }
  // As reference BLAS: alpha == 0 reads neither A nor B.
  Value *alphaZ = b.CreateFCmpOEQ(alpha, llvm::ConstantFP::get(accTy(), 0.0));
  numKT = b.CreateSelect(alphaZ, i64(0), ceilDiv(K, s.BK));
  // No product (K == 0 or alpha == 0) is 0, even for an infinite alpha.
  alpha = b.CreateSelect(b.CreateICmpEQ(numKT, i64(0)),
                         llvm::ConstantFP::get(accTy(), 0.0), alpha);

  Value *tilesM = ceilDiv(M, s.BM), *tilesN = ceilDiv(N, s.BN);
  auto wide = [&](llvm::Intrinsic::ID id) { return b.CreateZExt(sreg(id), i64t); };
  // One tile per block: (x, y, z) = (tile column, tile row, product).
  // No loop around the tile: LLVM would hoist every thread-invariant
  // address of the epilogue above it, live through the K loop.
  Value *tn = wide(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x);
  Value *tm = wide(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_y);
  Value *inGrid = b.CreateAnd(b.CreateICmpULT(tn, tilesN), b.CreateICmpULT(tm, tilesM));
  Value *z = nullptr;
  if (spec.batched) {
    z = wide(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_z);
    inGrid = b.CreateAnd(inGrid, b.CreateICmpULT(z, batch));
  }
  // Uniform over the block: a block past the edge has no barrier to meet.
  ifThen(inGrid, [&] {
    if (spec.batched) {
      A.ptr = b.CreateGEP(memTy(), a, b.CreateMul(z, strideA));
      B.ptr = b.CreateGEP(memTy(), bp, b.CreateMul(z, strideB));
      C = b.CreateGEP(memTy(), fn->getArg(2), b.CreateMul(z, strideC));
      Cin = b.CreateGEP(memTy(), fn->getArg(cInArg), b.CreateMul(z, strideCi));
    }
    tile(tm, tn);
  });
  b.CreateRetVoid();
  b.ClearInsertionPoint();
  return fn;
}

using gpu::nvptxTarget;
using gpu::targetMachine;

} // namespace

GemmTiling gemmTiling(const GemmKernelSpec &spec) {
  Shape s = shapeOf(spec);
  return {s.BM, s.BN, s.BK, kThreads, sharedBytesOf(s)};
}

std::string gemmKernelName(const GemmKernelSpec &spec) {
  std::string n = std::string("thjit_gemm_") + typeName(spec.type);
  n += spec.path == Path::Tiled ? "_tiled" : spec.path == Path::TF32 ? "_tf32" : "_mma";
  if (spec.batched)
    n += "_batched";
  return spec.small ? n + "_small" : n;
}

GemmType gemmTypeOf(DType t) {
  switch (t) {
  case DType::Float16:
    return GemmType::Float16;
  case DType::Float32:
    return GemmType::Float32;
  case DType::Float64:
    return GemmType::Float64;
  default:
    throw ValueError(std::string("no GPU matrix product for ") + dtypeName(t));
  }
}

llvm::Function *emitGemmKernel(llvm::Module &m, const std::string &name,
                               const GemmKernelSpec &spec, GPUKernel &info) {
  GemmEmitter em(m, spec); // checks the spec
  llvm::Function *f = em.emit(name);
  info.kind = GPUKernelKind::Gemm;
  info.name = name;
  info.blockSize = kThreads;
  info.sharedBytes = 0; // static shared memory only
  info.numOperands = 2;
  info.numResults = 1;
  info.ndim = 2;
  info.operandNdims = {2, 2};
  const GemmTiling tiling = gemmTiling(spec);
  info.tileM = tiling.blockM;
  info.tileN = tiling.blockN;
  info.batched = spec.batched;
  info.tensorCores = spec.path != Path::Tiled;
  return f;
}

std::optional<GemmKernelSpec> gemmSpecFor(const Node &n, const CompileOptions &options) {
  const OpKind k = n.kind();
  // The factors' first operand and rank (matrices, or batches of them).
  int first = 0, rank = 2;
  if (k == OpKind::Gemm)
    first = 2;
  else if (k == OpKind::BatchedDot)
    rank = 3;
  else if (k != OpKind::Dot)
    return {};
  const DType t = n.resultTypes()[0]->dtype();
  if (t != DType::Float32 && t != DType::Float64 && t != DType::Float16)
    return {};
  for (int i : {first, first + 1}) {
    const Var &v = n.operand(i);
    if (v.dtype() != t || v.ndim() != rank)
      return {};
  }
  if (k == OpKind::Gemm && n.operand(0).dtype() != t)
    return {};
  GemmKernelSpec spec;
  spec.type = gemmTypeOf(t);
  spec.batched = k == OpKind::BatchedDot;
  if (t == DType::Float16)
    spec.path = Path::TensorCore;
  if (t == DType::Float32 && options.allowTF32)
    spec.path = Path::TF32;
  return spec;
}

namespace {

/// The module of gemmKernelName(spec) for tm, optimized (O3 with the
/// target's passes) or not: what gemmPTX prints and gemmLLVMIR shows.
std::unique_ptr<llvm::Module> gemmModule(const GemmKernelSpec &spec, llvm::TargetMachine &tm,
                                         llvm::LLVMContext &ctx, bool optimized) {
  auto m = std::make_unique<llvm::Module>("thjit_gemm", ctx);
  m->setTargetTriple(kTriple);
  m->setDataLayout(tm.createDataLayout());
  GPUKernel info;
  emitGemmKernel(*m, gemmKernelName(spec), spec, info);
  std::string broken;
  llvm::raw_string_ostream brokenOS(broken);
  if (llvm::verifyModule(*m, &brokenOS))
    throw CompileError("the GEMM kernel generator made a broken module: " + broken);
  if (optimized)
    gpu::optimize(*m, tm);
  return m;
}

/// The target machine of `arch`, after gemmPTX's checks of arch and spec.
std::unique_ptr<llvm::TargetMachine> checkedTarget(const GemmKernelSpec &spec,
                                                   const std::string &arch) {
  checkGPUArch(arch);
  shapeOf(spec); // ValueError for an invalid spec, before anything else
  if (spec.path != Path::Tiled && std::atoi(arch.c_str() + 3) < 80)
    throw ValueError("mma.sync GEMM kernels need sm_80 or later, not " + arch);
  return targetMachine(arch);
}

} // namespace

std::string gemmLLVMIR(const GemmKernelSpec &spec, const std::string &arch,
                       bool optimized) {
  std::unique_ptr<llvm::TargetMachine> tm = checkedTarget(spec, arch);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = gemmModule(spec, *tm, ctx, optimized);
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  return text;
}

std::string gemmPTX(const GemmKernelSpec &spec, const std::string &arch) {
  std::unique_ptr<llvm::TargetMachine> tm = checkedTarget(spec, arch);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = gemmModule(spec, *tm, ctx, true);
  return gpu::printPTX(*m, *tm);
}

namespace {
GemmKernelSpec splitKSpec(DType t) {
  GemmKernelSpec spec;
  spec.type = gemmTypeOf(t);
  spec.batched = spec.small = true;
  return spec;
}
} // namespace

std::string splitKGemmKernelName(DType t) { return gemmKernelName(splitKSpec(t)); }

std::string splitKSumKernelName(DType t) {
  return std::string("thjit_gemm_") + typeName(gemmTypeOf(t)) + "_splitk_sum";
}

namespace {

/// splitKSumKernelName(t) (GPU.h): c = alpha * the sum of S partial
/// products + beta * c, element by element.
void emitSplitKSum(llvm::Module &m, DType t) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Function *f = gpu::newKernel(m, splitKSumKernelName(t), 2, 1, 4);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
  llvm::Type *T = t == DType::Float64 ? b.getDoubleTy() : b.getFloatTy();
  Value *partials = f->getArg(0), *c = f->getArg(1), *n = f->getArg(2), *S = f->getArg(3);
  Value *alpha = b.CreateFPCast(gpu::scalarFromBits(b, f->getArg(4), DType::Float64), T);
  Value *beta = b.CreateFPCast(gpu::scalarFromBits(b, f->getArg(5), DType::Float64), T);
  Value *readC = b.CreateFCmpUNE(beta, llvm::ConstantFP::get(T, 0.0));
  const llvm::Align align(t == DType::Float64 ? 8 : 4);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", f);
  auto [start, step] = gpu::gridStride(b);
  gpu::gridStrideLoops(b, start, step, n, exit, false, [&](Value *i, bool) {
    // The pieces' sum, in order (S >= 1).
    llvm::BasicBlock *before = b.GetInsertBlock();
    auto *sum = llvm::BasicBlock::Create(ctx, "sum", f, exit);
    auto *done = llvm::BasicBlock::Create(ctx, "summed", f, exit);
    b.CreateBr(sum);
    b.SetInsertPoint(sum);
    llvm::PHINode *s = b.CreatePHI(b.getInt64Ty(), 2), *acc = b.CreatePHI(T, 2);
    s->addIncoming(b.getInt64(0), before);
    acc->addIncoming(llvm::ConstantFP::get(T, 0.0), before);
    Value *at = b.CreateAdd(b.CreateMul(s, n), i);
    Value *next = b.CreateFAdd(acc, b.CreateAlignedLoad(T, b.CreateGEP(T, partials, at), align));
    Value *s1 = b.CreateAdd(s, b.getInt64(1));
    s->addIncoming(s1, b.GetInsertBlock());
    acc->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpSLT(s1, S), sum, done);
    b.SetInsertPoint(done);
    Value *out = b.CreateGEP(T, c, i);
    Value *scaled = b.CreateFMul(alpha, next);
    // beta * c only when beta != 0: c may hold NaN then (BLAS's rule).
    Value *old = b.CreateSelect(readC, b.CreateFMul(beta, b.CreateAlignedLoad(T, out, align)),
                                llvm::ConstantFP::get(T, 0.0));
    b.CreateAlignedStore(b.CreateFAdd(scaled, old), out, align);
  });
  b.SetInsertPoint(exit);
  b.CreateRetVoid();
}

} // namespace

PTXModule compileSplitKKernels(const std::string &arch, int ptxVersion,
                               const ObjectCache *cache) {
  return gpu::runtimeModule(
      "thjit_splitk", "split-K GEMM kernels", arch, ptxVersion,
      [](llvm::Module &m, PTXModule &out) {
        for (DType t : {DType::Float32, DType::Float64}) {
          GPUKernel gemm;
          emitGemmKernel(m, splitKGemmKernelName(t), splitKSpec(t), gemm);
          out.kernels.push_back(gemm);
          emitSplitKSum(m, t);
          GPUKernel sum;
          sum.kind = GPUKernelKind::Sum;
          sum.name = splitKSumKernelName(t);
          sum.numOperands = 1;
          sum.numResults = 1;
          out.kernels.push_back(sum);
        }
      },
      cache);
}

} // namespace thjit::codegen
