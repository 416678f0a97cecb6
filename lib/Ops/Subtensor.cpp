//===- Subtensor.cpp - Basic indexing: x[i, a:b:c, None] and writes -------===//
///
/// \file
/// Subtensor reads x[index] as a view; SetSubtensor and IncSubtensor give a
/// copy of x with x[index] replaced by, or increased by, y. The index is an
/// attribute (which entries are ints, slices with which parts, new axes);
/// the integer values are operands after x (and y), so they may be symbolic.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>

namespace thjit {

static constexpr int64_t kUnknown = TensorType::kUnknown;

// Python's slice.indices: clamps start and stop into range for the step.
static void sliceIndices(int64_t len, std::optional<int64_t> start,
                         std::optional<int64_t> stop, int64_t step,
                         int64_t &first, int64_t &last) {
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
  return kind == OpKind::Subtensor ? 1 : 2;
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

NDArray applyIndex(const NDArray &x, const std::vector<IndexEntry> &spec,
                   const std::vector<NDArray> &values) {
  NDArray r = x;
  int axis = 0, next = 0; // axis of r being indexed
  for (const IndexEntry &e : spec) {
    if (e.kind == IndexEntry::NewAxis) {
      r = r.expandDims(axis++);
      continue;
    }
    int64_t len = r.dim(axis);
    if (e.kind == IndexEntry::Int) {
      int64_t i = values[next++].item().toInt();
      if (i < -len || i >= len)
        throw IndexError("index " + std::to_string(i) +
                         " is out of bounds for axis " + std::to_string(axis) +
                         " with size " + std::to_string(len));
      r = r.select(axis, i < 0 ? i + len : i);
      continue;
    }
    std::optional<int64_t> start, stop;
    int64_t step = 1;
    if (e.hasStart)
      start = values[next++].item().toInt();
    if (e.hasStop)
      stop = values[next++].item().toInt();
    if (e.hasStep)
      step = values[next++].item().toInt();
    if (step == 0)
      throw ValueError("slice step cannot be zero");
    int64_t first, last;
    sliceIndices(len, start, stop, step, first, last);
    r = r.slice(axis++, first, last, step);
  }
  return r;
}

// ---- Subtensor --------------------------------------------------------------

static std::vector<Var> indexValues(const Node &n) {
  return std::vector<Var>(n.operands().begin() + firstIndexOperand(n.kind()),
                          n.operands().end());
}

static std::vector<const TensorType *>
subtensorTypes(OpKind kind, const std::vector<Var> &ops, const Attrs &a) {
  std::vector<Var> values(ops.begin() + firstIndexOperand(kind), ops.end());
  const TensorType *view = indexedType(ops[0], a.index, values);
  if (kind == OpKind::Subtensor)
    return {view};
  // Writes: y must fit the view (broadcasting only where y has size 1) and
  // its dtype must convert to x's without loss.
  const TensorType *y = ops[1].type();
  if (promoteTypes(ops[0].dtype(), y->dtype()) != ops[0].dtype())
    throw TypeError("cannot write " + std::string(dtypeName(y->dtype())) +
                    " values into a " + dtypeName(ops[0].dtype()) +
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
  return {ops[0].type()};
}

static std::vector<SymShape> subtensorShape(const Node &n,
                                            const std::vector<SymShape> &in) {
  if (n.kind() != OpKind::Subtensor)
    return {in[0]};
  // Sizes of slices follow Python's rules: computed on the shape vector.
  std::vector<Var> values = indexValues(n);
  const TensorType *t = n.resultTypes()[0];
  SymShape out;
  int axis = 0, next = 0, outAxis = 0;
  for (const IndexEntry &e : n.attrs().index) {
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
    Var len = in[0][axis];
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
  for (; axis < n.operand(0).ndim(); ++axis)
    out.push_back(in[0][axis]);
  return {out};
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
    throw IndexError("indices must be integer scalars; got " + v.type()->str() +
                     " (indexing with arrays is not supported yet)");
  return cast(v, DType::Int64);
}

/// Expands the ellipsis and returns the spec and its operand values.
static std::pair<std::vector<IndexEntry>, std::vector<Var>>
buildIndex(const Var &x, const std::vector<Index> &index) {
  int used = 0, ellipses = 0;
  for (const Index &e : index) {
    if (e.ellipsis)
      ++ellipses;
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
    if (e.kind == IndexEntry::Int) {
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
  std::vector<Var> ops{x};
  ops.insert(ops.end(), values.begin(), values.end());
  Attrs a;
  a.index = spec;
  return makeOp(OpKind::Subtensor, ops, a)[0];
}

static Var writeSubtensor(OpKind kind, const Var &view, const Operand &y) {
  const char *name = opName(kind);
  Node *n = view.node();
  if (n->kind() != OpKind::Subtensor) {
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
