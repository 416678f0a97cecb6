//===- Blas.h - Matrix products through OpenBLAS ----------------*- C++ -*-===//
///
/// \file
/// The runtime's BLAS calls: dot, gemm (gemv, ger, the dot of two vectors
/// by the operands' ranks), batched_dot and tensordot. Operands BLAS reads
/// as they are (rows or columns of unit stride, positive leading dimension:
/// a transposed view is a flag) are not copied; others are copied first.
/// THJIT_TRACE_BLAS=1 prints every call and every copy to stderr.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_CPU_BLAS_H
#define THJIT_CODEGEN_CPU_BLAS_H

#include "thjit/Array/NDArray.h"
#include "thjit/IR/Node.h"

#include <vector>

namespace thjit::codegen {

/// A vector or matrix as BLAS sees it, owning nothing: what a step's
/// descriptor in the frame, or an NDArray, says.
struct BlasOperand {
  std::byte *data = nullptr;
  int ndim = 0;
  int64_t dim[2] = {1, 1};
  int64_t stride[2] = {0, 0};
};
BlasOperand blasOperand(const NDArray &a);

/// Whether BLAS reads m as it is (else it must be copied).
bool blasReadable(const BlasOperand &m);

/// out = alpha * (a . b) + beta * out in dtype t (float32 or float64): a and
/// b vectors or matrices BLAS reads as they are, with a's last dimension
/// b's first; out contiguous, of the product's shape, not read when beta is
/// 0. a and b are not read when alpha is 0.
void blasGemm(DType t, double alpha, const BlasOperand &a,
              const BlasOperand &b, double beta, const BlasOperand &out);

/// Whether THJIT_TRACE_BLAS asks for every call to be printed.
bool traceBlas();

/// The shape of the product node n (dot, gemm, batched_dot, tensordot)
/// computes of its operands.
Shape productShape(const Node &n, const std::vector<NDArray> &in);

/// out = the product node n computes of `in`, out contiguous of the
/// product's shape and of dtype float32 or float64. Operands of another
/// dtype or layout are copied. False (nothing done) when BLAS cannot take
/// them or the shapes disagree: the reference kernel then runs and raises.
bool blasProduct(const Node &n, const std::vector<NDArray> &in, NDArray &out);

/// gemm over its C (in[0], contiguous): c = alpha * a . b + beta * c, when
/// `write`; only the checks otherwise. False when BLAS cannot take the
/// operands (the reference kernel must then compute the value).
bool gemmOver(const std::vector<NDArray> &in, bool write);

} // namespace thjit::codegen

#endif
