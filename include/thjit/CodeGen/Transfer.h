//===- thjit/CodeGen/Transfer.h - Moving a graph to the GPU -----*- C++ -*-===//
///
/// \file
/// Theano's transfer: a graph compiled for the GPU runs each node that has
/// a GPU lowering there, and copies values between host and GPU memory
/// only at the edges, where `gpu_from_host` and `host_from_gpu` nodes show
/// it in the printed graph. Nodes without a GPU lowering stay on the host,
/// between a `host_from_gpu` of their operands and a `gpu_from_host` of
/// their results.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_CODEGEN_TRANSFER_H
#define THJIT_CODEGEN_TRANSFER_H

#include "thjit/CodeGen/Plan.h"
#include "thjit/IR/Graph.h"

#include <set>
#include <vector>

namespace thjit::codegen {

/// Whether the GPU back end runs this node on the GPU: element-wise steps
/// (single ops and fused composites), reductions (sum, prod, max, min, all,
/// any, argmax, argmin over any axes), softmax / log_softmax, and dot, gemm
/// and batched_dot of float16, float32 or float64 vectors and matrices
/// (factors of the result's dtype), over real and boolean values (complex
/// ones stay on the host); alloc (its value broadcast to sizes read on the
/// host); what only rearranges or copies memory: dimshuffle, subtensor
/// (basic indexing), reshape, split, join and set_subtensor of one dtype,
/// and advanced indexing (x[index] of any dtype, x[index] = y of one dtype,
/// x[index] += y for float32, float64 and 32- and 64-bit integers); and the
/// transfers themselves.
bool hasGPULowering(const Node &n);

/// Whether the GPU runtime reads operand `operand` of a node it runs on the
/// host: sizes and indices (of alloc, reshape, split, and basic and
/// advanced indexing).
bool readOnHost(const Node &n, int operand);

/// The graph with its GPU work marked by transfers. Values that live on the
/// GPU: results of nodes with a GPU lowering, shared variables whose device
/// is "cuda", and gpu_from_host results. Nodes that only rearrange or copy
/// memory, and arithmetic on scalars, go to the GPU only when an operand is
/// there already (so slicing a host array never uploads all of it), or, for
/// the former, when their operand goes up anyway and what they make is read
/// there (x.T of an x the GPU also reads: x goes up once, whatever the
/// order of the graph).
/// inc_subtensor(x[index], y) of an x on the GPU (real, y of its dtype)
/// becomes set_subtensor(x[index], x[index] + y) there. Each value crosses at most once
/// each way (one transfer node per value and direction); constants are
/// uploaded by the runtime and never wrapped (0-d constants stay foldable).
/// Outputs come back to the host, except `onDevice[o]` ones (the updates of
/// shared variables living on the GPU), which stay there.
Graph transferToGPU(const Graph &g, const std::vector<bool> &onDevice = {});

/// The nodes of a graph transferToGPU made whose results live in GPU
/// memory: shared variables on the GPU, gpu_from_host, and the nodes the
/// GPU runs (the runtime and the PTX follow this).
std::set<const Node *> nodesOnGPU(const Graph &g);

/// The values of a GPU plan of g (transferred) that its kernels take by
/// value: scalars (0-d) that live on the host (arguments, results of host
/// steps) and that an element-wise or reduction step on the GPU reads.
/// transferToGPU leaves them on the host (no gpu_from_host) where an
/// element-wise node reads them; their kernel parameter holds the value's
/// bits, zero-extended to 64, in place of a pointer (GPU.h).
std::vector<bool> scalarsByValue(const Plan &plan, const Graph &g);

/// The values of a GPU plan of g that may lie in GPU memory in an order
/// other than their dims' when the runtime runs the plan: those a
/// dimshuffle that reorders dims makes on the GPU (a transposed view), and
/// the views of them there (subtensor, split, reshape, alloc and
/// dimshuffle keep their operand's order). The runtime's other values on
/// the GPU are new row-major arrays: uploads (of host views too), shared
/// variables, the results of kernels and copies. In a graph not
/// transferred, every step counts as on the GPU, as in compileForPTX.
std::vector<bool> reorderedViews(const Plan &plan, const Graph &g);

/// Whether g is one transferToGPU made, or could be (it moves a value, or
/// reads a shared variable on the GPU): else no node of g is placed yet.
bool isTransferred(const Graph &g);

/// Whether a function reading these shared variables runs on the GPU (one
/// of them lives there).
bool anyOnGPU(const std::vector<Var> &shared);

} // namespace thjit::codegen

#endif
