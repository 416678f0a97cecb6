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
#include "thjit/CodeGen/GPU.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace thjit;
using namespace thjit::codegen;

namespace {

const std::vector<std::string> kArchs{"sm_80", "sm_90"};

std::string ptxasPath() {
  const char *e = std::getenv("THJIT_PTXAS");
  std::string p = e && *e ? e : "/usr/local/cuda/bin/ptxas";
  return access(p.c_str(), X_OK) == 0 ? p : "";
}

/// Assembles `ptx` for `arch` with ptxas: its messages, empty on success.
std::string ptxasErrors(const std::string &ptxas, const std::string &ptx,
                        const std::string &arch) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("thjit-ptx-test-" + std::to_string(getpid()) + ".ptx"))
                         .string();
  {
    std::ofstream out(path);
    out << ptx;
  }
  std::string cmd = "'" + ptxas + "' -arch=" + arch + " '" + path +
                    "' -o /dev/null 2>&1";
  std::string messages;
  FILE *p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    messages.append(buf, n);
  int status = pclose(p);
  std::filesystem::remove(path);
  if (status != 0 && messages.empty())
    messages = "ptxas failed (status " + std::to_string(status) + ")";
  return status == 0 ? "" : messages;
}

/// The parameters kernel `name` declares in `ptx`, or -1 without it.
int paramCount(const std::string &ptx, const std::string &name) {
  size_t at = ptx.find(".visible .entry " + name + "(");
  if (at == std::string::npos)
    return -1;
  size_t end = ptx.find(')', at);
  int count = 0;
  for (size_t p = ptx.find(".param", at); p < end; p = ptx.find(".param", p + 1))
    ++count;
  return count;
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
    int expected = k.numOperands + k.numResults + 2; // + status, n
    if (!k.contiguous) {
      expected += k.ndim;
      for (int nd : k.operandNdims)
        expected += nd;
    }
    INFO("kernel " << k.name);
    CHECK(paramCount(m.ptx, k.name) == expected);
    CHECK(m.ptx.find("// step " + std::to_string(k.step) + ": ") != std::string::npos);
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
  Function f = compile({x, y}, {sum(x * x), dot(x, y) + 1, transpose(x) * 2.0});
  for (const PTXModule &m : ptxOf(f)) {
    INFO(m.ptx);
    CHECK(m.ptx.find("into sum(x, x) -- no GPU kernel yet, runs on the host") !=
          std::string::npos);
    CHECK(m.ptx.find("= dot(x, y) -- no GPU kernel yet, runs on the host") !=
          std::string::npos);
    CHECK(m.ptx.find("a view: no kernel") != std::string::npos);
    CHECK(m.kernels.size() >= 2);
    CHECK(m.hostSteps.size() >= 3);
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
