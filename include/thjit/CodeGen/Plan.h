//===- thjit/CodeGen/Plan.h - How a graph maps onto one entry point -*- C++ -*-===//
///
/// \file
/// The lowering plan of a graph: which values the compiled entry point
/// computes, where each value's descriptor lives in the call frame, which
/// steps run natively and which call back into the runtime, and which
/// persistent buffer (slot) each computed value writes. The plan is a pure
/// function of the graph, so a cached object file is reused with a plan
/// rebuilt from the same graph.
///
/// Frame layout: every value has a descriptor of 1 + 2 * ndim int64 words:
/// the data pointer, the shape, then the strides (in elements).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_PLAN_H
#define THJIT_CODEGEN_PLAN_H

#include "thjit/IR/Graph.h"
#include "thjit/IR/ScalarProgram.h"

#include <memory>
#include <vector>

namespace thjit::codegen {

/// How a step is executed.
enum class StepKind {
  Elemwise,   ///< a generated loop over a scalar program
  Reduce,     ///< a generated reduction loop
  DimShuffle, ///< a view: the descriptor is permuted, nothing is copied
  ShapeI,     ///< one dimension of an operand, as a 0-d int64
  Runtime,    ///< a call into the runtime (BLAS, or the reference kernel)
};

/// Who owns the memory a value's data pointer points into.
enum class RootKind { Input, Shared, Constant, Slot, RuntimeResult };

struct ValueInfo {
  Var var;
  DType dtype = DType::Float64;
  int ndim = 0;
  /// The first word of the descriptor in the frame.
  int frameOffset = 0;
  RootKind root = RootKind::Slot;
  /// Input, shared or constant index; slot number; or the value itself for
  /// RuntimeResult.
  int rootIndex = 0;
  /// The value whose memory this one views (itself when it owns memory).
  int owner = 0;
};

struct Step {
  StepKind kind;
  Node *node = nullptr;
  std::vector<int> operands;
  std::vector<int> results;
  /// Elemwise and Reduce: the first frame word of the step's argument
  /// block, what its kernels receive: a pointer to the descriptor of each of
  /// kernelValues(), then the scratch words (-1 when none). Kernels see
  /// nothing of the frame but this block, so steps that differ only in
  /// where their values live share one kernel.
  int args = -1;
  /// First frame word of the step's scratch space (-1 when none).
  int scratch = -1;
  /// Elemwise and Reduce: what one element (of the result, or of what is
  /// reduced) computes; input k is operand k. 0-d constants whose value
  /// shapes the code (exponents, divisors) are folded in as immediates; the
  /// program reads only what it needs.
  std::shared_ptr<const ScalarProgram> program;
  /// Reduce: the element-wise node fused into the reduction when the
  /// reduction was its only reader (`operands` are then the producer's), or
  /// null. Its result (`source`) has a descriptor for its shape and no
  /// memory: each element is computed where it is accumulated.
  Node *producer = nullptr;
  int source = -1;
  /// When the step computes part of a user's node that was lowered to
  /// several steps (a product of integers as a sum of products): that node
  /// and the values of its operands. A failing step re-runs its reference
  /// kernel, which raises the error the user's code gets.
  Node *origin = nullptr;
  std::vector<int> originOperands;
  /// Reduce: a slot of its own for the partial results of a parallel full
  /// reduction (its address goes in the scratch word).
  int scratchSlot = -1;

  /// The values whose descriptors a kernel of this step reads, in its
  /// argument block's order: operands, results, then a Reduce's source.
  std::vector<int> kernelValues() const {
    std::vector<int> v = operands;
    v.insert(v.end(), results.begin(), results.end());
    if (kind == StepKind::Reduce)
      v.push_back(source);
    return v;
  }
};

struct Plan {
  std::vector<ValueInfo> values;
  std::vector<Step> steps;
  /// The value of each graph input, shared variable and constant.
  std::vector<int> inputValues;
  std::vector<Var> shareds;
  std::vector<int> sharedValues;
  std::vector<NDArray> constants;
  std::vector<int> constantValues;
  /// The value of each graph output.
  std::vector<int> outputValues;
  int numSlots = 0;
  int frameSize = 0;
  /// The entry reports the end of every step to the runtime (PROFILE).
  bool profile = false;

  /// The frame word of descriptor field: data (0), shape[i], strides[i].
  int dataWord(int v) const { return values[v].frameOffset; }
  int shapeWord(int v, int i) const { return values[v].frameOffset + 1 + i; }
  int strideWord(int v, int i) const {
    return values[v].frameOffset + 1 + values[v].ndim + i;
  }
};

/// How the CPU back end runs this node: generated code, or (Runtime) a
/// library call or its reference kernel.
StepKind stepKindFor(const Node &node);

/// The scalar program of an element-wise node (a composite's own, or the
/// node's op applied to its operands), with the 0-d constant operands whose
/// value shapes the code folded in as immediates.
ScalarProgram programOf(const Node &n);

/// Products that run through BLAS where the dtypes allow (dot, batched_dot,
/// tensordot, gemm): their results get slots, for BLAS to write into.
inline bool isBlasProduct(OpKind k) {
  return k == OpKind::Dot || k == OpKind::BatchedDot ||
         k == OpKind::TensorDot || k == OpKind::Gemm;
}
/// The result dtypes BLAS computes in (operands are converted to them).
inline bool isBlasDType(DType t) {
  return t == DType::Float32 || t == DType::Float64;
}

/// Scratch words a step of this kind has in the frame (after its
/// argument block's descriptor pointers).
int scratchWords(StepKind k);

Plan makePlan(const Graph &g);

} // namespace thjit::codegen

#endif
