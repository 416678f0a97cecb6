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
#include <string>
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
  /// The result of an update written in its shared variable's memory when
  /// the call allows it (Plan::sharedInPlaceWords): that variable's index,
  /// else -1.
  int inPlaceShared = -1;
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
  /// The operand whose memory the result takes, or -1. Elemwise: the
  /// operand has the result's shape and dtype and is read by nothing after
  /// this step (the loop writes each element where it read it), or it is a
  /// shared variable this step updates and the call says it may (see
  /// Plan::sharedInPlaceWords). Set/IncSubtensor (0): x's memory is read by
  /// nothing after this step; the runtime writes there when nothing else
  /// holds it (else copies, as the reference kernel does).
  int inPlace = -1;

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
  /// For each output, the shared variable (index in `shareds`) it is the
  /// new value of, or -1.
  std::vector<int> outputUpdates;
  /// Steps from here on update shared variables in their own memory
  /// (in place, as SGD does). They run in two phases: each checks its
  /// operands (shapes, indices) first, then each writes, so that a failed
  /// call changes no shared variable. They come last, and a step that reads
  /// a variable comes before the step that writes it.
  int firstCommit = 0;
  /// For each shared variable, the frame word the call sets to 1 when a
  /// step may write the new value over the old (nothing else holds the old
  /// value, and nothing in the call writes it in the meantime), or -1 when
  /// no step ever does.
  std::vector<int> sharedInPlaceWords;
  /// The entry reports the end of every step to the runtime (PROFILE).
  bool profile = false;

  /// The frame word of descriptor field: data (0), shape[i], strides[i].
  int dataWord(int v) const { return values[v].frameOffset; }
  int shapeWord(int v, int i) const { return values[v].frameOffset + 1 + i; }
  int strideWord(int v, int i) const {
    return values[v].frameOffset + 1 + values[v].ndim + i;
  }
};

/// What a plan is for. Products BLAS cannot take (integers, booleans,
/// float16) are planned as their sum-of-products loops for the CPU; for
/// the GPU, those a GEMM kernel computes (float16) stay product steps.
/// float16 reductions are generated for the GPU (which accumulates their
/// sums in double, as the reference kernel) and left to the reference
/// kernel on the CPU.
enum class PlanTarget { CPU, GPU };

/// How a back end runs this node: generated code, or (Runtime) a library
/// call or its reference kernel.
StepKind stepKindFor(const Node &node, PlanTarget target = PlanTarget::CPU);

/// The scalar program of an element-wise node (a composite's own, or the
/// node's op applied to its operands), with the 0-d constant operands whose
/// value shapes the code folded in as immediates.
ScalarProgram programOf(const Node &n);
/// A scalar program bit for bit (immediates in hex), for the keys under
/// which steps share kernels (CPU and PTX).
std::string programKey(const ScalarProgram &p);

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

/// The sum-of-products form (productAsSum, OpDef.h) the plan computes
/// product n as, or null where n stays one product step: on the CPU, the
/// products BLAS computes (float32, float64); on the GPU, those a GEMM
/// kernel does (matrices of floats, gemmSpecFor in lib/CodeGen/GPU/Gemm.h).
/// The GPU sums the others, products with a vector factor included: a
/// matrix-vector product is a reduction along the matrix's rows or columns.
Var productAsSumFor(const Node &n, PlanTarget target);

/// The user's node a step computes (part of): its origin where a lowering
/// made it (a sum of products), else its own node. Where the step runs is
/// where that node was placed (nodesOnGPU, Transfer.h).
inline const Node *userNode(const Step &s) { return s.origin ? s.origin : s.node; }

/// An element-wise step's scratch words before the slots of its results
/// after the first: collapsed inner dims, rows, streaming, total, contiguous.
constexpr int kElemwiseScratch = 5;

/// Scratch words a step has in the frame (after its argument block's
/// descriptor pointers).
int scratchWords(const Step &s);

/// For each output of g, the index in g.sharedVariables() of the shared
/// variable `updates` says it is the new value of, or -1.
std::vector<int> updateIndices(const Graph &g, const std::vector<Var> &updates);

/// The plan of a graph whose output o (where `updates[o]` is defined) is
/// the new value of that shared variable: such updates may be written in
/// the variable's own memory.
Plan makePlan(const Graph &g, const std::vector<Var> &updates = {},
              PlanTarget target = PlanTarget::CPU);

/// The plan as text, one line per step: what it computes, how, and where
/// its result lives (`--emit=plan`). With `where` (one entry per step: a
/// GPU function's plan), each step ends with its entry instead: where it
/// runs and with which kernels.
std::string printPlan(const Plan &plan, const std::vector<std::string> &where = {});

} // namespace thjit::codegen

#endif
