//===- Strided.cpp - Strided indexing, and the runtime's copy kernels -----===//
//
// A strided kernel turns a flat index into coordinates, then into an offset
// per array (sum of coordinate * stride). The division by each dim's size
// is the costly part: while every index fits in 31 bits it is a 32-bit
// multiply-high, an add and a shift by a divider the launcher computed on
// the host (gpuDivider), else a 64-bit division. The runtime's copy module
// (strided device copies for joins, reshapes of views and results kept on
// the device; the gathers, puts and scatter-adds of advanced indexing) is
// built from the same pieces. ABI in GPU.h.
//
//===----------------------------------------------------------------------===//
#include "PTXLowering.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/Support/Error.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/IntrinsicsNVPTX.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

namespace thjit::codegen {

using llvm::Value;

uint64_t gpuDivider(int64_t size) {
  if (size < 1 || size > (int64_t(1) << 31))
    return 0;
  unsigned shift = 0; // the least s with 2^s >= size
  while ((int64_t(1) << shift) < size)
    ++shift;
  // m = floor(2^32 (2^s - size) / size) + 1 < 2^32, as 2^s < 2 size; the
  // product fits 64 bits, as 2^s <= 2^31.
  const uint64_t d = (uint64_t)size;
  const uint64_t magic = ((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1;
  return uint64_t(shift) << 32 | magic;
}

namespace gpu {

StridedIndex StridedIndex::fromParams(llvm::Function *f, int first, int R) {
  StridedIndex x;
  for (int d = 0; d < R; ++d)
    x.sizes.push_back(f->getArg(first + d));
  for (int d = 0; d < R; ++d)
    x.dividers.push_back(f->getArg(first + R + d));
  return x;
}

std::vector<Value *> StridedIndex::coordinates(llvm::IRBuilder<> &b, Value *i,
                                               bool narrow) const {
  const int R = (int)sizes.size();
  std::vector<Value *> c(R, nullptr);
  llvm::Type *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty();
  if (narrow) {
    Value *rem = b.CreateTrunc(i, i32);
    for (int d = R - 1; d > 0; --d) {
      Value *size = b.CreateTrunc(sizes[d], i32);
      Value *magic = b.CreateTrunc(dividers[d], i32);
      Value *shift = b.CreateTrunc(b.CreateLShr(dividers[d], 32), i32);
      // mul.hi.u32 (LLVM would widen the pattern written out in i64).
      Value *high = b.CreateIntrinsic(llvm::Intrinsic::nvvm_mulhi_ui, {}, {rem, magic});
      // high <= rem < 2^31: the sum does not wrap as unsigned.
      Value *q = b.CreateLShr(b.CreateAdd(high, rem), shift);
      c[d] = b.CreateZExt(b.CreateSub(rem, b.CreateMul(q, size)), i64);
      rem = q;
    }
    if (R > 0)
      c[0] = b.CreateZExt(rem, i64);
    return c;
  }
  Value *rem = i;
  for (int d = R - 1; d > 0; --d) {
    Value *q = b.CreateUDiv(rem, sizes[d]);
    c[d] = b.CreateSub(rem, b.CreateMul(q, sizes[d]));
    rem = q;
  }
  if (R > 0)
    c[0] = rem;
  return c;
}

std::pair<Value *, Value *> gridStride(llvm::IRBuilder<> &b) {
  auto reg = [&](llvm::Intrinsic::ID id) { return specialReg(b, id); };
  Value *threads = reg(llvm::Intrinsic::nvvm_read_ptx_sreg_ntid_x);
  return {b.CreateAdd(b.CreateMul(reg(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x), threads),
                      reg(llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x)),
          b.CreateMul(reg(llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x), threads)};
}

void gridStrideLoops(llvm::IRBuilder<> &b, Value *start, Value *step, Value *n,
                     llvm::BasicBlock *exit, bool split,
                     const std::function<void(Value *i, bool narrow)> &body) {
  llvm::Function *f = b.GetInsertBlock()->getParent();
  llvm::LLVMContext &ctx = f->getContext();
  auto loop = [&](bool narrow) {
    auto *header = llvm::BasicBlock::Create(ctx, narrow ? "narrow" : "wide", f, exit);
    auto *bodyBlock = llvm::BasicBlock::Create(ctx, narrow ? "narrow.i" : "wide.i", f, exit);
    b.CreateBr(header);
    b.SetInsertPoint(header);
    b.CreateCondBr(b.CreateICmpSLT(start, n), bodyBlock, exit);
    b.SetInsertPoint(bodyBlock);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
    i->addIncoming(start, header);
    body(i, narrow);
    Value *next = b.CreateAdd(i, step);
    i->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpSLT(next, n), bodyBlock, exit);
  };
  if (!split) {
    loop(false);
    return;
  }
  auto *narrow = llvm::BasicBlock::Create(ctx, "pick.narrow", f, exit);
  auto *wide = llvm::BasicBlock::Create(ctx, "pick.wide", f, exit);
  b.CreateCondBr(b.CreateICmpULT(n, b.getInt64(int64_t(1) << 31)), narrow, wide);
  b.SetInsertPoint(narrow);
  loop(true);
  b.SetInsertPoint(wide);
  loop(false);
}

namespace {

/// What a kernel of the copy module does with each element. The offset of
/// coordinate c in an array is the sum of c's times its strides, except
/// in the array `rows` indexes: rows[c0] + the sum over c1, ... (rows hold
/// the element offsets of sub-arrays).
enum class Move {
  Copy,       ///< dst[c] = src[c]
  Take,       ///< dst[c] = src[rows[c0]; c1, ...]
  Put,        ///< dst[rows[c0]; c1, ...] = src[c] where rows[c0] != INT64_MIN
  ScatterAdd, ///< dst[rows[c0]; c1, ...] += src[c], atomically (rows may repeat)
  ScatterOr,  ///< the same for booleans, whose sum is their or
};

/// A kernel of the copy module over a strided index of rank R (GPU.h):
/// (src, [rows,] dst, n, sizes, dividers, srcStrides, dstStrides), moving
/// elements of `element` type.
void emitMoveKernel(llvm::Module &m, const std::string &name, llvm::Type *element,
                    llvm::Align align, int R, Move move) {
  llvm::LLVMContext &ctx = m.getContext();
  const int pointers = move == Move::Copy ? 2 : 3; // src, (rows,) dst
  llvm::Function *f = newKernel(m, name, pointers, pointers - 1, 1 + 4 * R);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
  Value *src = f->getArg(0), *rows = move == Move::Copy ? nullptr : f->getArg(1);
  Value *dst = f->getArg(pointers - 1), *n = f->getArg(pointers);
  const int first = pointers + 1; // the strided index
  const StridedIndex index = StridedIndex::fromParams(f, first, R);
  auto strides = [&](int at) {
    std::vector<Value *> s;
    for (int d = 0; d < R; ++d)
      s.push_back(f->getArg(at + d));
    return s;
  };
  const std::vector<Value *> srcStrides = strides(first + 2 * R),
                             dstStrides = strides(first + 3 * R);
  auto [start, gridSize] = gridStride(b);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", f);
  gridStrideLoops(b, start, gridSize, n, exit, true, [&](Value *i, bool narrow) {
    std::vector<Value *> c = index.coordinates(b, i, narrow);
    Value *row = rows ? b.CreateAlignedLoad(b.getInt64Ty(),
                                            b.CreateGEP(b.getInt64Ty(), rows, c[0]),
                                            llvm::Align(8))
                      : nullptr;
    const bool gather = move == Move::Take;
    Value *from = gather ? row : b.CreateMul(c[0], srcStrides[0]);
    Value *to = row && !gather ? row : b.CreateMul(c[0], dstStrides[0]);
    for (int d = 1; d < R; ++d) {
      from = b.CreateAdd(from, b.CreateMul(c[d], srcStrides[d]));
      to = b.CreateAdd(to, b.CreateMul(c[d], dstStrides[d]));
    }
    llvm::BasicBlock *skip = nullptr;
    if (move == Move::Put) { // INT64_MIN: a repeat the launcher dropped
      auto *write = llvm::BasicBlock::Create(ctx, "put", f, exit);
      skip = llvm::BasicBlock::Create(ctx, "next", f, exit);
      b.CreateCondBr(b.CreateICmpNE(row, b.getInt64(INT64_MIN)), write, skip);
      b.SetInsertPoint(write);
    }
    Value *v = b.CreateAlignedLoad(element, b.CreateGEP(element, src, from), align);
    Value *at = b.CreateGEP(element, dst, to);
    if (move == Move::ScatterAdd || move == Move::ScatterOr) {
      // A complex element adds its parts one by one. LLVM turns what the
      // GPU has no atomic for (8 and 16 bits) into a loop of 32-bit
      // compare-and-swap.
      auto *parts = llvm::dyn_cast<llvm::FixedVectorType>(element);
      llvm::Type *part = parts ? parts->getElementType() : element;
      const auto op = move == Move::ScatterOr      ? llvm::AtomicRMWInst::Or
                      : part->isFloatingPointTy() ? llvm::AtomicRMWInst::FAdd
                                                  : llvm::AtomicRMWInst::Add;
      const llvm::Align partAlign(part->getPrimitiveSizeInBits() / 8);
      for (unsigned k = 0; k < (parts ? parts->getNumElements() : 1); ++k)
        b.CreateAtomicRMW(op, parts ? b.CreateConstGEP1_32(part, at, k) : at,
                          parts ? b.CreateExtractElement(v, k) : v, partAlign,
                          llvm::AtomicOrdering::Monotonic);
    } else {
      b.CreateAlignedStore(v, at, align);
    }
    if (skip) {
      b.CreateBr(skip);
      b.SetInsertPoint(skip);
    }
  });
  b.SetInsertPoint(exit);
  b.CreateRetVoid();
}

} // namespace

} // namespace gpu

std::string copyKernelName(int bytes, int rank) {
  return "thjit_b" + std::to_string(bytes) + "_r" + std::to_string(rank) + "_copy";
}

std::string takeKernelName(int bytes, int rank) {
  return "thjit_b" + std::to_string(bytes) + "_r" + std::to_string(rank) + "_take";
}

std::string putKernelName(int bytes, int rank) {
  return "thjit_b" + std::to_string(bytes) + "_r" + std::to_string(rank) + "_put";
}

namespace {
/// The dtypes the scatter-add kernels add, by the name of their kernels.
const char *scatterAddTypeName(DType t) {
  switch (t) {
  case DType::Bool:
    return "bool";
  case DType::Int8:
  case DType::UInt8:
    return "i8";
  case DType::Int16:
  case DType::UInt16:
    return "i16";
  case DType::Int32:
  case DType::UInt32:
    return "i32";
  case DType::Int64:
  case DType::UInt64:
    return "i64";
  case DType::Float16:
    return "f16";
  case DType::Float32:
    return "f32";
  case DType::Float64:
    return "f64";
  case DType::Complex64:
    return "c64";
  case DType::Complex128:
    return "c128";
  }
  return "?";
}
} // namespace

std::string scatterAddKernelName(DType t, int rank) {
  return std::string("thjit_") + scatterAddTypeName(t) + "_r" + std::to_string(rank) +
         "_scatter";
}

namespace gpu {

PTXModule runtimeModule(const std::string &name, const std::string &what,
                        const std::string &arch, int ptxVersion,
                        const std::function<void(llvm::Module &, PTXModule &)> &fill,
                        const ObjectCache *cache) {
  checkGPUArch(arch);
  PTXListener listener = currentPTXListener();
  const bool cached = cache && cache->lookup && !listener;
  const std::string key = cached ? objectKey(Graph()) + "runtime module " + name + " for " +
                                       arch + " ISA " + std::to_string(ptxVersion) + "\n"
                                 : "";
  if (cached)
    if (std::optional<std::string> text = cache->lookup(key))
      if (std::optional<PTXModule> m = parsePTXModule(*text))
        return *m;
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(arch, ptxVersion);
  llvm::LLVMContext ctx;
  llvm::Module m(name, ctx);
  m.setTargetTriple(kNVPTXTriple);
  m.setDataLayout(tm->createDataLayout());
  PTXModule out;
  out.arch = arch;
  out.ptxVersion = ptxVersion;
  fill(m, out);
  for (GPUKernel &k : out.kernels)
    k.step = -1; // of no step
  std::string broken;
  llvm::raw_string_ostream brokenOS(broken);
  if (llvm::verifyModule(m, &brokenOS))
    throw CompileError("the GPU back end made a broken " + name + " module: " + broken);
  std::string ir;
  if (listener) {
    llvm::raw_string_ostream irOS(ir);
    m.print(irOS, nullptr);
  }
  optimize(m, *tm);
  out.ptx = "// thjit: " + std::to_string(out.kernels.size()) + " " + what + " for " + arch +
            ", PTX ISA " +
            std::to_string(ptxVersion / 10) + "." + std::to_string(ptxVersion % 10) + "\n\n" +
            printPTX(m, *tm);
  if (listener)
    listener(out.ptx, ir);
  if (cached && cache->store)
    cache->store(key, serializePTXModule(out));
  return out;
}

} // namespace gpu

PTXModule compileCopyKernels(const std::string &arch, int ptxVersion,
                             const ObjectCache *cache) {
  return gpu::runtimeModule(
      "thjit_copy", "copy, take, put and scatter-add kernels", arch, ptxVersion,
      [](llvm::Module &m, PTXModule &out) {
        llvm::LLVMContext &ctx = m.getContext();
        auto add = [&](const std::string &name, llvm::Type *element, int align, int R,
                       gpu::Move move) {
          gpu::emitMoveKernel(m, name, element, llvm::Align(align), R, move);
          GPUKernel k;
          k.kind = GPUKernelKind::Copy;
          k.name = name;
          k.numOperands = move == gpu::Move::Copy ? 1 : 2;
          k.numResults = 1;
          k.ndim = R;
          out.kernels.push_back(k);
        };
        llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
        for (int R = 1; R <= kCopyRank; ++R) {
          for (int bytes : {1, 2, 4, 8, 16}) {
            // Raw bits; complex128 as two words, aligned as its doubles.
            llvm::Type *element =
                bytes == 16 ? (llvm::Type *)llvm::FixedVectorType::get(i64, 2)
                            : (llvm::Type *)llvm::Type::getIntNTy(ctx, 8 * bytes);
            add(copyKernelName(bytes, R), element, std::min(bytes, 8), R, gpu::Move::Copy);
            add(takeKernelName(bytes, R), element, std::min(bytes, 8), R, gpu::Move::Take);
            add(putKernelName(bytes, R), element, std::min(bytes, 8), R, gpu::Move::Put);
          }
          // One scatter-add per way of adding (unsigned integers add as
          // signed ones of their width).
          llvm::Type *f32 = llvm::Type::getFloatTy(ctx), *f64 = llvm::Type::getDoubleTy(ctx);
          for (DType t : {DType::Bool, DType::Int8, DType::Int16, DType::Int32, DType::Int64,
                          DType::Float16, DType::Float32, DType::Float64, DType::Complex64,
                          DType::Complex128}) {
            llvm::Type *element =
                t == DType::Float16      ? llvm::Type::getHalfTy(ctx)
                : t == DType::Float32    ? f32
                : t == DType::Float64    ? f64
                : t == DType::Complex64  ? (llvm::Type *)llvm::FixedVectorType::get(f32, 2)
                : t == DType::Complex128 ? (llvm::Type *)llvm::FixedVectorType::get(f64, 2)
                                         : llvm::Type::getIntNTy(ctx, 8 * (int)itemSize(t));
            add(scatterAddKernelName(t, R), element,
                (int)std::min<size_t>(itemSize(t), 8), R,
                t == DType::Bool ? gpu::Move::ScatterOr : gpu::Move::ScatterAdd);
          }
        }
      },
      cache);
}

} // namespace thjit::codegen
