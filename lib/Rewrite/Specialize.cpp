//===- Specialize.cpp - The specialize pass's rewrites --------------------------------===//
#include "Match.h"

namespace thjit {

const RewriteSet *specializeRewrites() {
  static const RewriteSet set({});
  return &set;
}

} // namespace thjit
