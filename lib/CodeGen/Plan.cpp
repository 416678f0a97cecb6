//===- Plan.cpp - Frame layout, steps and buffer slots of a graph ---------===//
#include "thjit/CodeGen/Plan.h"

#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <limits>
#include <unordered_map>

namespace thjit::codegen {

static bool anyComplex(const Node &n) {
  for (const Var &v : n.operands())
    if (isComplex(v.dtype()))
      return true;
  for (const TensorType *t : n.resultTypes())
    if (isComplex(t->dtype()))
      return true;
  return false;
}

StepKind stepKindFor(const Node &node) {
  switch (opFamily(node.kind())) {
  case OpFamily::Elemwise:
    return anyComplex(node) ? StepKind::Runtime : StepKind::Elemwise;
  case OpFamily::Reduce:
    // Half-precision inputs would accumulate in half where the output is the
    // accumulator; the reference kernel accumulates in double.
    if (anyComplex(node) || node.operand(0).dtype() == DType::Float16)
      return StepKind::Runtime;
    return StepKind::Reduce;
  default:
    break;
  }
  if (node.kind() == OpKind::DimShuffle)
    return StepKind::DimShuffle;
  if (node.kind() == OpKind::ShapeI)
    return StepKind::ShapeI;
  return StepKind::Runtime;
}

ScalarProgram programOf(const Node &n) {
  ScalarProgram p;
  if (n.kind() == OpKind::Composite) {
    p = *n.attrs().program;
  } else {
    ScalarProgram::Op op{n.kind(), {}, n.resultTypes()[0]->dtype(),
                         n.attrs().dtype};
    for (int i = 0; i < n.numOperands(); ++i) {
      p.inputs.push_back(n.operand(i).dtype());
      op.args.push_back(i);
    }
    p.ops.push_back(op);
    p.outputs.push_back(n.numOperands());
  }
  // Fold 0-d constants as immediates into a fused node's program (its
  // kernel is its own: immediates cost no registers) and, in any program,
  // where the value shapes the code: an exponent (x ** 2 is a
  // multiplication) or a divisor (LLVM divides by a constant with a
  // multiplication). A single op's other constants stay operands, loaded
  // once per kernel: as fast, and nodes that differ only in them (x * 0.5,
  // x * 0.25) share a kernel. Each immediate is an op placed before the
  // others (an op may only refer to earlier values), which are renumbered.
  const int numInputs = (int)p.inputs.size();
  std::vector<bool> shapesCode(numInputs, p.ops.size() > 1);
  for (const ScalarProgram::Op &op : p.ops)
    if ((op.kind == OpKind::Pow || op.kind == OpKind::TrueDiv ||
         op.kind == OpKind::FloorDiv || op.kind == OpKind::Mod) &&
        op.args[1] < numInputs)
      shapesCode[op.args[1]] = true;
  std::vector<int> immediate(numInputs, -1);
  std::vector<ScalarProgram::Op> consts;
  for (int i = 0; i < numInputs; ++i) {
    const Var &v = n.operand(i);
    if (!shapesCode[i] || !v.isConstant() || v.ndim() != 0 || isComplex(v.dtype()))
      continue;
    Scalar value = v.constantValue().item();
    ScalarProgram::Op c{OpKind::Constant, {}, v.dtype(), {}};
    if (isFloat(v.dtype()))
      c.floatValue = value.toDouble();
    else if (v.dtype() == DType::UInt64)
      c.intValue = (int64_t)value.toUInt();
    else
      c.intValue = value.toInt();
    immediate[i] = numInputs + (int)consts.size();
    consts.push_back(c);
  }
  if (consts.empty())
    return p;
  auto remap = [&](int a) {
    return a < numInputs ? (immediate[a] >= 0 ? immediate[a] : a)
                         : a + (int)consts.size();
  };
  for (ScalarProgram::Op &op : p.ops)
    for (int &a : op.args)
      a = remap(a);
  for (int &o : p.outputs)
    o = remap(o);
  p.ops.insert(p.ops.begin(), consts.begin(), consts.end());
  return p;
}

int scratchWords(StepKind k) {
  switch (k) {
  case StepKind::Elemwise:
    return 3; // collapsed inner dims, rows, streaming or not
  case StepKind::Reduce:
    return 1; // the partial results' buffer
  default:
    return 0;
  }
}

/// A reduction that is the only reader of an element-wise result computes
/// that result's elements itself: the producer's step goes, and its result
/// never has memory.
static void fuseProducersIntoReductions(Plan &p) {
  std::vector<int> readers(p.values.size(), 0), producer(p.values.size(), -1);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    for (int v : p.steps[i].operands)
      ++readers[v];
    for (int r : p.steps[i].results)
      producer[r] = (int)i;
  }
  for (int v : p.outputValues)
    ++readers[v];
  std::vector<bool> fused(p.steps.size(), false);
  for (Step &s : p.steps) {
    if (s.kind != StepKind::Reduce)
      continue;
    int x = s.operands[0], i = producer[x];
    if (i < 0 || readers[x] != 1 || p.steps[i].kind != StepKind::Elemwise)
      continue;
    Step &e = p.steps[i];
    s.producer = e.node;
    s.operands = e.operands;
    s.program = e.program;
    fused[i] = true;
  }
  size_t kept = 0;
  for (size_t i = 0; i < p.steps.size(); ++i)
    if (!fused[i]) {
      if (kept != i)
        p.steps[kept] = std::move(p.steps[i]);
      ++kept;
    }
  p.steps.resize(kept);
}

Plan makePlan(const Graph &g) {
  Plan p;
  std::unordered_map<Var, int, VarHash> valueOf;
  auto addValue = [&](const Var &v, RootKind root, int rootIndex) {
    ValueInfo info;
    info.var = v;
    info.dtype = v.dtype();
    info.ndim = v.ndim();
    info.frameOffset = p.frameSize;
    info.root = root;
    info.rootIndex = rootIndex;
    info.owner = (int)p.values.size();
    p.frameSize += 1 + 2 * info.ndim;
    p.values.push_back(info);
    valueOf[v] = info.owner;
    return info.owner;
  };

  std::unordered_map<Node *, int> inputIndex;
  for (size_t i = 0; i < g.inputs().size(); ++i)
    inputIndex[g.inputs()[i].node()] = (int)i;
  p.inputValues.assign(g.inputs().size(), -1);

  // A step for node n (part of the user's node `origin` when n comes from
  // a lowering, see below).
  auto planNode = [&](Node *n, Node *origin) {
    Step s;
    s.kind = stepKindFor(*n);
    s.node = n;
    for (const Var &v : n->operands())
      s.operands.push_back(valueOf.at(v));
    if (origin) {
      s.origin = origin;
      for (const Var &v : origin->operands())
        s.originOperands.push_back(valueOf.at(v));
    }
    for (int r = 0; r < n->numResults(); ++r) {
      int v = addValue(n->result(r), RootKind::Slot, -1);
      if (s.kind == StepKind::Runtime) {
        p.values[v].root = RootKind::RuntimeResult;
        p.values[v].rootIndex = v;
      } else if (s.kind == StepKind::DimShuffle) {
        const ValueInfo &src = p.values[s.operands[0]];
        p.values[v].root = src.root;
        p.values[v].rootIndex = src.rootIndex;
        p.values[v].owner = src.owner;
      }
      s.results.push_back(v);
    }
    if (s.kind == StepKind::Elemwise) {
      s.program = std::make_shared<ScalarProgram>(programOf(*n));
    } else if (s.kind == StepKind::Reduce) {
      auto identity = std::make_shared<ScalarProgram>();
      identity->inputs = {n->operand(0).dtype()};
      identity->outputs = {0};
      s.program = identity;
      s.source = s.operands[0];
    }
    p.steps.push_back(std::move(s));
  };

  // Leaves are values without a step; false for other nodes.
  auto planLeaf = [&](Node *n) {
    switch (n->kind()) {
    case OpKind::Input:
      p.inputValues[inputIndex.at(n)] =
          addValue(n->result(0), RootKind::Input, inputIndex.at(n));
      return true;
    case OpKind::Shared:
      p.sharedValues.push_back(addValue(n->result(0), RootKind::Shared,
                                        (int)p.shareds.size()));
      p.shareds.push_back(n->result(0));
      return true;
    case OpKind::Constant:
      p.constantValues.push_back(addValue(n->result(0), RootKind::Constant,
                                          (int)p.constants.size()));
      p.constants.push_back(n->constantValue());
      return true;
    default:
      return false;
    }
  };

  for (Node *n : g.nodes()) {
    if (planLeaf(n))
      continue;
    if (isGradControl(n->kind())) { // the identity on values
      valueOf[n->result(0)] = valueOf.at(n->operand(0));
      continue;
    }
    // A product BLAS cannot take (integers, booleans, float16) is generated
    // loops: its sum-of-products form, planned node by node (the product
    // fuses into the sum: no intermediate array). Errors re-run n.
    if (isBlasProduct(n->kind()) && !isBlasDType(n->result(0).dtype()))
      if (Var e = productAsSum(*n); e && e.type() == n->result(0).type()) {
        std::vector<Node *> order;
        std::unordered_set<Node *> seen;
        std::function<void(Node *)> visit = [&](Node *m) {
          if (!seen.insert(m).second)
            return;
          for (const Var &v : m->operands())
            if (!valueOf.count(v))
              visit(v.node());
          order.push_back(m);
        };
        visit(e.node());
        for (Node *m : order) // the lowering's constants are leaves
          if (!planLeaf(m))
            planNode(m, n);
        valueOf[n->result(0)] = valueOf.at(e);
        continue;
      }
    planNode(n, nullptr);
  }
  for (const Var &o : g.outputs())
    p.outputValues.push_back(valueOf.at(o));
  fuseProducersIntoReductions(p);
  for (Step &s : p.steps) {
    if (s.kind == StepKind::Elemwise || s.kind == StepKind::Reduce) {
      s.args = p.frameSize;
      p.frameSize += (int)s.kernelValues().size();
    }
    if (int words = scratchWords(s.kind)) {
      s.scratch = p.frameSize;
      p.frameSize += words;
    }
  }

  // Buffer slots by liveness. A value's memory stays live while any value
  // that may view it is used; a runtime result may view any of its operands
  // (reference kernels return views for reshape, subtensor, ...).
  const int end = std::numeric_limits<int>::max();
  std::vector<int> lastUse(p.values.size(), -1);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    for (int v : p.steps[i].operands)
      lastUse[v] = (int)i;
    for (int v : p.steps[i].originOperands) // read again on an error
      lastUse[v] = (int)i;
  }
  for (int v : p.outputValues)
    lastUse[v] = end;
  // Propagate from views to what they view, latest steps first.
  for (size_t i = p.steps.size(); i-- > 0;) {
    const Step &s = p.steps[i];
    int live = -1;
    for (int r : s.results)
      live = std::max(live, lastUse[r]);
    if (s.kind == StepKind::DimShuffle || s.kind == StepKind::Runtime)
      for (int v : s.operands)
        lastUse[p.values[v].owner] = std::max(lastUse[p.values[v].owner], live);
  }
  std::vector<int> freeSlots;
  std::vector<std::pair<int, int>> busy; // (last use, slot)
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step &s = p.steps[i];
    if (s.kind == StepKind::Elemwise || s.kind == StepKind::Reduce ||
        s.kind == StepKind::ShapeI ||
        (s.kind == StepKind::Runtime && isBlasProduct(s.node->kind()))) {
      for (int r : s.results) {
        int slot;
        if (!freeSlots.empty()) {
          slot = freeSlots.back();
          freeSlots.pop_back();
        } else {
          slot = p.numSlots++;
        }
        p.values[r].root = RootKind::Slot;
        p.values[r].rootIndex = slot;
        busy.push_back({lastUse[r], slot});
      }
    }
    // Slots whose value is dead after this step become free for later
    // steps (never for this one: its operands are still being read).
    for (size_t b = 0; b < busy.size();) {
      if (busy[b].first <= (int)i) {
        freeSlots.push_back(busy[b].second);
        busy[b] = busy.back();
        busy.pop_back();
      } else {
        ++b;
      }
    }
    std::sort(freeSlots.rbegin(), freeSlots.rend());
  }
  for (Step &s : p.steps)
    if (s.kind == StepKind::Reduce)
      s.scratchSlot = p.numSlots++;
  // Views live in their owner's memory.
  for (ValueInfo &v : p.values) {
    v.root = p.values[v.owner].root;
    v.rootIndex = p.values[v.owner].rootIndex;
  }
  return p;
}

} // namespace thjit::codegen
