//===- thjit/Ops/Ops.h - Building graphs: the op set ------------*- C++ -*-===//
///
/// \file
/// The functions that build graphs, under Theano's and NumPy's names. Each
/// infers its result type (a TypeError or ValueError naming the op and the
/// operand types when the operands do not fit) and returns a hash-consed
/// node's value. Python numbers (an `Operand` made from a C++ number) are
/// weakly typed as in NumPy's NEP 50: `f32 * 2.0` stays float32.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_OPS_OPS_H
#define THJIT_OPS_OPS_H

#include "thjit/IR/Node.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace thjit {

/// A tensor, or a Python number whose dtype is decided by the tensors it is
/// combined with.
class Operand {
public:
  Operand(const Var &v) : var(v) {}
  Operand(bool v) : number(Scalar::fromBool(v)), kind(PyScalarKind::Bool) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> &&
                                          !std::is_same_v<T, bool>,
                                      int> = 0>
  Operand(T v) : number(Scalar::fromInt((int64_t)v)), kind(PyScalarKind::Int) {}
  Operand(double v) : number(Scalar(v)), kind(PyScalarKind::Float) {}
  Operand(float v) : Operand((double)v) {}
  Operand(std::complex<double> v)
      : number(Scalar(v)), kind(PyScalarKind::Complex) {}
  /// A Python number of the given kind.
  Operand(const Scalar &v, PyScalarKind k) : number(v), kind(k) {}

  bool isVar() const { return var.defined(); }
  const Var &asVar() const { return var; }
  const Scalar &pyValue() const { return number; }
  PyScalarKind pyKind() const { return kind; }

private:
  Var var;
  Scalar number;
  PyScalarKind kind = PyScalarKind::Float;
};

/// Converts operands to tensors, typing Python numbers from the tensors among
/// them (NEP 50); with no tensor, a Python int is int64 and a float float64.
/// `op` names the operation in errors (e.g. an int too large for int8).
std::vector<Var> asTensors(const std::vector<Operand> &operands,
                           const char *op);
/// One operand as a tensor on its own (Python numbers: int64, float64, ...).
Var asTensor(const Operand &operand);

/// Makes a node of `kind`: infers its result types (errors name the op),
/// then hash-conses. The generic entry the named builders below use.
std::vector<Var> makeOp(OpKind kind, std::vector<Var> operands,
                        Attrs attrs = {});

// ---- Leaves -------------------------------------------------------------

/// A symbolic input of the given dtype and static shape (kUnknown = -1 for
/// unknown sizes; 1 makes a dimension broadcastable).
Var tensor(DType dtype, const std::vector<int64_t> &shape,
           const std::string &name = "");
/// Theano's constructors: floatX unless a dtype is given.
Var scalar(const std::string &name = "", std::optional<DType> dtype = {});
Var vector(const std::string &name = "", std::optional<DType> dtype = {});
Var matrix(const std::string &name = "", std::optional<DType> dtype = {});
/// A matrix with one row (broadcastable rows): shape (1, ?).
Var row(const std::string &name = "", std::optional<DType> dtype = {});
/// A matrix with one column: shape (?, 1).
Var col(const std::string &name = "", std::optional<DType> dtype = {});
Var tensor3(const std::string &name = "", std::optional<DType> dtype = {});
Var tensor4(const std::string &name = "", std::optional<DType> dtype = {});

/// A shared variable holding a copy of `value`; no dimension is
/// broadcastable unless `broadcastable` says so (Theano's default).
/// `device` "cuda" keeps the value in GPU memory between calls, and makes
/// every function reading it run on the GPU (docs/gpu-backend.md); without
/// a CUDA device, it raises the runtime's RuntimeError at once. "cpu" (the
/// default) keeps it in host memory.
Var shared(const NDArray &value, const std::string &name = "",
           const std::vector<bool> &broadcastable = {},
           const std::string &device = "cpu");
/// A constant; its type has the value's exact shape.
Var constant(const NDArray &value);
Var constant(const Scalar &value);

// ---- Element-wise (NumPy broadcasting; operands of lower rank are aligned
// on the right) ---------------------------------------------------------------

Var add(const Operand &a, const Operand &b);
Var sub(const Operand &a, const Operand &b);
Var mul(const Operand &a, const Operand &b);
/// True division: integers give floats.
Var trueDiv(const Operand &a, const Operand &b);
/// Floor division, NumPy's `//` (integer division by zero gives 0).
Var floorDiv(const Operand &a, const Operand &b);
/// NumPy's `%`: the result takes the sign of the divisor.
Var mod(const Operand &a, const Operand &b);
Var pow(const Operand &a, const Operand &b);
Var maximum(const Operand &a, const Operand &b);
Var minimum(const Operand &a, const Operand &b);
Var arctan2(const Operand &a, const Operand &b);
Var eq(const Operand &a, const Operand &b);
Var neq(const Operand &a, const Operand &b);
Var lt(const Operand &a, const Operand &b);
Var le(const Operand &a, const Operand &b);
Var gt(const Operand &a, const Operand &b);
Var ge(const Operand &a, const Operand &b);
Var logicalAnd(const Operand &a, const Operand &b);
Var logicalOr(const Operand &a, const Operand &b);
Var logicalXor(const Operand &a, const Operand &b);
Var bitwiseAnd(const Operand &a, const Operand &b);
Var bitwiseOr(const Operand &a, const Operand &b);
Var bitwiseXor(const Operand &a, const Operand &b);

Var neg(const Var &x);
Var abs(const Var &x);
Var sign(const Var &x);
Var logicalNot(const Var &x);
Var invert(const Var &x);
Var exp(const Var &x);
Var exp2(const Var &x);
Var expm1(const Var &x);
Var log(const Var &x);
Var log2(const Var &x);
Var log10(const Var &x);
Var log1p(const Var &x);
Var sqrt(const Var &x);
Var sqr(const Var &x);
Var sin(const Var &x);
Var cos(const Var &x);
Var tan(const Var &x);
Var arcsin(const Var &x);
Var arccos(const Var &x);
Var arctan(const Var &x);
Var sinh(const Var &x);
Var cosh(const Var &x);
Var tanh(const Var &x);
Var arcsinh(const Var &x);
Var arccosh(const Var &x);
Var arctanh(const Var &x);
Var floor(const Var &x);
Var ceil(const Var &x);
/// Rounds half to even, as NumPy.
Var round(const Var &x);
Var trunc(const Var &x);
Var erf(const Var &x);
Var erfc(const Var &x);
/// 1 / (1 + exp(-x)), computed without overflow.
Var sigmoid(const Var &x);
/// log(1 + exp(x)), computed without overflow.
Var softplus(const Var &x);
Var isnan(const Var &x);
Var isinf(const Var &x);
/// Converts to another dtype (float to int saturates; NaN gives 0).
Var cast(const Var &x, DType dtype);
/// Theano's switch / NumPy's where: `cond ? a : b` element-wise.
Var where(const Operand &cond, const Operand &a, const Operand &b);
Var clip(const Operand &x, const Operand &lo, const Operand &hi);

/// The element-wise op `kind` on operands (used by the script language).
Var elemwise(OpKind kind, const std::vector<Operand> &operands);
/// Collapses the element-wise sub-graph computing `root` into one composite
/// node whose scalar program compiled code runs as one loop (what the fusion
/// pass does; exposed for tests and benchmarks). Composite nodes have no
/// gradient: take gradients first.
Var fuse(const Var &root);

// ---- Reductions ---------------------------------------------------------

/// The axes to reduce: all of them (None) or a list (negative counts from
/// the end).
struct Axes {
  Axes() = default; // all axes
  Axes(int axis) : list(std::vector<int>{axis}) {}
  Axes(std::vector<int> axes) : list(std::move(axes)) {}
  Axes(std::initializer_list<int> axes) : list(std::vector<int>(axes)) {}
  std::optional<std::vector<int>> list;
};

Var sum(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var prod(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var max(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var min(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var all(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var any(const Var &x, const Axes &axes = {}, bool keepdims = false);
Var mean(const Var &x, const Axes &axes = {}, bool keepdims = false);
/// Variance with `ddof` delta degrees of freedom (0: population variance).
Var var(const Var &x, const Axes &axes = {}, bool keepdims = false,
        int ddof = 0);
Var std(const Var &x, const Axes &axes = {}, bool keepdims = false,
        int ddof = 0);
/// Index of the largest element along `axis` (of the flattened array when
/// none), int64.
Var argmax(const Var &x, std::optional<int> axis = {}, bool keepdims = false);
Var argmin(const Var &x, std::optional<int> axis = {}, bool keepdims = false);

// ---- Linear algebra -----------------------------------------------------

/// numpy.dot for every rank combination NumPy accepts.
Var dot(const Var &a, const Var &b);
/// The outer product of two vectors (flattened first if needed).
Var outer(const Var &a, const Var &b);
/// Theano's batched_dot: dot of a[i] and b[i] for each i of the first axis.
Var batchedDot(const Var &a, const Var &b);
/// numpy.tensordot contracting axesA of a with axesB of b.
Var tensordot(const Var &a, const Var &b, const std::vector<int> &axesA,
              const std::vector<int> &axesB);
/// numpy.tensordot(a, b, axes=n): the last n axes of a with the first n of b.
Var tensordot(const Var &a, const Var &b, int n = 2);
/// The `@` operator (numpy.matmul for ranks 1 and 2).
Var matmul(const Var &a, const Var &b);
/// BLAS's update beta * c + alpha * dot(a, b), with dot's ranks (a and b
/// vectors or matrices; a matrix times a vector is gemv). c has the
/// product's shape; alpha and beta are scalars. A zero beta does not read
/// c, a zero alpha does not read a and b.
Var gemm(const Var &c, const Var &alpha, const Var &a, const Var &b,
         const Var &beta);
/// The rank-1 update a + alpha * outer(x, y) of BLAS's ger, as a gemm.
Var ger(const Var &a, const Var &alpha, const Var &x, const Var &y);

// ---- Gradient controls (the identity on values) ----------------------------

/// x, through which no gradient flows: x counts as a constant for grad.
Var disconnectedGrad(const Var &x);
/// x, whose gradient is zero (x stays connected).
Var zeroGrad(const Var &x);
/// x, whose gradient is clipped element-wise to [lo, hi].
Var gradClip(const Var &x, const Operand &lo, const Operand &hi);
/// x, whose gradient is multiplied by `factor`.
Var gradScale(const Var &x, const Operand &factor);
/// x, whose gradient is undefined: grad raises where it is needed (or gives
/// NaN, see GradOptions::nullGradients).
Var undefinedGrad(const Var &x);
/// The five ops above.
bool isGradControl(OpKind kind);

// ---- Transfers ----------------------------------------------------------

/// x copied to GPU memory, and back: the identity on values (and on
/// gradients). The GPU transfer pass inserts them where a graph moves
/// between the host and the GPU (see thjit/CodeGen/Device.h).
Var gpuFromHost(const Var &x);
Var hostFromGpu(const Var &x);
bool isTransfer(OpKind kind);

// ---- Shapes -------------------------------------------------------------

/// Theano's dimshuffle: pattern[i] is the input axis of output axis i, or
/// -1 for a new broadcastable axis ('x'); only broadcastable axes may be
/// dropped.
Var dimshuffle(const Var &x, const std::vector<int> &pattern);
/// Permutes the axes (reverses them when `perm` is empty).
Var transpose(const Var &x, const std::vector<int> &perm = {});
/// Reshapes to a symbolic int64 vector of sizes of known length; one entry
/// may be -1.
Var reshape(const Var &x, const Var &shape);
/// Reshapes to sizes given one by one (Python numbers or int scalars).
Var reshape(const Var &x, const std::vector<Operand> &shape);
/// Keeps the first ndim-1 axes and flattens the rest into the last.
Var flatten(const Var &x, int ndim = 1);
/// The shape as an int64 vector.
Var shape(const Var &x);
/// The size of one axis as an int64 scalar (a constant when known).
Var shapeOf(const Var &x, int axis);
/// The size of each axis (shapeOf each): x's shape for alloc and zeros.
std::vector<Operand> sizesOf(const Var &x);
/// An int64 vector of scalars.
Var makeVector(const std::vector<Operand> &elements);
/// A new array of shape `shape` filled with `value` (broadcast).
Var alloc(const Operand &value, const std::vector<Operand> &shape);
/// An array shaped as `model` filled with `value`.
Var fill(const Var &model, const Operand &value);
Var zeros(const std::vector<Operand> &shape, std::optional<DType> dtype = {});
Var ones(const std::vector<Operand> &shape, std::optional<DType> dtype = {});
Var zerosLike(const Var &x, std::optional<DType> dtype = {});
Var onesLike(const Var &x, std::optional<DType> dtype = {});
/// numpy.arange; the dtype defaults as NumPy's (int64 for ints, else
/// float64).
Var arange(const Operand &start, const Operand &stop, const Operand &step = 1,
           std::optional<DType> dtype = {});
/// An n x m matrix with ones on diagonal k.
Var eye(const Operand &n, const Operand &m, const Operand &k = 0,
        std::optional<DType> dtype = {});
/// numpy.concatenate / Theano's join.
Var concatenate(const std::vector<Var> &xs, int axis = 0);
/// numpy.stack: joins along a new axis.
Var stack(const std::vector<Var> &xs, int axis = 0);
/// Theano's split: `n` pieces of x along `axis` with the given sizes.
std::vector<Var> split(const Var &x, const Operand &sizes, int n,
                       int axis = 0);

// ---- Indexing -----------------------------------------------------------

/// One entry of an index.
struct Index {
  IndexEntry::Kind kind = IndexEntry::Int;
  std::optional<Operand> value;             ///< Int, Array
  std::optional<Operand> start, stop, step; ///< Slice parts given
  bool ellipsis = false;                    ///< `...`

  static Index at(const Operand &i) {
    Index e;
    e.value = i;
    return e;
  }
  static Index slice(std::optional<Operand> start = {},
                     std::optional<Operand> stop = {},
                     std::optional<Operand> step = {}) {
    Index e;
    e.kind = IndexEntry::Slice;
    e.start = start;
    e.stop = stop;
    e.step = step;
    return e;
  }
  static Index all() { return slice(); }
  /// An integer index array (advanced indexing), or a boolean mask that
  /// covers as many axes as it has. `at` with an array of rank >= 1 is
  /// the same; an array of rank 0 is an integer.
  static Index array(const Operand &a) {
    Index e;
    e.kind = IndexEntry::Array;
    e.value = a;
    return e;
  }
  static Index newAxis() {
    Index e;
    e.kind = IndexEntry::NewAxis;
    return e;
  }
  static Index ellipsisAll() {
    Index e;
    e.kind = IndexEntry::Slice;
    e.ellipsis = true;
    return e;
  }
};

/// x[index] with NumPy's indexing: basic (ints, slices with any step, None,
/// one Ellipsis: a subtensor node, a view) or, when an entry is an array,
/// advanced (an advanced_subtensor node, a copy). Missing trailing entries
/// select everything. Advanced indexing follows NumPy: the index arrays
/// (of any integer dtype; negative entries count from the end) and the
/// integers of the index broadcast together to a shape B, which replaces
/// the axes they index, in their place when they are next to each other in
/// the index, else first. A boolean mask stands for its nonzero() arrays
/// (the result then has a size known only at run time). Index arrays
/// broadcast where their types say so (size 1), as element-wise operands.
Var subtensor(const Var &x, const std::vector<Index> &index);
/// Theano's set_subtensor(x[index], y): x with x[index] replaced by y.
/// `view` must be the result of subtensor(). With an advanced index, a
/// position selected twice gets the last of its values.
Var setSubtensor(const Var &view, const Operand &y);
/// Theano's inc_subtensor(x[index], y): x with y added to x[index]. With an
/// advanced index, a position selected several times gets every increment
/// (numpy.add.at, not NumPy's x[idx] += y).
Var incSubtensor(const Var &view, const Operand &y);

// ---- Graphs as ops (Theano's OpFromGraph) --------------------------------

using GraphOp = std::shared_ptr<const OpGraph>;

struct OpFromGraphOptions {
  /// How the op prints: op_from_graph{name}.
  std::string name = "op_from_graph";
  /// Replace it by its graph when a function using it is compiled, so that
  /// rewrites see inside; otherwise it is compiled once on its own and
  /// called as one step (on the CPU: a function on the GPU inlines every
  /// one).
  bool inlined = false;
  /// See OpGraph::lopOverride, lopThroughGraph and ropOverride.
  std::function<std::vector<Var>(const std::vector<Var> &,
                                 const std::vector<Var> &)>
      lopOverride, ropOverride;
  std::vector<bool> lopThroughGraph;
};

/// An op computing `outputs` from `inputs` (distinct symbolic inputs). The
/// outputs may also read shared variables and constants; ValueError naming
/// any other input they depend on.
GraphOp opFromGraph(const std::vector<Var> &inputs,
                    const std::vector<Var> &outputs,
                    const OpFromGraphOptions &options = {});
/// The op applied to arguments (one per declared input, each of a type
/// assignable to the input's): its results, one node.
std::vector<Var> applyOp(const GraphOp &op, const std::vector<Var> &args);
/// The results of an op_from_graph node as its graph computes them from the
/// node's operands (its inlined form).
std::vector<Var> inlineOpFromGraph(const Node &node);

// ---- Neural networks ----------------------------------------------------

/// Softmax over the last axis.
Var softmax(const Var &x);
/// log(softmax(x)) over the last axis, computed stably.
Var logSoftmax(const Var &x);
/// Theano's categorical_crossentropy: -sum(t * log(p)) over the last axis
/// for `target` distributions of p's shape, or -log(p[..., target]) for
/// integer class indices (one rank less). With p = softmax(x), stabilize
/// computes log(p) as log_softmax(x), gradient included.
Var categoricalCrossentropy(const Var &p, const Var &target);

// ---- Operators ----------------------------------------------------------

#define THJIT_BINARY_OPERATOR(OP, FN)                                          \
  inline Var operator OP(const Var &a, const Var &b) { return FN(a, b); }     \
  inline Var operator OP(const Var &a, const Operand &b) { return FN(a, b); } \
  inline Var operator OP(const Operand &a, const Var &b) { return FN(a, b); }
THJIT_BINARY_OPERATOR(+, add)
THJIT_BINARY_OPERATOR(-, sub)
THJIT_BINARY_OPERATOR(*, mul)
THJIT_BINARY_OPERATOR(/, trueDiv)
THJIT_BINARY_OPERATOR(%, mod)
THJIT_BINARY_OPERATOR(<, lt)
THJIT_BINARY_OPERATOR(<=, le)
THJIT_BINARY_OPERATOR(>, gt)
THJIT_BINARY_OPERATOR(>=, ge)
THJIT_BINARY_OPERATOR(&, bitwiseAnd)
THJIT_BINARY_OPERATOR(|, bitwiseOr)
THJIT_BINARY_OPERATOR(^, bitwiseXor)
#undef THJIT_BINARY_OPERATOR
inline Var operator-(const Var &x) { return neg(x); }
inline Var operator~(const Var &x) { return invert(x); }

} // namespace thjit

#endif
