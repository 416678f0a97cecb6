//===- benchmarks/cpu_jit.cpp - thjit's CPU JIT against C baselines -------===//
///
/// \file
/// cpu_jit_bench: times one workload at one size and prints one JSON object
/// of median times (seconds per call) on stdout. benchmarks/run.py calls it
/// once per round, alternating with the NumPy/numexpr peers (peers.py), so
/// that drift of this shared machine cancels in the ratios.
///
///   cpu_jit_bench --info
///   cpu_jit_bench --workload W --size N [--reps R] [--min-ms M]
///
/// Workloads (N = elements, or the matrix order for dot, or the chain length
/// for compile):
///   f1 f2 f3 f4  the seed paper's Figure 7 formulas on float64 vectors:
///                a**2 + b**2 + 2*a*b, 2*a + 3*b, a + 1, 2*a + b**10
///   exp tanh     one float32 vector
///   sum          sum of a float64 vector
///   dot          dot of two N x N float64 matrices
///   compile      function() of a chain of N element-wise ops
///   compile_scaling  function() of a chain of N element-wise ops and of an
///                MLP training step of about N nodes (time per node)
///   train_lr     an SGD step of logistic regression on N examples of 784
///                features, against the same step written by hand in C++
///   train_mlp train_mlp32  the MLP of the paper's Figure 5, one SGD step on
///                a minibatch of N (float64, float32)
///   limits       the machine: triad over N elements (all threads, one),
///                dgemm and sgemm peaks
///   call         a function of one scalar addition called N times in a row
///                (time per call) against a C++ call through a pointer
///
/// Variants timed within one process (round robin, R repetitions each, every
/// repetition timing enough calls to last M ms after a warm-up; medians):
///   thjit        function({a, b}, {expr}), the graph as the user wrote it
///   thjit_fused  function({a, b}, {fuse(expr)}): one composite node whose
///                scalar sub-graph becomes one loop (only when thjit::fuse
///                exists; see `fuse` below)
///   thjit_fused_mul  f1 and f4 only, informational: fused, with the powers
///                written as products by hand (a*a, b8*b2)
///   c_1t         the hand-fused C++ loop, one thread, called through a
///                function pointer into a preallocated output: the floor of
///                a call (call overhead = thjit - c_1t at tiny sizes)
///   c_mt         the same loop on Team with numThreads() threads
///   triad        STREAM triad a = b + s*c on Team, same size and threads:
///                24 bytes per element, the bandwidth yardstick
///   libm_1t/_mt  scalar expf/tanhf loops (no vectorization)
///   csum         plain C sum on Team
///   cblas        cblas_dgemm straight into a preallocated matrix
///
//===----------------------------------------------------------------------===//
#include "baselines.h"

#include "thjit/CodeGen/CPU.h"
#include "thjit/Runtime/CompileCache.h"
#include "thjit/Support/ThreadPool.h"
#include "thjit/thjit.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace thjit;
using Clock = std::chrono::steady_clock;

namespace bench {

// ---- fuse(), whether or not thjit has it yet ----------------------------------
//
// thjit::fuse(const Var &) collapses the element-wise sub-graph of a value into
// one composite node. The benchmark calls `fuse(v)` unqualified: when thjit
// declares it, argument-dependent lookup finds thjit::fuse, and a non-template
// function beats this template in overload resolution; when it does not, this
// fallback is the only candidate, returns the graph unchanged and records
// that fusion was not available (the thjit_fused column is then omitted).
bool fuseMissing = false;
template <class V> V fuse(const V &root) {
  fuseMissing = true;
  return root;
}

bool haveFuse() {
  static const bool have = [] {
    fuseMissing = false;
    Var x = vector("x", DType::Float64);
    (void)fuse(x + 1.0);
    return !fuseMissing;
  }();
  return have;
}

// ---- timing ---------------------------------------------------------------------

volatile double sink; // results are read into this so nothing is optimized away

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Variant {
  Variant(std::string name, std::function<void()> call = {})
      : name(std::move(name)), call(std::move(call)) {}
  std::string name;
  std::function<void()> call;
  long iters = 1;
  std::vector<double> samples; // seconds per call, one per repetition
};

double timeBatch(Variant &v, long iters) {
  auto t0 = Clock::now();
  for (long i = 0; i < iters; ++i)
    v.call();
  return seconds(Clock::now() - t0);
}

/// Warm-up, then the number of calls that lasts at least minSec.
void calibrate(Variant &v, double minSec) {
  v.call();
  v.call();
  long iters = 1;
  for (;;) {
    double t = timeBatch(v, iters);
    if (t >= minSec || iters >= (1L << 40))
      break;
    double factor = t > 0 ? 1.3 * minSec / t : 100;
    iters = std::max(iters * 2, (long)std::ceil(iters * std::min(factor, 100.0)));
  }
  v.iters = iters;
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return NAN;
  std::sort(xs.begin(), xs.end());
  size_t n = xs.size();
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

/// Times every variant `reps` times, round robin.
/// --only NAME: time that variant alone (to profile it, e.g. under perf).
std::string onlyVariant;

void measure(std::vector<Variant> &vs, int reps, double minSec) {
  if (!onlyVariant.empty())
    vs.erase(std::remove_if(vs.begin(), vs.end(),
                            [](const Variant &v) { return v.name != onlyVariant; }),
             vs.end());
  for (Variant &v : vs)
    calibrate(v, minSec);
  for (int r = 0; r < reps; ++r)
    for (Variant &v : vs)
      v.samples.push_back(timeBatch(v, v.iters) / v.iters);
}

// ---- JSON -----------------------------------------------------------------------

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if ((unsigned char)c < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}
std::string jsonNumber(double x) {
  if (!std::isfinite(x))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

struct Report {
  std::string workload;
  long size = 0;
  std::vector<std::pair<std::string, std::string>> fields; // raw JSON values

  void number(const std::string &k, double v) { fields.push_back({k, jsonNumber(v)}); }
  void string(const std::string &k, const std::string &v) {
    fields.push_back({k, jsonString(v)});
  }
  void print(const std::vector<Variant> &vs) const {
    std::ostringstream os;
    os << "{\"workload\": " << jsonString(workload) << ", \"size\": " << size
       << ", \"threads\": " << numThreads() << ", \"times\": {";
    for (size_t i = 0; i < vs.size(); ++i)
      os << (i ? ", " : "") << jsonString(vs[i].name) << ": "
         << jsonNumber(median(vs[i].samples));
    os << "}, \"iters\": {";
    for (size_t i = 0; i < vs.size(); ++i)
      os << (i ? ", " : "") << jsonString(vs[i].name) << ": " << vs[i].iters;
    os << "}";
    for (const auto &[k, v] : fields)
      os << ", " << jsonString(k) << ": " << v;
    os << "}\n";
    std::cout << os.str() << std::flush;
  }
};

// ---- data -------------------------------------------------------------------------

/// Deterministic values in [lo, hi).
template <class T> void fillUniform(T *p, int64_t n, double lo, double hi, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(s >> 11) * (1.0 / 9007199254740992.0);
    p[i] = (T)(lo + (hi - lo) * u);
  }
}

NDArray uniformArray(DType t, const Shape &shape, double lo, double hi, uint64_t seed) {
  NDArray a = NDArray::empty(t, shape);
  if (t == DType::Float64)
    fillUniform(a.data<double>(), a.size(), lo, hi, seed);
  else
    fillUniform(a.data<float>(), a.size(), lo, hi, seed);
  return a;
}

template <class T> double maxRelDiff(const T *x, const T *y, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = std::fabs((double)x[i] - (double)y[i]) /
               std::max(1e-30, std::fabs((double)y[i]));
    if (!(d <= worst)) // NaN counts as the worst
      worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

// ---- workloads --------------------------------------------------------------------

struct Options {
  std::string workload;
  long size = 0;
  int reps = 5;
  double minSec = 0.02;
};

/// A formula's graph: its inputs (a, or a and b) and its value; for the
/// formulas with `**`, the same with the powers written as products by hand
/// (what strength reduction of pow by a small integer would give).
struct FormulaGraph {
  std::vector<Var> inputs;
  Var expr;
  FormulaFn cfn;
  double bytesPerElement = 24;
  Var exprMul;
};

FormulaGraph formulaGraph(const std::string &w) {
  Var va = vector("a", DType::Float64), vb = vector("b", DType::Float64);
  if (w == "f1")
    return {{va, vb}, pow(va, 2) + pow(vb, 2) + 2 * va * vb, formulaF1, 24,
            va * va + vb * vb + 2 * va * vb};
  if (w == "f2")
    return {{va, vb}, 2 * va + 3 * vb, formulaF2, 24, Var()};
  if (w == "f3")
    return {{va}, va + 1, formulaF3, 16, Var()};
  Var b2 = vb * vb, b4 = b2 * b2, b8 = b4 * b4;
  return {{va, vb}, 2 * va + pow(vb, 10), formulaF4, 24, 2 * va + b8 * b2};
}

void formula(const Options &o, Report &rep) {
  const int64_t n = o.size;
  NDArray a = uniformArray(DType::Float64, {n}, 0.5, 1.5, 1);
  NDArray b = uniformArray(DType::Float64, {n}, 0.5, 1.5, 2);
  FormulaGraph fg = formulaGraph(o.workload);
  const std::vector<Var> &ins = fg.inputs;
  const Var &expr = fg.expr;
  const FormulaFn cfn = fg.cfn;
  std::vector<NDArray> args{a, b};
  args.resize(ins.size());
  rep.number("bytes_per_element", fg.bytesPerElement);

  auto t0 = Clock::now();
  Function f = function(ins, {expr});
  rep.number("compile_s", seconds(Clock::now() - t0));
  std::optional<Function> ff;
  if (haveFuse()) {
    t0 = Clock::now();
    ff = function(ins, {fuse(expr)});
    rep.number("compile_fused_s", seconds(Clock::now() - t0));
  }
  std::optional<Function> fm;
  if (haveFuse() && fg.exprMul.defined())
    fm = function(ins, {fuse(fg.exprMul)});

  NDArray out = NDArray::empty(DType::Float64, {n});
  const double *pa = a.data<double>(), *pb = b.data<double>();
  double *po = out.data<double>();
  std::vector<double> tb(n), tc(n), ta(n);
  fillUniform(tb.data(), n, 0, 1, 3);
  fillUniform(tc.data(), n, 0, 1, 4);
  Team team(numThreads());

  // Correctness first: every thjit variant against the C loop.
  cfn(pa, pb, po, 0, n);
  rep.number("max_rel_diff", maxRelDiff(f(args)[0].data<double>(), po, n));
  if (ff)
    rep.number("max_rel_diff_fused", maxRelDiff((*ff)(args)[0].data<double>(), po, n));
  if (fm)
    rep.number("max_rel_diff_fused_mul", maxRelDiff((*fm)(args)[0].data<double>(), po, n));

  std::vector<Variant> vs;
  vs.push_back({"thjit", [&] { sink = f(args)[0].data<double>()[0]; }});
  if (ff)
    vs.push_back({"thjit_fused", [&] { sink = (*ff)(args)[0].data<double>()[0]; }});
  if (fm) // informational: not the formula as written
    vs.push_back({"thjit_fused_mul", [&] { sink = (*fm)(args)[0].data<double>()[0]; }});
  // Through a volatile function pointer: a real, opaque call.
  FormulaFn volatile cfnPtr = cfn;
  vs.push_back({"c_1t", [&] {
                  cfnPtr(pa, pb, po, 0, n);
                  sink = po[0];
                }});
  vs.push_back({"c_mt", [&] {
                  team.run(n, [&](int, int64_t lo, int64_t hi) { cfnPtr(pa, pb, po, lo, hi); });
                  sink = po[0];
                }});
  vs.push_back({"triad", [&] {
                  team.run(n, [&](int, int64_t lo, int64_t hi) {
                    triad(ta.data(), tb.data(), tc.data(), 3.0, lo, hi);
                  });
                  sink = ta[0];
                }});
  measure(vs, o.reps, o.minSec);
  rep.print(vs);
}

void unary(const Options &o, Report &rep) {
  const int64_t n = o.size;
  const bool isExp = o.workload == "exp";
  NDArray x = uniformArray(DType::Float32, {n}, -4, 4, 5);
  Var vx = vector("x", DType::Float32);
  Function f = function({vx}, {isExp ? exp(vx) : tanh(vx)});
  std::vector<NDArray> args{x};
  UnaryF32Fn volatile scalar = isExp ? scalarExpf : scalarTanhf;
  std::vector<float> out(n);
  const float *px = x.data<float>();
  Team team(numThreads());
  scalar(px, out.data(), 0, n);
  rep.number("max_rel_diff", maxRelDiff(f(args)[0].data<float>(), out.data(), n));
  rep.number("bytes_per_element", 8);
  std::vector<Variant> vs;
  vs.push_back({"thjit", [&] { sink = f(args)[0].data<float>()[0]; }});
  vs.push_back({"libm_1t", [&] {
                  scalar(px, out.data(), 0, n);
                  sink = out[0];
                }});
  vs.push_back({"libm_mt", [&] {
                  team.run(n, [&](int, int64_t lo, int64_t hi) { scalar(px, out.data(), lo, hi); });
                  sink = out[0];
                }});
  measure(vs, o.reps, o.minSec);
  rep.print(vs);
}

void sumWorkload(const Options &o, Report &rep) {
  const int64_t n = o.size;
  NDArray x = uniformArray(DType::Float64, {n}, 0, 1, 6);
  Var vx = vector("x", DType::Float64);
  Function f = function({vx}, {thjit::sum(vx)});
  std::vector<NDArray> args{x};
  const double *px = x.data<double>();
  Team team(numThreads());
  std::vector<double> partial(team.size());
  auto csum = [&] {
    std::fill(partial.begin(), partial.end(), 0.0);
    team.run(n, [&](int c, int64_t lo, int64_t hi) { partial[c] = plainSum(px, lo, hi); });
    double s = 0;
    for (double p : partial)
      s += p;
    return s;
  };
  double ref = csum();
  double got = f(args)[0].item().toDouble();
  rep.number("max_rel_diff", std::fabs(got - ref) / std::fabs(ref));
  rep.number("bytes_per_element", 8);
  std::vector<double> ta(n), tb(n), tc(n);
  fillUniform(tb.data(), n, 0, 1, 3);
  fillUniform(tc.data(), n, 0, 1, 4);
  std::vector<Variant> vs;
  vs.push_back({"thjit", [&] { sink = f(args)[0].data<double>()[0]; }});
  vs.push_back({"csum", [&] { sink = csum(); }});
  vs.push_back({"triad", [&] {
                  team.run(n, [&](int, int64_t lo, int64_t hi) {
                    triad(ta.data(), tb.data(), tc.data(), 3.0, lo, hi);
                  });
                  sink = ta[0];
                }});
  measure(vs, o.reps, o.minSec);
  rep.print(vs);
}

void dotWorkload(const Options &o, Report &rep) {
  const int64_t n = o.size;
  NDArray a = uniformArray(DType::Float64, {n, n}, -1, 1, 7);
  NDArray b = uniformArray(DType::Float64, {n, n}, -1, 1, 8);
  Var va = matrix("A", DType::Float64), vb = matrix("B", DType::Float64);
  Function f = function({va, vb}, {dot(va, vb)});
  std::vector<NDArray> args{a, b};
  std::vector<double> c(n * n);
  auto gemm = [&] {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n, (blasint)n,
                (blasint)n, 1.0, a.data<double>(), (blasint)n, b.data<double>(),
                (blasint)n, 0.0, c.data(), (blasint)n);
  };
  gemm();
  rep.number("max_rel_diff", maxRelDiff(f(args)[0].data<double>(), c.data(), n * n));
  rep.number("flops", 2.0 * n * n * n);
  std::vector<Variant> vs;
  vs.push_back({"thjit", [&] { sink = f(args)[0].data<double>()[0]; }});
  vs.push_back({"cblas", [&] {
                  gemm();
                  sink = c[0];
                }});
  measure(vs, o.reps, o.minSec);
  rep.print(vs);
}

/// What this machine can do, measured in the same run as everything else:
/// the STREAM triad on all threads and on one (N elements; bandwidth), and
/// OpenBLAS's dgemm and sgemm on square matrices of order kPeakOrder (the
/// FLOP rate every product is held against).
constexpr int64_t kPeakOrder = 1536;

void limitsWorkload(const Options &o, Report &rep) {
  const int64_t n = o.size, m = kPeakOrder;
  std::vector<double> ta(n), tb(n), tc(n);
  fillUniform(tb.data(), n, 0, 1, 3);
  fillUniform(tc.data(), n, 0, 1, 4);
  Team team(numThreads());
  NDArray a = uniformArray(DType::Float64, {m, m}, -1, 1, 7);
  NDArray b = uniformArray(DType::Float64, {m, m}, -1, 1, 8);
  NDArray af = a.astype(DType::Float32), bf = b.astype(DType::Float32);
  std::vector<double> c(m * m);
  std::vector<float> cf(m * m);
  std::vector<Variant> vs;
  vs.push_back({"triad", [&] {
                  team.run(n, [&](int, int64_t lo, int64_t hi) {
                    triad(ta.data(), tb.data(), tc.data(), 3.0, lo, hi);
                  });
                  sink = ta[0];
                }});
  vs.push_back({"triad_1t", [&] {
                  triad(ta.data(), tb.data(), tc.data(), 3.0, 0, n);
                  sink = ta[0];
                }});
  vs.push_back({"dgemm", [&] {
                  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m,
                              (blasint)m, (blasint)m, 1.0, a.data<double>(), (blasint)m,
                              b.data<double>(), (blasint)m, 0.0, c.data(), (blasint)m);
                  sink = c[0];
                }});
  vs.push_back({"sgemm", [&] {
                  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m,
                              (blasint)m, (blasint)m, 1.0f, af.data<float>(), (blasint)m,
                              bf.data<float>(), (blasint)m, 0.0f, cf.data(), (blasint)m);
                  sink = cf[0];
                }});
  measure(vs, o.reps, o.minSec);
  double flops = 2.0 * m * m * m;
  rep.number("gemm_order", (double)m);
  rep.number("triad_gbs", 24.0 * n / median(vs[0].samples) / 1e9);
  rep.number("triad_1t_gbs", 24.0 * n / median(vs[1].samples) / 1e9);
  rep.number("dgemm_gflops", flops / median(vs[2].samples) / 1e9);
  rep.number("sgemm_gflops", flops / median(vs[3].samples) / 1e9);
  rep.print(vs);
}

/// The fixed cost of a call: a function of one scalar addition called N
/// times in a row (time per call), against a C++ function of two doubles
/// called through a function pointer the compiler cannot see through.
double addDoubles(double a, double b) { return a + b; }

void callWorkload(const Options &o, Report &rep) {
  const long n = o.size;
  Var x = scalar("x", DType::Float64), y = scalar("y", DType::Float64);
  Function f = function({x, y}, {x + y});
  std::vector<NDArray> args{NDArray::scalar(Scalar(1.5)), NDArray::scalar(Scalar(2.0))};
  rep.number("max_rel_diff", std::fabs(f(args)[0].data<double>()[0] - 3.5));
  double (*volatile fn)(double, double) = addDoubles;
  std::vector<Variant> vs;
  vs.push_back({"thjit", [&] {
                  for (long i = 0; i < n; ++i)
                    sink = f(args)[0].data<double>()[0];
                }});
  vs.push_back({"c_call", [&] {
                  for (long i = 0; i < n; ++i)
                    sink = fn(1.5, 2.0);
                }});
  measure(vs, o.reps, o.minSec);
  for (Variant &v : vs) // seconds per call, not per batch of n
    for (double &t : v.samples)
      t /= (double)n;
  rep.print(vs);
}

/// x * c0 + d0 ... : `length` element-wise ops, each with its own constant
/// (the chain's nodes are distinct anyway, since each has a new operand).
Var chain(const Var &x, long length) {
  Var y = x;
  for (long i = 0; i < length; ++i)
    y = i % 2 == 0 ? y * (1.0 + 1e-6 * (double)(i + 1)) : y + (1e-3 * (double)(i + 1));
  return y;
}

/// Compile times of the chain (and of its fused form): the first function()
/// of this process, then the same graph again in this process. run.py calls
/// this twice with the same fresh THJIT_CACHE_DIR: in the first process the
/// first compile is a cache miss (the real compile time), in the second it
/// is the cache hit of a new process. Cache counters are reported for each.
void compileWorkload(const Options &o, Report &rep) {
  CompileCache &cache = CompileCache::global();
  rep.string("cache_dir", cache.directory());
  rep.number("cache_enabled", cache.enabled() ? 1 : 0);
  // The first compile of the process pays for LLVM's initialization; a
  // graph of its own keeps that out of the chain's times.
  auto t0 = Clock::now();
  {
    Var z = vector("z", DType::Float64);
    Function warm = function({z}, {z * 2.0 + 1.0});
    sink = warm({NDArray::full(DType::Float64, {4}, Scalar(1.0))})[0].data<double>()[0];
  }
  rep.number("engine_init_s", seconds(Clock::now() - t0));

  Var x = vector("x", DType::Float64);
  t0 = Clock::now();
  Var y = chain(x, o.size);
  rep.number("graph_build_s", seconds(Clock::now() - t0));
  NDArray in = uniformArray(DType::Float64, {1000}, 0, 1, 9);
  FunctionOptions reference;
  reference.mode = "REFERENCE";
  NDArray expected = function({x}, {y}, reference)({in})[0];

  std::vector<Variant> vs;
  auto compileTwice = [&](const std::string &name, const Var &out) {
    Variant v(name);
    for (const char *when : {"first", "again"}) {
      CacheStats before = cache.stats();
      t0 = Clock::now();
      Function f = function({x}, {out});
      double t = seconds(Clock::now() - t0);
      CacheStats after = cache.stats();
      v.samples.push_back(t);
      std::string k = name + "_" + when;
      rep.number(k + "_s", t);
      rep.number(k + "_cache_hits", (double)(after.hits - before.hits));
      rep.number(k + "_cache_stores", (double)(after.stores - before.stores));
      if (std::string(when) == "first")
        rep.number("max_rel_diff_" + name,
                   maxRelDiff(f({in})[0].data<double>(), expected.data<double>(),
                              expected.size()));
    }
    vs.push_back(v);
  };
  compileTwice("compile", y);
  if (haveFuse())
    compileTwice("compile_fused", fuse(y));
  rep.print(vs);
}

/// The training step of an MLP of `layers` tanh layers of width 16 with a
/// softmax output and SGD updates: a graph of many small nodes.
struct Training {
  std::vector<Var> inputs, outputs;
  std::vector<std::pair<Var, Var>> updates;
};
Training mlpTraining(int layers) {
  Training t;
  Var x = matrix("x", DType::Float64), y = matrix("y", DType::Float64);
  Var h = x;
  std::vector<Var> params;
  for (int i = 0; i < layers; ++i) {
    Var W = shared(uniformArray(DType::Float64, {16, 16}, -0.1, 0.1, 20 + i), "W");
    Var b = shared(NDArray::zeros(DType::Float64, {16}), "b");
    params.push_back(W);
    params.push_back(b);
    h = tanh(dot(h, W) + b);
  }
  Var cost = -mean(sum(y * log(softmax(h)), Axes({1})));
  std::vector<Var> g = grad(cost, params);
  for (size_t i = 0; i < params.size(); ++i)
    t.updates.push_back({params[i], params[i] - g[i] * 0.01});
  t.inputs = {x, y};
  t.outputs = {cost};
  return t;
}

/// Operation nodes (not inputs, shared variables or constants) of the
/// graph a function is given: its outputs and update values.
size_t sourceNodes(const Training &t) {
  std::vector<Var> all = t.outputs;
  for (const auto &[var, value] : t.updates)
    all.push_back(value);
  size_t n = 0;
  Graph g(t.inputs, all);
  for (Node *node : g.nodes())
    n += !node->isLeaf();
  return n;
}

/// Compile time against graph size: a chain of `size` element-wise ops,
/// and an MLP training step of about `size` nodes, each compiled once (a
/// cache miss: run.py gives each process a fresh cache).
void compileScalingWorkload(const Options &o, Report &rep) {
  { // LLVM's start-up is not counted
    Var z = vector("z", DType::Float64);
    function({z}, {z * 2.0 + 1.0});
  }
  Var x = vector("x", DType::Float64);
  Training chainGraph{{x}, {chain(x, o.size)}, {}};
  // About 14 nodes per layer with its gradient and update.
  int layers = std::max<long>(1, o.size / 14);
  Training mlp = mlpTraining(layers);
  std::vector<Variant> vs;
  for (auto [name, t] : {std::pair<const char *, Training *>{"chain", &chainGraph},
                         {"mlp", &mlp}}) {
    FunctionOptions fo;
    fo.updates = t->updates;
    auto t0 = Clock::now();
    Function f = function(t->inputs, t->outputs, fo);
    double secs = seconds(Clock::now() - t0);
    size_t nodes = sourceNodes(*t);
    double passes = 0;
    for (const PassStats &p : f.passStats())
      passes += p.seconds;
    rep.number(std::string(name) + "_nodes", (double)nodes);
    rep.number(std::string(name) + "_compile_s", secs);
    rep.number(std::string(name) + "_passes_s", passes);
    rep.number(std::string(name) + "_us_per_node", secs / (double)nodes * 1e6);
    Variant v(name);
    v.samples.push_back(secs);
    vs.push_back(v);
  }
  rep.number("mlp_layers", layers);
  rep.print(vs);
}

/// One SGD step of the seed paper's logistic regression (Theano's
/// tutorial: 784 features, L2 penalty 0.01, learning rate 0.1) on `size`
/// examples: thjit's training function against the same step written by
/// hand in C++ on OpenBLAS, as tight as we can (two gemv calls, one fused
/// loop over the examples; the weight decay folded into the second gemv).
void trainLrWorkload(const Options &o, Report &rep) {
  const int64_t n = o.size, feats = 784;
  NDArray X = uniformArray(DType::Float64, {n, feats}, -1, 1, 31);
  NDArray Y = NDArray::empty(DType::Float64, {n});
  for (int64_t i = 0; i < n; ++i)
    Y.data<double>()[i] = (double)((i * 7919) % 3 == 0);
  NDArray w0 = uniformArray(DType::Float64, {feats}, -0.01, 0.01, 32);

  Var x = matrix("x", DType::Float64), y = vector("y", DType::Float64);
  Var w = shared(w0, "w"), b = shared(NDArray::scalar(Scalar(0.0)), "b");
  Var p1 = 1.0 / (1.0 + exp(-dot(x, w) - b));
  Var xent = -y * log(p1) - (1.0 - y) * log(1.0 - p1);
  Var cost = mean(xent) + 0.01 * sum(pow(w, 2.0));
  std::vector<Var> g = grad(cost, std::vector<Var>{w, b});
  FunctionOptions fo;
  fo.updates = {{w, w - 0.1 * g[0]}, {b, b - 0.1 * g[1]}};
  Function train = function({x, y}, {gt(p1, 0.5), xent}, fo);

  // The same step with the gradient derived and fused by hand: what the
  // rewrites should reach (stable forms, one gemv over w).
  Var wf = shared(w0.copy(), "w"), bf = shared(NDArray::scalar(Scalar(0.0)), "b");
  Var zf = dot(x, wf) + bf;
  Var df = fuse((sigmoid(zf) - y) / cast(shapeOf(y, 0), DType::Float64));
  FunctionOptions ff;
  ff.updates = {{wf, gemm(wf, constant(Scalar(-0.1)), transpose(x), df,
                          constant(Scalar(1.0 - 0.1 * 0.02)))},
                {bf, bf - 0.1 * sum(df)}};
  Function trainFused = function(
      {x, y}, {gt(zf, 0.0), fuse(y * softplus(-zf) + (1.0 - y) * softplus(zf))},
      ff);

  // By hand: z = X w + b; p = sigmoid(z); xent; d = (p - y) / n;
  // w = (1 - 0.1 * 0.02) w - 0.1 X^T d; b -= 0.1 sum(d).
  std::vector<double> hw(w0.data<double>(), w0.data<double>() + feats), z(n), d(n),
      xentOut(n);
  std::vector<uint8_t> pred(n);
  double hb = 0;
  const double *Xd = X.data<double>(), *Yd = Y.data<double>();
  auto hand = [&] {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)feats, 1.0, Xd,
                (int)feats, hw.data(), 1, 0.0, z.data(), 1);
    double gb = 0;
    for (int64_t i = 0; i < n; ++i) {
      double p = 1 / (1 + std::exp(-(z[i] + hb)));
      pred[i] = p > 0.5;
      xentOut[i] = -Yd[i] * std::log(p) - (1 - Yd[i]) * std::log(1 - p);
      d[i] = (p - Yd[i]) / (double)n;
      gb += d[i];
    }
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)feats, -0.1, Xd,
                (int)feats, d.data(), 1, 1.0 - 0.1 * 0.02, hw.data(), 1);
    hb -= 0.1 * gb;
  };
  if (std::getenv("THJIT_BENCH_PRINT"))
    std::cerr << train.str() << trainFused.str();
  // Both from the same start for a few steps: the same weights.
  for (int i = 0; i < 5; ++i) {
    train({X, Y});
    trainFused({X, Y});
    hand();
  }
  rep.number("max_rel_diff_w",
             std::max(maxRelDiff(w.getValue().data<double>(), hw.data(), feats),
                      maxRelDiff(wf.getValue().data<double>(), hw.data(), feats)));
  std::vector<Variant> vs{Variant("thjit", [&] { train({X, Y}); }),
                          Variant("thjit_fused", [&] { trainFused({X, Y}); }),
                          Variant("hand", hand)};
  measure(vs, o.reps, o.minSec);
  rep.number("examples", (double)n);
  rep.print(vs);
}

/// The MLP of the paper's Figure 5 (784-500-10, tanh hidden layer, softmax
/// output, mean negative log likelihood, SGD at learning rate 0.01), one
/// step on a minibatch of N examples sliced by index from shared data:
///   thjit        the step as a user writes it (T.grad of the cost);
///   thjit fused  the same step with the gradient derived and fused by hand
///                (softmax - y, gemm updates): what the rewrites should reach;
///   hand         the step in C++ on OpenBLAS, as tight as we can.
template <class T> struct HandMlp {
  int64_t batch, in = 784, hid = 500, out = 10;
  std::vector<T> W1, b1, W2, b2, H, P, dH;
  double cost = 0;
  void step(const T *X, const T *Y, T lr) {
    const int64_t n = batch;
    // H = tanh(X W1 + b1)
    for (int64_t i = 0; i < n; ++i)
      std::copy(b1.begin(), b1.end(), H.begin() + i * hid);
    gemmT(CblasNoTrans, CblasNoTrans, n, hid, in, 1, X, in, W1.data(), hid, 1,
          H.data(), hid);
    for (T &h : H)
      h = std::tanh(h);
    // P = softmax(H W2 + b2); cost; dZ = (P - Y) / n, kept in P.
    for (int64_t i = 0; i < n; ++i)
      std::copy(b2.begin(), b2.end(), P.begin() + i * out);
    gemmT(CblasNoTrans, CblasNoTrans, n, out, hid, 1, H.data(), hid, W2.data(),
          out, 1, P.data(), out);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      T *z = &P[i * out];
      const T *y = &Y[i * out];
      T m = *std::max_element(z, z + out), e = 0;
      for (int64_t j = 0; j < out; ++j)
        e += std::exp(z[j] - m);
      T lse = m + std::log(e);
      for (int64_t j = 0; j < out; ++j) {
        total -= y[j] * (z[j] - lse);
        z[j] = (std::exp(z[j] - lse) - y[j]) / (T)n;
      }
    }
    cost = total / (double)n;
    // dH = (dZ W2^T) * (1 - H^2), before W2 changes.
    gemmT(CblasNoTrans, CblasTrans, n, hid, out, 1, P.data(), out, W2.data(),
          out, 0, dH.data(), hid);
    for (int64_t i = 0; i < n * hid; ++i)
      dH[i] *= 1 - H[i] * H[i];
    // W2 -= lr H^T dZ; b2 -= lr colsum(dZ); W1 -= lr X^T dH; b1 likewise.
    gemmT(CblasTrans, CblasNoTrans, hid, out, n, -lr, H.data(), hid, P.data(),
          out, 1, W2.data(), out);
    gemmT(CblasTrans, CblasNoTrans, in, hid, n, -lr, X, in, dH.data(), hid, 1,
          W1.data(), hid);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < out; ++j)
        b2[j] -= lr * P[i * out + j];
      for (int64_t j = 0; j < hid; ++j)
        b1[j] -= lr * dH[i * hid + j];
    }
  }
  static void gemmT(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n,
                    int64_t k, T alpha, const T *a, int64_t lda, const T *b,
                    int64_t ldb, T beta, T *c, int64_t ldc) {
    if constexpr (std::is_same_v<T, double>)
      cblas_dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, a,
                  (int)lda, b, (int)ldb, beta, c, (int)ldc);
    else
      cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, a,
                  (int)lda, b, (int)ldb, beta, c, (int)ldc);
  }
};

template <class T> void trainMlp(const Options &o, Report &rep, DType t) {
  const int64_t batch = o.size, batches = std::max<int64_t>(2, 6000 / batch);
  const int64_t n = batch * batches, in = 784, hid = 500, out = 10;
  NDArray X = uniformArray(t, {n, in}, 0, 1, 41);
  NDArray Y = NDArray::zeros(t, {n, out});
  for (int64_t i = 0; i < n; ++i)
    Y.data<T>()[i * out + (i * 7919) % out] = 1;
  // Glorot-uniform weights, zero biases (the Theano tutorial's MLP).
  double r1 = std::sqrt(6.0 / (in + hid)), r2 = std::sqrt(6.0 / (hid + out));
  NDArray W10 = uniformArray(t, {in, hid}, -r1, r1, 42);
  NDArray W20 = uniformArray(t, {hid, out}, -r2, r2, 43);
  const double lr = 0.01;

  auto build = [&](bool byHand, std::vector<Var> &params) {
    Var Xs = shared(X, "X"), Ys = shared(Y, "Y");
    Var W1 = shared(W10.copy(), "W1"), b1 = shared(NDArray::zeros(t, {hid}), "b1");
    Var W2 = shared(W20.copy(), "W2"), b2 = shared(NDArray::zeros(t, {out}), "b2");
    params = {W1, b1, W2, b2};
    Var i = scalar("i", DType::Int64);
    Var x = subtensor(Xs, {Index::slice(i * batch, (i + 1) * batch)});
    Var y = subtensor(Ys, {Index::slice(i * batch, (i + 1) * batch)});
    Var h = tanh(dot(x, W1) + b1);
    Var z = dot(h, W2) + b2;
    Var cost = -mean(sum(y * logSoftmax(z), 1));
    FunctionOptions fo;
    Var rate = constant(NDArray::scalar(Scalar(lr)).astype(t));
    if (!byHand) {
      std::vector<Var> g = grad(cost, params);
      for (size_t k = 0; k < params.size(); ++k)
        fo.updates.push_back({params[k], params[k] - rate * g[k]});
    } else {
      Var dz = fuse((softmax(z) - y) / (double)batch);
      Var dh = fuse(dot(dz, transpose(W2)) * (1.0 - h * h));
      Var minus = constant(NDArray::scalar(Scalar(-lr)).astype(t));
      Var unit = constant(NDArray::scalar(Scalar(1.0)).astype(t));
      fo.updates = {{W1, gemm(W1, minus, transpose(x), dh, unit)},
                    {b1, b1 - rate * sum(dh, 0)},
                    {W2, gemm(W2, minus, transpose(h), dz, unit)},
                    {b2, b2 - rate * sum(dz, 0)}};
    }
    return function({i}, {cost}, fo);
  };
  std::vector<Var> autoParams, fusedParams;
  Function autodiff = build(false, autoParams), fused = build(true, fusedParams);

  HandMlp<T> hand;
  hand.batch = batch;
  hand.W1.assign(W10.data<T>(), W10.data<T>() + in * hid);
  hand.W2.assign(W20.data<T>(), W20.data<T>() + hid * out);
  hand.b1.assign(hid, 0);
  hand.b2.assign(out, 0);
  hand.H.resize(batch * hid);
  hand.P.resize(batch * out);
  hand.dH.resize(batch * hid);

  // A few steps of each from the same start: the same weights.
  int64_t next[3] = {0, 0, 0};
  auto index = [&](int which) {
    return NDArray::scalar(Scalar((double)(next[which]++ % batches), DType::Int64));
  };
  auto handStep = [&] {
    int64_t b = next[2]++ % batches;
    hand.step(X.data<T>() + b * batch * in, Y.data<T>() + b * batch * out, (T)lr);
  };
  for (int k = 0; k < 3; ++k) {
    autodiff({index(0)});
    fused({index(1)});
    handStep();
  }
  NDArray w1a = autoParams[0].getValue(), w1f = fusedParams[0].getValue();
  rep.number("max_rel_diff_W1",
             std::max(maxRelDiff(w1a.data<T>(), hand.W1.data(), in * hid),
                      maxRelDiff(w1f.data<T>(), hand.W1.data(), in * hid)));
  std::vector<Variant> vs{
      Variant("thjit", [&] { autodiff({index(0)}); }),
      Variant("thjit_fused", [&] { fused({index(1)}); }), Variant("hand", handStep)};
  measure(vs, o.reps, o.minSec);
  rep.number("examples", (double)batch);
  rep.print(vs);
}

void info() {
  std::ostringstream os;
  CompileCache &cache = CompileCache::global();
  os << "{\"threads\": " << numThreads() << ", \"have_fuse\": " << (haveFuse() ? "true" : "false")
     << ", \"cxx_compiler\": " << jsonString(THJIT_BENCH_CXX_COMPILER)
     << ", \"build_type\": " << jsonString(THJIT_BENCH_BUILD_TYPE)
     << ", \"llvm\": " << jsonString(THJIT_BENCH_LLVM_VERSION)
     << ", \"jit_target\": " << jsonString(codegen::hostTargetDescription().substr(0, 60))
     << ", \"openblas\": " << jsonString(openblas_get_config())
     << ", \"openblas_threads\": " << openblas_get_num_threads()
     << ", \"cache_dir\": " << jsonString(cache.directory())
     << ", \"cache_enabled\": " << (cache.enabled() ? "true" : "false") << "}\n";
  std::cout << os.str();
}

/// Prints what thjit generates for a formula (for the analysis in
/// docs/performance.md): its graph and its optimized LLVM IR or assembly.
int emit(const std::string &w, bool fused, bool assembly) {
  FormulaGraph fg = formulaGraph(w);
  Var e = fused ? fuse(fg.expr) : fg.expr;
  Function f = function(fg.inputs, {e});
  std::cout << f.str() << "\n";
  std::cout << (assembly ? codegen::emitAssembly(f.graph())
                         : codegen::emitLLVM(f.graph(), /*optimized=*/true));
  return 0;
}

int usage(const char *msg) {
  if (msg)
    std::cerr << "cpu_jit_bench: " << msg << "\n";
  std::cerr << "usage: cpu_jit_bench --info\n"
               "       cpu_jit_bench --workload f1|f2|f3|f4|exp|tanh|sum|dot|compile|"
               "compile_scaling|train_lr|train_mlp|train_mlp32|limits|call --size N\n"
               "              [--reps R] [--min-ms M] [--only VARIANT]\n"
               "       cpu_jit_bench --emit-llvm|--emit-asm f1|f2|f3|f4 [--fused]\n";
  return 2;
}

} // namespace bench

int main(int argc, char **argv) {
  using namespace bench;
  Options o;
  bool wantInfo = false, fused = false;
  std::string emitWhat, emitKind;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        usage(("missing value after " + arg).c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--info")
      wantInfo = true;
    else if (arg == "--emit-llvm" || arg == "--emit-asm")
      emitKind = arg, emitWhat = next();
    else if (arg == "--fused")
      fused = true;
    else if (arg == "--workload")
      o.workload = next();
    else if (arg == "--size")
      o.size = std::atol(next());
    else if (arg == "--reps")
      o.reps = std::max(1, std::atoi(next()));
    else if (arg == "--only")
      onlyVariant = next();
    else if (arg == "--min-ms")
      o.minSec = std::max(0.0, std::atof(next())) / 1000.0;
    else if (arg == "-h" || arg == "--help")
      return usage(nullptr), 0;
    else
      return usage(("unknown argument " + arg).c_str());
  }
  try {
    if (wantInfo) {
      info();
      return 0;
    }
    if (!emitKind.empty())
      return emit(emitWhat, fused, emitKind == "--emit-asm");
    if (o.size <= 0)
      return usage("--size must be positive");
    Report rep;
    rep.workload = o.workload;
    rep.size = o.size;
    const std::string &w = o.workload;
    if (w == "f1" || w == "f2" || w == "f3" || w == "f4")
      formula(o, rep);
    else if (w == "exp" || w == "tanh")
      unary(o, rep);
    else if (w == "sum")
      sumWorkload(o, rep);
    else if (w == "dot")
      dotWorkload(o, rep);
    else if (w == "compile")
      compileWorkload(o, rep);
    else if (w == "compile_scaling")
      compileScalingWorkload(o, rep);
    else if (w == "train_lr")
      trainLrWorkload(o, rep);
    else if (w == "limits")
      limitsWorkload(o, rep);
    else if (w == "call")
      callWorkload(o, rep);
    else if (w == "train_mlp")
      trainMlp<double>(o, rep, DType::Float64);
    else if (w == "train_mlp32")
      trainMlp<float>(o, rep, DType::Float32);
    else
      return usage(("unknown workload '" + w + "'").c_str());
  } catch (const std::exception &e) {
    std::cerr << "cpu_jit_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
