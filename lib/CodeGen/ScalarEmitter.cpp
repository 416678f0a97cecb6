//===- ScalarEmitter.cpp - Scalar ops to LLVM IR --------------------------===//
#include "ScalarEmitter.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/Error.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

#include <cmath>
#include <limits>

namespace thjit::codegen {

using llvm::Value;

const std::vector<MathFunction> &vectorizableMathFunctions() {
  static const std::vector<MathFunction> fns{
      {"exp", 1},   {"exp2", 1},  {"expm1", 1}, {"log", 1},   {"log2", 1},
      {"log10", 1}, {"log1p", 1}, {"sin", 1},   {"cos", 1},   {"tan", 1},
      {"asin", 1},  {"acos", 1},  {"atan", 1},  {"sinh", 1},  {"cosh", 1},
      {"tanh", 1},  {"asinh", 1}, {"acosh", 1}, {"atanh", 1}, {"erf", 1},
      {"erfc", 1},  {"pow", 2},   {"atan2", 2}};
  return fns;
}

ScalarEmitter::ScalarEmitter(llvm::IRBuilder<> &b) : b(b) {}

llvm::Type *ScalarEmitter::regType(DType t) const {
  auto &c = b.getContext();
  switch (t) {
  case DType::Bool:
    return llvm::Type::getInt1Ty(c);
  case DType::Int8:
  case DType::UInt8:
    return llvm::Type::getInt8Ty(c);
  case DType::Int16:
  case DType::UInt16:
    return llvm::Type::getInt16Ty(c);
  case DType::Int32:
  case DType::UInt32:
    return llvm::Type::getInt32Ty(c);
  case DType::Int64:
  case DType::UInt64:
    return llvm::Type::getInt64Ty(c);
  case DType::Float16:
  case DType::Float32:
    return llvm::Type::getFloatTy(c);
  case DType::Float64:
    return llvm::Type::getDoubleTy(c);
  default:
    throw CompileError(std::string("the CPU back end has no registers for ") +
                       dtypeName(t));
  }
}

llvm::Type *ScalarEmitter::memType(DType t) const {
  if (t == DType::Bool)
    return llvm::Type::getInt8Ty(b.getContext());
  if (t == DType::Float16)
    return llvm::Type::getHalfTy(b.getContext());
  return regType(t);
}

Value *ScalarEmitter::load(Value *ptr, DType t) {
  return fromMemory(b.CreateLoad(memType(t), ptr), t);
}

void ScalarEmitter::store(Value *reg, Value *ptr, DType t) {
  b.CreateStore(toMemory(reg, t), ptr);
}

Value *ScalarEmitter::fromMemory(Value *v, DType t) {
  if (t == DType::Bool)
    return b.CreateICmpNE(v, b.getInt8(0));
  if (t == DType::Float16)
    return b.CreateFPExt(v, b.getFloatTy());
  return v;
}

Value *ScalarEmitter::toMemory(Value *reg, DType t) {
  if (t == DType::Bool)
    return b.CreateZExt(reg, b.getInt8Ty());
  if (t == DType::Float16)
    return b.CreateFPTrunc(reg, b.getHalfTy());
  return reg;
}

Value *ScalarEmitter::constant(DType t, double v) {
  llvm::Type *ty = regType(t);
  if (isFloat(t))
    return llvm::ConstantFP::get(ty, v);
  if (isBool(t))
    return b.getInt1(v != 0);
  return llvm::ConstantInt::get(ty, (uint64_t)(int64_t)v, isSignedInt(t));
}

Value *ScalarEmitter::intrinsic(llvm::Intrinsic::ID id,
                                const std::vector<Value *> &args) {
  return b.CreateIntrinsic(id, {args[0]->getType()}, args);
}

Value *ScalarEmitter::callMath(const char *name, DType t,
                               const std::vector<Value *> &args) {
  llvm::Type *ty = regType(t);
  std::string fn = name;
  if (ty->isFloatTy())
    fn += "f";
  llvm::Module *m = b.GetInsertBlock()->getModule();
  std::vector<llvm::Type *> params(args.size(), ty);
  llvm::FunctionCallee callee =
      m->getOrInsertFunction(fn, llvm::FunctionType::get(ty, params, false));
  auto *f = llvm::cast<llvm::Function>(callee.getCallee());
  // libm only writes errno, which nothing here reads.
  f->setDoesNotAccessMemory();
  f->setDoesNotThrow();
  f->addFnAttr(llvm::Attribute::WillReturn);
  llvm::CallInst *call = b.CreateCall(callee, args);
  call->setDoesNotAccessMemory();
  call->setDoesNotThrow();
  return call;
}

Value *ScalarEmitter::convert(Value *v, DType from, DType to) {
  llvm::Type *dst = regType(to);
  if (from == to || (v->getType() == dst && isInteger(from) == isInteger(to) &&
                     isFloat(from) == isFloat(to) && !isBool(to)))
    return v;
  if (isBool(to)) {
    if (isFloat(from)) // NaN is true, as in NumPy
      return b.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0));
    return b.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
  }
  if (isBool(from))
    return isFloat(to) ? b.CreateUIToFP(v, dst) : b.CreateZExt(v, dst);
  if (isInteger(from) && isInteger(to))
    return b.CreateIntCast(v, dst, isSignedInt(from));
  if (isInteger(from))
    return isSignedInt(from) ? b.CreateSIToFP(v, dst) : b.CreateUIToFP(v, dst);
  if (isInteger(to)) // saturating, NaN to 0: defined for every input
    return b.CreateIntrinsic(isSignedInt(to) ? llvm::Intrinsic::fptosi_sat
                                             : llvm::Intrinsic::fptoui_sat,
                             {dst, v->getType()}, {v});
  if (from == DType::Float64 && to == DType::Float16)
    return doubleToHalf(v);
  return b.CreateFPCast(v, dst);
}

/// float64 to float16 rounded once, as NumPy's astype (rounding to float
/// first and then to half can round twice): to float rounding to odd (an
/// inexact result gets its last bit set), which keeps the information the
/// second rounding needs as float has 13 more bits than half; then to
/// half. The register holds that half as a float.
Value *ScalarEmitter::doubleToHalf(Value *v) {
  llvm::Type *f32 = b.getFloatTy(), *i32 = b.getInt32Ty();
  Value *f = b.CreateFPTrunc(v, f32);
  Value *back = b.CreateFPExt(f, v->getType());
  Value *inexact = b.CreateFCmpONE(back, v); // (NaN stays as it is)
  Value *away = b.CreateFCmpOGT(intrinsic(llvm::Intrinsic::fabs, {back}),
                                intrinsic(llvm::Intrinsic::fabs, {v}));
  Value *bits = b.CreateBitCast(f, i32);
  bits = b.CreateSelect(away, b.CreateSub(bits, b.getInt32(1)), bits); // toward 0
  bits = b.CreateSelect(inexact, b.CreateOr(bits, b.getInt32(1)), bits);
  Value *half = b.CreateFPTrunc(b.CreateBitCast(bits, f32), b.getHalfTy());
  return b.CreateFPExt(half, f32);
}

Value *ScalarEmitter::truth(Value *v, DType t) { return convert(v, t, DType::Bool); }

/// a ** b for integers by squaring, in an out-of-line helper (a loop).
Value *ScalarEmitter::intPow(Value *a, Value *bv, DType t) {
  llvm::Module *m = b.GetInsertBlock()->getModule();
  llvm::Type *ty = a->getType();
  std::string name = "thjit.ipow.i" + std::to_string(ty->getIntegerBitWidth());
  llvm::Function *f = m->getFunction(name);
  if (!f) {
    f = llvm::Function::Create(llvm::FunctionType::get(ty, {ty, ty}, false),
                               llvm::Function::InternalLinkage, name, m);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    f->addFnAttr(llvm::Attribute::WillReturn);
    f->setDoesNotAccessMemory();
    llvm::IRBuilder<> fb(llvm::BasicBlock::Create(m->getContext(), "entry", f));
    llvm::BasicBlock *entry = fb.GetInsertBlock();
    llvm::BasicBlock *loop = llvm::BasicBlock::Create(m->getContext(), "loop", f);
    llvm::BasicBlock *done = llvm::BasicBlock::Create(m->getContext(), "done", f);
    Value *base0 = f->getArg(0), *exp0 = f->getArg(1);
    Value *one = llvm::ConstantInt::get(ty, 1), *zero = llvm::ConstantInt::get(ty, 0);
    fb.CreateCondBr(fb.CreateICmpEQ(exp0, zero), done, loop);
    fb.SetInsertPoint(loop);
    auto *r = fb.CreatePHI(ty, 2), *base = fb.CreatePHI(ty, 2), *e = fb.CreatePHI(ty, 2);
    Value *odd = fb.CreateTrunc(e, fb.getInt1Ty());
    Value *r2 = fb.CreateSelect(odd, fb.CreateMul(r, base), r);
    Value *base2 = fb.CreateMul(base, base);
    Value *e2 = fb.CreateLShr(e, one);
    r->addIncoming(one, entry);
    base->addIncoming(base0, entry);
    e->addIncoming(exp0, entry);
    r->addIncoming(r2, loop);
    base->addIncoming(base2, loop);
    e->addIncoming(e2, loop);
    fb.CreateCondBr(fb.CreateICmpEQ(e2, zero), done, loop);
    fb.SetInsertPoint(done);
    auto *res = fb.CreatePHI(ty, 2);
    res->addIncoming(one, entry);
    res->addIncoming(r2, loop);
    fb.CreateRet(res);
  }
  if (isSignedInt(t)) { // NumPy refuses negative integer powers
    Value *neg = b.CreateICmpSLT(bv, llvm::ConstantInt::get(ty, 0));
    error = error ? b.CreateOr(error, neg) : neg;
  }
  return b.CreateCall(f, {a, bv});
}

/// x ** e for an immediate e: for floats, e = 0.5 is a square root (with
/// pow's answers for -0 and -inf), e = -1 a division and an integer
/// 0 <= e <= 16 exponentiation by squaring (powBySquaring); for integers
/// any e >= 0 squares exactly (wrapping as pow does). Null when pow itself
/// must run.
Value *ScalarEmitter::powByConstant(Value *x, const ScalarProgram::Op &e,
                                    DType xType, DType result) {
  ElemwiseDTypes d = elemwiseDTypes(OpKind::Pow, {xType, e.dtype}, {});
  const DType t = d.compute;
  double ev = isFloat(e.dtype)  ? e.floatValue
              : e.dtype == DType::UInt64 ? (double)(uint64_t)e.intValue
                                        : (double)e.intValue;
  if (isBool(t))
    return nullptr;
  Value *base = convert(x, xType, t);
  Value *r = nullptr;
  if (isFloat(t)) {
    if (ev == 0.5) {
      // sqrt(-0) is -0 and sqrt(-inf) NaN where pow gives +0 and +inf.
      Value *root = b.CreateFAdd(intrinsic(llvm::Intrinsic::sqrt, {base}),
                                 constant(t, 0.0));
      Value *negInf = b.CreateFCmpOEQ(
          base, constant(t, -std::numeric_limits<double>::infinity()));
      r = b.CreateSelect(negInf, constant(t, std::numeric_limits<double>::infinity()),
                         root);
    } else if (ev == -1) {
      r = b.CreateFDiv(constant(t, 1.0), base);
    } else if (ev >= 0 && ev <= 16 && ev == std::floor(ev)) {
      r = powBySquaring(base, (unsigned)ev, t);
    }
  } else if (ev >= 0) { // an integer compute dtype: e is an integer
    Value *square = base;
    for (uint64_t n = (uint64_t)e.intValue; n; n >>= 1) {
      if (n & 1)
        r = r ? b.CreateMul(r, square) : square;
      if (n > 1)
        square = b.CreateMul(square, square);
    }
    if (!r)
      r = constant(t, 1);
  }
  if (!r)
    return nullptr;
  return convert(r, t, result);
}

/// x ** n, 0 <= n <= 16, by squaring with products carried to about 2^-100
/// relative: float32 in double, float64 in double-double (each product's
/// rounding error recovered with an FMA). The one rounding at the end
/// makes it as accurate as pow (within 0.5 ulp plus 2^-40 or so), with
/// pow's answers at -0, infinities and NaN.
Value *ScalarEmitter::powBySquaring(Value *x, unsigned n, DType t) {
  if (n == 0)
    return constant(t, 1.0); // NaN ** 0 is 1
  if (n == 2) // one rounding of the exact square: nothing to carry
    return b.CreateFMul(x, x);
  llvm::Type *ty = x->getType();
  if (!ty->isDoubleTy()) {
    Value *r = powBySquaring(b.CreateFPExt(x, b.getDoubleTy()), n, DType::Float64);
    return b.CreateFPTrunc(r, ty);
  }
  if (n == 1)
    return x;
  struct DD {
    Value *hi, *lo;
  };
  Value *zero = constant(t, 0.0);
  auto mul = [&](DD a, DD c) {
    Value *p = b.CreateFMul(a.hi, c.hi);
    Value *e = intrinsic(llvm::Intrinsic::fma, {a.hi, c.hi, b.CreateFNeg(p)});
    e = b.CreateFAdd(e, b.CreateFAdd(b.CreateFMul(a.hi, c.lo), b.CreateFMul(a.lo, c.hi)));
    return DD{p, e};
  };
  std::optional<DD> r;
  DD square{x, zero};
  for (; n; n >>= 1) {
    if (n & 1)
      r = r ? mul(*r, square) : square;
    if (n > 1)
      square = mul(square, square);
  }
  // hi + lo, except where hi is not finite (lo is then NaN) or lo is 0
  // (keeps the sign of a zero result).
  Value *finite = b.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, {r->hi}),
                                  constant(t, std::numeric_limits<double>::infinity()));
  Value *useLo = b.CreateAnd(finite, b.CreateFCmpUNE(r->lo, zero));
  return b.CreateSelect(useLo, b.CreateFAdd(r->hi, r->lo), r->hi);
}

Value *ScalarEmitter::emit(OpKind kind, const std::vector<Value *> &args,
                           const std::vector<DType> &argTypes, DType result,
                           std::optional<DType> castTo) {
  ElemwiseDTypes d = elemwiseDTypes(kind, argTypes, castTo);
  if (kind == OpKind::Cast)
    return convert(args[0], argTypes[0], d.result);
  std::vector<Value *> a;
  for (size_t i = 0; i < args.size(); ++i) {
    DType to = kind == OpKind::Switch && i == 0 ? DType::Bool : d.compute;
    a.push_back(convert(args[i], argTypes[i], to));
  }
  Value *r = compute(kind, a, d.compute);
  // Comparisons and logical ops give bools; the rest the compute dtype.
  DType got = r->getType()->isIntegerTy(1) ? DType::Bool : d.compute;
  return convert(r, got, result);
}

std::vector<Value *> ScalarEmitter::emit(const ScalarProgram &p,
                                         const std::vector<Value *> &inputs) {
  std::vector<Value *> vals = inputs;
  for (const ScalarProgram::Op &op : p.ops) {
    if (op.kind == OpKind::Constant) {
      llvm::Type *ty = regType(op.dtype);
      if (isFloat(op.dtype))
        vals.push_back(llvm::ConstantFP::get(ty, op.floatValue));
      else
        vals.push_back(llvm::ConstantInt::get(ty, (uint64_t)op.intValue));
      continue;
    }
    if (op.kind == OpKind::Pow) {
      const ScalarProgram::Op *e = p.opOf(op.args[1]);
      if (e && e->kind == OpKind::Constant)
        if (Value *r = powByConstant(vals[op.args[0]], *e,
                                     p.dtypeOf(op.args[0]), op.dtype)) {
          vals.push_back(r);
          continue;
        }
    }
    std::vector<Value *> args;
    std::vector<DType> types;
    for (int i : op.args) {
      args.push_back(vals[i]);
      types.push_back(p.dtypeOf(i));
    }
    vals.push_back(emit(op.kind, args, types, op.dtype, op.castTo));
  }
  std::vector<Value *> outs;
  for (int o : p.outputs)
    outs.push_back(vals[o]);
  return outs;
}

Value *ScalarEmitter::compute(OpKind kind, std::vector<Value *> a, DType t) {
  using llvm::Intrinsic::ID;
  namespace I = llvm::Intrinsic;
  const bool f = isFloat(t), s = isSignedInt(t), bl = isBool(t);
  llvm::Type *ty = regType(t);
  auto c = [&](double v) { return constant(t, v); };
  auto cmp = [&](llvm::CmpInst::Predicate fp, llvm::CmpInst::Predicate sp,
                 llvm::CmpInst::Predicate up) {
    return f ? b.CreateFCmp(fp, a[0], a[1])
             : b.CreateICmp(s ? sp : up, a[0], a[1]);
  };
  using P = llvm::CmpInst::Predicate;
  // NumPy's maximum/minimum: NaN in either operand gives NaN.
  auto pick = [&](Value *x, Value *y, bool max) -> Value * {
    Value *keep = f ? b.CreateFCmp(max ? P::FCMP_OGE : P::FCMP_OLE, x, y)
                    : b.CreateICmp(max ? (s ? P::ICMP_SGE : P::ICMP_UGE)
                                       : (s ? P::ICMP_SLE : P::ICMP_ULE),
                                   x, y);
    Value *r = b.CreateSelect(keep, x, y);
    return f ? b.CreateSelect(b.CreateFCmpUNO(x, x), x, r) : r;
  };
  switch (kind) {
  case OpKind::Add:
    return f ? b.CreateFAdd(a[0], a[1]) : bl ? b.CreateOr(a[0], a[1]) : b.CreateAdd(a[0], a[1]);
  case OpKind::Sub:
    return f ? b.CreateFSub(a[0], a[1]) : b.CreateSub(a[0], a[1]);
  case OpKind::Mul:
    return f ? b.CreateFMul(a[0], a[1]) : bl ? b.CreateAnd(a[0], a[1]) : b.CreateMul(a[0], a[1]);
  case OpKind::Sqr:
    return f ? b.CreateFMul(a[0], a[0]) : b.CreateMul(a[0], a[0]);
  case OpKind::TrueDiv:
    return b.CreateFDiv(a[0], a[1]);
  case OpKind::FloorDiv:
  case OpKind::Mod: {
    bool div = kind == OpKind::FloorDiv;
    Value *x = a[0], *y = a[1];
    if (f) { // npy_divmod
      Value *zero = c(0);
      Value *m = b.CreateFRem(x, y);
      Value *adjust = b.CreateAnd(
          b.CreateFCmpUNE(m, zero),
          b.CreateXor(b.CreateFCmpOLT(y, zero), b.CreateFCmpOLT(m, zero)));
      if (!div) {
        Value *r = b.CreateSelect(adjust, b.CreateFAdd(m, y), m);
        Value *signedZero = intrinsic(I::copysign, {zero, y});
        r = b.CreateSelect(b.CreateFCmpOEQ(m, zero), signedZero, r);
        return b.CreateSelect(b.CreateFCmpOEQ(y, zero), m, r);
      }
      Value *q = b.CreateFDiv(b.CreateFSub(x, m), y);
      q = b.CreateSelect(adjust, b.CreateFSub(q, c(1)), q);
      Value *fl = intrinsic(I::floor, {q});
      fl = b.CreateSelect(b.CreateFCmpOGT(b.CreateFSub(q, fl), c(0.5)),
                          b.CreateFAdd(fl, c(1)), fl);
      Value *byZero = b.CreateFDiv(x, y);
      Value *zeroQ = intrinsic(I::copysign, {zero, byZero});
      fl = b.CreateSelect(b.CreateFCmpOEQ(q, zero), zeroQ, fl);
      return b.CreateSelect(b.CreateFCmpOEQ(y, zero), byZero, fl);
    }
    Value *zero = llvm::ConstantInt::get(ty, 0), *one = llvm::ConstantInt::get(ty, 1);
    Value *byZero = b.CreateICmpEQ(y, zero);
    if (!s) {
      Value *safe = b.CreateSelect(byZero, one, y);
      Value *r = div ? b.CreateUDiv(x, safe) : b.CreateURem(x, safe);
      return b.CreateSelect(byZero, zero, r);
    }
    Value *byMinusOne = b.CreateICmpEQ(y, llvm::ConstantInt::getSigned(ty, -1));
    Value *special = b.CreateOr(byZero, byMinusOne);
    Value *safe = b.CreateSelect(special, one, y);
    Value *q = b.CreateSDiv(x, safe), *m = b.CreateSRem(x, safe);
    Value *adjust = b.CreateAnd(
        b.CreateICmpNE(m, zero),
        b.CreateXor(b.CreateICmpSLT(m, zero), b.CreateICmpSLT(y, zero)));
    if (div) {
      q = b.CreateSub(q, b.CreateZExt(adjust, ty));
      return b.CreateSelect(byZero, zero,
                            b.CreateSelect(byMinusOne, b.CreateSub(zero, x), q));
    }
    m = b.CreateSelect(adjust, b.CreateAdd(m, y), m);
    return b.CreateSelect(special, zero, m);
  }
  case OpKind::Pow:
    return f ? callMath("pow", t, a) : intPow(a[0], a[1], t);
  case OpKind::Maximum:
    return bl ? b.CreateOr(a[0], a[1]) : pick(a[0], a[1], true);
  case OpKind::Minimum:
    return bl ? b.CreateAnd(a[0], a[1]) : pick(a[0], a[1], false);
  case OpKind::Clip:
    if (bl)
      return b.CreateAnd(b.CreateOr(a[0], a[1]), a[2]);
    return pick(pick(a[0], a[1], true), a[2], false);
  case OpKind::Arctan2:
    return callMath("atan2", t, a);
  case OpKind::Eq:
    return cmp(P::FCMP_OEQ, P::ICMP_EQ, P::ICMP_EQ);
  case OpKind::Neq:
    return cmp(P::FCMP_UNE, P::ICMP_NE, P::ICMP_NE);
  case OpKind::Lt:
    return cmp(P::FCMP_OLT, P::ICMP_SLT, P::ICMP_ULT);
  case OpKind::Le:
    return cmp(P::FCMP_OLE, P::ICMP_SLE, P::ICMP_ULE);
  case OpKind::Gt:
    return cmp(P::FCMP_OGT, P::ICMP_SGT, P::ICMP_UGT);
  case OpKind::Ge:
    return cmp(P::FCMP_OGE, P::ICMP_SGE, P::ICMP_UGE);
  case OpKind::LogicalAnd:
    return b.CreateAnd(truth(a[0], t), truth(a[1], t));
  case OpKind::LogicalOr:
    return b.CreateOr(truth(a[0], t), truth(a[1], t));
  case OpKind::LogicalXor:
    return b.CreateXor(truth(a[0], t), truth(a[1], t));
  case OpKind::LogicalNot:
    return b.CreateNot(truth(a[0], t));
  case OpKind::BitAnd:
    return b.CreateAnd(a[0], a[1]);
  case OpKind::BitOr:
    return b.CreateOr(a[0], a[1]);
  case OpKind::BitXor:
    return b.CreateXor(a[0], a[1]);
  case OpKind::Invert:
    return b.CreateNot(a[0]);
  case OpKind::Neg:
    return f ? b.CreateFNeg(a[0]) : b.CreateSub(c(0), a[0]);
  case OpKind::Abs:
    if (f)
      return intrinsic(I::fabs, {a[0]});
    if (s)
      return b.CreateSelect(b.CreateICmpSLT(a[0], c(0)), b.CreateSub(c(0), a[0]), a[0]);
    return a[0];
  case OpKind::Sign: {
    if (!f && !s)
      return b.CreateSelect(b.CreateICmpNE(a[0], c(0)), c(1), c(0));
    Value *pos = f ? b.CreateFCmpOGT(a[0], c(0)) : b.CreateICmpSGT(a[0], c(0));
    Value *neg = f ? b.CreateFCmpOLT(a[0], c(0)) : b.CreateICmpSLT(a[0], c(0));
    Value *r = b.CreateSelect(pos, c(1), b.CreateSelect(neg, c(-1), c(0)));
    return f ? b.CreateSelect(b.CreateFCmpUNO(a[0], a[0]), a[0], r) : r;
  }
  case OpKind::Round:
    return f ? intrinsic(I::roundeven, {a[0]}) : a[0];
  case OpKind::Floor:
    return intrinsic(I::floor, {a[0]});
  case OpKind::Ceil:
    return intrinsic(I::ceil, {a[0]});
  case OpKind::Trunc:
    return intrinsic(I::trunc, {a[0]});
  case OpKind::Sqrt:
    return intrinsic(I::sqrt, {a[0]});
  case OpKind::IsNan:
    return f ? b.CreateFCmpUNO(a[0], a[0]) : b.getInt1(false);
  case OpKind::IsInf:
    return f ? b.CreateFCmpOEQ(intrinsic(I::fabs, {a[0]}),
                               c(std::numeric_limits<double>::infinity()))
             : b.getInt1(false);
  case OpKind::Switch:
    return b.CreateSelect(a[0], a[1], a[2]);
  case OpKind::Sigmoid: { // one exp of a non-positive number: no overflow
    Value *e = callMath("exp", t, {b.CreateFNeg(intrinsic(I::fabs, {a[0]}))});
    Value *den = b.CreateFAdd(c(1), e);
    return b.CreateSelect(b.CreateFCmpOGE(a[0], c(0)), b.CreateFDiv(c(1), den),
                          b.CreateFDiv(e, den));
  }
  case OpKind::Softplus: {
    Value *e = callMath("exp", t, {b.CreateFNeg(intrinsic(I::fabs, {a[0]}))});
    Value *l = callMath("log1p", t, {e});
    return b.CreateSelect(b.CreateFCmpOGT(a[0], c(0)), b.CreateFAdd(a[0], l), l);
  }
#define THJIT_MATH(KIND, NAME)                                                 \
  case OpKind::KIND:                                                           \
    return callMath(NAME, t, a);
    THJIT_MATH(Exp, "exp")
    THJIT_MATH(Exp2, "exp2")
    THJIT_MATH(Expm1, "expm1")
    THJIT_MATH(Log, "log")
    THJIT_MATH(Log2, "log2")
    THJIT_MATH(Log10, "log10")
    THJIT_MATH(Log1p, "log1p")
    THJIT_MATH(Sin, "sin")
    THJIT_MATH(Cos, "cos")
    THJIT_MATH(Tan, "tan")
    THJIT_MATH(Arcsin, "asin")
    THJIT_MATH(Arccos, "acos")
    THJIT_MATH(Arctan, "atan")
    THJIT_MATH(Sinh, "sinh")
    THJIT_MATH(Cosh, "cosh")
    THJIT_MATH(Tanh, "tanh")
    THJIT_MATH(Arcsinh, "asinh")
    THJIT_MATH(Arccosh, "acosh")
    THJIT_MATH(Arctanh, "atanh")
    THJIT_MATH(Erf, "erf")
    THJIT_MATH(Erfc, "erfc")
#undef THJIT_MATH
  default:
    throw CompileError(std::string("the CPU back end cannot lower ") +
                       opName(kind));
  }
}

} // namespace thjit::codegen
