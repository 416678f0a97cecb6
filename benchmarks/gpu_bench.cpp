//===- benchmarks/gpu_bench.cpp - thjit's GPU back end, timed with events -===//
///
/// \file
/// gpu_bench: thjit's `device='cuda'` functions on a CUDA device, timed with
/// CUDA events (docs/performance.md, "GPU"). benchmarks/gpu_run.sh runs it
/// beside the same workloads in PyTorch (gpu_peers.py) and prints the ratios.
///
///   gpu_bench [--sizes full|small] [--only W[,W...]] [--reps R] [--min-ms M]
///             [--warmup K] [--seed S] [--json] [--graphs]
///
/// Workloads (--only takes these names, or the groups elementwise, gemm, mlp):
///   copy         cuMemcpyDtoD of a float32 vector: the bandwidth yardstick,
///                bytes read + written (8 per element)
///   f1 f2 f3 f4  the seed paper's Figure 7 formulas on float32 vectors:
///                a**2 + b**2 + 2*a*b, 2*a + 3*b, a + 1, 2*a + b**10;
///                bytes read + written (12 per element, 8 for a + 1)
///   gemm_f32     C = dot(A, B) of N x N float32 matrices (the tiled kernel)
///   gemm_f16     the same in float16 (tensor cores, float32 accumulation)
///   mlp          one SGD step of the MLP of the paper's Figure 5
///                (784-500-10, tanh hidden layer, softmax output, mean
///                negative log likelihood, learning rate 0.01), float32, on
///                a minibatch kept in GPU memory
///
/// Sizes: full (1e8 elements, N = 4096, minibatches of 60 and 1024) or small
/// (1e4 elements, N = 64, minibatches of 60 and 1024, one timed call: for
/// the fake driver's emulated device, where only the checks mean anything).
///
/// Every timed function has no outputs: its inputs are shared variables in
/// GPU memory, and its result is the new value of a shared variable that
/// lives there too (`updates`), so no call copies an array between host and
/// GPU. (A thjit GPU call still reads a 4-byte status word at its end, so
/// each call waits for its kernels: that cost is thjit's and is counted.)
///
/// Method (/work/.library/device/METHOD.md): random inputs drawn afresh per
/// run (the seed is printed), never zeros; each result is checked once
/// against the CPU before timing (a thjit function with device "cpu" on the
/// same data, and a float64 reference: relative L2 error ||gpu - ref|| /
/// ||ref||), with the memory the result will land in poisoned with NaN
/// first, so an unwritten element fails the check. Then each variant is
/// warmed up, its calls per repetition are chosen to last --min-ms, and the
/// variants are timed round robin, --reps times, between two CUDA events on
/// the default stream (where thjit launches). Times are medians, per call.
///
/// Output: a readable line per workload, or with --json one JSON object
/// per line (cpu_jit_bench's style): first {"workload": "device", ...},
/// then {"workload": W, "size": N, "times": {"thjit": seconds}, "samples":
/// ..., "ok": true, ...}. --graphs prints each timed function's optimized
/// graph (where values cross between host and GPU) to standard error.
/// The exit status is 1 when a check failed (the
/// timings are printed anyway), 2 for bad arguments, 3 without a device.
///
//===----------------------------------------------------------------------===//
#include "thjit/Runtime/CUDA.h"
#include "thjit/thjit.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef THJIT_GPU_BENCH_EMULATED
// test::gpuEmulated() installs the tests' SIMT emulator as the fake driver's
// executor when $THJIT_CUDA_DRIVER is the fake driver (gpu_bench_emulated).
#include "EmulatedDevice.h"
#endif

using namespace thjit;

namespace gbench {

// ---- options --------------------------------------------------------------------

struct Options {
  std::string sizes = "full";
  std::set<std::string> only; // empty: everything
  int reps = 10;
  double minSec = 0.02;
  int warmup = 3;
  uint64_t seed = 0;
  bool json = false;
  bool graphs = false; ///< print each timed function's graph to stderr
};

struct Sizes {
  int64_t elements, order;
  std::vector<int64_t> batches;
};

Sizes sizesFor(const std::string &s) {
  if (s == "small")
    return {10000, 64, {60, 1024}};
  return {100000000, 4096, {60, 1024}};
}

bool wanted(const Options &o, const std::string &w, const std::string &group) {
  return o.only.empty() || o.only.count(w) || o.only.count(group);
}

bool allChecksPassed = true;
bool printGraphs = false;

// ---- JSON and printing ------------------------------------------------------------

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
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

std::string human(double seconds) {
  char buf[64];
  if (!std::isfinite(seconds))
    return "-";
  if (seconds < 1e-3)
    std::snprintf(buf, sizeof buf, "%.2f us", seconds * 1e6);
  else if (seconds < 1)
    std::snprintf(buf, sizeof buf, "%.3f ms", seconds * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.3f s", seconds);
  return buf;
}

// ---- timing with events -------------------------------------------------------

double median(std::vector<double> xs) {
  if (xs.empty())
    return NAN;
  std::sort(xs.begin(), xs.end());
  size_t n = xs.size();
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

/// One thing to time: a call that launches work on the default stream.
struct Variant {
  Variant(std::string name, std::function<void()> call)
      : name(std::move(name)), call(std::move(call)) {}
  std::string name;
  std::function<void()> call;
  long iters = 1;
  std::vector<double> samples; // seconds per call, one per repetition
  cuda::Event start, end;

  /// Device seconds per call over `n` calls in a row.
  double timeCalls(long n) {
    start.record();
    for (long i = 0; i < n; ++i)
      call();
    end.record();
    return cuda::elapsedMs(start, end) / 1e3 / (double)n;
  }
};

/// Warm-up (module load, first allocations), then the number of calls a
/// repetition needs to last minSec.
void calibrate(Variant &v, const Options &o) {
  for (int i = 0; i < o.warmup; ++i)
    v.call();
  cuda::synchronize();
  long iters = 1;
  for (int tries = 0; tries < 20; ++tries) {
    double total = v.timeCalls(iters) * (double)iters;
    if (total >= o.minSec || iters >= (1L << 20))
      break;
    double factor = total > 0 ? 1.3 * o.minSec / total : 100;
    iters = std::max(iters * 2, (long)std::ceil((double)iters * std::min(factor, 100.0)));
  }
  v.iters = iters;
}

/// Times the variants round robin, reps times each.
void measure(std::vector<Variant *> vs, const Options &o) {
  for (Variant *v : vs)
    calibrate(*v, o);
  for (int r = 0; r < o.reps; ++r)
    for (Variant *v : vs)
      v->samples.push_back(v->timeCalls(v->iters));
}

// ---- one workload's report ------------------------------------------------------------

struct Report {
  std::string workload, label;
  int64_t size = 0;
  std::string dtype = "float32";
  std::vector<const Variant *> variants;
  std::vector<std::pair<std::string, std::string>> fields; // raw JSON values
  std::map<std::string, double> values;                    // the numbers among them
  std::string summary;                                      // the readable line's tail
  bool ok = true;

  void number(const std::string &k, double v) {
    fields.push_back({k, jsonNumber(v)});
    values[k] = v;
  }
  void string(const std::string &k, const std::string &v) {
    fields.push_back({k, jsonString(v)});
  }
  /// A check's error: fails (NaN included) above tol.
  void check(const std::string &k, double err, double tol) {
    number(k, err);
    if (!(err <= tol))
      fail();
  }
  void fail() {
    ok = false;
    allChecksPassed = false;
  }
  double operator[](const std::string &k) const {
    auto it = values.find(k);
    return it == values.end() ? NAN : it->second;
  }

  void print(const Options &o) const {
    std::ostringstream os;
    if (o.json) {
      auto each = [&](auto &&field) {
        for (size_t i = 0; i < variants.size(); ++i) {
          os << (i ? ", " : "") << jsonString(variants[i]->name) << ": ";
          field(*variants[i]);
        }
      };
      os << "{\"workload\": " << jsonString(workload) << ", \"size\": " << size
         << ", \"dtype\": " << jsonString(dtype) << ", \"times\": {";
      each([&](const Variant &v) { os << jsonNumber(median(v.samples)); });
      os << "}, \"iters\": {";
      each([&](const Variant &v) { os << v.iters; });
      os << "}, \"samples\": {";
      each([&](const Variant &v) {
        os << "[";
        for (size_t j = 0; j < v.samples.size(); ++j)
          os << (j ? ", " : "") << jsonNumber(v.samples[j]);
        os << "]";
      });
      os << "}, \"ok\": " << (ok ? "true" : "false");
      for (const auto &[k, v] : fields)
        os << ", " << jsonString(k) << ": " << v;
      os << "}\n";
    } else {
      os << label << ": ";
      for (size_t i = 0; i < variants.size(); ++i)
        os << (i ? ", " : "") << variants[i]->name << " " << human(median(variants[i]->samples));
      os << summary << (ok ? "" : "  ** CHECK FAILED **") << "\n";
    }
    std::cout << os.str() << std::flush;
  }
};

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

// ---- data -----------------------------------------------------------------------------

/// Uniform values in [lo, hi): a counter-based hash of (seed, index), so
/// that threads fill their parts independently.
void fillUniform(float *p, int64_t n, double lo, double hi, uint64_t seed) {
  const int threads =
      n < (1 << 20) ? 1 : (int)std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  auto part = [&](int t) {
    const int64_t b = n * t / threads, e = n * (t + 1) / threads;
    for (int64_t i = b; i < e; ++i) {
      uint64_t z = seed * 0xD1B54A32D192ED03ull + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      const double u = (double)(z >> 11) * (1.0 / 9007199254740992.0);
      p[i] = (float)(lo + (hi - lo) * u);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(part, t);
  part(0);
  for (std::thread &t : pool)
    t.join();
}

NDArray uniform(const Shape &shape, double lo, double hi, uint64_t seed) {
  NDArray a = NDArray::empty(DType::Float32, shape);
  fillUniform(a.data<float>(), a.size(), lo, hi, seed);
  return a;
}

/// Calls f(i, element as a double) for every element (any float dtype).
template <class F> void forEachDouble(const NDArray &a, F &&f) {
  NDArray c = a.isContiguous() ? a : a.copy();
  if (c.dtype() == DType::Float32) {
    const float *p = c.data<float>();
    for (int64_t i = 0; i < c.size(); ++i)
      f(i, (double)p[i]);
    return;
  }
  if (c.dtype() != DType::Float64)
    c = c.astype(DType::Float64);
  const double *p = c.data<double>();
  for (int64_t i = 0; i < c.size(); ++i)
    f(i, p[i]);
}

std::vector<double> asDoubles(const NDArray &a) {
  std::vector<double> v(a.size());
  forEachDouble(a, [&](int64_t i, double x) { v[i] = x; });
  return v;
}

/// ||got - ref|| / ||ref|| over every element; infinity when the sizes
/// differ or an element of `got` is NaN (poisoned memory nothing wrote).
double relErr(const NDArray &got, const std::vector<double> &ref) {
  if (got.size() != (int64_t)ref.size())
    return INFINITY;
  double num = 0, den = 0;
  bool nan = false;
  forEachDouble(got, [&](int64_t i, double x) {
    nan = nan || std::isnan(x);
    num += (x - ref[i]) * (x - ref[i]);
    den += ref[i] * ref[i];
  });
  if (nan)
    return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// Fills free blocks of the allocator's size class of `bytes` with NaN
/// (0xFF bytes). The next allocations of that size, a kernel's result,
/// get them, so an element the kernel does not write fails the check.
void poisonFreeBlocks(size_t bytes, int count = 2) {
  std::vector<std::shared_ptr<cuda::DeviceBuffer>> held;
  for (int i = 0; i < count; ++i) {
    held.push_back(cuda::allocate(bytes));
    cuda::fillBytes(held.back()->data(), 0xFF, bytes);
  }
  cuda::synchronize();
  while (!held.empty()) // the first one filled is reused first
    held.pop_back();
}

/// What a GPU function does on the host: the transfers in its graph and
/// the steps without a GPU kernel (from the PTX's step comments).
void describePlan(const Function &f, Report &rep) {
  const std::string g = f.str();
  if (printGraphs)
    std::cerr << g << "\n";
  auto count = [](const std::string &text, const std::string &what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  };
  rep.number("to_host", count(g, "host_from_gpu("));
  rep.number("to_gpu", count(g, "gpu_from_host("));
  std::istringstream ptx(f.emit("ptx"));
  int hostSteps = 0, steps = 0;
  std::string firstHostStep;
  for (std::string line; std::getline(ptx, line);) {
    if (line.rfind("// step", 0) != 0)
      continue;
    ++steps;
    if (line.find("no GPU kernel") != std::string::npos && !hostSteps++)
      firstHostStep = line.substr(3);
  }
  rep.number("steps", steps);
  rep.number("host_steps", hostSteps);
  if (!firstHostStep.empty())
    rep.string("first_host_step", firstHostStep);
}

/// Whether the new value of a shared variable stayed in GPU memory.
void checkKeptOnDevice(const Var &v, Report &rep, const std::string &key = "kept_on_device") {
  const bool kept = v.node()->sharedStorage()->device() == "cuda" &&
                    v.node()->sharedStorage()->deviceValue() != nullptr;
  rep.number(key, kept);
  if (!kept)
    rep.fail();
}

FunctionOptions optionsFor(const std::string &device, const std::string &name) {
  FunctionOptions o;
  o.device = device;
  o.name = name;
  return o;
}

// ---- element-wise formulas and the copy -------------------------------------------------

struct Formula {
  std::string name, text;
  int inputs;
  Var (*expr)(const Var &, const Var &);
  double (*exact)(double, double);
};

const std::vector<Formula> &formulas() {
  static const std::vector<Formula> fs{
      {"f1", "a**2 + b**2 + 2*a*b", 2,
       [](const Var &a, const Var &b) { return pow(a, 2) + pow(b, 2) + 2 * a * b; },
       [](double a, double b) { return a * a + b * b + 2 * a * b; }},
      {"f2", "2*a + 3*b", 2, [](const Var &a, const Var &b) { return 2 * a + 3 * b; },
       [](double a, double b) { return 2 * a + 3 * b; }},
      {"f3", "a + 1", 1, [](const Var &a, const Var &) { return a + 1; },
       [](double a, double) { return a + 1; }},
      {"f4", "2*a + b**10", 2, [](const Var &a, const Var &b) { return 2 * a + pow(b, 10); },
       [](double a, double b) { return 2 * a + std::pow(b, 10); }},
  };
  return fs;
}

void elementwise(const Options &o, const Sizes &sz) {
  const int64_t n = sz.elements;
  const size_t bytes = (size_t)n * sizeof(float);
  std::vector<Formula> fs;
  for (const Formula &f : formulas())
    if (wanted(o, f.name, "elementwise"))
      fs.push_back(f);
  const bool copyWanted = wanted(o, "copy", "elementwise");
  if (fs.empty() && !copyWanted)
    return;

  NDArray a = uniform({n}, 0.5, 1.5, o.seed + 1), b = uniform({n}, 0.5, 1.5, o.seed + 2);
  Var A = shared(a, "a", {}, "cuda"), B = shared(b, "b", {}, "cuda");
  Var va = vector("a", DType::Float32), vb = vector("b", DType::Float32);
  const NDArray nan = NDArray::full(DType::Float32, {n}, Scalar(std::nan("")));

  struct Case {
    Formula formula;
    Var out;
    Function f;
    Report rep;
    std::unique_ptr<Variant> variant;
  };
  std::vector<std::unique_ptr<Case>> cases;
  for (const Formula &fm : fs) {
    auto c = std::make_unique<Case>();
    c->formula = fm;
    // The result: a shared variable in GPU memory, written by the update.
    c->out = shared(nan, fm.name + "_out", {}, "cuda");
    FunctionOptions opts = optionsFor("cuda", fm.name);
    opts.updates = {{c->out, fm.expr(A, B)}};
    c->f = function({}, {}, opts);
    Report &rep = c->rep;
    rep.workload = fm.name;
    rep.size = n;
    rep.label = fm.name + " " + fm.text + " (n " + std::to_string(n) + ", float32)";
    rep.string("formula", fm.text);
    rep.number("bytes", 4.0 * (fm.inputs + 1) * (double)n);
    describePlan(c->f, rep);

    // Correctness first: against the same formula on the CPU, and float64.
    c->f({});                // module load, inputs uploaded
    poisonFreeBlocks(bytes); // the result's memory holds NaN...
    c->f({});                // ...unless the kernel writes every element
    checkKeptOnDevice(c->out, rep);
    NDArray got = c->out.getValue();
    Function cpu = function({va, vb}, {fm.expr(va, vb)},
                            [&] {
                              FunctionOptions co = optionsFor("cpu", fm.name + "_cpu");
                              co.onUnusedInput = OnUnusedInput::Ignore; // a + 1
                              return co;
                            }());
    rep.check("err_vs_cpu", relErr(got, asDoubles(cpu({a, b})[0])), 1e-6);
    std::vector<double> exact(n);
    const float *pa = a.data<float>(), *pb = b.data<float>();
    for (int64_t i = 0; i < n; ++i)
      exact[i] = fm.exact(pa[i], pb[i]);
    rep.check("err_vs_f64", relErr(got, exact), 1e-5);
    c->variant = std::make_unique<Variant>("thjit", [f = c->f] { f({}); });
    rep.variants = {c->variant.get()};
    cases.push_back(std::move(c));
  }

  // The yardstick: a device-to-device copy of the same size, in the same
  // process, timed round robin with the formulas.
  cuda::DeviceArray src = cuda::DeviceArray::fromHost(a);
  cuda::DeviceArray dst = cuda::DeviceArray::empty(DType::Float32, {n});
  Variant copy("cuMemcpyDtoD", [&] { cuda::copyOnDevice(dst.data(), src.data(), bytes); });
  Report copyRep;
  copyRep.workload = "copy";
  copyRep.size = n;
  copyRep.label = "copy (cuMemcpyDtoD, n " + std::to_string(n) + ", float32)";
  copyRep.number("bytes", 2.0 * (double)bytes);
  cuda::fillBytes(dst.data(), 0xFF, bytes);
  copy.call();
  copyRep.check("err_copy", relErr(dst.toHost(), asDoubles(a)), 0);
  copyRep.variants = {&copy};

  std::vector<Variant *> timed{&copy};
  for (auto &c : cases)
    timed.push_back(c->variant.get());
  const uint64_t allocationsBefore = cuda::allocatorStats().driverAllocations;
  measure(timed, o);
  const double allocations =
      (double)(cuda::allocatorStats().driverAllocations - allocationsBefore);

  const double copyGBs = 2.0 * (double)bytes / median(copy.samples) / 1e9;
  copyRep.number("gbps", copyGBs);
  copyRep.summary = format("; %.1f GB/s (bytes read + written)", copyGBs);
  if (copyWanted)
    copyRep.print(o);
  for (auto &c : cases) {
    Report &rep = c->rep;
    const double gbs = rep["bytes"] / median(c->variant->samples) / 1e9;
    rep.number("gbps", gbs);
    rep.number("copy_gbps", copyGBs);
    rep.number("fraction_of_copy", gbs / copyGBs);
    rep.number("driver_allocations_while_timed", allocations);
    rep.summary = format("; %.1f GB/s, %.2f of the copy's; error vs CPU %.2g, vs float64 %.2g",
                         gbs, gbs / copyGBs, rep["err_vs_cpu"], rep["err_vs_f64"]);
    rep.print(o);
  }
}

// ---- matrix products ------------------------------------------------------------------

void gemm(const Options &o, const Sizes &sz) {
  const int64_t N = sz.order;
  std::vector<DType> types;
  if (wanted(o, "gemm_f32", "gemm"))
    types.push_back(DType::Float32);
  if (wanted(o, "gemm_f16", "gemm"))
    types.push_back(DType::Float16);
  if (types.empty())
    return;
  NDArray a = uniform({N, N}, -1, 1, o.seed + 11), b = uniform({N, N}, -1, 1, o.seed + 12);
  Var ma = matrix("a", DType::Float64), mb = matrix("b", DType::Float64);
  Function reference = function({ma, mb}, {dot(ma, mb)}, optionsFor("cpu", "gemm_f64_cpu"));

  struct Case {
    DType type;
    Var out;
    Function f;
    Report rep;
    std::unique_ptr<Variant> variant;
  };
  std::vector<std::unique_ptr<Case>> cases;
  for (DType t : types) {
    auto c = std::make_unique<Case>();
    const bool half = t == DType::Float16;
    const std::string name = half ? "gemm_f16" : "gemm_f32";
    NDArray at = half ? a.astype(t) : a, bt = half ? b.astype(t) : b;
    Var A = shared(at, name + "_a", {}, "cuda"), B = shared(bt, name + "_b", {}, "cuda");
    c->type = t;
    c->out = shared(NDArray::full(t, {N, N}, Scalar(std::nan(""))), name + "_c", {}, "cuda");
    FunctionOptions opts = optionsFor("cuda", name);
    opts.updates = {{c->out, dot(A, B)}};
    c->f = function({}, {}, opts);
    Report &rep = c->rep;
    rep.workload = name;
    rep.size = N;
    rep.dtype = dtypeName(t);
    rep.label = std::string("dot ") + dtypeName(t) + " " + std::to_string(N) + "^3";
    rep.number("flops", 2.0 * (double)N * (double)N * (double)N);
    describePlan(c->f, rep);

    c->f({});
    poisonFreeBlocks((size_t)(N * N) * itemSize(t));
    c->f({});
    checkKeptOnDevice(c->out, rep);
    // The reference: float64 products of the same (rounded) inputs on the CPU.
    NDArray ref = reference({at.astype(DType::Float64), bt.astype(DType::Float64)})[0];
    // float32 lands far under 1e-3; float16 output rounding alone is ~3e-4.
    rep.check("err_vs_f64", relErr(c->out.getValue(), asDoubles(ref)), half ? 2e-3 : 1e-4);
    c->variant = std::make_unique<Variant>("thjit", [f = c->f] { f({}); });
    rep.variants = {c->variant.get()};
    cases.push_back(std::move(c));
  }
  std::vector<Variant *> timed;
  for (auto &c : cases)
    timed.push_back(c->variant.get());
  measure(timed, o);
  for (auto &c : cases) {
    Report &rep = c->rep;
    const double tflops = rep["flops"] / median(c->variant->samples) / 1e12;
    rep.number("tflops", tflops);
    rep.summary = format("; %.2f TFLOP/s; error vs float64 %.2g", tflops, rep["err_vs_f64"]);
    rep.print(o);
  }
}

// ---- the MLP training step ---------------------------------------------------------------

constexpr int64_t kIn = 784, kHidden = 500, kOut = 10;
constexpr double kRate = 0.01;

struct MlpStart {
  NDArray x, y, W1, W2;
};

struct Mlp {
  Var W1, b1, W2, b2, loss;
  Function step;
};

/// The step as a user writes it: the cost, `grad`, SGD updates; the
/// minibatch, the parameters and the loss are shared variables on
/// `device`, and the function has no inputs or outputs.
Mlp buildMlp(const MlpStart &s, const std::string &device) {
  const DType t = DType::Float32;
  Mlp m;
  Var x = shared(s.x, "x", {}, device), y = shared(s.y, "y", {}, device);
  m.W1 = shared(s.W1, "W1", {}, device);
  m.b1 = shared(NDArray::zeros(t, {kHidden}), "b1", {}, device);
  m.W2 = shared(s.W2, "W2", {}, device);
  m.b2 = shared(NDArray::zeros(t, {kOut}), "b2", {}, device);
  m.loss = shared(NDArray::full(t, {}, Scalar(std::nan(""))), "loss", {}, device);
  Var h = tanh(dot(x, m.W1) + m.b1);
  Var z = dot(h, m.W2) + m.b2;
  Var cost = -mean(sum(y * logSoftmax(z), 1));
  std::vector<Var> params{m.W1, m.b1, m.W2, m.b2};
  std::vector<Var> g = grad(cost, params);
  Var rate = constant(NDArray::scalar(Scalar(kRate)).astype(t));
  FunctionOptions fo = optionsFor(device, "mlp_step_" + device);
  for (size_t k = 0; k < params.size(); ++k)
    fo.updates.push_back({params[k], params[k] - rate * g[k]});
  fo.updates.push_back({m.loss, cost});
  m.step = function({}, {}, fo);
  return m;
}

void mlp(const Options &o, const Sizes &sz) {
  if (!wanted(o, "mlp", "mlp"))
    return;
  for (int64_t batch : sz.batches) {
    const DType t = DType::Float32;
    MlpStart s;
    s.x = uniform({batch, kIn}, 0, 1, o.seed + 41);
    s.y = NDArray::zeros(t, {batch, kOut});
    for (int64_t i = 0; i < batch; ++i)
      s.y.data<float>()[i * kOut + (i * 7919) % kOut] = 1;
    // Glorot-uniform weights, zero biases (the Theano tutorial's MLP).
    const double r1 = std::sqrt(6.0 / (kIn + kHidden)), r2 = std::sqrt(6.0 / (kHidden + kOut));
    s.W1 = uniform({kIn, kHidden}, -r1, r1, o.seed + 42);
    s.W2 = uniform({kHidden, kOut}, -r2, r2, o.seed + 43);

    Mlp gpu = buildMlp(s, "cuda"), cpu = buildMlp(s, "cpu");
    Report rep;
    rep.workload = "mlp";
    rep.size = batch;
    rep.label = "MLP 784-500-10 SGD step, float32, minibatch " + std::to_string(batch);
    rep.number("examples", (double)batch);
    rep.number("flops", 2.0 * (double)batch * (2.0 * kIn * kHidden + 3.0 * kHidden * kOut));
    describePlan(gpu.step, rep);

    // Three steps from the same start on both: the same losses, the same
    // change of W1.
    double worstLoss = 0;
    std::string losses;
    for (int k = 0; k < 3; ++k) {
      gpu.step({});
      cpu.step({});
      const double lg = gpu.loss.getValue().item().toDouble();
      const double lc = cpu.loss.getValue().item().toDouble();
      const double d = std::abs(lg - lc) / std::max(1e-30, std::abs(lc));
      worstLoss = std::isnan(d) ? INFINITY : std::max(worstLoss, d);
      losses += (k ? " " : "") + format("%.6g", lg);
    }
    checkKeptOnDevice(gpu.W1, rep, "W1_kept_on_device");
    checkKeptOnDevice(gpu.loss, rep, "loss_kept_on_device");
    rep.check("err_loss_vs_cpu", worstLoss, 1e-4);
    std::vector<double> w0 = asDoubles(s.W1), wc = asDoubles(cpu.W1.getValue());
    NDArray wg = gpu.W1.getValue().copy();
    std::vector<double> changeCpu(w0.size());
    for (size_t i = 0; i < w0.size(); ++i)
      changeCpu[i] = wc[i] - w0[i];
    // The GPU's change of W1, as float32 (poisoned NaN would show).
    NDArray changeGpu = NDArray::empty(t, {kIn, kHidden});
    forEachDouble(wg, [&](int64_t i, double w) { changeGpu.data<float>()[i] = float(w - w0[i]); });
    rep.check("err_dW1_vs_cpu", relErr(changeGpu, changeCpu), 1e-3);
    rep.string("losses", losses);

    Variant step("thjit", [f = gpu.step] { f({}); });
    rep.variants = {&step};
    measure({&step}, o);
    const double sec = median(step.samples);
    rep.number("examples_per_s", (double)batch / sec);
    rep.number("tflops", rep["flops"] / sec / 1e12);
    rep.summary = format("; %.4g examples/s; error vs CPU: loss %.2g, change of W1 %.2g",
                         (double)batch / sec, rep["err_loss_vs_cpu"], rep["err_dW1_vs_cpu"]);
    rep.print(o);
  }
}

// ---- main ------------------------------------------------------------------------------

void printDevice(const Options &o, bool emulated) {
  const cuda::DeviceInfo &d = cuda::currentDevice();
  if (!o.json) {
    std::cout << "thjit gpu_bench (" << THJIT_BENCH_BUILD_TYPE << ", LLVM "
              << THJIT_BENCH_LLVM_VERSION << "), sizes " << o.sizes << ", seed " << o.seed
              << (emulated ? ", EMULATED device (timings mean nothing)" : "") << "\n"
              << cuda::devicesReport() << std::flush;
    return;
  }
  std::cout << "{\"workload\": \"device\", \"name\": " << jsonString(d.name)
            << ", \"arch\": " << jsonString(d.arch())
            << ", \"multiprocessors\": " << d.multiprocessors
            << ", \"memory\": " << d.totalMemory
            << ", \"driver_version\": " << cuda::driverVersion()
            << ", \"report\": " << jsonString(cuda::devicesReport())
            << ", \"emulated\": " << (emulated ? "true" : "false")
            << ", \"sizes\": " << jsonString(o.sizes) << ", \"reps\": " << o.reps
            << ", \"min_ms\": " << o.minSec * 1e3 << ", \"warmup\": " << o.warmup
            << ", \"seed\": " << o.seed
            << ", \"build_type\": " << jsonString(THJIT_BENCH_BUILD_TYPE)
            << ", \"llvm\": " << jsonString(THJIT_BENCH_LLVM_VERSION) << "}\n"
            << std::flush;
}

int usage(const char *msg) {
  if (msg)
    std::cerr << "gpu_bench: " << msg << "\n";
  std::cerr << "usage: gpu_bench [--sizes full|small] [--only W[,W...]] [--reps R]\n"
               "                 [--min-ms M] [--warmup K] [--seed S] [--json] [--graphs]\n"
               "  W: copy f1 f2 f3 f4 gemm_f32 gemm_f16 mlp, or the groups\n"
               "     elementwise (copy f1 f2 f3 f4), gemm, mlp\n";
  return 2;
}

} // namespace gbench

int main(int argc, char **argv) {
  using namespace gbench;
  Options o;
  bool seedGiven = false, repsGiven = false, minGiven = false, warmupGiven = false;
  static const std::set<std::string> known{"copy", "f1", "f2", "f3", "f4", "gemm_f32",
                                           "gemm_f16", "mlp", "elementwise", "gemm"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage(("missing value after " + arg).c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--sizes") {
      o.sizes = next();
      if (o.sizes != "full" && o.sizes != "small")
        return usage("--sizes is full or small");
    } else if (arg == "--only") {
      std::stringstream list(next());
      for (std::string w; std::getline(list, w, ',');) {
        if (!known.count(w))
          return usage(("unknown workload " + w).c_str());
        o.only.insert(w);
      }
    } else if (arg == "--reps") {
      o.reps = std::max(1, std::atoi(next().c_str()));
      repsGiven = true;
    } else if (arg == "--min-ms") {
      o.minSec = std::max(0.0, std::atof(next().c_str())) / 1e3;
      minGiven = true;
    } else if (arg == "--warmup") {
      o.warmup = std::max(0, std::atoi(next().c_str()));
      warmupGiven = true;
    } else if (arg == "--seed") {
      o.seed = std::strtoull(next().c_str(), nullptr, 10);
      seedGiven = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--graphs") {
      o.graphs = printGraphs = true;
    } else if (arg == "-h" || arg == "--help") {
      usage(nullptr);
      return 0;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }
  if (o.sizes == "small") { // one timed call: a smoke run, or the emulator
    if (!repsGiven)
      o.reps = 1;
    if (!minGiven)
      o.minSec = 0;
    if (!warmupGiven)
      o.warmup = 1;
  }
  if (!seedGiven) { // fresh inputs every run
    std::random_device rd;
    o.seed = ((uint64_t)rd() << 20 ^ rd()) % 1000000000 + 1;
  }
  bool emulated = false;
#ifdef THJIT_GPU_BENCH_EMULATED
  emulated = thjit::test::gpuEmulated(); // before anything is compiled
#endif
  if (!cuda::available()) {
    std::cerr << "gpu_bench: no CUDA device: " << cuda::whyUnavailable() << "\n";
    return 3;
  }
  try {
    printDevice(o, emulated);
    const Sizes sz = sizesFor(o.sizes);
    elementwise(o, sz);
    gemm(o, sz);
    mlp(o, sz);
  } catch (const std::exception &e) {
    std::cerr << "gpu_bench: " << e.what() << "\n";
    return 1;
  }
  if (!allChecksPassed) {
    std::cerr << "gpu_bench: a correctness check failed (see \"ok\": false above)\n";
    return 1;
  }
  return 0;
}
