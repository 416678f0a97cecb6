//===- Gradients.cpp - Fitting gradients to the values they belong to -----===//
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
  bool needsFill = false;
  for (int i = 0; i < x.ndim(); ++i) {
    bool xb = x.type()->isBroadcastable(i), rb = r.type()->isBroadcastable(i);
    if (xb && !rb)
      stretched.push_back(i);
    if (!xb && rb)
      needsFill = true;
  }
  if (!stretched.empty())
    r = sum(r, Axes(stretched), true);
  if (r.dtype() != x.dtype() && isInexact(x.dtype()))
    r = cast(r, x.dtype());
  // A gradient that broadcasts where x does not is stretched to x's shape.
  if (needsFill) {
    std::vector<Operand> sizes;
    for (int i = 0; i < x.ndim(); ++i)
      sizes.push_back(shapeOf(x, i));
    r = alloc(r, sizes);
  }
  return r;
}

} // namespace thjit
