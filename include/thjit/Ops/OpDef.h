//===- thjit/Ops/OpDef.h - What every op provides ---------------*- C++ -*-===//
///
/// \file
/// An OpDef is one op's whole story, defined in lib/Ops/<Family>.cpp: type
/// inference, symbolic shape inference, the reference kernel (the semantics:
/// constant folding, the debug mode and the tests compare against it) and
/// the gradient (L-op). The table is built once from an explicit list of the
/// families (no static constructors).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_OPS_OPDEF_H
#define THJIT_OPS_OPDEF_H

#include "thjit/IR/Graph.h"
#include "thjit/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace thjit {

/// The symbolic shape of a value: one int64 scalar per axis.
using SymShape = std::vector<Var>;

struct OpDef {
  /// The result types for these operands and attributes. Throws TypeError or
  /// ValueError with a message that names the problem (the caller prefixes
  /// the op's name).
  std::vector<const TensorType *> (*inferTypes)(
      OpKind kind, const std::vector<Var> &operands,
      const Attrs &attrs) = nullptr;
  /// The shapes of the results as int64 scalar graphs, given the operands'.
  std::vector<SymShape> (*inferShape)(
      const Node &node, const std::vector<SymShape> &operands) = nullptr;
  /// The reference kernel: fresh results (or views of operands) for these
  /// operand values. Throws ShapeError/IndexError/ValueError for bad values.
  std::vector<NDArray> (*evaluate)(
      const Node &node, const std::vector<NDArray> &operands) = nullptr;
  /// Gradients with respect to each operand given the gradients of the
  /// results (an undefined Var is a result nothing depends on). An undefined
  /// Var in the answer means "no gradient" (integer operands, indices).
  /// Null when the op is not differentiable at all.
  std::vector<Var> (*lop)(const Node &node,
                          const std::vector<Var> &resultGrads) = nullptr;
  /// One line for the op reference.
  const char *doc = "";
  /// Forward mode (R-op): the tangents of the results (J . v) given the
  /// tangents of the operands (an undefined Var is a zero tangent or an
  /// operand without one: integers, indices). An undefined result tangent
  /// is zero. Null when the op is not differentiable.
  std::vector<Var> (*rop)(const Node &node,
                          const std::vector<Var> &operandTangents) = nullptr;
  /// The batch rule (vectorization): the node applied to each item of a
  /// batch stacked along a new leading axis of size `n`. operands[i] has
  /// that axis where batched[i]; elsewhere it is the node's own operand,
  /// the same for every item. A result has the batch axis, or keeps its
  /// rank when it is the same for every item (the shape of a batched
  /// value). Rules read only ranks and attributes from `node`: the node's
  /// batched operands must not reach the answer. Throws
  /// NotImplementedError (cannotVectorize) where an operand that must be
  /// one value for all items (a size, an index) varies.
  std::vector<Var> (*vectorize)(const Node &node,
                                const std::vector<Var> &operands,
                                const std::vector<bool> &batched,
                                const Var &n) = nullptr;
};

/// The definition of an op kind.
const OpDef &opDef(OpKind kind);
/// Every op kind with its family and description: plain text (one line
/// each, for `thjit --list-ops`) or the Markdown of docs/ops.md.
std::string describeOps(bool markdown);

/// The families fill their entries of the table.
void registerElemwiseOps(OpDef *table);
void registerReduceOps(OpDef *table);
void registerBlasOps(OpDef *table);
void registerShapeOps(OpDef *table);
void registerSubtensorOps(OpDef *table);
void registerNNetOps(OpDef *table);
void registerGradControlOps(OpDef *table);
void registerOpFromGraphOps(OpDef *table);
void registerTransferOps(OpDef *table);

/// R-ops the families share.
/// For ops linear in their first `values` operands jointly (all when -1;
/// dimshuffle, sum, join, set_subtensor, ...): the op applied to their
/// tangents (zeros where one has none, integers included); the operands
/// after them (indices, sizes) stay.
std::vector<Var> linearRop(const Node &node, const std::vector<Var> &tangents,
                           int values);
std::vector<Var> linearRop(const Node &node, const std::vector<Var> &tangents);
/// For ops linear in each float operand separately (products): the sum over
/// operands of the op with that operand replaced by its tangent.
std::vector<Var> multilinearRop(const Node &node,
                                const std::vector<Var> &tangents);
/// Fits a tangent to the value it is the tangent of: its dtype, and its
/// shape where the tangent broadcasts and the value does not.
Var fitTangent(const Var &t, const Var &x);

/// Batch rules the families share (see OpDef::vectorize).
/// An unbatched x with a batch axis of size n: broadcast copies.
Var batchOf(const Var &x, const Var &n);
/// A batched value whose items are given rank `rank`: new broadcastable
/// axes just after the batch axis (NumPy's right alignment of the items).
Var alignBatched(const Var &x, int rank);
/// Ops that broadcast their operands element-wise: the batched operands
/// aligned to the result's rank, then the op itself.
std::vector<Var> elementwiseVectorize(const Node &node,
                                      const std::vector<Var> &operands,
                                      const std::vector<bool> &batched,
                                      const Var &n);
/// NotImplementedError: `what` of `node` (a size, an index) would differ
/// between the items of a batch.
[[noreturn]] void cannotVectorize(const Node &node, const std::string &what);

/// Result types by inference, for the verifier.
std::vector<const TensorType *> inferNodeTypes(const Node &node);
/// The symbolic shape of every result of `node` (operand shapes computed
/// recursively, leaves by shape_i).
std::vector<SymShape> inferNodeShape(const Node &node);
/// Evaluates a graph's outputs with the reference kernels, given values for
/// its inputs (the evaluator of function()'s REFERENCE mode).
std::vector<NDArray> evaluateGraph(const Graph &g,
                                   const std::vector<NDArray> &inputValues);
/// Evaluates a node's reference kernel; errors get the node's creation
/// place appended.
std::vector<NDArray> evaluateNode(const Node &node,
                                  const std::vector<NDArray> &operands);

/// Eager NumPy arithmetic (no graph): the element-wise op `kind` with NumPy's
/// broadcasting, on arrays of any dtypes; `castTo` for Cast.
NDArray evalElemwise(OpKind kind, const std::vector<NDArray> &operands,
                     std::optional<DType> castTo = {});

/// The dtype an element-wise op computes in (operands are converted to it
/// first, NumPy's loop type) and the dtype of its result.
struct ElemwiseDTypes {
  DType compute, result;
};
/// TypeError naming the op when the dtypes do not fit it.
ElemwiseDTypes elemwiseDTypes(OpKind kind, const std::vector<DType> &operands,
                              std::optional<DType> castTo = {});

/// Which of x's `ndim` axes a reduction (sum, prod, max, min, all, any,
/// argmax, argmin) of x reduces: attrs.axes, or every axis for an
/// arg-reduction without one (its index is then flat).
std::vector<int> reducedAxes(OpKind kind, const Attrs &attrs, int ndim);
/// Whether a reduction of no elements has a value (the identity of sum,
/// prod, all, any); max, min, argmax and argmin raise ValueError.
bool reductionHasIdentity(OpKind kind);

/// Element-wise nodes that compiled code can fuse: one result, no complex
/// values.
bool isFusible(const Node &n);
/// One composite node computing `root` (a fusible node's result): the
/// nodes `inside` accepts (and root's) become ops of its scalar program
/// (a composite's program is inlined), every other value an operand, as
/// `operandOf` maps it. Undefined when that makes fewer than two ops.
Var composeElementwise(const Var &root,
                       const std::function<bool(const Node &)> &inside,
                       const std::function<Var(const Var &)> &operandOf);
/// One composite node with a result for each of `roots` (fusible nodes'
/// results, of one shape): a loop that computes several values at once.
/// Empty when that makes fewer than two ops.
std::vector<Var>
composeElementwise(const std::vector<Var> &roots,
                   const std::function<bool(const Node &)> &inside,
                   const std::function<Var(const Var &)> &operandOf);

/// numpy.tensordot as one matrix product, for operands of shapes a and b:
/// a's free axes then its contracted ones make an m x k matrix (permA), b's
/// contracted axes then its free ones a k x n matrix (permB).
struct TensordotLayout {
  std::vector<int> permA, permB;
  int64_t m = 1, k = 1, n = 1;
  Shape shape;       ///< the result's: a's free sizes, then b's
  int mismatch = -1; ///< the first contracted pair whose sizes differ
};
TensordotLayout tensordotLayout(const Shape &a, const Shape &b,
                                const std::vector<int> &axesA,
                                const std::vector<int> &axesB);
/// A tensordot node's contracted axes of a and of b (its attrs' halves).
void splitTensordotAxes(const Attrs &attrs, std::vector<int> &axesA,
                        std::vector<int> &axesB);

/// A product node (dot, batched_dot, tensordot, gemm) as back ends without a
/// matrix-product library for its dtypes compute it: the operands' axes
/// lined up by dimshuffle (batch, free axes of a, contracted axes, free
/// axes of b), multiplied element by element and summed over the
/// contracted axes, then cast to the product's dtype. Integers agree with
/// the reference bit for bit (products wrap and sums are taken modulo the
/// same power of two); floats are computed in float64. Null for complex
/// dtypes, and where a size-1 contracted or batch axis on one side would
/// broadcast instead of being checked. A gemm is that sum scaled and added
/// to beta * C in one fused loop.
Var productAsSum(const Node &product);

/// What shared(value, ..., "cuda") calls to check that there is a device
/// (it raises the runtime's error when there is none). The runtime, which
/// the operations library cannot see, sets it when it is linked in
/// (lib/Runtime/CUDA.cpp); unset, a shared variable on "cuda" is made and
/// the first function that reads it raises.
void setCUDADeviceCheck(void (*check)());

/// Helpers the families share.
/// The 64-bit type reference kernels compute in for a dtype: int64 (bool
/// and signed ints), uint64, float64 (all floats) or complex128. Storing the
/// result back applies integer wrap-around and float rounding once.
DType kernelDType(DType t);
/// Normalizes an axis against a rank (negative counts from the end);
/// ValueError naming `op` when out of range.
int normalizeAxis(int axis, int ndim, const char *op);
/// The static integer value of a 0-d constant (or of a shape_i whose size
/// the type knows), if any.
std::optional<int64_t> staticInt(const Var &v);
/// Fits a gradient to the type of the value it is the gradient of: sums
/// the leading axes `g` has in excess and the axes `x` broadcasts (size 1)
/// where `g` does not, then casts to x's dtype.
Var fitGradient(const Var &g, const Var &x);
/// Python's slice.indices: start and stop (absent: the default for the
/// step's sign) clamped into range for an axis of `len` elements.
void sliceIndices(int64_t len, std::optional<int64_t> start, std::optional<int64_t> stop,
                  int64_t step, int64_t &first, int64_t &last);

/// The basic index `spec` applied to `x` with the values of its operands:
/// a view. IndexError for an index out of range, ValueError for a zero step.
/// Array is NDArray, or any array type with the same dim, select, slice
/// and expandDims (the GPU runtime's device arrays).
template <class Array>
Array applyIndex(const Array &x, const std::vector<IndexEntry> &spec,
                 const std::vector<NDArray> &indexValues) {
  Array r = x;
  int axis = 0, next = 0; // axis of r being indexed
  for (const IndexEntry &e : spec) {
    if (e.kind == IndexEntry::NewAxis) {
      r = r.expandDims(axis++);
      continue;
    }
    const int64_t len = r.dim(axis);
    if (e.kind == IndexEntry::Int) {
      const int64_t i = indexValues[next++].item().toInt();
      if (i < -len || i >= len)
        throw IndexError("index " + std::to_string(i) + " is out of bounds for axis " +
                         std::to_string(axis) + " with size " + std::to_string(len));
      r = r.select(axis, i < 0 ? i + len : i);
      continue;
    }
    std::optional<int64_t> start, stop;
    int64_t step = 1;
    if (e.hasStart)
      start = indexValues[next++].item().toInt();
    if (e.hasStop)
      stop = indexValues[next++].item().toInt();
    if (e.hasStep)
      step = indexValues[next++].item().toInt();
    if (step == 0)
      throw ValueError("slice step cannot be zero");
    int64_t first, last;
    sliceIndices(len, start, stop, step, first, last);
    r = r.slice(axis++, first, last, step);
  }
  return r;
}

/// What set_subtensor or inc_subtensor node n writes into x (the memory of
/// its operand in[0], or a copy of it): prepareSubtensorWrite checks the
/// index and the shapes (IndexError, ShapeError) and writes nothing; commit
/// writes. The value is copied first where it shares x's memory.
struct SubtensorWrite {
  NDArray view, value;
  bool increment = false;
  void commit();
};
SubtensorWrite prepareSubtensorWrite(const Node &n, const NDArray &x,
                                     const std::vector<NDArray> &in);

/// The basic part of the index of an advanced_subtensor,
/// advanced_set_subtensor or advanced_inc_subtensor node n (its slices and
/// new axes, a full slice for each integer or array entry) with its values
/// from `in` (n's operand values): applyIndex(x, spec, values) is the view
/// V the index arrays then index.
struct AdvancedBasicIndex {
  std::vector<IndexEntry> spec;
  std::vector<NDArray> values;
};
AdvancedBasicIndex advancedBasicIndex(const Node &n, const std::vector<NDArray> &in);

/// What n's advanced index selects from V, resolved on the host: element
/// k of B (the index arrays' broadcast shape, row-major) selects the
/// sub-array of V that starts at V's element offsets[k] and steps by
/// restStrides over restShape (V's axes no array indexes, in order).
/// Arrays in any memory (the GPU's) are indexed with it, V's strides
/// being the memory's.
struct AdvancedSelection {
  Shape shape;                  ///< x[index]'s
  std::vector<int> bFirst;      ///< shape's axes, B's first (a permutation)
  Shape b;                      ///< B
  NDArray offsets;              ///< int64, shape B, contiguous; in elements
  Shape restShape, restStrides; ///< the sub-arrays'
};
/// n's index arrays (and integers, masks) in `in` (n's operand values;
/// only the index's are read) resolved against V's shape and strides:
/// IndexError as NumPy's for an index out of range, a mask of the wrong
/// shape, or arrays that do not broadcast.
AdvancedSelection selectAdvanced(const Node &n, const Shape &vShape, const Shape &vStrides,
                                 const std::vector<NDArray> &in);

} // namespace thjit

#endif
