//===- GemmPTXTest.cpp - GEMM kernels as PTX, checked by ptxas ------------===//
//
// The GPU matrix-product kernels (lib/CodeGen/GPU/Gemm.h), tested without a
// GPU: every variant (tiled f32/f64, tensor-core f16/bf16, tf32, each also
// batched, each with large and small tiles) is generated for sm_80 and sm_90, checked for the entry and
// parameters the ABI promises and for the instructions each path is made
// of, and assembled by NVIDIA's ptxas where it is installed ($THJIT_PTXAS,
// else /usr/local/cuda/bin/ptxas) with -v, whose report must show no
// register spills. Without ptxas those checks are skipped with a warning.
//
//===----------------------------------------------------------------------===//
#include "../../lib/CodeGen/GPU/Gemm.h"
#include "PTXTestUtil.h"
#include "thjit/Support/Error.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace thjit;
using namespace thjit::codegen;
using Path = GemmKernelSpec::Path;

namespace {

using test::paramCount;
using test::ptxasPath;
const std::vector<std::string> &kArchs = test::kPTXArchs;

/// Runs `ptxas -v -arch=arch` on ptx: (exit status, its messages).
std::pair<int, std::string> ptxas(const std::string &tool, const std::string &ptx,
                                  const std::string &arch) {
  return test::runPtxas(tool, ptx, arch, "-v");
}

bool has(const std::string &text, const std::string &what) {
  return text.find(what) != std::string::npos;
}

std::vector<GemmKernelSpec> allSpecs() {
  std::vector<GemmKernelSpec> specs;
  for (bool small : {false, true})
    for (bool batched : {false, true}) {
      specs.push_back({GemmType::Float32, Path::Tiled, batched, small});
      specs.push_back({GemmType::Float64, Path::Tiled, batched, small});
      specs.push_back({GemmType::Float16, Path::TensorCore, batched, small});
      specs.push_back({GemmType::BFloat16, Path::TensorCore, batched, small});
      specs.push_back({GemmType::Float32, Path::TF32, batched, small});
    }
  return specs;
}

/// The instructions that make up each path.
std::vector<std::string> expectedInstructions(const GemmKernelSpec &spec) {
  std::vector<std::string> r{"bar.sync", "st.shared", "ld.global.nc"};
  switch (spec.path) {
  case Path::Tiled:
    // The small f32 kernel's threads read C_in and write C 2 elements at a
    // time.
    if (spec.type == GemmType::Float32 && spec.small)
      r.insert(r.end(), {"fma.rn.f32", "ld.global.nc.v4.f32", "ld.shared.v2.f32",
                         "st.global.v2.f32", "ld.global.nc.v2.f32"});
    else if (spec.type == GemmType::Float32)
      r.insert(r.end(), {"fma.rn.f32", "ld.global.nc.v4.f32", "ld.shared.v4.f32",
                         "st.global.v4.f32"});
    else
      r.insert(r.end(), {"fma.rn.f64", "ld.global.nc.v2.f64", "ld.shared.v2.f64",
                         "st.global.v2.f64"});
    break;
  case Path::TensorCore:
    r.push_back(spec.type == GemmType::Float16
                    ? "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
                    : "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32");
    r.insert(r.end(), {"ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                       "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
                       "ld.global.nc.v4", "st.shared.v4"});
    r.push_back(spec.type == GemmType::Float16 ? "cvt.rn.f16.f32" : "cvt.rn.bf16.f32");
    break;
  case Path::TF32:
    r.insert(r.end(), {"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32",
                       "cvt.rna.tf32.f32", "ld.global.nc.v4.f32", "ld.shared.u32",
                       "st.shared.v4"});
    break;
  }
  return r;
}

} // namespace

TEST_CASE("GEMM kernels: every variant is PTX that ptxas assembles without spills",
          "[gpu-ptx][gemm]") {
  const std::string tool = ptxasPath();
  if (tool.empty())
    WARN("ptxas not found (set THJIT_PTXAS): GEMM PTX not assembled");
  for (const GemmKernelSpec &spec : allSpecs())
    for (const std::string &arch : kArchs) {
      const std::string name = gemmKernelName(spec);
      INFO(name << " for " << arch);
      const std::string ptx = gemmPTX(spec, arch);
      CHECK(has(ptx, ".version 8.5"));
      CHECK(has(ptx, ".target " + arch + "\n"));
      CHECK(paramCount(ptx, name) == (spec.batched ? 22 : 17));
      CHECK(has(ptx, ".maxntid 256, 1, 1"));
      // Small tiles: registers for 2 blocks a multiprocessor (Gemm.cpp).
      CHECK(has(ptx, ".minnctapersm 2") == spec.small);
      CHECK(!has(ptx, ".extern"));
      for (const std::string &inst : expectedInstructions(spec)) {
        INFO("expects " << inst);
        CHECK(has(ptx, inst));
      }
      // The block's tile from its place in the grid (z: the product).
      CHECK(has(ptx, "%ctaid.x"));
      CHECK(has(ptx, "%ctaid.y"));
      CHECK(has(ptx, "%ctaid.z") == spec.batched);
      if (tool.empty())
        continue;
      auto [status, messages] = ptxas(tool, ptx, arch);
      INFO("ptxas -v -arch=" << arch << ":\n" << messages);
      CHECK(status == 0);
      // No local memory at all: no stack frame, no spills.
      CHECK(std::regex_search(
          messages,
          std::regex("\\b0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads")));
      std::smatch regs;
      REQUIRE(std::regex_search(messages, regs, std::regex("Used (\\d+) registers")));
      // 256 threads a block: 255 registers a thread at most.
      CHECK(std::stoi(regs[1]) <= 255);
      std::smatch smem;
      REQUIRE(std::regex_search(messages, smem, std::regex("(\\d+) bytes smem")));
      CHECK(std::stoi(smem[1]) == gemmTiling(spec).staticSharedBytes);
    }
}

TEST_CASE("GEMM kernels: launch numbers", "[gpu-ptx][gemm]") {
  GemmTiling f32 = gemmTiling({GemmType::Float32, Path::Tiled, false});
  CHECK(f32.blockM == 128);
  CHECK(f32.blockN == 128);
  CHECK(f32.blockK == 8);
  CHECK(f32.threads == 256);
  GemmTiling f64 = gemmTiling({GemmType::Float64, Path::Tiled, true});
  CHECK(f64.blockM == 64);
  CHECK(f64.blockN == 64);
  // The small tiles (Gemm.h): 32 x 32 on the CUDA cores, 64 x 64 on the
  // tensor cores, with deeper K tiles on the CUDA cores.
  for (GemmType t : {GemmType::Float32, GemmType::Float64}) {
    GemmTiling small = gemmTiling({t, Path::Tiled, false, true});
    CHECK(small.blockM == 32);
    CHECK(small.blockN == 32);
    CHECK(small.blockK == (t == GemmType::Float32 ? 32 : 16));
  }
  for (auto [t, path] : {std::pair{GemmType::Float16, Path::TensorCore},
                         std::pair{GemmType::BFloat16, Path::TensorCore},
                         std::pair{GemmType::Float32, Path::TF32}}) {
    GemmTiling large = gemmTiling({t, path, true});
    GemmTiling small = gemmTiling({t, path, true, true});
    CHECK(small.blockM == 64);
    CHECK(small.blockN == 64);
    CHECK(small.blockK == large.blockK);
  }
  for (const GemmKernelSpec &spec : allSpecs()) {
    GemmTiling t = gemmTiling(spec);
    INFO(gemmKernelName(spec));
    CHECK(t.threads == 256);
    CHECK(t.staticSharedBytes > 0);
    CHECK(t.staticSharedBytes <= 48 * 1024); // static shared memory limit
  }
  CHECK(gemmKernelName({GemmType::BFloat16, Path::TensorCore, true}) ==
        "thjit_gemm_bf16_mma_batched");
  CHECK(gemmKernelName({GemmType::Float32, Path::TF32, false}) == "thjit_gemm_f32_tf32");
  // The launcher counts launches by the part after the last '_'.
  CHECK(gemmKernelName({GemmType::Float64, Path::Tiled, true, true}) ==
        "thjit_gemm_f64_tiled_batched_small");
  CHECK(gemmKernelName({GemmType::Float16, Path::TensorCore, false, true}) ==
        "thjit_gemm_f16_mma_small");
  CHECK(gemmTypeOf(DType::Float64) == GemmType::Float64);
  CHECK_THROWS_AS(gemmTypeOf(DType::Int32), ValueError);
}

TEST_CASE("GEMM kernels: invalid specs and architectures", "[gpu-ptx][gemm]") {
  CHECK_THROWS_AS(gemmPTX({GemmType::Float16, Path::Tiled, false}, "sm_80"), ValueError);
  CHECK_THROWS_AS(gemmPTX({GemmType::Float32, Path::TensorCore, false}, "sm_80"),
                  ValueError);
  CHECK_THROWS_AS(gemmPTX({GemmType::Float64, Path::TF32, false}, "sm_80"), ValueError);
  CHECK_THROWS_AS(gemmTiling({GemmType::BFloat16, Path::Tiled, false}), ValueError);
  // Tensor cores: sm_80 and later. The tiled kernel targets older GPUs too.
  CHECK_THROWS_AS(gemmPTX({GemmType::Float16, Path::TensorCore, false}, "sm_75"),
                  ValueError);
  CHECK_THROWS_AS(gemmPTX({GemmType::Float32, Path::TF32, false}, "sm_75"), ValueError);
  CHECK_THROWS_AS(gemmPTX({GemmType::Float32, Path::Tiled, false}, "sm_79"), ValueError);
  CHECK(has(gemmPTX({GemmType::Float32, Path::Tiled, false}, "sm_75"),
            ".target sm_75"));
}
