//===- ScalarEmitter.h - Scalar ops to LLVM IR ------------------*- C++ -*-===//
///
/// \file
/// One table from element-wise op to LLVM IR, shared by every loop that
/// computes elements (element-wise loops, reduction producers) and by every
/// target. Values live in registers by dtype: bool as i1, integers as iN,
/// float16 widened to float (it is a storage type), float32 and float64 as
/// themselves. Semantics are the reference kernels' (lib/Ops/Elemwise.cpp):
/// operands convert to the op's compute dtype first, integers wrap, integer
/// division by zero gives 0, float-to-int conversion saturates with NaN to 0.
/// Nothing emitted has undefined behaviour.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_SCALAREMITTER_H
#define THJIT_CODEGEN_SCALAREMITTER_H

#include "thjit/Array/DType.h"
#include "thjit/IR/Node.h"

#include "llvm/IR/IRBuilder.h"

#include <optional>
#include <vector>

namespace thjit::codegen {

class ScalarEmitter {
public:
  explicit ScalarEmitter(llvm::IRBuilder<> &b);

  /// The register type of a dtype and the in-memory type.
  llvm::Type *regType(DType t) const;
  llvm::Type *memType(DType t) const;
  llvm::Value *load(llvm::Value *ptr, DType t);
  void store(llvm::Value *reg, llvm::Value *ptr, DType t);
  /// What load and store do to a value besides the memory access (bool is
  /// a byte in memory, float16 computes in float).
  llvm::Value *fromMemory(llvm::Value *v, DType t);
  llvm::Value *toMemory(llvm::Value *reg, DType t);
  /// NumPy's conversion (astype) between register values.
  llvm::Value *convert(llvm::Value *v, DType from, DType to);
  llvm::Value *doubleToHalf(llvm::Value *v);
  /// A register constant.
  llvm::Value *constant(DType t, double v);

  /// One element-wise op on register operands of the given dtypes; the
  /// result has dtype `result`.
  llvm::Value *emit(OpKind kind, const std::vector<llvm::Value *> &args,
                    const std::vector<DType> &argTypes, DType result,
                    std::optional<DType> castTo = {});
  /// A whole program: the values of its outputs. Inputs the program does
  /// not read may be null. A power by a small integer immediate becomes
  /// multiplications (see docs/math-accuracy.md), by 0.5 a square root.
  std::vector<llvm::Value *> emit(const ScalarProgram &p,
                                  const std::vector<llvm::Value *> &inputs);

  /// An i1 that is true when some emitted op hit an error (an integer to a
  /// negative power); null when none can.
  llvm::Value *errorFlag() const { return error; }
  void resetErrorFlag() { error = nullptr; }

  /// A call to a libm function of the float type `t` ("exp" or "expf"),
  /// declared without side effects so that loops vectorize through the
  /// vector library.
  llvm::Value *callMath(const char *name, DType t,
                        const std::vector<llvm::Value *> &args);

private:
  llvm::Value *compute(OpKind kind, std::vector<llvm::Value *> a, DType t);
  llvm::Value *truth(llvm::Value *v, DType t);
  llvm::Value *intPow(llvm::Value *a, llvm::Value *b, DType t);
  llvm::Value *powBySquaring(llvm::Value *x, unsigned n, DType t);
  llvm::Value *powByConstant(llvm::Value *x, const ScalarProgram::Op &e,
                             DType xType, DType result);
  llvm::Value *intrinsic(llvm::Intrinsic::ID id,
                         const std::vector<llvm::Value *> &args);

  llvm::IRBuilder<> &b;
  llvm::Value *error = nullptr;
};

/// The libm functions the vector library maps: scalar name, number of
/// arguments. Used to register libmvec's variants with the optimizer.
struct MathFunction {
  const char *name;
  int arity;
};
const std::vector<MathFunction> &vectorizableMathFunctions();

} // namespace thjit::codegen

#endif
