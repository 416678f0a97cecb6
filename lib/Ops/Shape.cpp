//===- Shape.cpp - Shape ops: dimshuffle, reshape, alloc, join, ... -------===//
///
/// \file
/// Ops that move, make or measure arrays without arithmetic. dimshuffle and
/// reshape give views in the reference kernels where NumPy would.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cmath>

namespace thjit {

static constexpr int64_t kUnknown = TensorType::kUnknown;

std::optional<int64_t> staticInt(const Var &v) {
  if (!v.defined() || v.ndim() != 0 ||
      !(isInteger(v.dtype()) || isBool(v.dtype())))
    return std::nullopt;
  if (v.isConstant())
    return v.constantValue().item().toInt();
  return std::nullopt;
}

static Var int64Scalar(int64_t v) { return constant(Scalar::fromInt(v)); }

/// Integer scalar operands (sizes, indices) are cast to int64.
static Var asIndexScalar(const Operand &o, const char *op) {
  Var v =
      o.isVar() ? o.asVar() : constant(Scalar::fromInt(o.pyValue().toInt()));
  if (!o.isVar() && o.pyKind() != PyScalarKind::Int &&
      o.pyKind() != PyScalarKind::Bool)
    throw TypeError(std::string(op) +
                    ": sizes and indices must be integers; "
                    "got " +
                    o.pyValue().str());
  if (v.ndim() != 0 || !(isInteger(v.dtype()) || isBool(v.dtype())))
    throw TypeError(std::string(op) +
                    ": sizes and indices must be integer scalars; got " +
                    v.type()->str());
  return cast(v, DType::Int64);
}

static void requireIntScalars(const std::vector<Var> &ops, size_t from,
                              const char *what) {
  for (size_t i = from; i < ops.size(); ++i)
    if (ops[i].ndim() != 0 || !isInteger(ops[i].dtype()))
      throw TypeError(std::string(what) + " must be integer scalars; got " +
                      ops[i].type()->str());
}

// ---- dimshuffle -------------------------------------------------------------

static std::vector<const TensorType *>
dimshuffleTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  const TensorType *t = ops[0].type();
  std::vector<bool> used(t->ndim(), false);
  std::vector<int64_t> shape;
  for (int p : a.axes) {
    if (p < 0) {
      shape.push_back(1);
      continue;
    }
    if (p >= t->ndim() || used[p])
      throw ValueError("invalid pattern for a value of rank " +
                       std::to_string(t->ndim()) +
                       ": each input axis may appear once");
    used[p] = true;
    shape.push_back(t->size(p));
  }
  for (int i = 0; i < t->ndim(); ++i)
    if (!used[i] && !t->isBroadcastable(i))
      throw ValueError("cannot drop axis " + std::to_string(i) + " of " +
                       t->str() +
                       ": only broadcastable (size 1) axes can be dropped");
  return {TensorType::get(t->dtype(), shape)};
}

static std::vector<SymShape> dimshuffleShape(const Node &n,
                                             const std::vector<SymShape> &in) {
  SymShape out;
  for (int p : n.attrs().axes)
    out.push_back(p < 0 ? int64Scalar(1) : in[0][p]);
  return {out};
}

static std::vector<NDArray> dimshuffleEval(const Node &n,
                                           const std::vector<NDArray> &in) {
  const NDArray &x = in[0];
  Shape shape, strides;
  for (int p : n.attrs().axes) {
    shape.push_back(p < 0 ? 1 : x.dim(p));
    strides.push_back(p < 0 ? 0 : x.strides()[p]);
  }
  return {NDArray(x.buffer(), x.data(), x.dtype(), shape, strides)};
}

static std::vector<Var> dimshuffleGrad(const Node &n,
                                       const std::vector<Var> &g) {
  const std::vector<int> &pattern = n.attrs().axes;
  // Sum away the new axes, then put the input's axes back in order.
  std::vector<int> added, kept;
  for (int i = 0; i < (int)pattern.size(); ++i) {
    if (pattern[i] < 0)
      added.push_back(i);
    else
      kept.push_back(pattern[i]);
  }
  Var gx = added.empty() ? g[0] : sum(g[0], Axes(added));
  std::vector<int> inverse;
  int ndim = n.operand(0).ndim();
  for (int axis = 0; axis < ndim; ++axis) {
    auto it = std::find(kept.begin(), kept.end(), axis);
    inverse.push_back(it == kept.end() ? -1 : int(it - kept.begin()));
  }
  return {dimshuffle(gx, inverse)};
}

Var dimshuffle(const Var &x, const std::vector<int> &pattern) {
  bool identity = (int)pattern.size() == x.ndim();
  for (int i = 0; identity && i < x.ndim(); ++i)
    identity = pattern[i] == i;
  if (identity)
    return x;
  Attrs a;
  a.axes = pattern;
  return makeOp(OpKind::DimShuffle, {x}, a)[0];
}

Var transpose(const Var &x, const std::vector<int> &perm) {
  std::vector<int> p = perm;
  if (p.empty())
    for (int i = x.ndim() - 1; i >= 0; --i)
      p.push_back(i);
  if ((int)p.size() != x.ndim())
    throw ValueError("transpose: " + std::to_string(p.size()) +
                     " axes given for a value of rank " +
                     std::to_string(x.ndim()));
  for (int &a : p)
    a = normalizeAxis(a, x.ndim(), "transpose");
  return dimshuffle(x, p);
}

// ---- reshape ----------------------------------------------------------------

/// The elements of a shape vector when each is a known constant.
static std::vector<std::optional<int64_t>> staticElements(const Var &v, int n) {
  std::vector<std::optional<int64_t>> out(n);
  if (v.isConstant()) {
    NDArray c = v.constantValue();
    for (int i = 0; i < n; ++i)
      out[i] = c.flatAt(i).toInt();
  } else if (v.node()->kind() == OpKind::MakeVector) {
    for (int i = 0; i < n; ++i)
      out[i] = staticInt(v.node()->operand(i));
  }
  return out;
}

static std::vector<const TensorType *>
reshapeTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  const Var &s = ops[1];
  if (s.ndim() != 1 || !isInteger(s.dtype()) || s.type()->size(0) == kUnknown)
    throw TypeError("the new shape must be an integer vector of known "
                    "length; got " +
                    s.type()->str());
  int n = (int)s.type()->size(0);
  std::vector<int64_t> shape(n, kUnknown);
  auto known = staticElements(s, n);
  int minusOne = 0;
  for (int i = 0; i < n; ++i) {
    if (known[i] && *known[i] < -1)
      throw ValueError("negative size " + std::to_string(*known[i]) +
                       " in the new shape");
    if (known[i] && *known[i] == -1)
      ++minusOne;
    else if (known[i])
      shape[i] = *known[i];
  }
  if (minusOne > 1)
    throw ValueError("can only specify one unknown dimension (-1)");
  // With every size known, the element counts must agree; a -1 among
  // known sizes of a known count is known too.
  const TensorType *t = ops[0].type();
  int unknown = 0, inferred = -1;
  int64_t outCount = 1, inCount = 1;
  for (int i = 0; i < n; ++i) {
    if (shape[i] != kUnknown)
      outCount *= shape[i];
    else if (known[i])
      inferred = i;
    else
      ++unknown;
  }
  bool inKnown = true;
  for (int64_t d : t->shape())
    inKnown &= d != kUnknown, inCount *= d;
  if (inKnown && unknown == 0) {
    if (inferred >= 0 && outCount > 0 && inCount % outCount == 0)
      shape[inferred] = inCount / outCount;
    else if (inferred < 0 && outCount != inCount)
      throw ValueError("cannot reshape " + t->str() + " into shape " +
                       formatShape(shape));
  }
  return {TensorType::get(t->dtype(), shape)};
}

static std::vector<SymShape> reshapeShape(const Node &n,
                                          const std::vector<SymShape> &in) {
  const Var &s = n.operand(1);
  int count = n.resultTypes()[0]->ndim();
  auto known = staticElements(s, count);
  SymShape out;
  bool anyMinusOne = false;
  for (auto k : known)
    anyMinusOne |= !k || *k == -1;
  Var total, knownProduct;
  if (anyMinusOne) {
    total = int64Scalar(1);
    for (const Var &d : in[0])
      total = total * d;
    knownProduct = prod(where(eq(s, -1), 1, s));
  }
  for (int i = 0; i < count; ++i) {
    if (known[i] && *known[i] >= 0) {
      out.push_back(int64Scalar(*known[i]));
      continue;
    }
    Var si = subtensor(s, {Index::at(i)});
    out.push_back(where(eq(si, -1), floorDiv(total, knownProduct), si));
  }
  return {out};
}

static std::vector<NDArray> reshapeEval(const Node &n,
                                        const std::vector<NDArray> &in) {
  Shape shape;
  for (const Scalar &v : in[1].values())
    shape.push_back(v.toInt());
  NDArray r = in[0].reshape(shape);
  std::string why = typeMismatch(r, n.resultTypes()[0]);
  if (!why.empty())
    throw ShapeError("the result of shape " + formatShape(r.shape()) +
                     " does not fit the type " + n.resultTypes()[0]->str() +
                     ": " + why);
  return {r};
}

static std::vector<Var> reshapeGrad(const Node &n, const std::vector<Var> &g) {
  return {reshape(g[0], shape(n.operand(0))), Var()};
}

/// Integer sizes as int64; other dtypes are left for type inference to
/// reject.
static Var asInt64Sizes(const Var &sizes) {
  return isInteger(sizes.dtype()) ? cast(sizes, DType::Int64) : sizes;
}

Var reshape(const Var &x, const Var &newShape) {
  return makeOp(OpKind::Reshape, {x, asInt64Sizes(newShape)})[0];
}

Var reshape(const Var &x, const std::vector<Operand> &newShape) {
  return reshape(x, makeVector(newShape));
}

Var flatten(const Var &x, int ndim) {
  if (ndim < 1 || ndim > std::max(x.ndim(), 1))
    throw ValueError("flatten: ndim must be between 1 and " +
                     std::to_string(std::max(x.ndim(), 1)) + "; got " +
                     std::to_string(ndim));
  std::vector<Operand> sizes;
  for (int i = 0; i < ndim - 1; ++i)
    sizes.push_back(shapeOf(x, i));
  sizes.push_back(-1);
  return reshape(x, sizes);
}

// ---- shape, shape_i, make_vector
// ---------------------------------------------

static std::vector<const TensorType *>
shapeTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  return {TensorType::get(DType::Int64, {(int64_t)ops[0].ndim()})};
}
static std::vector<SymShape> shapeShape(const Node &n,
                                        const std::vector<SymShape> &) {
  return {{int64Scalar(n.operand(0).ndim())}};
}
static std::vector<NDArray> shapeEval(const Node &,
                                      const std::vector<NDArray> &in) {
  std::vector<Scalar> dims;
  for (int64_t d : in[0].shape())
    dims.push_back(Scalar::fromInt(d));
  return {NDArray::fromValues(DType::Int64, dims, {(int64_t)dims.size()})};
}

Var shape(const Var &x) {
  // A shape every size of which is known is a constant.
  bool known = true;
  std::vector<Scalar> dims;
  for (int64_t d : x.type()->shape()) {
    known &= d != kUnknown;
    dims.push_back(Scalar::fromInt(d));
  }
  if (known)
    return constant(NDArray::fromValues(DType::Int64, dims, {x.ndim()}));
  return makeOp(OpKind::Shape, {x})[0];
}

static std::vector<const TensorType *>
shapeITypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  if (a.axes.size() != 1 || a.axes[0] < 0 || a.axes[0] >= ops[0].ndim())
    throw ValueError("axis out of range for " + ops[0].type()->str());
  return {TensorType::ofRank(DType::Int64, 0)};
}
static std::vector<SymShape> scalarShape(const Node &,
                                         const std::vector<SymShape> &) {
  return {{}};
}
static std::vector<NDArray> shapeIEval(const Node &n,
                                       const std::vector<NDArray> &in) {
  return {NDArray::scalar(Scalar::fromInt(in[0].dim(n.attrs().axes[0])))};
}

Var shapeOf(const Var &x, int axis) {
  axis = normalizeAxis(axis, x.ndim(), "shape");
  if (x.type()->size(axis) != kUnknown)
    return int64Scalar(x.type()->size(axis));
  Attrs a;
  a.axes = {axis};
  return makeOp(OpKind::ShapeI, {x}, a)[0];
}

static std::vector<const TensorType *>
makeVectorTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  DType t = DType::Int64;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].ndim() != 0)
      throw TypeError("elements must be scalars; got " + ops[i].type()->str());
    t = i == 0 ? ops[0].dtype() : t;
    if (ops[i].dtype() != t)
      throw TypeError("elements must have one dtype; got " +
                      std::string(dtypeName(t)) + " and " +
                      dtypeName(ops[i].dtype()));
  }
  return {TensorType::get(t, {(int64_t)ops.size()})};
}
static std::vector<SymShape> makeVectorShape(const Node &n,
                                             const std::vector<SymShape> &) {
  return {{int64Scalar((int64_t)n.numOperands())}};
}
static std::vector<NDArray> makeVectorEval(const Node &n,
                                           const std::vector<NDArray> &in) {
  std::vector<Scalar> vals;
  for (const NDArray &a : in)
    vals.push_back(a.item());
  return {NDArray::fromValues(n.resultTypes()[0]->dtype(), vals,
                              {(int64_t)vals.size()})};
}
static std::vector<Var> makeVectorGrad(const Node &n,
                                       const std::vector<Var> &g) {
  std::vector<Var> out;
  for (int i = 0; i < n.numOperands(); ++i)
    out.push_back(subtensor(g[0], {Index::at(i)}));
  return out;
}

Var makeVector(const std::vector<Operand> &elements) {
  std::vector<Var> vs;
  for (const Operand &e : elements)
    vs.push_back(asIndexScalar(e, "make_vector"));
  // All constant: one constant vector.
  std::vector<Scalar> vals;
  for (const Var &v : vs)
    if (auto k = staticInt(v))
      vals.push_back(Scalar::fromInt(*k));
  if (vals.size() == vs.size())
    return constant(
        NDArray::fromValues(DType::Int64, vals, {(int64_t)vals.size()}));
  return makeOp(OpKind::MakeVector, vs)[0];
}

// ---- alloc ------------------------------------------------------------------

static std::vector<const TensorType *>
allocTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  requireIntScalars(ops, 1, "sizes");
  int ndim = (int)ops.size() - 1;
  const TensorType *v = ops[0].type();
  if (v->ndim() > ndim)
    throw ValueError("the value has rank " + std::to_string(v->ndim()) +
                     " but the new array only " + std::to_string(ndim));
  std::vector<int64_t> shape(ndim, kUnknown);
  for (int i = 0; i < ndim; ++i) {
    if (auto k = staticInt(ops[i + 1])) {
      if (*k < 0)
        throw ValueError("negative size " + std::to_string(*k));
      shape[i] = *k;
    }
    int a = i - (ndim - v->ndim());
    if (a >= 0 && !v->isBroadcastable(a)) {
      int64_t vs = v->size(a);
      if (vs != kUnknown && shape[i] != kUnknown && vs != shape[i])
        throw ShapeError("a value of type " + v->str() + " does not fit size " +
                         std::to_string(shape[i]) + " in dimension " +
                         std::to_string(i));
      if (shape[i] == kUnknown)
        shape[i] = vs;
    }
  }
  return {TensorType::get(v->dtype(), shape)};
}
static std::vector<SymShape> allocShape(const Node &n,
                                        const std::vector<SymShape> &) {
  SymShape out(n.operands().begin() + 1, n.operands().end());
  return {out};
}
static std::vector<NDArray> allocEval(const Node &n,
                                      const std::vector<NDArray> &in) {
  Shape shape;
  for (size_t i = 1; i < in.size(); ++i) {
    int64_t d = in[i].item().toInt();
    if (d < 0)
      throw ValueError("negative size " + std::to_string(d) +
                       " for dimension " + std::to_string(i - 1));
    shape.push_back(d);
  }
  const NDArray &v = in[0];
  const TensorType *vt = n.operand(0).type();
  int lead = (int)shape.size() - v.ndim();
  for (int a = 0; a < v.ndim(); ++a)
    if (!vt->isBroadcastable(a) && v.dim(a) != shape[lead + a])
      throw ShapeError("the value of shape " + formatShape(v.shape()) +
                       " does not fit the shape " + formatShape(shape));
  return {v.broadcastTo(shape).copy()};
}
static std::vector<Var> allocGrad(const Node &n, const std::vector<Var> &g) {
  std::vector<Var> out(n.numOperands());
  out[0] = g[0]; // summed over the broadcast axes by fitGradient
  return out;
}

Var alloc(const Operand &value, const std::vector<Operand> &shape) {
  std::vector<Var> ops{asTensor(value)};
  for (const Operand &s : shape)
    ops.push_back(asIndexScalar(s, "alloc"));
  return makeOp(OpKind::Alloc, ops)[0];
}

Var fill(const Var &model, const Operand &value) {
  Var v = value.isVar() ? value.asVar() : asTensors({model, value}, "fill")[1];
  return alloc(v, sizesOf(model));
}

static Var filled(const std::vector<Operand> &shape, std::optional<DType> t,
                  int64_t value) {
  return alloc(constant(Scalar::fromInt(value).cast(t.value_or(floatX()))),
               shape);
}

Var zeros(const std::vector<Operand> &shape, std::optional<DType> dtype) {
  return filled(shape, dtype, 0);
}
Var ones(const std::vector<Operand> &shape, std::optional<DType> dtype) {
  return filled(shape, dtype, 1);
}
std::vector<Operand> sizesOf(const Var &x) {
  std::vector<Operand> s;
  for (int i = 0; i < x.ndim(); ++i)
    s.push_back(shapeOf(x, i));
  return s;
}
Var zerosLike(const Var &x, std::optional<DType> dtype) {
  return zeros(sizesOf(x), dtype.value_or(x.dtype()));
}
Var onesLike(const Var &x, std::optional<DType> dtype) {
  return ones(sizesOf(x), dtype.value_or(x.dtype()));
}

// ---- arange, eye
// --------------------------------------------------------------

static std::vector<const TensorType *>
arangeTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  for (const Var &v : ops)
    if (v.ndim() != 0 || isComplex(v.dtype()))
      throw TypeError("start, stop and step must be real scalars; got " +
                      v.type()->str());
  int64_t n = kUnknown;
  if (ops[0].isConstant() && ops[1].isConstant() && ops[2].isConstant()) {
    double start = ops[0].constantValue().item().toDouble();
    double stop = ops[1].constantValue().item().toDouble();
    double step = ops[2].constantValue().item().toDouble();
    if (step == 0)
      throw ValueError("the step must not be zero");
    n = std::max<int64_t>(0, (int64_t)std::ceil((stop - start) / step));
  }
  return {TensorType::get(*a.dtype, {n})};
}

static int64_t arangeLength(const std::vector<NDArray> &in) {
  Scalar start = in[0].item(), stop = in[1].item(), step = in[2].item();
  bool ints = !isInexact(in[0].dtype()) && !isInexact(in[1].dtype()) &&
              !isInexact(in[2].dtype());
  if (ints) {
    int64_t a = start.toInt(), b = stop.toInt(), s = step.toInt();
    if (s == 0)
      throw ValueError("the step must not be zero");
    if ((s > 0 && b <= a) || (s < 0 && b >= a))
      return 0;
    return s > 0 ? (b - a + s - 1) / s : (a - b + (-s) - 1) / (-s);
  }
  double s = step.toDouble();
  if (s == 0)
    throw ValueError("the step must not be zero");
  double n = std::ceil((stop.toDouble() - start.toDouble()) / s);
  if (!std::isfinite(n))
    throw ValueError("the length of the range is not finite");
  return std::max<int64_t>(0, (int64_t)n);
}

static std::vector<NDArray> arangeEval(const Node &n,
                                       const std::vector<NDArray> &in) {
  int64_t len = arangeLength(in);
  DType t = n.resultTypes()[0]->dtype();
  NDArray out = NDArray::empty(t, {len});
  bool ints = !isInexact(in[0].dtype()) && !isInexact(in[2].dtype());
  for (int64_t i = 0; i < len; ++i) {
    Scalar v =
        ints ? Scalar::fromInt(in[0].item().toInt() + i * in[2].item().toInt())
             : Scalar(in[0].item().toDouble() +
                      (double)i * in[2].item().toDouble());
    out.setAt({i}, v);
  }
  return {out};
}
static std::vector<SymShape> arangeShape(const Node &n,
                                         const std::vector<SymShape> &) {
  const std::vector<Var> &o = n.operands();
  Var len = cast(ceil(trueDiv(o[1] - o[0], o[2])), DType::Int64);
  return {{maximum(len, 0)}};
}

Var arange(const Operand &start, const Operand &stop, const Operand &step,
           std::optional<DType> dtype) {
  std::vector<Var> ops = asTensors({start, stop, step}, "arange");
  Attrs a;
  DType t = promoteTypes(promoteTypes(ops[0].dtype(), ops[1].dtype()),
                         ops[2].dtype());
  if (isBool(t))
    t = DType::Int64;
  a.dtype = dtype.value_or(t);
  return makeOp(OpKind::ARange, ops, a)[0];
}

static std::vector<const TensorType *>
eyeTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  requireIntScalars(ops, 0, "n, m and k");
  auto n = staticInt(ops[0]), m = staticInt(ops[1]);
  return {TensorType::get(*a.dtype, {n ? *n : kUnknown, m ? *m : kUnknown})};
}
static std::vector<NDArray> eyeEval(const Node &n,
                                    const std::vector<NDArray> &in) {
  int64_t rows = in[0].item().toInt(), cols = in[1].item().toInt(),
          k = in[2].item().toInt();
  if (rows < 0 || cols < 0)
    throw ValueError("negative size " + std::to_string(std::min(rows, cols)));
  NDArray out = NDArray::zeros(n.resultTypes()[0]->dtype(), {rows, cols});
  for (int64_t i = 0; i < rows; ++i)
    if (i + k >= 0 && i + k < cols)
      out.setAt({i, i + k}, Scalar::fromInt(1));
  return {out};
}
static std::vector<SymShape> eyeShape(const Node &n,
                                      const std::vector<SymShape> &) {
  return {{n.operand(0), n.operand(1)}};
}

Var eye(const Operand &n, const Operand &m, const Operand &k,
        std::optional<DType> dtype) {
  Attrs a;
  a.dtype = dtype.value_or(floatX());
  return makeOp(OpKind::Eye,
                {asIndexScalar(n, "eye"), asIndexScalar(m, "eye"),
                 asIndexScalar(k, "eye")},
                a)[0];
}

// ---- join, split
// --------------------------------------------------------------

static std::vector<const TensorType *>
joinTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  if (ops.empty())
    throw ValueError("need at least one array to join");
  int ndim = ops[0].ndim();
  if (ndim == 0)
    throw ValueError("zero-dimensional arrays cannot be joined");
  int axis = a.axes[0];
  DType t = ops[0].dtype();
  std::vector<int64_t> shape(ndim, kUnknown);
  int64_t along = 0;
  for (const Var &v : ops) {
    if (v.ndim() != ndim)
      throw ValueError("all operands must have rank " + std::to_string(ndim) +
                       "; got " + v.type()->str());
    t = promoteTypes(t, v.dtype());
    for (int i = 0; i < ndim; ++i) {
      int64_t s = v.type()->size(i);
      if (i == axis) {
        along = (along == kUnknown || s == kUnknown) ? kUnknown : along + s;
        continue;
      }
      if (s != kUnknown && shape[i] != kUnknown && s != shape[i])
        throw ShapeError("operand sizes differ in dimension " +
                         std::to_string(i) + " (" + std::to_string(shape[i]) +
                         " and " + std::to_string(s) + ")");
      if (s != kUnknown)
        shape[i] = s;
    }
  }
  shape[axis] = along;
  return {TensorType::get(t, shape)};
}
static std::vector<SymShape> joinShape(const Node &n,
                                       const std::vector<SymShape> &in) {
  int axis = n.attrs().axes[0];
  SymShape out = in[0];
  for (size_t i = 1; i < in.size(); ++i)
    out[axis] = out[axis] + in[i][axis];
  return {out};
}
static std::vector<NDArray> joinEval(const Node &n,
                                     const std::vector<NDArray> &in) {
  int axis = n.attrs().axes[0];
  Shape shape = in[0].shape();
  shape[axis] = 0;
  for (const NDArray &a : in) {
    for (int i = 0; i < a.ndim(); ++i)
      if (i != axis && a.dim(i) != shape[i])
        throw ShapeError("operand shapes " + formatShape(in[0].shape()) +
                         " and " + formatShape(a.shape()) +
                         " differ in dimension " + std::to_string(i));
    shape[axis] += a.dim(axis);
  }
  NDArray out = NDArray::empty(n.resultTypes()[0]->dtype(), shape);
  int64_t at = 0;
  for (const NDArray &a : in) {
    out.slice(axis, at, at + a.dim(axis), 1).assign(a);
    at += a.dim(axis);
  }
  return {out};
}
static std::vector<Var> joinGrad(const Node &n, const std::vector<Var> &g) {
  int axis = n.attrs().axes[0];
  std::vector<Var> out;
  Var at = int64Scalar(0);
  for (const Var &x : n.operands()) {
    Var end = at + shapeOf(x, axis);
    std::vector<Index> idx(axis, Index::all());
    idx.push_back(Index::slice(at, end));
    out.push_back(subtensor(g[0], idx));
    at = end;
  }
  return out;
}

Var concatenate(const std::vector<Var> &xs, int axis) {
  if (xs.empty())
    throw ValueError("concatenate: need at least one array");
  if (xs.size() == 1)
    return xs[0];
  Attrs a;
  a.axes = {normalizeAxis(axis, std::max(xs[0].ndim(), 1), "concatenate")};
  return makeOp(OpKind::Join, xs, a)[0];
}

Var stack(const std::vector<Var> &xs, int axis) {
  if (xs.empty())
    throw ValueError("stack: need at least one array");
  int ndim = xs[0].ndim() + 1;
  axis = normalizeAxis(axis, ndim, "stack");
  std::vector<Var> expanded;
  for (const Var &x : xs) {
    if (x.ndim() != ndim - 1)
      throw ValueError("stack: all inputs must have the same rank; got " +
                       xs[0].type()->str() + " and " + x.type()->str());
    std::vector<int> pattern;
    for (int i = 0; i < ndim - 1; ++i) {
      if (i == axis)
        pattern.push_back(-1);
      pattern.push_back(i);
    }
    if (axis == ndim - 1)
      pattern.push_back(-1);
    expanded.push_back(dimshuffle(x, pattern));
  }
  if (expanded.size() == 1)
    return expanded[0];
  Attrs a;
  a.axes = {axis};
  return makeOp(OpKind::Join, expanded, a)[0];
}

static std::vector<const TensorType *>
splitTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  const Var &sizes = ops[1];
  if (sizes.ndim() != 1 || !isInteger(sizes.dtype()) ||
      sizes.type()->size(0) == kUnknown)
    throw TypeError("the sizes must be an integer vector of known length; "
                    "got " +
                    sizes.type()->str());
  int n = (int)sizes.type()->size(0);
  if (n < 1)
    throw ValueError("split into no pieces");
  int axis = a.axes[0];
  auto known = staticElements(sizes, n);
  std::vector<const TensorType *> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> shape = ops[0].type()->shape();
    shape[axis] = known[i] ? *known[i] : kUnknown;
    out.push_back(TensorType::get(ops[0].dtype(), shape));
  }
  return out;
}
static std::vector<SymShape> splitShape(const Node &n,
                                        const std::vector<SymShape> &in) {
  int axis = n.attrs().axes[0];
  std::vector<SymShape> out;
  for (int i = 0; i < n.numResults(); ++i) {
    SymShape s = in[0];
    s[axis] = subtensor(n.operand(1), {Index::at(i)});
    out.push_back(s);
  }
  return out;
}
static std::vector<NDArray> splitEval(const Node &n,
                                      const std::vector<NDArray> &in) {
  int axis = n.attrs().axes[0];
  std::vector<NDArray> out;
  int64_t at = 0;
  std::vector<Scalar> sizes = in[1].values();
  int64_t total = 0;
  for (const Scalar &s : sizes) {
    if (s.toInt() < 0)
      throw ValueError("negative piece size " + s.str());
    total += s.toInt();
  }
  if (total != in[0].dim(axis))
    throw ValueError("the piece sizes add up to " + std::to_string(total) +
                     " but axis " + std::to_string(axis) + " has size " +
                     std::to_string(in[0].dim(axis)));
  for (const Scalar &s : sizes) {
    out.push_back(in[0].slice(axis, at, at + s.toInt(), 1));
    at += s.toInt();
  }
  return out;
}
static std::vector<Var> splitGrad(const Node &n, const std::vector<Var> &g) {
  std::vector<Var> pieces;
  for (int i = 0; i < n.numResults(); ++i)
    pieces.push_back(
        g[i].defined() ? g[i] : zerosLike(const_cast<Node &>(n).result(i)));
  return {concatenate(pieces, n.attrs().axes[0]), Var()};
}

std::vector<Var> split(const Var &x, const Operand &sizes, int n, int axis) {
  Var s = sizes.isVar() ? asInt64Sizes(sizes.asVar()) : asTensor(sizes);
  if (s.ndim() != 1 || s.type()->size(0) != n)
    throw ValueError("split: " + std::to_string(n) +
                     " pieces asked for, but the sizes are " + s.type()->str());
  Attrs a;
  a.axes = {normalizeAxis(axis, x.ndim(), "split")};
  return makeOp(OpKind::Split, {x, s}, a);
}

/// The value operand's tangent through the op; sizes and shapes stay.
static std::vector<Var> firstOperandRop(const Node &n,
                                        const std::vector<Var> &t) {
  return linearRop(n, t, 1);
}

// ---- Registration -----------------------------------------------------------

// ---- Batch rules
// ----------------------------------------------------------------

static std::vector<Var> dimshuffleVectorize(const Node &n,
                                            const std::vector<Var> &ops,
                                            const std::vector<bool> &,
                                            const Var &) {
  std::vector<int> pattern{0};
  for (int p : n.attrs().axes)
    pattern.push_back(p < 0 ? p : p + 1);
  return {dimshuffle(ops[0], pattern)};
}

/// The item shape with the batch size in front; a -1 among the sizes is
/// resolved per item first (with a batch of none it could not be).
static std::vector<Var> reshapeVectorize(const Node &n,
                                         const std::vector<Var> &ops,
                                         const std::vector<bool> &batched,
                                         const Var &size) {
  if (batched[1])
    cannotVectorize(n, "the new shape");
  Var sizes = ops[1];
  int count = (int)sizes.type()->size(0);
  bool inferred = false;
  for (const auto &k : staticElements(sizes, count))
    inferred |= !k || *k < 0;
  if (inferred) {
    Var items = int64Scalar(1);
    for (int i = 1; i < ops[0].ndim(); ++i)
      items = items * shapeOf(ops[0], i);
    Var unknown = lt(sizes, 0);
    sizes =
        where(unknown, floorDiv(items, prod(where(unknown, 1, sizes))), sizes);
  }
  return {reshape(ops[0], concatenate({makeVector({size}), sizes}))};
}

/// The shape of a batch's items, the same for all of them.
static std::vector<Var> shapeVectorize(const Node &n,
                                       const std::vector<Var> &ops,
                                       const std::vector<bool> &, const Var &) {
  if (n.kind() == OpKind::ShapeI)
    return {shapeOf(ops[0], n.attrs().axes[0] + 1)};
  return {subtensor(shape(ops[0]), {Index::slice(int64Scalar(1))})};
}

static std::vector<Var> makeVectorVectorize(const Node &n,
                                            const std::vector<Var> &ops,
                                            const std::vector<bool> &batched,
                                            const Var &size) {
  std::vector<Var> columns;
  for (size_t i = 0; i < ops.size(); ++i)
    columns.push_back(batched[i] ? dimshuffle(ops[i], {0, -1})
                                 : alloc(ops[i], {size, 1}));
  return {cast(concatenate(columns, 1), n.resultTypes()[0]->dtype())};
}

static std::vector<Var> allocVectorize(const Node &n,
                                       const std::vector<Var> &ops,
                                       const std::vector<bool> &batched,
                                       const Var &size) {
  for (size_t i = 1; i < ops.size(); ++i)
    if (batched[i])
      cannotVectorize(n, "the new shape");
  std::vector<Operand> sizes{size};
  sizes.insert(sizes.end(), ops.begin() + 1, ops.end());
  return {alloc(alignBatched(ops[0], (int)ops.size() - 1), sizes)};
}

/// arange and eye: their sizes are their operands.
static std::vector<Var> sizedVectorize(const Node &n, const std::vector<Var> &,
                                       const std::vector<bool> &, const Var &) {
  cannotVectorize(n, "the size of the result");
}

static std::vector<Var> joinVectorize(const Node &n,
                                      const std::vector<Var> &ops,
                                      const std::vector<bool> &batched,
                                      const Var &size) {
  std::vector<Var> xs;
  for (size_t i = 0; i < ops.size(); ++i)
    xs.push_back(batched[i] ? ops[i] : batchOf(ops[i], size));
  return {concatenate(xs, n.attrs().axes[0] + 1)};
}

static std::vector<Var> splitVectorize(const Node &n,
                                       const std::vector<Var> &ops,
                                       const std::vector<bool> &batched,
                                       const Var &) {
  if (batched[1])
    cannotVectorize(n, "the piece sizes");
  return split(ops[0], ops[1], n.numResults(), n.attrs().axes[0] + 1);
}

void registerShapeOps(OpDef *t) {
  t[(int)OpKind::DimShuffle] = {dimshuffleTypes,
                                dimshuffleShape,
                                dimshuffleEval,
                                dimshuffleGrad,
                                "reorders axes, inserts broadcastable ones "
                                "('x') and drops broadcastable ones",
                                firstOperandRop,
                                dimshuffleVectorize};
  t[(int)OpKind::Reshape] = {reshapeTypes,
                             reshapeShape,
                             reshapeEval,
                             reshapeGrad,
                             "the same elements in a new shape (-1 infers "
                             "one size); a view when the strides allow",
                             firstOperandRop,
                             reshapeVectorize};
  t[(int)OpKind::Shape] = {shapeTypes,
                           shapeShape,
                           shapeEval,
                           nullptr,
                           "the shape of a value as an int64 vector",
                           nullptr,
                           shapeVectorize};
  t[(int)OpKind::ShapeI] = {shapeITypes,
                            scalarShape,
                            shapeIEval,
                            nullptr,
                            "the size of one axis as an int64 scalar",
                            nullptr,
                            shapeVectorize};
  t[(int)OpKind::MakeVector] = {makeVectorTypes,       makeVectorShape,
                                makeVectorEval,        makeVectorGrad,
                                "a vector of scalars", linearRop,
                                makeVectorVectorize};
  t[(int)OpKind::Alloc] = {allocTypes,
                           allocShape,
                           allocEval,
                           allocGrad,
                           "a new array of the given shape filled with a "
                           "(broadcast) value",
                           firstOperandRop,
                           allocVectorize};
  t[(int)OpKind::ARange] = {arangeTypes,
                            arangeShape,
                            arangeEval,
                            nullptr,
                            "evenly spaced values in [start, stop)",
                            nullptr,
                            sizedVectorize};
  t[(int)OpKind::Eye] = {eyeTypes,
                         eyeShape,
                         eyeEval,
                         nullptr,
                         "an n x m matrix with ones on diagonal k",
                         nullptr,
                         sizedVectorize};
  t[(int)OpKind::Join] = {joinTypes,
                          joinShape,
                          joinEval,
                          joinGrad,
                          "arrays joined along an existing axis "
                          "(numpy.concatenate)",
                          linearRop,
                          joinVectorize};
  t[(int)OpKind::Split] = {splitTypes,
                           splitShape,
                           splitEval,
                           splitGrad,
                           "pieces of given sizes along an axis",
                           firstOperandRop,
                           splitVectorize};
}

} // namespace thjit
