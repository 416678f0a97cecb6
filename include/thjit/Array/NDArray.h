//===- thjit/Array/NDArray.h - Strided n-d arrays ---------------*- C++ -*-===//
///
/// \file
/// NDArray: a refcounted, 64-byte-aligned buffer seen through a dtype, a
/// shape and strides counted in elements (negative and zero strides allowed).
/// Copying an NDArray shares the buffer; views (transpose, slices, reshape
/// when possible, broadcasting) share it too. copy() and astype() make new
/// buffers. Ranks 0 to kMaxRank are supported.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_NDARRAY_H
#define THJIT_ARRAY_NDARRAY_H

#include "thjit/Array/DType.h"
#include "thjit/Array/Scalar.h"
#include "thjit/Array/Shape.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace thjit {

constexpr int kMaxRank = 32;

enum class Order { C, F };

/// Owns aligned memory; shared by all views of it.
class Buffer {
public:
  explicit Buffer(size_t bytes);
  ~Buffer();
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  std::byte *data() const { return ptr; }
  size_t size() const { return bytes; }

private:
  std::byte *ptr;
  size_t bytes;
};

/// Row-major (C) strides in elements for a shape.
Shape contiguousStrides(const Shape &shape, Order order = Order::C);
/// The number of elements of a shape (1 for rank 0).
int64_t shapeSize(const Shape &shape);

class NDArray {
public:
  /// An undefined array (no buffer); defined() is false.
  NDArray() = default;

  /// A new uninitialized array.
  static NDArray empty(DType t, const Shape &shape, Order order = Order::C);
  static NDArray zeros(DType t, const Shape &shape);
  static NDArray full(DType t, const Shape &shape, const Scalar &value);
  /// A 0-d array holding the value, with the value's dtype.
  static NDArray scalar(const Scalar &value);
  /// A 1-d array of the values, cast to `t`.
  static NDArray fromValues(DType t, const std::vector<Scalar> &values,
                            const Shape &shape);

  bool defined() const { return buf != nullptr; }
  DType dtype() const { return type; }
  int ndim() const { return (int)dims.size(); }
  const Shape &shape() const { return dims; }
  const Shape &strides() const { return steps; }
  int64_t dim(int axis) const { return dims[axis]; }
  int64_t size() const { return shapeSize(dims); }
  size_t nbytes() const { return size() * itemSize(type); }

  /// Address of element (0, ..., 0).
  std::byte *data() const { return start; }
  template <class T> T *data() const { return reinterpret_cast<T *>(start); }
  const std::shared_ptr<Buffer> &buffer() const { return buf; }

  bool isContiguous(Order order = Order::C) const;
  /// True when both arrays may touch the same bytes.
  bool mayShareMemory(const NDArray &other) const;

  // ---- element access
  /// The element at a full index (negative indices not accepted here).
  Scalar at(const std::vector<int64_t> &index) const;
  void setAt(const std::vector<int64_t> &index, const Scalar &value);
  /// The element at a row-major position 0 <= i < size().
  Scalar flatAt(int64_t i) const;
  /// The one element of a size-1 array; ValueError otherwise.
  Scalar item() const;
  /// Every element in row-major order.
  std::vector<Scalar> values() const;

  // ---- views: share the buffer
  /// Reverses the axes (numpy's .T).
  NDArray transpose() const;
  /// Axis i of the result is axis perm[i] of this.
  NDArray permute(const std::vector<int> &perm) const;
  /// Basic slice of one axis; start/stop/step already normalized as by
  /// Python's slice.indices (step != 0).
  NDArray slice(int axis, int64_t start, int64_t stop, int64_t step) const;
  /// Indexes one axis with 0 <= index < dim(axis), dropping the axis.
  NDArray select(int axis, int64_t index) const;
  /// Inserts a length-1 axis at `axis`.
  NDArray expandDims(int axis) const;
  /// NumPy broadcasting to `shape` with zero strides (a read-only view).
  NDArray broadcastTo(const Shape &shape) const;
  /// A view with the new shape when the strides allow it, else a copy;
  /// one entry may be -1. ValueError when the sizes disagree.
  NDArray reshape(const Shape &shape) const;

  // ---- copies
  NDArray copy(Order order = Order::C) const;
  NDArray astype(DType t) const;
  /// Copies `src` into this array's elements, broadcasting and casting.
  void assign(const NDArray &src);
  void fill(const Scalar &value);

  /// NumPy's repr: "array([[1., 2.],\n       [3., 4.]])".
  std::string repr() const;
  /// NumPy's str (what print() shows): "[[1. 2.]\n [3. 4.]]".
  std::string str() const;

  /// Builds a view on an existing buffer (used by views and .npy loading).
  NDArray(std::shared_ptr<Buffer> buf, std::byte *start, DType type,
          Shape shape, Shape strides);

private:
  std::shared_ptr<Buffer> buf;
  std::byte *start = nullptr;
  DType type = DType::Float64;
  Shape dims;
  Shape steps;
};

/// Walks every index of `shape` in row-major order, keeping the element
/// offset of several arrays (given by their strides) up to date.
class StridedWalker {
public:
  StridedWalker(const Shape &shape, std::vector<const Shape *> strides);
  /// False when the shape has no elements.
  bool valid() const { return remaining > 0; }
  /// Moves to the next index; false when past the end.
  bool next();
  int64_t offset(int operand) const { return offsets[operand]; }
  const Shape &index() const { return idx; }

private:
  Shape shape;
  std::vector<const Shape *> strides;
  Shape idx;
  std::vector<int64_t> offsets;
  int64_t remaining;
};

/// NumPy's broadcast of two shapes; ValueError naming both when impossible.
Shape broadcastShapes(const Shape &a, const Shape &b);

/// The shape a reshape of `from` to `to` gives: `to` with its -1 entry (at
/// most one) resolved; ValueError when the element counts differ.
Shape resolveReshape(const Shape &from, const Shape &to);
/// Strides (in C order) for viewing an array of shape `dims` and strides
/// `steps` with the shape `to` (resolved) without copying, or false when its
/// memory layout does not allow it (NumPy's attempt_nocopy).
bool reshapeStrides(const Shape &dims, const Shape &steps, const Shape &to,
                    Shape &strides);

} // namespace thjit

#endif
