//===- Gradients.cpp - Helpers of the L-ops, R-ops and batch rules --------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

namespace thjit {

Var fitGradient(const Var &g, const Var &x) {
  Var r = g;
  // Leading axes x does not have (NumPy-style broadcasting of lower ranks).
  if (r.ndim() > x.ndim()) {
    std::vector<int> lead;
    for (int i = 0; i < r.ndim() - x.ndim(); ++i)
      lead.push_back(i);
    r = sum(r, Axes(lead));
  }
  // Axes x broadcasts: summed, kept as length 1.
  std::vector<int> stretched;
  int missing = x.ndim() - r.ndim(); // leading axes of a lower-rank g
  bool needsFill = missing > 0;
  for (int i = 0; i < x.ndim(); ++i) {
    bool xb = x.type()->isBroadcastable(i);
    bool rb = i < missing || r.type()->isBroadcastable(i - missing);
    if (xb && !rb)
      stretched.push_back(i - missing);
    if (!xb && rb)
      needsFill = true;
  }
  if (!stretched.empty())
    r = sum(r, Axes(stretched), true);
  if (r.dtype() != x.dtype() && isInexact(x.dtype()))
    r = cast(r, x.dtype());
  // A gradient that broadcasts where x does not is stretched to x's shape.
  if (needsFill)
    r = alloc(r, sizesOf(x));
  return r;
}

Var fitTangent(const Var &t, const Var &x) {
  Var r = t;
  if (r.dtype() != x.dtype())
    r = cast(r, x.dtype());
  bool needsFill = r.ndim() < x.ndim();
  for (int i = 0; i < x.ndim() && !needsFill; ++i) {
    int j = i - (x.ndim() - r.ndim());
    needsFill = r.type()->isBroadcastable(j) && !x.type()->isBroadcastable(i);
  }
  if (needsFill)
    r = alloc(r, sizesOf(x));
  return r;
}

/// The results of `node` that have tangents (float results), else undefined.
static std::vector<Var> floatResults(const Node &node,
                                     const std::vector<Var> &results) {
  std::vector<Var> out;
  for (int r = 0; r < node.numResults(); ++r)
    out.push_back(isFloat(node.resultTypes()[r]->dtype()) ? results[r] : Var());
  return out;
}

std::vector<Var> linearRop(const Node &node, const std::vector<Var> &t,
                           int values) {
  std::vector<Var> ops = node.operands();
  int n = values < 0 ? (int)ops.size() : values;
  for (int i = 0; i < n; ++i)
    ops[i] = t[i].defined() ? fitTangent(t[i], ops[i]) : zerosLike(ops[i]);
  return floatResults(node, makeOp(node.kind(), ops, node.attrs()));
}

std::vector<Var> linearRop(const Node &node, const std::vector<Var> &t) {
  return linearRop(node, t, -1);
}

std::vector<Var> multilinearRop(const Node &node, const std::vector<Var> &t) {
  std::vector<Var> sum(node.numResults());
  for (int i = 0; i < node.numOperands(); ++i) {
    if (!t[i].defined() || !isFloat(node.operand(i).dtype()))
      continue;
    std::vector<Var> ops = node.operands();
    ops[i] = fitTangent(t[i], ops[i]);
    std::vector<Var> term = makeOp(node.kind(), ops, node.attrs());
    for (int r = 0; r < node.numResults(); ++r)
      sum[r] = sum[r].defined() ? sum[r] + term[r] : term[r];
  }
  return floatResults(node, sum);
}

// ---- Batch rules ------------------------------------------------------------

Var batchOf(const Var &x, const Var &n) {
  std::vector<Operand> sizes{n};
  for (const Operand &s : sizesOf(x))
    sizes.push_back(s);
  return alloc(x, sizes);
}

Var alignBatched(const Var &x, int rank) {
  int items = x.ndim() - 1;
  if (items >= rank)
    return x;
  std::vector<int> pattern{0};
  pattern.insert(pattern.end(), rank - items, -1);
  for (int i = 1; i <= items; ++i)
    pattern.push_back(i);
  return dimshuffle(x, pattern);
}

std::vector<Var> elementwiseVectorize(const Node &node,
                                      const std::vector<Var> &operands,
                                      const std::vector<bool> &batched,
                                      const Var &) {
  int rank = node.resultTypes()[0]->ndim();
  std::vector<Var> ops = operands;
  for (size_t i = 0; i < ops.size(); ++i)
    if (batched[i])
      ops[i] = alignBatched(ops[i], rank);
  return makeOp(node.kind(), ops, node.attrs());
}

void cannotVectorize(const Node &node, const std::string &what) {
  throw NotImplementedError("cannot vectorize " + std::string(node.name()) +
                            node.whereCreated() + ": " + what +
                            " would differ between the items of the batch");
}

} // namespace thjit
