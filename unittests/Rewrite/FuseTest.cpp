//===- FuseTest.cpp ----------------------------------------------------------===//
#include "RewriteTestUtil.h"

using namespace thjit;
using namespace thjit::test;
