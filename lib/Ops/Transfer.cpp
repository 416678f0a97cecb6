//===- Transfer.cpp - Copies between host and GPU memory ------------------===//
///
/// \file
/// gpu_from_host(x) and host_from_gpu(x), Theano's GpuFromHost and
/// HostFromGpu: where a value moves between the host and the GPU. On values
/// they are the identity (their reference kernels return x; the CPU back
/// end aliases them), so a graph the transfer pass has moved still means
/// what it meant; the GPU runtime copies there. Gradients and tangents go
/// through unchanged: the pass runs after differentiation, but a graph
/// built from a printed one may hold them.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

namespace thjit {

static std::vector<const TensorType *>
transferTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  return {ops[0].type()};
}

static std::vector<SymShape> transferShape(const Node &,
                                           const std::vector<SymShape> &in) {
  return {in[0]};
}

static std::vector<NDArray> transferEval(const Node &,
                                         const std::vector<NDArray> &in) {
  return {in[0]};
}

static std::vector<Var> transferGrad(const Node &, const std::vector<Var> &g) {
  return {g[0]};
}

static std::vector<Var> transferRop(const Node &, const std::vector<Var> &t) {
  return {t[0]};
}

static std::vector<Var> transferVectorize(const Node &n,
                                          const std::vector<Var> &ops,
                                          const std::vector<bool> &,
                                          const Var &) {
  return makeOp(n.kind(), ops);
}

Var gpuFromHost(const Var &x) { return makeOp(OpKind::GpuFromHost, {x})[0]; }
Var hostFromGpu(const Var &x) { return makeOp(OpKind::HostFromGpu, {x})[0]; }

bool isTransfer(OpKind kind) { return opFamily(kind) == OpFamily::Transfer; }

void registerTransferOps(OpDef *t) {
  t[(int)OpKind::GpuFromHost] = {transferTypes, transferShape, transferEval,
                                 transferGrad,  "x copied from host to GPU memory",
                                 transferRop,   transferVectorize};
  t[(int)OpKind::HostFromGpu] = {transferTypes, transferShape, transferEval,
                                 transferGrad,  "x copied from GPU to host memory",
                                 transferRop,   transferVectorize};
}

} // namespace thjit
