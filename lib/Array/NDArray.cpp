//===- NDArray.cpp - Strided n-d arrays: buffers, views, copies -----------===//
#include "thjit/Array/NDArray.h"
#include "thjit/Support/Error.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace thjit {

Buffer::Buffer(size_t n) : bytes(n) {
  // aligned_alloc needs a multiple of the alignment; never ask for 0 bytes.
  size_t rounded = (std::max<size_t>(n, 1) + 63) / 64 * 64;
  ptr = static_cast<std::byte *>(std::aligned_alloc(64, rounded));
  if (!ptr)
    throw std::bad_alloc();
}

Buffer::~Buffer() { std::free(ptr); }

Shape contiguousStrides(const Shape &shape, Order order) {
  Shape strides(shape.size());
  int64_t step = 1;
  if (order == Order::C) {
    for (int i = (int)shape.size() - 1; i >= 0; --i) {
      strides[i] = step;
      step *= std::max<int64_t>(shape[i], 1);
    }
  } else {
    for (size_t i = 0; i < shape.size(); ++i) {
      strides[i] = step;
      step *= std::max<int64_t>(shape[i], 1);
    }
  }
  return strides;
}

int64_t shapeSize(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

NDArray::NDArray(std::shared_ptr<Buffer> buffer, std::byte *first, DType t,
                 Shape shape, Shape strides)
    : buf(std::move(buffer)), start(first), type(t), dims(std::move(shape)),
      steps(std::move(strides)) {}

NDArray NDArray::empty(DType t, const Shape &shape, Order order) {
  if ((int)shape.size() > kMaxRank)
    throw ValueError("arrays have at most " + std::to_string(kMaxRank) +
                     " dimensions; got " + std::to_string(shape.size()));
  for (int64_t d : shape)
    if (d < 0)
      throw ValueError("negative dimensions are not allowed: shape " +
                       formatShape(shape));
  auto buffer = std::make_shared<Buffer>(shapeSize(shape) * itemSize(t));
  std::byte *first = buffer->data();
  return NDArray(std::move(buffer), first, t, shape,
                 contiguousStrides(shape, order));
}

NDArray NDArray::zeros(DType t, const Shape &shape) {
  NDArray a = empty(t, shape);
  std::memset(a.data(), 0, a.nbytes());
  return a;
}

NDArray NDArray::full(DType t, const Shape &shape, const Scalar &value) {
  NDArray a = empty(t, shape);
  a.fill(value);
  return a;
}

NDArray NDArray::scalar(const Scalar &value) {
  return full(value.dtype(), {}, value);
}

NDArray NDArray::fromValues(DType t, const std::vector<Scalar> &values,
                            const Shape &shape) {
  NDArray a = empty(t, shape);
  if ((int64_t)values.size() != a.size())
    throw ValueError("cannot fill an array of shape " + formatShape(shape) +
                     " with " + std::to_string(values.size()) + " values");
  size_t item = itemSize(t);
  for (size_t i = 0; i < values.size(); ++i)
    values[i].store(a.data() + i * item, t);
  return a;
}

bool NDArray::isContiguous(Order order) const {
  if (size() <= 1)
    return true;
  Shape expect = contiguousStrides(dims, order);
  for (int i = 0; i < ndim(); ++i)
    if (dims[i] != 1 && steps[i] != expect[i])
      return false;
  return true;
}

// The byte range [lo, hi) an array's elements occupy.
static std::pair<const std::byte *, const std::byte *>
extent(const NDArray &a) {
  const std::byte *lo = a.data(), *hi = a.data();
  if (a.size() == 0)
    return {lo, lo};
  int64_t item = itemSize(a.dtype());
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t span = (a.dim(i) - 1) * a.strides()[i] * item;
    if (span < 0)
      lo += span;
    else
      hi += span;
  }
  return {lo, hi + item};
}

bool NDArray::mayShareMemory(const NDArray &other) const {
  if (!defined() || !other.defined() || buf != other.buf)
    return false;
  auto [alo, ahi] = extent(*this);
  auto [blo, bhi] = extent(other);
  return alo < bhi && blo < ahi;
}

static std::byte *elementAddress(const NDArray &a,
                                 const std::vector<int64_t> &index) {
  if ((int)index.size() != a.ndim())
    throw IndexError("an index of " + std::to_string(index.size()) +
                     " values for an array of rank " +
                     std::to_string(a.ndim()));
  int64_t off = 0;
  for (int i = 0; i < a.ndim(); ++i) {
    if (index[i] < 0 || index[i] >= a.dim(i))
      throw IndexError("index " + std::to_string(index[i]) +
                       " is out of bounds for axis " + std::to_string(i) +
                       " with size " + std::to_string(a.dim(i)));
    off += index[i] * a.strides()[i];
  }
  return a.data() + off * (int64_t)itemSize(a.dtype());
}

Scalar NDArray::at(const std::vector<int64_t> &index) const {
  return Scalar::load(elementAddress(*this, index), type);
}

void NDArray::setAt(const std::vector<int64_t> &index, const Scalar &value) {
  value.store(elementAddress(*this, index), type);
}

Scalar NDArray::flatAt(int64_t i) const {
  std::vector<int64_t> index(ndim());
  for (int d = ndim() - 1; d >= 0; --d) {
    index[d] = i % dims[d];
    i /= dims[d];
  }
  return at(index);
}

Scalar NDArray::item() const {
  if (size() != 1)
    throw ValueError("can only convert an array of size 1 to a scalar; this "
                     "one has shape " +
                     formatShape(dims));
  return flatAt(0);
}

std::vector<Scalar> NDArray::values() const {
  std::vector<Scalar> out;
  out.reserve(size());
  StridedWalker w(dims, {&steps});
  int64_t item = itemSize(type);
  if (w.valid())
    do
      out.push_back(Scalar::load(start + w.offset(0) * item, type));
    while (w.next());
  return out;
}

NDArray NDArray::transpose() const {
  std::vector<int> perm(ndim());
  for (int i = 0; i < ndim(); ++i)
    perm[i] = ndim() - 1 - i;
  return permute(perm);
}

// Throws IndexError unless 0 <= axis < bound.
static void checkAxis(int axis, int bound, const char *what) {
  if (axis < 0 || axis >= bound)
    throw IndexError(std::string(what) + ": axis " + std::to_string(axis) +
                     " is out of bounds for an array of rank " +
                     std::to_string(bound));
}

NDArray NDArray::permute(const std::vector<int> &perm) const {
  std::vector<bool> seen(ndim(), false);
  bool valid = (int)perm.size() == ndim();
  for (size_t i = 0; valid && i < perm.size(); ++i) {
    valid = perm[i] >= 0 && perm[i] < ndim() && !seen[perm[i]];
    if (valid)
      seen[perm[i]] = true;
  }
  if (!valid) {
    std::vector<int64_t> axes(perm.begin(), perm.end());
    throw ValueError("axes " + formatShape(axes) +
                     " are not a permutation of the axes of an array of rank " +
                     std::to_string(ndim()));
  }
  Shape shape(perm.size()), strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = dims[perm[i]];
    strides[i] = steps[perm[i]];
  }
  return NDArray(buf, start, type, shape, strides);
}

NDArray NDArray::slice(int axis, int64_t first, int64_t stop,
                       int64_t step) const {
  checkAxis(axis, ndim(), "slice");
  if (step == 0)
    throw ValueError("slice step cannot be zero");
  int64_t n = 0;
  if (step > 0 && stop > first)
    n = (stop - first + step - 1) / step;
  else if (step < 0 && stop < first)
    n = (first - stop + (-step) - 1) / (-step);
  Shape shape = dims, strides = steps;
  shape[axis] = n;
  strides[axis] = steps[axis] * step;
  std::byte *p = n ? start + first * steps[axis] * (int64_t)itemSize(type)
                   : start;
  return NDArray(buf, p, type, shape, strides);
}

NDArray NDArray::select(int axis, int64_t index) const {
  checkAxis(axis, ndim(), "select");
  if (index < 0 || index >= dims[axis])
    throw IndexError("index " + std::to_string(index) +
                     " is out of bounds for axis " + std::to_string(axis) +
                     " with size " + std::to_string(dims[axis]));
  Shape shape = dims, strides = steps;
  shape.erase(shape.begin() + axis);
  strides.erase(strides.begin() + axis);
  return NDArray(buf, start + index * steps[axis] * (int64_t)itemSize(type),
                 type, shape, strides);
}

NDArray NDArray::expandDims(int axis) const {
  checkAxis(axis, ndim() + 1, "expandDims");
  Shape shape = dims, strides = steps;
  shape.insert(shape.begin() + axis, 1);
  strides.insert(strides.begin() + axis, 0);
  return NDArray(buf, start, type, shape, strides);
}

Shape broadcastShapes(const Shape &a, const Shape &b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError("operands could not be broadcast together with shapes " +
                       formatShape(a) + " " + formatShape(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

NDArray NDArray::broadcastTo(const Shape &shape) const {
  if (shape.size() < dims.size())
    throw ShapeError("cannot broadcast an array of shape " + formatShape(dims) +
                     " to the smaller rank shape " + formatShape(shape));
  for (int64_t d : shape)
    if (d < 0)
      throw ValueError("cannot broadcast to shape " + formatShape(shape) +
                       " with a negative dimension");
  size_t lead = shape.size() - dims.size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == shape[lead + i])
      strides[lead + i] = steps[i];
    else if (dims[i] != 1)
      throw ShapeError("cannot broadcast an array of shape " +
                       formatShape(dims) + " to shape " + formatShape(shape));
  }
  return NDArray(buf, start, type, shape, strides);
}

Shape resolveReshape(const Shape &from, const Shape &to) {
  Shape out = to;
  int64_t known = 1;
  int unknown = -1;
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      if (unknown >= 0)
        throw ValueError("can only specify one unknown dimension (-1) in "
                         "reshape to " +
                         formatShape(to));
      unknown = (int)i;
    } else if (to[i] < 0) {
      throw ValueError("negative dimension in reshape to " + formatShape(to));
    } else {
      known *= to[i];
    }
  }
  int64_t total = shapeSize(from);
  if (unknown >= 0) {
    if (known == 0 || total % known != 0)
      throw ValueError("cannot reshape array of size " + std::to_string(total) +
                       " into shape " + formatShape(to));
    out[unknown] = total / known;
  } else if (known != total) {
    throw ValueError("cannot reshape array of size " + std::to_string(total) +
                     " into shape " + formatShape(to));
  }
  return out;
}

bool reshapeStrides(const Shape &dims, const Shape &steps, const Shape &to,
                    Shape &strides) {
  // Drop length-1 axes of the source; they never constrain the layout.
  Shape oldDims, oldStrides;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] != 1) {
      oldDims.push_back(dims[i]);
      oldStrides.push_back(steps[i]);
    }
  strides.assign(to.size(), 0);
  size_t oi = 0, ni = 0;
  while (oi < oldDims.size() || ni < to.size()) {
    if (ni < to.size() && to[ni] == 1) {
      strides[ni] = 0;
      ++ni;
      continue;
    }
    if (oi >= oldDims.size() || ni >= to.size())
      return false;
    // Group old axes [oi, oj) and new axes [ni, nj) with equal products.
    size_t oj = oi + 1, nj = ni + 1;
    int64_t op = oldDims[oi], np = to[ni];
    while (op != np) {
      if (op < np) {
        if (oj >= oldDims.size())
          return false;
        op *= oldDims[oj++];
      } else {
        if (nj >= to.size())
          return false;
        np *= to[nj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k)
      if (oldStrides[k] != oldStrides[k + 1] * oldDims[k + 1])
        return false;
    int64_t step = oldStrides[oj - 1];
    for (size_t k = nj; k-- > ni;) {
      strides[k] = step;
      step *= to[k];
    }
    oi = oj;
    ni = nj;
  }
  return true;
}

NDArray NDArray::reshape(const Shape &shape) const {
  Shape to = resolveReshape(dims, shape);
  if (size() == 0)
    return NDArray::empty(type, to);
  Shape strides;
  if (reshapeStrides(dims, steps, to, strides))
    return NDArray(buf, start, type, to, strides);
  return copy().reshape(to);
}

NDArray NDArray::copy(Order order) const {
  NDArray out = empty(type, dims, order);
  out.assign(*this);
  return out;
}

NDArray NDArray::astype(DType t) const {
  NDArray out = empty(t, dims);
  out.assign(*this);
  return out;
}

void NDArray::assign(const NDArray &src) {
  NDArray from = src.broadcastTo(dims);
  int64_t inItem = itemSize(from.type), outItem = itemSize(type);
  // A source that overlaps the destination is read from a copy first.
  if (from.mayShareMemory(*this))
    from = from.copy().broadcastTo(dims);
  StridedWalker w(dims, {&from.steps, &steps});
  if (!w.valid())
    return;
  if (from.type == type) {
    do
      std::memcpy(start + w.offset(1) * outItem,
                  from.start + w.offset(0) * inItem, outItem);
    while (w.next());
    return;
  }
  do
    Scalar::load(from.start + w.offset(0) * inItem, from.type)
        .store(start + w.offset(1) * outItem, type);
  while (w.next());
}

void NDArray::fill(const Scalar &value) {
  alignas(16) std::byte elem[16];
  value.store(elem, type);
  int64_t item = itemSize(type);
  StridedWalker w(dims, {&steps});
  if (w.valid())
    do
      std::memcpy(start + w.offset(0) * item, elem, item);
    while (w.next());
}

StridedWalker::StridedWalker(const Shape &s, std::vector<const Shape *> st)
    : shape(s), strides(std::move(st)), idx(s.size(), 0),
      offsets(strides.size(), 0), remaining(shapeSize(s)) {}

bool StridedWalker::next() {
  if (--remaining <= 0)
    return false;
  for (int d = (int)shape.size() - 1; d >= 0; --d) {
    if (++idx[d] < shape[d]) {
      for (size_t k = 0; k < strides.size(); ++k)
        offsets[k] += (*strides[k])[d];
      return true;
    }
    for (size_t k = 0; k < strides.size(); ++k)
      offsets[k] -= (*strides[k])[d] * (shape[d] - 1);
    idx[d] = 0;
  }
  return false;
}

} // namespace thjit
