//===- Stabilize.cpp - The stabilize pass's rewrites --------------------------------===//
#include "Match.h"

namespace thjit {

const RewriteSet *stabilizeRewrites() {
  static const RewriteSet set({});
  return &set;
}

} // namespace thjit
