//===- Subtensor.cpp - Indexing: x[i, a:b:c, None, idx] and writes --------===//
///
/// \file
/// Subtensor reads x[index] as a view; SetSubtensor and IncSubtensor give a
/// copy of x with x[index] replaced by, or increased by, y. The index is an
/// attribute (which entries are ints, slices with which parts, new axes);
/// the integer values are operands after x (and y), so they may be symbolic.
///
/// The Advanced* ops are the same with NumPy's advanced indexing: some
/// entries are index arrays (or boolean masks), also operands. Reading
/// copies; an increment accumulates at positions selected several times
/// (numpy.add.at), which makes it the gradient of the read.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace thjit {

static constexpr int64_t kUnknown = TensorType::kUnknown;

void sliceIndices(int64_t len, std::optional<int64_t> start, std::optional<int64_t> stop,
                  int64_t step, int64_t &first, int64_t &last) {
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v)
      return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < 0)
        x = step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  first = clamp(start, step < 0 ? len - 1 : 0);
  last = clamp(stop, step < 0 ? -1 : len);
}

static int64_t sliceLength(int64_t first, int64_t last, int64_t step) {
  if (step > 0)
    return last > first ? (last - first + step - 1) / step : 0;
  return last < first ? (first - last + (-step) - 1) / (-step) : 0;
}

/// Where the index operands start: after x, and after y for writes.
static int firstIndexOperand(OpKind kind) {
  return kind == OpKind::Subtensor || kind == OpKind::AdvancedSubtensor ? 1
                                                                        : 2;
}

/// The static type of x[index], checking ranks and constant indices.
static const TensorType *indexedType(const Var &x,
                                     const std::vector<IndexEntry> &spec,
                                     const std::vector<Var> &values) {
  const TensorType *t = x.type();
  int used = 0;
  for (const IndexEntry &e : spec)
    used += e.kind != IndexEntry::NewAxis;
  if (used > t->ndim())
    throw IndexError("too many indices: " + std::to_string(used) +
                     " for a value of type " + t->str());
  for (const Var &v : values)
    if (v.ndim() != 0 || !(isInteger(v.dtype()) || isBool(v.dtype())))
      throw IndexError("indices must be integer scalars; got " +
                       v.type()->str());
  std::vector<int64_t> shape;
  int axis = 0, next = 0;
  for (const IndexEntry &e : spec) {
    if (e.kind == IndexEntry::NewAxis) {
      shape.push_back(1);
      continue;
    }
    int64_t len = t->size(axis);
    if (e.kind == IndexEntry::Int) {
      auto k = staticInt(values[next++]);
      if (k && len != kUnknown && (*k >= len || *k < -len))
        throw IndexError("index " + std::to_string(*k) +
                         " is out of bounds for axis " + std::to_string(axis) +
                         " with size " + std::to_string(len));
      ++axis;
      continue;
    }
    std::optional<int64_t> start, stop, step = 1;
    bool known = true;
    auto take = [&](bool has, std::optional<int64_t> &dst, bool dflt) {
      if (!has) {
        if (!dflt)
          dst.reset();
        return;
      }
      dst = staticInt(values[next++]);
      known &= dst.has_value();
    };
    take(e.hasStart, start, false);
    take(e.hasStop, stop, false);
    take(e.hasStep, step, true);
    if (e.hasStep && step && *step == 0)
      throw ValueError("slice step cannot be zero");
    if (!e.hasStart && !e.hasStop && !e.hasStep) {
      shape.push_back(len);
    } else if (known && len != kUnknown) {
      int64_t first, last;
      sliceIndices(len, start, stop, *step, first, last);
      shape.push_back(sliceLength(first, last, *step));
    } else {
      shape.push_back(kUnknown);
    }
    ++axis;
  }
  for (; axis < t->ndim(); ++axis)
    shape.push_back(t->size(axis));
  return TensorType::get(t->dtype(), shape);
}

// ---- Subtensor --------------------------------------------------------------

static std::vector<Var> indexValues(const Node &n) {
  return std::vector<Var>(n.operands().begin() + firstIndexOperand(n.kind()),
                          n.operands().end());
}

static void checkWriteType(const Var &x, const TensorType *y,
                           const TensorType *view);

static std::vector<const TensorType *>
subtensorTypes(OpKind kind, const std::vector<Var> &ops, const Attrs &a) {
  for (const IndexEntry &e : a.index)
    if (e.kind == IndexEntry::Array)
      throw TypeError("an index with arrays is advanced indexing (advanced_" +
                      std::string(opName(kind)) + ")");
  std::vector<Var> values(ops.begin() + firstIndexOperand(kind), ops.end());
  const TensorType *view = indexedType(ops[0], a.index, values);
  if (kind == OpKind::Subtensor)
    return {view};
  checkWriteType(ops[0], ops[1].type(), view);
  return {ops[0].type()};
}

// Writes: y must fit the view (broadcasting only where y has size 1) and
// its dtype must convert to x's without loss.
static void checkWriteType(const Var &x, const TensorType *y,
                           const TensorType *view) {
  if (promoteTypes(x.dtype(), y->dtype()) != x.dtype())
    throw TypeError("cannot write " + std::string(dtypeName(y->dtype())) +
                    " values into a " + dtypeName(x.dtype()) +
                    " array without losing precision; cast them first");
  if (y->ndim() > view->ndim())
    throw ValueError("the value written has type " + y->str() +
                     " but the selection only " + view->str());
  int lead = view->ndim() - y->ndim();
  for (int i = 0; i < y->ndim(); ++i) {
    int64_t ys = y->size(i), vs = view->size(lead + i);
    if (ys != 1 && ys != kUnknown && vs != kUnknown && ys != vs)
      throw ShapeError("the value written has type " + y->str() +
                       " but the selection " + view->str());
  }
}

/// The symbolic shape of x[spec] (a basic index) given x's, `t` its type.
static SymShape basicShape(const SymShape &xs,
                           const std::vector<IndexEntry> &spec,
                           const std::vector<Var> &values,
                           const TensorType *t) {
  // Sizes of slices follow Python's rules: computed on the shape vector.
  SymShape out;
  int axis = 0, next = 0, outAxis = 0;
  for (const IndexEntry &e : spec) {
    if (e.kind == IndexEntry::NewAxis) {
      out.push_back(constant(Scalar::fromInt(1)));
      ++outAxis;
      continue;
    }
    if (e.kind == IndexEntry::Int) {
      ++next;
      ++axis;
      continue;
    }
    Var len = xs[axis];
    // The slice's operands, taken even when its size is known.
    std::vector<Index> idx{Index::slice()};
    Index &s = idx[0];
    if (e.hasStart)
      s.start = Operand(values[next++]);
    if (e.hasStop)
      s.stop = Operand(values[next++]);
    if (e.hasStep)
      s.step = Operand(values[next++]);
    if (t->size(outAxis) != kUnknown)
      out.push_back(constant(Scalar::fromInt(t->size(outAxis))));
    else if (!e.hasStart && !e.hasStop && !e.hasStep)
      out.push_back(len);
    else // the count of a slice of arange(len): exact Python semantics
      out.push_back(shapeOf(subtensor(arange(0, len, 1), idx), 0));
    ++axis;
    ++outAxis;
  }
  for (; axis < (int)xs.size(); ++axis)
    out.push_back(xs[axis]);
  return out;
}

static std::vector<SymShape> subtensorShape(const Node &n,
                                            const std::vector<SymShape> &in) {
  if (n.kind() != OpKind::Subtensor)
    return {in[0]};
  return {basicShape(in[0], n.attrs().index, indexValues(n),
                     n.resultTypes()[0])};
}

static std::vector<NDArray> subtensorEval(const Node &n,
                                          const std::vector<NDArray> &in) {
  int first = firstIndexOperand(n.kind());
  std::vector<NDArray> values(in.begin() + first, in.end());
  if (n.kind() == OpKind::Subtensor)
    return {applyIndex(in[0], n.attrs().index, values)};
  NDArray out = in[0].copy();
  prepareSubtensorWrite(n, out, in).commit();
  return {out};
}

SubtensorWrite prepareSubtensorWrite(const Node &n, const NDArray &x,
                                     const std::vector<NDArray> &in) {
  std::vector<NDArray> values(in.begin() + firstIndexOperand(n.kind()), in.end());
  SubtensorWrite w;
  w.view = applyIndex(x, n.attrs().index, values);
  w.value = in[1];
  w.increment = n.kind() == OpKind::IncSubtensor;
  const TensorType *yt = n.operand(1).type();
  int lead = w.view.ndim() - w.value.ndim();
  for (int i = 0; i < w.value.ndim(); ++i)
    if (!yt->isBroadcastable(i) && w.value.dim(i) != w.view.dim(lead + i))
      throw ShapeError("cannot write a value of shape " +
                       formatShape(w.value.shape()) +
                       " into a selection of shape " +
                       formatShape(w.view.shape()));
  if (w.value.buffer() == x.buffer())
    w.value = w.value.copy();
  return w;
}

void SubtensorWrite::commit() {
  if (increment)
    view.assign(evalElemwise(OpKind::Add, {view, value}));
  else
    view.assign(value);
}

static std::vector<Var> subtensorGrad(const Node &n,
                                      const std::vector<Var> &g) {
  std::vector<Var> out(n.numOperands());
  std::vector<Var> values = indexValues(n);
  auto at = [&](const Var &x) {
    return makeOp(
        OpKind::Subtensor,
        [&] {
          std::vector<Var> ops{x};
          ops.insert(ops.end(), values.begin(), values.end());
          return ops;
        }(),
        n.attrs())[0];
  };
  auto write = [&](OpKind kind, const Var &x, const Var &y) {
    std::vector<Var> ops{x, y};
    ops.insert(ops.end(), values.begin(), values.end());
    return makeOp(kind, ops, n.attrs())[0];
  };
  switch (n.kind()) {
  case OpKind::Subtensor:
    out[0] = write(OpKind::IncSubtensor, zerosLike(n.operand(0)), g[0]);
    break;
  case OpKind::SetSubtensor:
    out[0] = write(OpKind::SetSubtensor, g[0],
                   constant(Scalar::fromInt(0).cast(g[0].dtype())));
    out[1] = at(g[0]);
    break;
  default:
    out[0] = g[0];
    out[1] = at(g[0]);
    break;
  }
  return out;
}

// ---- Advanced indexing --------------------------------------------------------

namespace {

/// An advanced index decoded against its operands' types. V is x with the
/// basic part of the index applied (slices and new axes; each integer or
/// array entry a full slice instead): a view. Each part (an integer, an
/// index array, a mask) indexes one axis of V, a mask as many as it has;
/// the parts broadcast together to a shape B. The result (the selection of
/// a write) is V's other axes with B in the place of the first indexed axis
/// when the parts are next to each other in the index, else B first.
struct AdvancedIndex {
  std::vector<IndexEntry> basic;
  std::vector<int> basicOperands; ///< node operand positions of basic's values
  struct Part {
    int operand;      ///< node operand position
    bool array, mask; ///< an Array entry; a boolean one
    int rank;         ///< the operand's
    int vAxis, xAxis; ///< the first axis of V, of x, it indexes
    int axes() const { return mask ? rank : 1; }
    int bRank() const { return mask ? 1 : rank; }
  };
  std::vector<Part> parts;
  bool adjacent = true;
  int vRank = 0;   ///< V's rank
  int advAxes = 0; ///< V's axes the parts index
  int bRank = 0;   ///< B's rank
  /// How many of V's other axes come before B in the result.
  int before() const { return adjacent ? parts[0].vAxis : 0; }
  int resultRank() const { return vRank - advAxes + bRank; }
  /// The axes of V the parts index, in order.
  std::vector<int> indexedAxes() const {
    std::vector<int> out;
    for (const Part &p : parts)
      for (int i = 0; i < p.axes(); ++i)
        out.push_back(p.vAxis + i);
    return out;
  }
  /// V's axes: the indexed ones first, then the others in order.
  std::vector<int> indexedFirst() const {
    std::vector<int> out = indexedAxes();
    std::vector<bool> taken(vRank, false);
    for (int a : out)
      taken[a] = true;
    for (int a = 0; a < vRank; ++a)
      if (!taken[a])
        out.push_back(a);
    return out;
  }
  /// The result's axes in the order B, then the other axes: a view of the
  /// result with B first is result.permute(bFirst()).
  std::vector<int> bFirst() const {
    std::vector<int> q;
    int p = before(), r = resultRank();
    for (int i = 0; i < bRank; ++i)
      q.push_back(p + i);
    for (int i = 0; i < p; ++i)
      q.push_back(i);
    for (int i = p + bRank; i < r; ++i)
      q.push_back(i);
    return q;
  }
  /// The result's shape (sizes or static sizes) from B's and V's.
  template <class S> S resultShape(const S &b, const S &v) const {
    std::vector<int> axes = indexedAxes();
    std::vector<bool> taken(vRank, false);
    for (int a : axes)
      taken[a] = true;
    S rest;
    for (int a = 0; a < vRank; ++a)
      if (!taken[a])
        rest.push_back(v[a]);
    S out(rest.begin(), rest.begin() + before());
    out.insert(out.end(), b.begin(), b.end());
    out.insert(out.end(), rest.begin() + before(), rest.end());
    return out;
  }
};

} // namespace

static std::string staticShapeStr(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] == kUnknown ? std::string("?") : std::to_string(shape[i]));
  return s + (shape.size() == 1 ? ",)" : ")");
}

static AdvancedIndex decodeAdvanced(OpKind kind,
                                    const std::vector<IndexEntry> &spec,
                                    const std::vector<Var> &ops) {
  AdvancedIndex ai;
  int next = firstIndexOperand(kind);
  int expected = next;
  for (const IndexEntry &e : spec)
    expected += e.numOperands();
  if (expected != (int)ops.size())
    throw ValueError("the index takes " + std::to_string(expected) +
                     " operands but " + std::to_string(ops.size()) +
                     " were given");
  IndexEntry all;
  all.kind = IndexEntry::Slice;
  int xAxis = 0, vAxis = 0;
  int state = 0; // 0: no part yet, 1: among the parts, 2: past them
  for (const IndexEntry &e : spec) {
    if (e.kind == IndexEntry::Int || e.kind == IndexEntry::Array) {
      if (state == 2)
        ai.adjacent = false;
      state = 1;
      const TensorType *t = ops[next].type();
      AdvancedIndex::Part p;
      p.operand = next++;
      p.array = e.kind == IndexEntry::Array;
      p.mask = p.array && isBool(t->dtype());
      p.rank = t->ndim();
      p.vAxis = vAxis;
      p.xAxis = xAxis;
      for (int i = 0; i < p.axes(); ++i)
        ai.basic.push_back(all);
      vAxis += p.axes();
      xAxis += p.axes();
      ai.advAxes += p.axes();
      ai.bRank = std::max(ai.bRank, p.bRank());
      ai.parts.push_back(p);
      continue;
    }
    if (state == 1)
      state = 2;
    ai.basic.push_back(e);
    for (int i = 0; i < e.numOperands(); ++i)
      ai.basicOperands.push_back(next++);
    ++vAxis;
    if (e.kind != IndexEntry::NewAxis)
      ++xAxis;
  }
  const TensorType *x = ops[0].type();
  if (xAxis > x->ndim())
    throw IndexError("too many indices: " + std::to_string(xAxis) +
                     " for a value of type " + x->str());
  ai.vRank = vAxis + (x->ndim() - xAxis);
  return ai;
}

static std::vector<Var> basicValues(const AdvancedIndex &ai,
                                    const std::vector<Var> &ops) {
  std::vector<Var> out;
  for (int o : ai.basicOperands)
    out.push_back(ops[o]);
  return out;
}

/// The number of true elements of a constant mask, if it is one.
static std::optional<int64_t> staticCount(const Var &mask) {
  if (!mask.isConstant())
    return std::nullopt;
  const NDArray &a = mask.constantValue();
  int64_t n = 0;
  for (int64_t i = 0; i < a.size(); ++i)
    n += a.flatAt(i).toInt() != 0;
  return n;
}

/// A part's shape as it broadcasts (a mask: its count), statically.
static std::vector<int64_t> partStaticShape(const AdvancedIndex::Part &p,
                                            const Var &v) {
  if (!p.mask)
    return v.type()->shape();
  return {staticCount(v).value_or(kUnknown)};
}

/// Broadcasts the parts' static shapes (size 1 broadcasts); IndexError
/// when two known sizes differ.
static std::vector<int64_t>
broadcastStatic(const std::vector<std::vector<int64_t>> &shapes, int rank) {
  std::vector<int64_t> b(rank, 1);
  for (int d = 0; d < rank; ++d) {
    int64_t size = 1;
    bool unknown = false;
    for (const auto &s : shapes) {
      int k = d - (rank - (int)s.size());
      if (k < 0 || s[k] == 1)
        continue;
      if (s[k] == kUnknown) {
        unknown = true;
        continue;
      }
      if (size != 1 && size != s[k]) {
        std::string all;
        for (const auto &t : shapes)
          all += " " + staticShapeStr(t);
        throw IndexError("shape mismatch: indexing arrays could not be "
                         "broadcast together with shapes" +
                         all);
      }
      size = s[k];
    }
    b[d] = size != 1 ? size : unknown ? kUnknown : 1;
  }
  return b;
}

static std::string outOfBounds(int64_t i, int axis, int64_t len) {
  return "index " + std::to_string(i) + " is out of bounds for axis " +
         std::to_string(axis) + " with size " + std::to_string(len);
}

static std::string maskMismatch(int axis, int64_t len, int64_t maskLen) {
  return "boolean index did not match indexed array along dimension " +
         std::to_string(axis) + "; dimension is " + std::to_string(len) +
         " but corresponding boolean dimension is " + std::to_string(maskLen);
}

/// The static type of x[index] for an advanced index, checking the parts'
/// dtypes and ranks, and constant indices against known sizes.
static const TensorType *advancedSelectionType(const AdvancedIndex &ai,
                                               const std::vector<Var> &ops) {
  bool anyArray = false;
  for (const AdvancedIndex::Part &p : ai.parts) {
    const Var &v = ops[p.operand];
    if (!(isInteger(v.dtype()) || isBool(v.dtype())))
      throw IndexError(std::string(p.array ? "arrays used as indices"
                                           : "indices") +
                       " must be of integer (or boolean) type; got " +
                       v.type()->str());
    if (!p.array && v.ndim() != 0)
      throw IndexError("an integer entry of the index must be a scalar; got " +
                       v.type()->str());
    if (p.mask && p.rank == 0)
      throw IndexError("a boolean index must have at least one axis");
    anyArray |= p.array;
  }
  if (!anyArray)
    throw TypeError("an advanced index needs an index array (use subtensor "
                    "for integers, slices and None)");
  const TensorType *view =
      indexedType(ops[0], ai.basic, basicValues(ai, ops));
  std::vector<std::vector<int64_t>> shapes;
  for (const AdvancedIndex::Part &p : ai.parts) {
    const Var &v = ops[p.operand];
    if (p.mask) {
      for (int i = 0; i < p.rank; ++i) {
        int64_t len = view->size(p.vAxis + i), m = v.type()->size(i);
        if (len != kUnknown && m != kUnknown && len != m)
          throw IndexError(maskMismatch(p.xAxis + i, len, m));
      }
    } else if (int64_t len = view->size(p.vAxis); len != kUnknown) {
      auto check = [&](int64_t k) {
        if (k < -len || k >= len)
          throw IndexError(outOfBounds(k, p.xAxis, len));
      };
      if (v.isConstant()) {
        const NDArray &a = v.constantValue();
        for (int64_t i = 0; i < a.size(); ++i)
          check(a.flatAt(i).toInt());
      } else if (auto k = staticInt(v)) {
        check(*k);
      }
    }
    shapes.push_back(partStaticShape(p, v));
  }
  std::vector<int64_t> b = broadcastStatic(shapes, ai.bRank);
  return TensorType::get(ops[0].dtype(),
                         ai.resultShape(b, view->shape()));
}

static std::vector<const TensorType *>
advancedTypes(OpKind kind, const std::vector<Var> &ops, const Attrs &a) {
  AdvancedIndex ai = decodeAdvanced(kind, a.index, ops);
  const TensorType *selection = advancedSelectionType(ai, ops);
  if (kind == OpKind::AdvancedSubtensor)
    return {selection};
  checkWriteType(ops[0], ops[1].type(), selection);
  return {ops[0].type()};
}

static std::vector<SymShape> advancedShape(const Node &n,
                                           const std::vector<SymShape> &in) {
  if (n.kind() != OpKind::AdvancedSubtensor)
    return {in[0]};
  const std::vector<Var> &ops = n.operands();
  AdvancedIndex ai = decodeAdvanced(n.kind(), n.attrs().index, ops);
  std::vector<Var> values = basicValues(ai, ops);
  const TensorType *view = indexedType(ops[0], ai.basic, values);
  SymShape v = basicShape(in[0], ai.basic, values, view);
  const TensorType *t = n.resultTypes()[0];
  SymShape b;
  for (int d = 0; d < ai.bRank; ++d) {
    int64_t known = t->size(ai.before() + d);
    if (known != kUnknown) {
      b.push_back(constant(Scalar::fromInt(known)));
      continue;
    }
    // The size of a part that does not broadcast there.
    Var size;
    for (const AdvancedIndex::Part &p : ai.parts) {
      std::vector<int64_t> s = partStaticShape(p, ops[p.operand]);
      int k = d - (ai.bRank - (int)s.size());
      if (k < 0 || s[k] == 1)
        continue;
      size = p.mask ? sum(cast(ops[p.operand], DType::Int64))
                    : in[p.operand][k];
      break;
    }
    b.push_back(size);
  }
  return {ai.resultShape(b, v)};
}

namespace {
/// The parts' values at run time: one int64 array per indexed axis of V,
/// broadcast to B, with entries in range (negative ones wrapped).
struct ResolvedIndex {
  std::vector<NDArray> arrays;
  Shape b;
};
} // namespace

static ResolvedIndex resolveAdvanced(const Node &n, const AdvancedIndex &ai,
                                     const Shape &vShape,
                                     const std::vector<NDArray> &in) {
  ResolvedIndex r;
  std::vector<Shape> shapes;
  std::vector<std::vector<int64_t>> statics;
  std::vector<std::vector<NDArray>> perPart;
  for (const AdvancedIndex::Part &p : ai.parts) {
    const NDArray &a = in[p.operand];
    statics.push_back(partStaticShape(p, n.operand(p.operand)));
    std::vector<NDArray> arrays;
    if (p.mask) {
      for (int i = 0; i < p.rank; ++i)
        if (a.dim(i) != vShape[p.vAxis + i])
          throw IndexError(
              maskMismatch(p.xAxis + i, vShape[p.vAxis + i], a.dim(i)));
      // nonzero(): the coordinates of the true elements, in order.
      std::vector<std::vector<int64_t>> coords(p.rank);
      NDArray m = a.dtype() == DType::Bool ? a : a.astype(DType::Bool);
      StridedWalker w(m.shape(), {&m.strides()});
      const bool *data = m.data<bool>();
      if (w.valid())
        do
          if (data[w.offset(0)])
            for (int i = 0; i < p.rank; ++i)
              coords[i].push_back(w.index()[i]);
        while (w.next());
      int64_t count = (int64_t)coords[0].size();
      for (int i = 0; i < p.rank; ++i) {
        NDArray c = NDArray::empty(DType::Int64, {count});
        std::copy(coords[i].begin(), coords[i].end(), c.data<int64_t>());
        arrays.push_back(c);
      }
      shapes.push_back({count});
    } else {
      int64_t len = vShape[p.vAxis];
      NDArray c = a.astype(DType::Int64); // a fresh copy
      int64_t *d = c.data<int64_t>();
      bool unsignedBig = a.dtype() == DType::UInt64;
      for (int64_t i = 0; i < c.size(); ++i) {
        if (unsignedBig && d[i] < 0)
          throw IndexError("index " + a.flatAt(i).str() +
                           " is out of bounds for axis " +
                           std::to_string(p.xAxis) + " with size " +
                           std::to_string(len));
        if (d[i] < -len || d[i] >= len)
          throw IndexError(outOfBounds(d[i], p.xAxis, len));
        if (d[i] < 0)
          d[i] += len;
      }
      arrays.push_back(c);
      shapes.push_back(c.shape());
    }
    perPart.push_back(arrays);
  }
  // Broadcast: a size-1 axis broadcasts where the part's type says so.
  r.b.assign((size_t)ai.bRank, (int64_t)1);
  for (int d = 0; d < ai.bRank; ++d) {
    int64_t size = -1;
    bool mismatch = false, one = false;
    for (size_t i = 0; i < shapes.size(); ++i) {
      int k = d - (ai.bRank - (int)shapes[i].size());
      if (k < 0 || statics[i][k] == 1)
        continue;
      int64_t s = shapes[i][k];
      if (size >= 0 && s != size) {
        mismatch = true;
        one |= s == 1 || size == 1;
      }
      size = size < 0 ? s : size;
    }
    if (mismatch) {
      std::string all;
      for (const Shape &s : shapes)
        all += " " + formatShape(s);
      throw IndexError(
          "shape mismatch: indexing arrays could not be broadcast together "
          "with shapes" +
          all +
          (one ? "; a dimension of size 1 broadcasts only when its type says "
                 "so"
               : ""));
    }
    r.b[d] = size < 0 ? 1 : size;
  }
  for (const auto &arrays : perPart)
    for (const NDArray &a : arrays)
      r.arrays.push_back(a.broadcastTo(r.b));
  return r;
}

AdvancedBasicIndex advancedBasicIndex(const Node &n,
                                      const std::vector<NDArray> &in) {
  AdvancedIndex ai = decodeAdvanced(n.kind(), n.attrs().index, n.operands());
  AdvancedBasicIndex basic{ai.basic, {}};
  for (int o : ai.basicOperands)
    basic.values.push_back(in[o]);
  return basic;
}

AdvancedSelection selectAdvanced(const Node &n, const Shape &vShape,
                                 const Shape &vStrides,
                                 const std::vector<NDArray> &in) {
  AdvancedIndex ai = decodeAdvanced(n.kind(), n.attrs().index, n.operands());
  ResolvedIndex r = resolveAdvanced(n, ai, vShape, in);
  AdvancedSelection s;
  s.shape = ai.resultShape(r.b, vShape);
  s.bFirst = ai.bFirst();
  s.b = r.b;
  const std::vector<int> order = ai.indexedFirst();
  const size_t nIdx = r.arrays.size();
  for (size_t i = nIdx; i < order.size(); ++i) {
    s.restShape.push_back(vShape[order[i]]);
    s.restStrides.push_back(vStrides[order[i]]);
  }
  s.offsets = NDArray::empty(DType::Int64, r.b);
  if (s.offsets.size() == 0)
    return s;
  std::vector<const Shape *> strides;
  std::vector<const int64_t *> data;
  for (const NDArray &a : r.arrays) {
    strides.push_back(&a.strides());
    data.push_back(a.data<int64_t>());
  }
  int64_t *offset = s.offsets.data<int64_t>();
  StridedWalker w(r.b, strides);
  do {
    int64_t o = 0;
    for (size_t i = 0; i < nIdx; ++i)
      o += data[i][w.offset((int)i)] * vStrides[order[i]];
    *offset++ = o;
  } while (w.next());
  return s;
}

/// Calls f(v, o) for each element the selection takes from V and the
/// element of `other` (B's axes, then the others) it pairs with: element
/// offsets from their element 0.
template <class F>
static void forEachSelected(const AdvancedSelection &s, const NDArray &other,
                            F &&f) {
  if (s.offsets.size() == 0 || shapeSize(s.restShape) == 0)
    return;
  const size_t nb = s.b.size();
  Shape oB(other.strides().begin(), other.strides().begin() + nb);
  Shape oRest(other.strides().begin() + nb, other.strides().end());
  const int64_t *offset = s.offsets.data<int64_t>();
  StridedWalker outer(s.b, {&oB});
  do {
    StridedWalker inner(s.restShape, {&s.restStrides, &oRest});
    do
      f(*offset + inner.offset(0), outer.offset(0) + inner.offset(1));
    while (inner.next());
    ++offset;
  } while (outer.next());
}

template <class T> static T addValues(T a, T b) {
  if constexpr (std::is_same_v<T, bool>)
    return a || b;
  else if constexpr (std::is_integral_v<T>)
    return (T)((uint64_t)a + (uint64_t)b); // wraps around
  else if constexpr (std::is_same_v<T, Half>) {
    Half h;
    Scalar((double)(float)a + (double)(float)b).store(&h, DType::Float16);
    return h;
  } else if constexpr (std::is_floating_point_v<T>)
    return (T)((double)a + (double)b); // rounded once, as the kernels do
  else
    return T(std::complex<double>(a) + std::complex<double>(b));
}

static std::vector<NDArray> advancedEval(const Node &n,
                                         const std::vector<NDArray> &in) {
  AdvancedBasicIndex basic = advancedBasicIndex(n, in);
  bool read = n.kind() == OpKind::AdvancedSubtensor;
  NDArray out = read ? NDArray() : in[0].copy();
  NDArray view = applyIndex(read ? in[0] : out, basic.spec, basic.values);
  AdvancedSelection s = selectAdvanced(n, view.shape(), view.strides(), in);
  const Shape &selection = s.shape;
  int64_t item = itemSize(in[0].dtype());
  const std::byte *src = view.data();
  if (read) {
    NDArray result = NDArray::empty(in[0].dtype(), selection);
    std::byte *dst = result.data();
    forEachSelected(s, result.permute(s.bFirst),
                    [&](int64_t vo, int64_t oo) {
                      std::memcpy(dst + oo * item, src + vo * item, item);
                    });
    return {result};
  }
  // The value written, checked against the selection and broadcast to it.
  NDArray y = in[1];
  const TensorType *yt = n.operand(1).type();
  int lead = (int)selection.size() - y.ndim();
  bool fits = lead >= 0;
  for (int i = 0; fits && i < y.ndim(); ++i)
    fits = yt->isBroadcastable(i) || y.dim(i) == selection[lead + i];
  if (!fits)
    throw ShapeError("cannot write a value of shape " +
                     formatShape(y.shape()) + " into a selection of shape " +
                     formatShape(selection));
  if (y.dtype() != out.dtype())
    y = y.astype(out.dtype());
  NDArray yv = y.broadcastTo(selection).permute(s.bFirst);
  std::byte *dst = view.data();
  const std::byte *ys = yv.data();
  if (n.kind() == OpKind::AdvancedSetSubtensor) {
    forEachSelected(s, yv, [&](int64_t vo, int64_t yo) {
      std::memcpy(dst + vo * item, ys + yo * item, item);
    });
  } else {
    dispatchDType(out.dtype(), [&](auto zero) {
      using T = decltype(zero);
      T *d = reinterpret_cast<T *>(dst);
      const T *v = reinterpret_cast<const T *>(ys);
      forEachSelected(s, yv, [&](int64_t vo, int64_t yo) {
        d[vo] = addValues(d[vo], v[yo]);
      });
    });
  }
  return {out};
}

/// The same index (operands and attributes) applied to other values.
static Var reindex(const Node &n, OpKind kind, std::vector<Var> values) {
  values.insert(values.end(),
                n.operands().begin() + firstIndexOperand(n.kind()),
                n.operands().end());
  return makeOp(kind, values, n.attrs())[0];
}

/// Reading gives an increment of zeros (accumulating where an index
/// repeats); an increment passes g to x and reads it for y; a write zeroes
/// the written positions of g for x.
static std::vector<Var> advancedGrad(const Node &n, const std::vector<Var> &g) {
  std::vector<Var> out(n.numOperands());
  switch (n.kind()) {
  case OpKind::AdvancedSubtensor:
    out[0] = reindex(n, OpKind::AdvancedIncSubtensor,
                     {zerosLike(n.operand(0)), g[0]});
    break;
  case OpKind::AdvancedSetSubtensor:
    out[0] = reindex(n, OpKind::AdvancedSetSubtensor,
                     {g[0], constant(Scalar::fromInt(0).cast(g[0].dtype()))});
    out[1] = reindex(n, OpKind::AdvancedSubtensor, {g[0]});
    break;
  default:
    out[0] = g[0];
    out[1] = reindex(n, OpKind::AdvancedSubtensor, {g[0]});
    break;
  }
  return out;
}

static std::vector<Var> advancedRop(const Node &n, const std::vector<Var> &t) {
  return linearRop(n, t, n.kind() == OpKind::AdvancedSubtensor ? 1 : 2);
}

/// Unbatched indices: a full slice in front for the batch axis. A batched
/// index: an index array arange(n) for the batch axis of x (x batched
/// first), broadcast with the items' index arrays aligned to B's rank (an
/// integer that varies becomes an array). Where NumPy's rule then moves B
/// elsewhere than in the items, a dimshuffle puts the batch axis first and
/// B back (and y, for writes, is laid out as the batched selection).
static std::vector<Var> advancedVectorize(const Node &n,
                                          const std::vector<Var> &ops,
                                          const std::vector<bool> &batched,
                                          const Var &size) {
  int values = firstIndexOperand(n.kind());
  AdvancedIndex ai = decodeAdvanced(n.kind(), n.attrs().index, n.operands());
  for (int o : ai.basicOperands)
    if (batched[o])
      cannotVectorize(n, "a slice bound or the position of a new axis");
  bool indexBatched = false;
  for (const AdvancedIndex::Part &p : ai.parts) {
    if (p.mask && batched[p.operand])
      cannotVectorize(n, "the number of elements a boolean mask selects");
    indexBatched |= batched[p.operand];
  }
  int rank = ai.resultRank(), rb = ai.bRank, p = ai.before();
  // perm: the new op's result (or selection) axes that make the batch
  // axis first and the items laid out as the node's.
  std::vector<int> perm;
  Attrs a = n.attrs();
  std::vector<Var> xs(ops.begin(), ops.begin() + values);
  std::vector<Var> index(ops.begin() + values, ops.end());
  if (!batched[0] && (values == 2 || indexBatched))
    xs[0] = batchOf(ops[0], size);
  if (!indexBatched) {
    IndexEntry all;
    all.kind = IndexEntry::Slice;
    a.index.insert(a.index.begin(), all);
    if (ai.adjacent) {
      for (int i = 0; i <= rank; ++i)
        perm.push_back(i);
    } else { // B, the batch axis, the others
      perm.push_back(rb);
      for (int i = 0; i < rb; ++i)
        perm.push_back(i);
      for (int i = rb + 1; i <= rank; ++i)
        perm.push_back(i);
    }
  } else {
    // Integers that vary become index arrays.
    int next = values;
    for (IndexEntry &e : a.index) {
      if (e.kind == IndexEntry::Int && batched[next])
        e.kind = IndexEntry::Array;
      next += e.numOperands();
    }
    IndexEntry arr;
    arr.kind = IndexEntry::Array;
    a.index.insert(a.index.begin(), arr);
    std::vector<int> pattern{0};
    pattern.insert(pattern.end(), rb, -1);
    index.insert(index.begin(),
                 dimshuffle(arange(0, size, 1, DType::Int64), pattern));
    for (const AdvancedIndex::Part &q : ai.parts)
      if (batched[q.operand]) {
        Var &v = index[q.operand - values + 1];
        v = alignBatched(v, rb);
      }
    // The result is (n) + B + the others: the first p others go before B.
    perm.push_back(0);
    for (int i = 0; i < p; ++i)
      perm.push_back(rb + 1 + i);
    for (int i = 0; i < rb; ++i)
      perm.push_back(1 + i);
    for (int i = rb + 1 + p; i <= rank; ++i)
      perm.push_back(i);
  }
  bool identity = true;
  for (int i = 0; i <= rank; ++i)
    identity &= perm[i] == i;
  std::vector<Var> newOps = xs;
  if (values == 2) {
    // y laid out as the items' selection with the batch axis first...
    Var y = ops[1];
    if (batched[1]) {
      y = alignBatched(y, rank);
    } else {
      std::vector<int> pattern(rank + 1 - y.ndim(), -1);
      for (int i = 0; i < y.ndim(); ++i)
        pattern.push_back(i);
      y = dimshuffle(y, pattern);
    }
    // ... then as the batched selection.
    if (!identity) {
      std::vector<int> inverse(rank + 1);
      for (int i = 0; i <= rank; ++i)
        inverse[perm[i]] = i;
      y = dimshuffle(y, inverse);
    }
    newOps[1] = y;
  }
  newOps.insert(newOps.end(), index.begin(), index.end());
  Var r = makeOp(n.kind(), newOps, a)[0];
  if (values == 1 && !identity)
    r = dimshuffle(r, perm);
  return {r};
}

// ---- Builders ---------------------------------------------------------------

static Var indexScalar(const Operand &o) {
  if (!o.isVar()) {
    if (o.pyKind() != PyScalarKind::Int && o.pyKind() != PyScalarKind::Bool)
      throw IndexError("indices must be integers or slices; got " +
                       o.pyValue().str());
    return constant(Scalar::fromInt(o.pyValue().toInt()));
  }
  const Var &v = o.asVar();
  if (v.ndim() != 0 || !(isInteger(v.dtype()) || isBool(v.dtype())))
    throw IndexError("indices must be integer scalars; got " + v.type()->str());
  return cast(v, DType::Int64);
}

/// An index array: an integer entry holding an array of rank >= 1, or an
/// array entry not holding a scalar.
static bool isIndexArray(const Index &e) {
  if (e.ellipsis || !e.value ||
      (e.kind != IndexEntry::Int && e.kind != IndexEntry::Array))
    return false;
  return e.value->isVar() && e.value->asVar().ndim() > 0;
}

/// Expands the ellipsis and returns the spec and its operand values.
static std::pair<std::vector<IndexEntry>, std::vector<Var>>
buildIndex(const Var &x, const std::vector<Index> &index) {
  int used = 0, ellipses = 0;
  for (const Index &e : index) {
    if (e.ellipsis)
      ++ellipses;
    else if (isIndexArray(e) && isBool(e.value->asVar().dtype()))
      used += e.value->asVar().ndim(); // a mask covers its axes
    else if (e.kind != IndexEntry::NewAxis)
      ++used;
  }
  if (ellipses > 1)
    throw IndexError("an index can only have a single ellipsis ('...')");
  if (used > x.ndim())
    throw IndexError("too many indices for a value of type " + x.type()->str() +
                     ": " + std::to_string(used) + " were given");
  std::vector<IndexEntry> spec;
  std::vector<Var> values;
  for (const Index &e : index) {
    if (e.ellipsis) {
      for (int i = 0; i < x.ndim() - used; ++i)
        spec.push_back({IndexEntry::Slice});
      continue;
    }
    IndexEntry entry;
    entry.kind = e.kind;
    if (isIndexArray(e)) {
      const Var &v = e.value->asVar();
      if (!(isInteger(v.dtype()) || isBool(v.dtype())))
        throw IndexError("arrays used as indices must be of integer (or "
                         "boolean) type; got " +
                         v.type()->str());
      entry.kind = IndexEntry::Array;
      values.push_back(v);
    } else if (e.kind == IndexEntry::Int || e.kind == IndexEntry::Array) {
      entry.kind = IndexEntry::Int;
      values.push_back(indexScalar(*e.value));
    } else if (e.kind == IndexEntry::Slice) {
      // None parts are absent; a step of 1 needs no operand.
      auto present = [](const std::optional<Operand> &o) {
        return o.has_value();
      };
      entry.hasStart = present(e.start);
      entry.hasStop = present(e.stop);
      entry.hasStep = present(e.step) &&
                      !(!e.step->isVar() && e.step->pyValue().toInt() == 1 &&
                        e.step->pyKind() == PyScalarKind::Int);
      if (entry.hasStart)
        values.push_back(indexScalar(*e.start));
      if (entry.hasStop)
        values.push_back(indexScalar(*e.stop));
      if (entry.hasStep)
        values.push_back(indexScalar(*e.step));
    }
    spec.push_back(entry);
  }
  // Trailing full slices add nothing.
  while (!spec.empty() && spec.back().kind == IndexEntry::Slice &&
         !spec.back().hasStart && !spec.back().hasStop && !spec.back().hasStep)
    spec.pop_back();
  return {spec, values};
}

Var subtensor(const Var &x, const std::vector<Index> &index) {
  auto [spec, values] = buildIndex(x, index);
  if (spec.empty())
    return x;
  bool advanced = false;
  for (const IndexEntry &e : spec)
    advanced |= e.kind == IndexEntry::Array;
  std::vector<Var> ops{x};
  ops.insert(ops.end(), values.begin(), values.end());
  Attrs a;
  a.index = spec;
  return makeOp(advanced ? OpKind::AdvancedSubtensor : OpKind::Subtensor, ops,
                a)[0];
}

static Var writeSubtensor(OpKind kind, const Var &view, const Operand &y) {
  const char *name = opName(kind);
  Node *n = view.node();
  if (n->kind() == OpKind::AdvancedSubtensor)
    kind = kind == OpKind::SetSubtensor ? OpKind::AdvancedSetSubtensor
                                        : OpKind::AdvancedIncSubtensor;
  else if (n->kind() != OpKind::Subtensor) {
    // x[:] (or x[...]) is x itself: the write covers everything.
    throw TypeError(std::string(name) +
                    ": the first argument must be an indexed value such as "
                    "x[1:3]; got a value made by " +
                    n->name());
  }
  Var x = n->operand(0);
  Var yv = y.isVar() ? y.asVar() : asTensors({x, y}, name)[1];
  std::vector<Var> ops{x, yv};
  ops.insert(ops.end(), n->operands().begin() + 1, n->operands().end());
  return makeOp(kind, ops, n->attrs())[0];
}

Var setSubtensor(const Var &view, const Operand &y) {
  return writeSubtensor(OpKind::SetSubtensor, view, y);
}

Var incSubtensor(const Var &view, const Operand &y) {
  return writeSubtensor(OpKind::IncSubtensor, view, y);
}

/// x (and y) are the values; the index operands stay.
static std::vector<Var> subtensorRop(const Node &n, const std::vector<Var> &t) {
  return linearRop(n, t, n.kind() == OpKind::Subtensor ? 1 : 2);
}

/// The index with a full slice in front for the batch axis; a write
/// batches x and y both, y's items aligned to the items of x[index].
static std::vector<Var> subtensorVectorize(const Node &n,
                                           const std::vector<Var> &ops,
                                           const std::vector<bool> &batched,
                                           const Var &size) {
  int values = n.kind() == OpKind::Subtensor ? 1 : 2;
  for (size_t i = values; i < ops.size(); ++i)
    if (batched[i])
      cannotVectorize(n, "the index");
  Attrs a = n.attrs();
  IndexEntry all;
  all.kind = IndexEntry::Slice;
  a.index.insert(a.index.begin(), all);
  std::vector<Var> xs = ops;
  if (values == 2) {
    if (!batched[0])
      xs[0] = batchOf(ops[0], size);
    if (batched[1]) {
      int viewRank = n.operand(0).ndim();
      for (const IndexEntry &e : n.attrs().index)
        viewRank += e.kind == IndexEntry::NewAxis ? 1
                    : e.kind == IndexEntry::Int   ? -1
                                                  : 0;
      xs[1] = alignBatched(ops[1], viewRank);
    }
  }
  return makeOp(n.kind(), xs, a);
}

void registerSubtensorOps(OpDef *t) {
  t[(int)OpKind::Subtensor] = {subtensorTypes,
                               subtensorShape,
                               subtensorEval,
                               subtensorGrad,
                               "x[index]: basic indexing with ints, slices "
                               "and None (a view)",
                               subtensorRop,
                               subtensorVectorize};
  t[(int)OpKind::AdvancedSubtensor] = {
      advancedTypes,
      advancedShape,
      advancedEval,
      advancedGrad,
      "x[index] with index arrays: NumPy's advanced indexing (integer arrays "
      "broadcast together, mixed with ints, slices and None; boolean masks); "
      "a copy",
      advancedRop,
      advancedVectorize};
  t[(int)OpKind::AdvancedSetSubtensor] = {
      advancedTypes,
      advancedShape,
      advancedEval,
      advancedGrad,
      "x with x[index] replaced by y, for an advanced index (a position "
      "selected twice gets the last value)",
      advancedRop,
      advancedVectorize};
  t[(int)OpKind::AdvancedIncSubtensor] = {
      advancedTypes,
      advancedShape,
      advancedEval,
      advancedGrad,
      "x with y added to x[index], for an advanced index (a position "
      "selected several times gets every increment, as numpy.add.at)",
      advancedRop,
      advancedVectorize};
  t[(int)OpKind::SetSubtensor] = {subtensorTypes,
                                  subtensorShape,
                                  subtensorEval,
                                  subtensorGrad,
                                  "x with x[index] replaced by y",
                                  subtensorRop,
                                  subtensorVectorize};
  t[(int)OpKind::IncSubtensor] = {subtensorTypes,
                                  subtensorShape,
                                  subtensorEval,
                                  subtensorGrad,
                                  "x with y added to x[index]",
                                  subtensorRop,
                                  subtensorVectorize};
}

} // namespace thjit
