//===- Npy.cpp - NumPy's .npy format --------------------------------------===//
#include "thjit/Array/Npy.h"
