//===- Plan.cpp - Frame layout, steps and buffer slots of a graph ---------===//
#include "thjit/CodeGen/Plan.h"
#include "GPU/Gemm.h"

#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <limits>
#include <sstream>
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

StepKind stepKindFor(const Node &node, PlanTarget target) {
  switch (opFamily(node.kind())) {
  case OpFamily::Elemwise:
    return anyComplex(node) ? StepKind::Runtime : StepKind::Elemwise;
  case OpFamily::Reduce:
    // On the CPU, half-precision inputs would accumulate in half where the
    // output is the accumulator; the reference kernel accumulates in
    // double, and so do the GPU's kernels.
    if (anyComplex(node) ||
        (target == PlanTarget::CPU && node.operand(0).dtype() == DType::Float16))
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

Var productAsSumFor(const Node &n, PlanTarget target) {
  if (!isBlasProduct(n.kind()) ||
      (target == PlanTarget::CPU ? isBlasDType(n.resultTypes()[0]->dtype())
                                 : gemmSpecFor(n).has_value()))
    return Var();
  Var e = productAsSum(n);
  return e && e.type() == n.resultTypes()[0] ? e : Var();
}

std::string programKey(const ScalarProgram &p) {
  std::ostringstream os;
  os << std::hexfloat;
  for (DType t : p.inputs)
    os << dtypeShortName(t) << ' ';
  for (const ScalarProgram::Op &op : p.ops) {
    os << '(' << opName(op.kind) << ' ' << dtypeShortName(op.dtype) << ' '
       << (op.castTo ? dtypeShortName(*op.castTo) : "-") << ' ' << op.floatValue
       << ' ' << op.intValue;
    for (int a : op.args)
      os << ' ' << a;
    os << ')';
  }
  for (int o : p.outputs)
    os << " o" << o;
  return os.str();
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

int scratchWords(const Step &s) {
  switch (s.kind) {
  case StepKind::Elemwise:
    // The step function is passed the first result's slot.
    return kElemwiseScratch + (int)s.results.size() - 1;
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
    if (i < 0 || readers[x] != 1 || p.steps[i].kind != StepKind::Elemwise ||
        p.steps[i].results.size() != 1)
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

/// Whether element-wise step s may write its result over operand k: the
/// same dtype, and a shape equal at run time (k is broadcast only where the
/// result has size 1 too).
static bool sameLayout(const Plan &p, const Step &s, int k) {
  const TensorType *t = p.values[s.operands[k]].var.type();
  const TensorType *r = p.values[s.results[0]].var.type();
  if (t->dtype() != r->dtype() || t->ndim() != r->ndim())
    return false;
  for (int d = 0; d < t->ndim(); ++d)
    if (t->isBroadcastable(d) && !r->isBroadcastable(d))
      return false;
  return true;
}

static bool writesSubtensor(const Step &s) {
  return s.kind == StepKind::Runtime &&
         (s.node->kind() == OpKind::SetSubtensor ||
          s.node->kind() == OpKind::IncSubtensor);
}

/// Steps that compute the new value of a shared variable from its old one
/// (W - lr * g, inc_subtensor(W[i], d), gemm(W, -lr, A, B, 1)) and whose
/// result no step reads may
/// write it over the old value: they are moved last (the commit group),
/// ordered so that a step reading a variable comes before the one writing
/// it. Whether each really may (nothing after it reads the old value) is
/// settled with the liveness of memory, in assignMemory.
static void orderSharedUpdates(Plan &p) {
  // A graph op's own call reads shared variables while this one holds the
  // right to write them: none in place then.
  for (const Step &s : p.steps)
    if (s.node->kind() == OpKind::OpFromGraph) {
      p.firstCommit = (int)p.steps.size();
      return;
    }
  std::vector<int> readers(p.values.size(), 0);
  for (const Step &s : p.steps) {
    for (int v : s.operands)
      ++readers[v];
    for (int v : s.originOperands)
      ++readers[v];
  }
  std::vector<int> sharedOf(p.steps.size(), -1); // the variable step i writes
  for (size_t i = 0; i < p.steps.size(); ++i) {
    Step &s = p.steps[i];
    if (s.results.size() != 1 || readers[s.results[0]])
      continue;
    int j = -1;
    for (size_t o = 0; o < p.outputValues.size() && j < 0; ++o)
      if (p.outputValues[o] == s.results[0])
        j = p.outputUpdates[o];
    if (j < 0)
      continue;
    const int old = p.sharedValues[j];
    int k = -1;
    if (s.kind == StepKind::Elemwise && !s.program->mayFail()) {
      for (size_t m = 0; m < s.operands.size() && k < 0; ++m)
        if (s.operands[m] == old && sameLayout(p, s, (int)m))
          k = (int)m;
      for (int u : s.operands) // a transposed read of what is written
        if (u != old && p.values[u].owner == old)
          k = -1;
    } else if (writesSubtensor(s) && s.operands[0] == old) {
      k = 0; // the value written is copied first where it views x
    } else if (s.kind == StepKind::Runtime && s.node->kind() == OpKind::Gemm &&
               s.operands[0] == old &&
               p.values[old].dtype == p.values[s.results[0]].dtype) {
      k = 0; // C, which BLAS scales and adds to: A and B must not view it
      for (size_t m = 1; m < s.operands.size(); ++m)
        if (p.values[s.operands[m]].owner == old)
          k = -1;
    }
    if (k < 0)
      continue;
    s.inPlace = k;
    sharedOf[i] = j;
  }
  auto readsShared = [&](const Step &s, int j) {
    for (int u : s.operands)
      if (p.values[u].owner == p.sharedValues[j])
        return true;
    return false;
  };
  std::vector<size_t> rest, commit;
  std::vector<Step> steps;
  for (size_t i = 0; i < p.steps.size(); ++i)
    if (sharedOf[i] >= 0)
      rest.push_back(i);
    else
      steps.push_back(std::move(p.steps[i]));
  p.firstCommit = (int)steps.size();
  while (!rest.empty()) {
    size_t pick = 0;
    bool found = false;
    for (size_t c = 0; c < rest.size() && !found; ++c) {
      found = true;
      for (size_t d = 0; d < rest.size() && found; ++d)
        if (d != c && readsShared(p.steps[rest[d]], sharedOf[rest[c]]))
          found = false;
      if (found)
        pick = c;
    }
    if (!found) // each reads what another writes: this one writes a copy
      p.steps[rest[0]].inPlace = -1;
    steps.push_back(std::move(p.steps[rest[pick]]));
    rest.erase(rest.begin() + (long)pick);
  }
  p.steps = std::move(steps);
}

/// Buffer slots by liveness, and which results take an operand's memory.
/// A value's memory stays live while any value that may view it is used; a
/// runtime result may view any of its operands (reference kernels return
/// views for reshape, subtensor, ...), except a product's (in a slot) and a
/// subtensor write's (a copy, or in place). Memory written in place is one buffer for two values: a
/// union-find joins them, and the buffer lives as long as the last.
static void assignMemory(Plan &p) {
  const int end = std::numeric_limits<int>::max();
  const int numSteps = (int)p.steps.size();
  std::vector<int> lastUse(p.values.size(), -1);
  for (int i = 0; i < numSteps; ++i) {
    for (int v : p.steps[i].operands)
      lastUse[v] = i;
    for (int v : p.steps[i].originOperands) // read again on an error
      lastUse[v] = i;
  }
  for (int v : p.outputValues)
    lastUse[v] = end;
  // Propagate from views to what they view, latest steps first.
  for (int i = numSteps; i-- > 0;) {
    const Step &s = p.steps[i];
    int live = -1;
    for (int r : s.results)
      live = std::max(live, lastUse[r]);
    if (s.kind == StepKind::DimShuffle ||
        (s.kind == StepKind::Runtime && !writesSubtensor(s) &&
         !isBlasProduct(s.node->kind())))
      for (int v : s.operands)
        lastUse[p.values[v].owner] = std::max(lastUse[p.values[v].owner], live);
  }

  // The commit group: an update is written in place only when nothing after
  // it reads the old value. Its operands are read in the second phase,
  // after every step of the group has allocated: they live to the end.
  p.sharedInPlaceWords.assign(p.shareds.size(), -1);
  for (int i = p.firstCommit; i < numSteps; ++i) {
    Step &s = p.steps[i];
    if (s.inPlace < 0)
      continue;
    int old = s.operands[s.inPlace];
    if (lastUse[old] != i) {
      s.inPlace = -1;
      continue;
    }
    int j = p.values[old].rootIndex;
    p.sharedInPlaceWords[j] = p.frameSize++;
    p.values[s.results[0]].inPlaceShared = j;
  }
  if (std::all_of(p.steps.begin() + p.firstCommit, p.steps.end(),
                  [](const Step &s) { return s.inPlace < 0; }))
    p.firstCommit = numSteps; // nothing in place: one phase will do
  for (int i = p.firstCommit; i < numSteps; ++i)
    for (const std::vector<int> *vs :
         {&p.steps[i].operands, &p.steps[i].originOperands})
      for (int v : *vs) {
        lastUse[v] = std::max(lastUse[v], numSteps - 1);
        int o = p.values[v].owner;
        lastUse[o] = std::max(lastUse[o], numSteps - 1);
      }

  // Which steps write into a slot of their own; which results fill a whole
  // slot (contiguous, of their own shape): those an element-wise step may
  // write over.
  auto allocates = [](const Step &s) {
    return s.kind == StepKind::Elemwise || s.kind == StepKind::Reduce ||
           s.kind == StepKind::ShapeI ||
           (s.kind == StepKind::Runtime && isBlasProduct(s.node->kind()));
  };
  std::vector<bool> wholeSlot(p.values.size(), false);
  for (const Step &s : p.steps)
    if (allocates(s))
      for (int r : s.results)
        wholeSlot[r] = true;
  std::vector<int> group(p.values.size());
  for (size_t v = 0; v < p.values.size(); ++v)
    group[v] = p.values[v].owner;
  std::function<int(int)> find = [&](int v) {
    return group[v] == v ? v : group[v] = find(group[v]);
  };
  auto join = [&](int result, int operand) {
    int g = find(operand);
    group[result] = g;
    lastUse[g] = std::max(lastUse[g], lastUse[result]);
  };
  for (int i = 0; i < p.firstCommit; ++i) {
    Step &s = p.steps[i];
    // A loop with several results writes each in memory of its own.
    if (s.kind == StepKind::Elemwise && !s.program->mayFail() &&
        s.results.size() == 1) {
      for (size_t k = 0; k < s.operands.size() && s.inPlace < 0; ++k) {
        int v = s.operands[k];
        if (!wholeSlot[v] || !sameLayout(p, s, (int)k) || lastUse[find(v)] != i)
          continue;
        bool alone = true; // no other operand reads this memory
        for (int u : s.operands)
          alone = alone && (u == v || find(u) != find(v));
        if (!alone)
          continue;
        s.inPlace = (int)k;
        int r = s.results[0];
        join(r, v);
        wholeSlot[r] = true;
        p.values[r].owner = find(v);
      }
    } else if (writesSubtensor(s)) {
      int x = s.operands[0];
      RootKind root = p.values[p.values[x].owner].root;
      if ((root == RootKind::Slot || root == RootKind::RuntimeResult) &&
          lastUse[find(x)] == i) {
        s.inPlace = 0;
        join(s.results[0], x);
      }
    }
  }

  std::vector<int> freeSlots;
  std::vector<std::pair<int, int>> busy; // (last use, slot)
  for (int i = 0; i < numSteps; ++i) {
    const Step &s = p.steps[i];
    bool takesOperand = s.kind == StepKind::Elemwise && s.inPlace >= 0 &&
                        p.values[s.results[0]].inPlaceShared < 0;
    if (allocates(s) && !takesOperand) {
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
        busy.push_back({lastUse[find(r)], slot});
      }
    }
    // Slots whose value is dead after this step become free for later
    // steps (never for this one: its operands are still being read).
    for (size_t b = 0; b < busy.size();) {
      if (busy[b].first <= i) {
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
  // Views live in their owner's memory (owners come before their views).
  for (ValueInfo &v : p.values) {
    v.owner = p.values[v.owner].owner;
    v.root = p.values[v.owner].root;
    v.rootIndex = p.values[v.owner].rootIndex;
  }
}

std::vector<int> updateIndices(const Graph &g, const std::vector<Var> &updates) {
  std::unordered_map<Node *, int> index;
  for (const Var &v : g.sharedVariables())
    index.emplace(v.node(), (int)index.size());
  std::vector<int> out(g.outputs().size(), -1);
  for (size_t o = 0; o < updates.size() && o < out.size(); ++o)
    if (updates[o].defined())
      if (auto it = index.find(updates[o].node()); it != index.end())
        out[o] = it->second;
  return out;
}

Plan makePlan(const Graph &g, const std::vector<Var> &updates, PlanTarget target) {
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
    s.kind = stepKindFor(*n, target);
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
    // The identity on values (transfers copy only on the GPU's runtime).
    if (isGradControl(n->kind()) || isTransfer(n->kind())) {
      valueOf[n->result(0)] = valueOf.at(n->operand(0));
      continue;
    }
    // A product BLAS (CPU) or a GEMM kernel (GPU) does not compute is
    // generated code: its sum-of-products form, planned node by node (the
    // product fuses into the sum: no intermediate array). Errors re-run n.
    if (isBlasProduct(n->kind()))
      if (Var e = productAsSumFor(*n, target)) {
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
        // Where the lowering ends in a cast of its sum to the product's
        // dtype, the reduction stores its accumulator in that dtype, and no
        // loop converts the result. Integers wrap alike (not bool, whose
        // sum counts); on the GPU, floats round once from the double
        // accumulator, as the cast does (the CPU's column kernels add up in
        // the result's memory: its floats keep the cast).
        Node *last = e.node();
        const DType t = e.dtype();
        const bool castSum = last->kind() == OpKind::Cast && t != DType::Bool &&
                             (!isFloat(t) || target == PlanTarget::GPU) &&
                             last->operand(0).node()->kind() == OpKind::Sum &&
                             stepKindFor(*last->operand(0).node(), target) == StepKind::Reduce;
        for (Node *m : order) // the lowering's constants are leaves
          if (!(castSum && m == last) && !planLeaf(m))
            planNode(m, n);
        if (castSum) {
          const int v = valueOf.at(last->operand(0));
          p.values[v].var = e;
          p.values[v].dtype = t;
          valueOf[e] = v;
        }
        valueOf[n->result(0)] = valueOf.at(e);
        continue;
      }
    planNode(n, nullptr);
  }
  for (const Var &o : g.outputs())
    p.outputValues.push_back(valueOf.at(o));
  fuseProducersIntoReductions(p);
  p.outputUpdates = updateIndices(g, updates); // shareds are in node order
  orderSharedUpdates(p);
  for (Step &s : p.steps) {
    if (s.kind == StepKind::Elemwise || s.kind == StepKind::Reduce) {
      s.args = p.frameSize;
      p.frameSize += (int)s.kernelValues().size();
    }
    if (int words = scratchWords(s)) {
      s.scratch = p.frameSize;
      p.frameSize += words;
    }
  }
  assignMemory(p);
  return p;
}

static const char *stepKindName(StepKind k) {
  switch (k) {
  case StepKind::Elemwise:
    return "loop";
  case StepKind::Reduce:
    return "reduce";
  case StepKind::DimShuffle:
    return "view";
  case StepKind::ShapeI:
    return "shape";
  case StepKind::Runtime:
    return "runtime";
  }
  return "?";
}

std::string printPlan(const Plan &p, const std::vector<std::string> &where) {
  auto name = [&](int v) {
    const Var &var = p.values[v].var;
    return var.name().empty() ? "%" + std::to_string(v) : var.name();
  };
  auto memory = [&](int v, bool inPlace) -> std::string {
    const ValueInfo &vi = p.values[v];
    std::string of = vi.owner == v || inPlace ? "" : " (a view of " + name(vi.owner) + ")";
    switch (vi.root) {
    case RootKind::Input:
      return "input" + of;
    case RootKind::Shared:
      return "shared" + of;
    case RootKind::Constant:
      return "constant" + of;
    case RootKind::Slot:
      return "buffer " + std::to_string(vi.rootIndex) + of;
    case RootKind::RuntimeResult:
      return "returned by the runtime";
    }
    return "?";
  };
  std::ostringstream os;
  os << p.steps.size() << " steps";
  if (where.empty()) // a GPU call allocates its results itself
    os << ", " << p.numSlots << " buffers";
  os << '\n';
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step &s = p.steps[i];
    if ((int)i == p.firstCommit)
      os << "  -- updates in place: every step checks, then every step writes\n";
    os << "  " << i << ": " << stepKindName(s.kind) << ' ';
    for (size_t r = 0; r < s.results.size(); ++r)
      os << (r ? ", " : "") << name(s.results[r]);
    os << " = " << (s.producer ? std::string(s.producer->name()) + " into " : "")
       << s.node->name() << '(';
    for (size_t k = 0; k < s.operands.size(); ++k)
      os << (k ? ", " : "") << name(s.operands[k]);
    os << ')';
    if (i < where.size()) {
      os << "  " << where[i] << '\n';
      continue;
    }
    if (s.inPlace >= 0) {
      int v = s.operands[s.inPlace];
      os << "  in place of " << name(v);
      // Decided by the call where the memory may be held elsewhere.
      bool checked = p.values[v].root == RootKind::Shared || s.kind == StepKind::Runtime;
      os << (checked ? " when nothing else holds it, else " : ", ");
    } else {
      os << "  ";
    }
    for (size_t r = 0; r < s.results.size(); ++r)
      os << (r ? ", " : "") << memory(s.results[r], s.inPlace >= 0);
    os << '\n';
  }
  for (size_t o = 0; o < p.outputValues.size(); ++o) {
    os << "  " << (p.outputUpdates[o] >= 0
                       ? "update " + name(p.sharedValues[p.outputUpdates[o]])
                       : "output " + std::to_string(o))
       << ": " << name(p.outputValues[o]) << '\n';
  }
  return os.str();
}

} // namespace thjit::codegen
