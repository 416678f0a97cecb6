//===- GPUEmulatorTest.cpp - The host SIMT emulator on small kernels ------===//
//
// GPUEmulator.h's own tests, on hand-written NVPTX-style IR: special
// registers over 3-D grids and blocks, warp shuffles (every mode, widths,
// the predicate), votes, barrier reductions, static and dynamic shared
// memory, libdevice calls; and the failures it must report: deadlocks,
// shuffles outside the member mask, unknown intrinsics, inline assembly,
// arguments that do not match. Expectations follow the CUDA programming
// guide's definitions, not the emulator's code.
//
//===----------------------------------------------------------------------===//
#include "GPUEmulator.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using thjit::test::EmulatorError;
using thjit::test::GPUEmulator;

namespace {

const char *kDecls = R"(
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.tid.y()
declare i32 @llvm.nvvm.read.ptx.sreg.tid.z()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.y()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.z()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.y()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.z()
declare i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.nctaid.y()
declare i32 @llvm.nvvm.read.ptx.sreg.nctaid.z()
declare i32 @llvm.nvvm.read.ptx.sreg.laneid()
declare i32 @llvm.nvvm.read.ptx.sreg.warpid()
declare void @llvm.nvvm.barrier0()
declare i32 @llvm.nvvm.barrier0.popc(i32)
declare i32 @llvm.nvvm.barrier0.and(i32)
declare i32 @llvm.nvvm.barrier0.or(i32)
declare i32 @llvm.nvvm.shfl.sync.down.i32(i32, i32, i32, i32)
declare i32 @llvm.nvvm.shfl.sync.up.i32(i32, i32, i32, i32)
declare i32 @llvm.nvvm.shfl.sync.bfly.i32(i32, i32, i32, i32)
declare i32 @llvm.nvvm.shfl.sync.idx.i32(i32, i32, i32, i32)
declare float @llvm.nvvm.shfl.sync.bfly.f32(i32, float, i32, i32)
declare {i32, i1} @llvm.nvvm.shfl.sync.down.i32p(i32, i32, i32, i32)
declare i32 @llvm.nvvm.vote.ballot.sync(i32, i1)
declare i1 @llvm.nvvm.vote.any.sync(i32, i1)
declare i1 @llvm.nvvm.vote.all.sync(i32, i1)
declare i1 @llvm.nvvm.vote.uni.sync(i32, i1)
)";

std::string module(const std::string &body) { return std::string(kDecls) + body; }

} // namespace

TEST_CASE("GPU emulator: special registers over 3-D grids and blocks", "[emulator]") {
  // out[global linear id * 8 + k] = tid.xyz, ctaid.xyz, laneid, warpid.
  GPUEmulator emu;
  emu.loadIR(module(R"(
define ptx_kernel void @regs(ptr addrspace(1) %out) {
  %tx = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %ty = call i32 @llvm.nvvm.read.ptx.sreg.tid.y()
  %tz = call i32 @llvm.nvvm.read.ptx.sreg.tid.z()
  %nx = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
  %ny = call i32 @llvm.nvvm.read.ptx.sreg.ntid.y()
  %nz = call i32 @llvm.nvvm.read.ptx.sreg.ntid.z()
  %cx = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %cy = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.y()
  %cz = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.z()
  %gx = call i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()
  %gy = call i32 @llvm.nvvm.read.ptx.sreg.nctaid.y()
  %lane = call i32 @llvm.nvvm.read.ptx.sreg.laneid()
  %warp = call i32 @llvm.nvvm.read.ptx.sreg.warpid()
  %b1 = mul i32 %cz, %gy
  %b2 = add i32 %b1, %cy
  %b3 = mul i32 %b2, %gx
  %blk = add i32 %b3, %cx
  %t1 = mul i32 %tz, %ny
  %t2 = add i32 %t1, %ty
  %t3 = mul i32 %t2, %nx
  %thr = add i32 %t3, %tx
  %s1 = mul i32 %nx, %ny
  %size = mul i32 %s1, %nz
  %g1 = mul i32 %blk, %size
  %gid = add i32 %g1, %thr
  %base = mul i32 %gid, 8
  %vals = insertvalue [8 x i32] poison, i32 %tx, 0
  %v1 = insertvalue [8 x i32] %vals, i32 %ty, 1
  %v2 = insertvalue [8 x i32] %v1, i32 %tz, 2
  %v3 = insertvalue [8 x i32] %v2, i32 %cx, 3
  %v4 = insertvalue [8 x i32] %v3, i32 %cy, 4
  %v5 = insertvalue [8 x i32] %v4, i32 %cz, 5
  %v6 = insertvalue [8 x i32] %v5, i32 %lane, 6
  %v7 = insertvalue [8 x i32] %v6, i32 %warp, 7
  %p = getelementptr i32, ptr addrspace(1) %out, i32 %base
  store [8 x i32] %v7, ptr addrspace(1) %p
  ret void
}
)"));
  REQUIRE(emu.kernels() == std::vector<std::string>{"regs"});
  const unsigned bx = 5, by = 3, bz = 4, gx = 2, gy = 3, gz = 2; // 60 threads
  const unsigned threads = bx * by * bz, blocks = gx * gy * gz;
  std::vector<int32_t> out(threads * blocks * 8, -1);
  emu.launch("regs", {gx, gy, gz}, {bx, by, bz}, 0, {out.data()});
  int wrong = 0;
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t) {
      const int32_t *o = &out[(b * threads + t) * 8];
      int32_t want[8] = {int32_t(t % bx), int32_t(t / bx % by), int32_t(t / (bx * by)),
                         int32_t(b % gx), int32_t(b / gx % gy), int32_t(b / (gx * gy)),
                         int32_t(t % 32), int32_t(t / 32)};
      for (int k = 0; k < 8; ++k)
        wrong += o[k] != want[k];
    }
  CHECK(wrong == 0);
  CHECK(emu.stats().blocks == blocks);
}

TEST_CASE("GPU emulator: warp shuffles", "[emulator]") {
  // Two warps; v = 10 * tid + 1. Nine results per thread.
  const std::string ir = module(R"(
define ptx_kernel void @shfl(ptr addrspace(1) %out) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %t10 = mul i32 %t, 10
  %v = add i32 %t10, 1
  %r0 = call i32 @llvm.nvvm.shfl.sync.down.i32(i32 -1, i32 %v, i32 3, i32 31)
  %r1 = call i32 @llvm.nvvm.shfl.sync.up.i32(i32 -1, i32 %v, i32 2, i32 0)
  %r2 = call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %v, i32 5, i32 31)
  %r3 = call i32 @llvm.nvvm.shfl.sync.idx.i32(i32 -1, i32 %v, i32 7, i32 31)
  ; width 8: c = (32 - 8) << 8 | 31 (up: | 0)
  %r4 = call i32 @llvm.nvvm.shfl.sync.down.i32(i32 -1, i32 %v, i32 3, i32 6175)
  %r5 = call i32 @llvm.nvvm.shfl.sync.up.i32(i32 -1, i32 %v, i32 3, i32 6144)
  %r6 = call i32 @llvm.nvvm.shfl.sync.idx.i32(i32 -1, i32 %v, i32 3, i32 6175)
  %f = sitofp i32 %v to float
  %fr = call float @llvm.nvvm.shfl.sync.bfly.f32(i32 -1, float %f, i32 16, i32 31)
  %r7 = fptosi float %fr to i32
  %pr = call {i32, i1} @llvm.nvvm.shfl.sync.down.i32p(i32 -1, i32 %v, i32 4, i32 31)
  %pb = extractvalue {i32, i1} %pr, 1
  %r8 = zext i1 %pb to i32
  %base = mul i32 %t, 9
  %p0 = getelementptr i32, ptr addrspace(1) %out, i32 %base
  store i32 %r0, ptr addrspace(1) %p0
  %p1 = getelementptr i32, ptr addrspace(1) %p0, i32 1
  store i32 %r1, ptr addrspace(1) %p1
  %p2 = getelementptr i32, ptr addrspace(1) %p0, i32 2
  store i32 %r2, ptr addrspace(1) %p2
  %p3 = getelementptr i32, ptr addrspace(1) %p0, i32 3
  store i32 %r3, ptr addrspace(1) %p3
  %p4 = getelementptr i32, ptr addrspace(1) %p0, i32 4
  store i32 %r4, ptr addrspace(1) %p4
  %p5 = getelementptr i32, ptr addrspace(1) %p0, i32 5
  store i32 %r5, ptr addrspace(1) %p5
  %p6 = getelementptr i32, ptr addrspace(1) %p0, i32 6
  store i32 %r6, ptr addrspace(1) %p6
  %p7 = getelementptr i32, ptr addrspace(1) %p0, i32 7
  store i32 %r7, ptr addrspace(1) %p7
  %p8 = getelementptr i32, ptr addrspace(1) %p0, i32 8
  store i32 %r8, ptr addrspace(1) %p8
  ret void
}
)");
  for (bool reverse : {false, true}) {
    std::vector<int32_t> out(64 * 9, -1);
    GPUEmulator::Options o;
    o.reverse = reverse;
    GPUEmulator e(o);
    e.loadIR(ir);
    e.launch("shfl", {1, 1, 1}, {64, 1, 1}, 0, {out.data()});
    int wrong = 0;
    for (int t = 0; t < 64; ++t) {
      const int lane = t % 32, warp = t / 32;
      auto v = [&](int l) { return 10 * (warp * 32 + l) + 1; };
      // CUDA: __shfl_down_sync(v, 3): lane + 3 when < 32, else own.
      int want[9] = {
          v(lane + 3 < 32 ? lane + 3 : lane),
          v(lane >= 2 ? lane - 2 : lane),
          v(lane ^ 5),
          v(7),
          v(lane % 8 + 3 < 8 ? lane + 3 : lane), // width 8
          v(lane % 8 >= 3 ? lane - 3 : lane),
          v(lane / 8 * 8 + 3),
          v(lane ^ 16),
          lane + 4 < 32,
      };
      for (int k = 0; k < 9; ++k)
        if (out[t * 9 + k] != want[k]) {
          if (!wrong)
            UNSCOPED_INFO("thread " << t << " result " << k << ": " << out[t * 9 + k]
                                    << ", want " << want[k]);
          ++wrong;
        }
    }
    CHECK(wrong == 0);
    CHECK(e.stats().collectives == 2 * 9);
  }
}

TEST_CASE("GPU emulator: votes and barrier reductions", "[emulator]") {
  GPUEmulator emu;
  emu.loadIR(module(R"(
define ptx_kernel void @votes(ptr addrspace(1) %out) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %m = urem i32 %t, 3
  %p = icmp eq i32 %m, 0
  %small = icmp ult i32 %t, 1000
  %ballot = call i32 @llvm.nvvm.vote.ballot.sync(i32 -1, i1 %p)
  %any = call i1 @llvm.nvvm.vote.any.sync(i32 -1, i1 %p)
  %all = call i1 @llvm.nvvm.vote.all.sync(i32 -1, i1 %small)
  %uni = call i1 @llvm.nvvm.vote.uni.sync(i32 -1, i1 %p)
  %pi = zext i1 %p to i32
  %popc = call i32 @llvm.nvvm.barrier0.popc(i32 %pi)
  %and = call i32 @llvm.nvvm.barrier0.and(i32 %pi)
  %or = call i32 @llvm.nvvm.barrier0.or(i32 %pi)
  %base = mul i32 %t, 7
  %q0 = getelementptr i32, ptr addrspace(1) %out, i32 %base
  store i32 %ballot, ptr addrspace(1) %q0
  %q1 = getelementptr i32, ptr addrspace(1) %q0, i32 1
  %anyi = zext i1 %any to i32
  store i32 %anyi, ptr addrspace(1) %q1
  %q2 = getelementptr i32, ptr addrspace(1) %q0, i32 2
  %alli = zext i1 %all to i32
  store i32 %alli, ptr addrspace(1) %q2
  %q3 = getelementptr i32, ptr addrspace(1) %q0, i32 3
  %unii = zext i1 %uni to i32
  store i32 %unii, ptr addrspace(1) %q3
  %q4 = getelementptr i32, ptr addrspace(1) %q0, i32 4
  store i32 %popc, ptr addrspace(1) %q4
  %q5 = getelementptr i32, ptr addrspace(1) %q0, i32 5
  store i32 %and, ptr addrspace(1) %q5
  %q6 = getelementptr i32, ptr addrspace(1) %q0, i32 6
  store i32 %or, ptr addrspace(1) %q6
  ret void
}
)"));
  const int n = 96;
  std::vector<int32_t> out(n * 7, -1);
  emu.launch("votes", {1, 1, 1}, {n, 1, 1}, 0, {out.data()});
  int wrong = 0;
  for (int t = 0; t < n; ++t) {
    uint32_t ballot = 0;
    for (int l = 0; l < 32; ++l)
      if ((t / 32 * 32 + l) % 3 == 0)
        ballot |= 1u << l;
    int32_t want[7] = {int32_t(ballot), 1, 1, 0, n / 3, 0, 1};
    for (int k = 0; k < 7; ++k)
      wrong += out[t * 7 + k] != want[k];
  }
  CHECK(wrong == 0);
  CHECK(emu.stats().barriers == 3);
}

TEST_CASE("GPU emulator: static and dynamic shared memory", "[emulator]") {
  // s[t] = 2t; barrier; out[t] = s[127 - t]; dyn[t] = s[t] + 1; barrier;
  // out[128 + t] = dyn[(t + 1) % 128]. The blocks must not share memory.
  GPUEmulator emu;
  emu.loadIR(module(R"(
@s = internal addrspace(3) global [128 x i32] undef, align 4
@dyn = external addrspace(3) global [0 x i32], align 16

define ptx_kernel void @smem(ptr addrspace(1) %out) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %b = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %o = mul i32 %b, 256
  %bo = add i32 %b, %t
  %t2 = shl i32 %bo, 1
  %sp = getelementptr [128 x i32], ptr addrspace(3) @s, i32 0, i32 %t
  store i32 %t2, ptr addrspace(3) %sp
  call void @llvm.nvvm.barrier0()
  %rt = sub i32 127, %t
  %sq = getelementptr [128 x i32], ptr addrspace(3) @s, i32 0, i32 %rt
  %x = load i32, ptr addrspace(3) %sq
  %oi = add i32 %o, %t
  %op = getelementptr i32, ptr addrspace(1) %out, i32 %oi
  store i32 %x, ptr addrspace(1) %op
  %y = load i32, ptr addrspace(3) %sp
  %y1 = add i32 %y, 1
  %dp = getelementptr i32, ptr addrspace(3) @dyn, i32 %t
  store i32 %y1, ptr addrspace(3) %dp
  call void @llvm.nvvm.barrier0()
  %n1 = add i32 %t, 1
  %n = urem i32 %n1, 128
  %dq = getelementptr i32, ptr addrspace(3) @dyn, i32 %n
  %z = load i32, ptr addrspace(3) %dq
  %oj = add i32 %oi, 128
  %oq = getelementptr i32, ptr addrspace(1) %out, i32 %oj
  store i32 %z, ptr addrspace(1) %oq
  ret void
}
)"));
  CHECK(emu.staticSharedBytes() == 512);
  std::vector<int32_t> out(3 * 256, -1);
  emu.launch("smem", {3, 1, 1}, {128, 1, 1}, 128 * 4, {out.data()});
  int wrong = 0;
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 128; ++t) {
      wrong += out[b * 256 + t] != 2 * (b + 127 - t);
      wrong += out[b * 256 + 128 + t] != 2 * (b + (t + 1) % 128) + 1;
    }
  CHECK(wrong == 0);
  // Too much shared memory is a launch error, as on a GPU.
  CHECK_THROWS_AS(emu.launch("smem", {1, 1, 1}, {128, 1, 1}, 1 << 20, {out.data()}),
                  EmulatorError);
}

TEST_CASE("GPU emulator: libdevice calls run libm", "[emulator]") {
  GPUEmulator emu;
  emu.loadIR(module(R"(
declare float @__nv_expf(float)
declare double @__nv_pow(double, double)

define ptx_kernel void @math(ptr addrspace(1) %x, ptr addrspace(1) %y) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %px = getelementptr float, ptr addrspace(1) %x, i32 %t
  %v = load float, ptr addrspace(1) %px
  %e = call float @__nv_expf(float %v)
  store float %e, ptr addrspace(1) %px
  %py = getelementptr double, ptr addrspace(1) %y, i32 %t
  %w = load double, ptr addrspace(1) %py
  %p = call double @__nv_pow(double %w, double 1.5)
  store double %p, ptr addrspace(1) %py
  ret void
}
)"));
  std::vector<float> x(32);
  std::vector<double> y(32);
  for (int i = 0; i < 32; ++i)
    x[i] = 0.25f * i - 3, y[i] = 0.5 * i;
  emu.launch("math", {1, 1, 1}, {32, 1, 1}, 0, {x.data(), y.data()});
  for (int i = 0; i < 32; ++i) {
    CHECK(x[i] == std::exp(0.25f * i - 3));
    CHECK(y[i] == std::pow(0.5 * i, 1.5));
  }
}

TEST_CASE("GPU emulator: failures are reported, not hung or ignored", "[emulator]") {
  SECTION("a barrier only some threads reach is a deadlock") {
    GPUEmulator emu;
    emu.loadIR(module(R"(
define ptx_kernel void @k() {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %odd = and i32 %t, 1
  %c = icmp eq i32 %odd, 0
  br i1 %c, label %bar, label %done
bar:
  call void @llvm.nvvm.barrier0()
  br label %done
done:
  ret void
}
)"));
    CHECK_THROWS_WITH(emu.launch("k", {2, 1, 1}, {64, 1, 1}, 0, {}),
                      Catch::Contains("deadlock") && Catch::Contains("32 threads wait at a barrier") &&
                          Catch::Contains("32 have exited"));
  }
  SECTION("a shuffle reading a lane outside its member mask") {
    GPUEmulator emu;
    emu.loadIR(module(R"(
define ptx_kernel void @k() {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = icmp ult i32 %t, 16
  br i1 %c, label %half, label %done
half:
  %r = call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 65535, i32 %t, i32 16, i32 31)
  br label %done
done:
  ret void
}
)"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {}),
                      Catch::Contains("outside the member mask 0x0000ffff"));
  }
  SECTION("lanes of one warp at different collectives") {
    GPUEmulator emu;
    emu.loadIR(module(R"(
define ptx_kernel void @k() {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = icmp ult i32 %t, 16
  br i1 %c, label %a, label %b
a:
  %r = call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %t, i32 1, i32 31)
  br label %done
b:
  %s = call i32 @llvm.nvvm.vote.ballot.sync(i32 -1, i1 true)
  br label %done
done:
  ret void
}
)"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {}),
                      Catch::Contains("different collectives"));
  }
  SECTION("an unknown NVVM intrinsic fails the load, by name") {
    GPUEmulator emu;
    CHECK_THROWS_WITH(emu.loadIR(module(R"(
declare i32 @llvm.nvvm.read.ptx.sreg.clock()
define ptx_kernel void @k() {
  %c = call i32 @llvm.nvvm.read.ptx.sreg.clock()
  ret void
}
)")),
                      Catch::Contains("llvm.nvvm.read.ptx.sreg.clock"));
  }
  SECTION("inline assembly and unknown external functions fail the load") {
    GPUEmulator emu;
    CHECK_THROWS_WITH(emu.loadIR(module(R"(
declare float @mystery(float)
define ptx_kernel void @k(float %x) {
  %a = call i32 asm "mov.u32 $0, %clock;", "=r"()
  %b = call float @mystery(float %x)
  ret void
}
)")),
                      Catch::Contains("inline assembly") && Catch::Contains("@mystery"));
  }
  SECTION("arguments must match the parameters") {
    GPUEmulator emu;
    emu.loadIR(module(R"(
define ptx_kernel void @k(ptr addrspace(1) %p, i64 %n, float %f, i32 %i) {
  ret void
}
)"));
    float x = 0;
    int64_t n = 5;
    CHECK_NOTHROW(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {&x, n, 1.0f, 7}));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {&x, n, 1.0f}),
                      Catch::Contains("3 arguments for 4 parameters"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {n, n, 1.0f, 7}),
                      Catch::Contains("argument 0 must be a pointer"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {&x, n, 1.0, 7}),
                      Catch::Contains("argument 2 must be a float"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {32, 1, 1}, 0, {&x, n, 1.0f, n << 40}),
                      Catch::Contains("does not fit in i32"));
    CHECK_THROWS_WITH(emu.launch("k", {1, 1, 1}, {2048, 1, 1}, 0, {&x, n, 1.0f, 7}),
                      Catch::Contains("block is larger"));
    CHECK_THROWS_WITH(emu.launch("nope", {1, 1, 1}, {32, 1, 1}, 0, {}),
                      Catch::Contains("no kernel nope"));
  }
}
