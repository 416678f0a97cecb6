//===- Blas.cpp - Matrix products through OpenBLAS ------------------------===//
///
/// \file
/// See Blas.h. blasGemm is the one place that calls BLAS; it takes
/// operands that own nothing, so that the runtime's steady-state path
/// (Executable.cpp's fastBlasStep) reads them straight from the frame, and
/// the general path here from NDArrays after any copies.
///
//===----------------------------------------------------------------------===//
#include "Blas.h"

#include "thjit/CodeGen/Plan.h"
#include "thjit/Ops/OpDef.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace thjit::codegen {

namespace {

/// How BLAS sees a strided matrix: row-major with leading dimension `ld`,
/// transposed or not; nullopt when the strides fit neither (copy first).
/// A row or a column fits both: the one whose elements are adjacent in
/// BLAS's view is taken (the larger ld). A column of n elements read as an
/// n x 1 matrix of ld 1 would make gemv compute n dot products of one
/// element each where one axpy does.
struct BlasLayout {
  CBLAS_TRANSPOSE trans;
  blasint ld;
};
std::optional<BlasLayout> blasLayout(const BlasOperand &m) {
  int64_t rows = m.dim[0], cols = m.dim[1];
  int64_t s0 = m.stride[0], s1 = m.stride[1];
  auto fits = [](int64_t v) { return v > 0 && v <= INT_MAX; };
  std::optional<BlasLayout> best;
  if ((cols == 1 || s1 == 1) && (rows == 1 || s0 >= std::max<int64_t>(cols, 1))) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : s0;
    if (fits(ld))
      best = BlasLayout{CblasNoTrans, (blasint)ld};
  }
  if ((rows == 1 || s0 == 1) && (cols == 1 || s1 >= std::max<int64_t>(rows, 1))) {
    int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : s1;
    if (fits(ld) && (!best || ld > best->ld))
      best = BlasLayout{CblasTrans, (blasint)ld};
  }
  return best;
}

bool vectorReadable(const BlasOperand &v) {
  return v.dim[0] <= 1 || (v.stride[0] > 0 && v.stride[0] <= INT_MAX);
}
blasint inc(const BlasOperand &v) {
  return v.dim[0] <= 1 ? 1 : (blasint)v.stride[0];
}
/// Column 0 of matrix m, or row 0, as a vector.
BlasOperand column(const BlasOperand &m) {
  return BlasOperand{m.data, 1, {m.dim[0], 1}, {m.stride[0], 0}};
}
BlasOperand row(const BlasOperand &m) {
  return BlasOperand{m.data, 1, {m.dim[1], 1}, {m.stride[1], 0}};
}

const char *transName(CBLAS_TRANSPOSE t) {
  return t == CblasTrans ? "Trans" : "NoTrans";
}
void traceCopy(const NDArray &m) {
  if (!traceBlas())
    return;
  std::string strides;
  for (int64_t s : m.strides())
    strides += (strides.empty() ? "" : ", ") + std::to_string(s);
  std::fprintf(stderr, "thjit: blas operand copied (strides %s)\n",
               strides.c_str());
}

/// m, or a contiguous copy of it when BLAS cannot read it as it is.
NDArray readable(const NDArray &m) {
  if (blasReadable(blasOperand(m)))
    return m;
  traceCopy(m);
  return m.copy();
}

template <class T> struct Cblas;
template <> struct Cblas<double> {
  static constexpr char letter = 'd';
  static constexpr auto gemm = cblas_dgemm;
  static constexpr auto gemv = cblas_dgemv;
  static constexpr auto ger = cblas_dger;
  static constexpr auto dot = cblas_ddot;
  static constexpr auto axpy = cblas_daxpy;
  static constexpr auto scal = cblas_dscal;
};
template <> struct Cblas<float> {
  static constexpr char letter = 's';
  static constexpr auto gemm = cblas_sgemm;
  static constexpr auto gemv = cblas_sgemv;
  static constexpr auto ger = cblas_sger;
  static constexpr auto dot = cblas_sdot;
  static constexpr auto axpy = cblas_saxpy;
  static constexpr auto scal = cblas_sscal;
};

/// out *= beta for a contiguous out of n elements; a zero beta writes zeros
/// (NaNs in out do not survive, as BLAS's beta = 0 promises).
template <class T> void scale(T *out, int64_t n, T beta) {
  if (beta == T(0))
    std::memset(out, 0, n * sizeof(T));
  else if (beta != T(1))
    for (int64_t i = 0; i < n; ++i)
      out[i] *= beta;
}

/// *o = alpha * (x . y) + beta * *o for vectors (*o not read when beta is
/// 0).
template <class T>
void dotInto(T alpha, const BlasOperand &x, const BlasOperand &y, T beta,
             T *o) {
  if (traceBlas())
    std::fprintf(stderr, "thjit: blas %cdot(incx=%d, incy=%d)\n",
                 Cblas<T>::letter, (int)inc(x), (int)inc(y));
  T d = Cblas<T>::dot((blasint)x.dim[0], reinterpret_cast<const T *>(x.data),
                      inc(x), reinterpret_cast<const T *>(y.data), inc(y));
  *o = beta == T(0) ? alpha * d : alpha * d + beta * *o;
}

template <class T>
void gemmT(T alpha, const BlasOperand &a, const BlasOperand &b, T beta,
           const BlasOperand &out) {
  T *o = reinterpret_cast<T *>(out.data);
  int64_t size = (out.ndim > 0 ? out.dim[0] : 1) * (out.ndim > 1 ? out.dim[1] : 1);
  if (size == 0)
    return;
  int64_t k = a.dim[a.ndim - 1];
  const T *ad = reinterpret_cast<const T *>(a.data),
          *bd = reinterpret_cast<const T *>(b.data);
  if (k == 0 || alpha == T(0)) {
    scale(o, size, beta);
    return;
  }
  if (a.ndim == 2 && b.ndim == 2 && k == 1) {
    scale(o, size, beta);
    BlasOperand x = column(a), y = row(b);
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cger(RowMajor, m=%lld, n=%lld, "
                   "incx=%d, incy=%d)\n", Cblas<T>::letter,
                   (long long)x.dim[0], (long long)y.dim[0], (int)inc(x),
                   (int)inc(y));
    Cblas<T>::ger(CblasRowMajor, (blasint)x.dim[0], (blasint)y.dim[0], alpha,
                  ad, inc(x), bd, inc(y), o, (blasint)y.dim[0]);
  } else if (a.ndim == 2 && b.ndim == 2) {
    BlasLayout la = *blasLayout(a), lb = *blasLayout(b);
    if (traceBlas())
      std::fprintf(stderr,
                   "thjit: blas %cgemm(RowMajor, %s, %s, m=%lld, n=%lld, "
                   "k=%lld, lda=%d, ldb=%d)\n",
                   Cblas<T>::letter, transName(la.trans), transName(lb.trans),
                   (long long)a.dim[0], (long long)b.dim[1], (long long)k,
                   (int)la.ld, (int)lb.ld);
    Cblas<T>::gemm(CblasRowMajor, la.trans, lb.trans, (blasint)a.dim[0],
                   (blasint)b.dim[1], (blasint)k, alpha, ad, la.ld, bd, lb.ld,
                   beta, o, (blasint)b.dim[1]);
  } else if (a.ndim + b.ndim == 3 && (a.ndim == 2 ? a.dim[0] : b.dim[1]) == 1) {
    // One row times a vector (or a vector times one column): a dot. gemv
    // would cost twice as much in its own set-up (OpenBLAS locks and
    // allocates a buffer per call), a minibatch of one example's product.
    BlasOperand x = a.ndim == 2 ? row(a) : a, y = b.ndim == 2 ? column(b) : b;
    dotInto(alpha, x, y, beta, o);
  } else if (a.ndim + b.ndim == 3 && k == 1) {
    // A column times one number (or one number times a row): an axpy.
    BlasOperand x = a.ndim == 2 ? column(a) : row(b);
    T s = alpha * *(a.ndim == 2 ? bd : ad);
    // (OpenBLAS's axpby is three times slower than scal and axpy.)
    if (beta == T(0)) // out is not read
      std::memset(o, 0, size * sizeof(T));
    else if (beta != T(1))
      Cblas<T>::scal((blasint)size, beta, o, 1);
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %caxpy(n=%lld, incx=%d)\n",
                   Cblas<T>::letter, (long long)x.dim[0], (int)inc(x));
    Cblas<T>::axpy((blasint)x.dim[0], s, reinterpret_cast<const T *>(x.data),
                   inc(x), o, 1);
  } else if (a.ndim == 2) { // matrix . vector
    BlasLayout la = *blasLayout(a);
    bool t = la.trans == CblasTrans;
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cgemv(RowMajor, %s, lda=%d, incx=%d)\n",
                   Cblas<T>::letter, transName(la.trans), (int)la.ld, (int)inc(b));
    Cblas<T>::gemv(CblasRowMajor, la.trans, (blasint)(t ? k : a.dim[0]),
                   (blasint)(t ? a.dim[0] : k), alpha, ad, la.ld, bd, inc(b),
                   beta, o, 1);
  } else if (b.ndim == 2) { // vector . matrix = b^T . vector
    BlasLayout lb = *blasLayout(b);
    bool t = lb.trans == CblasTrans;
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cgemv(RowMajor, %s, lda=%d, incx=%d)\n",
                   Cblas<T>::letter, transName(t ? CblasNoTrans : CblasTrans),
                   (int)lb.ld, (int)inc(a));
    Cblas<T>::gemv(CblasRowMajor, t ? CblasNoTrans : CblasTrans,
                   (blasint)(t ? b.dim[1] : k), (blasint)(t ? k : b.dim[1]),
                   alpha, bd, lb.ld, ad, inc(a), beta, o, 1);
  } else {
    dotInto(alpha, a, b, beta, o);
  }
}

/// out = c for a contiguous out of c's shape (rank 0 to 2, dtype T), c of
/// any strides: a typed loop (NDArray::assign copies element by element,
/// which made gemm's copy of C slower than the product it saves).
template <class T> void copyInto(NDArray &out, const NDArray &c) {
  if (c.mayShareMemory(out)) {
    out.assign(c);
    return;
  }
  int nd = c.ndim();
  int64_t rows = nd == 2 ? c.dim(0) : 1, cols = nd ? c.dim(nd - 1) : 1;
  int64_t rs = nd == 2 ? c.strides()[0] : 0, cs = nd ? c.strides()[nd - 1] : 1;
  T *o = out.data<T>();
  const T *s = c.data<T>();
  if (cs == 1 && (rows == 1 || rs == cols)) {
    std::memcpy(o, s, out.nbytes());
    return;
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      o[i * cols + j] = s[i * rs + j * cs];
}

/// Sizes BLAS's int arguments hold.
bool blasSizes(const NDArray &a, const NDArray &b) {
  for (const NDArray *m : {&a, &b})
    for (int64_t d : m->shape())
      if (d > INT_MAX)
        return false;
  return true;
}

/// Operands a dot or gemm multiplies: vectors or matrices whose inner
/// dimensions agree.
bool multipliable(const NDArray &a, const NDArray &b) {
  return a.ndim() >= 1 && a.ndim() <= 2 && b.ndim() >= 1 && b.ndim() <= 2 &&
         a.dim(a.ndim() - 1) == b.dim(0) && blasSizes(a, b);
}

/// The shape of dot(a, b) for vectors and matrices.
Shape dotShape(const NDArray &a, const NDArray &b) {
  Shape shape;
  if (a.ndim() == 2)
    shape.push_back(a.dim(0));
  if (b.ndim() == 2)
    shape.push_back(b.dim(1));
  return shape;
}

/// `x` as a rows x cols matrix: a view when its strides allow, else a copy.
NDArray asMatrix(const NDArray &x, int64_t rows, int64_t cols) {
  NDArray m = x.reshape({rows, cols});
  if (m.size() && m.data() != x.data())
    traceCopy(x);
  return m;
}

/// m in dtype t: float32 . float64 is computed in float64.
NDArray inDType(const NDArray &m, DType t) {
  if (m.dtype() == t)
    return m;
  traceCopy(m);
  return m.astype(t);
}

/// The operands a product multiplies (gemm's A and B), in dtype t.
std::pair<NDArray, NDArray> factors(const Node &n, const std::vector<NDArray> &in,
                                    DType t) {
  int first = n.kind() == OpKind::Gemm ? 2 : 0;
  return {inDType(in[first], t), inDType(in[first + 1], t)};
}

void gemmOf(DType t, double alpha, const NDArray &a, const NDArray &b,
            double beta, NDArray &out) {
  blasGemm(t, alpha, blasOperand(readable(a)), blasOperand(readable(b)), beta,
           blasOperand(out));
}

} // namespace

BlasOperand blasOperand(const NDArray &a) {
  BlasOperand m;
  m.data = a.data();
  m.ndim = a.ndim();
  for (int i = 0; i < a.ndim() && i < 2; ++i) {
    m.dim[i] = a.dim(i);
    m.stride[i] = a.strides()[i];
  }
  return m;
}

bool blasReadable(const BlasOperand &m) {
  return m.ndim == 2 ? blasLayout(m).has_value()
                     : m.ndim == 1 && vectorReadable(m);
}

void blasGemm(DType t, double alpha, const BlasOperand &a,
              const BlasOperand &b, double beta, const BlasOperand &out) {
  if (t == DType::Float64)
    gemmT<double>(alpha, a, b, beta, out);
  else
    gemmT<float>((float)alpha, a, b, (float)beta, out);
}

/// THJIT_TRACE_BLAS=1 prints every BLAS call and every copy made for one
/// to stderr (what the lit tests check: transposed views are not copied).
bool traceBlas() {
  static const bool on = [] {
    const char *e = std::getenv("THJIT_TRACE_BLAS");
    return e && *e && std::strcmp(e, "0") != 0;
  }();
  return on;
}

Shape productShape(const Node &n, const std::vector<NDArray> &in) {
  int first = n.kind() == OpKind::Gemm ? 2 : 0;
  const NDArray &a = in[first], &b = in[first + 1];
  Shape shape;
  switch (n.kind()) {
  case OpKind::Dot:
  case OpKind::Gemm:
    return dotShape(a, b);
  case OpKind::BatchedDot:
    shape.push_back(a.dim(0));
    if (a.ndim() == 3)
      shape.push_back(a.dim(1));
    if (b.ndim() == 3)
      shape.push_back(b.dim(2));
    break;
  default: { // TensorDot
    std::vector<int> axesA, axesB;
    splitTensordotAxes(n.attrs(), axesA, axesB);
    shape = tensordotLayout(a.shape(), b.shape(), axesA, axesB).shape;
  }
  }
  return shape;
}

bool blasProduct(const Node &n, const std::vector<NDArray> &in, NDArray &out) {
  DType t = out.dtype();
  auto [a, b] = factors(n, in, t);
  if (!blasSizes(a, b))
    return false;
  switch (n.kind()) {
  case OpKind::Dot:
    if (!multipliable(a, b))
      return false;
    gemmOf(t, 1, a, b, 0, out);
    return true;
  case OpKind::Gemm: {
    const NDArray &c = in[0];
    if (!multipliable(a, b) || c.shape() != out.shape())
      return false;
    double alpha = in[1].item().toDouble(), beta = in[4].item().toDouble();
    if (beta != 0) {
      if (t == DType::Float64)
        copyInto<double>(out, c.dtype() == t ? c : c.astype(t));
      else
        copyInto<float>(out, c.dtype() == t ? c : c.astype(t));
    }
    gemmOf(t, alpha, a, b, beta, out);
    return true;
  }
  case OpKind::BatchedDot: {
    // One product per batch, each into its contiguous slice of out.
    if (a.dim(0) != b.dim(0) || a.dim(a.ndim() - 1) != b.dim(1))
      return false;
    for (int64_t i = 0; i < a.dim(0); ++i) {
      NDArray o = out.select(0, i);
      gemmOf(t, 1, a.select(0, i), b.select(0, i), 0, o);
    }
    return true;
  }
  case OpKind::TensorDot: {
    std::vector<int> axesA, axesB;
    splitTensordotAxes(n.attrs(), axesA, axesB);
    TensordotLayout l = tensordotLayout(a.shape(), b.shape(), axesA, axesB);
    if (l.mismatch >= 0)
      return false;
    NDArray am = asMatrix(a.permute(l.permA), l.m, l.k);
    NDArray bm = asMatrix(b.permute(l.permB), l.k, l.n);
    NDArray o = out.reshape({l.m, l.n});
    gemmOf(t, 1, am, bm, 0, o);
    return true;
  }
  default:
    return false;
  }
}

bool gemmOver(const std::vector<NDArray> &in, bool write) {
  NDArray c = in[0];
  DType t = c.dtype();
  if (!isBlasDType(t) || !c.isContiguous())
    return false;
  NDArray a = in[2], b = in[3];
  if (!multipliable(a, b) || dotShape(a, b) != c.shape())
    return false;
  if (!write)
    return true;
  gemmOf(t, in[1].item().toDouble(), inDType(a, t), inDType(b, t),
         in[4].item().toDouble(), c);
  return true;
}

} // namespace thjit::codegen
