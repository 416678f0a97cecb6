//===- thjit/Array/Shape.h - Sizes and strides of an array -----*- C++ -*-===//
///
/// \file
/// Shape: a vector of int64_t that keeps up to four entries inline, so that
/// making an NDArray (a view, a call's argument, a runtime step's operand)
/// allocates nothing for its sizes and strides. It has the part of
/// std::vector's interface the code uses, and converts to and from it.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_SHAPE_H
#define THJIT_ARRAY_SHAPE_H

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <vector>

namespace thjit {

class Shape {
public:
  using value_type = int64_t;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using reference = int64_t &;
  using const_reference = const int64_t &;
  using pointer = int64_t *;
  using const_pointer = const int64_t *;
  using iterator = int64_t *;
  using const_iterator = const int64_t *;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  Shape() = default;
  explicit Shape(size_t n, int64_t value = 0) { assign(n, value); }
  Shape(std::initializer_list<int64_t> values) {
    assign(values.begin(), values.end());
  }
  template <class It, class = std::enable_if_t<!std::is_integral_v<It>>>
  Shape(It first, It last) {
    assign(first, last);
  }
  Shape(const std::vector<int64_t> &v) { assign(v.begin(), v.end()); }
  Shape(const Shape &other) { assign(other.begin(), other.end()); }
  Shape(Shape &&other) noexcept { take(other); }
  ~Shape() { release(); }

  Shape &operator=(const Shape &other) {
    if (this != &other)
      assign(other.begin(), other.end());
    return *this;
  }
  Shape &operator=(Shape &&other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  Shape &operator=(std::initializer_list<int64_t> values) {
    assign(values.begin(), values.end());
    return *this;
  }

  operator std::vector<int64_t>() const { return {begin(), end()}; }

  size_t size() const { return len; }
  bool empty() const { return len == 0; }
  size_t capacity() const { return cap; }
  int64_t *data() { return ptr; }
  const int64_t *data() const { return ptr; }
  int64_t &operator[](size_t i) { return ptr[i]; }
  const int64_t &operator[](size_t i) const { return ptr[i]; }
  int64_t &front() { return ptr[0]; }
  const int64_t &front() const { return ptr[0]; }
  int64_t &back() { return ptr[len - 1]; }
  const int64_t &back() const { return ptr[len - 1]; }

  iterator begin() { return ptr; }
  iterator end() { return ptr + len; }
  const_iterator begin() const { return ptr; }
  const_iterator end() const { return ptr + len; }
  const_iterator cbegin() const { return ptr; }
  const_iterator cend() const { return ptr + len; }
  reverse_iterator rbegin() { return reverse_iterator(end()); }
  reverse_iterator rend() { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }

  void reserve(size_t n) {
    if (n <= cap)
      return;
    int64_t *grown = new int64_t[n];
    std::copy(begin(), end(), grown);
    uint32_t kept = len;
    release();
    ptr = grown;
    len = kept;
    cap = (uint32_t)n;
  }
  void clear() { len = 0; }
  void resize(size_t n, int64_t value = 0) {
    reserve(n);
    std::fill(ptr + std::min<size_t>(n, len), ptr + n, value);
    len = (uint32_t)n;
  }
  void assign(size_t n, int64_t value) {
    len = 0;
    resize(n, value);
  }
  template <class It> void assign(It first, It last) {
    size_t n = (size_t)std::distance(first, last);
    len = 0;
    reserve(n);
    std::copy(first, last, ptr);
    len = (uint32_t)n;
  }
  void push_back(int64_t value) {
    if (len == cap)
      reserve(2 * cap);
    ptr[len++] = value;
  }
  void emplace_back(int64_t value) { push_back(value); }
  void pop_back() { --len; }

  iterator insert(const_iterator pos, int64_t value) {
    return insert(pos, &value, &value + 1);
  }
  iterator insert(const_iterator pos, size_t n, int64_t value) {
    Shape copies(n, value);
    return insert(pos, copies.begin(), copies.end());
  }
  template <class It, class = std::enable_if_t<!std::is_integral_v<It>>>
  iterator insert(const_iterator pos, It first, It last) {
    size_t at = (size_t)(pos - begin());
    size_t n = (size_t)std::distance(first, last);
    // Copied first: the range may be part of this shape.
    Shape inserted;
    inserted.reserve(n);
    for (; first != last; ++first)
      inserted.ptr[inserted.len++] = *first;
    if (len + n > cap)
      reserve(std::max<size_t>(len + n, 2 * cap));
    std::move_backward(ptr + at, ptr + len, ptr + len + n);
    std::copy(inserted.begin(), inserted.end(), ptr + at);
    len += (uint32_t)n;
    return ptr + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<int64_t> values) {
    return insert(pos, values.begin(), values.end());
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    size_t at = (size_t)(first - begin()), n = (size_t)(last - first);
    std::move(ptr + at + n, ptr + len, ptr + at);
    len -= (uint32_t)n;
    return ptr + at;
  }

  friend bool operator==(const Shape &a, const Shape &b) {
    return a.len == b.len && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape &a, const Shape &b) { return !(a == b); }
  friend bool operator<(const Shape &a, const Shape &b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }

private:
  static constexpr uint32_t kInline = 4;

  bool onHeap() const { return ptr != inlined; }
  void release() {
    if (onHeap())
      delete[] ptr;
    ptr = inlined;
    cap = kInline;
    len = 0;
  }
  /// Moves other's entries here (this holds nothing); other becomes empty.
  void take(Shape &other) {
    if (other.onHeap()) {
      ptr = other.ptr;
      cap = other.cap;
      len = other.len;
      other.ptr = other.inlined;
      other.cap = kInline;
    } else {
      std::copy(other.begin(), other.end(), inlined);
      len = other.len;
    }
    other.len = 0;
  }

  int64_t *ptr = inlined;
  uint32_t len = 0, cap = kInline;
  int64_t inlined[kInline];
};

} // namespace thjit

#endif // THJIT_ARRAY_SHAPE_H
