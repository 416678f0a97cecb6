//===- Transfer.cpp - The GPU transfer pass -------------------------------===//
#include "thjit/CodeGen/Transfer.h"
#include "Gemm.h"
#include "thjit/CodeGen/Plan.h"
#include "thjit/Ops/Ops.h"

#include <map>

namespace thjit::codegen {

bool hasGPULowering(const Node &n) {
  if (n.isLeaf())
    return false;
  if (isTransfer(n.kind()))
    return true;
  const StepKind kind = stepKindFor(n);
  if (kind == StepKind::DimShuffle || n.kind() == OpKind::Alloc) // views
    return true;
  for (const Var &v : n.operands()) // no complex kernels yet
    if (isComplex(v.dtype()))
      return false;
  for (const TensorType *t : n.resultTypes())
    if (isComplex(t->dtype()))
      return false;
  switch (kind) {
  case StepKind::Elemwise:
  case StepKind::Reduce:
    return true;
  case StepKind::Runtime: // softmax rows (Reduce.cpp), matrix products (Gemm.cpp)
    return n.kind() == OpKind::Softmax || n.kind() == OpKind::LogSoftmax ||
           gemmSpecFor(n).has_value();
  default:
    return false;
  }
}

bool anyOnGPU(const std::vector<Var> &shared) {
  for (const Var &v : shared)
    if (v.node()->sharedStorage()->device() == "cuda")
      return true;
  return false;
}

Graph transferToGPU(const Graph &g, const std::vector<bool> &onDevice) {
  // Each old value's new version on the host and on the GPU, made when
  // first needed.
  std::map<Var, Var, VarLess> host, gpu;
  auto onHost = [&](const Var &v) -> Var {
    if (v.isConstant())
      return v;
    auto it = host.find(v);
    if (it != host.end())
      return it->second;
    return host[v] = hostFromGpu(gpu.at(v));
  };
  auto onGPU = [&](const Var &v) -> Var {
    if (v.isConstant())
      return v;
    auto it = gpu.find(v);
    if (it != gpu.end())
      return it->second;
    return gpu[v] = gpuFromHost(host.at(v));
  };
  for (Node *n : g.nodes()) {
    if (n->isLeaf()) {
      Var v = n->result(0);
      if (v.isShared() && n->sharedStorage()->device() == "cuda")
        gpu[v] = v;
      else
        host[v] = v;
      continue;
    }
    const bool there = hasGPULowering(*n) && !isTransfer(n->kind());
    std::vector<Var> operands;
    for (int i = 0; i < n->numOperands(); ++i) {
      // alloc's sizes are read on the host
      const bool gpuOperand = there && !(n->kind() == OpKind::Alloc && i > 0);
      operands.push_back(gpuOperand ? onGPU(n->operand(i)) : onHost(n->operand(i)));
    }
    NodeRef rebuilt;
    {
      LocationScope scope(n->location());
      rebuilt = makeNode(n->kind(), std::move(operands), n->attrs(), n->resultTypes());
    }
    if (rebuilt->userName().empty())
      rebuilt->setUserName(n->userName());
    if (n->unfused())
      rebuilt->setUnfused(n->unfused());
    for (int i = 0; i < n->numResults(); ++i)
      (there ? gpu : host)[n->result(i)] = Var(rebuilt, i);
  }
  std::vector<Var> outs;
  for (size_t o = 0; o < g.outputs().size(); ++o) {
    const Var &v = g.outputs()[o];
    outs.push_back(o < onDevice.size() && onDevice[o] ? onGPU(v) : onHost(v));
  }
  return Graph(g.inputs(), outs);
}

} // namespace thjit::codegen
