//===- PTXTest.cpp - NVPTX kernels of element-wise steps, checked by ptxas ===//
//
// The first part of the GPU back end (thjit/CodeGen/GPU.h), tested without
// a GPU: graphs of every kind of element-wise step (broadcasting,
// transcendentals, several results, every real dtype, casts) go through
// function()'s passes, their PTX is generated for sm_80 and sm_90, checked
// for the kernels and parameters GPU.h promises, and assembled by NVIDIA's
// ptxas where it is installed ($THJIT_PTXAS, else
// /usr/local/cuda/bin/ptxas). Without ptxas those checks are skipped with a
// warning; nothing here runs a kernel.
//
//===----------------------------------------------------------------------===//
#include "PTXTestUtil.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/CodeGen/Transfer.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

using namespace thjit;
using namespace thjit::codegen;

namespace {

using test::paramCount;
using test::ptxasPath;
const std::vector<std::string> &kArchs = test::kPTXArchs;

/// Assembles `ptx` for `arch` with ptxas: its messages, empty on success.
std::string ptxasErrors(const std::string &ptxas, const std::string &ptx,
                        const std::string &arch) {
  auto [status, messages] = test::runPtxas(ptxas, ptx, arch);
  if (status != 0 && messages.empty())
    messages = "ptxas failed (status " + std::to_string(status) + ")";
  return status == 0 ? "" : messages;
}

/// The text of kernel `name` in `ptx`, from its entry to the next one.
std::string kernelBody(const std::string &ptx, const std::string &name) {
  size_t at = ptx.find(".visible .entry " + name + "(");
  if (at == std::string::npos)
    return "";
  size_t end = ptx.find(".visible .entry ", at + 1);
  return ptx.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

/// What GPU.h promises of every module: the header, each kernel an entry
/// with its ABI's parameters, global loads, a grid-stride loop; and that
/// ptxas assembles it.
void checkModule(const PTXModule &m, const std::string &arch) {
  INFO(m.ptx);
  CHECK(m.arch == arch);
  CHECK(m.ptx.find(".version 8.5") != std::string::npos);
  CHECK(m.ptx.find(".target " + arch + "\n") != std::string::npos);
  CHECK(m.ptx.find(".address_size 64") != std::string::npos);
  // Everything is linked in: nothing is left for a loader to resolve.
  CHECK(m.ptx.find(".extern") == std::string::npos);
  for (const GPUKernel &k : m.kernels) {
    INFO("kernel " << k.name);
    int expected = -1;
    switch (k.kind) {
    case GPUKernelKind::Elemwise:
      expected = k.numOperands + k.numResults + 2; // + status, n
      if (!k.contiguous) // sizes, dividers, each operand's strides
        expected += (2 + k.numOperands) * k.ndim;
      CHECK(k.blockSize == 0);
      CHECK(k.reducePart == GPUReducePart::None);
      break;
    case GPUKernelKind::Reduce:
      CHECK(k.blockSize == 256);
      CHECK(k.numResults == 1);
      CHECK(k.reducePart != GPUReducePart::None);
      if (k.reducePart == GPUReducePart::Finish) {
        expected = 5; // out, scratch, G, M, P
        CHECK(k.name.size() > 7);
        CHECK(k.name.substr(k.name.size() - 7) == "_finish");
      } else {
        // operands, out, scratch, status, G, P, x's shape, strides
        expected = k.numOperands + 5 + k.ndim;
        for (int nd : k.operandNdims)
          expected += nd;
        CHECK(k.name.find(k.reducePart == GPUReducePart::Rows ? "_rows" : "_cols") !=
              std::string::npos);
        CHECK((int)k.operandNdims.size() == k.numOperands);
      }
      break;
    case GPUKernelKind::Softmax:
      CHECK(k.blockSize == 256);
      CHECK(k.numOperands == 1);
      expected = 3 + 2 * k.ndim; // x, out, G, shape, strides
      break;
    case GPUKernelKind::Gemm: // GemmPTXTest's
      expected = paramCount(m.ptx, k.name);
      break;
    case GPUKernelKind::Copy: // src, (rows,) dst, n, sizes, dividers, strides
      expected = k.numOperands + 2 + 4 * k.ndim;
      break;
    case GPUKernelKind::Sum: // partials, c, n, S, alpha, beta
      expected = 6;
      break;
    }
    CHECK(k.sharedBytes == 0);
    CHECK(paramCount(m.ptx, k.name) == expected);
    if (k.step >= 0) // (the runtime's kernels are of no step)
      CHECK(m.ptx.find("// step " + std::to_string(k.step) + ": ") != std::string::npos);
    else
      CHECK(m.ptx.find("// step ") == std::string::npos);
    if (k.kind == GPUKernelKind::Reduce || k.kind == GPUKernelKind::Softmax) {
      // A block stage: a barrier, and static shared memory of its own.
      std::string body = kernelBody(m.ptx, k.name);
      CHECK(body.find("bar.sync") != std::string::npos);
      CHECK(body.find(".shared .align 8 .b8 " + k.name + "_") != std::string::npos);
      bool warpStage = k.reducePart != GPUReducePart::Columns;
      CHECK((body.find("shfl.sync.bfly.b32") != std::string::npos) == warpStage);
    }
  }
  if (!m.kernels.empty()) {
    CHECK(m.ptx.find("ld.global") != std::string::npos);
    CHECK(m.ptx.find("%nctaid.x") != std::string::npos); // the grid stride
  }
  std::string ptxas = ptxasPath();
  if (ptxas.empty()) {
    WARN("ptxas not found (set THJIT_PTXAS): PTX for " << arch
                                                       << " not assembled");
    return;
  }
  std::string errors = ptxasErrors(ptxas, m.ptx, arch);
  INFO("ptxas -arch=" << arch << ":\n" << errors);
  CHECK(errors.empty());
}

/// The PTX of a compiled function's graph for each arch, checked.
std::vector<PTXModule> ptxOf(const Function &f) {
  std::vector<PTXModule> mods;
  for (const std::string &arch : kArchs) {
    mods.push_back(compileForPTX(f.graph(), arch));
    checkModule(mods.back(), arch);
  }
  return mods;
}

Function compile(std::vector<Var> in, std::vector<Var> out,
                 const std::string &mode = "FAST_RUN") {
  FunctionOptions o;
  o.mode = mode;
  o.onUnusedInput = OnUnusedInput::Ignore;
  return function(std::move(in), std::move(out), o);
}

bool libdeviceFound() { return access(libdevicePath().c_str(), R_OK) == 0; }

/// Sets an environment variable for a scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name(name) {
    if (const char *old = std::getenv(name))
      saved = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (saved)
      setenv(name, saved->c_str(), 1);
    else
      unsetenv(name);
  }

private:
  const char *name;
  std::optional<std::string> saved;
};

} // namespace

TEST_CASE("GPU architectures are checked against LLVM", "[ptx]") {
  std::vector<std::string> archs = supportedGPUArchs();
  for (const char *a : {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"})
    CHECK(std::find(archs.begin(), archs.end(), a) != archs.end());
  CHECK_NOTHROW(checkGPUArch("sm_90"));
  for (const char *bad : {"sm_100", "sm80", "", "compute_80", "sm_80 ", "SM_80"})
    CHECK_THROWS_AS(checkGPUArch(bad), ValueError);
  CHECK_THROWS_WITH(checkGPUArch("sm_100"),
                    Catch::Contains("unknown GPU architecture 'sm_100'") &&
                        Catch::Contains("sm_90a"));

  CHECK(gpuArch() == kDefaultGPUArch);
  setGPUArch("sm_90");
  CHECK(gpuArch() == "sm_90");
  CHECK_THROWS_AS(setGPUArch("sm_99"), ValueError);
  CHECK(gpuArch() == "sm_90"); // unchanged by a refused one
  // Function::emit("ptx") targets the process-wide architecture.
  Var x = vector("x", DType::Float64);
  Function f = compile({x}, {x * 2.0});
  CHECK(f.emit("ptx").find(".target sm_90\n") != std::string::npos);
  setGPUArch(kDefaultGPUArch);
  CHECK(f.emit("ptx").find(".target sm_80\n") != std::string::npos);
  CHECK_THROWS_AS(compileForPTX(f.graph(), "sm_1"), ValueError);
}

TEST_CASE("PTX of binary arithmetic with broadcasting", "[ptx]") {
  Var x = matrix("x", DType::Float32);
  Var b = vector("b", DType::Float32);
  Var r = row("r", DType::Float64);
  Var s = scalar("s", DType::Float64);
  SECTION("a vector along the rows: strided only") {
    for (const PTXModule &m : ptxOf(compile({x, b}, {x * b + 1}))) {
      REQUIRE(m.kernels.size() == 1);
      CHECK_FALSE(m.kernels[0].contiguous);
      CHECK(m.kernels[0].ndim == 2);
      CHECK(m.kernels[0].operandNdims[1] == 1);
      CHECK(m.hostSteps.empty());
    }
  }
  SECTION("a scalar everywhere and a row: both kernels where they apply") {
    Var y = matrix("y", DType::Float64);
    for (const PTXModule &m : ptxOf(compile({y, s, r}, {y - s, y / r}, "FAST_COMPILE"))) {
      int contiguous = 0, strided = 0;
      for (const GPUKernel &k : m.kernels)
        (k.contiguous ? contiguous : strided)++;
      CHECK(contiguous == 1); // y - s: s is one element
      CHECK(strided == 2);    // y / r: r is broadcast along dim 0 only
    }
  }
}

TEST_CASE("PTX of a transcendental-heavy composite", "[ptx]") {
  for (DType t : {DType::Float32, DType::Float64}) {
    Var x = matrix("x", t);
    Var y = matrix("y", t);
    Var e = tanh(exp(x) + log(y)) * sigmoid(x) + pow(x, y) + erf(y) +
            softplus(x) - log1p(y) * expm1(x) + arctan2(x, y) + cosh(y) +
            pow(x, 1.7) + mod(x, y);
    Function f = compile({x, y}, {e});
    for (const PTXModule &m : ptxOf(f)) {
      INFO(m.ptx);
      if (!libdeviceFound()) {
        WARN("libdevice not found at " << libdevicePath() << ": no kernel expected");
        CHECK(m.kernels.empty());
        REQUIRE(m.hostSteps.size() == 1);
        CHECK_THAT(m.hostSteps[0].second, Catch::Contains("needs libdevice"));
        continue;
      }
      CHECK(m.ptx.find("libdevice linked") != std::string::npos);
      REQUIRE(m.kernels.size() == 2); // one composite: contiguous, strided
      CHECK(m.hostSteps.empty());
      CHECK(m.ptx.find("__nv_") == std::string::npos); // all inlined
    }
  }
}

TEST_CASE("PTX of a composite with several results", "[ptx]") {
  Var d = matrix("d", DType::Float64);
  Var i = matrix("i", DType::Int32);
  Function f = compile({d, i}, {exp(d) + 1, exp(d) * i, mod(d, 3.5), d > i});
  for (const PTXModule &m : ptxOf(f)) {
    int most = 0;
    for (const GPUKernel &k : m.kernels)
      most = std::max(most, k.numResults);
    CHECK(most >= 3);
  }
}

TEST_CASE("PTX of integer float16 and bool arithmetic and casts", "[ptx]") {
  Var i = vector("i", DType::Int32);
  Var l = vector("l", DType::Int64);
  Var u = vector("u", DType::UInt8);
  Var c = vector("c", DType::Int8);
  Var h = vector("h", DType::Float16);
  Var x = vector("x", DType::Float32);
  std::vector<Var> outs{floorDiv(i, l),
                        mod(i, l),
                        pow(i, l), // may fail: sets the status word
                        bitwiseXor(u, c),
                        u + c,
                        abs(c),
                        maximum(i, u),
                        logicalAnd(i, h),
                        cast(i, DType::Float16),
                        cast(x, DType::Int8), // saturating, NaN to 0
                        cast(h, DType::Bool),
                        cast(l, DType::UInt64),
                        h * 2 + 1,
                        exp(h),
                        where(h > 0, h, -h),
                        trueDiv(i, u)};
  for (const char *mode : {"FAST_RUN", "FAST_COMPILE"}) {
    INFO(mode);
    for (const PTXModule &m : ptxOf(compile({i, l, u, c, h, x}, outs, mode))) {
      CHECK(!m.kernels.empty());
      if (libdeviceFound())
        CHECK(m.hostSteps.empty());
    }
  }
}

// Every element-wise op on every real dtype that takes it, each its own
// step (FAST_COMPILE, for sm_80) and all fused (FAST_RUN, for sm_90): the
// scalar emitter and the GPU back end must agree on what is lowered. (One
// arch each: ptxas takes most of the time here.)
TEST_CASE("PTX of every element-wise op on every dtype", "[ptx]") {
  const std::vector<DType> dtypes{
      DType::Bool,   DType::Int8,   DType::UInt8,   DType::Int16,
      DType::UInt16, DType::Int32,  DType::UInt32,  DType::Int64,
      DType::UInt64, DType::Float16, DType::Float32, DType::Float64};
  for (DType t : dtypes) {
    INFO("dtype " << dtypeName(t));
    Var a = matrix("a", t), b = row("b", t), c = vector("c", t);
    const std::vector<Var> operands{a, b, c};
    std::vector<Var> outs;
    for (int k = 0; k < kNumOpKinds; ++k) {
      OpKind kind = (OpKind)k;
      if (opFamily(kind) != OpFamily::Elemwise || kind == OpKind::Composite ||
          kind == OpKind::Cast)
        continue;
      for (int arity = 1; arity <= 3; ++arity) {
        try {
          outs.push_back(elemwise(kind, std::vector<Operand>(
                                            operands.begin(), operands.begin() + arity)));
          break;
        } catch (const Error &) { // not this arity, or not this dtype
        }
      }
    }
    for (DType to : dtypes)
      outs.push_back(cast(a, to));
    REQUIRE(outs.size() > dtypes.size());
    for (auto [mode, arch] : {std::pair<const char *, const char *>{"FAST_COMPILE", "sm_80"},
                              {"FAST_RUN", "sm_90"}}) {
      INFO(mode);
      Function f = compile({a, b, c}, outs, mode);
      PTXModule m = compileForPTX(f.graph(), arch);
      checkModule(m, arch);
      if (!libdeviceFound())
        continue;
      // Every element-wise step has kernels.
      for (auto &[step, why] : m.hostSteps) {
        INFO("step " << step << ": " << why);
        CHECK(why.find("no GPU kernel:") == std::string::npos);
      }
    }
  }
}

TEST_CASE("PTX lists the steps it has no kernel for", "[ptx]") {
  Var x = matrix("x", DType::Float64);
  Var y = vector("y", DType::Float64);
  Var c = matrix("c", DType::Complex128); // reduced by the reference kernel
  Function f = compile({x, y, c}, {sum(c), dot(x, y) + 1, transpose(x) * 2.0});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    CHECK(m.ptx.find("= sum(c) -- no GPU kernel yet, runs on the host") !=
          std::string::npos);
    CHECK(m.ptx.find("a view: no kernel") != std::string::npos);
    CHECK(m.kernels.size() >= 2);
    CHECK(m.hostSteps.size() >= 2);
  }
}

TEST_CASE("Steps that compute the same thing share PTX kernels", "[ptx]") {
  Var x = vector("x", DType::Float64);
  Var y = vector("y", DType::Float64);
  for (const PTXModule &m : ptxOf(compile({x, y}, {x * 0.5, y * 0.25}))) {
    REQUIRE(m.sharedKernels.size() == 1);
    CHECK(m.kernels.size() == 2); // the first step's two
    CHECK(m.ptx.find("-- the kernels of step " +
                     std::to_string(m.sharedKernels[0].second)) != std::string::npos);
  }
}

TEST_CASE("Without libdevice the steps that need it have no kernel", "[ptx]") {
  ScopedEnv env("THJIT_LIBDEVICE", "/nonexistent/libdevice.10.bc");
  Var x = vector("x", DType::Float32);
  Var y = vector("y", DType::Float32);
  Function f = compile({x, y}, {exp(x), y + 1});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    REQUIRE(m.hostSteps.size() == 1);
    CHECK_THAT(m.hostSteps[0].second,
               Catch::Contains("needs libdevice for expf") &&
                   Catch::Contains("/nonexistent/libdevice.10.bc"));
    CHECK(m.kernels.size() == 2); // y + 1's
    for (const GPUKernel &k : m.kernels)
      CHECK(k.step != m.hostSteps[0].first);
  }
}

// ---- reductions and softmax ---------------------------------------------------

namespace {

/// The kernels of step s.
std::vector<GPUKernel> kernelsOf(const PTXModule &m, int s) {
  std::vector<GPUKernel> r;
  for (const GPUKernel &k : m.kernels)
    if (k.step == s)
      r.push_back(k);
  return r;
}

/// Every Reduce step in m has its main kernel for memory in the order of
/// its axes, maybe the other one (then `_rows` and `_cols` both), then
/// `_finish`, named after one base; and no step is left without a kernel
/// for want of a lowering. The number of steps with Reduce kernels.
int checkReduceKernels(const PTXModule &m) {
  INFO(m.ptx);
  std::set<int> steps;
  for (const GPUKernel &k : m.kernels)
    if (k.kind == GPUKernelKind::Reduce)
      steps.insert(k.step);
  for (int s : steps) {
    std::vector<GPUKernel> ks = kernelsOf(m, s);
    REQUIRE((ks.size() == 2 || ks.size() == 3));
    const GPUKernel &finish = ks.back();
    REQUIRE(finish.reducePart == GPUReducePart::Finish);
    const std::string base = finish.name.substr(0, finish.name.size() - 7);
    for (size_t i = 0; i + 1 < ks.size(); ++i) {
      const bool rows = ks[i].reducePart == GPUReducePart::Rows;
      CHECK((rows || ks[i].reducePart == GPUReducePart::Columns));
      CHECK(ks[i].name == base + (rows ? "_rows" : "_cols"));
    }
    if (ks.size() == 3)
      CHECK(ks[0].reducePart != ks[1].reducePart);
  }
  for (auto &[step, why] : m.hostSteps) {
    INFO("step " << step << ": " << why);
    CHECK(why.find("no GPU kernel") == std::string::npos);
  }
  return (int)steps.size();
}

/// The parts of m's main Reduce kernels, in order.
std::vector<GPUReducePart> mainParts(const PTXModule &m) {
  std::vector<GPUReducePart> parts;
  for (const GPUKernel &k : m.kernels)
    if (k.kind == GPUKernelKind::Reduce && k.reducePart != GPUReducePart::Finish)
      parts.push_back(k.reducePart);
  return parts;
}

} // namespace

// Every reduction on every dtype the GPU reduces (complex ones run on the
// host), over every pattern of axes of a 3-d tensor: the last
// axis (rows), the first and the middle (columns), two axes, all of them,
// none, with keepdims. One module per dtype, for sm_80 and sm_90 in turn
// (ptxas and the CPU compile take most of the time here).
TEST_CASE("PTX of every reduction on every dtype and axes", "[ptx][reduce]") {
  const std::vector<DType> dtypes{DType::Bool,   DType::Int8,   DType::UInt8,
                                  DType::Int16,  DType::UInt16, DType::Int32,
                                  DType::UInt32, DType::Int64,  DType::UInt64,
                                  DType::Float16, DType::Float32, DType::Float64};
  using Reducer = Var (*)(const Var &, const Axes &, bool);
  const std::vector<Reducer> reducers{sum, prod, max, min, all, any};
  const std::vector<Axes> patterns{Axes(), Axes(2),       Axes(0),     Axes(1),
                                   Axes({0, 2}), Axes({1, 2}), Axes({0, 1}),
                                   Axes(std::vector<int>{})};
  for (DType t : dtypes) {
    INFO("dtype " << dtypeName(t));
    Var x = tensor3("x", t);
    std::vector<Var> outs;
    for (Reducer r : reducers)
      for (const Axes &a : patterns)
        outs.push_back(r(x, a, false));
    outs.push_back(sum(x, Axes(1), true));
    outs.push_back(max(x, Axes({0, 2}), true));
    for (auto arg : {argmax, argmin}) {
      outs.push_back(arg(x, std::nullopt, false)); // the flat index
      for (int axis : {0, 1, 2})
        outs.push_back(arg(x, axis, false));
      outs.push_back(arg(x, 1, true));
    }
    // FAST_COMPILE: one step per output, none rewritten away.
    Function f = compile({x}, outs, "FAST_COMPILE");
    const std::string &arch = kArchs[(size_t)t % kArchs.size()];
    PTXModule m = compileForPTX(f.graph(), arch);
    checkModule(m, arch);
    {
      int steps = checkReduceKernels(m);
      CHECK(steps + (int)m.sharedKernels.size() >= 40);
      for (const GPUKernel &k : m.kernels) {
        if (k.kind == GPUKernelKind::Reduce && k.reducePart != GPUReducePart::Finish) {
          CHECK(k.ndim == 3);
          CHECK(k.numOperands == 1);
        }
      }
    }
  }
}

// Which kernel does the work follows the last axis: reduced, the G threads
// of an output are adjacent lanes (_rows, warp shuffles); kept, adjacent
// lanes work on adjacent outputs (_cols), so that loads coalesce.
TEST_CASE("PTX reductions: rows or columns by the last axis", "[ptx][reduce]") {
  Var x = matrix("x", DType::Float32);
  Var y = tensor3("y", DType::Float64);
  const std::vector<std::pair<Var, GPUReducePart>> cases{
      {sum(x), GPUReducePart::Rows},
      {sum(x, 1), GPUReducePart::Rows},
      {max(x, 0), GPUReducePart::Columns},
      {argmax(x, 0), GPUReducePart::Columns},
      {argmin(x, std::nullopt), GPUReducePart::Rows},
      {prod(y, 1), GPUReducePart::Columns},
      {min(y, Axes({1, 2})), GPUReducePart::Rows},
      {any(y, Axes({0, 1})), GPUReducePart::Columns},
  };
  for (const auto &[out, part] : cases) {
    Function f = compile({x, y}, {out});
    for (const PTXModule &m : ptxOf(f)) {
      INFO(m.ptx);
      checkReduceKernels(m);
      REQUIRE(m.kernels.size() == 2);
      CHECK(m.kernels[0].kind == GPUKernelKind::Reduce);
      CHECK(m.kernels[0].reducePart == part);
      CHECK(m.kernels[1].reducePart == GPUReducePart::Finish);
      CHECK(m.hostSteps.empty());
    }
  }
}

// A reduction reading a view whose memory may be in another order than its
// axes (a dimshuffle that reorders them made it) gets the other main
// kernel too, for the launcher to pick by the strides: the one of its
// axes first. Views that keep the order, and values the runtime makes
// (kernels' results, uploads, also of host views), get only that one.
TEST_CASE("PTX reductions of transposed views have both main kernels", "[ptx][reduce]") {
  using Part = GPUReducePart;
  const Part Rows = Part::Rows, Cols = Part::Columns;
  Var x = matrix("x", DType::Float32), z = matrix("z", DType::Float32);
  Var y = tensor3("y", DType::Float64);
  Var xt = transpose(x);
  const std::vector<std::pair<Var, std::vector<Part>>> cases{
      {sum(xt, 1), {Rows, Cols}},
      {max(xt, 0), {Cols, Rows}},
      {argmin(xt, 0), {Cols, Rows}},
      {sum(xt * z, 1), {Rows, Cols}}, // fused: one operand reordered
      {min(transpose(y, {2, 0, 1}), 0), {Cols, Rows}},
      {sum(xt), {Rows}},                              // no kept axis
      {sum(exp(xt) * z, 1), {Rows}},                  // exp's result: a kernel's
      {sum(dimshuffle(y, {0, -1, 1, 2}), 3), {Rows}}, // the order kept
      {prod(y, 1), {Cols}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    // FAST_COMPILE: the reduction is not rewritten into another.
    Function f = compile({x, y, z}, {cases[i].first}, "FAST_COMPILE");
    for (const PTXModule &m : ptxOf(f)) {
      INFO(m.ptx);
      CHECK(checkReduceKernels(m) == 1);
      CHECK(mainParts(m) == cases[i].second);
    }
  }
  // Steps that differ only in that one reads a transposed view share no
  // kernels.
  Function f = compile({x, z}, {sum(xt, 1), sum(z, 1)});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    CHECK(checkReduceKernels(m) == 2);
    CHECK(m.sharedKernels.empty());
  }
}

// In a graph transferred to the GPU, a transpose of a function's input is
// made where the input is: on the host, then uploaded row-major, unless the
// input was uploaded for an earlier use; views of a transposed view on the
// GPU (a slice) are in its order.
TEST_CASE("PTX reductions of inputs transposed on the host or on the GPU", "[ptx][reduce]") {
  Var x = matrix("x", DType::Float32);
  Var xt = transpose(x);
  const std::vector<std::pair<std::vector<Var>, size_t>> cases{
      {{sum(xt, 1)}, 1},
      {{x * 2.0f, sum(xt, 1)}, 2},
      {{x * 2.0f, sum(subtensor(xt, {Index::slice(1, {}, {})}), 1)}, 2},
      {{sum(transpose(x * 2.0f), 1)}, 2}, // of a kernel's result
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    Function f = compile({x}, cases[i].first);
    PTXModule m = compileForPTX(transferToGPU(f.graph()), "sm_90");
    checkModule(m, "sm_90");
    CHECK(checkReduceKernels(m) == 1);
    CHECK(mainParts(m).size() == cases[i].second);
  }
}

// An element-wise producer fused into the reduction is computed per
// element in the reduction kernel, as on the CPU: its operands are the
// kernel's, broadcasting included, and its failures set the status word.
TEST_CASE("PTX reductions with a fused producer", "[ptx][reduce]") {
  for (DType t : {DType::Float32, DType::Float64}) {
    INFO("dtype " << dtypeName(t));
    Var x = matrix("x", t);
    Var b = vector("b", t);
    Var z = tensor3("z", t);
    Var i = tensor3("i", DType::Int32);
    Var n = tensor3("n", DType::Int64);
    std::vector<Var> outs{sum(exp(x)),
                          sum(exp(-x), 1),
                          max(x * b + 1, 0),
                          argmax(abs(x) - b, 1),
                          argmin(x * x, std::nullopt),
                          prod(z + 1, Axes({0, 2})),
                          min(sqrt(abs(z)), 1),
                          all(z > 0, Axes({1, 2})),
                          any(eq(i, 3), 1),
                          sum(pow(i, n), Axes({0, 1}))}; // may fail
    Function f = compile({x, b, z, i, n}, outs);
    for (const PTXModule &m : ptxOf(f)) {
      INFO(m.ptx);
      if (!libdeviceFound()) {
        WARN("libdevice not found: steps calling exp or sqrt have no kernel");
        continue;
      }
      CHECK(checkReduceKernels(m) == (int)outs.size());
      CHECK(m.hostSteps.empty());
      int fused = 0;
      for (size_t p = m.ptx.find(" into "); p != std::string::npos;
           p = m.ptx.find(" into ", p + 1))
        ++fused;
      CHECK(fused == (int)outs.size());
      // sum(exp(x)): exp from libdevice, inlined.
      CHECK(m.ptx.find("__nv_") == std::string::npos);
      // max(x * b + 1, 0): b is broadcast along x's rows.
      bool broadcast = false;
      for (const GPUKernel &k : m.kernels)
        broadcast = broadcast || (k.reducePart == GPUReducePart::Columns &&
                                  k.operandNdims.size() >= 2 &&
                                  k.operandNdims[0] == 2 && k.operandNdims[1] == 1);
      CHECK(broadcast);
    }
  }
}

TEST_CASE("PTX reductions of a 0-d value and of vectors", "[ptx][reduce]") {
  Var s = scalar("s", DType::Float64);
  Var v = vector("v", DType::Int16);
  Var u = vector("u", DType::UInt8);
  Function f = compile({s, v, u}, {sum(s), prod(s), all(s), sum(v), max(v),
                                   argmax(v, std::nullopt), argmin(u, 0), any(u)},
                       "FAST_COMPILE");
  for (const PTXModule &m : ptxOf(f)) {
    CHECK(checkReduceKernels(m) >= 6);
    CHECK(m.hostSteps.empty());
  }
}

TEST_CASE("Reductions that compute the same thing share PTX kernels", "[ptx][reduce]") {
  Var x = matrix("x", DType::Float32);
  Var y = matrix("y", DType::Float32);
  Var z = matrix("z", DType::Float64);
  Function f = compile({x, y, z}, {sum(x, 0), sum(y, 0), sum(z, 0), sum(x, 1)});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    REQUIRE(m.sharedKernels.size() == 1); // sum(y, 0) uses sum(x, 0)'s
    CHECK(m.kernels.size() == 6);
    CHECK(m.ptx.find("-- the kernels of step " +
                     std::to_string(m.sharedKernels[0].second)) != std::string::npos);
  }
}

// softmax and log_softmax over the last axis: one kernel, G threads per
// row, in double as the reference kernel; for matrices and higher ranks,
// of floats and of integers (whose result is a float).
TEST_CASE("PTX of softmax and log_softmax", "[ptx][softmax]") {
  for (DType t : {DType::Float32, DType::Float64, DType::Int32}) {
    INFO("dtype " << dtypeName(t));
    Var x = matrix("x", t);
    Var y = tensor3("y", t);
    Function f = compile({x, y}, {softmax(x), logSoftmax(x), softmax(y)}, "FAST_COMPILE");
    for (const PTXModule &m : ptxOf(f)) {
      INFO(m.ptx);
      if (!libdeviceFound()) {
        CHECK(m.kernels.empty()); // exp and log come from libdevice
        continue;
      }
      REQUIRE(m.kernels.size() == 3);
      CHECK(m.hostSteps.empty());
      for (const GPUKernel &k : m.kernels) {
        CHECK(k.kind == GPUKernelKind::Softmax);
        CHECK(k.name.substr(k.name.size() - 5) == "_rows");
        CHECK(k.operandNdims == std::vector<int>{k.ndim});
      }
      CHECK(m.kernels[2].ndim == 3);
      CHECK(m.ptx.find("= softmax(x) -- kernels thjit_s0_softmax_rows") != std::string::npos);
      CHECK(m.ptx.find("= log_softmax(x) -- kernels thjit_s1_log_softmax_rows") !=
            std::string::npos);
      CHECK(m.ptx.find("ld.global.nc.") != std::string::npos);
      CHECK(m.ptx.find("__nv_") == std::string::npos);
    }
  }
}

TEST_CASE("Without libdevice reductions and softmax that need it have no kernel",
          "[ptx][reduce][softmax]") {
  ScopedEnv env("THJIT_LIBDEVICE", "/nonexistent/libdevice.10.bc");
  Var x = matrix("x", DType::Float32);
  Function f = compile({x}, {sum(exp(x), 1), softmax(x), max(x * 2.0f, 0)});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    REQUIRE(m.hostSteps.size() == 2);
    for (auto &[step, why] : m.hostSteps) {
      CHECK_THAT(why, Catch::Contains("needs libdevice for"));
      CHECK(kernelsOf(m, step).empty());
    }
    REQUIRE(m.kernels.size() == 2); // max's
    CHECK(m.kernels[0].reducePart == GPUReducePart::Columns);
  }
}

TEST_CASE("PTX modules are cached: stored once, read back whole", "[ptx]") {
  Var x = matrix("x", DType::Float32), y = matrix("y", DType::Float32);
  Function f = function({x, y}, {sum(exp(x) * y, 1), softmax(x), dot(x, y), transpose(x) * 2});
  std::map<std::string, std::string> store;
  int lookups = 0, hits = 0;
  codegen::ObjectCache cache{
      [&](const std::string &key) -> std::optional<std::string> {
        ++lookups;
        auto it = store.find(key);
        if (it == store.end())
          return std::nullopt;
        ++hits;
        return it->second;
      },
      [&](const std::string &key, const std::string &value) { store[key] = value; }};
  codegen::PTXModule first = codegen::compileForPTX(f.graph(), "sm_90", {}, 85, &cache);
  REQUIRE(store.size() == 1);
  codegen::PTXModule again = codegen::compileForPTX(f.graph(), "sm_90", {}, 85, &cache);
  CHECK(hits == 1);
  CHECK(codegen::serializePTXModule(again) == codegen::serializePTXModule(first));
  CHECK(again.ptx == first.ptx);
  REQUIRE(again.kernels.size() == first.kernels.size());
  for (size_t i = 0; i < first.kernels.size(); ++i) {
    CHECK(again.kernels[i].name == first.kernels[i].name);
    CHECK(again.kernels[i].operandNdims == first.kernels[i].operandNdims);
    CHECK(again.kernels[i].tileM == first.kernels[i].tileM);
  }
  CHECK(again.hostSteps == first.hostSteps);
  CHECK(again.sharedKernels == first.sharedKernels);
  // Another architecture or ISA is another entry.
  codegen::compileForPTX(f.graph(), "sm_80", {}, 85, &cache);
  codegen::compileForPTX(f.graph(), "sm_90", {}, 80, &cache);
  CHECK(store.size() == 3);
  // A corrupt entry is not trusted: the module is compiled again.
  std::string &text = store.begin()->second;
  text = text.substr(0, text.size() / 2);
  CHECK_FALSE(codegen::parsePTXModule(text).has_value());
  CHECK_FALSE(codegen::parsePTXModule("").has_value());
  CHECK_FALSE(codegen::parsePTXModule(text + "x").has_value());
  // While a listener wants each module's IR, nothing is read from the cache.
  int heard = 0;
  codegen::setPTXListener([&](const std::string &, const std::string &) { ++heard; });
  codegen::compileForPTX(f.graph(), "sm_90", {}, 85, &cache);
  codegen::setPTXListener({});
  CHECK(heard == 1);
  CHECK(hits == 1);
}

TEST_CASE("Strided kernels divide by multiply-high while indices fit 31 bits", "[ptx]") {
  // The kernel's quotient, computed as the narrow path does.
  auto quotient = [](uint32_t i, uint64_t divider) {
    const uint32_t magic = (uint32_t)divider, shift = (uint32_t)(divider >> 32);
    const uint32_t high = (uint32_t)(((uint64_t)i * magic) >> 32);
    return (high + i) >> shift;
  };
  std::vector<int64_t> sizes;
  for (int64_t d = 1; d <= 1000; ++d)
    sizes.push_back(d);
  for (int s = 10; s <= 31; ++s)
    for (int64_t delta : {-3, -1, 0, 1, 7})
      sizes.push_back((int64_t(1) << s) + delta);
  sizes.push_back(int64_t(1) << 31);
  sizes.push_back(1000003);
  sizes.push_back(65521 * 3);
  uint64_t state = 12345;
  auto random = [&] { // xorshift: indices below 2^31
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (uint32_t)(state & 0x7fffffff);
  };
  for (int64_t d : sizes) {
    if (d > (int64_t(1) << 31))
      continue;
    const uint64_t divider = gpuDivider(d);
    REQUIRE(divider != 0);
    std::vector<uint32_t> indices = {0, 1, 0x7fffffff, 0x7ffffffe};
    for (int64_t k : {int64_t(1), int64_t(2), int64_t(1000), int64_t(1) << 20})
      for (int64_t delta : {-1, 0, 1}) {
        const int64_t i = k * d + delta;
        if (i >= 0 && i < (int64_t(1) << 31))
          indices.push_back((uint32_t)i);
      }
    for (int r = 0; r < 200; ++r)
      indices.push_back(random());
    for (uint32_t i : indices) {
      INFO("size " << d << ", index " << i);
      REQUIRE(quotient(i, divider) == i / (uint64_t)d);
    }
  }
  CHECK(gpuDivider(0) == 0);
  CHECK(gpuDivider((int64_t(1) << 31) + 1) == 0);

  // The strided kernel has both loops: 32-bit multiply-high, and 64-bit
  // division for n >= 2^31.
  Var x = matrix("x", DType::Float32);
  Var b = vector("b", DType::Float32);
  for (const PTXModule &m : ptxOf(compile({x, b}, {x * b + 1}))) {
    REQUIRE(m.kernels.size() == 1);
    const std::string body = kernelBody(m.ptx, m.kernels[0].name);
    CHECK(body.find("mul.hi.u32") != std::string::npos);
    CHECK(body.find("div.u64") != std::string::npos);
  }
}

TEST_CASE("PTX of the runtime's split-K kernels", "[ptx]") {
  for (const std::string &arch : kArchs) {
    PTXModule m = compileSplitKKernels(arch);
    checkModule(m, arch);
    REQUIRE(m.kernels.size() == 4);
    for (DType t : {DType::Float32, DType::Float64}) {
      const std::string body = kernelBody(m.ptx, splitKSumKernelName(t));
      INFO(body);
      CHECK(body.find(t == DType::Float64 ? "ld.global.nc.f64" : "ld.global.nc.f32") !=
            std::string::npos); // the partial products
      CHECK(body.find(t == DType::Float64 ? "add.rn.f64" : "add.rn.f32") != std::string::npos);
    }
    int gemms = 0;
    for (const GPUKernel &k : m.kernels)
      if (k.kind == GPUKernelKind::Gemm) {
        ++gemms;
        CHECK(k.batched);
        CHECK(k.tileM == 32);
      }
    CHECK(gemms == 2);
  }
}

TEST_CASE("the runtime's modules are read from a compile cache", "[ptx]") {
  // An in-memory cache: the first compile stores the module, the second
  // reads it back (the same kernels, the same PTX), for each module, arch
  // and ISA apart; a listener hears a module compiled, not read.
  std::map<std::string, std::string> entries;
  int lookups = 0;
  ObjectCache cache{[&](const std::string &key) -> std::optional<std::string> {
                      ++lookups;
                      auto it = entries.find(key);
                      if (it == entries.end())
                        return std::nullopt;
                      return it->second;
                    },
                    [&](const std::string &key, const std::string &object) {
                      entries[key] = object;
                    }};
  for (auto compile : {&compileSplitKKernels, &compileCopyKernels}) {
    PTXModule first = compile("sm_80", kPTXVersion, &cache);
    PTXModule again = compile("sm_80", kPTXVersion, &cache);
    CHECK(again.ptx == first.ptx);
    REQUIRE(again.kernels.size() == first.kernels.size());
    for (size_t k = 0; k < first.kernels.size(); ++k) {
      CHECK(again.kernels[k].name == first.kernels[k].name);
      CHECK(again.kernels[k].step == -1);
    }
  }
  CHECK(entries.size() == 2);
  compileSplitKKernels("sm_90", kPTXVersion, &cache);
  CHECK(entries.size() == 3);
  int heard = 0;
  codegen::setPTXListener([&](const std::string &, const std::string &) { ++heard; });
  const int before = lookups;
  compileSplitKKernels("sm_80", kPTXVersion, &cache);
  codegen::setPTXListener(nullptr);
  CHECK(heard == 1);
  CHECK(lookups == before);
}

TEST_CASE("PTX of the runtime's copy, take, put and scatter-add kernels", "[ptx]") {
  int heard = 0;
  codegen::setPTXListener([&](const std::string &, const std::string &ir) {
    ++heard;
    CHECK(ir.find("define ptx_kernel void @thjit_b16_r4_copy") != std::string::npos);
  });
  for (const std::string &arch : kArchs) {
    PTXModule m = compileCopyKernels(arch);
    checkModule(m, arch);
    CHECK(m.kernels.size() == (3 * 5 + 10) * kCopyRank);
    // The scatter-add kernels add atomically in the element's type (8 and
    // 16-bit integers in a compare-and-swap loop on the 32-bit word around
    // them), complex numbers part by part, booleans by or.
    for (int rank = 1; rank <= kCopyRank; ++rank) {
      INFO("rank " << rank);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::Float32, rank))
                .find("atom.global.add.f32") != std::string::npos);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::Float64, rank))
                .find("atom.global.add.f64") != std::string::npos);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::Int32, rank))
                .find("atom.global.add.u32") != std::string::npos);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::UInt64, rank))
                .find("atom.global.add.u64") != std::string::npos);
      CHECK(scatterAddKernelName(DType::UInt8, rank) == scatterAddKernelName(DType::Int8, rank));
      for (DType t : {DType::Int8, DType::Int16})
        CHECK(kernelBody(m.ptx, scatterAddKernelName(t, rank)).find("atom.global.cas.b32") !=
              std::string::npos);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::Float16, rank))
                .find("atom.global.add.noftz.f16") != std::string::npos);
      CHECK(kernelBody(m.ptx, scatterAddKernelName(DType::Bool, rank))
                .find("atom.global.or.b32") != std::string::npos);
      const std::string c64 = kernelBody(m.ptx, scatterAddKernelName(DType::Complex64, rank));
      CHECK(c64.find("atom.global.add.f32") != c64.rfind("atom.global.add.f32"));
      const std::string c128 = kernelBody(m.ptx, scatterAddKernelName(DType::Complex128, rank));
      CHECK(c128.find("atom.global.add.f64") != c128.rfind("atom.global.add.f64"));
    }
    for (const std::string kind : {"copy", "take", "put"})
      for (int bytes : {1, 2, 4, 8, 16})
        for (int rank = 1; rank <= kCopyRank; ++rank) {
          const std::string name = kind == "copy"   ? copyKernelName(bytes, rank)
                                   : kind == "take" ? takeKernelName(bytes, rank)
                                                    : putKernelName(bytes, rank);
          INFO(name);
          const std::string body = kernelBody(m.ptx, name);
          REQUIRE_FALSE(body.empty());
          INFO(body);
          CHECK(body.find("ld.global.nc") != std::string::npos);
          if (kind != "copy") // the rows' offsets
            CHECK(body.find("ld.global.nc.u64") != std::string::npos);
          if (kind == "put") // rows dropped as repeats are INT64_MIN
            CHECK(body.find("-9223372036854775808") != std::string::npos);
          if (rank > 1)
            CHECK(body.find("mul.hi.u32") != std::string::npos);
        }
  }
  codegen::setPTXListener({});
  CHECK(heard == (int)kArchs.size());
}
