//===- Error.cpp - Exceptions and creation locations ----------------------===//
#include "thjit/Support/Error.h"

namespace thjit {

std::string SourceLoc::str() const {
  if (!valid())
    return "";
  return (file.empty() ? std::string("<input>") : file) + ":" +
         std::to_string(line) + ":" + std::to_string(col);
}

static thread_local SourceLoc currentLoc;

const SourceLoc &currentLocation() { return currentLoc; }

LocationScope::LocationScope(SourceLoc loc) : saved(std::move(currentLoc)) {
  currentLoc = std::move(loc);
}
LocationScope::~LocationScope() { currentLoc = std::move(saved); }

void throwErrorOfKind(const std::string &kind, const std::string &message) {
#define THJIT_THROW_KIND(NAME)                                                 \
  if (kind == #NAME)                                                           \
    throw NAME(message);
  THJIT_ERROR_KINDS(THJIT_THROW_KIND)
#undef THJIT_THROW_KIND
  throw RuntimeError(message);
}

bool isErrorKind(const std::string &kind) {
#define THJIT_IS_KIND(NAME)                                                    \
  if (kind == #NAME)                                                           \
    return true;
  THJIT_ERROR_KINDS(THJIT_IS_KIND)
#undef THJIT_IS_KIND
  return false;
}

} // namespace thjit
