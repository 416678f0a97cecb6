//===- thjit/thjit.h - The one header a user includes -----------*- C++ -*-===//
///
/// \file
/// thjit's C++ API: symbolic variables and the op set (Ops.h), gradients
/// (Grad.h), compiled functions with updates (Function.h), arrays
/// (NDArray.h, Npy.h), and the exceptions every error is thrown as.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_THJIT_H
#define THJIT_THJIT_H

#include "thjit/Array/NDArray.h"
#include "thjit/Array/Npy.h"
#include "thjit/Grad/Grad.h"
#include "thjit/IR/Graph.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/Runtime/Function.h"
#include "thjit/Runtime/VerifyGrad.h"
#include "thjit/Support/Error.h"

#endif
