//===- Executable.cpp - Calling compiled code; the runtime it calls -------===//
///
/// \file
/// A call fills the frame with the descriptors of the inputs and shared
/// values, calls the entry point once, and wraps the outputs' descriptors in
/// NDArrays. Compiled code calls back for buffers (thjit_rt_alloc: a slot's
/// buffer is reused while nothing outside holds it, so steady-state calls
/// allocate nothing) and for steps it does not generate (thjit_rt_step:
/// BLAS, or the reference kernel). A failed step is re-run with the
/// reference kernel, which raises the same exception the REFERENCE mode
/// does.
///
//===----------------------------------------------------------------------===//
#include "Engine.h"
#include "Lowering.h"
#include "thjit/CodeGen/CPU.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/ThreadPool.h"

#include <cblas.h>

#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <link.h>
#include <unistd.h>
#include <mutex>
#include <unordered_map>

namespace thjit::codegen {

using EntryFn = int32_t (*)(void *state, int64_t *frame);

struct CallState;

class Executable {
public:
  Plan plan;
  std::string name;
  std::shared_ptr<LoadedCode> code;
  EntryFn entry = nullptr;
  /// The graph of each op_from_graph step, compiled on its own.
  std::unordered_map<const Node *, std::shared_ptr<Executable>> graphOps;

  /// One reusable call state; concurrent calls make their own.
  mutable std::mutex idleMutex;
  mutable std::unique_ptr<CallState> idle;

  /// PROFILE: the nanoseconds each step took, summed over `calls` calls.
  mutable std::mutex profileMutex;
  mutable std::vector<int64_t> stepNanos;
  mutable int64_t calls = 0;
};

struct CallState {
  const Executable *exe;
  std::vector<int64_t> frame;
  std::vector<std::shared_ptr<Buffer>> slots;
  /// Per slot, a buffer last handed out and still held (see allocate).
  std::vector<std::shared_ptr<Buffer>> spares;
  std::vector<NDArray> inputs, shareds;
  /// Results of runtime steps by value (only those set this call).
  std::vector<NDArray> runtimeResults;
  std::vector<int> setResults;
  /// Writes over shared variables checked in the commit group's first
  /// phase, done in its second (by step).
  std::unordered_map<int, std::function<void()>> pendingWrites;
  /// The shared variables this call writes over (SharedStorage::beginWrite).
  std::vector<int> writing;
  std::exception_ptr error;
  /// PROFILE: when the last step ended, and each step's time this call.
  int64_t lastTick = 0;
  std::vector<int64_t> stepNanos;

  explicit CallState(const Executable &e)
      : exe(&e), frame(e.plan.frameSize), slots(e.plan.numSlots),
        spares(e.plan.numSlots),
        runtimeResults(e.plan.values.size()) {
    for (size_t c = 0; c < e.plan.constants.size(); ++c)
      writeDescriptor(e.plan.constantValues[c], e.plan.constants[c]);
  }

  void writeDescriptor(int v, const NDArray &a) {
    const Plan &p = exe->plan;
    frame[p.dataWord(v)] = (int64_t)(intptr_t)a.data();
    for (int i = 0; i < a.ndim(); ++i) {
      frame[p.shapeWord(v, i)] = a.dim(i);
      frame[p.strideWord(v, i)] = a.strides()[i];
    }
  }

  const std::shared_ptr<Buffer> &rootBuffer(int v) const {
    const ValueInfo &vi = exe->plan.values[v];
    switch (vi.root) {
    case RootKind::Input:
      return inputs[vi.rootIndex].buffer();
    case RootKind::Shared:
      return shareds[vi.rootIndex].buffer();
    case RootKind::Constant:
      return exe->plan.constants[vi.rootIndex].buffer();
    case RootKind::Slot:
      if (vi.inPlaceShared >= 0 &&
          frame[exe->plan.sharedInPlaceWords[vi.inPlaceShared]])
        return shareds[vi.inPlaceShared].buffer();
      return slots[vi.rootIndex];
    case RootKind::RuntimeResult:
      break;
    }
    return runtimeResults[vi.rootIndex].buffer();
  }

  /// Value v as an NDArray sharing the memory it lives in.
  NDArray array(int v) const {
    const Plan &p = exe->plan;
    const ValueInfo &vi = p.values[v];
    Shape shape(vi.ndim), strides(vi.ndim);
    for (int i = 0; i < vi.ndim; ++i) {
      shape[i] = frame[p.shapeWord(v, i)];
      strides[i] = frame[p.strideWord(v, i)];
    }
    return NDArray(rootBuffer(v), (std::byte *)(intptr_t)frame[p.dataWord(v)],
                   vi.dtype, shape, strides);
  }

  void *allocate(int slot, int64_t bytes) {
    std::shared_ptr<Buffer> &buf = slots[slot];
    std::shared_ptr<Buffer> &spare = spares[slot];
    size_t want = std::max<int64_t>(bytes, 1);
    auto fits = [&](const std::shared_ptr<Buffer> &b) {
      return b && b.use_count() == 1 && b->size() >= want;
    };
    // Reuse unless a caller still holds the last result in this slot. A
    // held buffer becomes the spare, taken back once its holder lets go:
    // a shared variable updated every call alternates between two buffers.
    if (fits(buf))
      return buf->data();
    if (fits(spare)) {
      std::swap(buf, spare);
    } else {
      if (buf && buf.use_count() > 1)
        spare = buf;
      buf = std::make_shared<Buffer>(want);
    }
    return buf->data();
  }

  /// A contiguous array in value v's slot holding `value`.
  void storeInSlot(int v, const NDArray &value) {
    const ValueInfo &vi = exe->plan.values[v];
    allocate(vi.rootIndex, (int64_t)value.nbytes());
    NDArray dst(slots[vi.rootIndex], slots[vi.rootIndex]->data(), vi.dtype,
                value.shape(), contiguousStrides(value.shape()));
    dst.assign(value);
    writeDescriptor(v, dst);
  }

  /// Takes the right to write over the shared variables the plan may
  /// update in place, where nothing else holds them; says which in the
  /// frame.
  void beginWrites() {
    const Plan &p = exe->plan;
    for (size_t j = 0; j < p.shareds.size(); ++j) {
      int word = p.sharedInPlaceWords[j];
      if (word < 0)
        continue;
      bool may = p.shareds[j].node()->sharedStorage()->beginWrite(shareds[j]);
      frame[word] = may;
      if (may)
        writing.push_back((int)j);
    }
  }

  void clearCallValues() {
    for (int j : writing)
      exe->plan.shareds[j].node()->sharedStorage()->endWrite();
    writing.clear();
    pendingWrites.clear();
    for (int v : setResults)
      runtimeResults[v] = NDArray();
    setResults.clear();
    inputs.clear();
    shareds.clear();
    error = nullptr;
  }
};

// ---- BLAS -------------------------------------------------------------------

namespace {

/// How BLAS sees a strided matrix: row-major with leading dimension `ld`,
/// transposed or not; nullopt when the strides fit neither (copy first).
struct BlasLayout {
  CBLAS_TRANSPOSE trans;
  blasint ld;
};
std::optional<BlasLayout> blasLayout(const NDArray &m) {
  int64_t rows = m.dim(0), cols = m.dim(1);
  int64_t s0 = m.strides()[0], s1 = m.strides()[1];
  auto fits = [](int64_t v) { return v > 0 && v <= INT_MAX; };
  if ((cols == 1 || s1 == 1) && (rows == 1 || s0 >= std::max<int64_t>(cols, 1))) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : s0;
    if (fits(ld))
      return BlasLayout{CblasNoTrans, (blasint)ld};
  }
  if ((rows == 1 || s0 == 1) && (cols == 1 || s1 >= std::max<int64_t>(rows, 1))) {
    int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : s1;
    if (fits(ld))
      return BlasLayout{CblasTrans, (blasint)ld};
  }
  return std::nullopt;
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

/// A matrix BLAS can read: itself, or a contiguous copy.
NDArray forBlas(const NDArray &m, BlasLayout &layout) {
  if (auto l = blasLayout(m)) {
    layout = *l;
    return m;
  }
  traceCopy(m);
  NDArray c = m.copy();
  layout = *blasLayout(c);
  return c;
}
/// A vector with a positive stride BLAS can read.
NDArray vectorForBlas(const NDArray &v) {
  if (v.dim(0) <= 1 || (v.strides()[0] > 0 && v.strides()[0] <= INT_MAX))
    return v;
  traceCopy(v);
  return v.copy();
}
blasint inc(const NDArray &v) {
  return v.dim(0) <= 1 ? 1 : (blasint)v.strides()[0];
}

template <class T> struct Cblas;
template <> struct Cblas<double> {
  static constexpr char letter = 'd';
  static constexpr auto gemm = cblas_dgemm;
  static constexpr auto gemv = cblas_dgemv;
  static constexpr auto ger = cblas_dger;
  static constexpr auto dot = cblas_ddot;
};
template <> struct Cblas<float> {
  static constexpr char letter = 's';
  static constexpr auto gemm = cblas_sgemm;
  static constexpr auto gemv = cblas_sgemv;
  static constexpr auto ger = cblas_sger;
  static constexpr auto dot = cblas_sdot;
};

/// out *= beta for a contiguous out; a zero beta writes zeros (NaNs in out
/// do not survive, as BLAS's beta = 0 promises).
template <class T> void scale(NDArray &out, T beta) {
  T *o = out.data<T>();
  if (beta == T(0))
    std::memset(o, 0, out.nbytes());
  else if (beta != T(1))
    for (int64_t i = 0, n = out.size(); i < n; ++i)
      o[i] *= beta;
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

/// out = alpha * (a . b) + beta * out for float32/float64 vectors and
/// matrices, out contiguous (not read when beta is 0; a and b not read when
/// alpha is 0). Matrix products of one inner element are ger's rank-1
/// updates.
template <class T>
void blasGemm(T alpha, const NDArray &a0, const NDArray &b0, T beta,
              NDArray &out) {
  T *o = out.data<T>();
  if (out.size() == 0)
    return;
  int64_t k = a0.dim(a0.ndim() - 1);
  if (k == 0 || alpha == T(0)) {
    scale(out, beta);
    return;
  }
  if (a0.ndim() == 2 && b0.ndim() == 2 && k == 1) {
    scale(out, beta);
    NDArray x = vectorForBlas(a0.select(1, 0)), y = vectorForBlas(b0.select(0, 0));
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cger(RowMajor, m=%lld, n=%lld, "
                   "incx=%d, incy=%d)\n", Cblas<T>::letter,
                   (long long)x.dim(0), (long long)y.dim(0), (int)inc(x),
                   (int)inc(y));
    Cblas<T>::ger(CblasRowMajor, (blasint)x.dim(0), (blasint)y.dim(0), alpha,
                  x.data<T>(), inc(x), y.data<T>(), inc(y), o,
                  (blasint)y.dim(0));
  } else if (a0.ndim() == 2 && b0.ndim() == 2) {
    BlasLayout la, lb;
    NDArray a = forBlas(a0, la), b = forBlas(b0, lb);
    if (traceBlas())
      std::fprintf(stderr,
                   "thjit: blas %cgemm(RowMajor, %s, %s, m=%lld, n=%lld, "
                   "k=%lld, lda=%d, ldb=%d)\n",
                   Cblas<T>::letter, transName(la.trans), transName(lb.trans),
                   (long long)a.dim(0), (long long)b.dim(1), (long long)k,
                   (int)la.ld, (int)lb.ld);
    Cblas<T>::gemm(CblasRowMajor, la.trans, lb.trans, (blasint)a.dim(0),
                   (blasint)b.dim(1), (blasint)k, alpha, a.data<T>(), la.ld,
                   b.data<T>(), lb.ld, beta, o, (blasint)b.dim(1));
  } else if (a0.ndim() == 2) { // matrix . vector
    BlasLayout la;
    NDArray a = forBlas(a0, la), x = vectorForBlas(b0);
    bool t = la.trans == CblasTrans;
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cgemv(RowMajor, %s, lda=%d, incx=%d)\n",
                   Cblas<T>::letter, transName(la.trans), (int)la.ld, (int)inc(x));
    Cblas<T>::gemv(CblasRowMajor, la.trans, (blasint)(t ? k : a.dim(0)),
                   (blasint)(t ? a.dim(0) : k), alpha, a.data<T>(), la.ld,
                   x.data<T>(), inc(x), beta, o, 1);
  } else if (b0.ndim() == 2) { // vector . matrix = b^T . vector
    BlasLayout lb;
    NDArray b = forBlas(b0, lb), x = vectorForBlas(a0);
    bool t = lb.trans == CblasTrans;
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cgemv(RowMajor, %s, lda=%d, incx=%d)\n",
                   Cblas<T>::letter, transName(t ? CblasNoTrans : CblasTrans),
                   (int)lb.ld, (int)inc(x));
    Cblas<T>::gemv(CblasRowMajor, t ? CblasNoTrans : CblasTrans,
                   (blasint)(t ? b.dim(1) : k), (blasint)(t ? k : b.dim(1)),
                   alpha, b.data<T>(), lb.ld, x.data<T>(), inc(x), beta, o, 1);
  } else {
    NDArray x = vectorForBlas(a0), y = vectorForBlas(b0);
    if (traceBlas())
      std::fprintf(stderr, "thjit: blas %cdot(incx=%d, incy=%d)\n",
                   Cblas<T>::letter, (int)inc(x), (int)inc(y));
    T d = Cblas<T>::dot((blasint)k, x.data<T>(), inc(x), y.data<T>(), inc(y));
    *o = beta == T(0) ? alpha * d : alpha * d + beta * *o;
  }
}

bool blasSizes(const NDArray &a, const NDArray &b) {
  for (const NDArray *m : {&a, &b})
    for (int64_t d : m->shape())
      if (d > INT_MAX)
        return false;
  return true;
}

/// `x` as a rows x cols matrix: a view when its strides allow, else a copy.
NDArray asMatrix(const NDArray &x, int64_t rows, int64_t cols) {
  NDArray m = x.reshape({rows, cols});
  if (m.size() && m.data() != x.data())
    traceCopy(x);
  return m;
}

/// out = the product the node computes, for float32/float64 operands of the
/// result's dtype; false (nothing done) when BLAS cannot take them or the
/// shapes disagree (the reference kernel then runs and raises).
template <class T>
bool blasProduct(const Node &n, const std::vector<NDArray> &in, NDArray &out) {
  switch (n.kind()) {
  case OpKind::Dot:
    if (in[0].dim(in[0].ndim() - 1) != in[1].dim(0))
      return false;
    blasGemm<T>(T(1), in[0], in[1], T(0), out);
    return true;
  case OpKind::Gemm: {
    const NDArray &c = in[0], &a = in[2], &b = in[3];
    if (a.dim(a.ndim() - 1) != b.dim(0) || c.shape() != out.shape())
      return false;
    T alpha = (T)in[1].item().toDouble(), beta = (T)in[4].item().toDouble();
    if (beta != T(0))
      copyInto<T>(out, c);
    blasGemm<T>(alpha, a, b, beta, out);
    return true;
  }
  case OpKind::BatchedDot: {
    // One product per batch, each into its contiguous slice of out.
    const NDArray &a = in[0], &b = in[1];
    if (a.dim(0) != b.dim(0) || a.dim(a.ndim() - 1) != b.dim(1))
      return false;
    for (int64_t i = 0; i < a.dim(0); ++i) {
      NDArray o = out.select(0, i);
      blasGemm<T>(T(1), a.select(0, i), b.select(0, i), T(0), o);
    }
    return true;
  }
  case OpKind::TensorDot: {
    const NDArray &a = in[0], &b = in[1];
    std::vector<int> axesA, axesB;
    splitTensordotAxes(n.attrs(), axesA, axesB);
    TensordotLayout t = tensordotLayout(a.shape(), b.shape(), axesA, axesB);
    if (t.mismatch >= 0)
      return false;
    NDArray am = asMatrix(a.permute(t.permA), t.m, t.k);
    NDArray bm = asMatrix(b.permute(t.permB), t.k, t.n);
    NDArray o = out.reshape({t.m, t.n});
    blasGemm<T>(T(1), am, bm, T(0), o);
    return true;
  }
  default:
    return false;
  }
}

/// The operands a product multiplies (gemm's A and B).
std::pair<const NDArray *, const NDArray *>
factors(const Node &n, const std::vector<NDArray> &in) {
  if (n.kind() == OpKind::Gemm)
    return {&in[2], &in[3]};
  return {&in[0], &in[1]};
}

/// The shape of a product's result.
Shape productShape(const Node &n, const NDArray &a, const NDArray &b) {
  Shape shape;
  switch (n.kind()) {
  case OpKind::Dot:
  case OpKind::Gemm:
    if (a.ndim() == 2)
      shape.push_back(a.dim(0));
    if (b.ndim() == 2)
      shape.push_back(b.dim(1));
    break;
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

} // namespace

/// Keeps the result of a runtime step.
static void setResult(CallState &st, int v, const NDArray &value) {
  st.runtimeResults[v] = value;
  st.setResults.push_back(v);
  st.writeDescriptor(v, value);
}

/// The write of step n's result over its operand x = in[0] (a subtensor
/// write's x, gemm's C), checked now (IndexError, ShapeError); nothing is
/// written until the write is called.
static std::function<void()> writeOver(const Node &n,
                                       const std::vector<NDArray> &in) {
  if (n.kind() != OpKind::Gemm) {
    SubtensorWrite w = prepareSubtensorWrite(n, in[0], in);
    return [w]() mutable { w.commit(); };
  }
  NDArray c = in[0], a = in[2], b = in[3];
  DType t = c.dtype();
  if (isBlasDType(t) && c.isContiguous() && blasSizes(a, b) &&
      a.dim(a.ndim() - 1) == b.dim(0) && productShape(n, a, b) == c.shape()) {
    for (NDArray *m : {&a, &b})
      if (m->dtype() != t) {
        traceCopy(*m);
        *m = m->astype(t);
      }
    double alpha = in[1].item().toDouble(), beta = in[4].item().toDouble();
    return [=]() mutable {
      if (t == DType::Float64)
        blasGemm<double>(alpha, a, b, beta, c);
      else
        blasGemm<float>((float)alpha, a, b, (float)beta, c);
    };
  }
  NDArray r = evaluateNode(n, in)[0]; // raises for what BLAS refused
  return [c, r]() mutable { c.assign(r); };
}

/// Phases (Lowering's Phase bits): 1 checks and, outside the commit group,
/// does everything; 2 does a commit-group step's writes.
static int32_t runStep(CallState &st, int s, int phases) {
  const Plan &p = st.exe->plan;
  const Step &step = p.steps[s];
  if (!(phases & 1)) {
    if (auto w = st.pendingWrites.find(s); w != st.pendingWrites.end())
      w->second();
    return 0;
  }
  std::vector<NDArray> operands;
  for (int v : step.operands)
    operands.push_back(st.array(v));
  const Node &n = *step.node;
  if (step.inPlace == 0) {
    // Written over x: a shared variable the call may write (in the second
    // phase), or a value nothing reads after this step, when nothing else
    // holds its memory (only the call's own holder and `operands`).
    const ValueInfo &x = p.values[step.operands[0]];
    bool shared = x.root == RootKind::Shared;
    if (shared ? (bool)st.frame[p.sharedInPlaceWords[x.rootIndex]]
               : operands[0].buffer().use_count() == 2) {
      std::function<void()> write = writeOver(n, operands);
      if (phases & 2)
        write();
      else
        st.pendingWrites[s] = std::move(write);
      int r = step.results[0];
      if (p.values[r].root == RootKind::RuntimeResult)
        setResult(st, r, operands[0]);
      else // a slot's value, which lives in the variable's memory now
        st.writeDescriptor(r, operands[0]);
      return 0;
    }
  }
  if (isBlasProduct(n.kind())) {
    // The result goes into the step's slot: BLAS writes there directly.
    DType t = p.values[step.results[0]].dtype;
    auto [a, b] = factors(n, operands);
    if (isBlasDType(t) && blasSizes(*a, *b)) {
      for (size_t i = 0; i < operands.size(); ++i) {
        // float32 . float64 is computed in float64 (gemm's alpha and beta
        // are read as numbers).
        NDArray &x = operands[i];
        bool number = n.kind() == OpKind::Gemm && (i == 1 || i == 4);
        if (x.dtype() != t && !number) {
          traceCopy(x);
          x = x.astype(t);
        }
      }
      Shape shape = productShape(n, *a, *b);
      int v = step.results[0];
      int slot = p.values[v].rootIndex;
      st.allocate(slot, shapeSize(shape) * (int64_t)itemSize(t));
      NDArray out(st.slots[slot], st.slots[slot]->data(), t, shape,
                  contiguousStrides(shape));
      if (t == DType::Float64 ? blasProduct<double>(n, operands, out)
                              : blasProduct<float>(n, operands, out)) {
        st.writeDescriptor(v, out);
        return 0;
      }
    }
    st.storeInSlot(step.results[0], evaluateNode(n, operands)[0]);
    return 0;
  }
  std::vector<NDArray> results =
      n.kind() == OpKind::OpFromGraph
          ? run(*st.exe->graphOps.at(&n), operands)
          : evaluateNode(n, operands);
  for (size_t r = 0; r < results.size(); ++r)
    setResult(st, step.results[r], results[r]);
  return 0;
}

// ---- compiling and calling --------------------------------------------------

/// Every module names its entry point the same: each object is loaded into
/// its own JIT dylib, and a cached object stays valid.
constexpr const char *kEntrySymbol = "thjit_entry";

static std::unique_ptr<llvm::Module> buildModule(const Plan &plan,
                                                 llvm::LLVMContext &ctx) {
  std::unique_ptr<llvm::Module> m = lowerToLLVM(plan, kEntrySymbol, ctx);
  Engine::get().configure(*m);
  return m;
}

/// The GNU build ID of the binary this code is linked into (ld writes one by
/// default): any rebuild of thjit changes it, so a cache never hands an
/// object made by other code generation to this one. "" when there is none.
static std::string buildId() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{(uintptr_t)&buildId, ""};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) -> int {
        auto *s = static_cast<Search *>(data);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          mine = mine || (ph.p_type == PT_LOAD && s->address >= lo &&
                          s->address < lo + ph.p_memsz);
        }
        if (!mine)
          return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE)
            continue;
          const char *p = (const char *)(info->dlpi_addr + ph.p_vaddr);
          const char *end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            auto *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof(ElfW(Nhdr));
            const char *desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0) {
              static const char *hex = "0123456789abcdef";
              for (unsigned k = 0; k < n->n_descsz; ++k) {
                s->id += hex[(unsigned char)desc[k] >> 4];
                s->id += hex[(unsigned char)desc[k] & 15];
              }
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

std::vector<StepProfile> stepProfile(const Executable &exe) {
  std::lock_guard<std::mutex> lock(exe.profileMutex);
  std::vector<StepProfile> out;
  const Plan &p = exe.plan;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step &s = p.steps[i];
    StepProfile sp;
    sp.node = s.origin ? s.origin : s.node;
    sp.producer = s.producer;
    sp.generated = s.kind != StepKind::Runtime;
    sp.calls = exe.calls;
    sp.seconds = i < exe.stepNanos.size() ? exe.stepNanos[i] * 1e-9 : 0;
    out.push_back(sp);
  }
  return out;
}

static Plan planOf(const Graph &g, const CompileOptions &options) {
  Plan p = makePlan(g, options.updates);
  p.profile = options.profile;
  return p;
}

std::string objectKey(const Graph &g, const CompileOptions &options) {
  static const std::string build = buildId();
  std::vector<GraphResult> results;
  for (const Var &o : g.outputs())
    results.push_back({"", o});
  std::string updates;
  for (int j : updateIndices(g, options.updates))
    updates += " " + std::to_string(j);
  return "thjit " THJIT_VERSION " object 2 build " + build +
         "\nLLVM " LLVM_VERSION_STRING "\n" +
         Engine::get().hostDescription() + "\n" +
         (options.profile ? "profile\n" : "") + "updates" + updates + "\n" +
         printGraph(g, "f", results);
}

std::shared_ptr<Executable> compileForCPU(const Graph &g,
                                          const ObjectCache *cache,
                                          const CompileOptions &options) {
  auto exe = std::make_shared<Executable>();
  exe->plan = planOf(g, options);
  for (const Step &s : exe->plan.steps)
    if (s.node->kind() == OpKind::OpFromGraph && !exe->graphOps.count(s.node)) {
      const OpGraph &inner = *s.node->attrs().graph;
      exe->graphOps[s.node] =
          compileForCPU(Graph(inner.inputs, inner.outputs), cache);
    }
  std::string key = cache ? objectKey(g, options) : std::string();
  std::optional<std::string> object;
  if (cache && cache->lookup)
    object = cache->lookup(key);
  if (object) {
    try {
      exe->code = Engine::get().load(*object, kEntrySymbol);
    } catch (const CompileError &) {
      object.reset(); // an object this LLVM cannot load: compile afresh
    }
  }
  if (!object) {
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = buildModule(exe->plan, ctx);
    Engine::get().optimize(*m);
    object = Engine::get().emitObject(*m);
    exe->code = Engine::get().load(*object, kEntrySymbol);
    if (cache && cache->store)
      cache->store(key, *object);
  }
  exe->entry = reinterpret_cast<EntryFn>(exe->code->address());
  return exe;
}

std::vector<NDArray> run(const Executable &exe,
                         const std::vector<NDArray> &inputs) {
  const Plan &p = exe.plan;
  std::unique_ptr<CallState> st;
  {
    std::lock_guard<std::mutex> lock(exe.idleMutex);
    st = std::move(exe.idle);
  }
  if (!st)
    st = std::make_unique<CallState>(exe);
  st->inputs = inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (p.inputValues[i] >= 0) // else unused
      st->writeDescriptor(p.inputValues[i], inputs[i]);
  for (size_t j = 0; j < p.shareds.size(); ++j) {
    st->shareds.push_back(p.shareds[j].node()->sharedStorage()->get());
    st->writeDescriptor(p.sharedValues[j], st->shareds.back());
  }
  st->beginWrites();
  auto release = [&] {
    st->clearCallValues();
    std::lock_guard<std::mutex> lock(exe.idleMutex);
    if (!exe.idle)
      exe.idle = std::move(st);
  };
  int32_t status = exe.entry(st.get(), st->frame.data());
  if (status != 0) {
    std::exception_ptr error = st->error;
    int s = status - 1;
    if (!error) {
      // Generated code found bad values: the reference kernel says why.
      try {
        const Step &step = p.steps[s];
        std::vector<NDArray> operands;
        for (int v : step.origin ? step.originOperands : step.operands)
          operands.push_back(st->array(v));
        // The user's nodes, where a rewrite fused several into one.
        auto evaluateUsers = [](const Node &n, const std::vector<NDArray> &in) {
          return n.unfused() ? evaluateGraph(*n.unfused(), in)
                             : evaluateNode(n, in);
        };
        if (step.origin) {
          evaluateNode(*step.origin, operands);
        } else {
          if (step.producer) // a fused producer runs first
            operands = evaluateUsers(*step.producer, operands);
          evaluateUsers(*step.node, operands);
        }
        error = std::make_exception_ptr(RuntimeError(
            "internal error: compiled code of " +
            std::string(p.steps[s].node->name()) +
            " failed where its reference kernel succeeded"));
      } catch (...) {
        error = std::current_exception();
      }
    }
    release();
    std::rethrow_exception(error);
  }
  if (p.profile && !st->stepNanos.empty()) {
    std::lock_guard<std::mutex> lock(exe.profileMutex);
    exe.stepNanos.resize(p.steps.size(), 0);
    for (size_t i = 0; i < p.steps.size(); ++i)
      exe.stepNanos[i] += st->stepNanos[i];
    ++exe.calls;
    std::fill(st->stepNanos.begin(), st->stepNanos.end(), 0);
  }
  // Outputs own their memory: a slot's buffer is handed over when no other
  // output shares it; anything else is copied.
  // The new value of a shared variable written over the old one is that
  // variable's memory.
  std::vector<NDArray> outs;
  std::vector<const Buffer *> given;
  for (size_t o = 0; o < p.outputValues.size(); ++o) {
    int v = p.outputValues[o];
    NDArray a = st->array(v);
    RootKind root = p.values[v].root;
    bool fresh = std::find(given.begin(), given.end(), a.buffer().get()) ==
                 given.end();
    bool owned = (root == RootKind::Slot || root == RootKind::RuntimeResult) &&
                 a.isContiguous() && a.data() == a.buffer()->data() && fresh;
    for (const NDArray &in : st->inputs)
      owned = owned && in.buffer() != a.buffer();
    for (const NDArray &sh : st->shareds)
      owned = owned && sh.buffer() != a.buffer();
    int j = p.outputUpdates[o];
    if (j >= 0 && fresh && a.buffer() == st->shareds[j].buffer() &&
        std::find(st->writing.begin(), st->writing.end(), j) != st->writing.end())
      owned = true;
    if (!owned)
      a = a.copy();
    else if (j >= 0 && p.sharedInPlaceWords[j] >= 0 && root == RootKind::Slot &&
             a.buffer() == st->slots[p.values[v].rootIndex])
      // Not written in place this time (the old value was held): the
      // variable alone holds the new value, so that the next call may.
      st->slots[p.values[v].rootIndex].reset();
    given.push_back(a.buffer().get());
    outs.push_back(a);
  }
  release();
  return outs;
}

std::string emitLLVM(const Graph &g, bool optimized,
                     const CompileOptions &options) {
  Plan plan = planOf(g, options);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = buildModule(plan, ctx);
  if (optimized)
    Engine::get().optimize(*m);
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  return text;
}

std::string emitAssembly(const Graph &g, const CompileOptions &options) {
  Plan plan = planOf(g, options);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = buildModule(plan, ctx);
  Engine::get().optimize(*m);
  return Engine::get().emitAssembly(*m);
}

std::string emitPlan(const Graph &g, const CompileOptions &options) {
  return printPlan(planOf(g, options));
}

std::string hostTargetDescription() { return Engine::get().hostDescription(); }

} // namespace thjit::codegen

using thjit::codegen::CallState;

/// The size of the last-level cache one core sees (sysfs: sysconf reports
/// every L3 of the package in some VMs), or THJIT_STREAMING_BYTES.
static int64_t streamingThreshold() {
  if (const char *e = std::getenv("THJIT_STREAMING_BYTES"))
    if (*e)
      return std::max<int64_t>(0, std::atoll(e));
  for (const char *level : {"index3", "index2"}) {
    std::string path = std::string("/sys/devices/system/cpu/cpu0/cache/") + level + "/size";
    if (FILE *f = std::fopen(path.c_str(), "r")) {
      long long n = 0;
      char unit = 0;
      int got = std::fscanf(f, "%lld%c", &n, &unit);
      std::fclose(f);
      if (got >= 1 && n > 0)
        return n << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0);
    }
  }
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return l3 > 0 ? l3 : int64_t(32) << 20;
}

extern "C" {
int64_t thjit_rt_streaming_bytes = streamingThreshold();
}

extern "C" void *thjit_rt_alloc(void *state, int32_t slot, int64_t bytes) {
  auto *st = static_cast<CallState *>(state);
  try {
    return st->allocate(slot, bytes);
  } catch (...) {
    st->error = std::current_exception();
    return nullptr;
  }
}

static int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

extern "C" void thjit_rt_profile(void *state, int32_t step) {
  auto *st = static_cast<CallState *>(state);
  int64_t now = nowNanos();
  if (step >= 0) {
    if (st->stepNanos.size() < st->exe->plan.steps.size())
      st->stepNanos.resize(st->exe->plan.steps.size(), 0);
    st->stepNanos[step] += now - st->lastTick;
  }
  st->lastTick = now;
}

extern "C" int32_t thjit_rt_step(void *state, int32_t step, int32_t phases) {
  auto *st = static_cast<CallState *>(state);
  try {
    return thjit::codegen::runStep(*st, step, phases);
  } catch (...) {
    st->error = std::current_exception();
    return 1;
  }
}
