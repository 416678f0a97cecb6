//===- Transfer.cpp - The GPU transfer pass -------------------------------===//
#include "thjit/CodeGen/Transfer.h"
#include "thjit/CodeGen/GPU.h"
#include "Gemm.h"
#include "thjit/CodeGen/Plan.h"
#include "thjit/Ops/Ops.h"

#include <algorithm>
#include <map>
#include <set>

namespace thjit::codegen {

namespace {

/// Advanced indexing the copy module's kernels do (the index resolved on
/// the host): any x[index]; x[index] = y with y of x's dtype (the copies do
/// not convert); x[index] += y likewise.
bool isAdvancedIndexingOp(const Node &n) {
  switch (n.kind()) {
  case OpKind::AdvancedSubtensor:
    return true;
  case OpKind::AdvancedIncSubtensor:
  case OpKind::AdvancedSetSubtensor:
    return n.operand(1).dtype() == n.operand(0).dtype();
  default:
    return false;
  }
}

/// Whether the runtime does n by rearranging or copying memory on the GPU
/// (no kernel of its own): a view (dimshuffle, subtensor, split, a reshape
/// that can be one) or the copy module's kernels (join, set_subtensor,
/// other reshapes, advanced indexing). Any dtype; joins and writes of one
/// dtype only (the copies do not convert).
bool isGPULayoutOp(const Node &n) {
  switch (n.kind()) {
  case OpKind::DimShuffle:
  case OpKind::Subtensor:
  case OpKind::Reshape:
  case OpKind::Split:
    return true;
  case OpKind::AdvancedSubtensor:
  case OpKind::AdvancedSetSubtensor:
  case OpKind::AdvancedIncSubtensor:
    return isAdvancedIndexingOp(n);
  case OpKind::Join:
  case OpKind::SetSubtensor: {
    const int values = n.kind() == OpKind::Join ? n.numOperands() : 2;
    for (int i = 0; i < values; ++i)
      if (n.operand(i).dtype() != n.resultTypes()[0]->dtype())
        return false;
    return true;
  }
  default:
    return false;
  }
}

/// A shared variable that lives in GPU memory.
bool sharedOnGPU(const Node &n) {
  return n.isLeaf() && n.sharedStorage() && n.sharedStorage()->device() == "cuda";
}

} // namespace

bool readOnHost(const Node &n, int operand) {
  switch (n.kind()) {
  case OpKind::Alloc:
  case OpKind::Reshape:
  case OpKind::Split:
  case OpKind::Subtensor:
  case OpKind::AdvancedSubtensor: // (the index, resolved on the host)
    return operand > 0;
  case OpKind::SetSubtensor:
  case OpKind::AdvancedSetSubtensor:
  case OpKind::AdvancedIncSubtensor:
    return operand > 1;
  default:
    return false;
  }
}

bool hasGPULowering(const Node &n) {
  if (n.isLeaf())
    return false;
  if (isTransfer(n.kind()) || isGPULayoutOp(n) || n.kind() == OpKind::Alloc)
    return true;
  for (const Var &v : n.operands()) // no complex kernels yet
    if (isComplex(v.dtype()))
      return false;
  for (const TensorType *t : n.resultTypes())
    if (isComplex(t->dtype()))
      return false;
  switch (stepKindFor(n, PlanTarget::GPU)) {
  case StepKind::Elemwise:
  case StepKind::Reduce:
    return true;
  case StepKind::Runtime: // softmax rows (Reduce.cpp), matrix products (Gemm.cpp)
    return n.kind() == OpKind::Softmax || n.kind() == OpKind::LogSoftmax ||
           gemmSpecFor(n).has_value() || productAsSumFor(n, PlanTarget::GPU);
  default:
    return false;
  }
}

namespace {

bool allScalars(const Node &n) {
  for (const Var &v : n.operands())
    if (v.ndim() != 0)
      return false;
  for (const TensorType *t : n.resultTypes())
    if (t->ndim() != 0)
      return false;
  return true;
}

/// Where the transfer pass puts n, given whether an operand it reads on
/// the device is in GPU memory already. Theano's rule where memory is only
/// rearranged: go where the memory is (slicing a host array on the GPU
/// would upload all of it). Arithmetic on host scalars (an index, a size)
/// stays there too: a launch and a transfer each way cost more than it.
bool runsOnGPU(const Node &n, bool operandThere) {
  if (!hasGPULowering(n) || isTransfer(n.kind()))
    return false;
  return operandThere || !(isGPULayoutOp(n) || allScalars(n));
}

/// Whether an operand of n that it reads on the device is in `there`.
template <class Set> bool operandIn(const Node &n, const Set &there) {
  for (int i = 0; i < n.numOperands(); ++i)
    if (!readOnHost(n, i) && there.count(n.operand(i)))
      return true;
  return false;
}

} // namespace

bool isTransferred(const Graph &g) {
  for (Node *n : g.nodes())
    if (isTransfer(n->kind()) || sharedOnGPU(*n))
      return true;
  return false;
}

std::set<const Node *> nodesOnGPU(const Graph &g) {
  std::set<Var, VarLess> there;
  std::set<const Node *> nodes;
  for (Node *n : g.nodes()) {
    const bool on = n->isLeaf() ? sharedOnGPU(*n)
                                : n->kind() == OpKind::GpuFromHost ||
                                      runsOnGPU(*n, operandIn(*n, there));
    if (!on)
      continue;
    nodes.insert(n);
    for (int r = 0; r < n->numResults(); ++r)
      there.insert(n->result(r));
  }
  return nodes;
}

std::vector<bool> scalarsByValue(const Plan &plan, const Graph &g) {
  std::vector<bool> byValue(plan.values.size(), false);
  if (!isTransferred(g))
    return byValue;
  const std::set<const Node *> onGPU = nodesOnGPU(g);
  // Whether each value is computed on the GPU (a step's result where that
  // step runs; a leaf's where the graph has it).
  std::vector<bool> there(plan.values.size(), false);
  for (size_t v = 0; v < plan.values.size(); ++v)
    there[v] = onGPU.count(plan.values[v].var.node()) > 0;
  for (const Step &s : plan.steps)
    for (int r : s.results)
      there[r] = onGPU.count(userNode(s)) > 0;
  for (const Step &s : plan.steps) {
    if (!onGPU.count(userNode(s)) ||
        (s.kind != StepKind::Elemwise && s.kind != StepKind::Reduce))
      continue;
    for (int v : s.operands) {
      const ValueInfo &vi = plan.values[v];
      byValue[v] =
          byValue[v] || (vi.ndim == 0 && vi.root != RootKind::Constant && !there[v]);
    }
  }
  return byValue;
}

std::vector<bool> reorderedViews(const Plan &plan, const Graph &g) {
  std::vector<bool> reordered(plan.values.size(), false);
  const bool placed = isTransferred(g);
  const std::set<const Node *> onGPU = nodesOnGPU(g);
  for (const Step &s : plan.steps) {
    if (placed && !onGPU.count(userNode(s)))
      continue;
    switch (s.node->kind()) {
    case OpKind::DimShuffle: {
      std::vector<int> order; // the operand's dims kept, in the result's order
      for (int a : s.node->attrs().axes)
        if (a >= 0)
          order.push_back(a);
      reordered[s.results[0]] =
          reordered[s.operands[0]] || !std::is_sorted(order.begin(), order.end());
      break;
    }
    case OpKind::Subtensor:
    case OpKind::Split:
    case OpKind::Reshape:
    case OpKind::Alloc:
      for (int r : s.results)
        reordered[r] = reordered[s.operands[0]];
      break;
    default:
      break;
    }
  }
  return reordered;
}

bool anyOnGPU(const std::vector<Var> &shared) {
  for (const Var &v : shared)
    if (sharedOnGPU(*v.node()))
      return true;
  return false;
}

namespace {

using VarSet = std::set<Var, VarLess>;

/// transferToGPU's placement, where a layout node whose operand is in
/// `uploaded` (a host value the GPU reads anyway) and whose result is in
/// `needed` (read on the GPU, maybe through more views) counts as having
/// its operand there; the values it uploads go to `uploads` (when given).
Graph place(const Graph &g, const std::vector<bool> &onDevice, const VarSet &uploaded,
            const VarSet &needed, VarSet *uploads) {
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
    if (uploads)
      uploads->insert(v);
    return gpu[v] = gpuFromHost(host.at(v));
  };
  for (Node *n : g.nodes()) {
    if (n->isLeaf()) {
      Var v = n->result(0);
      (sharedOnGPU(*n) ? gpu : host)[v] = v;
      continue;
    }
    if (n->kind() == OpKind::Shape || n->kind() == OpKind::ShapeI) {
      // Only the operand's shape is read, on the host, wherever its
      // memory is: nothing moves.
      const Var &x = n->operand(0);
      const Var from = host.count(x) || x.isConstant() ? onHost(x) : gpu.at(x);
      LocationScope scope(n->location());
      host[n->result(0)] = makeNode(n->kind(), {from}, n->attrs(), n->resultTypes())->result(0);
      continue;
    }
    if (n->kind() == OpKind::IncSubtensor && gpu.count(n->operand(0)) &&
        !isComplex(n->operand(0).dtype()) &&
        n->operand(1).dtype() == n->operand(0).dtype()) {
      // x[index] += y as set_subtensor(x[index], x[index] + y): a view, a
      // kernel and a copy (basic indices select each element once).
      LocationScope scope(n->location());
      std::vector<Var> index;
      for (int i = 2; i < n->numOperands(); ++i)
        index.push_back(onHost(n->operand(i)));
      const Var x = onGPU(n->operand(0)), y = onGPU(n->operand(1));
      std::vector<Var> viewOperands{x};
      viewOperands.insert(viewOperands.end(), index.begin(), index.end());
      const Var view = makeOp(OpKind::Subtensor, viewOperands, n->attrs())[0];
      std::vector<Var> setOperands{x, makeOp(OpKind::Add, {view, y})[0]};
      setOperands.insert(setOperands.end(), index.begin(), index.end());
      gpu[n->result(0)] = makeOp(OpKind::SetSubtensor, setOperands, n->attrs())[0];
      continue;
    }
    // A view of a value uploaded anyway is taken there, whichever of its
    // readers comes first (x.T and x both read on the GPU: x goes up once).
    const bool view = isGPULayoutOp(*n) && operandIn(*n, uploaded) &&
                      needed.count(n->result(0));
    const bool there = runsOnGPU(*n, view || operandIn(*n, gpu));
    std::vector<Var> operands;
    for (int i = 0; i < n->numOperands(); ++i) {
      const Var &v = n->operand(i);
      // A kernel takes a host scalar by value (scalarsByValue): no upload.
      const bool byValue = stepKindFor(*n, PlanTarget::GPU) == StepKind::Elemwise &&
                           v.ndim() == 0 && !gpu.count(v);
      const bool gpuOperand = there && !readOnHost(*n, i) && !byValue;
      operands.push_back(gpuOperand ? onGPU(v) : onHost(v));
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

} // namespace

Graph transferToGPU(const Graph &g, const std::vector<bool> &onDevice) {
  // Placed in graph order, a view of a host value (x.T) read on the GPU
  // before anything uploads the value itself is taken on the host and
  // uploaded apart. So: place once to learn what goes up, then again with
  // such views taken on the GPU, where their operand goes anyway.
  VarSet uploaded;
  place(g, onDevice, {}, {}, &uploaded);
  // What the GPU reads: the uploads, and the operands of the views they
  // are made from.
  VarSet needed = uploaded;
  const std::vector<Node *> &nodes = g.nodes();
  for (auto n = nodes.rbegin(); n != nodes.rend(); ++n)
    if (!(*n)->isLeaf() && isGPULayoutOp(**n) && needed.count((*n)->result(0)))
      for (int i = 0; i < (*n)->numOperands(); ++i)
        if (!readOnHost(**n, i))
          needed.insert((*n)->operand(i));
  return place(g, onDevice, uploaded, needed, nullptr);
}

} // namespace thjit::codegen
